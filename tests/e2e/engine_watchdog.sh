#!/bin/bash
# End to end: a source call that hangs and ignores cancellation is caught by
# the watchdog (stall_timeout); nebula-host exits 1 without waiting for it,
# the state file stays at the last commit, and a later run completes.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1

cat > "$work/p.cfg" <<CFG
source = { connector = "flaky"; rows = 2000; stall_at_row = 1200; stall_seconds = 600; };
destination = { connector = "flaky"; path = "$work/out.txt"; };
engine = { batch_rows = 100; commit_rows = 300; stall_timeout = 1; };
CFG

nebula_bg "$work/log" run "$work/p.cfg" --state "$work/state.json"
wait_exit "$pid" 60
  rc=$exit_code
[ "$rc" -eq 1 ] || { cat "$work/log"; fail "exit $rc, expected 1"; }
grep -q 'source connector "flaky" made no progress for' "$work/log" || fail "stall not reported"
grep -q 'did not return from source_next after cancellation' "$work/log" ||
  fail "abandoning the stuck call not reported"
grep -q 'summary: status=failed' "$work/log" || fail "no summary"
records=$(state_stream_field "$work/state.json" 0 records)
[ "$records" -gt 0 ] && [ "$records" -le 1200 ] || fail "state holds $records records"

sed -i 's/stall_at_row = 1200; //' "$work/p.cfg"
nebula --quiet run "$work/p.cfg" --state "$work/state.json"
flaky_expected 1 2000 > "$work/expected.txt"
cmp "$work/expected.txt" "$work/out.txt" || fail "output after the watchdog and resume differs"

# A watchdog also ends calls that notice cancellation, the cooperative way.
rm -f "$work/state.json" "$work/out.txt"
sed -i 's/rows = 2000;/rows = 2000; stall_at_row = 500; stall_polls_cancel = true;/' "$work/p.cfg"
rc=0
nebula run "$work/p.cfg" --state "$work/state.json" 2> "$work/log" || rc=$?
[ "$rc" -eq 1 ] || { cat "$work/log"; fail "cooperative stall: exit $rc, expected 1"; }
grep -q 'did not return' "$work/log" && fail "cooperative stall treated as stuck"
echo "watchdog ok"
