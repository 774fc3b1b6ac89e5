#!/bin/sh
# pg_errors.sh - the postgresql connector's failures are clear and never
# show the password: a wrong password, a server that is not running, an
# unknown table, permission denied, a malformed dsn that holds the
# password.  The password appears in no output of validate, check,
# discover, describe, run or pipeline (debug log level included).
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
secret_wrong='Wr0ng-pa55-SECRET-x'
all="$tmp/all-output"
: > "$all"
collect() { cat "$out" "$err" >> "$all"; }
nh() { "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --log-level debug "$@"; }
pgsql -c "CREATE TABLE t (id int PRIMARY KEY, v text)" -c "INSERT INTO t VALUES (1, 'one')" \
  -c "CREATE ROLE reader LOGIN PASSWORD '$PG_PASSWORD'" -c "CREATE TABLE hidden (id int)"

cfg() { # file password host port tables
  cat > "$1" <<CFG
source = { connector = "postgresql"; host = "$3"; port = $4; user = "$PG_SUPERUSER";
  dbname = "postgres"; password = "$2"; tables = "$5"; connect_timeout = 3; };
destination = { connector = "json"; path = "$tmp/out.jsonl"; };
CFG
}

# The right password over TCP works (scram-sha-256).
cfg "$tmp/good.cfg" "$PG_PASSWORD" 127.0.0.1 "$PGPORT" public.t
expect 0 "the right password over TCP" nh run "$tmp/good.cfg"; collect
contains "$tmp/out.jsonl" '"v":"one"' "the row read"
expect 0 "validate" nh validate "$tmp/good.cfg"; collect
expect 0 "check" nh check "$tmp/good.cfg"; collect
expect 0 "discover" nh discover "$tmp/good.cfg"; collect
expect 0 "describe" nh describe postgresql; collect
contains "$out" "password" "describe lists the password setting"

# A wrong password.
cfg "$tmp/wrong.cfg" "$secret_wrong" 127.0.0.1 "$PGPORT" public.t
expect 1 "a wrong password" nh run "$tmp/wrong.cfg"; collect
contains "$err" "could not connect to PostgreSQL server 127.0.0.1:$PGPORT/postgres" "wrong password: the server"
contains "$err" "password authentication failed for user \"$PG_SUPERUSER\"" "wrong password: the cause"
expect 1 "check with a wrong password" nh check "$tmp/wrong.cfg"; collect

# A server that is not running (a port nobody listens on).
cfg "$tmp/down.cfg" "$PG_PASSWORD" 127.0.0.1 1 public.t
expect 1 "server not running" nh run "$tmp/down.cfg"; collect
contains "$err" "could not connect to PostgreSQL server 127.0.0.1:1/postgres" "server down: the server"
contains "$err" "Connection refused" "server down: the cause"
contains "$err" "Check that the server is running" "server down: the hint"

# An unknown table.
cfg "$tmp/unknown.cfg" "$PG_PASSWORD" 127.0.0.1 "$PGPORT" public.nosuch
expect 1 "an unknown table" nh run "$tmp/unknown.cfg"; collect
contains "$err" "table \"public.nosuch\" does not exist on PostgreSQL server 127.0.0.1:$PGPORT/postgres" "unknown table: table and server"

# Permission denied.
cat > "$tmp/perm.cfg" <<CFG
source = { connector = "postgresql"; dsn = "postgresql://reader:$PG_PASSWORD@127.0.0.1:$PGPORT/postgres"; tables = "hidden"; };
destination = { connector = "json"; path = "$tmp/out.jsonl"; };
CFG
expect 1 "permission denied" nh run "$tmp/perm.cfg"; collect
contains "$err" "could not read table \"public.hidden\" on PostgreSQL server 127.0.0.1:$PGPORT/postgres: permission denied for table hidden (SQLSTATE 42501)" "permission denied: table, server, cause"

# A malformed dsn with the password in it: libpq's message would quote it.
cat > "$tmp/dsn.cfg" <<CFG
source = { connector = "postgresql"; dsn = "host=127.0.0.1 password=$secret_wrong 'unterminated"; };
destination = { connector = "json"; path = "$tmp/out.jsonl"; };
CFG
expect 1 "a malformed dsn" nh run "$tmp/dsn.cfg"; collect
contains "$err" 'setting "dsn" is not a valid libpq connection string or URI' "malformed dsn: the setting"
# A wrong password inside a URI dsn.
cat > "$tmp/uri.cfg" <<CFG
source = { connector = "postgresql"; dsn = "postgresql://$PG_SUPERUSER:$secret_wrong@127.0.0.1:$PGPORT/postgres"; };
destination = { connector = "json"; path = "$tmp/out.jsonl"; };
CFG
expect 1 "a wrong password in a URI" nh run "$tmp/uri.cfg"; collect
contains "$err" "password authentication failed" "URI: the cause"

# The destination's errors too.
cat > "$tmp/dest.cfg" <<CFG
source = { connector = "json"; path = "$tmp/out.jsonl"; };
destination = { connector = "postgresql"; host = "127.0.0.1"; port = $PGPORT; user = "$PG_SUPERUSER";
  dbname = "postgres"; password = "$secret_wrong"; };
CFG
expect 1 "destination: a wrong password" nh run "$tmp/dest.cfg"; collect
contains "$err" "password authentication failed" "destination: the cause"

# Not once, anywhere.
for pw in "$PG_PASSWORD" "$secret_wrong"; do
  if grep -F -q -e "$pw" "$all"; then
    grep -F -n -e "$pw" "$all" | head -5
    report_failure "a password appears in the output"
  fi
done
finish
