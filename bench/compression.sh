#!/usr/bin/env bash
# bench/compression.sh - a benchmark, not a test: time compressing and
# decompressing a large generated CSV through Nebula's file layer (the
# io_tool test program over host/io.c) against each codec's own CLI on the
# same bytes, and report throughput (MB/s of uncompressed data) and ratios.
#
#   bench/compression.sh [BUILD_DIR]      (default: ./ , after `make -C tests io_tool`)
# Environment: SIZE_MB (default 512) size of the CSV; BENCH_DIR (default a
# temporary directory) where files go; CODECS (default "gzip zstd lz4 snappy").
# The writer-thread modes of the layer are timed separately (-T never /
# always) because that measurement decides the default.
set -euo pipefail

build=${1:-.}
io_tool="$build/tests/io_tool"
[ -x "$io_tool" ] || { echo "no $io_tool: run make -C $build/tests io_tool" >&2; exit 1; }
size_mb=${SIZE_MB:-512}
codecs=${CODECS:-"gzip zstd lz4 snappy"}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nebula-compression.XXXXXX")}
mkdir -p "$dir"
csv="$dir/input.csv"

# A CSV of size_mb MiB: 16 MiB of generated rows, repeated (further apart
# than any of the codecs' default windows, so repetition does not help).
if [ ! -s "$csv" ] || [ "$(stat -c %s "$csv")" -ne $((size_mb * 1048576)) ]; then
  awk 'BEGIN { srand(7); while (n < 16777216) {
    line = sprintf("%d,user%d,%05d,\"city %d, zone %d\",%.2f,2024-%02d-%02dT%02d:%02d:00Z\n",
                   i++, int(rand()*100000), int(rand()*100000), int(rand()*500), int(rand()*9),
                   rand()*10000, 1+int(rand()*12), 1+int(rand()*28), int(rand()*24), int(rand()*60));
    printf "%s", line; n += length(line) } }' > "$dir/chunk.csv"
  : > "$csv"
  for _ in $(seq 1 $(( (size_mb + 15) / 16 ))); do cat "$dir/chunk.csv" >> "$csv"; done
  truncate -s $((size_mb * 1048576)) "$csv"
  rm -f "$dir/chunk.csv"
fi
bytes=$(stat -c %s "$csv")
cat "$csv" > /dev/null   # warm the page cache

# measure COMMAND...: sets wall and cpu (user + sys seconds) of COMMAND.
measure() {
  local user sys
  TIMEFORMAT='%R %U %S'
  { time "$@" 2>"$dir/cmd.err"; } 2>"$dir/time.out" ||
    { cat "$dir/cmd.err" >&2; echo "failed: $*" >&2; exit 1; }
  read -r wall user sys < "$dir/time.out"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", (s > 0) ? b / 1048576 / s : 0 }'; }
ratio() { awk -v b="$bytes" -v c="$1" 'BEGIN { printf "%.3f", c / b }'; }
row() { printf "%-7s %-34s %7s %7s %7s %7s\n" "$@"; }
# timed CODEC LABEL RATIO_FILE COMMAND...: one row.
timed() {
  local codec=$1 label=$2 size_file=$3 r="-"
  shift 3
  measure "$@"
  [ -z "$size_file" ] || r=$(ratio "$(stat -c %s "$size_file")")
  row "$codec" "$label" "$wall" "$(mbps "$wall")" "$cpu" "$r"
}

printf "input: %s (%d MiB); MB/s = uncompressed MiB per wall second\n\n" "$csv" $((bytes / 1048576))
row codec tool wall_s MB/s cpu_s ratio

for codec in $codecs; do
  out="$dir/nebula.$codec"
  for mode in never always; do
    timed "$codec" "nebula write (thread $mode)" "$out" "$io_tool" write -n -c "$codec" -T $mode "$out" < "$csv"
  done
  # With work of the caller's own (-P 1: a hash pass over every byte, about
  # what formatting costs), where the writer thread pays off.
  for mode in never always; do
    timed "$codec" "nebula write -P 1 (thread $mode)" "$out" "$io_tool" write -n -P 1 -c "$codec" -T $mode "$out" < "$csv"
  done
  timed "$codec" "nebula read" "" sh -c "'$io_tool' read '$out' > /dev/null"
  case $codec in
    gzip | zstd | lz4)
      cli="$dir/cli.$codec"
      timed "$codec" "$codec CLI compress" "$cli" sh -c "$codec -q -c < '$csv' > '$cli'"
      timed "$codec" "$codec CLI decompress" "" sh -c "$codec -q -d -c < '$cli' > /dev/null"
      timed "$codec" "nebula read of the CLI's file" "" sh -c "'$io_tool' read '$cli' > /dev/null"
      rm -f "$cli"
      ;;
  esac
  rm -f "$out"
done
copy="$dir/copy.csv"
for mode in never always; do
  timed none "nebula write (thread $mode)" "$copy" "$io_tool" write -n -c none -T $mode "$copy" < "$csv"
  timed none "nebula write -P 1 (thread $mode)" "$copy" "$io_tool" write -n -P 1 -c none -T $mode "$copy" < "$csv"
done
timed none "nebula read" "" sh -c "'$io_tool' read '$copy' > /dev/null"
timed none "cat" "" sh -c "cat '$csv' > '$copy'"
rm -f "$copy" "$dir/cmd.err" "$dir/time.out"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"
