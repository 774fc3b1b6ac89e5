#!/bin/bash
# End to end: corrupt or truncated compressed input (the file layer's
# NB_DATA) is a broken stream, not a bad record.  With every on_error policy
# the run ends in bounded time with exit 1 and a clear error, after writing
# what was decoded before the damage.  (It used to be retried at the same
# place forever under skip, and to fill the disk under dead_letter.)  Read
# from a file and from standard input (no size, so no bytes_read), with
# each codec, through the csv source and the json source (JSON Lines and
# one array document).
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1

run_case() { # input-file policy via(file|stdin) source
  local in=$1 policy=$2 via=$3 source=$4 rc=0
  rm -f "$work/out.csv" "$work/dead.jsonl"
  if [ "$via" = file ]; then
    timeout 60 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q pipeline "$source" csv \
      --source-path "$in" --dest-path "$work/out.csv" --on-error "$policy" \
      --dead-letter "$work/dead.jsonl" 2> "$work/log" || rc=$?
  else
    timeout 60 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q pipeline "$source" csv \
      --source-path - --dest-path "$work/out.csv" --on-error "$policy" \
      --dead-letter "$work/dead.jsonl" < "$in" 2> "$work/log" || rc=$?
  fi
  [ "$rc" -eq 1 ] || { head -c 2000 "$work/log"; fail "$in ($source, $policy, $via): exit $rc, expected 1"; }
  # Either the engine ends the stream (a source that passes the file
  # layer's NB_DATA on), or the source does itself (the csv source returns
  # NB_IO with the codec's message): one clear error, never a skip.
  if grep -q "cannot go on reading stream .*truncated .* data in" "$work/log"; then
    grep -q "on_error cannot skip" "$work/log" || fail "$in ($source, $policy, $via): no detail"
  else
    grep -q "^nebula-host: \(connector \"[a-z]*\": \)\{0,1\}truncated .* data in" "$work/log" ||
      { cat "$work/log"; fail "$in ($source, $policy, $via): no clear error"; }
  fi
  grep -q "bad record" "$work/log" && fail "$in ($source, $policy, $via): reported as a bad record"
  # What came before the damage is written (a header and some rows).
  [ "$(wc -l < "$work/out.csv")" -gt 100 ] || fail "$in ($source, $policy, $via): records before the damage lost"
  if [ -f "$work/dead.jsonl" ]; then
    [ "$(wc -l < "$work/dead.jsonl")" -le 1 ] || fail "$in ($source, $policy, $via): dead letters repeated"
  fi
}

nebula -q pipeline generate csv -s rows=20000 --dest-path "$work/all.csv"
for ext in gz zst lz4 sz; do
  nebula -q pipeline csv csv --source-path "$work/all.csv" --dest-path "$work/full.csv.$ext"
  size=$(stat -c %s "$work/full.csv.$ext")
  head -c $((size / 2)) "$work/full.csv.$ext" > "$work/half.csv.$ext"
done

for ext in gz zst lz4 sz; do
  nebula -q pipeline csv json --source-path "$work/all.csv" --dest-path "$work/full.jsonl.$ext" \
    --format lines
  nebula -q pipeline csv json --source-path "$work/all.csv" --dest-path "$work/full.json.$ext" \
    --format array
  for doc in jsonl json; do
    size=$(stat -c %s "$work/full.$doc.$ext")
    head -c $((size / 2)) "$work/full.$doc.$ext" > "$work/half.$doc.$ext"
  done
done

for ext in gz zst lz4 sz; do
  for policy in fail skip dead_letter; do
    run_case "$work/half.csv.$ext" "$policy" file csv
    run_case "$work/half.csv.$ext" "$policy" stdin csv
    run_case "$work/half.jsonl.$ext" "$policy" file json
    run_case "$work/half.jsonl.$ext" "$policy" stdin json
    run_case "$work/half.json.$ext" "$policy" file json
    run_case "$work/half.json.$ext" "$policy" stdin json
  done
done
echo "corrupt streams ok"
