#!/usr/bin/env bash
# bench/arrow.sh - a benchmark, not a test: the arrow connector against
# apache-arrow (npm, pure JavaScript) doing the same conversions on the
# NYC-taxi-like CSV of the generate connector:
#   csv -> Arrow IPC stream        (Nebula: csv source, arrow destination)
#   Arrow IPC -> JSON Lines        (Nebula: arrow source, json destination)
# Reports wall time, rows/s, the ratio peer/Nebula and peak RSS of each.
#
#   bench/arrow.sh [BUILD_DIR]   (default ./, after make)
# Environment: ROWS (default 1000000), BENCH_DIR (default a temporary
# directory), ARROW_NODE_MODULES (default ~/.cache/nebula/node_modules).
set -euo pipefail
build=$(cd "${1:-.}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
rows=${ROWS:-1000000}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nebula-arrow-bench.XXXXXX")}
mkdir -p "$dir"
export ARROW_NODE_MODULES=${ARROW_NODE_MODULES:-$HOME/.cache/nebula/node_modules}
nb=(env NEBULA_NO_DEFAULT_PLUGIN_DIR=1 "$build/host/nebula-host" --quiet --plugin-dir "$build/plugins")

csv="$dir/taxi-$rows.csv"
[ -s "$csv" ] || "${nb[@]}" pipeline generate csv -s rows="$rows" -s seed=1 --dest-path "$csv"
cat "$csv" > /dev/null

# measure NAME COMMAND...: wall seconds and peak RSS (MiB) of COMMAND.
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$@"
  read -r wall user sys rss_kb < "$dir/time"
  cpu=$(echo "$user + $sys" | bc -l)
  printf '%-30s wall %7.2f s  cpu %7.2f s %10.0f rows/s(wall) %8.1f MiB RSS\n' "$name" "$wall" "$cpu" \
    "$(echo "$rows / $wall" | bc -l)" "$(echo "$rss_kb / 1024" | bc -l)"
  last=$wall
  last_cpu=$cpu
}

echo "rows: $rows   csv: $(du -m "$csv" | cut -f1) MiB   ($(nproc) CPUs)"
measure "nebula csv -> arrows" "${nb[@]}" pipeline csv arrow -s null_string= --source-path "$csv" --dest-path "$dir/n.arrows"
n1=$last; n1c=$last_cpu
measure "apache-arrow csv -> arrows" node "$here/arrow_peer.mjs" csv2arrow "$csv" "$dir/j.arrows"
j1=$last; j1c=$last_cpu
measure "nebula arrows -> jsonl" "${nb[@]}" pipeline arrow json --source-path "$dir/n.arrows" --dest-path "$dir/n.jsonl"
n2=$last; n2c=$last_cpu
measure "apache-arrow arrows -> jsonl" node "$here/arrow_peer.mjs" arrow2json "$dir/n.arrows" "$dir/j.jsonl"
j2=$last; j2c=$last_cpu
measure "nebula csv -> arrow (zstd)" "${nb[@]}" pipeline csv arrow -s null_string= --source-path "$csv" --dest-path "$dir/z.arrow" -s compression=zstd
printf 'ratio csv -> arrows (apache-arrow / nebula): wall %.1fx, cpu %.1fx\n' \
  "$(echo "$j1 / $n1" | bc -l)" "$(echo "$j1c / $n1c" | bc -l)"
printf 'ratio arrows -> jsonl (apache-arrow / nebula): wall %.1fx, cpu %.1fx\n' \
  "$(echo "$j2 / $n2" | bc -l)" "$(echo "$j2c / $n2c" | bc -l)"
[ "$(wc -l < "$dir/n.jsonl")" -eq "$rows" ] || { echo "nebula wrote the wrong number of rows" >&2; exit 1; }
[ "$(wc -l < "$dir/j.jsonl")" -eq "$rows" ] || { echo "apache-arrow wrote the wrong number of rows" >&2; exit 1; }
