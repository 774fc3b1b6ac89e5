#!/bin/bash
# End to end: kill -9 nebula-host at random moments, restart it with the
# same state file until it completes, and compare the output byte for byte
# with an uninterrupted run.  Three pipelines: generate -> csv (three
# streams into one file), csv -> json (three input files, one output file
# each), and the same into zstd files (compared decompressed).  Bounded:
# CRASH_CYCLES kills per pipeline (default 20, half for zstd), then a last
# run without a kill.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
rows=${CRASH_ROWS:-20000}
cycles=${CRASH_CYCLES:-20}
total_kills=0

# Time an uninterrupted run of config $1, in ms, into $span: kill delays
# are drawn so that most kills land while records are moving, however fast
# or slow (sanitizers) this build is.
timed_reference() {
  _t0=$(now_ms)
  nebula --quiet run "$1"
  span=$(($(now_ms) - _t0))
}

# Run config $1 with state $2 until it completes, killing it at a random
# moment of each run, up to $cycles times.
crash_until_done() {
  kills=0
  runs=0
  window=$((2 * span / cycles + 10))
  while :; do
    runs=$((runs + 1))
    [ "$runs" -le $((cycles + 5)) ] || fail "$1 did not complete"
    nebula_bg "$work/log" --quiet run "$1" --state "$2"
    if [ "$kills" -lt "$cycles" ]; then
      # Anywhere: before the first commit, between commits, during one, or
      # after the end (then the run has completed and the loop stops).
      delay=$((RANDOM % window + 5))
      sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
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
  echo "${1##*/}: completed after $kills kills in $runs runs (reference run: $span ms)"
}

# 1. generate -> csv
for name in ref out; do
  cat > "$work/gen-$name.cfg" <<CFG
source = { connector = "generate"; rows = $rows; streams = 3; };
destination = { connector = "csv"; path = "$work/gen-$name.csv"; };
engine = { batch_rows = 1000; commit_interval = 0.02; };
CFG
done
timed_reference "$work/gen-ref.cfg"
crash_until_done "$work/gen-out.cfg" "$work/gen.state"
cmp "$work/gen-ref.csv" "$work/gen-out.csv" || fail "generate -> csv output differs after kills"
grep -q '"finished": false' "$work/gen.state" && fail "state not complete after the last run"

# A complete state: running again copies nothing and changes nothing.
nebula run "$work/gen-out.cfg" --state "$work/gen.state" 2> "$work/rerun.log"
grep -q 'records_read=0 ' "$work/rerun.log" || fail "a complete state was copied again"
cmp "$work/gen-ref.csv" "$work/gen-out.csv" || fail "re-run changed the output"

# 2. csv -> json, three input files, one output file each
mkdir "$work/in"
nebula --quiet pipeline generate csv -s rows="$rows" -s streams=3 -s seed=9 \
  --dest-path "$work/in/{stream}.csv"
csv_to_json() {  # name, output extension, cycles
  mkdir "$work/$1-ref" "$work/$1-out"
  for run in ref out; do
    cat > "$work/$1-$run.cfg" <<CFG
source = { connector = "csv"; path = "$work/in/*.csv"; };
destination = { connector = "json"; path = "$work/$1-$run/{stream}.$2"; format = "lines"; };
engine = { batch_rows = 1000; commit_interval = 0.02; };
CFG
  done
  timed_reference "$work/$1-ref.cfg"
  cycles=$3 crash_until_done "$work/$1-out.cfg" "$work/$1.state"
  [ "$(ls "$work/$1-ref" | wc -l)" -eq 3 ] || fail "expected 3 output files"
}
csv_to_json json jsonl "$cycles"
for f in "$work"/json-ref/*; do
  cmp "$f" "$work/json-out/${f##*/}" || fail "csv -> json output ${f##*/} differs after kills"
done

# 3. The same into zstd files.  Every commit ends a compressed frame, so
# the frames of a resumed run fall elsewhere than those of an uninterrupted
# one: the decompressed contents must be identical.
csv_to_json zst jsonl.zst $((cycles / 2))
for f in "$work"/zst-ref/*; do
  zstd -qdc "$f" > "$work/a.jsonl"
  zstd -qdc "$work/zst-out/${f##*/}" > "$work/b.jsonl" || fail "${f##*/} is not valid zstd after kills"
  cmp "$work/a.jsonl" "$work/b.jsonl" || fail "csv -> json.zst content ${f##*/} differs after kills"
done

echo "crash/resume ok: $total_kills kills survived, outputs identical"
