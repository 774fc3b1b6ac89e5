#!/bin/sh
# mysql_to_postgresql.sh - MariaDB -> PostgreSQL replication: the mysql
# source in mode cdc (records with `_op`, the row and `before_` images)
# into the postgresql destination in mode upsert with apply_deletes, each
# against a real server started here (mysql_server.sh, pg_server.sh):
#  - inserts, updates, deletes, an insert-delete-insert of one key in one
#    transaction, decimals and non-ASCII text: after the run the
#    PostgreSQL table holds exactly the MariaDB table's rows (compared
#    value for value, the difference printed on failure);
#  - a second run with more changes continues from the state file;
#  - a third run with updates of the primary key (a range shifted, a
#    chain, an old key inserted again): no row left under an old key.
#  - a TRUNCATE TABLE between inserts empties the PostgreSQL table there.
. "${srcdir:-.}/plugins/mysql/mysql_test_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
pg_start
# pg_start replaced the EXIT trap: stop both servers.
trap 'pg_cleanup; mysql_server_stop; rm -rf "$tmp"' EXIT

master_status() { my_batch "SHOW MASTER STATUS" | cut -f1,2; }

# The rows of both sides, sorted, one line each: id, n, note, amt.
my_rows() { my_batch "SELECT id, n, COALESCE(note, '<null>'), COALESCE(amt, '<null>') FROM src ORDER BY id"; }
pg_rows() {
  pgsql -At -F "$(printf '\t')" -c "SELECT id, n, COALESCE(note, '<null>'), COALESCE(amt::text, '<null>') FROM public.src ORDER BY id"
}
same_rows() {
  my_rows > "$tmp/my.txt" && pg_rows > "$tmp/pg.txt" || { report_failure "$1: reading the tables failed"; return; }
  if cmp -s "$tmp/my.txt" "$tmp/pg.txt"; then
    echo "ok: $1: $(wc -l < "$tmp/my.txt") rows, PostgreSQL equals MariaDB"
  else
    report_failure "$1: the tables differ (< MariaDB, > PostgreSQL):
$(diff "$tmp/my.txt" "$tmp/pg.txt" | head -20)"
  fi
}

my_sql "CREATE TABLE src (id INT PRIMARY KEY, n INT NOT NULL, note VARCHAR(40), amt DECIMAL(12,3)) CHARACTER SET utf8mb4" || exit 1
set -- $(master_status)
cat > "$tmp/rep.cfg" <<CFG
source = { $conn tables = "src"; mode = "cdc"; stop_at_catchup = true; start_file = "$1"; start_pos = $2; };
destination = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER";
  dbname = "postgres"; table = "src"; mode = "upsert"; primary_key = "id"; apply_deletes = true; };
engine = { state_file = "$tmp/rep.state"; batch_rows = 40; commit_rows = 40; };
CFG
my_sql "INSERT INTO src SELECT seq, seq % 7, CONCAT('row ', seq, ' é😀'), seq / 8 FROM seq_1_to_200;
        UPDATE src SET n = n + 100, note = 'upd' WHERE id % 5 = 0;
        DELETE FROM src WHERE id % 3 = 0;
        BEGIN; INSERT INTO src VALUES (5000, 1, 'first', 1.5); DELETE FROM src WHERE id = 5000;
               INSERT INTO src VALUES (5000, 2, NULL, NULL); COMMIT;
        INSERT INTO src VALUES (6000, 0, 'gone', 0); DELETE FROM src WHERE id = 6000;
        INSERT INTO src VALUES (7000, -5, '', -12345678.901);" || exit 1
expect 0 "MariaDB cdc -> PostgreSQL with apply_deletes" nh run "$tmp/rep.cfg"
lacks "$err" "$MY_PASSWORD" "the MariaDB password is not printed"
same_rows "first run"

my_sql "UPDATE src SET note = CONCAT(note, ' again') WHERE id < 50;
        DELETE FROM src WHERE id > 150 AND id < 7000;
        INSERT INTO src VALUES (8000, 8, 'late', 8.008);" || exit 1
expect 0 "second run, from the state file" nh run "$tmp/rep.cfg"
same_rows "second run"

# Updates that change the primary key: the row leaves its old key (no
# stale duplicate in PostgreSQL), also when the old key is taken again in
# the same transaction, along a chain of changes, and when every key of a
# range moves up by one (each new key the old key of the next update).
my_sql "UPDATE src SET id = id + 10000 WHERE id < 20;
        BEGIN; UPDATE src SET id = 9000 WHERE id = 8000; INSERT INTO src VALUES (8000, 80, 'reborn', 0.5); COMMIT;
        BEGIN; UPDATE src SET id = 9100 WHERE id = 7000; UPDATE src SET id = 9200 WHERE id = 9100; COMMIT;
        UPDATE src SET id = 9300, note = 'moved' WHERE id = 50;
        INSERT INTO src VALUES (50, 5, 'new 50', NULL);
        UPDATE src SET id = id + 1 WHERE id BETWEEN 100 AND 140 ORDER BY id DESC;" || exit 1
expect 0 "third run: updates of the primary key" nh run "$tmp/rep.cfg"
same_rows "third run (key changes)"

# TRUNCATE (a statement in the binlog, no row events) between inserts, the
# batch around it cut at 40 records: the PostgreSQL table is emptied there.
my_sql "INSERT INTO src SELECT 9000 + seq, seq, 'before', seq FROM seq_1_to_30; TRUNCATE TABLE src;
        INSERT INTO src SELECT 10000 + seq, seq, 'after', seq FROM seq_1_to_30;" || exit 1
expect 0 "fourth run, a TRUNCATE between inserts" nh run "$tmp/rep.cfg"
same_rows "after TRUNCATE TABLE and new inserts"

finish
