#!/bin/sh
# csv source: memory bounded by the settings, not by the shape of the input
# (issue 9, item 13), and lossless strings by default.
#   - a file of 50000 columns x 1 row used to cost ~9 KB per column (450 MB
#     here) whatever batch_bytes said; with max_columns raised it must stay
#     under 2.5 KB per column for the whole process (measured: ~1.5 KB);
#   - more columns than max_columns (default 16384) is a clear error in a
#     header, and a bad record (skippable) in a data row;
#   - a record longer than max_record_bytes is a bad record naming the
#     setting; bad values of either setting are refused.
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-csv-limits.XXXXXX")
trap 'rm -rf "$work"' EXIT
nb() { timeout 120 "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }
failures=0
fail() {
  echo "FAIL: $*"
  [ -f "$work/err" ] && sed 's/^/  stderr: /' "$work/err"
  failures=$((failures + 1))
}

# wide N: a header c1..cN and one row of digits.
wide() {
  awk -v n="$1" 'BEGIN {
    for (i = 1; i <= n; i++) printf "%sc%d", (i > 1 ? "," : ""), i; printf "\n";
    for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? "," : ""), i % 10; printf "\n" }'
}

columns=50000
wide "$columns" > "$work/wide.csv"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M' -o "$work/rss" "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" \
    pipeline csv json --source-path "$work/wide.csv" --dest-path "$work/wide.jsonl" \
    --format lines -s max_columns=$columns 2> "$work/err" || fail "wide: exit status $?"
  rss=$(tail -n 1 "$work/rss")
  bound=$((columns * 25 / 10 + 30000)) # KiB: 2.5 KB per column + 30 MB
  echo "wide: $columns columns x 1 row: peak RSS $rss KiB (bound $bound KiB)"
  [ "$rss" -le "$bound" ] || fail "wide: peak RSS $rss KiB > $bound KiB"
else
  nb pipeline csv json --source-path "$work/wide.csv" --dest-path "$work/wide.jsonl" \
    --format lines -s max_columns=$columns 2> "$work/err" || fail "wide: exit status $?"
fi
grep -q "\"c$columns\":\"0\"}" "$work/wide.jsonl" || fail "wide: last column missing"

# Over max_columns in the header: an error naming the line and the limit.
code=0
nb pipeline csv json --source-path "$work/wide.csv" --dest-path "$work/out.jsonl" \
  --on-error skip 2> "$work/err" || code=$?
[ "$code" -ne 0 ] || fail "header over max_columns accepted"
grep -q 'record at line 1 of file ".*wide.csv" has more than 16384 fields' "$work/err" ||
  fail "header over max_columns: message"
grep -q 'max_columns' "$work/err" || fail "header over max_columns: no hint naming the setting"

# Over max_columns in a data row: a bad record; skip goes on.
{ printf 'a,b,c\n1,2,3\n'; awk 'BEGIN { for (i = 0; i < 100000; i++) printf ","; printf "\n" }';
  printf '4,5,6\n'; } > "$work/row.csv"
code=0
nb pipeline csv json --source-path "$work/row.csv" --dest-path "$work/out.jsonl" --format lines \
  -s max_columns=100 --on-error dead_letter --dead-letter "$work/dead.jsonl" 2> "$work/err" || code=$?
[ "$code" -eq 0 ] || fail "row over max_columns: exit status $code"
[ "$(grep -c . "$work/out.jsonl")" -eq 2 ] || fail "row over max_columns: $(grep -c . "$work/out.jsonl") rows"
grep -q 'record at line 3 of file .*has more than 100 fields' "$work/dead.jsonl" ||
  fail "row over max_columns: dead letter $(head -c 300 "$work/dead.jsonl")"

# Over max_record_bytes: a bad record naming the setting.
{ printf 'a,b\n1,2\n3,'; head -c 300 /dev/zero | tr '\0' x; printf '\n5,6\n'; } > "$work/long.csv"
code=0
nb pipeline csv json --source-path "$work/long.csv" --dest-path "$work/out.jsonl" --format lines \
  -s max_record_bytes=200 2> "$work/err" || code=$?
[ "$code" -eq 1 ] || fail "max_record_bytes: exit status $code"
grep -q 'record at line 3 of file ".*long.csv" is longer than 200 bytes' "$work/err" &&
  grep -q 'max_record_bytes' "$work/err" || fail "max_record_bytes: message"
code=0
nb pipeline csv json --source-path "$work/long.csv" --dest-path "$work/out.jsonl" --format lines \
  -s max_record_bytes=200 --on-error skip 2> "$work/err" || code=$?
[ "$code" -eq 0 ] && [ "$(grep -c . "$work/out.jsonl")" -eq 2 ] || fail "max_record_bytes skip"

# Bad values are refused.
for bad in max_columns=0 max_columns=2000000 max_record_bytes=0 max_record_bytes=-5 \
  max_record_bytes=99999999999; do
  code=0
  nb pipeline csv json --source-path "$work/long.csv" --dest-path "$work/out.jsonl" \
    -s "$bad" 2> "$work/err" || code=$?
  [ "$code" -ne 0 ] && grep -q "setting \"${bad%%=*}\"" "$work/err" || fail "$bad accepted"
done

# Lossless strings by default: 00501 stays 00501 through csv and json,
# with or without type inference.
printf 'zip,n\n00501,1\n-0,2\n' > "$work/zip.csv"
nb pipeline csv csv --source-path "$work/zip.csv" --dest-path "$work/zip2.csv" 2> "$work/err"
cmp -s "$work/zip.csv" "$work/zip2.csv" || fail "csv -> csv changed $(cat "$work/zip2.csv")"
nb pipeline csv csv --source-path "$work/zip.csv" --dest-path "$work/zip3.csv" \
  -s infer_types=true 2> "$work/err"
cmp -s "$work/zip.csv" "$work/zip3.csv" || fail "csv -> csv (infer) changed $(cat "$work/zip3.csv")"
nb pipeline csv json --source-path "$work/zip.csv" --dest-path "$work/zip.jsonl" --format lines \
  -s infer_types=true 2> "$work/err"
[ "$(head -n 1 "$work/zip.jsonl")" = '{"zip":"00501","n":1}' ] || fail "infer: $(cat "$work/zip.jsonl")"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"
