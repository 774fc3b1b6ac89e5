#!/bin/bash
# csv source, header = false: the memory held for bad records is bounded by
# the settings, whatever the input (issue 9, item 13).  Without a header the
# source looks ahead for the first good record to count the columns, and
# kept every bad record before it in memory (100 MiB of over-long lines:
# over 100 MiB of RSS); the sample of infer_types did the same with the
# rest of an over-long line.  Now the look-ahead keeps at most
# 2 x max_record_bytes: beyond that the run fails with a clear error; bad
# records after the first good one are skipped or dead-lettered one at a
# time.  Peak RSS is measured with /usr/bin/time (Debian package "time").
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
cd "$work"
[ -x /usr/bin/time ] || fail "/usr/bin/time is needed (Debian package \"time\")"

max=262144                  # max_record_bytes for these runs (256 KiB)
bound=60000                 # KiB of peak RSS; about 10 MB is typical
# bad_lines N: N lines of 1 MiB, each over max_record_bytes (100 MiB for 100).
bad_lines() {
  python3 - "$1" <<'PY'
import sys
line = b"z" * (1 << 20) + b"\n"
out = sys.stdout.buffer
for _ in range(int(sys.argv[1])):
    out.write(line)
PY
}
{ bad_lines 100; printf '1,2\n3,4\n'; } > bad-first.csv
{ printf '1,2\n'; bad_lines 100; printf '3,4\n'; } > bad-after.csv
{ head -c 409600 /dev/zero | tr '\0' z; printf '\n1,2\n3,4\n'; } > one-bad-first.csv

measure() {  # name, expected exit, then the options after the paths
  name=$1 want=$2 file=$3
  shift 3
  rm -f out.json dl.jsonl
  code=0
  /usr/bin/time -f '%M' -o rss "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --quiet \
    pipeline csv json --source-path "$file" --dest-path out.json -s header=false \
    -s max_record_bytes=$max "$@" 2> err.txt || code=$?
  [ "$code" -eq "$want" ] || { cat err.txt; fail "$name: exit $code, expected $want"; }
  rss=$(tail -n 1 rss)
  echo "$name: peak RSS $rss KiB (bound $bound KiB)"
  [ "$rss" -le "$bound" ] || fail "$name: peak RSS $rss KiB > $bound KiB"
}

# 1. 100 MiB of bad records before the first good one: a clear error.
for mode in skip dead_letter fail; do
  measure "bad first, $mode" 1 bad-first.csv --on-error $mode --dead-letter dl.jsonl
  grep -q 'no good record in its first 524288 bytes to count its columns from (header = false)' err.txt ||
    { cat err.txt; fail "bad first, $mode: no clear error"; }
  grep -q 'max_record_bytes' err.txt || fail "bad first, $mode: no hint naming the setting"
done
measure "bad first, infer_types" 1 bad-first.csv --on-error skip -s infer_types=true

# 2. The bad records after a good one are rejected one at a time.
measure "bad after, skip" 0 bad-after.csv --on-error skip
[ "$(wc -l < out.json)" -eq 2 ] || fail "bad after, skip: $(wc -l < out.json) records, expected 2"
measure "bad after, dead_letter" 0 bad-after.csv --on-error dead_letter --dead-letter dl.jsonl
[ "$(wc -l < dl.jsonl)" -eq 100 ] || fail "bad after: $(wc -l < dl.jsonl) dead letters, expected 100"
measure "bad after, infer_types" 0 bad-after.csv --on-error skip -s infer_types=true
grep -q '"column1":3' out.json || { cat out.json; fail "bad after, infer_types: no int 3"; }

# 3. Within the bound (one line of 400 KiB, over max_record_bytes but under
# twice it), bad records before the first good one are still reported in
# order, then the data.
measure "one bad first, dead_letter" 0 one-bad-first.csv --on-error dead_letter \
  --dead-letter dl.jsonl
[ "$(wc -l < dl.jsonl)" -eq 1 ] || fail "one bad first: $(wc -l < dl.jsonl) dead letters"
[ "$(wc -l < out.json)" -eq 2 ] || fail "one bad first: $(wc -l < out.json) records"
echo ok
