#!/bin/sh
# mysql_source.sh - the mysql source against a real MariaDB server started
# here (mysql_server.sh):
#  - a table with every mapped type (NULLs, extremes, non-ASCII text in
#    latin1, utf8mb3 and utf8mb4 columns) -> JSON Lines equals
#    `mariadb --batch` value for value (mysql_compare.py);
#  - discover lists the tables and their columns;
#  - incremental mode on a cursor with many equal values, killed with
#    SIGKILL again and again: every row exactly once;
#  - wrong password, unknown table, server down: clear errors; the password
#    never appears in any output (errors, describe, validate, check).
. "${srcdir:-.}/plugins/mysql/mysql_test_lib.sh"

# ---- Every type, value for value ------------------------------------------
my_sql "$(cat "$srcdir/data/mysql/types.sql")" || exit 1
cat > "$tmp/types.cfg" <<CFG
source = { $conn tables = "all_types"; };
destination = { connector = "json"; path = "$tmp/types.jsonl"; };
CFG
expect 0 "all_types -> JSON Lines" nh run "$tmp/types.cfg"
cols="id ti tiu si siu mi miu i iu bi biu dec1 dec2 f d b1 b64 c vc txt l1 u3 bin vbin bl dt dtm ts tm yr en st js"
kinds="int,int,int,int,int,int,int,int,int,int,exact,exact,exact,float,float,int,exact,text,text,text,text,text,hex,hex,hex,date,datetime,timestamp,text,int,text,text,json"
select=""
i=0
for c in $cols; do
  i=$((i + 1))
  case $(echo "$kinds" | cut -d, -f$i) in
    hex) e="HEX(\`$c\`)" ;;
    *) case $c in b1 | b64) e="\`$c\` + 0" ;; *) e="\`$c\`" ;; esac ;;
  esac
  select="$select${select:+, }IF(\`$c\` IS NULL, '\\\\N', $e)"
done
my_batch "SELECT $select FROM all_types ORDER BY id" > "$tmp/types.batch"
if python3 "$srcdir/plugins/mysql/mysql_compare.py" "$tmp/types.batch" "$tmp/types.jsonl" "$kinds" > "$tmp/cmp" 2>&1; then
  echo "ok: all_types equals mariadb --batch value for value"
else
  report_failure "all_types differs from mariadb --batch: $(cat "$tmp/cmp")"
fi

# ---- discover -------------------------------------------------------------
expect 0 "discover" nh discover "$tmp/types.cfg"
contains "$out" "all_types" "discover names the table"
contains "$out" "biu" "discover names a column"
contains "$err" 'all_types\": primary key (id)' "discover: the primary key is logged"
# Primary keys in key order (not column order); none for a table without
# one, nor for a query.
my_sql "CREATE TABLE pk_comp (a INT, \`B x\` INT, c VARCHAR(10), PRIMARY KEY (c, \`B x\`, a));
        CREATE TABLE pk_none (v INT);" || exit 1
cat > "$tmp/keys.cfg" <<CFG
source = { $conn tables = "all_types,pk_comp,pk_none"; };
destination = { connector = "json"; path = "$tmp/keys.jsonl"; };
CFG
expect 0 "discover with keys" nh discover "$tmp/keys.cfg"
contains "$out" 'stream "all_types": ' "discover: all_types listed"
grep -q '^stream "all_types": [0-9]* columns, key ("id")$' "$out" || report_failure "discover: a one-column primary key"
contains "$out" 'stream "pk_comp": 3 columns, key ("c", "B x", "a")' "discover: a composite key in key order"
grep -qxF 'stream "pk_none": 1 column' "$out" || report_failure "discover: a table without a key shows none"
expect 0 "discover --json with keys" nh discover --json "$tmp/keys.cfg"
contains "$out" '{"name":"pk_comp","size_bytes":-1,"key":["c","B x","a"],"columns":[' "discover --json: composite key"
contains "$out" '{"name":"pk_none","size_bytes":-1,"key":[],"columns":[' "discover --json: no key"
cat > "$tmp/keyq.cfg" <<CFG
source = { $conn query = "SELECT * FROM pk_comp"; };
destination = { connector = "json"; path = "$tmp/keyq.jsonl"; };
CFG
expect 0 "discover a query" nh discover "$tmp/keyq.cfg"
grep -qxF 'stream "query": 3 columns' "$out" || report_failure "discover: a query has no key"
my_sql "DROP TABLE pk_comp; DROP TABLE pk_none;" || exit 1

# ---- query ---------------------------------------------------------------------
cat > "$tmp/query.cfg" <<CFG
source = { $conn query = "SELECT id, CONCAT(c, '|', vc) AS joined, dec2 * 2 AS twice FROM all_types WHERE id IN (1, 4)"; };
destination = { connector = "json"; path = "$tmp/query.jsonl"; };
CFG
expect 0 "query" nh run "$tmp/query.cfg"
contains "$tmp/query.jsonl" '{"id":1,"joined":"abc|héllo wörld","twice":-199999999.98}' "query: first row"
contains "$tmp/query.jsonl" '{"id":4,"joined":"x|NULL","twice":-0.02}' "query: second row"
[ "$(wc -l < "$tmp/query.jsonl")" -eq 2 ] || report_failure "query: not 2 rows"

# ---- Zero dates ----------------------------------------------------------
my_sql "SET SESSION sql_mode = ''; CREATE TABLE zero_dates (id INT PRIMARY KEY, d DATE, t DATETIME);
        INSERT INTO zero_dates VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), (2, '2024-00-10', '2024-05-01 10:00:00')" || exit 1
cat > "$tmp/zero.cfg" <<CFG
source = { $conn tables = "zero_dates"; };
destination = { connector = "json"; path = "$tmp/zero.jsonl"; };
CFG
expect 0 "zero dates read as nulls (zero_dates = null)" nh run "$tmp/zero.cfg"
contains "$tmp/zero.jsonl" '{"id":1,"d":null,"t":null}' "zero date and zero datetime are nulls"
contains "$tmp/zero.jsonl" '{"id":2,"d":null,"t":"2024-05-01T10:00:00"}' "a date with a zero month is null"
contains "$err" "zero dates are read as nulls" "a warning names the zero dates"
sed -i 's/tables = "zero_dates";/tables = "zero_dates"; zero_dates = "error";/' "$tmp/zero.cfg"
rm -f "$tmp/zero.jsonl"
expect 1 "zero dates with zero_dates = error" nh run "$tmp/zero.cfg"
contains "$err" 'zero date' "the error names the zero date"
printf 'engine = { on_error = "skip"; };\n' >> "$tmp/zero.cfg"
rm -f "$tmp/zero.jsonl"
expect 0 "zero dates with zero_dates = error and on_error = skip" nh run "$tmp/zero.cfg"
[ "$(wc -l < "$tmp/zero.jsonl")" -eq 0 ] || report_failure "zero_dates = error: rows with zero dates were written"
my_sql "INSERT INTO zero_dates VALUES (3, '2024-01-03', '2024-01-03 00:00:00')"
rm -f "$tmp/zero.jsonl"
expect 0 "a good row after two bad ones" nh run "$tmp/zero.cfg"
contains "$tmp/zero.jsonl" '{"id":3,"d":"2024-01-03","t":"2024-01-03T00:00:00"}' "the row after the bad ones is read"

# ---- Incremental, equal cursor values, SIGKILL loop -------------------------
my_sql "CREATE TABLE events (id INT PRIMARY KEY, grp INT NOT NULL, payload VARCHAR(40));
        INSERT INTO events SELECT seq, seq DIV 1000, CONCAT('event-', seq) FROM seq_1_to_60000" || exit 1
cat > "$tmp/inc.cfg" <<CFG
source = { $conn tables = "events"; mode = "incremental"; cursor = "grp"; };
destination = { connector = "json"; path = "$tmp/inc.jsonl"; };
engine = { state_file = "$tmp/inc.state"; batch_rows = 100; commit_rows = 100; };
CFG
kills=0
round=0
while [ "$round" -lt 40 ]; do
  round=$((round + 1))
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q run "$tmp/inc.cfg" > /dev/null 2> "$tmp/inc.err" &
  pid=$!
  sleep "0.$((1 + round % 4))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null && break
done
expect 0 "incremental: the last run completes" nh -q run "$tmp/inc.cfg"
echo "ok: $kills SIGKILLs during the incremental run"
lines=$(wc -l < "$tmp/inc.jsonl")
distinct=$(sort -u "$tmp/inc.jsonl" | wc -l)
[ "$lines" -eq 60000 ] && [ "$distinct" -eq 60000 ] &&
  echo "ok: incremental after $kills kills: 60000 rows, each once" ||
  report_failure "incremental after $kills kills: $lines rows, $distinct distinct (want 60000)"
# The output is ordered by (grp, id): the tie-breaker.
python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = [(r["grp"], r["id"]) for r in rows]
sys.exit(0 if keys == sorted(keys) else 1)' "$tmp/inc.jsonl" &&
  echo "ok: incremental rows ordered by cursor then key" ||
  report_failure "incremental rows are not in (cursor, key) order"

# A later run with the same state reads the rows added since, and only them
# (NB_STREAM_REOPENS: the finished incremental stream reopens at its end).
my_sql "INSERT INTO events VALUES (60001, 60, 'late-1'), (60002, 61, 'late-2'), (60003, 61, 'late-3')" || exit 1
expect 0 "incremental: a second run after new rows" nh run "$tmp/inc.cfg"
contains "$err" "reopens" "second run: the finished stream reopens"
lines=$(wc -l < "$tmp/inc.jsonl")
new=$(tail -n 3 "$tmp/inc.jsonl" | sed 's/.*"id":\([0-9]*\),.*/\1/' | tr '\n' ' ')
[ "$lines" -eq 60003 ] && [ "$new" = "60001 60002 60003 " ] &&
  echo "ok: incremental second run: only the 3 new rows were appended" ||
  report_failure "incremental second run: $lines rows (want 60003), last ids '$new'"
expect 0 "incremental: a third run with nothing new" nh run "$tmp/inc.cfg"
[ "$(wc -l < "$tmp/inc.jsonl")" -eq 60003 ] &&
  echo "ok: incremental third run: nothing new, nothing written" ||
  report_failure "incremental third run: $(wc -l < "$tmp/inc.jsonl") rows (want 60003)"
# The cases below read the table whole: back to its 60000 rows.
my_sql "DELETE FROM events WHERE id > 60000" || exit 1

# ---- The server drops the reading connection mid-stream: retried, resumed
# after the last batch handed over, nothing lost or read twice.
# The output goes to a consumer that reads slowly (about 3 s for the
# table), so the run is mid-stream when the connections are killed however
# fast this machine is: the pipe fills, the engine's queue fills, the
# source stops fetching with its result set open on the server.
cat > "$tmp/gone.cfg" <<CFG
source = { $conn tables = "events"; };
destination = { connector = "json"; path = "-"; };
engine = { batch_rows = 100; commit_rows = 100; };
CFG
rm -f "$tmp/gone.fifo"
mkfifo "$tmp/gone.fifo"
python3 -c '
import sys, time
src, dst = sys.stdin.buffer, sys.stdout.buffer
while True:
    chunk = src.read1(4096)
    if not chunk:
        break
    dst.write(chunk)
    time.sleep(0.002)' < "$tmp/gone.fifo" > "$tmp/gone.jsonl" &
reader=$!
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/gone.cfg" > "$tmp/gone.fifo" 2> "$tmp/gone.err" &
pid=$!
killed=0
i=0
while [ "$killed" -lt 2 ] && [ "$i" -lt 200 ] && kill -0 "$pid" 2>/dev/null; do
  sleep 0.1
  i=$((i + 1))
  ids=$(my_batch "SELECT id FROM information_schema.processlist WHERE user = 'nebula' AND info LIKE 'SELECT * FROM \`events\`%'")
  for id in $ids; do my_sql "KILL CONNECTION $id" 2>/dev/null && killed=$((killed + 1)); done
  # The next kill once the source has reconnected and read on.
  [ -n "$ids" ] && sleep 0.5
done
wait "$pid"
rc=$?
wait "$reader"
[ "$rc" -eq 0 ] || report_failure "connection killed mid-stream: exit status $rc: $(cat "$tmp/gone.err")"
[ "$killed" -gt 0 ] || report_failure "connection killed mid-stream: no reading connection was found to kill"
grep -q "failed transiently" "$tmp/gone.err" || report_failure "connection killed mid-stream: no retry logged"
lines=$(wc -l < "$tmp/gone.jsonl")
distinct=$(sort -u "$tmp/gone.jsonl" | wc -l)
[ "$lines" -eq 60000 ] && [ "$distinct" -eq 60000 ] &&
  echo "ok: $killed reading connections killed: 60000 rows, each once" ||
  report_failure "connections killed: $lines rows, $distinct distinct (want 60000)"

# ---- The server restarts mid-stream: the host retries, the source
# reconnects and resumes after the last batch handed over.
cat > "$tmp/restart.cfg" <<CFG
source = { $conn tables = "events, all_types"; };
destination = { connector = "json"; path = "$tmp/restart-{stream}.jsonl"; };
engine = { state_file = "$tmp/restart.state"; batch_rows = 100; commit_rows = 100;
           max_retries = 50; retry_deadline = 120.0; };
CFG
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/restart.cfg" > /dev/null 2> "$tmp/restart.err" &
pid=$!
sleep 1
mysql_server_restart
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || report_failure "server restart mid-stream: exit status $rc: $(cat "$tmp/restart.err")"
lines=$(wc -l < "$tmp/restart-events.jsonl")
distinct=$(sort -u "$tmp/restart-events.jsonl" | wc -l)
# The second table's columns are read on a connection opened again.
[ "$(wc -l < "$tmp/restart-all_types.jsonl")" -eq 4 ] ||
  report_failure "server restart: the table after the restart was not read whole"
[ "$lines" -eq 60000 ] && [ "$distinct" -eq 60000 ] &&
  echo "ok: server restart mid-stream: 60000 rows, each once" ||
  report_failure "server restart mid-stream: $lines rows, $distinct distinct (want 60000)"

# ---- Errors: wrong password, unknown table, server down ----------------------
cat > "$tmp/badpw.cfg" <<CFG
source = { connector = "mysql"; socket = "$MY_SOCK"; user = "nebula"; password = "Wrong-$MY_PASSWORD"; database = "nebula_test"; };
destination = { connector = "json"; path = "$tmp/badpw.jsonl"; };
CFG
expect 1 "wrong password fails" nh run "$tmp/badpw.cfg"
contains "$err" "Access denied" "wrong password: the server's reason"
contains "$err" 'user "nebula"' "wrong password: the user is named"
lacks "$err" "$MY_PASSWORD" "wrong password: the password is not printed"
lacks "$out" "$MY_PASSWORD" "wrong password: the password is not printed (stdout)"

cat > "$tmp/notable.cfg" <<CFG
source = { $conn tables = "all_types, no_such_table"; };
destination = { connector = "json"; path = "$tmp/notable.jsonl"; };
CFG
expect 1 "unknown table fails" nh run "$tmp/notable.cfg"
contains "$err" 'table "no_such_table" does not exist in database "nebula_test"' "unknown table: named"
lacks "$err" "$MY_PASSWORD" "unknown table: the password is not printed"

for cmd in validate check discover; do
  expect 0 "$cmd with a password" nh "$cmd" "$tmp/types.cfg"
  lacks "$out" "$MY_PASSWORD" "$cmd: the password is not printed (stdout)"
  lacks "$err" "$MY_PASSWORD" "$cmd: the password is not printed (stderr)"
done
expect 0 "describe" nh describe mysql
contains "$out" "password" "describe lists the password setting"
lacks "$out" "$MY_PASSWORD" "describe: no password"
nh --log-level debug -q run "$tmp/types.cfg" > "$tmp/debug.out" 2> "$tmp/debug.err"
lacks "$tmp/debug.err" "$MY_PASSWORD" "debug log: the password is not printed"

down_port=$(my_free_port)
cat > "$tmp/down.cfg" <<CFG
source = { connector = "mysql"; host = "127.0.0.1"; port = $down_port; user = "nebula"; password = "$MY_PASSWORD"; database = "nebula_test"; connect_timeout = 2; };
destination = { connector = "json"; path = "$tmp/down.jsonl"; };
engine = { max_retries = 0; };
CFG
expect 1 "server down fails" nh run "$tmp/down.cfg"
contains "$err" "127.0.0.1:$down_port" "server down: the server is named"
contains "$err" "could not connect" "server down: the cause"
lacks "$err" "$MY_PASSWORD" "server down: the password is not printed"

finish
