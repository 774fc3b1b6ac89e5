#!/bin/bash
# End to end: peak memory depends on the engine's settings, not on the
# input.  The same pipeline on 10x the rows must not need much more memory:
# peak RSS (reported in the run summary) of the 10x run < 1.3 x that of the
# 1x run + 4 MiB.  A bound check, not a timing.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
rows=${MEMORY_ROWS:-100000}
# Under AddressSanitizer freed blocks wait in a quarantine (256 MiB by
# default) and would count as growth: measure without it.  Ignored by a
# normal build.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"

peak_rss() {
  cat > "$work/m.cfg" <<CFG
source = { connector = "generate"; schema = "simple"; rows = $1; };
destination = { connector = "csv"; path = "$work/m.csv"; };
engine = { batch_rows = 4096; batch_bytes = 262144; buffer_bytes = 1048576; buffer_batches = 4; commit_interval = 1; };
CFG
  nebula run "$work/m.cfg" 2> "$work/m.log" || { cat "$work/m.log" >&2; fail "run of $1 rows failed"; }
  grep -q "records_written=$1 " "$work/m.log" || fail "run of $1 rows did not write them all"
  sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' "$work/m.log"
  rm -f "$work/m.csv"
}

small=$(peak_rss "$rows")
large=$(peak_rss $((rows * 10)))
[ -n "$small" ] && [ -n "$large" ] || fail "no peak_rss_kib in the summary"
limit=$((small * 13 / 10 + 4096))
echo "peak RSS: $small KiB for $rows rows, $large KiB for $((rows * 10)) rows (limit $limit KiB)"
[ "$large" -lt "$limit" ] || fail "memory grows with the input"
