#!/bin/sh
# pg_restart.sh - the server restarted in the middle of a run:
#  - source: the lost connection is transient (NB_UNAVAILABLE); the host
#    retries, the connector connects again and continues after the rows it
#    already has; the output equals psql's copy of the table, nothing lost
#    or doubled;
#  - destination: the open transaction is gone with the server, so the run
#    fails (not retried: that would lose the transaction's earlier rows);
#    the next run resumes from the last commit, every row exactly once.
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
rows=300000
pgsql -c "CREATE TABLE big (id int PRIMARY KEY, v text)" \
  -c "INSERT INTO big SELECT i, repeat('x', i % 50) || i FROM generate_series(1, $rows) i"

# Source.
cat > "$tmp/src.cfg" <<CFG
source = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER";
  dbname = "postgres"; tables = "public.big"; };
destination = { connector = "csv"; path = "$tmp/big.csv"; };
engine = { batch_rows = 500; commit_rows = 5000; state_file = "$tmp/src.state"; max_retries = 100; };
CFG
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/src.cfg" > "$out" 2> "$err" &
pid=$!
i=0
until [ -s "$tmp/src.state" ] || [ $i -ge 600 ]; do sleep 0.02; i=$((i + 1)); done
pg_restart
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || { report_failure "source: the run across a server restart exits $rc"; }
if grep -q "connected again" "$err"; then
  echo "ok: source: connected again after the restart"
else
  echo "# the run ended before the restart took effect (no reconnection needed)"
fi
pgsql -c "\\copy (SELECT id, v FROM big ORDER BY id) TO '$tmp/expect.csv' CSV HEADER"
if cmp -s "$tmp/expect.csv" "$tmp/big.csv"; then
  echo "ok: source: every row once, in order"
else
  report_failure "source: output differs from the table ($(wc -l < "$tmp/big.csv") lines)"
fi

# Destination.
cat > "$tmp/dst.cfg" <<CFG
source = { connector = "csv"; path = "$tmp/expect.csv"; };
destination = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER";
  dbname = "postgres"; table = "copy_of_big"; pipeline_id = "restart"; };
engine = { batch_rows = 500; commit_rows = 5000; state_file = "$tmp/dst.state"; };
CFG
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/dst.cfg" > "$out" 2> "$err" &
pid=$!
i=0
until [ -s "$tmp/dst.state" ] || [ $i -ge 600 ]; do sleep 0.02; i=$((i + 1)); done
pg_restart
wait "$pid"
echo "# destination run across the restart exited $?"
expect 0 "destination: the next run completes" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/dst.cfg"
got=$(pgsql -Atc "SELECT count(*), count(DISTINCT id) FROM copy_of_big")
[ "$got" = "$rows|$rows" ] || report_failure "destination: count, distinct = $got, expected $rows|$rows"
finish
