#!/bin/bash
# avro_resume.sh - csv -> avro killed with kill -9 at random moments and
# resumed from its state file until it completes, for each codec: avsc
# then reads the file and finds every row exactly once, in order (the
# rows are numbered), and python3-avro reads the same.  Bounded:
# AVRO_CRASH_CYCLES kills per codec (default 8).
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
node_modules=${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}
[ -d "$node_modules/avsc" ] ||
  fail "avsc is not in $node_modules (npm install --prefix ~/.cache/nebula avsc@5.7.9, see .ci/install-deps.sh)"
rows=${AVRO_CRASH_ROWS:-200000}
cycles=${AVRO_CRASH_CYCLES:-8}

awk -v n="$rows" 'BEGIN { print "id,name,amount"; for (i = 0; i < n; i++) printf "%d,név %d,%05d.%02d\n", i, i % 97, i % 100000, i % 100 }' > "$work/in.csv"

for codec in null deflate; do
  out="$work/out-$codec.avro"
  state="$work/state-$codec"
  cat > "$work/$codec.cfg" <<CFG
source = { connector = "csv"; path = "$work/in.csv"; };
destination = { connector = "avro"; path = "$out"; codec = "$codec"; block_bytes = 8192; };
engine = { batch_rows = 2000; commit_interval = 0.01; };
CFG
  t0=$(now_ms)
  nebula --quiet run "$work/$codec.cfg"
  span=$(($(now_ms) - t0))
  rm -f "$out"
  kills=0
  runs=0
  while :; do
    runs=$((runs + 1))
    [ "$runs" -le $((cycles + 5)) ] || fail "$codec: did not complete"
    nebula_bg "$work/log" --quiet run "$work/$codec.cfg" --state "$state"
    if [ "$kills" -lt "$cycles" ]; then
      delay=$((RANDOM % (span / 2 + 10) + 5))
      sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait_exit "$pid" 120
    case "$exit_code" in
      0) break ;;
      137) kills=$((kills + 1)) ;;
      *) cat "$work/log"; fail "$codec: run $runs exited $exit_code" ;;
    esac
  done
  NODE_PATH="$node_modules" node "$srcdir/plugins/avro/avro_avsc.js" dump "$out" > "$work/dump.jsonl" || fail "$codec: avsc cannot read the file"
  got=$(awk -F'"' '{ print $4 }' "$work/dump.jsonl" | awk -v n="$rows" '$1 != NR - 1 { bad++ } END { print (NR == n && bad == 0) ? "ok" : "rows " NR ", out of place " bad }')
  [ "$got" = ok ] || fail "$codec: after $kills kills, avsc finds $got (of $rows, each once in order)"
  /usr/bin/python3 -W ignore -c '
import sys, avro.datafile, avro.io
n = sum(1 for _ in avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader()))
sys.exit(0 if n == int(sys.argv[2]) else "python3-avro: %d rows" % n)' "$out" "$rows" || fail "$codec: python3-avro disagrees"
  cmp -s <(sed -n '2p' "$work/in.csv") <(head -1 "$work/dump.jsonl" | sed 's/{"id":"\([^"]*\)","name":"\([^"]*\)","amount":"\([^"]*\)"}/\1,\2,\3/') || fail "$codec: the first row differs"
  echo "ok - $codec: every row exactly once after $kills kills in $runs runs"
done

# The source side: avro -> json lines killed and resumed (the avro source
# seeks to a block and a record in it): the output equals an uninterrupted
# run's, byte for byte.
src="$work/out-deflate.avro"
for name in ref out; do
  cat > "$work/back-$name.cfg" <<CFG
source = { connector = "avro"; path = "$src"; };
destination = { connector = "json"; path = "$work/back-$name.jsonl"; };
engine = { batch_rows = 1500; commit_interval = 0.01; };
CFG
done
t0=$(now_ms)
nebula --quiet run "$work/back-ref.cfg"
span=$(($(now_ms) - t0))
kills=0
runs=0
while :; do
  runs=$((runs + 1))
  [ "$runs" -le $((cycles + 5)) ] || fail "avro -> json: did not complete"
  nebula_bg "$work/log" --quiet run "$work/back-out.cfg" --state "$work/state-back"
  if [ "$kills" -lt "$cycles" ]; then
    delay=$((RANDOM % (span / 2 + 10) + 5))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait_exit "$pid" 120
  case "$exit_code" in
    0) break ;;
    137) kills=$((kills + 1)) ;;
    *) cat "$work/log"; fail "avro -> json: run $runs exited $exit_code" ;;
  esac
done
cmp -s "$work/back-ref.jsonl" "$work/back-out.jsonl" || fail "avro -> json: after $kills kills the output differs from an uninterrupted run"
[ "$(wc -l < "$work/back-out.jsonl")" -eq "$rows" ] || fail "avro -> json: not $rows rows"
echo "ok - avro -> json: every row exactly once after $kills kills in $runs runs"
