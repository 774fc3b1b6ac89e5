#!/bin/sh
# bench/mysql_apply.sh - a benchmark, not a test: the mysql destination's
# apply_deletes against plain mode upsert, on a private MariaDB server
# started here (tests/mysql_server.sh).
#
#   bench/mysql_apply.sh BUILD_DIR [ROWS]          (ROWS default 200000)
#
# Two rounds, alternating: ROWS op-c records (insert-only) with plain
# upsert (the op column written as a column) and with apply_deletes; then
# ROWS c records with a d of every other key (c, c, d: 1.5 x ROWS records,
# about ROWS statements) with apply_deletes.
set -eu
build=$(cd "${1:?usage: bench/mysql_apply.sh BUILD_DIR [ROWS]}" && pwd)
rows=${2:-200000}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nebula-mysql-apply.XXXXXX")
. "$here/../tests/mysql_server.sh"
trap 'mysql_server_stop || :; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
mysql_server_start "$tmp/server"
nb() { "$build/host/nebula-host" --quiet --plugin-dir "$build/plugins" "$@"; }
conn="connector = \"mysql\"; socket = \"$MY_SOCK\"; user = \"nebula\"; password = \"$MY_PASSWORD\"; database = \"nebula_test\";"
python3 - "$rows" "$tmp" <<'PY'
import sys
n, tmp = int(sys.argv[1]), sys.argv[2]
with open(tmp + "/ins.csv", "w") as f:
    f.write("op,id,name,amount,note\n")
    for i in range(1, n + 1):
        f.write("c,%d,name %d,%d.25,some text for row %d\n" % (i, i, i % 1000, i))
with open(tmp + "/mixed.csv", "w") as f:
    f.write("op,id,name,amount,note\n")
    for i in range(1, n + 1):
        f.write("c,%d,name %d,%d.25,x\n" % (i, i, i % 1000))
        if i % 2 == 0:
            f.write("d,%d,,,\n" % (i - 1))
PY
for round in 1 2; do
  for how in upsert apply mixed; do
    file=ins
    extra=""
    [ "$how" = upsert ] || extra="apply_deletes = true;"
    [ "$how" = mixed ] && file=mixed
    my_sql "DROP TABLE IF EXISTS b_$how"
    cat > "$tmp/b.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/$file.csv"; };
destination = { $conn table = "b_$how"; mode = "upsert"; key = "id"; $extra pipeline_id = "b-$how-$round"; };
CFG
    s=$(date +%s.%N)
    nb run "$tmp/b.cfg"
    e=$(date +%s.%N)
    echo "round $round: $how ($file.csv -> $(my_batch "SELECT COUNT(*) FROM b_$how") rows): $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }') s"
  done
done
