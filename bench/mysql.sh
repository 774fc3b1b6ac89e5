#!/bin/sh
# bench/mysql.sh - a benchmark, not a test: the mysql connector against the
# mariadb client on a generated table, on a private MariaDB server started
# here (tests/plugins/mysql/mysql_server.sh).
#
#   bench/mysql.sh BUILD_DIR [ROWS]          (ROWS default 1000000)
#
# 1. MariaDB -> JSON Lines (nebula, mysql source) against
#    `mariadb --batch -e "SELECT * FROM t" > file`: wall time, ratio, and
#    peak RSS of nebula-host (/usr/bin/time).
# 2. CSV -> MariaDB (nebula, mysql destination) against
#    `LOAD DATA LOCAL INFILE` run by the mariadb client, into an empty table
#    each.
set -eu
build=$(cd "${1:?usage: bench/mysql.sh BUILD_DIR [ROWS]}" && pwd)
rows=${2:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nebula-mysql-bench.XXXXXX")
. "$here/../tests/mysql_server.sh"
trap 'mysql_server_stop || :; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
mysql_server_start "$tmp/server"
nb() { "$build/host/nebula-host" --quiet --plugin-dir "$build/plugins" "$@"; }
seconds() { # seconds COMMAND...: wall time of one run
  s=$(date +%s.%N)
  "$@"
  e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" "BEGIN { printf \"%.3f\", e - s }"
}

my_sql "SET SESSION sql_log_bin = 0;
  CREATE TABLE t (id BIGINT PRIMARY KEY, qty INT, price DECIMAL(12,2), ratio DOUBLE,
                  name VARCHAR(40), created DATETIME(6), note TEXT);
  INSERT INTO t SELECT seq, seq % 1000, seq / 100, seq / 7,
         CONCAT('name-', seq), '2024-01-01' + INTERVAL seq SECOND, IF(seq % 10 = 0, NULL, 'some text é')
  FROM seq_1_to_$rows"
conn="connector = \"mysql\"; socket = \"$MY_SOCK\"; user = \"nebula\"; password = \"$MY_PASSWORD\"; database = \"nebula_test\";"
cat > "$tmp/read.cfg" <<CFG
source = { $conn tables = "t"; };
destination = { connector = "json"; path = "$tmp/t.jsonl"; };
CFG
client() {
  mariadb --no-defaults -unebula -p"$MY_PASSWORD" --socket="$MY_SOCK" --batch --quick \
    nebula_test -e "SELECT * FROM t" > "$tmp/t.tsv"
}
client # warm the buffer pool
t_client=$(seconds client)
t_nebula=$(seconds nb run "$tmp/read.cfg")
rm -f "$tmp/t.jsonl"
rss=$( { /usr/bin/time -f %M "$build/host/nebula-host" --quiet --plugin-dir "$build/plugins" \
         run "$tmp/read.cfg"; } 2>&1 | tail -1)
echo "read $rows rows: mariadb --batch ${t_client}s, nebula mysql->jsonl ${t_nebula}s," \
     "ratio $(awk -v a="$t_nebula" -v b="$t_client" "BEGIN { printf \"%.2f\", a / b }"), nebula peak RSS ${rss} KiB"

# CSV -> MariaDB
nb pipeline mysql csv -s socket="$MY_SOCK" -s user=nebula -s password="$MY_PASSWORD" \
  -s database=nebula_test -s tables=t --dest-path "$tmp/t.csv" 2>/dev/null ||
  { printf 'source = { %s tables = "t"; };\ndestination = { connector = "csv"; path = "%s"; };\n' \
      "$conn" "$tmp/t.csv" > "$tmp/tocsv.cfg"; nb run "$tmp/tocsv.cfg"; }
my_sql "CREATE TABLE load_client LIKE t; CREATE TABLE t_csv (id LONGTEXT, qty LONGTEXT, price LONGTEXT, ratio LONGTEXT, name LONGTEXT, created LONGTEXT, note LONGTEXT)"
load_client() {
  mariadb --no-defaults -unebula -p"$MY_PASSWORD" --socket="$MY_SOCK" --local-infile=1 nebula_test -e \
    "LOAD DATA LOCAL INFILE '$tmp/t.csv' INTO TABLE t_csv FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES"
}
t_load_client=$(seconds load_client)
my_sql "TRUNCATE t_csv"
cat > "$tmp/load.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/t.csv"; };
destination = { $conn table = "t_csv"; };
CFG
t_load_nebula=$(seconds nb run "$tmp/load.cfg")
echo "load $rows rows: mariadb LOAD DATA LOCAL INFILE ${t_load_client}s, nebula csv->mysql ${t_load_nebula}s," \
     "ratio $(awk -v a="$t_load_nebula" -v b="$t_load_client" "BEGIN { printf \"%.2f\", a / b }")"
echo "rows loaded: $(my_batch 'SELECT COUNT(*) FROM t_csv')"
