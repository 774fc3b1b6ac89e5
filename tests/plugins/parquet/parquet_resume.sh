#!/bin/bash
# The parquet source decodes column chunks page by page as batches need
# their rows (pq_colreader.c): batches that start and end inside pages,
# pages that straddle batches, dictionary and plain pages, nulls, and
# positions inside a row group must give exactly the rows of a plain read.
#   1. One file, read with batch sizes that do and do not divide the page
#      and row group sizes: the same JSON Lines every time.
#   2. kill -9 / resume loop parquet -> json lines: each run is killed
#      after its state file changed (a commit landed, most inside a row
#      group), the resumed output equals the uninterrupted one byte for
#      byte.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
nb() { nebula --quiet "$@"; }

rows=${RESUME_ROWS:-60000}
nb pipeline generate csv -s rows="$rows" -s seed=7 --dest-path "$work/in.csv"
# Small pages (many per chunk) and row groups that batches do not divide;
# a small dictionary limit so some chunks fall back to PLAIN pages.
nb pipeline csv parquet --source-path "$work/in.csv" --dest-path "$work/in.parquet" \
  --dest-setting row_group_rows=7000 --dest-setting page_bytes=2048 \
  --dest-setting dictionary_bytes=4096 --dest-setting compression=zstd

# 1. Batch sizes.
nb pipeline parquet json --source-path "$work/in.parquet" --dest-path "$work/ref.jsonl" --format lines \
  --batch-rows 65536
[ "$(wc -l < "$work/ref.jsonl")" -eq "$rows" ] || fail "$(wc -l < "$work/ref.jsonl") lines where $rows are expected"
for b in 1 7 333 4096 7000 7001; do
  nb pipeline parquet json --source-path "$work/in.parquet" --dest-path "$work/b$b.jsonl" --format lines \
    --batch-rows "$b"
  cmp "$work/ref.jsonl" "$work/b$b.jsonl" || fail "batches of $b rows read other rows"
done
# A projection (columns chunks skipped) batches the same way.
for b in 65536 333; do
  nb pipeline parquet json --source-path "$work/in.parquet" -s columns=note,vendor_id,total_amount \
    --dest-path "$work/p$b.jsonl" --format lines --batch-rows "$b"
done
cmp "$work/p65536.jsonl" "$work/p333.jsonl" || fail "a projection read in batches of 333 rows differs"
[ "$(grep -c '^{"vendor_id":"[0-9]*","total_amount":"[0-9.-]*","note":' "$work/p333.jsonl")" -eq "$rows" ] ||
  fail "projection: $(head -1 "$work/p333.jsonl")"

# 2. kill -9 / resume.
cat > "$work/crash.cfg" <<CFG
source = { connector = "parquet"; path = "$work/in.parquet"; };
destination = { connector = "json"; path = "$work/crash.jsonl"; format = "lines"; };
engine = { batch_rows = 200; commit_interval = 0.01; };
CFG
cycles=${RESUME_CYCLES:-8}
kills=0
runs=0
last=none
while :; do
  runs=$((runs + 1))
  [ "$runs" -le $((cycles + 5)) ] || fail "the crash loop did not complete"
  nebula_bg "$work/log" --quiet run "$work/crash.cfg" --state "$work/crash.state"
  if [ "$kills" -lt "$cycles" ]; then
    # Wait (60 s at most) for a commit of this run, then kill it.
    ticks=1200
    while kill -0 "$pid" 2> /dev/null; do
      now=$(cksum "$work/crash.state" 2> /dev/null || echo none)
      [ "$now" = "$last" ] || break
      ticks=$((ticks - 1))
      [ "$ticks" -gt 0 ] || fail "run $runs committed nothing in 60 seconds: $(cat "$work/log")"
      sleep 0.05
    done
    kill -9 "$pid" 2> /dev/null || true
  fi
  wait_exit "$pid" 120
  last=$(cksum "$work/crash.state" 2> /dev/null || echo none)
  case "$exit_code" in
    0) break ;;
    137) kills=$((kills + 1)) ;;
    *) cat "$work/log"; fail "run $runs exited $exit_code" ;;
  esac
done
cmp "$work/ref.jsonl" "$work/crash.jsonl" || fail "after $kills kills in $runs runs the output differs from a plain read"
echo "parquet source page by page ok: batch sizes, $kills kills in $runs runs, every row once"
