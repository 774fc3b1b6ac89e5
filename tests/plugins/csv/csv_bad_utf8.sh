#!/bin/sh
# csv source: a value that is not valid UTF-8 is a bad record like any other
# (issue 9, item 5): rejected alone, naming file, line and column, so that
# on_error = skip | dead_letter can go past it and the good rows of the same
# batch are delivered.  With on_error = fail the run stops naming the line.
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-csv-utf8.XXXXXX")
trap 'rm -rf "$work"' EXIT
nb() { timeout 60 "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }
failures=0
fail() {
  echo "FAIL: $*"
  sed 's/^/  stderr: /' "$work/err"
  failures=$((failures + 1))
}

# Lines 3, 5, 6, 7, 8 and 10 are bad: Latin-1, a bad byte inside a quoted
# value, an overlong form, a surrogate, a sequence cut by the delimiter, a
# code point above U+10FFFF.  Line 9 holds valid 2-, 3- and 4-byte
# characters, lines 11-12 a multi-line quoted value.
printf 'id,name,note\n' > "$work/in.csv"
printf '1,ok,a\n' >> "$work/in.csv"
printf '2,caf\351,latin1\n' >> "$work/in.csv"
printf '3,fine,b\n' >> "$work/in.csv"
printf '4,x,"quoted \377 byte"\n' >> "$work/in.csv"
printf '5,\300\200,overlong\n' >> "$work/in.csv"
printf '6,\355\240\200,surrogate\n' >> "$work/in.csv"
printf '7,\342\202,cut\n' >> "$work/in.csv"
printf '8,caf\303\251 \342\202\254 \360\237\230\200,valid\n' >> "$work/in.csv"
printf '9,x,\364\220\200\200\n' >> "$work/in.csv"
printf '10,"two\nlines",c\n' >> "$work/in.csv"
good_ids='1 3 8 10'

ids() { sed -n 's/^{"id":"\{0,1\}\([0-9]*\).*/\1/p' "$1" | tr '\n' ' ' | sed 's/ $//'; }

for batch in 1 2 1000; do
  for extra in "" "-s infer_types=true"; do
    name="batch-rows $batch $extra"
    # skip: every good row, in order; each bad one logged with its line.
    code=0
    nb --log-level warn pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" \
      --format lines --batch-rows "$batch" --on-error skip $extra 2> "$work/err" || code=$?
    [ "$code" -eq 0 ] || fail "$name skip: exit status $code"
    [ "$(ids "$work/out.jsonl")" = "$good_ids" ] ||
      fail "$name skip: rows $(ids "$work/out.jsonl"), expected $good_ids"
    # dead_letter: one entry per bad record with its line and column.
    rm -f "$work/dead.jsonl"
    code=0
    nb pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" \
      --format lines --batch-rows "$batch" --on-error dead_letter \
      --dead-letter "$work/dead.jsonl" $extra 2> "$work/err" || code=$?
    [ "$code" -eq 0 ] || fail "$name dead_letter: exit status $code"
    [ "$(ids "$work/out.jsonl")" = "$good_ids" ] || fail "$name dead_letter: rows $(ids "$work/out.jsonl")"
    got=$(sed -n 's/.*"line":\([0-9]*\),"column":\([0-9]*\).*/\1:\2/p' "$work/dead.jsonl" | tr '\n' ' ')
    [ "$got" = "3:2 5:3 6:2 7:2 8:2 10:3 " ] || fail "$name dead_letter: lines:columns $got"
    grep -q 'invalid UTF-8 in column \\"name\\" at line 3 of file' "$work/dead.jsonl" ||
      fail "$name dead_letter: no message naming column and line"
  done
done

# fail: the run stops at the first bad record, naming file, line, column
# and byte; the good rows before it are written.
code=0
nb pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" --format lines \
  2> "$work/err" || code=$?
[ "$code" -eq 1 ] || fail "on_error=fail: exit status $code, expected 1"
grep -q 'invalid UTF-8 in column "name" at line 3 of file ".*in.csv"' "$work/err" ||
  fail "on_error=fail: message"
grep -q 'Byte 4 of the value (0xE9)' "$work/err" || fail "on_error=fail: detail"
grep -q 'iconv' "$work/err" || fail "on_error=fail: hint"
[ "$(ids "$work/out.jsonl")" = "1" ] || fail "on_error=fail: rows $(ids "$work/out.jsonl")"

# Without a header, and with a declared column, the same.
tail -n +2 "$work/in.csv" > "$work/nohead.csv"
code=0
nb pipeline csv json --source-path "$work/nohead.csv" --dest-path "$work/out.jsonl" \
  --format lines -s header=false --on-error skip 2> "$work/err" || code=$?
[ "$code" -eq 0 ] && [ "$(grep -c . "$work/out.jsonl")" -eq 4 ] || fail "header=false: $code"
code=0
nb pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" \
  --format lines -s columns=id:int64 --on-error skip 2> "$work/err" || code=$?
[ "$code" -eq 0 ] && [ "$(ids "$work/out.jsonl")" = "$good_ids" ] || fail "declared int64 id: $code"

# A header name that is not UTF-8 is refused (it would become a JSON key).
printf 'id,caf\351\n1,x\n' > "$work/head.csv"
code=0
nb pipeline csv json --source-path "$work/head.csv" --dest-path "$work/out.jsonl" \
  --on-error skip 2> "$work/err" || code=$?
[ "$code" -ne 0 ] || fail "non-UTF-8 header accepted"
grep -q 'line 1' "$work/err" || fail "non-UTF-8 header: no line in the message"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"
