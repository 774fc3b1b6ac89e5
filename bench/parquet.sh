#!/usr/bin/env bash
# bench/parquet.sh - a benchmark, not a test: the taxi CSV (nebula-host's
# generate connector) -> Parquet with Nebula (snappy, zstd) and with
# DuckDB's COPY ... TO (FORMAT parquet) (2 threads), file sizes, then
# Parquet -> JSON Lines with both, and Nebula's peak RSS.
#
#   bench/parquet.sh [BUILD_DIR]        (default ./, after make)
# Environment: ROWS (default 1000000), BENCH_DIR (default a temporary
# directory), NEBULA_NODE_MODULES (default ~/.cache/nebula/node_modules,
# where @duckdb/node-api is installed).
set -euo pipefail
build=${1:-.}
host="$build/host/nebula-host"
[ -x "$host" ] || { echo "no $host: build first" >&2; exit 1; }
rows=${ROWS:-1000000}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nebula-parquet-bench.XXXXXX")}
mkdir -p "$dir"
here=$(cd "$(dirname "$0")" && pwd)
export NODE_PATH="${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}"
duck() { node "$here/../tests/plugins/parquet/parquet_duckdb.js" "$@"; }
nb() { NEBULA_NO_DEFAULT_PLUGIN_DIR=1 "$host" --quiet --plugin-dir "$build/plugins" "$@"; }
export NEBULA_NO_DEFAULT_PLUGIN_DIR=1

csv="$dir/taxi-$rows.csv"
[ -s "$csv" ] || nb pipeline generate csv -s rows="$rows" --dest-path "$csv"
cat "$csv" > /dev/null

# measure LABEL COMMAND...: wall seconds and peak RSS (MiB) of COMMAND.
measure() {
  label=$1
  shift
  /usr/bin/time -f '%e %M' -o "$dir/time" "$@"
  read -r wall rss < "$dir/time"
  printf '%-44s %8.2f s %8d MiB\n' "$label" "$wall" $((rss / 1024))
}

echo "rows: $rows, csv: $(($(stat -c %s "$csv") / 1048576)) MiB ($csv)"
for codec in snappy zstd; do
  measure "nebula csv -> parquet ($codec)" "$host" --quiet --plugin-dir "$build/plugins" pipeline csv parquet --source-path "$csv" \
    --dest-path "$dir/nebula-$codec.parquet" --dest-setting compression=$codec
  measure "duckdb csv -> parquet ($codec, 2 threads)" node "$here/../tests/plugins/parquet/parquet_duckdb.js" \
    "copy (select * from read_csv('$csv', all_varchar=true, header=true)) to '$dir/duckdb-$codec.parquet' (format parquet, compression $codec)"
  n=$(stat -c %s "$dir/nebula-$codec.parquet")
  d=$(stat -c %s "$dir/duckdb-$codec.parquet")
  printf '%-44s nebula %d B, duckdb %d B, ratio %s\n' "size ($codec)" "$n" "$d" \
    "$(awk -v n="$n" -v d="$d" 'BEGIN { printf "%.3f", n / d }')"
done
measure "nebula parquet -> json lines" "$host" --quiet --plugin-dir "$build/plugins" pipeline parquet json --source-path "$dir/nebula-zstd.parquet" \
  --dest-path "$dir/nebula.jsonl" --format lines
measure "duckdb parquet -> json lines (2 threads)" node "$here/../tests/plugins/parquet/parquet_duckdb.js" \
  "copy (select * from '$dir/duckdb-zstd.parquet') to '$dir/duckdb.jsonl' (format json)"
