#!/bin/sh
# json_limits.sh - the json source's memory is bounded by its settings, not
# by the shape of the input: a 48 MiB string is refused by max_record_bytes
# (named by line, the rest of the file goes on) without buffering it, and
# 64 MiB of blank lines before a record are consumed, not buffered (they
# used to cost as much memory as the blank space itself).  The peak RSS
# comes from the engine's summary line.
. "${srcdir:-.}/lib/cli_lib.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"

# peak_rss_kib of the summary in $err must be under $1 KiB.
rss_under() {
  rss=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' "$err" | tail -n 1)
  if [ -z "$rss" ] || [ "$rss" -ge "$1" ]; then
    report_failure "$2: peak RSS ${rss:-unknown} KiB, expected under $1 KiB"
  fi
}

big="$tmp/big.jsonl"
{
  echo '{"a":"first"}'
  printf '{"a":"'
  head -c 50331648 /dev/zero | tr '\0' 'x'
  echo '"}'
  echo '{"a":"last"}'
} > "$big"

expect 1 "a record over max_record_bytes fails the run" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline json csv --source-path "$big" \
  --dest-path "$tmp/out.csv" -s max_record_bytes=4194304
contains "$err" 'record at line 2 of file' "oversized: the line"
contains "$err" 'is longer than 4194304 bytes' "oversized: the limit"
contains "$err" 'max_record_bytes' "oversized: the setting"
rss_under 40000 "oversized record, on_error fail"

expect 0 "a record over max_record_bytes is skipped with on_error = skip" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline json csv --source-path "$big" \
  --dest-path "$tmp/out.csv" -s max_record_bytes=4194304 --on-error skip
contains "$tmp/out.csv" 'first' "oversized, skip: the record before"
contains "$tmp/out.csv" 'last' "oversized, skip: the record after"
lacks "$tmp/out.csv" 'xxxx' "oversized, skip: nothing of the big record"
rss_under 40000 "oversized record, on_error skip"

# 64 MiB of blank lines on a pipe, then records.
{ head -c 67108864 /dev/zero | tr '\0' '\n'; echo '{"a":1}'; echo '{"a":2}'; } > "$tmp/blank.jsonl"
expect 0 "64 MiB of blank lines, then records" sh -c \
  "\"\$1\" --plugin-dir \"\$2\" pipeline json csv --source-path - --dest-path \"\$3\" < \"\$4\"" \
  sh "$NEBULA_HOST" "$PLUGIN_DIR" "$tmp/out.csv" "$tmp/blank.jsonl"
contains "$tmp/out.csv" '2' "blank lines: the records"
rss_under 40000 "64 MiB of blank lines"

finish
