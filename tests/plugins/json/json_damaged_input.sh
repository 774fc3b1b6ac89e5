#!/bin/sh
# json_damaged_input.sh - truncated or corrupt compressed JSON input (the
# file layer's NB_DATA) ends the stream with an error, whatever on_error
# says, after the records decoded before the damage: never a skipped
# "record" retried at the same place (which used to loop forever with
# on_error = skip and fill the disk with dead_letter).  Each run is bounded
# by `timeout`, so the old behaviour fails instead of hanging.
. "${srcdir:-.}/lib/cli_lib.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"

awk 'BEGIN { for (i = 0; i < 50000; i++) printf "{\"id\":%d,\"name\":\"row %d\"}\n", i, i }' \
  > "$tmp/in.jsonl"
awk 'BEGIN { print "["; for (i = 0; i < 50000; i++) printf "{\"id\":%d,\"name\":\"row %d\"},\n", i, i; print "{\"id\":-1}]" }' \
  > "$tmp/in.json"
gzip -c "$tmp/in.jsonl" > "$tmp/whole.jsonl.gz"
gzip -c "$tmp/in.json" > "$tmp/whole.json.gz"
size=$(wc -c < "$tmp/whole.jsonl.gz")
head -c $((size / 2)) "$tmp/whole.jsonl.gz" > "$tmp/truncated.jsonl.gz"
size=$(wc -c < "$tmp/whole.json.gz")
head -c $((size / 2)) "$tmp/whole.json.gz" > "$tmp/truncated.json.gz"
# Garbage in the middle of the deflate stream.
cp "$tmp/whole.jsonl.gz" "$tmp/corrupt.jsonl.gz"
printf '\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377' |
  dd of="$tmp/corrupt.jsonl.gz" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null

run() {
  rm -f "$tmp/out.csv" "$tmp/dead.jsonl"
  expect 1 "$1" timeout 60 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline json csv \
    --source-path "$2" --dest-path "$tmp/out.csv" --on-error "$3" --dead-letter "$tmp/dead.jsonl"
}

for policy in fail skip dead_letter; do
  run "truncated JSON Lines, on_error $policy" "$tmp/truncated.jsonl.gz" "$policy"
  contains "$err" 'truncated gzip data in file' "truncated, $policy: the codec's error"
  contains "$err" 'Reading stopped at line' "truncated, $policy: where reading stopped"
  lacks "$err" 'bad record' "truncated, $policy: not a bad record"
  if [ -s "$tmp/dead.jsonl" ]; then
    report_failure "truncated, $policy: the dead-letter file is not empty"
  fi
  rows=$(wc -l < "$tmp/out.csv" 2>/dev/null || echo 0)
  if [ "$rows" -lt 100 ]; then
    report_failure "truncated, $policy: the records before the damage were not delivered ($rows lines)"
  fi

  run "truncated array document, on_error $policy" "$tmp/truncated.json.gz" "$policy"
  contains "$err" 'truncated gzip data in file' "truncated array, $policy: the codec's error"

  run "corrupt JSON Lines, on_error $policy" "$tmp/corrupt.jsonl.gz" "$policy"
  contains "$err" 'gzip data in file' "corrupt, $policy: the codec's error"
  lacks "$err" 'bad record' "corrupt, $policy: not a bad record"
done

finish
