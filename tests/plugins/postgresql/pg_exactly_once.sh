#!/bin/sh
# pg_exactly_once.sh - CSV -> PG across kill -9, nothing lost or doubled:
#  - the window between the database commit and the state file: the state
#    file is put back to an older commit after a kill (as if the process had
#    died after COMMIT and before saving the state); the resumed run finds
#    the newer counts in nebula_commits and skips what the database has
#    (killed again at its first new state, while it skips);
#  - a kill before any state was saved, the state file gone: the fresh
#    run adopts the unfinished run of the same pipeline_id;
#  - a loop of kill -9 at random moments, then a run to the end.
# Both end with every id exactly once.
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
rows=200000
awk -v n="$rows" 'BEGIN { print "id,name,amount"; for (i = 1; i <= n; i++) printf "%d,name %d,%d.%02d\n", i, i, i, i % 100 }' > "$tmp/in.csv"

config() { # table state
  cat > "$tmp/$1.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/in.csv"; };
destination = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT;
  user = "$PG_SUPERUSER"; dbname = "postgres"; table = "$1"; pipeline_id = "$1"; };
engine = { batch_rows = 1000; commit_rows = 5000; state_file = "$2"; };
CFG
}
run_bg() {
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/$1.cfg" > /dev/null 2> "$tmp/$1.err" &
  pid=$!
}
check_once() { # table what
  got=$(pgsql -Atc "SELECT count(*), count(DISTINCT id), min(id::int), max(id::int) FROM $1")
  if [ "$got" = "$rows|$rows|1|$rows" ]; then
    echo "ok: $2: every row exactly once"
  else
    report_failure "$2: count, distinct, min, max = $got, expected $rows|$rows|1|$rows"
  fi
}

# 1. The state file loses the last commits.
config lost "$tmp/lost.state"
run_bg lost
i=0
until [ -s "$tmp/lost.state" ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i + 1)); done
cp "$tmp/lost.state" "$tmp/lost.snap"
i=0
while cmp -s "$tmp/lost.state" "$tmp/lost.snap" && [ $i -ge 0 ] && [ $i -lt 600 ] && kill -0 "$pid" 2>/dev/null; do
  sleep 0.02; i=$((i + 1))
done
sleep 0.1
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
in_db=$(pgsql -Atc "SELECT count(*) FROM lost")
cp "$tmp/lost.snap" "$tmp/lost.state"
echo "# killed with $in_db rows in the table; state put back to its first commit"
# Killed again at its first new state: a commit whose rows were all
# skipped (already in the table) must still save a state that covers them.
run_bg lost
i=0
while cmp -s "$tmp/lost.state" "$tmp/lost.snap" && [ $i -lt 3000 ] && kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
contains "$tmp/lost.err" "before the state was saved; skipping its" "resume: the lost commit is detected"
expect 0 "resume from the older state" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/lost.cfg"
check_once lost "state file behind the database"

# 2. Killed before the first state was saved (the state file removed after
#    the kill): the fresh run finds the unfinished run in nebula_commits.
config first "$tmp/first.state"
run_bg first
i=0
until [ -s "$tmp/first.state" ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -f "$tmp/first.state"
echo "# killed with $(pgsql -Atc 'SELECT count(*) FROM first') rows in the table; state file removed"
expect 0 "a fresh run after a run that never saved its state" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/first.cfg"
contains "$err" "stopped before its state was saved" "fresh run: the unfinished run is adopted"
check_once first "no state file, unfinished run in the database"
# A completed run is finished: the next run without state loads again.
rm -f "$tmp/first.state"
expect 0 "a new run after a completed one" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/first.cfg"
[ "$(pgsql -Atc 'SELECT count(*) FROM first')" = $((2 * rows)) ] ||
  report_failure "after a completed run, a run without state appends again"

# 3. kill -9 at random moments.
config loop "$tmp/loop.state"
n=0
while [ $n -lt 8 ]; do
  run_bg loop
  sleep "$(awk -v s="$$$n" 'BEGIN { srand(s); printf "%.2f", 0.05 + rand() * 0.6 }')"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  n=$((n + 1))
done
echo "# after $n kills: $(pgsql -Atc 'SELECT count(*) FROM loop') rows"
expect 0 "the run after the kills completes" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/loop.cfg"
check_once loop "kill -9 loop"
finish
