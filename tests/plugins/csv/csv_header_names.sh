#!/bin/sh
# csv source: empty or repeated header names (issue 9, item 4).  They used
# to become duplicate JSON keys, and reading the JSON back dropped values
# with exit 0.  Now they are renamed by a documented rule (header_names =
# "dedupe", the default) or refused (header_names = "strict").
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-csv-names.XXXXXX")
trap 'rm -rf "$work"' EXIT
nb() { timeout 60 "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }
failures=0
fail() {
  echo "FAIL: $*"
  [ -f "$work/err" ] && sed 's/^/  stderr: /' "$work/err"
  failures=$((failures + 1))
}

printf 'id,a,a,,a_2,a\n1,x,y,z,w,v\n2,p,q,r,s,t\n' > "$work/in.csv"

# dedupe (the default): every value arrives under its own key.
nb pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" --format lines \
  2> "$work/err" || fail "dedupe: exit status $?"
want='{"id":"1","a":"x","a_3":"y","column_4":"z","a_2":"w","a_4":"v"}
{"id":"2","a":"p","a_3":"q","column_4":"r","a_2":"s","a_4":"t"}'
[ "$(cat "$work/out.jsonl")" = "$want" ] || fail "dedupe: got $(cat "$work/out.jsonl")"

# ... and comes back: json -> csv keeps all six columns and every value.
nb pipeline json csv --source-path "$work/out.jsonl" --dest-path "$work/back.csv" \
  2> "$work/err" || fail "json -> csv: exit status $?"
[ "$(sed -n 2p "$work/back.csv")" = "1,x,y,z,w,v" ] || fail "round trip: $(cat "$work/back.csv")"

# Declared types and inference address the new names.
nb pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" --format lines \
  -s 'columns=a_3:string; id:int64' 2> "$work/err" || fail "columns = a_3: exit status $?"
grep -q '"id":1,' "$work/out.jsonl" || fail "columns: $(cat "$work/out.jsonl")"

# strict: refused, naming file, line and both columns.
code=0
nb pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" \
  -s header_names=strict 2> "$work/err" || code=$?
[ "$code" -ne 0 ] || fail "strict: accepted"
grep -q 'columns 2 and 3 at line 1 of file ".*in.csv" have the same name "a"' "$work/err" ||
  fail "strict: message"
printf 'id,,b\n1,2,3\n' > "$work/empty.csv"
code=0
nb pipeline csv json --source-path "$work/empty.csv" --dest-path "$work/out.jsonl" \
  -s header_names=strict 2> "$work/err" || code=$?
[ "$code" -ne 0 ] && grep -q 'column 2 at line 1 of file ".*empty.csv" has an empty name' "$work/err" ||
  fail "strict: empty name"

# A bad value of the setting is refused before anything runs.
code=0
nb pipeline csv json --source-path "$work/in.csv" --dest-path "$work/out.jsonl" \
  -s header_names=rename 2> "$work/err" || code=$?
[ "$code" -eq 2 ] || fail "header_names = rename: exit status $code, expected 2"

# describe documents the setting.
nb describe csv > "$work/describe" 2> "$work/err" || fail "describe: exit status $?"
grep -q 'header_names' "$work/describe" || fail "describe: no header_names"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"
