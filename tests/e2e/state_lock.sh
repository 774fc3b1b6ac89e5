#!/bin/bash
# End to end: one state file, one run at a time (issue 9, items 2 and
# 15/4).  A second run on a state file in use fails at once with exit 1
# naming the holder's PID, and changes neither the output nor the state;
# the lock dies with its holder (kill -9); a missing or read-only state
# directory is refused with exit 2 before any output is created.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1

cat > "$work/p.cfg" <<CFG
source = { connector = "flaky"; rows = 200000; delay_ms = 20; };
destination = { connector = "flaky"; path = "$work/out.txt"; };
engine = { batch_rows = 100; commit_interval = 0.2; };
CFG

# 1. A second run while the first one holds the state.
nebula_bg "$work/log" run "$work/p.cfg" --state "$work/state.json"
first=$pid
wait_for_text "$work/log" 'pipeline: source' 20
sleep 0.5
t0=$(now_ms)
code=0
nebula run "$work/p.cfg" --state "$work/state.json" > /dev/null 2> "$work/second.log" || code=$?
took=$(($(now_ms) - t0))
[ "$code" -eq 1 ] || { cat "$work/second.log"; fail "second run: exit $code, expected 1"; }
grep -q "state file \"$work/state.json\" is in use by another run (PID $first)" \
  "$work/second.log" || { cat "$work/second.log"; fail "second run: holder's PID not named"; }
grep -q 'pipeline: source' "$work/second.log" && fail "second run started the pipeline"
[ "$took" -lt 5000 ] || fail "second run took $took ms to give up"
kill -0 "$first" 2> /dev/null || fail "the first run did not survive the second"
kill -TERM "$first"
wait_exit "$first" 20
[ "$exit_code" -eq 143 ] || { cat "$work/log"; fail "first run: exit $exit_code, expected 143"; }
records=$(state_stream_field "$work/state.json" 0 records)
[ "$records" -eq "$(wc -l < "$work/out.txt")" ] || fail "state and output disagree"
[ ! -s "$work/state.json.lock" ] || fail "the lock file still names a PID after the run"

# 2. The lock does not outlive a killed holder; the next run resumes.
nebula_bg "$work/log" run "$work/p.cfg" --state "$work/state.json"
wait_for_text "$work/log" 'resuming from state file' 20
kill -9 "$pid"
wait_exit "$pid" 20
sed -i 's/ delay_ms = 20;//' "$work/p.cfg"
nebula --quiet run "$work/p.cfg" --state "$work/state.json"
flaky_expected 1 200000 > "$work/expected.txt"
cmp -s "$work/expected.txt" "$work/out.txt" || fail "output after the lock was taken over differs"

# 3. The state directory is checked before anything is opened.
rm -f "$work/out.txt"
code=0
nebula run "$work/p.cfg" --state "$work/missing/state.json" 2> "$work/err.txt" || code=$?
[ "$code" -eq 2 ] || { cat "$work/err.txt"; fail "missing state directory: exit $code, expected 2"; }
grep -q "the directory \"$work/missing\" of state file \"$work/missing/state.json\" does not exist" \
  "$work/err.txt" || { cat "$work/err.txt"; fail "missing state directory: unclear message"; }
[ ! -e "$work/out.txt" ] || fail "output written although the state directory is missing"

# Read-only: a directory without write permission (root ignores it, but
# not in /proc/self).
if [ "$(id -u)" -eq 0 ]; then
  ro=/proc/self
else
  ro=$work/ro
  mkdir "$ro"
  chmod 555 "$ro"
fi
code=0
nebula run "$work/p.cfg" --state "$ro/state.json" 2> "$work/err.txt" || code=$?
[ "$code" -eq 2 ] || { cat "$work/err.txt"; fail "read-only state directory: exit $code, expected 2"; }
grep -q "cannot write in the directory" "$work/err.txt" ||
  { cat "$work/err.txt"; fail "read-only state directory: unclear message"; }
[ ! -e "$work/out.txt" ] || fail "output written although the state directory is read-only"
echo "state_lock: ok"
