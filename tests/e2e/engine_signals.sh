#!/bin/bash
# End to end: SIGTERM and SIGINT stop nebula-host after a final commit
# (exit 143 and 130); the state file then describes exactly what the output
# holds, and a second run completes the output.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1

cat > "$work/p.cfg" <<CFG
source = { connector = "flaky"; rows = 200000; delay_ms = 20; };
destination = { connector = "flaky"; path = "$work/out.txt"; };
engine = { batch_rows = 100; commit_interval = 0.5; };
CFG

for sig in TERM INT; do
  rm -f "$work/out.txt" "$work/state.json" "$work/log"
  nebula_bg "$work/log" run "$work/p.cfg" --state "$work/state.json"
  wait_for_text "$work/log" 'pipeline: source' 20
  sleep 0.5
  kill -"$sig" "$pid"
  wait_exit "$pid" 20
  rc=$exit_code
  want=143
  [ "$sig" = INT ] && want=130
  [ "$rc" -eq "$want" ] || { cat "$work/log"; fail "SIG$sig: exit $rc, expected $want"; }
  grep -q "received SIG$sig" "$work/log" || fail "SIG$sig: the stop was not logged"
  grep -q 'summary: status=interrupted' "$work/log" || fail "SIG$sig: no summary"
  [ "$(state_stream_field "$work/state.json" 0 finished)" = false ] || fail "stream marked finished"
  records=$(state_stream_field "$work/state.json" 0 records)
  lines=$(wc -l < "$work/out.txt")
  [ "$records" -gt 0 ] || fail "SIG$sig: nothing committed"
  [ "$records" -eq "$lines" ] || fail "SIG$sig: state says $records records, output has $lines lines"
done

# The interrupted pipeline resumes and completes (without the delay).
sed -i 's/ delay_ms = 20;//' "$work/p.cfg"
nebula --quiet run "$work/p.cfg" --state "$work/state.json"
flaky_expected 1 200000 > "$work/expected.txt"
cmp "$work/expected.txt" "$work/out.txt" || fail "resumed output differs"
# A source blocked reading a pipe whose writer is idle does not hold up a
# stop: the destination commits what it has and the run exits 143 at once.
mkfifo "$work/in.csv"
(printf 'a,b\n1,2\n'; exec sleep 30) > "$work/in.csv" 2>/dev/null &
writer=$!
rm -f "$work/log"
nebula_bg "$work/log" pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl"
wait_for_text "$work/log" 'pipeline: source' 20
sleep 0.5
kill -TERM "$pid"
wait_exit "$pid" 10
kill "$writer" 2>/dev/null || true
[ "$exit_code" -eq 143 ] || { cat "$work/log"; fail "blocked source: exit $exit_code, expected 143"; }
grep -q 'still blocked in' "$work/log" || fail "blocked source: not logged"
echo "signals ok"
