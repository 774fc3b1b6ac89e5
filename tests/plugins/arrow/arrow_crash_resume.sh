#!/bin/bash
# Exactly-once into Arrow IPC across kill -9: csv (three files) -> arrow,
# one output per stream, in the streaming format (commit = durable length,
# truncated on resume) and in the file format (the state carries the block
# list, the footer is written at the end), killed at random moments and
# restarted with the same state until the run completes.  The outputs are
# read back by Nebula and by apache-arrow (npm): every row exactly once,
# values equal to an uninterrupted run's.  CRASH_CYCLES kills per format
# (default 12).
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
: "${ARROW_NODE_MODULES:=$HOME/.cache/nebula/node_modules}"
export ARROW_NODE_MODULES
[ -d "$ARROW_NODE_MODULES/apache-arrow" ] ||
  fail "apache-arrow is not installed in $ARROW_NODE_MODULES (run .ci/install-deps.sh)"
rows=${CRASH_ROWS:-20000}
cycles=${CRASH_CYCLES:-12}
total_kills=0

mkdir "$work/in"
nebula --quiet pipeline generate csv -s rows="$rows" -s streams=3 -s seed=11 \
  --dest-path "$work/in/{stream}.csv"

run_until_done() {  # config, state
  kills=0
  runs=0
  window=$((2 * span / cycles + 10))
  while :; do
    runs=$((runs + 1))
    [ "$runs" -le $((cycles + 5)) ] || fail "$1 did not complete"
    nebula_bg "$work/log" --quiet run "$1" --state "$2"
    if [ "$kills" -lt "$cycles" ]; then
      delay=$((RANDOM % window + 5))
      sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
      kill -9 "$pid" 2> /dev/null || true
    fi
    wait_exit "$pid" 120
    case "$exit_code" in
      0) break ;;
      137) kills=$((kills + 1)) ;;
      *) cat "$work/log"; fail "$1: run $runs exited $exit_code" ;;
    esac
  done
  total_kills=$((total_kills + kills))
  echo "${1##*/}: completed after $kills kills in $runs runs (reference run: $span ms)"
}

for ext in arrows arrow; do
  for run in ref out; do
    mkdir "$work/$ext-$run"
    cat > "$work/$ext-$run.cfg" <<CFG
source = { connector = "csv"; path = "$work/in/*.csv"; };
destination = { connector = "arrow"; path = "$work/$ext-$run/{stream}.$ext"; };
engine = { batch_rows = 1000; commit_interval = 0.02; };
CFG
  done
  t0=$(now_ms)
  nebula --quiet run "$work/$ext-ref.cfg"
  span=$(($(now_ms) - t0))
  run_until_done "$work/$ext-out.cfg" "$work/$ext.state"
  for i in 0 1 2; do
    ref="$work/$ext-ref/generate-$i.$ext" out="$work/$ext-out/generate-$i.$ext"
    nebula --quiet pipeline arrow json --source-path "$ref" --dest-path "$work/a.jsonl"
    nebula --quiet pipeline arrow json --source-path "$out" --dest-path "$work/b.jsonl"
    [ "$(wc -l < "$work/a.jsonl")" -eq "$rows" ] || fail "reference $ref has not $rows rows"
    cmp "$work/a.jsonl" "$work/b.jsonl" || fail "$out differs from an uninterrupted run after kills"
    node "$srcdir/plugins/arrow/arrow_interop.mjs" dump "$out" > "$work/c.jsonl" || fail "apache-arrow cannot read $out"
    cmp "$work/a.jsonl" "$work/c.jsonl" || fail "apache-arrow reads other rows from $out"
  done
done
echo "arrow crash/resume ok: $total_kills kills survived, every row once"
