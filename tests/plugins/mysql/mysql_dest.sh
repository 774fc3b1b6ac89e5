#!/bin/sh
# mysql_dest.sh - the mysql destination against a real MariaDB server
# started here (mysql_server.sh):
#  - CSV -> MariaDB -> CSV gives what CSV -> CSV gives (created table,
#    quoting, non-ASCII, empty strings, leading zeros);
#  - modes append, replace and upsert;
#  - a SIGKILL loop of nebula-host loading 100000 rows: none lost, none
#    twice; then a state file older than the database's last commit (a
#    crash between the database commit and the state write): the replayed
#    rows are skipped, not loaded twice;
#  - the password never appears in errors.
. "${srcdir:-.}/plugins/mysql/mysql_test_lib.sh"

# ---- CSV -> MariaDB -> CSV ---------------------------------------------------
mkdir -p "$tmp/in"
printf 'id,name,amount,zip\n1,Ann,12.50,00501\n2,"Bö, b",-3,\n3,"multi\nline ""q""",1e5,12345\n4,😀 Zoë,0.10,""\n' > "$tmp/in/people.csv"
cat > "$tmp/load.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/people.csv"; };
destination = { $conn key = "id"; };
CFG
expect 0 "CSV -> MariaDB (table created)" nh run "$tmp/load.cfg"
cat > "$tmp/back.cfg" <<CFG
source = { $conn tables = "people"; };
destination = { connector = "csv"; path = "$tmp/back.csv"; };
CFG
expect 0 "MariaDB -> CSV" nh run "$tmp/back.cfg"
expect 0 "CSV -> CSV (the reference)" nh pipeline csv csv --source-path "$tmp/in/people.csv" --dest-path "$tmp/direct.csv"
if cmp -s "$tmp/back.csv" "$tmp/direct.csv"; then
  echo "ok: CSV -> MariaDB -> CSV equals CSV -> CSV"
else
  report_failure "CSV -> MariaDB -> CSV differs: $(diff "$tmp/direct.csv" "$tmp/back.csv")"
fi

# The same through INSERT statements, and through the fallback when the
# server refuses LOAD DATA LOCAL INFILE.
for how in insert refused; do
  if [ "$how" = refused ]; then my_sql "SET GLOBAL local_infile = 0" || exit 1; bulk=load_data; else bulk=insert; fi
  cat > "$tmp/load-$how.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/people.csv"; };
destination = { $conn table = "people_$how"; key = "id"; bulk_load = "$bulk"; };
CFG
  expect 0 "CSV -> MariaDB ($how)" nh run "$tmp/load-$how.cfg"
  [ "$how" = refused ] && contains "$err" "refuses LOAD DATA LOCAL INFILE" "the fallback to INSERT is logged"
  cat > "$tmp/back-$how.cfg" <<CFG
source = { $conn tables = "people_$how"; };
destination = { connector = "csv"; path = "$tmp/back-$how.csv"; };
CFG
  expect 0 "MariaDB -> CSV ($how)" nh run "$tmp/back-$how.cfg"
  cmp -s "$tmp/back-$how.csv" "$tmp/direct.csv" && echo "ok: round trip ($how) equals CSV -> CSV" ||
    report_failure "round trip ($how) differs: $(diff "$tmp/direct.csv" "$tmp/back-$how.csv")"
done
my_sql "SET GLOBAL local_infile = 1" || exit 1

# ---- append, replace, upsert ----------------------------------------------------
cat > "$tmp/append.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/people.csv"; };
destination = { $conn table = "people_append"; mode = "append"; };
CFG
expect 0 "append, first run" nh run "$tmp/append.cfg"
expect 0 "append, second run" nh run "$tmp/append.cfg"
[ "$(my_batch 'SELECT COUNT(*) FROM people_append')" = 8 ] &&
  echo "ok: append twice: 8 rows" || report_failure "append twice: $(my_batch 'SELECT COUNT(*) FROM people_append') rows, want 8"

cat > "$tmp/replace.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/people.csv"; };
destination = { $conn table = "people_append"; mode = "replace"; };
CFG
expect 0 "replace" nh run "$tmp/replace.cfg"
[ "$(my_batch 'SELECT COUNT(*), COUNT(DISTINCT id) FROM people_append')" = "4	4" ] &&
  echo "ok: replace: the 8 rows became 4" || report_failure "replace: $(my_batch 'SELECT COUNT(*) FROM people_append') rows, want 4"

printf 'id,name,amount,zip\n1,Ann,99.00,00501\n5,New,1,\n' > "$tmp/in/people.csv"
cat > "$tmp/upsert.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/people.csv"; };
destination = { $conn mode = "upsert"; };
CFG
expect 0 "upsert" nh run "$tmp/upsert.cfg"
[ "$(my_batch 'SELECT COUNT(*) FROM people')" = 5 ] &&
  echo "ok: upsert: one row added" || report_failure "upsert: $(my_batch 'SELECT COUNT(*) FROM people') rows, want 5"
[ "$(my_batch "SELECT amount FROM people WHERE id = '1'")" = "99.00" ] &&
  echo "ok: upsert: the existing row updated" || report_failure "upsert: row 1 not updated"
[ "$(my_batch "SELECT name FROM people WHERE id = '2'")" = "Bö, b" ] &&
  echo "ok: upsert: other rows kept" || report_failure "upsert: row 2 changed"

# ---- SIGKILL loop: exactly once -------------------------------------------------
awk 'BEGIN { print "id,label"; for (i = 1; i <= 100000; i++) printf "%d,row %d é\n", i, i }' > "$tmp/in/big.csv"
cat > "$tmp/big.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/big.csv"; };
destination = { $conn table = "big"; };
engine = { state_file = "$tmp/big.state"; batch_rows = 200; commit_rows = 200; };
CFG
kills=0
round=0
while [ "$round" -lt 60 ]; do
  round=$((round + 1))
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q run "$tmp/big.cfg" > /dev/null 2> "$tmp/big.err" &
  pid=$!
  if [ "$round" -eq 1 ]; then
    # Keep the first state file: far behind what the database will hold.
    # CI runs two tests at a time on a loaded machine: a generous bound.
    i=0
    until [ -s "$tmp/big.state" ] || [ "$i" -ge 1200 ]; do sleep 0.05; i=$((i + 1)); done
    cp "$tmp/big.state" "$tmp/old.state" 2>/dev/null
  fi
  sleep "0.$((1 + round % 4))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null && break
done
expect 0 "SIGKILL loop: the last run completes" nh -q run "$tmp/big.cfg"
counts=$(my_batch 'SELECT COUNT(*), COUNT(DISTINCT id) FROM big')
[ "$counts" = "100000	100000" ] && echo "ok: $kills SIGKILLs: 100000 rows, each once" ||
  report_failure "after $kills SIGKILLs: rows, distinct = $counts (want 100000 each)"

# A state file older than the database's last commit: the rows the source
# replays are already in the table and must be skipped.
if [ -s "$tmp/old.state" ]; then
  my_sql "DELETE FROM big WHERE id > 50000; UPDATE _nebula_commits SET rows_loaded = 50000 WHERE stream LIKE '%big.csv'" || exit 1
  cp "$tmp/old.state" "$tmp/big.state"
  expect 0 "resume from a state older than the database" nh run "$tmp/big.cfg"
  contains "$err" "rows were committed after the saved state" "the skipped replay is logged"
  counts=$(my_batch 'SELECT COUNT(*), COUNT(DISTINCT id) FROM big')
  [ "$counts" = "100000	100000" ] && echo "ok: older state: 100000 rows, each once" ||
    report_failure "older state: rows, distinct = $counts (want 100000 each)"
else
  report_failure "no state file was written early in the SIGKILL loop"
fi

# Killed after the database's first commit and before the host saved any
# state: no state file, and the bookkeeping says 300 rows of an unfinished
# load are in the table.  They are skipped, not loaded again.
my_sql "DELETE FROM big WHERE id > 300; UPDATE _nebula_commits SET rows_loaded = 300 WHERE stream LIKE '%big.csv';
        DELETE FROM _nebula_commits WHERE stream = X'00'" || exit 1
rm -f "$tmp/big.state"
expect 0 "no state, an unfinished load in the bookkeeping" nh run "$tmp/big.cfg"
contains "$err" "was interrupted before it saved" "the interrupted load is logged"
counts=$(my_batch 'SELECT COUNT(*), COUNT(DISTINCT id) FROM big')
[ "$counts" = "100000	100000" ] && echo "ok: interrupted before the first state: 100000 rows, each once" ||
  report_failure "interrupted before the first state: rows, distinct = $counts (want 100000 each)"
[ "$(my_batch "SELECT COUNT(*) FROM _nebula_commits WHERE stream = X'00'")" = 1 ] &&
  echo "ok: the finished load is marked" || report_failure "the finished load is not marked"

# ---- The server restarts mid-load: the run fails (the transaction is
# lost), the next run resumes after the last commit: each row once.  The
# run retries long enough to outlast the restart (a restart on a loaded
# machine takes seconds), so that a failure can only be the lost
# transaction, whose error must say so.  The restart waits until rows are
# committed: the run is then connected and loading.
my_sql "DROP TABLE big" || exit 1
rm -f "$tmp/big.state"
sed 's/^engine = {/engine = { max_retries = 50; retry_deadline = 120.0;/' "$tmp/big.cfg" > "$tmp/restart.cfg"
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/restart.cfg" > /dev/null 2> "$tmp/restart.err" &
pid=$!
i=0
until [ "$(my_batch "SELECT COUNT(*) FROM big" 2>/dev/null)" -gt 0 ] 2>/dev/null ||
    ! kill -0 "$pid" 2>/dev/null || [ "$i" -ge 600 ]; do
  sleep 0.1; i=$((i + 1))
done
mysql_server_restart
wait "$pid"
rc=$?
expect 0 "after a server restart mid-load, the next run completes" nh run "$tmp/big.cfg"
counts=$(my_batch 'SELECT COUNT(*), COUNT(DISTINCT id) FROM big')
[ "$counts" = "100000	100000" ] && echo "ok: server restart mid-load (exit $rc, then resumed): 100000 rows, each once" ||
  report_failure "server restart mid-load: rows, distinct = $counts (want 100000 each)"
# Between transactions the destination reconnects (the run goes on); in
# the middle of one the run fails, saying the rerun resumes.
if [ "$rc" -ne 0 ]; then
  grep -q "running the pipeline again resumes" "$tmp/restart.err" ||
    report_failure "server restart mid-load: the error does not say what happened: $(cat "$tmp/restart.err")"
fi

# ---- Errors ------------------------------------------------------------------------
cat > "$tmp/badpw.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in/people.csv"; };
destination = { connector = "mysql"; socket = "$MY_SOCK"; user = "nebula"; password = "X$MY_PASSWORD"; database = "nebula_test"; };
CFG
expect 1 "destination: wrong password" nh run "$tmp/badpw.cfg"
contains "$err" "Access denied" "destination wrong password: the server's reason"
lacks "$err" "$MY_PASSWORD" "destination wrong password: the password is not printed"

finish
