#!/bin/sh
# json_streaming.sh - the json source hands records over as they come and
# learns its schema from at least the first record whatever its size:
#  - a slow producer on a pipe: the first record is written (and committed)
#    before the second one is even produced (nothing was written until 1 MiB
#    or the end of the input had come);
#  - JSON -> CSV where the first record (3 MiB) is larger than the 1 MiB
#    read buffer that the schema used to be sampled from.
. "${srcdir:-.}/lib/cli_lib.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"

cat > "$tmp/slow.cfg" <<CFG
source = { connector = "json"; path = "-"; };
destination = { connector = "csv"; path = "$tmp/slow.csv"; };
engine = { commit_rows = 1; state_file = "$tmp/state.json"; };
CFG
(
  echo '{"a":"rec1","b":1}'
  sleep 4
  : > "$tmp/rec2-sent"
  echo '{"a":"rec2","b":2}'
) | "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/slow.cfg" 2> "$tmp/slow.err" &
pid=$!
# Until rec1 is in the output and committed, or the producer goes on to rec2.
until { grep -q rec1 "$tmp/slow.csv" 2>/dev/null && [ -s "$tmp/state.json" ]; } ||
  [ -e "$tmp/rec2-sent" ]; do
  sleep 0.1
done
if [ -e "$tmp/rec2-sent" ]; then
  report_failure "slow producer: rec1 was not written and committed before rec2 was produced"
else
  echo "ok: the first record is written and committed while the producer waits"
fi
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || report_failure "slow producer: exit status $rc"
contains "$tmp/slow.csv" 'rec2' "slow producer: the second record at the end"

# A first record larger than the read buffer, then records of another shape.
{
  printf '{"big":"'
  head -c 3145728 /dev/zero | tr '\0' 'y'
  echo '","n":1}'
  echo '{"n":2,"big":"small"}'
} > "$tmp/big-first.jsonl"
expect 0 "JSON -> CSV, first record of 3 MiB" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline json csv \
  --source-path "$tmp/big-first.jsonl" --dest-path "$tmp/big.csv"
head -c 20 "$tmp/big.csv" > "$tmp/head"
contains "$tmp/head" 'big,n' "first record of 3 MiB: its columns are the header"
contains "$tmp/big.csv" 'small,2' "first record of 3 MiB: the next record"

finish
