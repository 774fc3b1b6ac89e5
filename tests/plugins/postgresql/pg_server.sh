# pg_server.sh - sourced by the postgresql tests: a private PostgreSQL 15
# server in a temporary directory, stopped by an EXIT trap even when the
# test fails.
#
#   pg_start        initdb + pg_ctl start: Unix socket in the directory, a
#                   free 127.0.0.1 port, wal_level = logical; sets PGDIR,
#                   PGSOCK, PGPORT, PG_PASSWORD, PG_DSN (TCP, password)
#   pg_stop         stop it (the trap does it too)
#   pg_restart      stop and start the same cluster
#   pgsql ARGS...   psql as the superuser over the socket
#
# As root the server runs as the unprivileged "postgres" system user (the
# postgresql package creates it): PostgreSQL refuses to run as root.
: "${PG_BINDIR:=/usr/lib/postgresql/15/bin}"
PG_SUPERUSER=nebula_admin
PG_PASSWORD='pw-Zq83-nebula-SECRET'

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_stop() {
  [ -n "${PGDIR:-}" ] && [ -f "$PGDIR/data/postmaster.pid" ] &&
    pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1
  return 0
}

pg_cleanup() {
  pg_stop
  [ -n "${PGDIR:-}" ] && rm -rf "$PGDIR"
}

pg_launch() {
  pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$PGDIR -c wal_level=logical -c fsync=off -c max_wal_senders=4 -c max_replication_slots=4" \
    start >/dev/null 2>&1
}

pg_start() {
  if [ ! -x "$PG_BINDIR/initdb" ]; then
    echo "FAIL: $PG_BINDIR/initdb not found (install the Debian package postgresql)"
    exit 1
  fi
  PGDIR=$(mktemp -d /tmp/nebula-pg.XXXXXX) || exit 99
  trap 'pg_cleanup; rm -rf "${tmp:-/nonexistent-nebula}"' EXIT
  chmod 755 "$PGDIR"
  printf '%s\n' "$PG_PASSWORD" > "$PGDIR/pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR" "$PGDIR/pwfile"
  if ! pg_as_owner "$PG_BINDIR/initdb" -D "$PGDIR/data" -U "$PG_SUPERUSER" \
      --pwfile="$PGDIR/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 > "$PGDIR/initdb.log" 2>&1; then
    echo "FAIL: initdb"; cat "$PGDIR/initdb.log"; exit 1
  fi
  tries=0
  while :; do
    PGPORT=$(( 20000 + ($$ * 7 + tries * 131) % 30000 ))
    pg_launch && break
    tries=$((tries + 1))
    if [ "$tries" -ge 20 ]; then
      echo "FAIL: the test server does not start"; cat "$PGDIR/server.log"; exit 1
    fi
  done
  PGSOCK=$PGDIR
  PG_DSN="host=127.0.0.1 port=$PGPORT dbname=postgres user=$PG_SUPERUSER"
  export PGDIR PGSOCK PGPORT
}

pg_restart() {
  pg_stop
  pg_launch || { echo "FAIL: restart"; cat "$PGDIR/server.log"; exit 1; }
}

pgsql() {
  psql -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGPORT" -U "$PG_SUPERUSER" -d postgres "$@"
}
