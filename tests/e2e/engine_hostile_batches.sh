#!/bin/bash
# End to end: a source whose batch is malformed (tests/connectors/
# hostile_batches.c, one defect per run) makes the run fail with exit 1
# and an error naming the connector, the stream, the column and the
# defect; never a crash, never exit 0 with rows lost (issue 9, item 14).
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1

run_defect() {
  rm -f "$work/out.json"
  exit_code=0
  nebula -q pipeline hostile json -s "defect=$1" --dest-path "$work/out.json" \
    > /dev/null 2> "$work/log" || exit_code=$?
}

# The well-formed batch goes through, so the failures below are the defects'.
run_defect none
[ "$exit_code" -eq 0 ] || { cat "$work/log"; fail "defect=none: exit $exit_code"; }
[ "$(wc -l < "$work/out.json")" -eq 3 ] || fail "defect=none: expected 3 records"
grep -q '"name":"cde"' "$work/out.json" || fail "defect=none: record 2 missing"

# defect | what the error must say
while IFS='|' read -r defect want; do
  run_defect "$defect"
  if [ "$exit_code" -ne 1 ]; then
    cat "$work/log"
    fail "defect=$defect: expected exit 1, got $exit_code"
  fi
  grep -q 'source connector "hostile" returned an invalid batch in stream "hostile"' "$work/log" ||
    { cat "$work/log"; fail "defect=$defect: the error does not name connector and stream"; }
  grep -qF -- "$want" "$work/log" ||
    { cat "$work/log"; fail "defect=$defect: the error does not say \"$want\""; }
  if [ -s "$work/out.json" ]; then
    fail "defect=$defect: records were written"
  fi
done <<'CASES'
null_offsets|column "name": the offsets buffer is NULL but the array has 3 rows
null_data|column "name": the data buffer is NULL but the values have 6 bytes
null_values|column "id": the values buffer is NULL but the array has 3 rows
null_buffers|column "name": the buffers array is NULL
negative_offset|column "name": the first offset is negative (-100)
decreasing_offsets|column "name": offsets decrease at row 1 (2 after 5)
negative_length|the batch: length is negative (-1)
negative_column_offset|column "name": offset is negative (-1)
null_count_without_validity|column "name": null_count is 1 but there is no validity bitmap
bogus_dictionary|column "name": the array has a dictionary but the schema has none
short_column|column "name": the array has 2 rows (offset 0 + length 2), its parent needs 3
buffer_count|column "name": format "u" needs 3 buffers, the array has 2
missing_column|the batch: the array has 1 children, the schema 2
null_column|the batch: array child 1 is NULL
released_column|column "name": the array is released
CASES
# discover shows the stream's key (NbStreamInfo.key_columns) and refuses
# one that does not name distinct columns of the schema.
discover_key() { # defect
  printf 'source = { connector = "hostile"; defect = "%s"; };\ndestination = { connector = "json"; path = "%s"; };\n' \
    "$1" "$work/unused.json" > "$work/key.cfg"
  exit_code=0
  nebula discover "$work/key.cfg" > "$work/key.out" 2> "$work/log" || exit_code=$?
}
discover_key key_good
[ "$exit_code" -eq 0 ] || { cat "$work/log"; fail "defect=key_good: discover exit $exit_code"; }
grep -qxF 'stream "hostile" (0 bytes): 2 columns, key ("id")' "$work/key.out" ||
  { cat "$work/key.out"; fail "defect=key_good: discover does not show the key"; }
discover_key none
grep -qxF 'stream "hostile" (0 bytes): 2 columns' "$work/key.out" ||
  { cat "$work/key.out"; fail "defect=none: discover shows a key"; }
while IFS='|' read -r defect want; do
  discover_key "$defect"
  [ "$exit_code" -eq 1 ] || { cat "$work/key.out" "$work/log"; fail "defect=$defect: discover exit $exit_code"; }
  grep -qF -- "$want" "$work/log" || { cat "$work/log"; fail "defect=$defect: the error does not say \"$want\""; }
done <<'CASES'
key_unknown|stream "hostile": key column 2 ("nope") is not a column of its schema, or repeated
key_repeated|stream "hostile": key column 2 ("id") is not a column of its schema, or repeated
key_null_name|stream "hostile": key column 2 ("(null)") is not a column of its schema, or repeated
key_null_array|stream "hostile": a key of 1 columns that the schema does not hold
key_too_long|stream "hostile": a key of 3 columns that the schema does not hold
CASES
echo "hostile batches ok"
