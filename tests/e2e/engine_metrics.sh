#!/bin/bash
# End to end: --metrics-addr serves Prometheus text during a run; scraped
# with curl while records flow.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
command -v curl > /dev/null || fail "curl is needed (install the Debian package curl)"

cat > "$work/p.cfg" <<CFG
source = { connector = "flaky"; rows = 3000; streams = 2; delay_ms = 30; bad_rows = "7"; };
destination = { connector = "flaky"; path = "$work/out.txt"; };
engine = { batch_rows = 50; on_error = "skip"; commit_interval = 0.2; };
CFG

nebula_bg "$work/log" run "$work/p.cfg" --metrics-addr 127.0.0.1:0
wait_for_text "$work/log" 'serving metrics at' 20
port=$(sed -n 's|.*serving metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$work/log" | head -n 1)
[ -n "$port" ] && [ "$port" -gt 0 ] || fail "no port in the log"

# Scrape until records have been written and a commit was made (bounded).
ok=0
for _ in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$port/metrics" > "$work/metrics.txt" &&
     grep -q 'nebula_records_total{stream="flaky-0",direction="written"} [1-9]' "$work/metrics.txt" &&
     grep -q '^nebula_last_commit_timestamp_seconds [1-9]' "$work/metrics.txt"; then
    ok=1
    break
  fi
  sleep 0.1
done
[ "$ok" = 1 ] || { cat "$work/metrics.txt"; fail "metrics never showed written records and a commit"; }
for family in nebula_records_total nebula_bytes_total nebula_records_rejected_total \
              nebula_retries_total nebula_batch_latency_seconds nebula_queue_depth \
              nebula_last_commit_timestamp_seconds; do
  grep -q "^# TYPE $family " "$work/metrics.txt" || fail "metric family $family missing"
done
grep -q 'nebula_records_total{stream="flaky-0",direction="read"} [1-9]' "$work/metrics.txt" ||
  fail "no records read"
grep -q 'nebula_records_rejected_total{stream="flaky-0"} 1' "$work/metrics.txt" ||
  fail "the rejected record is not counted"
grep -q '^nebula_batch_latency_seconds_bucket{le="+Inf"} [1-9]' "$work/metrics.txt" ||
  fail "no latency observations"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing")
[ "$code" = 404 ] || fail "expected 404 for another path, got $code"

wait_exit "$pid" 60
  rc=$exit_code
[ "$rc" -eq 0 ] || { cat "$work/log"; fail "run failed with exit $rc"; }
grep -q 'records_rejected=2' "$work/log" || fail "summary does not count 2 rejected records"
echo "metrics ok"
