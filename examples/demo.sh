#!/bin/sh
# The README's demo: generate 1,000 synthetic taxi trips as CSV, convert the
# CSV to JSON Lines, and show the first records.  Runs from the build tree.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NEBULA_BUILD:-$top}   # the build tree (the source tree unless built elsewhere)
host="$build/host/nebula-host"
plugins="$build/plugins"
out=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nebula-demo.XXXXXX")}

echo "$ nebula-host list"
"$host" --plugin-dir "$plugins" list

echo
echo "$ nebula-host pipeline generate csv -s rows=1000 --dest-path $out/trips.csv"
"$host" --plugin-dir "$plugins" pipeline generate csv -s rows=1000 --dest-path "$out/trips.csv"
head -n 4 "$out/trips.csv"

echo
echo "$ nebula-host pipeline csv json --source-path $out/trips.csv --dest-path $out/trips.jsonl --format lines"
"$host" --plugin-dir "$plugins" pipeline csv json --source-path "$out/trips.csv" \
  --dest-path "$out/trips.jsonl" --format lines
head -n 3 "$out/trips.jsonl"
echo
echo "$(wc -l < "$out/trips.jsonl") records in $out/trips.jsonl"
