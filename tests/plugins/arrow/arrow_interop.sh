#!/bin/sh
# Arrow IPC against an independent implementation: apache-arrow (npm, pure
# JavaScript, installed by .ci/install-deps.sh under ~/.cache/nebula) reads
# the files Nebula writes (file and streaming format) and every value is
# compared; files apache-arrow writes (file and stream, several batches,
# dictionaries (replaced and delta), int8/uint32/uint64, float32, large_utf8, date, timestamps
# in ms and ns, decimal) are read by Nebula and every value compared.
# apache-arrow 18 cannot decompress record batch bodies, so compressed
# files are checked by Nebula's own reader only (arrow_roundtrip.sh).
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
: "${srcdir:=.}"
: "${ARROW_NODE_MODULES:=$HOME/.cache/nebula/node_modules}"
export ARROW_NODE_MODULES
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-arrow-interop.XXXXXX")
trap 'rm -rf "$work"' EXIT
nb() { "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
js() { node "$srcdir/plugins/arrow/arrow_interop.mjs" "$@"; }
[ -d "$ARROW_NODE_MODULES/apache-arrow" ] ||
  fail "apache-arrow is not installed in $ARROW_NODE_MODULES (run .ci/install-deps.sh)"

# Nebula writes, apache-arrow reads.
types="$srcdir/data/arrow/types.csv"
cols='columns=id:int64;f:float64;b:bool;d:decimal(38,2);day:date;ts:timestamp;num:number;js:json;s:string'
nb pipeline csv json --source-path "$types" --dest-path "$work/ref.jsonl" -s "$cols" -s null_string=
for ext in arrow arrows; do
  nb pipeline csv arrow --source-path "$types" --dest-path "$work/t.$ext" -s "$cols" -s null_string= --batch-rows 2
  js dump "$work/t.$ext" > "$work/js.jsonl"
  cmp "$work/ref.jsonl" "$work/js.jsonl" || { diff "$work/ref.jsonl" "$work/js.jsonl" | head; fail "apache-arrow reads other values from .$ext"; }
done
nb pipeline generate json -s rows=20000 -s seed=5 --dest-path "$work/g-ref.jsonl"
for ext in arrow arrows; do
  nb pipeline generate arrow -s rows=20000 -s seed=5 --dest-path "$work/g.$ext" --batch-rows 3000
  js dump "$work/g.$ext" > "$work/g-js.jsonl"
  cmp "$work/g-ref.jsonl" "$work/g-js.jsonl" || fail "apache-arrow reads other generated values from .$ext"
done

# apache-arrow writes, Nebula reads.
js write "$work"
for f in js.arrow js.arrows js-delta.arrows; do
  nb pipeline arrow json --source-path "$work/$f" --dest-path "$work/$f.jsonl"
  cmp "$work/$f.expected.jsonl" "$work/$f.jsonl" || { diff "$work/$f.expected.jsonl" "$work/$f.jsonl" | head; fail "Nebula reads other values from apache-arrow's $f"; }
done
# ... and through Nebula's writer back to apache-arrow.
nb pipeline arrow arrow --source-path "$work/js.arrows" --dest-path "$work/again.arrow"
js dump "$work/again.arrow" > "$work/again.jsonl"
cmp "$work/js.arrows.expected.jsonl" "$work/again.jsonl" || fail "apache-arrow -> Nebula -> apache-arrow changed values"
echo "arrow interop with apache-arrow ok"
