#!/bin/sh
# mysql_cdc.sh - mode cdc (binlog change data capture) against a real
# MariaDB server started here (mysql_server.sh):
#  - every mapped type through the binlog decoder (insert, update, delete);
#  - concurrent writer sessions (autocommit statements, multi-statement
#    transactions, one transaction larger than a batch): every change once,
#    in commit order, with stop_at_catchup (mysql_cdc_check.py replays the
#    records and compares with the table);
#  - nebula-host killed with SIGKILL again and again while the writers
#    run, then resumed: every change exactly once;
#  - the server restarted mid-stream: retried as transient, exactly once;
#  - TRUNCATE TABLE: a record with op t between the changes around it;
#    other tables and databases give nothing; not replayed on resume;
#  - ALTER TABLE while streaming: NB_SCHEMA_CHANGED, records with the new
#    columns; reading from before an ALTER: a clear error;
#  - errors (binlog position purged, query with cdc); the password is never
#    printed.
. "${srcdir:-.}/plugins/mysql/mysql_test_lib.sh"

# The binlog position now: where the runs below start (start_file/pos).
master_status() { my_batch "SHOW MASTER STATUS" | cut -f1,2; }

# ---- Every type through the binlog --------------------------------------------
my_sql "CREATE TABLE typed (id INT PRIMARY KEY, u INT UNSIGNED, ti TINYINT, big BIGINT UNSIGNED,
          v VARCHAR(20), l VARCHAR(10) CHARACTER SET latin1, c CHAR(3), d DECIMAL(30,10),
          dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2), dd DATE, y YEAR, b BIT(5),
          e ENUM('x','y''z'), s SET('a','b','c'), bl BLOB, js JSON, f FLOAT, db DOUBLE) CHARACTER SET utf8mb4" || exit 1
set -- $(master_status)
cat > "$tmp/typed.cfg" <<CFG
source = { $conn tables = "typed"; mode = "cdc"; stop_at_catchup = true; start_file = "$1"; start_pos = $2; };
destination = { connector = "json"; path = "$tmp/typed.jsonl"; };
CFG
# TABLE_MAP events with full metadata (column names, charsets) here; the
# sections below use the server's default (NO_LOG).
my_sql "SET GLOBAL binlog_row_metadata = FULL" || exit 1
my_sql "INSERT INTO typed VALUES (1, 4000000000, -128, 18446744073709551615, 'héllo wörld 😀',
          _latin1 x'E980', 'ab', -12345678901234567890.0123456789, '2024-02-29 23:59:59.123456',
          '2038-01-19 03:14:07.999', '-838:59:59.99', '1000-01-01', 2155, b'10101', 'y''z', 'a,c',
          x'00FF10', '{\"a\": [1, 2.5]}', 1.5, -2.25e300);
        INSERT INTO typed (id) VALUES (2);
        UPDATE typed SET v = 'x', tm = '00:00:00.01', d = 0.5 WHERE id = 2;
        DELETE FROM typed WHERE id = 1;" || exit 1
expect 0 "typed: cdc run to catch-up" nh run "$tmp/typed.cfg"
my_sql "SET GLOBAL binlog_row_metadata = NO_LOG" || exit 1
[ "$(wc -l < "$tmp/typed.jsonl")" -eq 4 ] || report_failure "typed: not 4 change records"
first=$(head -1 "$tmp/typed.jsonl")
for want in '"_op":"c","id":1,"u":4000000000,"ti":-128,"big":18446744073709551615' \
    '"v":"héllo wörld 😀","l":"é€","c":"ab","d":-12345678901234567890.0123456789' \
    '"dt":"2024-02-29T23:59:59.123456","ts":"2038-01-19T03:14:07.999Z","tm":"-838:59:59.99"' \
    '"dd":"1000-01-01","y":2155,"b":21,"e":"y'"'"'z","s":"a,c","bl":"00FF10","js":{"a":[1,2.5]},"f":1.5,"db":-2.25e+300' \
    '"before_id":null'; do
  case $first in *"$want"*) ;; *) report_failure "typed insert lacks $want: $first" ;; esac
done
contains "$tmp/typed.jsonl" '"_op":"u","id":2,"u":null,"ti":null,"big":null,"v":"x","l":null,"c":null,"d":0.5000000000,"dt":null,"ts":null,"tm":"00:00:00.01"' "typed: update after image"
contains "$tmp/typed.jsonl" '"before_id":2,"before_u":null,"before_ti":null,"before_big":null,"before_v":null' "typed: update before image"
contains "$tmp/typed.jsonl" '"_op":"d","id":1,"u":4000000000' "typed: delete carries the old row"
contains "$tmp/typed.jsonl" '"_binlog_file":"binlog.' "typed: binlog file"
contains "$tmp/typed.jsonl" '"_gtid":"0-1-' "typed: GTID"

# ---- Concurrent writers, stop_at_catchup, commit order ----------------------------
my_sql "CREATE TABLE acct (id INT PRIMARY KEY, n INT NOT NULL, note VARCHAR(40))" || exit 1
set -- $(master_status)
start="start_file = \"$1\"; start_pos = $2;"
# writer K ROUNDS: its own keys; inserts, updates (also of the key),
# deletes, multi-statement transactions.
writer() {
  python3 - "$1" "$2" "${3:-acct}" <<'PY' | mariadb --no-defaults -uroot --socket="$MY_SOCK" nebula_test
import sys
k, rounds, t = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = k * 1000000
for i in range(1, rounds + 1):
    key = base + i
    print("INSERT INTO %s VALUES (%d, 0, 'w%d-%d');" % (t, key, k, i))
    if i % 3 == 0:
        print("UPDATE %s SET n = n + 1, note = CONCAT(note, '+') WHERE id = %d;" % (t, key - 1))
    if i % 5 == 0:
        print("BEGIN; UPDATE %s SET n = n + 10 WHERE id = %d; DELETE FROM %s WHERE id = %d;"
              " INSERT INTO %s VALUES (%d, 7, 'tx'); COMMIT;"
              % (t, key - 2, t, key - 4, t, base + 500000 + i))
    if i % 7 == 0:
        print("UPDATE %s SET id = id + 900000 WHERE id = %d;" % (t, key - 3))
PY
}
writer 1 300 & w1=$!
writer 2 300 & w2=$!
writer 3 300 & w3=$!
writer 4 300 & w4=$!
# One transaction of 700 changes: larger than a batch (batch_rows = 100).
my_sql "BEGIN; INSERT INTO acct SELECT 5000000 + seq, seq, 'bulk' FROM seq_1_to_500;
        UPDATE acct SET n = n * 2 WHERE id BETWEEN 5000001 AND 5000200; COMMIT" || exit 1
wait $w1 $w2 $w3 $w4
cat > "$tmp/acct.cfg" <<CFG
source = { $conn tables = "acct"; mode = "cdc"; stop_at_catchup = true; $start };
destination = { connector = "json"; path = "$tmp/acct.jsonl"; };
engine = { batch_rows = 100; commit_rows = 100; };
CFG
expect 0 "concurrent writers: cdc run to catch-up" nh run "$tmp/acct.cfg"
my_batch "SELECT id, n, note FROM acct ORDER BY id" > "$tmp/acct.tsv"
if $check "$tmp/acct.jsonl" "$tmp/acct.tsv" id,n,note > "$tmp/cmp" 2>&1; then
  echo "ok: concurrent writers: $(cat "$tmp/cmp")"
else
  report_failure "concurrent writers: $(cat "$tmp/cmp")"
fi
lacks "$err" "$MY_PASSWORD" "cdc run: the password is not printed"

# ---- A later stop_at_catchup run with the same state goes on -----------------
# (NB_STREAM_REOPENS: a finished cdc stream reopens at its saved position.)
my_sql "CREATE TABLE acct_again LIKE acct" || exit 1
set -- $(master_status)
cat > "$tmp/again.cfg" <<CFG
source = { $conn tables = "acct_again"; mode = "cdc"; stop_at_catchup = true; start_file = "$1"; start_pos = $2; };
destination = { connector = "json"; path = "$tmp/again.jsonl"; };
engine = { state_file = "$tmp/again.state"; };
CFG
my_sql "INSERT INTO acct_again VALUES (7000001, 1, 'again'), (7000002, 2, 'again'), (7000003, 3, 'again')" || exit 1
expect 0 "catch-up run 1 with a state file" nh run "$tmp/again.cfg"
my_sql "UPDATE acct_again SET n = 9 WHERE id = 7000001; DELETE FROM acct_again WHERE id = 7000002" || exit 1
expect 0 "catch-up run 2 with the same state file" nh run "$tmp/again.cfg"
expect 0 "catch-up run 3, nothing new" nh run "$tmp/again.cfg"
ops=$(python3 -c 'import json,sys; print("".join(json.loads(l)["_op"] for l in open(sys.argv[1])))' "$tmp/again.jsonl")
if [ "$ops" = "cccud" ]; then
  echo "ok: later catch-up runs read only the new changes (c c c, then u d, then nothing)"
else
  report_failure "later catch-up runs: operations \"$ops\", expected \"cccud\""
fi

# ---- SIGKILL loop while the writers run, then resume: exactly once ---------------------
# Streaming runs (no stop_at_catchup: a run that ends marks the stream
# finished in the state file), killed with SIGKILL again and again; the
# last one is stopped with SIGTERM once it has caught up.
my_sql "CREATE TABLE acct2 LIKE acct" || exit 1
set -- $(master_status)
cat > "$tmp/kill.cfg" <<CFG
source = { $conn tables = "acct2"; mode = "cdc"; start_file = "$1"; start_pos = $2; };
destination = { connector = "json"; path = "$tmp/kill.jsonl"; };
engine = { state_file = "$tmp/kill.state"; batch_rows = 50; commit_rows = 50; commit_interval = 0.3; };
CFG
# Writers, and transactions of 500 changes (ten batches) in between.
(for k in 5 6 7; do writer $k 1000 acct2 & done
 for b in 1 2 3 4; do
   sleep 0.5
   my_sql "INSERT INTO acct2 SELECT 8000000 + $b * 1000 + seq, seq, 'bulk' FROM seq_1_to_500"
 done
 wait) &
writers=$!
kills=0
round=0
while [ "$round" -lt 100 ]; do
  round=$((round + 1))
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q run "$tmp/kill.cfg" > /dev/null 2> "$tmp/kill.err" &
  pid=$!
  sleep "0.$((1 + round % 5))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null
  lacks "$tmp/kill.err" "$MY_PASSWORD" "kill loop: the password is not printed"
  kill -0 "$writers" 2>/dev/null || break
done
wait "$writers"
my_batch "SELECT id, n, note FROM acct2 ORDER BY id" > "$tmp/acct2.tsv"
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/kill.cfg" > /dev/null 2> "$tmp/kill.err" &
pid=$!
i=0
until $check "$tmp/kill.jsonl" "$tmp/acct2.tsv" id,n,note > /dev/null 2>&1 || [ "$i" -gt 300 ]; do
  sleep 0.2
  i=$((i + 1))
done
sleep 1 # anything after catching up would be a duplicate
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 143 ] || report_failure "kill loop: the last run exited $rc on SIGTERM, not 143: $(cat "$tmp/kill.err")"
echo "ok: $kills SIGKILLs during the cdc runs"
[ "$kills" -gt 0 ] || report_failure "kill loop: no run was killed"
if $check "$tmp/kill.jsonl" "$tmp/acct2.tsv" id,n,note > "$tmp/cmp" 2>&1; then
  echo "ok: after $kills SIGKILLs: $(cat "$tmp/cmp")"
else
  report_failure "after $kills SIGKILLs: $(cat "$tmp/cmp")"
fi

# ---- Server restart mid-stream: retried as transient, exactly once ---------------
my_sql "CREATE TABLE acct3 LIKE acct" || exit 1
set -- $(master_status)
my_sql "INSERT INTO acct3 SELECT seq, 0, 'r' FROM seq_1_to_20000;
        UPDATE acct3 SET n = 1 WHERE id % 2 = 0; DELETE FROM acct3 WHERE id % 3 = 0" || exit 1
cat > "$tmp/restart.cfg" <<CFG
source = { $conn tables = "acct3"; mode = "cdc"; stop_at_catchup = true; start_file = "$1"; start_pos = $2; };
destination = { connector = "json"; path = "-"; };
engine = { state_file = "$tmp/restart.state"; batch_rows = 100; commit_rows = 100;
           max_retries = 50; retry_deadline = 120.0; };
CFG
# A slow consumer keeps the run mid-stream when the server restarts.
rm -f "$tmp/restart.fifo"
mkfifo "$tmp/restart.fifo"
python3 -c '
import sys, time
src, dst = sys.stdin.buffer, sys.stdout.buffer
while True:
    chunk = src.read1(4096)
    if not chunk:
        break
    dst.write(chunk)
    time.sleep(0.002)' < "$tmp/restart.fifo" > "$tmp/restart.jsonl" &
reader=$!
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/restart.cfg" > "$tmp/restart.fifo" 2> "$tmp/restart.err" &
pid=$!
sleep 1
mysql_server_restart
wait "$pid"
rc=$?
wait "$reader"
[ "$rc" -eq 0 ] || report_failure "server restart mid-stream: exit status $rc: $(cat "$tmp/restart.err")"
grep -q "failed transiently" "$tmp/restart.err" || report_failure "server restart: no transient retry logged"
lacks "$tmp/restart.err" "$MY_PASSWORD" "server restart: the password is not printed"
my_batch "SELECT id, n, note FROM acct3 ORDER BY id" > "$tmp/acct3.tsv"
if $check "$tmp/restart.jsonl" "$tmp/acct3.tsv" id,n,note > "$tmp/cmp" 2>&1; then
  echo "ok: server restart mid-stream: $(cat "$tmp/cmp")"
else
  report_failure "server restart mid-stream: $(cat "$tmp/cmp")"
fi

# ---- ALTER TABLE while streaming: NB_SCHEMA_CHANGED, the new columns -----------
my_sql "CREATE TABLE evo (id INT PRIMARY KEY, a VARCHAR(10))" || exit 1
set -- $(master_status)
cat > "$tmp/evo.cfg" <<CFG
source = { $conn tables = "evo"; mode = "cdc"; start_file = "$1"; start_pos = $2; };
destination = { connector = "json"; path = "$tmp/evo.jsonl"; };
engine = { state_file = "$tmp/evo.state"; commit_interval = 0.2; };
CFG
# wait_lines N FILE: until FILE has N lines (at most 30 s).
wait_lines() {
  i=0
  while [ "$(cat "$2" 2>/dev/null | wc -l)" -lt "$1" ] && [ "$i" -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
}
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/evo.cfg" > /dev/null 2> "$tmp/evo.err" &
pid=$!
my_sql "INSERT INTO evo VALUES (1, 'a'), (2, 'b')"
wait_lines 2 "$tmp/evo.jsonl"
my_sql "ALTER TABLE evo ADD COLUMN b INT; INSERT INTO evo VALUES (3, 'c', 7); UPDATE evo SET b = 5 WHERE id = 1"
wait_lines 4 "$tmp/evo.jsonl"
my_sql "ALTER TABLE evo DROP COLUMN a; DELETE FROM evo WHERE id = 2"
wait_lines 5 "$tmp/evo.jsonl"
kill -TERM "$pid"
wait "$pid"
[ "$(wc -l < "$tmp/evo.jsonl")" -eq 5 ] || report_failure "ALTER TABLE: not 5 records: $(cat "$tmp/evo.jsonl" "$tmp/evo.err")"
contains "$tmp/evo.jsonl" '{"_op":"c","id":2,"a":"b","before_id":null,"before_a":null,' "ALTER TABLE: a record before it"
contains "$tmp/evo.jsonl" '{"_op":"c","id":3,"a":"c","b":7,"before_id":null,"before_a":null,"before_b":null,' "ALTER TABLE: the added column"
contains "$tmp/evo.jsonl" '{"_op":"u","id":1,"a":"a","b":5,"before_id":1,"before_a":"a","before_b":null,' "ALTER TABLE: update after it"
contains "$tmp/evo.jsonl" '{"_op":"d","id":2,"b":null,"before_id":null,"before_b":null,' "ALTER TABLE: the dropped column"
contains "$tmp/evo.err" "definition changed (ALTER TABLE)" "ALTER TABLE: logged"
# Reading from before the ALTERs with today's definition: a clear error.
sed -i 's/tables = "evo";/tables = "evo"; stop_at_catchup = true;/; s/evo.state/evo-old.state/' "$tmp/evo.cfg"
expect 1 "resuming before an ALTER TABLE" nh run "$tmp/evo.cfg"
contains "$err" "differ from the table's 2 columns now" "before an ALTER: the error"
lacks "$err" "$MY_PASSWORD" "before an ALTER: the password is not printed"

# ---- Start at a GTID position (MariaDB), then resume by file and position --------
my_sql "CREATE TABLE g (id INT PRIMARY KEY); INSERT INTO g VALUES (1), (2)" || exit 1
gtid=$(my_batch "SELECT @@gtid_binlog_pos")
my_sql "INSERT INTO g VALUES (3); INSERT INTO g VALUES (4); DELETE FROM g WHERE id = 1" || exit 1
cat > "$tmp/g.cfg" <<CFG
source = { $conn tables = "g"; mode = "cdc"; start_gtid = "$gtid"; };
destination = { connector = "json"; path = "$tmp/g.jsonl"; };
engine = { state_file = "$tmp/g.state"; commit_interval = 0.2; };
CFG
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/g.cfg" > /dev/null 2> "$tmp/g.err" &
pid=$!
wait_lines 3 "$tmp/g.jsonl"
sleep 1.5 # a heartbeat: the position moves on
kill -TERM "$pid"
wait "$pid"
my_sql "INSERT INTO g VALUES (5)" || exit 1
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/g.cfg" > /dev/null 2>> "$tmp/g.err" &
pid=$!
wait_lines 4 "$tmp/g.jsonl"
sleep 0.5
kill -TERM "$pid"
wait "$pid"
got=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["_op"] + str(json.loads(l)["id"]) for l in open(sys.argv[1])))' "$tmp/g.jsonl")
[ "$got" = "c3 c4 d1 c5" ] && echo "ok: start_gtid $gtid, then resume: $got" ||
  report_failure "start_gtid: records $got, not c3 c4 d1 c5: $(cat "$tmp/g.err")"

# ---- TRUNCATE TABLE: one record with op t, in binlog order -----------------------
# The binlog logs TRUNCATE as a statement (QUERY_EVENT) even with ROW format.
# Qualified, back-quoted and commented names of the streamed table give a
# t record between the inserts around it; the same name in another
# database (qualified, or the session's default database) and another
# table give nothing.  Two runs with one state file: the t record the
# first run ends with is not read again by the second.
my_sql "CREATE TABLE tr (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL); CREATE TABLE tr_not (id INT PRIMARY KEY);
        CREATE DATABASE nebula_other; CREATE TABLE nebula_other.tr (id INT PRIMARY KEY)" || exit 1
set -- $(master_status)
cat > "$tmp/tr.cfg" <<CFG
source = { $conn tables = "tr"; mode = "cdc"; stop_at_catchup = true; start_file = "$1"; start_pos = $2; };
destination = { connector = "json"; path = "$tmp/tr.jsonl"; };
engine = { state_file = "$tmp/tr.state"; };
CFG
my_sql "INSERT INTO tr VALUES (1, 'a'), (2, 'b'); TRUNCATE TABLE tr" || exit 1
expect 0 "truncate: run 1 (ends with the truncate)" nh run "$tmp/tr.cfg"
my_sql "INSERT INTO tr VALUES (3, 'c');
        INSERT INTO tr_not VALUES (1); TRUNCATE tr_not;
        INSERT INTO nebula_other.tr VALUES (1); TRUNCATE nebula_other.tr;
        USE nebula_other; TRUNCATE tr; INSERT INTO nebula_test.tr VALUES (4, 'd');
        TRUNCATE nebula_test.tr;
        USE nebula_test; INSERT INTO tr VALUES (5, 'e')" || exit 1
# --comments: the client sends the comments on to the server (and its binlog).
mariadb --no-defaults -uroot --socket="$MY_SOCK" --comments nebula_test -e "/* leading comment */ -- and another
          trUNcate   TABLE \`nebula_test\` . \`tr\` ;" || exit 1
my_sql "INSERT INTO tr VALUES (6, 'f'); TRUNCATE \`tr\` NOWAIT; INSERT INTO tr VALUES (7, 'g')" || exit 1
expect 0 "truncate: run 2 with the same state" nh run "$tmp/tr.cfg"
got=$(python3 -c '
import json, sys
out = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    out.append(r["_op"] + ("" if r["id"] is None else str(r["id"])))
print(" ".join(out))' "$tmp/tr.jsonl")
want="c1 c2 t c3 c4 t c5 t c6 t c7"
[ "$got" = "$want" ] && echo "ok: truncates as op t in binlog order: $got" ||
  report_failure "truncate: records \"$got\", expected \"$want\": $(cat "$tmp/tr.jsonl")"
contains "$tmp/tr.jsonl" '{"_op":"t","id":null,"v":null,"before_id":null,"before_v":null,"_binlog_file":"binlog.' "truncate: every column null, the binlog file set"
python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
pos = [(r["_binlog_file"], r["_binlog_pos"]) for r in rs]
assert all(isinstance(p, int) and p > 4 for _, p in pos), pos
assert pos == sorted(pos), pos
# A t record has an event of its own: strictly between its neighbours.
assert all(pos[i - 1] < pos[i] < pos[i + 1] for i in range(1, len(rs) - 1) if rs[i]["_op"] == "t"), pos
assert all(r["_gtid"] for r in rs if r["_op"] == "t"), rs' "$tmp/tr.jsonl" &&
  echo "ok: truncate records have their own binlog positions, in order, and a GTID" ||
  report_failure "truncate: binlog positions or GTID: $(cat "$tmp/tr.jsonl")"
my_batch "SELECT id, v FROM tr ORDER BY id" > "$tmp/tr.tsv"
if $check "$tmp/tr.jsonl" "$tmp/tr.tsv" id,v > "$tmp/cmp" 2>&1; then
  echo "ok: truncate: the replay equals the table: $(cat "$tmp/cmp")"
else
  report_failure "truncate: $(cat "$tmp/cmp")"
fi

# ---- Errors ------------------------------------------------------------------
cat > "$tmp/purged.cfg" <<CFG
source = { $conn tables = "acct"; mode = "cdc"; stop_at_catchup = true; start_file = "binlog.999999"; start_pos = 4; };
destination = { connector = "json"; path = "$tmp/purged.jsonl"; };
engine = { max_retries = 0; };
CFG
expect 1 "a binlog file that does not exist" nh run "$tmp/purged.cfg"
contains "$err" "binlog.999999" "missing binlog: the file is named"
contains "$err" "purged" "missing binlog: the hint"
lacks "$err" "$MY_PASSWORD" "missing binlog: the password is not printed"
# A user without REPLICATION SLAVE: the server's refusal and the hint.
my_sql "CREATE USER 'noreplica'@'localhost' IDENTIFIED BY '$MY_PASSWORD';
        GRANT SELECT ON nebula_test.* TO 'noreplica'@'localhost'" || exit 1
cat > "$tmp/nopriv.cfg" <<CFG
source = { connector = "mysql"; socket = "$MY_SOCK"; user = "noreplica"; password = "$MY_PASSWORD"; database = "nebula_test"; tables = "acct"; mode = "cdc"; stop_at_catchup = true; start_file = "binlog.000001"; start_pos = 4; };
destination = { connector = "json"; path = "$tmp/nopriv.jsonl"; };
engine = { max_retries = 0; };
CFG
expect 1 "a user without REPLICATION SLAVE" nh run "$tmp/nopriv.cfg"
contains "$err" "REPLICATION SLAVE" "no replication privilege: named"
lacks "$err" "$MY_PASSWORD" "no replication privilege: the password is not printed"
cat > "$tmp/query.cfg" <<CFG
source = { $conn query = "SELECT 1"; mode = "cdc"; };
destination = { connector = "json"; path = "$tmp/q.jsonl"; };
CFG
expect 1 "query with mode cdc" nh run "$tmp/query.cfg"
contains "$err" 'cannot be combined with mode' "query with cdc: the error"
cat > "$tmp/two.cfg" <<CFG
source = { $conn tables = "acct, acct2"; mode = "cdc"; };
destination = { connector = "json"; path = "$tmp/two-{stream}.jsonl"; };
CFG
expect 1 "two tables streaming" nh run "$tmp/two.cfg"
contains "$err" 'without "stop_at_catchup" reads one table' "two tables streaming: the error"
sed -i 's/mode = "cdc";/mode = "cdc"; stop_at_catchup = true; start_file = "binlog.000001"; start_pos = 4;/' "$tmp/two.cfg"
expect 0 "two tables with stop_at_catchup" nh run "$tmp/two.cfg"
[ "$(wc -l < "$tmp/two-acct.jsonl")" -eq "$(wc -l < "$tmp/acct.jsonl")" ] ||
  report_failure "two tables: acct has $(wc -l < "$tmp/two-acct.jsonl") records, not $(wc -l < "$tmp/acct.jsonl")"
expect 0 "describe" nh describe mysql
contains "$out" "stop_at_catchup" "describe lists the cdc settings"
lacks "$out" "$MY_PASSWORD" "describe: no password"

finish
