#!/usr/bin/env bash
# bench/avro.sh - csv -> avro: nebula-host against the npm package avsc
# doing the same conversion (bench/avro_avsc_peer.js: every column a
# string), on the synthetic taxi CSV.  Prints wall seconds, peak RSS and
# the ratio, and checks that both files hold the same rows (python3-avro
# counts them; a sample of values compared).
#
#   bench/avro.sh BUILD_DIR [ROWS] [CODEC]     (ROWS default 1000000,
#                                               CODEC null or deflate)
# Data: $NEBULA_BENCH_DATA (default ${TMPDIR:-/tmp}/nebula-bench)/taxi-ROWS.csv,
# written by nebula-host's generate connector when missing.  avsc is taken
# from $NEBULA_NODE_MODULES (default ~/.cache/nebula/node_modules).
# Needs GNU time (Debian package time) and node.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: bench/avro.sh BUILD_DIR [ROWS] [CODEC]}" && pwd)
rows=${2:-1000000}
codec=${3:-null}
data=${NEBULA_BENCH_DATA:-${TMPDIR:-/tmp}/nebula-bench}
node_modules=${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}
host="$build/host/nebula-host"
csv="$data/taxi-$rows.csv"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-avro-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$data"
if [ ! -s "$csv" ]; then
  "$host" --plugin-dir "$build/plugins" -q pipeline generate csv --source-setting rows="$rows" --dest-path "$csv.tmp"
  mv "$csv.tmp" "$csv"
fi
timed() { # OUT CMD... -> wall seconds and peak RSS KiB in $wall $rss
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" > /dev/null
  read -r wall rss < "$work/time"
}
timed "$host" --plugin-dir "$build/plugins" -q pipeline csv avro --source-path "$csv" \
  --dest-path "$work/nebula.avro" --dest-setting codec="$codec"
n_wall=$wall n_rss=$rss
NODE_PATH="$node_modules" timed node "$bench_dir/avro_avsc_peer.js" "$csv" "$work/avsc.avro" "$codec"
a_wall=$wall a_rss=$rss
/usr/bin/python3 - "$work/nebula.avro" "$work/avsc.avro" "$rows" <<'PY'
import sys, itertools, avro.datafile, avro.io
def rows(p):
    return avro.datafile.DataFileReader(open(p, "rb"), avro.io.DatumReader())
a, b = rows(sys.argv[1]), rows(sys.argv[2])
n = 0
for x, y in itertools.zip_longest(a, b):
    if x is None or y is None or list(x.values()) != list(y.values()):
        sys.exit("row %d differs: %r / %r" % (n, x, y))
    n += 1
if n != int(sys.argv[3]):
    sys.exit("%d rows, expected %s" % (n, sys.argv[3]))
PY
ls -l "$work"/*.avro | awk '{ print "# " $5 " bytes " $NF }'
echo "| csv -> avro ($codec), $rows rows | wall s | peak RSS MiB |"
echo "|---|---|---|"
printf '| nebula-host | %s | %.1f |\n' "$n_wall" "$(echo "$n_rss / 1024" | bc -l)"
printf '| avsc %s (node %s) | %s | %.1f |\n' "$(node -p "require('$node_modules/avsc/package.json').version")" "$(node --version)" "$a_wall" "$(echo "$a_rss / 1024" | bc -l)"
printf '| ratio avsc / nebula | %.1fx | |\n' "$(echo "$a_wall / $n_wall" | bc -l)"
