#!/bin/sh
# End to end: csv/generate -> arrow IPC (file and streaming format, each
# body compression) -> json gives the same JSON Lines as csv/generate ->
# json directly: every type the engine carries, nulls, non-ASCII text,
# extreme values, several batches, a glob of files and standard input.
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
: "${srcdir:=.}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-arrow.XXXXXX")
trap 'rm -rf "$work"' EXIT
nb() { "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

types="$srcdir/data/arrow/types.csv"
cols='columns=id:int64;f:float64;b:bool;d:decimal(38,2);day:date;ts:timestamp;num:number;js:json;s:string'
nb pipeline csv json --source-path "$types" --dest-path "$work/ref.jsonl" -s "$cols" -s null_string=
[ "$(wc -l < "$work/ref.jsonl")" -eq 5 ] || fail "reference has not 5 rows"

for ext in arrow arrows; do
  for comp in none lz4_frame zstd; do
    nb pipeline csv arrow --source-path "$types" --dest-path "$work/t-$comp.$ext" \
      -s "$cols" -s null_string= -s compression="$comp" --batch-rows 2
    nb pipeline arrow json --source-path "$work/t-$comp.$ext" --dest-path "$work/t.jsonl"
    cmp "$work/ref.jsonl" "$work/t.jsonl" || fail "types through .$ext ($comp) differ"
  done
done
# The file format's magic at both ends, the stream's end-of-stream marker.
[ "$(head -c 6 "$work/t-none.arrow")" = ARROW1 ] || fail "no leading magic"
[ "$(tail -c 6 "$work/t-none.arrow")" = ARROW1 ] || fail "no trailing magic"
[ "$(tail -c 8 "$work/t-none.arrows" | od -An -tx1 | tr -d ' \n')" = ffffffff00000000 ] ||
  fail "no end-of-stream marker"
# The format setting overrides the extension; the source detects it.
nb pipeline csv arrow --source-path "$types" --dest-path "$work/x.bin" -s "$cols" \
  -s null_string= -s format=stream
[ "$(head -c 4 "$work/x.bin" | od -An -tx1 | tr -d ' \n')" = ffffffff ] || fail "format=stream ignored"
nb pipeline arrow json --source-path "$work/x.bin" --dest-path "$work/x.jsonl"
cmp "$work/ref.jsonl" "$work/x.jsonl" || fail "format=stream read back differs"

# Many batches of NYC-taxi-like rows (text, nulls), and the same with
# inferred int64 and exact numbers.
nb pipeline generate json -s rows=30000 -s seed=3 --dest-path "$work/g-ref.jsonl"
nb pipeline generate arrow -s rows=30000 -s seed=3 --dest-path "$work/g.arrow" --batch-rows 4096
nb pipeline arrow json --source-path "$work/g.arrow" --dest-path "$work/g.jsonl"
cmp "$work/g-ref.jsonl" "$work/g.jsonl" || fail "generate through arrow differs"
nb pipeline generate csv -s rows=30000 -s seed=4 --dest-path "$work/g.csv"
nb pipeline csv json --source-path "$work/g.csv" -s infer_types=true --dest-path "$work/i-ref.jsonl"
nb pipeline csv arrow --source-path "$work/g.csv" -s infer_types=true --dest-path "$work/i.arrows" -s compression=zstd
nb pipeline arrow json --source-path "$work/i.arrows" --dest-path "$work/i.jsonl"
cmp "$work/i-ref.jsonl" "$work/i.jsonl" || fail "inferred types through arrow differ"

# A glob: one stream per file, {stream} in the destination.
mkdir "$work/many"
nb pipeline generate arrow -s rows=500 -s streams=3 --dest-path "$work/many/{stream}.arrows"
nb pipeline generate json -s rows=500 -s streams=3 --dest-path "$work/many/{stream}.ref.jsonl"
nb pipeline arrow json --source-path "$work/many/*.arrows" --dest-path "$work/many/{stream}.jsonl"
for i in 0 1 2; do
  cmp "$work/many/generate-$i.ref.jsonl" "$work/many/generate-$i.jsonl" || fail "glob stream $i differs"
done

# Standard input and output.
nb pipeline arrow arrow --source-path - --dest-path - < "$work/t-zstd.arrows" > "$work/pipe.arrows"
nb pipeline arrow json --source-path - --dest-path "$work/pipe.jsonl" < "$work/pipe.arrows"
cmp "$work/ref.jsonl" "$work/pipe.jsonl" || fail "through standard input/output differs"

# All streams into one file need one schema.
if nb pipeline arrow arrow --source-path "$work/*.arrows" --dest-path "$work/mixed.arrow" 2> "$work/err"; then
  fail "streams of different schemas went into one file"
fi
grep -q "does not have the schema" "$work/err" || { cat "$work/err"; fail "no schema error"; }
echo "arrow round trips ok"
