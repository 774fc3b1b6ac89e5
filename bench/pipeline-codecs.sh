#!/usr/bin/env bash
# bench/pipeline-codecs.sh - a benchmark, not a test: the csv -> json lines
# pipeline with each codec on the output and on the input, against the plain
# pipeline and each codec's own CLI on the same bytes, in one run.
#
#   bench/pipeline-codecs.sh BUILD_DIR [ROWS]        (ROWS default 1000000)
# Environment: RUNS (default 3, the median is reported), BENCH_DIR (default
# a temporary directory).
#
# The ratio column is the wall time over the plain pipeline's: the target
# of the compression issue is <= 1.5 for zstd level 1, lz4 and snappy output.
set -euo pipefail

build=$(cd "${1:?usage: bench/pipeline-codecs.sh BUILD_DIR [ROWS]}" && pwd)
rows=${2:-1000000}
runs=${RUNS:-3}
host="$build/host/nebula-host"
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nebula-codecs.XXXXXX")}
mkdir -p "$dir"
nb() { "$host" --quiet --plugin-dir "$build/plugins" "$@"; }

csv="$dir/taxi-$rows.csv"
[ -s "$csv" ] || nb pipeline generate csv -s rows="$rows" --dest-path "$csv"
cat "$csv" > /dev/null   # warm the page cache

# median_time COMMAND...: the median wall time of RUNS runs, in seconds.
median_time() {
  local t times=()
  for _ in $(seq 1 "$runs"); do
    t=$( { TIMEFORMAT=%R; time "$@" >/dev/null 2>"$dir/err"; } 2>&1 ) ||
      { cat "$dir/err" >&2; echo "failed: $*" >&2; exit 1; }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { printf "%-8s %-44s %8s %8s\n" "$@"; }

printf "input: %s (%d rows, %d MB); median of %d runs\n\n" "$csv" "$rows" \
  $(( $(stat -c %s "$csv") / 1000000 )) "$runs"
row codec command wall_s ratio

plain=$(median_time nb pipeline csv json --source-path "$csv" --dest-path "$dir/out.jsonl" --format lines)
row none "csv -> json lines" "$plain" 1.00

# Output side: each codec, level 1 where the codec has levels.
for spec in zstd:1:zst lz4:1:lz4 snappy:0:sz gzip:1:gz; do
  IFS=: read -r codec level ext <<<"$spec"
  settings=(-s compression="$codec")
  [ "$level" = 0 ] || settings+=(-s compression_level="$level")
  t=$(median_time nb pipeline csv json --source-path "$csv" --dest-path "$dir/out.jsonl.$ext" \
        --format lines "${settings[@]}")
  row "$codec" "csv -> json lines.$ext (level $level)" "$t" "$(ratio "$t" "$plain")"
  case $codec in
    zstd | lz4 | gzip)
      t=$(median_time sh -c "$codec -q -1 -c < '$dir/out.jsonl' > '$dir/cli.$ext'")
      row "$codec" "  $codec -1 CLI alone on the plain output" "$t" "$(ratio "$t" "$plain")" ;;
  esac
done

# Input side: the CSV compressed by each CLI (snappy: by Nebula itself).
for spec in zstd:zst lz4:lz4 gzip:gz snappy:sz; do
  IFS=: read -r codec ext <<<"$spec"
  in="$dir/in.csv.$ext"
  if [ "$codec" = snappy ]; then
    nb pipeline csv csv --source-path "$csv" --dest-path "$in" -s compression=snappy
  else
    "$codec" -q -c < "$csv" > "$in"
  fi
  t=$(median_time nb pipeline csv json --source-path "$in" --dest-path "$dir/out.jsonl" --format lines)
  row "$codec" "csv.$ext -> json lines" "$t" "$(ratio "$t" "$plain")"
  if [ "$codec" != snappy ]; then
    t=$(median_time sh -c "$codec -q -d -c < '$in' > /dev/null")
    row "$codec" "  $codec -d CLI alone on the same input" "$t" "$(ratio "$t" "$plain")"
  fi
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"
