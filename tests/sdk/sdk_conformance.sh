#!/bin/sh
# sdk_conformance.sh - runs the conformance kit (nebula-connector-test) on
# the in-tree connectors, on the frozen-ABI-1.0 test connector, and on a
# connector that is broken on purpose, which the kit must catch.
set -u
: "${NEBULA_CONNECTOR_TEST:?set by make check}" "${PLUGIN_DIR:?}" "${srcdir:=.}"
kit=$NEBULA_CONNECTOR_TEST
abi_dir=$(pwd)/abi/.libs
data=$srcdir/data/sdk
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nebula-kit.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0

# Run the kit; it must exit 0.  Failed checks are shown.
expect_pass() {
  what=$1
  shift
  if "$kit" "$@" >"$tmp/out" 2>"$tmp/err"; then
    echo "PASS: $what ($(grep -c '^ok' "$tmp/out") checks)"
  else
    echo "FAIL: $what"
    grep -v '^ok' "$tmp/out"
    sed 's/^/stderr: /' "$tmp/err"
    failed=1
  fi
}

# Run the kit; it must exit 1 and report each given check as "not ok".
expect_catch() {
  what=$1
  shift
  patterns=$1
  shift
  "$kit" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ne 1 ]; then
    echo "FAIL: $what: the kit exited with $rc, expected 1"
    cat "$tmp/out"
    failed=1
    return
  fi
  echo "$patterns" | while IFS= read -r pattern; do
    [ -n "$pattern" ] || continue
    if grep -q "^not ok [0-9]* - .*$pattern" "$tmp/out"; then
      echo "PASS: $what: caught \"$pattern\""
    else
      echo "FAIL: $what: did not report \"$pattern\""
      grep -v '^ok' "$tmp/out"
      echo x >"$tmp/caught-failed"
    fi
  done
  [ -e "$tmp/caught-failed" ] && failed=1
  rm -f "$tmp/caught-failed"
}

module() {
  for candidate in "$PLUGIN_DIR/$1/.libs/$1.so" "$PLUGIN_DIR/$1/$1.so"; do
    if [ -f "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  echo "$PLUGIN_DIR/$1/.libs/$1.so"
}

expect_pass "csv source" "$(module csv)" --source --batch-rows 2 \
  -s path="$data/people.csv"
expect_pass "csv destination" "$(module csv)" --dest -s path="$tmp/out.csv"
expect_pass "json source" "$(module json)" --source --batch-rows 2 \
  -s path="$data/records.jsonl"
expect_pass "json destination" "$(module json)" --dest -s path="$tmp/out.jsonl"
# The kit's host has no block codecs: an uncompressed file and output.
expect_pass "parquet source" "$(module parquet)" --source --batch-rows 2 \
  -s path="$srcdir/data/parquet/types.parquet"
expect_pass "parquet destination" "$(module parquet)" --dest -s path="$tmp/out.parquet" -s compression=none
expect_pass "avro source" "$(module avro)" --source --batch-rows 2 \
  -s path="$srcdir/fuzz/corpus/avro/py-null.avro"
expect_pass "avro destination" "$(module avro)" --dest -s path="$tmp/out.avro"
expect_pass "generate source" "$(module generate)" --batch-rows 300 -s rows=1000
expect_pass "ABI 1.0 connector, source" "$abi_dir/connector_v1_0.so" --source \
  --batch-rows 4 -s rows=10
expect_pass "ABI 1.0 connector, destination" "$abi_dir/connector_v1_0.so" --dest

# Kept in sync with the bugs planted in abi/kit_bad.c.
expect_catch "broken connector" "entry returns NB_ABI_MISMATCH
entry fills nothing beyond abi_version
unrecognized setting \"nebula_kit_no_such_setting\": open refuses it
every batch is valid Arrow data
release sets release to NULL" "$abi_dir/kit_bad.so" --source
expect_catch "broken destination" "destination opens with the given settings and a saved state
a resumed destination writes and commits again" "$abi_dir/kit_bad.so" --dest
# The schema a destination refused is shown, column by column.
if grep -q "^# *refused schema: text utf8 (nullable), count int64 (nullable), ratio float64" "$tmp/out"; then
  echo "PASS: broken destination: the refused schema is printed"
else
  echo "FAIL: broken destination: the refused schema is not printed"
  failed=1
fi

# A file that is not a connector at all.
expect_catch "not a connector" "exports nebula_connector_entry" \
  "$(dirname "$kit")/.libs/libnebula-sdk.so"
exit $failed
