#!/bin/sh
# mysql_replicate.sh - the mysql destination's apply_deletes against a real
# MariaDB server started here (mysql_server.sh):
#  - MariaDB -> mode cdc -> mysql destination (mode upsert, apply_deletes)
#    into a second table: inserts, updates (also of the key), deletes, an
#    insert-delete-insert of one key in one transaction, a DELETE of every
#    row, TRUNCATE TABLE between inserts and at a run's end; the replica
#    equals the source (EXCEPT both ways) and has none of
#    the CDC metadata columns;
#  - nebula-host killed with SIGKILL again and again while it applies the
#    changes of concurrent writers: the replica still equals the source;
#  - postgresql-style records (column op) from a CSV file: c/u/r upsert,
#    d deletes by key, t empties the table, in record order;
#  - errors: no op column, mode not upsert, no key, unknown op value.
. "${srcdir:-.}/plugins/mysql/mysql_test_lib.sh"

master_status() { my_batch "SHOW MASTER STATUS" | cut -f1,2; }

# same_rows SRC DST COLUMNS WHAT: the two tables hold the same rows
# (EXCEPT both ways); the difference is printed on failure.
same_rows() {
  diff=$(my_batch "(SELECT 'only in $1', $3 FROM $1 EXCEPT SELECT 'only in $1', $3 FROM $2)
                   UNION ALL
                   (SELECT 'only in $2', $3 FROM $2 EXCEPT SELECT 'only in $2', $3 FROM $1)") ||
    { report_failure "$4: the comparison failed"; return; }
  if [ -z "$diff" ]; then
    echo "ok: $4: $(my_batch "SELECT COUNT(*) FROM $2") rows, equal to the source"
  else
    report_failure "$4: the tables differ:
$(printf '%s\n' "$diff" | head -20)"
  fi
}

# ---- MariaDB -> cdc -> MariaDB ------------------------------------------------
my_sql "CREATE TABLE src (id INT PRIMARY KEY, n INT NOT NULL, note VARCHAR(40), amt DECIMAL(12,3))" || exit 1
set -- $(master_status)
cat > "$tmp/rep.cfg" <<CFG
source = { $conn tables = "src"; mode = "cdc"; stop_at_catchup = true; start_file = "$1"; start_pos = $2; };
destination = { $conn table = "dst"; mode = "upsert"; key = "id"; apply_deletes = true; };
engine = { state_file = "$tmp/rep.state"; batch_rows = 40; commit_rows = 40; };
CFG
my_sql "INSERT INTO src SELECT seq, seq % 7, CONCAT('row ', seq), seq / 8 FROM seq_1_to_200;
        UPDATE src SET n = n + 100, note = 'upd' WHERE id % 5 = 0;
        DELETE FROM src WHERE id % 3 = 0;
        UPDATE src SET id = id + 1000 WHERE id BETWEEN 10 AND 20;
        BEGIN; INSERT INTO src VALUES (5000, 1, 'first', 1.5); DELETE FROM src WHERE id = 5000;
               INSERT INTO src VALUES (5000, 2, 'second', NULL); COMMIT;
        BEGIN; DELETE FROM src WHERE id = 7; INSERT INTO src VALUES (7, 70, 'back', 7.7); COMMIT;
        INSERT INTO src VALUES (6000, 0, 'gone', 0); DELETE FROM src WHERE id = 6000;" || exit 1
expect 0 "cdc -> mysql with apply_deletes" nh run "$tmp/rep.cfg"
lacks "$err" "$MY_PASSWORD" "apply run: the password is not printed"
same_rows src dst "id, n, note, amt" "replica after inserts, updates, key moves, deletes"
cols=$(my_batch "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns
                 WHERE table_schema = 'nebula_test' AND table_name = 'dst'")
[ "$cols" = "id,n,note,amt" ] && echo "ok: the replica's columns are the table's ($cols)" ||
  report_failure "the replica's columns are \"$cols\", expected id,n,note,amt (no _op, before_*, _binlog_*, _gtid, _ts)"
[ "$(my_batch "SELECT note FROM dst WHERE id = 5000")" = "second" ] &&
  echo "ok: insert, delete, insert of one key in one transaction ends with the last insert" ||
  report_failure "key 5000: \"$(my_batch "SELECT note FROM dst WHERE id = 5000")\", expected second"

# More changes, a later run with the same state; then every row deleted.
my_sql "UPDATE src SET amt = amt * 2 WHERE id < 100; DELETE FROM src WHERE id > 150;
        INSERT INTO src VALUES (7000, 7, 'late', 0.001)" || exit 1
expect 0 "a second apply run with the state" nh run "$tmp/rep.cfg"
same_rows src dst "id, n, note, amt" "replica after a second run"
my_sql "DELETE FROM src; INSERT INTO src VALUES (1, 1, 'after the delete of all', 1)" || exit 1
expect 0 "a third apply run (every row deleted)" nh run "$tmp/rep.cfg"
same_rows src dst "id, n, note, amt" "replica after DELETE FROM src"
# TRUNCATE (a statement in the binlog, no row events) between inserts, in
# one run and at the end of another: the replica is emptied there too.
my_sql "INSERT INTO src VALUES (2, 2, 'before the truncate', 2); TRUNCATE TABLE src;
        INSERT INTO src VALUES (3, 3, 'after the truncate', 3), (4, 4, 'after', NULL)" || exit 1
expect 0 "an apply run with a TRUNCATE between inserts" nh run "$tmp/rep.cfg"
same_rows src dst "id, n, note, amt" "replica after TRUNCATE TABLE src and new inserts"
my_sql "INSERT INTO src SELECT 100 + seq, seq, 'batch', seq FROM seq_1_to_90; TRUNCATE src" || exit 1
expect 0 "an apply run ending with a TRUNCATE" nh run "$tmp/rep.cfg"
same_rows src dst "id, n, note, amt" "replica after a run that ends with TRUNCATE"
[ "$(my_batch "SELECT COUNT(*) FROM dst")" = 0 ] || report_failure "TRUNCATE: the replica is not empty"
my_sql "INSERT INTO src VALUES (9, 9, 'after both', 9)" || exit 1
expect 0 "an apply run after the TRUNCATE (not replayed)" nh run "$tmp/rep.cfg"
same_rows src dst "id, n, note, amt" "replica after an insert that follows the TRUNCATE"
commits=$(my_batch "SELECT rows_loaded FROM _nebula_commits WHERE pipeline = 'nebula' AND stream <> X'00'")
echo "ok: bookkeeping: records applied per stream: $commits"

# ---- SIGKILL loop during the apply ------------------------------------------------
my_sql "CREATE TABLE src2 (id INT PRIMARY KEY, n INT NOT NULL, note VARCHAR(40))" || exit 1
set -- $(master_status)
cat > "$tmp/kill.cfg" <<CFG
source = { $conn tables = "src2"; mode = "cdc"; stop_at_catchup = true; start_file = "$1"; start_pos = $2; };
destination = { $conn table = "dst2"; mode = "upsert"; key = "id"; apply_deletes = true; pipeline_id = "kill"; };
engine = { state_file = "$tmp/kill.state"; batch_rows = 20; commit_rows = 20; commit_interval = 0.2; };
CFG
# writer K ROUNDS: inserts, updates (also of the key), deletes and
# re-inserts of its own keys, some in multi-statement transactions.
writer() {
  python3 - "$1" "$2" <<'PY' | mariadb --no-defaults -uroot --socket="$MY_SOCK" nebula_test
import sys
k, rounds = int(sys.argv[1]), int(sys.argv[2])
base = k * 1000000
for i in range(1, rounds + 1):
    key = base + i
    print("INSERT INTO src2 VALUES (%d, 0, 'w%d-%d');" % (key, k, i))
    if i % 3 == 0:
        print("UPDATE src2 SET n = n + 1, note = CONCAT(note, '+') WHERE id = %d;" % (key - 1))
    if i % 4 == 0:
        print("BEGIN; DELETE FROM src2 WHERE id = %d; INSERT INTO src2 VALUES (%d, 9, 'again');"
              " DELETE FROM src2 WHERE id = %d; COMMIT;" % (key - 2, key - 2, key - 3))
    if i % 7 == 0:
        print("UPDATE src2 SET id = id + 500000 WHERE id = %d;" % (key - 5))
PY
}
# A backlog of changes (more than a run applies before its kill), then
# writers while the runs are killed, until a run catches up by itself
# after the writers ended.
my_sql "INSERT INTO src2 SELECT 9000000 + seq, seq, 'bulk' FROM seq_1_to_40000;
        UPDATE src2 SET n = n + 1, note = 'bulk+' WHERE id > 9000000 AND id % 2 = 0;
        DELETE FROM src2 WHERE id > 9000000 AND id % 3 = 0" || exit 1
(for k in 1 2 3; do writer $k 1500 & done; wait) &
writers=$!
kills=0
round=0
while [ "$round" -lt 300 ]; do
  round=$((round + 1))
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q run "$tmp/kill.cfg" > /dev/null 2> "$tmp/kill.err" &
  pid=$!
  sleep "0.$((1 + round % 5))"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    wait "$pid" 2>/dev/null
  else
    # The run ended by itself: caught up; once the writers are done too,
    # the loop ends.
    wait "$pid" 2>/dev/null || report_failure "kill loop: run $round failed: $(cat "$tmp/kill.err")"
    kill -0 "$writers" 2>/dev/null || break
  fi
  lacks "$tmp/kill.err" "$MY_PASSWORD" "kill loop: the password is not printed"
done
wait "$writers"
# Catch up after the writers ended (a run that was killed mid-way resumes).
expect 0 "kill loop: the last run catches up" nh run "$tmp/kill.cfg"
echo "ok: $kills SIGKILLs during the apply runs ($round runs)"
[ "$kills" -ge 3 ] || report_failure "kill loop: only $kills runs were killed"
same_rows src2 dst2 "id, n, note" "replica after $kills SIGKILLs"

# ---- postgresql-style records (column op) from CSV ----------------------------------
mkdir -p "$tmp/in"
# Keys 1..3 then a truncate then keys 4..6; lsn is metadata, not written.
printf 'op,id,name,lsn\nc,1,a,0/1\nc,2,b,0/2\nu,1,a2,0/3\nd,2,,0/4\nc,2,b2,0/5\nr,3,c,0/6\n' > "$tmp/in/pgops.csv"
expect_rows() { # TABLE WANT WHAT
  got=$(my_batch "SELECT GROUP_CONCAT(CONCAT(id, '=', COALESCE(name, 'NULL')) ORDER BY id) FROM $1")
  [ "$got" = "$2" ] && echo "ok: $3 ($got)" || report_failure "$3: \"$got\", expected \"$2\""
}
cat > "$tmp/pg.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/pgops.csv"; };
destination = { $conn table = "pgrep"; mode = "upsert"; key = "id"; apply_deletes = true; pipeline_id = "pg"; };
CFG
expect 0 "op records from CSV" nh run "$tmp/pg.cfg"
expect_rows pgrep "1=a2,2=b2,3=c" "op c/u/d/r applied in record order"
printf 'op,id,name,lsn\nc,9,x,0/7\nt,,,0/8\nc,4,d,0/9\nc,5,e,0/a\nd,4,,0/b\nc,4,d2,0/c\nu,5,e2,0/d\nc,6,f,0/e\nd,6,,0/f\n' > "$tmp/in/pgops.csv"
expect 0 "op records with a truncate" nh run "$tmp/pg.cfg"
expect_rows pgrep "4=d2,5=e2" "op t empties the table, the records after it apply"
cols=$(my_batch "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns
                 WHERE table_schema = 'nebula_test' AND table_name = 'pgrep'")
[ "$cols" = "id,name" ] && echo "ok: op and lsn are not columns of the target" ||
  report_failure "pgrep columns \"$cols\", expected id,name"

# ---- errors -------------------------------------------------------------------------
printf 'id,name\n1,a\n' > "$tmp/in/plain.csv"
cat > "$tmp/noop.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/plain.csv"; };
destination = { $conn table = "noop"; mode = "upsert"; key = "id"; apply_deletes = true; pipeline_id = "e1"; };
CFG
expect 1 "apply_deletes without an op column fails" nh run "$tmp/noop.cfg"
contains "$err" 'has no text column "_op" or "op"' "no op column: the message says so"
cat > "$tmp/append.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/pgops.csv"; };
destination = { $conn table = "app"; mode = "append"; apply_deletes = true; pipeline_id = "e2"; };
CFG
expect 1 "apply_deletes with mode append is refused" nh run "$tmp/append.cfg"
contains "$err" 'setting "apply_deletes" needs mode upsert' "mode append: the message names the setting"
cat > "$tmp/nokey.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/pgops.csv"; };
destination = { $conn table = "nokey"; mode = "upsert"; apply_deletes = true; pipeline_id = "e3"; };
CFG
expect 1 "apply_deletes without key is refused" nh run "$tmp/nokey.cfg"
contains "$err" 'setting "apply_deletes" needs setting "key"' "no key: the message names the setting"
cat > "$tmp/badkey.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/pgops.csv"; };
destination = { $conn table = "badkey"; mode = "upsert"; key = "id, lsn"; apply_deletes = true; pipeline_id = "e7"; };
CFG
expect 1 "a key column that is CDC metadata is refused" nh run "$tmp/badkey.cfg"
contains "$err" 'setting "key": stream' "metadata key: the message names the setting"
contains "$err" 'has no column "lsn"' "metadata key: the message names the column"
printf 'op,id,name\nc,1,a\nc,2,b\nx,3,c\n' > "$tmp/in/badop.csv"
cat > "$tmp/badop.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/badop.csv"; };
destination = { $conn table = "badop"; mode = "upsert"; key = "id"; apply_deletes = true; pipeline_id = "e4"; };
CFG
expect 1 "an unknown op value fails the run" nh run "$tmp/badop.cfg"
contains "$err" 'unknown op "x" in column "op"' "unknown op: the message names the value and column"
contains "$err" 'record 3' "unknown op: the message names the record"
[ "$(my_batch "SELECT COUNT(*) FROM badop")" = 0 ] && echo "ok: unknown op: nothing of the batch committed" ||
  report_failure "unknown op: rows were committed: $(my_batch "SELECT * FROM badop")"
printf 'op,id,name,toasted_columns\nc,1,a,\nu,1,,"[""name""]"\n' > "$tmp/in/toasted.csv"
cat > "$tmp/toasted.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/toasted.csv"; };
destination = { $conn table = "toasted"; mode = "upsert"; key = "id"; apply_deletes = true; pipeline_id = "e5"; };
CFG
expect 1 "a record with unsent TOASTed columns fails the run" nh run "$tmp/toasted.cfg"
contains "$err" 'lacks the values of the columns ["name"]' "toasted_columns: the message names the columns"
contains "$err" 'record 2' "toasted_columns: the message names the record"
# A statement the server refuses in the middle of a statement list (a
# value too long for an existing table's column): the whole commit is
# rolled back and the error names the table and the records.
my_sql "CREATE TABLE narrow (id BIGINT PRIMARY KEY, name VARCHAR(3))" || exit 1
printf 'op,id,name\nc,1,ok\nd,1,\nc,2,abc\nd,2,\nc,3,toolong\nc,4,ok\n' > "$tmp/in/narrow.csv"
cat > "$tmp/narrow.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/narrow.csv"; };
destination = { $conn table = "narrow"; mode = "upsert"; key = "id"; apply_deletes = true; pipeline_id = "e6"; };
CFG
expect 1 "a value the server refuses fails the run" nh run "$tmp/narrow.cfg"
contains "$err" 'applying CDC records to table "narrow" failed' "refused value: the message names the table"
contains "$err" "Data too long for column 'name'" "refused value: the server's reason"
contains "$err" 'Records 1 to 6 of the batch' "refused value: the message names the records"
[ "$(my_batch "SELECT COUNT(*) FROM narrow")" = 0 ] && echo "ok: refused value: nothing committed" ||
  report_failure "refused value: rows were committed: $(my_batch "SELECT * FROM narrow")"
lacks "$err" "$MY_PASSWORD" "errors: the password is not printed"

finish
