#!/usr/bin/env bash
# bench/callgrind.sh - instructions per record of nebula-host csv -> json
# lines (and of the generate source alone), counted by valgrind's callgrind:
# a measure that does not depend on the machine's load, for comparing
# changes to the hot paths.
#
#   bench/callgrind.sh BUILD_DIR [ROWS]      (ROWS defaults to 100000)
#
# Prints the total, the instructions per record and the functions that
# execute the most instructions, per record.  The callgrind files stay in
# ${TMPDIR:-/tmp}/nebula-callgrind for callgrind_annotate or kcachegrind.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: bench/callgrind.sh BUILD_DIR [ROWS]" >&2; exit 2; }
bench_dir=$(cd "$(dirname "$0")" && pwd)
src_dir=$(cd "$bench_dir/.." && pwd)
build_dir=$(cd "$1" && pwd)
rows="${2:-100000}"
work="${TMPDIR:-/tmp}/nebula-callgrind"
mkdir -p "$work"
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

host_bin="$build_dir/host/nebula-host"
plugin_dir="$build_dir/plugins"
generate_so="$build_dir/plugins/generate/.libs/generate.so"
csv="$work/taxi-$rows.csv"

# Run a built program under valgrind (through libtool when the build made a
# wrapper script).
under_valgrind() {
  if [ -x "$build_dir/libtool" ]; then
    "$build_dir/libtool" --mode=execute valgrind "$@"
  else
    valgrind "$@"
  fi
}

# Total instructions of a callgrind output file.
# (awk reads to the end: exiting early would kill callgrind_annotate with
# SIGPIPE, which pipefail turns into a failure.)
total_ir() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'; }

report() { # TITLE FILE
  local title="$1" file="$2" total
  total=$(total_ir "$file")
  echo
  echo "== $title: $rows records"
  awk -v t="$total" -v n="$rows" 'BEGIN { printf "instructions: %d total, %.0f per record\n", t, t / n }'
  echo "top functions (exclusive), instructions per record:"
  callgrind_annotate --auto=no --inclusive=no "$file" 2>/dev/null |
    awk -v n="$rows" '/^ *[0-9,]+ +\(/ && !/PROGRAM TOTALS/ {
        ir = $1; gsub(",", "", ir); fn = $0; sub(/^[^)]*\) +/, "", fn); sub(/ \[.*$/, "", fn)
        if (++k <= 20) printf "  %8.1f  %s\n", ir / n, fn }'
}

gen_driver="$work/gen_driver"
if [ -f "$generate_so" ]; then
  cc -O2 -Wall -I"$src_dir/include" -o "$gen_driver" "$bench_dir/gen_driver.c" -ldl
fi

if [ ! -s "$csv" ]; then
  if [ -x "$host_bin" ] && "$host_bin" --plugin-dir "$plugin_dir" pipeline generate csv \
       --source-setting rows="$rows" --dest-path "$csv" 2>/dev/null; then
    :
  else
    "$gen_driver" "$generate_so" --rows "$rows" --csv >"$csv"
  fi
fi

if [ -x "$gen_driver" ]; then
  under_valgrind --tool=callgrind --callgrind-out-file="$work/generate.out" \
    "$gen_driver" "$generate_so" --rows "$rows" --null >/dev/null 2>"$work/generate.log"
  report "generate source alone (gen_driver, no host)" "$work/generate.out"
fi

if [ -x "$host_bin" ]; then
  rm -f "$work/out.jsonl"
  under_valgrind --tool=callgrind --callgrind-out-file="$work/csv-json.out" \
    "$host_bin" --plugin-dir "$plugin_dir" pipeline csv json \
    --source-path "$csv" --dest-path "$work/out.jsonl" --format lines 2>"$work/csv-json.log" >/dev/null
  report "nebula-host csv -> json lines" "$work/csv-json.out"
  # The host validates every batch a connector hands over (issue 9 asked
  # that this stay under 3% of the pipeline's cost): its inclusive share.
  callgrind_annotate --auto=no --inclusive=yes "$work/csv-json.out" 2>/dev/null |
    awk '/batch_check.c:nbh_batch_check / && !done { match($0, /[0-9.]+%/);
           print "batch validation (nbh_batch_check, inclusive): " substr($0, RSTART, RLENGTH) " of all instructions"; done = 1 }'
  rm -f "$work/out.jsonl"
else
  echo "callgrind.sh: no nebula-host at \"$host_bin\": only the source was measured" >&2
fi
