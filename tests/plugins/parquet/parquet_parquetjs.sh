#!/bin/bash
# Files written by a third independent Parquet implementation,
# @dsnp/parquetjs (npm, installed by .ci/install-deps.sh; the test fails
# when it is missing), read by Nebula and compared value for value with
# what parquetjs was given (tests/plugins/parquet/parquet_parquetjs.js
# writes both; parquet_parquetjs_compare.py compares):
#   - uncompressed, gzip and snappy columns; data pages v1 and v2; several
#     row groups;
#   - every type parquetjs writes: INT32/INT64, BOOLEAN, DOUBLE, FLOAT,
#     UTF8 (empty, non-ASCII, quotes, newlines), DECIMAL on INT32, DATE,
#     TIMESTAMP_MILLIS (before 1970) and _MICROS, UINT_8, INT_16, JSON,
#     optional columns with nulls, a repeated column and a nested group
#     (delivered as JSON), a zip code column that keeps its zeros;
#   - RLE-encoded INT32 values (parquetjs's `typeLength` bit width) and
#     RLE booleans, in v1 and v2 pages;
#   - a BROTLI column: a clear error naming the file, column and codec.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
export NODE_PATH="${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}"
[ -d "$NODE_PATH/@dsnp/parquetjs" ] || fail "npm package @dsnp/parquetjs is not installed (run .ci/install-deps.sh)"

node "${srcdir:-.}/plugins/parquet/parquet_parquetjs.js" "$work" || fail "parquetjs could not write the test files"
for name in plain_v1 gzip_v1 snappy_v2 rle_v1 rle_snappy_v2; do
  nebula --quiet pipeline parquet json --source-path "$work/$name.parquet" \
    --dest-path "$work/$name.jsonl" --format lines
  python3 "${srcdir:-.}/plugins/parquet/parquet_parquetjs_compare.py" \
    "$work/$name.expected.jsonl" "$work/$name.jsonl" > "$work/$name.diff" ||
    fail "$name: Nebula reads other values than parquetjs wrote: $(cat "$work/$name.diff")"
  echo "ok: $name: 1000 rows equal"
done

if "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --quiet pipeline parquet json \
    --source-path "$work/brotli.parquet" --dest-path "$work/brotli.jsonl" 2> "$work/brotli.err"; then
  fail "a BROTLI column was read without an error"
fi
grep -q 'brotli.parquet.*column "id".*codec BROTLI is not supported' "$work/brotli.err" ||
  fail "the BROTLI error does not name the file, column and codec: $(cat "$work/brotli.err")"
echo "parquet with parquetjs ok"
