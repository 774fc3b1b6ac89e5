#!/bin/sh
# bench/postgresql_cdc.sh - mode cdc of the postgresql source, one run on a
# private server (tests/plugins/postgresql/pg_server.sh): a table of ROWS rows and 10 columns,
# one bulk UPDATE of every row committed, then a nebula-host run with
# stop_at_catchup into JSON lines.  Its wall time is the lag after the
# update committed; ROWS / wall time the change records per second.
# Usage: bench/postgresql_cdc.sh [BUILD_DIR] [ROWS]   (default: . and 1000000)
# DECODING_MEM=1GB sets the server's logical_decoding_work_mem (default
# 64MB: a larger transaction is spilled to disk while it is decoded).
set -eu
build=$(cd "${1:-.}" && pwd)
rows=${2:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
srcdir="$here/../tests"
tmp=$(mktemp -d /tmp/nebula-pgcdcbench.XXXXXX)
chmod 777 "$tmp"
. "$srcdir/plugins/postgresql/pg_server.sh"
pg_start
trap 'pg_cleanup; rm -rf "$tmp"' EXIT

pgsql -c "CREATE TABLE bench (id bigint PRIMARY KEY, qty integer NOT NULL, price numeric(12,2),
  ratio double precision, name text, created timestamptz, day date, flag boolean,
  code uuid, note varchar(40))" \
  -c "INSERT INTO bench SELECT i, i % 1000, (i % 100000) / 100.0, i / 7.0, 'name ' || i,
  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', date '2000-01-01' + i % 9000,
  i % 2 = 0, md5(i::text)::uuid, CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || (i % 977) END
  FROM generate_series(1, $rows) i" -c "VACUUM ANALYZE bench" \
  -c "CREATE PUBLICATION bench_pub FOR TABLE bench" \
  -c "SELECT pg_create_logical_replication_slot('bench_slot', 'pgoutput')" > /dev/null
if [ -n "${DECODING_MEM:-}" ]; then
  pgsql -c "ALTER SYSTEM SET logical_decoding_work_mem = '$DECODING_MEM'" -c "SELECT pg_reload_conf()" > /dev/null
fi
start=$(date +%s.%N)
pgsql -c "UPDATE bench SET qty = qty + 1"
updated=$(date +%s.%N)
cat > "$tmp/cdc.cfg" <<CFG
source = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER";
  dbname = "postgres"; tables = "public.bench"; mode = "cdc"; slot = "bench_slot";
  publication = "bench_pub"; stop_at_catchup = true; };
destination = { connector = "json"; path = "$tmp/out.jsonl"; };
engine = { state_file = "$tmp/state"; };
CFG
/usr/bin/time -f "%e %M %U %S" -o "$tmp/time" "$build/host/nebula-host" --plugin-dir "$build/plugins" -q run "$tmp/cdc.cfg"
got=$(wc -l < "$tmp/out.jsonl")
read -r wall rss cpu_user cpu_sys < "$tmp/time"
echo "bulk UPDATE of $rows rows: $(echo "$updated - $start" | bc) s"
echo "cdc run to catch-up (lag after the commit): $wall s, $got change records, $(echo "$got / $wall" | bc) records/s, peak RSS $((rss / 1024)) MiB, nebula-host CPU ${cpu_user} s user ${cpu_sys} s sys"
