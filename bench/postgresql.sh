#!/bin/sh
# bench/postgresql.sh - the postgresql connector against psql on a private
# server (tests/plugins/postgresql/pg_server.sh), one run:
#   PG -> JSON lines (nebula-host) vs psql \copy (SELECT ...) TO file;
#   CSV -> PG (nebula-host, append) vs psql \copy ... FROM file;
# wall time, ratio, and nebula-host's peak RSS (GNU time).
# Usage: bench/postgresql.sh [BUILD_DIR] [ROWS]   (default: . and 1000000)
set -eu
build=$(cd "${1:-.}" && pwd)
rows=${2:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
srcdir="$here/../tests"
tmp=$(mktemp -d /tmp/nebula-pgbench.XXXXXX)
chmod 777 "$tmp"
. "$srcdir/plugins/postgresql/pg_server.sh"
pg_start
trap 'pg_cleanup; rm -rf "$tmp"' EXIT
nh="$build/host/nebula-host --plugin-dir $build/plugins -q"
conn="-s host=$PGSOCK -s port=$PGPORT -s user=$PG_SUPERUSER -s dbname=postgres"

pgsql -c "CREATE TABLE bench (id bigint PRIMARY KEY, qty integer NOT NULL, price numeric(12,2),
  ratio double precision, name text, created timestamptz, day date, flag boolean,
  code uuid, note varchar(40))" \
  -c "INSERT INTO bench SELECT i, i % 1000, (i % 100000) / 100.0, i / 7.0, 'name ' || i,
  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', date '2000-01-01' + i % 9000,
  i % 2 = 0, md5(i::text)::uuid, CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || (i % 977) END
  FROM generate_series(1, $rows) i" -c "VACUUM ANALYZE bench"

seconds() { # command... -> wall seconds on stdout, peak RSS KiB in $tmp/rss
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" > /dev/null
  cut -d' ' -f2 "$tmp/time" > "$tmp/rss"
  cut -d' ' -f1 "$tmp/time"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "# $rows rows x 10 columns (bigint, int, numeric, float8, text, timestamptz, date, bool, uuid, varchar)"
psql_out=$(seconds psql -X -q -h "$PGSOCK" -p "$PGPORT" -U "$PG_SUPERUSER" -d postgres \
  -c "\\copy (SELECT * FROM bench) TO '$tmp/psql.txt'")
psql_sorted=$(seconds psql -X -q -h "$PGSOCK" -p "$PGPORT" -U "$PG_SUPERUSER" -d postgres \
  -c "\\copy (SELECT * FROM bench ORDER BY id) TO '$tmp/psql.txt'")
# shellcheck disable=SC2086
nb_out=$(seconds $nh pipeline postgresql json $conn -s tables=public.bench --dest-path "$tmp/out.jsonl")
nb_rss=$(cat "$tmp/rss")
[ "$(wc -l < "$tmp/out.jsonl")" -eq "$rows" ] || { echo "PG -> JSON lines: wrong row count"; exit 1; }
printf '%s\n' "PG -> file:  psql copy-to ${psql_out}s (ORDER BY id: ${psql_sorted}s), nebula-host -> JSON lines ${nb_out}s: ratio $(ratio "$nb_out" "$psql_out") ($(ratio "$nb_out" "$psql_sorted") against the same order), peak RSS ${nb_rss} KiB"
# The same with the text COPY format (copy_format = text), for comparison.
# shellcheck disable=SC2086
nb_text=$(seconds $nh pipeline postgresql json $conn -s tables=public.bench -s copy_format=text --dest-path "$tmp/out_text.jsonl")
nb_text_rss=$(cat "$tmp/rss")
cmp -s "$tmp/out.jsonl" "$tmp/out_text.jsonl" || { echo "PG -> JSON lines: binary and text COPY differ"; exit 1; }
printf '%s\n' "             copy_format = text: ${nb_text}s: ratio $(ratio "$nb_text" "$psql_out") ($(ratio "$nb_text" "$psql_sorted") against the same order), peak RSS ${nb_text_rss} KiB; same output as binary"

pgsql -c "\\copy bench TO '$tmp/in.csv' CSV HEADER"
pgsql -c "CREATE TABLE load_psql (LIKE bench INCLUDING ALL)" -c "CREATE TABLE bench_in (LIKE bench INCLUDING ALL)"
psql_in=$(seconds psql -X -q -h "$PGSOCK" -p "$PGPORT" -U "$PG_SUPERUSER" -d postgres \
  -c "\\copy load_psql FROM '$tmp/in.csv' CSV HEADER")
# shellcheck disable=SC2086
nb_in=$(seconds $nh pipeline csv postgresql $conn -s table=bench_in --source-path "$tmp/in.csv")
nb_in_rss=$(cat "$tmp/rss")
[ "$(pgsql -Atc 'SELECT count(*) FROM bench_in')" -eq "$rows" ] || { echo "CSV -> PG: wrong row count"; exit 1; }
printf '%s\n' "CSV -> PG:   psql copy-from ${psql_in}s, nebula-host ${nb_in}s: ratio $(ratio "$nb_in" "$psql_in"), peak RSS ${nb_in_rss} KiB"
