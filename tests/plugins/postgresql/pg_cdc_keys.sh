#!/bin/sh
# pg_cdc_keys.sh - PG -> PG in mode cdc, upsert with apply_deletes, when
# an update changes the primary key: the row under the old key leaves the
# target (no stale duplicate), with the merge's "last record of a key
# wins" order:
#  - UPDATE ... SET id = id + 100 (REPLICA IDENTITY DEFAULT: the old key
#    in "before"), a composite key of a date and a text, a table under
#    REPLICA IDENTITY FULL;
#  - chains u(K1->K2), u(K2->K3); a key change then a re-insert of the
#    old key, in one transaction and across commits; a change back
#    u(K1->K2), u(K2->K1); a truncate after a key change;
#  - the same records applied one per commit (batch_rows = commit_rows = 1);
#  - key changes streamed while runs are killed with SIGKILL, then a
#    catch-up run: exactly once (the target equals the source);
#  - a "before" that is not an object, or lacks a key column: a clear
#    error naming the table, the stream and the record.
# After each run the target equals the source (EXCEPT both ways).
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
H() { "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" "$@"; }

# config NAME TABLE KEY ROWS: snapshot + changes of TABLE into
# TABLE_copy, stopping at catch-up; ROWS records per batch and commit;
# KEY the setting primary_key, or - for the target's primary key.
config() {
  key="primary_key = \"$3\";"
  [ "$3" = - ] && key= # the existing target's primary key
  cat > "$tmp/$1.cfg" <<CFG
source = { connector = "postgresql"; host = "127.0.0.1"; port = $PGPORT; user = "$PG_SUPERUSER";
  password = "$PG_PASSWORD"; dbname = "postgres"; tables = "public.$2"; mode = "cdc"; slot = "s_$1";
  publication = "pub_$1"; create_publication = true; create_slot = true; snapshot = true;
  stop_at_catchup = true; };
destination = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER";
  dbname = "postgres"; table = "$2_copy"; mode = "upsert"; $key pipeline_id = "$1";
  apply_deletes = true; };
engine = { batch_rows = $4; commit_rows = $4; commit_interval = 30; state_file = "$tmp/$1.state"; };
CFG
}
# same NAME TABLE COLUMNS WHAT: TABLE_copy holds exactly TABLE's rows.
same() {
  extra=$(pgsql -Atc "SELECT string_agg(x::text, ' ') FROM (SELECT $3 FROM $2_copy EXCEPT SELECT $3 FROM $2) x")
  missing=$(pgsql -Atc "SELECT string_agg(x::text, ' ') FROM (SELECT $3 FROM $2 EXCEPT SELECT $3 FROM $2_copy) x")
  if [ -z "$extra$missing" ]; then
    echo "ok: $1: $4: $2_copy equals $2 ($(pgsql -Atc "SELECT count(*) FROM $2") rows)"
  else
    report_failure "$1: $4: $2_copy has extra rows [$extra], lacks [$missing]"
  fi
}
# apply NAME WHAT: a run to catch-up, then compare.
apply() {
  expect 0 "$1: $4: run" H run "$tmp/$1.cfg"
  same "$1" "$2" "$3" "$4"
}

# The changes of the brief, on table $1 (id int key, v text), the slot
# and the snapshot already taken.
changes() {
  pgsql -c "UPDATE $1 SET id = id + 100 WHERE id <= 3"
  apply "$2" "$1" "id, v" "id = id + 100"
  [ "$(pgsql -Atc "SELECT string_agg(id::text, ',' ORDER BY id) FROM $1_copy WHERE id <= 3 OR id > 100")" = 101,102,103 ] &&
    echo "ok: $2: the old keys 1..3 are gone, 101..103 there" ||
    report_failure "$2: after id = id + 100: $(pgsql -Atc "SELECT string_agg(id::text, ',' ORDER BY id) FROM $1_copy")"
  # Chains and re-inserts in one transaction.
  pgsql -c "BEGIN; UPDATE $1 SET id = 40 WHERE id = 4; UPDATE $1 SET id = 41 WHERE id = 40;
    UPDATE $1 SET id = 50 WHERE id = 5; INSERT INTO $1 VALUES (5, 'again');
    UPDATE $1 SET id = 60 WHERE id = 6; UPDATE $1 SET id = 6 WHERE id = 60;
    UPDATE $1 SET id = 70, v = 'moved' WHERE id = 7; DELETE FROM $1 WHERE id = 70; COMMIT"
  apply "$2" "$1" "id, v" "chains and a re-insert in one transaction"
  [ "$(pgsql -Atc "SELECT string_agg(id::text, ',' ORDER BY id) FROM $1_copy WHERE id IN (4, 40, 41, 5, 50, 6, 60, 7, 70)")" = 5,6,41,50 ] &&
    echo "ok: $2: u(4->40) u(40->41) leaves 41; u(5->50) c(5) leaves both; u(6->60) u(60->6) leaves 6" ||
    report_failure "$2: chains: $(pgsql -Atc "SELECT string_agg(id::text, ',' ORDER BY id) FROM $1_copy")"
  # The same across transactions.
  pgsql -c "UPDATE $1 SET id = 80 WHERE id = 8" -c "INSERT INTO $1 VALUES (8, 'back')" \
    -c "UPDATE $1 SET id = 90 WHERE id = 9" -c "UPDATE $1 SET id = 91 WHERE id = 90" -c "UPDATE $1 SET id = 92 WHERE id = 91"
  apply "$2" "$1" "id, v" "chains and a re-insert across transactions"
  # A key change, then a truncate and new rows: only the new rows.
  pgsql -c "UPDATE $1 SET id = 1000 WHERE id = 10" -c "TRUNCATE $1" -c "INSERT INTO $1 VALUES (10, 'ten'), (11, 'eleven')" \
    -c "UPDATE $1 SET id = 12 WHERE id = 11"
  apply "$2" "$1" "id, v" "a key change, a truncate, new rows"
}

pgsql -c "CREATE TABLE k (id int PRIMARY KEY, v text)"
pgsql -c "INSERT INTO k SELECT i, 'v' || i FROM generate_series(1, 20) i"
config big k id 500
apply big k "id, v" "snapshot"
changes k big

# The same changes, each record its own commit.
pgsql -c "CREATE TABLE k1 (id int PRIMARY KEY, v text)"
pgsql -c "INSERT INTO k1 SELECT i, 'v' || i FROM generate_series(1, 20) i"
config one k1 id 1
apply one k1 "id, v" "snapshot"
changes k1 one

# A composite key of a date and a text (values cast from the JSON's text).
pgsql -c "CREATE TABLE ck (day date, code text, n int, PRIMARY KEY (day, code))"
pgsql -c "INSERT INTO ck SELECT DATE '2024-01-01' + i, 'c' || i, i FROM generate_series(1, 10) i"
config ck ck "day, code" 500
apply ck ck "day, code, n" "snapshot"
pgsql -c "UPDATE ck SET day = day + 100 WHERE n <= 3" -c "UPDATE ck SET code = code || 'x' WHERE n BETWEEN 4 AND 6" \
  -c "BEGIN; UPDATE ck SET code = 'tmp' WHERE n = 7; INSERT INTO ck VALUES (DATE '2024-01-08', 'c7', 70); COMMIT"
apply ck ck "day, code, n" "composite key (date, text) changed"

# REPLICA IDENTITY FULL: "before" is the whole old row.  The target
# exists, its primary key the upsert's key.
pgsql -c "CREATE TABLE fk (id int PRIMARY KEY, v text); ALTER TABLE fk REPLICA IDENTITY FULL"
pgsql -c "INSERT INTO fk SELECT i, 'v' || i FROM generate_series(1, 10) i"
pgsql -c "CREATE TABLE fk_copy (op text, id int PRIMARY KEY, v text, before json, toasted_columns json, lsn text, xid bigint, commit_ts timestamptz)"
config fk fk - 500
apply fk fk "id, v" "snapshot"
pgsql -c "UPDATE fk SET id = id + 100 WHERE id <= 3" -c "UPDATE fk SET v = 'same key' WHERE id = 4"
apply fk fk "id, v" "replica identity full: id = id + 100"

# Exactly once across kill -9: key changes streamed while runs are killed
# at varied moments (small commits, so kills land between commits and
# resumes skip what a lost state did not record), then a catch-up run.
pgsql -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" > /dev/null # the server has 4
pgsql -c "CREATE TABLE kk (id int PRIMARY KEY, v text)"
pgsql -c "INSERT INTO kk SELECT i, 'v' || i FROM generate_series(1, 300) i"
config kk kk id 7
apply kk kk "id, v" "snapshot"
sed -i 's/stop_at_catchup = true;//' "$tmp/kk.cfg"
i=1
while [ $i -le 300 ]; do
  echo "UPDATE kk SET id = id + 1000 WHERE id = $i;"
  [ $((i % 3)) -eq 0 ] && echo "BEGIN; UPDATE kk SET id = id + 1000 WHERE id = $((i + 1000)); INSERT INTO kk VALUES ($i, 'back$i'); COMMIT;"
  [ $((i % 10)) -eq 0 ] && echo "SELECT pg_sleep(0.02);"
  i=$((i + 1))
done > "$tmp/kk.sql"
pgsql -f "$tmp/kk.sql" > /dev/null &
wpid=$!
kills=0
while [ $kills -lt 8 ]; do
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/kk.cfg" 2>> "$tmp/kk.log" > /dev/null &
  pid=$!
  sleep "0.$(( (kills * 37 + $$) % 9 + 1))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  kills=$((kills + 1))
done
wait "$wpid"
echo "# $kills kills; $(grep -c 'skipping its' "$tmp/kk.log") resumes skipped rows of a commit whose state was lost"
sed -i 's/create_slot = true;/create_slot = true; stop_at_catchup = true;/' "$tmp/kk.cfg"
expect 0 "kk: catch-up run after the kills" H run "$tmp/kk.cfg"
same kk kk "id, v" "key changes across kill -9"

# A malformed before image (written here as CSV with the CDC columns): a
# clear error naming table, stream and record; nothing of the commit applied.
pgsql -c "CREATE TABLE bad (op text, id int PRIMARY KEY, v text, before text)"
printf 'op,id,v,before\nc,1,a,\nu,2,b,[1]\n' > "$tmp/bad.csv"
printf 'op,id,v,before\nc,1,a,\nc,3,c,\nu,2,b,"{""other"":""1""}"\n' > "$tmp/bad2.csv"
printf 'op,id,v,before\nu,2,b,"{""id"":null}"\n' > "$tmp/bad3.csv"
bad_run() {
  expect 1 "$1" H pipeline csv postgresql -s "host=$PGSOCK" -s "port=$PGPORT" -s "user=$PG_SUPERUSER" -s dbname=postgres \
    -s table=bad -s mode=upsert -s apply_deletes=true --source-path "$tmp/$2"
}
bad_run "before not an object" bad.csv
sed "s/^/# /" "$err"
contains "$err" 'table public.bad, stream "' "not an object: the table named"
contains "$err" "bad.csv\", record 2: the before image of an update is a JSON array, not an object" "not an object: stream and record named"
bad_run "before without the key" bad2.csv
contains "$err" "bad2.csv\", record 3: the before image of an update has no text value for key column \"id\"" "no key: stream, record and column named"
bad_run "before with a null key" bad3.csv
contains "$err" "bad3.csv\", record 1: the before image of an update has no text value for key column \"id\"" "null key: named"
[ "$(pgsql -Atc "SELECT count(*) FROM bad")" = 0 ] && echo "ok: nothing of the failed commits applied" ||
  report_failure "rows of a failed commit in the target: $(pgsql -Atc "SELECT count(*) FROM bad")"
cat "$tmp"/*.cfg > /dev/null
lacks "$err" "$PG_PASSWORD" "the password in no error"
finish
