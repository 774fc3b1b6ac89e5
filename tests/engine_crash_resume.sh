#!/bin/bash
# End to end: kill -9 nebula-host at random moments, restart it with the
# same state file until it completes, and compare the output byte for byte
# with an uninterrupted run.  Two pipelines: generate -> csv (three streams
# into one file) and csv -> json (three input files, one output file each,
# zstd-compressed).  Bounded: CRASH_CYCLES kills per pipeline (default 20),
# then a last run without a kill.
. "${srcdir:-.}/engine_lib.sh" || exit 1
rows=${CRASH_ROWS:-40000}
cycles=${CRASH_CYCLES:-20}
total_kills=0

# Run config $1 with state $2 until it completes, killing it at random
# moments up to $cycles times.
crash_until_done() {
  kills=0
  runs=0
  while :; do
    runs=$((runs + 1))
    [ "$runs" -le $((cycles + 5)) ] || fail "$1 did not complete"
    nebula_bg "$work/log" --quiet run "$1" --state "$2"
    if [ "$kills" -lt "$cycles" ]; then
      # 10 to 400 ms: before the first commit, between commits, during the
      # final one, or after the end.
      sleep "0.$(printf '%03d' $((RANDOM % 391 + 10)))"
      kill -9 "$pid" 2> /dev/null || true
    fi
    wait_exit "$pid" 120
  rc=$exit_code
    case "$rc" in
      0) break ;;
      137) kills=$((kills + 1)) ;;
      *) cat "$work/log"; fail "$1: run $runs exited $rc" ;;
    esac
  done
  total_kills=$((total_kills + kills))
  echo "$1: completed after $kills kills"
}

# 1. generate -> csv
for name in ref out; do
  cat > "$work/gen-$name.cfg" <<CFG
source = { connector = "generate"; rows = $rows; streams = 3; };
destination = { connector = "csv"; path = "$work/gen-$name.csv"; };
engine = { batch_rows = 1000; commit_interval = 0.02; };
CFG
done
nebula --quiet run "$work/gen-ref.cfg"
crash_until_done "$work/gen-out.cfg" "$work/gen.state"
cmp "$work/gen-ref.csv" "$work/gen-out.csv" || fail "generate -> csv output differs after kills"
grep -q '"finished": false' "$work/gen.state" && fail "state not complete after the last run"

# A complete state: running again copies nothing and changes nothing.
nebula run "$work/gen-out.cfg" --state "$work/gen.state" 2> "$work/rerun.log"
grep -q 'records_read=0 ' "$work/rerun.log" || fail "a complete state was copied again"
cmp "$work/gen-ref.csv" "$work/gen-out.csv" || fail "re-run changed the output"

# 2. csv -> json, three streams, compressed output
mkdir "$work/in" "$work/json-ref" "$work/json-out"
nebula --quiet pipeline generate csv -s rows="$rows" -s streams=3 -s seed=9 \
  --dest-path "$work/in/{stream}.csv"
for name in ref out; do
  cat > "$work/json-$name.cfg" <<CFG
source = { connector = "csv"; path = "$work/in/*.csv"; };
destination = { connector = "json"; path = "$work/json-$name/{stream}.jsonl.zst"; format = "lines"; };
engine = { batch_rows = 1000; commit_interval = 0.02; };
CFG
done
nebula --quiet run "$work/json-ref.cfg"
crash_until_done "$work/json-out.cfg" "$work/json.state"
for f in "$work"/json-ref/*; do
  cmp "$f" "$work/json-out/$(basename "$f")" || fail "csv -> json output $(basename "$f") differs after kills"
done
[ "$(ls "$work/json-ref" | wc -l)" -eq 3 ] || fail "expected 3 output files"

echo "crash/resume ok: $total_kills kills survived, outputs identical"
