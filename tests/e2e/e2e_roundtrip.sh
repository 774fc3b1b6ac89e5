#!/bin/sh
# End to end: generate -> csv -> json -> csv gives identical values.
#
# The second CSV is not byte-identical to the first (an empty string is
# written quoted, "", to keep it apart from null), so values are compared by
# converting both CSV files to JSON Lines and comparing those byte for byte.
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
nb() { "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }

nb pipeline generate csv -s rows=25000 -s seed=7 --dest-path "$work/a.csv"
nb pipeline csv json --source-path "$work/a.csv" --dest-path "$work/a.jsonl" --format lines
nb pipeline json csv --source-path "$work/a.jsonl" --dest-path "$work/b.csv"
nb pipeline csv json --source-path "$work/b.csv" --dest-path "$work/b.jsonl" --format lines

rows=$(wc -l < "$work/a.jsonl")
[ "$rows" -eq 25000 ] || { echo "expected 25000 records, got $rows"; exit 1; }
cmp "$work/a.jsonl" "$work/b.jsonl" || { echo "values differ after the round trip"; exit 1; }

# The same through a JSON array and compressed files.
nb pipeline csv json --source-path "$work/a.csv" --dest-path "$work/c.json.zst" --format array
nb pipeline json csv --source-path "$work/c.json.zst" --dest-path "$work/c.csv.gz"
nb pipeline csv json --source-path "$work/c.csv.gz" --dest-path "$work/c.jsonl" --format lines
cmp "$work/a.jsonl" "$work/c.jsonl" || { echo "values differ after the array/compressed round trip"; exit 1; }

# Values that need care survive: leading zeros, digits after the point,
# quotes, commas, newlines inside fields, a BOM, CRLF line ends.
printf '\357\273\277zip,amount,note\r\n00501,2.50,"say ""hi"", then\r\nleave"\r\n00000,-0.10,\r\n' > "$work/t.csv"
nb pipeline csv json --source-path "$work/t.csv" --dest-path "$work/t.jsonl" --format lines
expected='{"zip":"00501","amount":"2.50","note":"say \"hi\", then\r\nleave"}
{"zip":"00000","amount":"-0.10","note":""}'
[ "$(cat "$work/t.jsonl")" = "$expected" ] || { echo "unexpected output:"; cat "$work/t.jsonl"; exit 1; }
echo "round trip ok: $rows records"
