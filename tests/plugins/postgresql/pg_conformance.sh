#!/bin/sh
# pg_conformance.sh - the conformance kit (nebula-connector-test) on the
# postgresql connector, source (every mapped type, 2 rows per batch, resume
# from a saved position) and destination (write, commit, resume, write),
# against a private server.
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${NEBULA_CONNECTOR_TEST:?set by make check}" "${PLUGIN_DIR:?}"
pg_start
pgsql -f "$srcdir/data/postgresql/alltypes.sql" > /dev/null || report_failure "loading alltypes.sql"
module="$PLUGIN_DIR/postgresql/.libs/postgresql.so"
conn="-s host=$PGSOCK -s port=$PGPORT -s user=$PG_SUPERUSER -s dbname=postgres"
# shellcheck disable=SC2086
expect 0 "kit: source" "$NEBULA_CONNECTOR_TEST" "$module" --source --batch-rows 2 $conn
grep -q '^not ok' "$out" && report_failure "kit: source checks failed"
contains "$out" "its key of 1 columns names distinct columns of its schema" "kit: the stream's key is checked"
# shellcheck disable=SC2086
expect 0 "kit: destination" "$NEBULA_CONNECTOR_TEST" "$module" --dest $conn
grep -q '^not ok' "$out" && report_failure "kit: destination checks failed"
[ "$(pgsql -Atc 'SELECT count(*) FROM nebula_kit_stream')" = 10 ] ||
  report_failure "kit: the destination holds both writes (5 + 5 rows) exactly"
finish
