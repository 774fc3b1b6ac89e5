#!/bin/sh
# mysql_snapshot.sh - mode cdc with snapshot = true against a real MariaDB
# server started here (mysql_server.sh):
#  - writers change the table before, during and after the snapshot: the
#    snapshot rows (op r) and the changes after its binlog point arrive
#    exactly once, in order (mysql_cdc_check.py replays them and compares
#    with the table);
#  - nebula-host killed with SIGKILL again and again during the snapshot
#    while the writers run: resumed after the last primary key handed over
#    (catch-up from the saved point, then the rest of a new snapshot),
#    exactly once;
#  - a table without an integer primary key interrupted mid-snapshot: a
#    clear error; snapshot with start_file: a clear error.
. "${srcdir:-.}/plugins/mysql/mysql_test_lib.sh"

# writer TABLE SEED OPS ROWS: random changes over the table's first ROWS
# keys: updates, deletes, inserts of new keys, keys moved up past the
# others and down below zero (across any snapshot key), transactions.
writer() {
  python3 - "$@" <<'PY' | mariadb --no-defaults --force -uroot --socket="$MY_SOCK" nebula_test 2>/dev/null
import random, sys
t, seed, ops, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
for i in range(ops):
    x = r.randint(1, rows)
    k = r.randint(0, 5)
    if k == 0:
        print("UPDATE %s SET n = n + 1, note = CONCAT(note, '+') WHERE id = %d;" % (t, x))
    elif k == 1:
        print("DELETE FROM %s WHERE id = %d;" % (t, x))
    elif k == 2:
        print("INSERT INTO %s VALUES (%d, %d, 'new');" % (t, 10 * rows + seed * ops + i, i))
    elif k == 3:
        print("UPDATE %s SET id = %d WHERE id = %d;" % (t, 20 * rows + seed * ops + i, x))
    elif k == 4:
        print("UPDATE %s SET id = %d WHERE id = %d;" % (t, -(seed * ops + i + 1), x))
    else:
        y = r.randint(1, rows)
        print("BEGIN; UPDATE %s SET n = n * 2 WHERE id = %d; DELETE FROM %s WHERE id = %d; COMMIT;"
              % (t, x, t, y))
PY
}

# ---- Changes before, during and after the snapshot: exactly once --------------
my_sql "CREATE TABLE s1 (id BIGINT PRIMARY KEY, n INT NOT NULL, note VARCHAR(40));
        INSERT INTO s1 SELECT seq, seq, 'init' FROM seq_1_to_20000" || exit 1
cat > "$tmp/s1.cfg" <<CFG
source = { $conn tables = "s1"; mode = "cdc"; snapshot = true; stop_at_catchup = true; };
destination = { connector = "json"; path = "$tmp/s1.jsonl"; };
engine = { state_file = "$tmp/s1.state"; batch_rows = 500; commit_rows = 500; };
CFG
writer s1 1 300 20000
writer s1 2 3000 20000 & w=$!
sleep 0.3
expect 0 "snapshot while writers run" nh run "$tmp/s1.cfg"
contains "$err" "initial snapshot done" "snapshot: logged"
lacks "$err" "$MY_PASSWORD" "snapshot: the password is not printed"
wait $w
expect 0 "catch-up run after the writers" nh run "$tmp/s1.cfg"
my_batch "SELECT id, n, note FROM s1 ORDER BY id" > "$tmp/s1.tsv"
if $check "$tmp/s1.jsonl" "$tmp/s1.tsv" id,n,note > "$tmp/cmp" 2>&1; then
  echo "ok: snapshot and changes: $(cat "$tmp/cmp")"
else
  report_failure "snapshot and changes: $(cat "$tmp/cmp")"
fi
ops=$(python3 -c 'import json,sys,collections; print(sorted(collections.Counter(json.loads(l)["_op"] for l in open(sys.argv[1])).items()))' "$tmp/s1.jsonl")
echo "s1 record counts: $ops"
case $ops in *"('r', "*"('u', "*) ;; *) report_failure "snapshot: no r or no u records: $ops" ;; esac
contains "$tmp/s1.jsonl" '"_op":"r","id":1,' "snapshot: an r record"
contains "$tmp/s1.jsonl" '"before_id":null,"before_n":null,"before_note":null,"_binlog_file":"binlog.' "snapshot: r records have no before image"
expect 0 "a third run: nothing new" nh run "$tmp/s1.cfg"
$check "$tmp/s1.jsonl" "$tmp/s1.tsv" id,n,note > /dev/null 2>&1 || report_failure "third run added records"

# ---- SIGKILL during the snapshot while writers run: resumed by key ------------
my_sql "CREATE TABLE s2 (id BIGINT PRIMARY KEY, n INT NOT NULL, note VARCHAR(40));
        INSERT INTO s2 SELECT seq, seq, 'init' FROM seq_1_to_40000" || exit 1
cat > "$tmp/s2.cfg" <<CFG
source = { $conn tables = "s2"; mode = "cdc"; snapshot = true; stop_at_catchup = true; };
destination = { connector = "json"; path = "$tmp/s2.jsonl"; };
engine = { state_file = "$tmp/s2.state"; batch_rows = 50; commit_rows = 50; };
CFG
(writer s2 3 2500 40000 & writer s2 4 2500 40000 & wait) & writers=$!
kills=0
round=0
: > "$tmp/s2.log"
while [ "$round" -lt 40 ]; do
  round=$((round + 1))
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/s2.cfg" > /dev/null 2>> "$tmp/s2.log" &
  pid=$!
  sleep "0.$((2 + round % 5))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null
  grep -q "initial snapshot done" "$tmp/s2.log" && break
done
wait $writers
expect 0 "after the kills: a run to catch-up" nh run "$tmp/s2.cfg"
cat "$err" >> "$tmp/s2.log"
echo "ok: $kills SIGKILLs during the snapshot"
[ "$kills" -gt 1 ] || report_failure "kill loop: fewer than 2 runs were killed"
grep -q "resumed after key" "$tmp/s2.log" || report_failure "kill loop: no snapshot was resumed by key: $(tail -5 "$tmp/s2.log")"
lacks "$tmp/s2.log" "$MY_PASSWORD" "kill loop: the password is not printed"
my_batch "SELECT id, n, note FROM s2 ORDER BY id" > "$tmp/s2.tsv"
if $check "$tmp/s2.jsonl" "$tmp/s2.tsv" id,n,note > "$tmp/cmp" 2>&1; then
  echo "ok: after $kills SIGKILLs: $(cat "$tmp/cmp")"
else
  report_failure "after $kills SIGKILLs: $(cat "$tmp/cmp")"
fi

# ---- No integer primary key, interrupted: a clear error -----------------------
my_sql "CREATE TABLE s3 (k VARCHAR(20) PRIMARY KEY, n INT);
        INSERT INTO s3 SELECT CONCAT('k', seq), seq FROM seq_1_to_200000" || exit 1
cat > "$tmp/s3.cfg" <<CFG
source = { $conn tables = "s3"; mode = "cdc"; snapshot = true; stop_at_catchup = true; };
destination = { connector = "json"; path = "$tmp/s3.jsonl"; };
engine = { state_file = "$tmp/s3.state"; batch_rows = 50; commit_rows = 50; };
CFG
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q run "$tmp/s3.cfg" > /dev/null 2>&1 &
pid=$!
i=0
while [ ! -s "$tmp/s3.state" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.2
kill -9 "$pid" 2>/dev/null || report_failure "s3: the run ended before it was killed"
wait "$pid" 2>/dev/null
expect 1 "resuming an interrupted snapshot without an integer key" nh run "$tmp/s3.cfg"
contains "$err" 'cannot be resumed: the table' "no integer key: the error"
lacks "$err" "$MY_PASSWORD" "no integer key: the password is not printed"

# ---- Settings -----------------------------------------------------------------
cat > "$tmp/bad.cfg" <<CFG
source = { $conn tables = "s1"; mode = "cdc"; snapshot = true; start_file = "binlog.000001"; };
destination = { connector = "json"; path = "$tmp/bad.jsonl"; };
CFG
expect 1 "snapshot with start_file" nh run "$tmp/bad.cfg"
contains "$err" 'cannot be combined with "start_file"' "snapshot with start_file: the error"
expect 0 "describe" nh describe mysql
contains "$out" "snapshot" "describe lists snapshot"

finish
