# mysql_server.sh - sourced by the mysql connector's tests: start a private
# MariaDB server in a temporary directory and stop it in a trap, even on
# failure.
#
#   mysql_server_start DIR   datadir DIR/data, socket DIR/sock, a free
#                            loopback port in $MY_PORT; binary log on, ROW
#                            format, server id 1.  Runs as the `mysql` system
#                            user when the tests run as root.  Creates the
#                            user nebula / password $MY_PASSWORD with every
#                            privilege and the database nebula_test.
#   mysql_server_stop        shut the server down (idempotent).
#   mysql_server_restart     stop it and start it again (same port, data).
#   my_sql SQL...            run SQL through the mariadb client as root.
#
# Exits 77 (skip) only outside CI when mariadbd is not installed; CI
# installs it (.ci/install-deps.sh), where a missing server is a failure.
MY_PASSWORD='s3cret-Pw!9z'
MY_PID=

my_find() {
  for d in /usr/sbin /usr/libexec /usr/bin; do
    [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  command -v "$1"
}

my_free_port() {
  # Bind port 0 to have the kernel choose a free port.
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + $$ % 20000))
}

mysql_server_start() {
  MY_DIR=$1
  MYSQLD=$(my_find mariadbd) || MYSQLD=
  MY_INSTALL_DB=$(my_find mariadb-install-db) || MY_INSTALL_DB=
  if [ -z "$MYSQLD" ] || [ -z "$MY_INSTALL_DB" ]; then
    echo "mariadbd / mariadb-install-db not found"
    [ -n "${CI:-}" ] && exit 1
    exit 77
  fi
  # Its own temporary directory: servers of tests run in parallel (and
  # whatever else cleans /tmp) must not share internal temporary tables.
  mkdir -p "$MY_DIR/data" "$MY_DIR/tmp"
  MY_SOCK="$MY_DIR/sock"
  MY_PORT=$(my_free_port)
  run_as=
  if [ "$(id -u)" -eq 0 ]; then
    chown -R mysql:mysql "$MY_DIR"
    chmod 755 "$MY_DIR"
    # The test's temporary directory is private (0700): let the server's
    # user pass through it to its own directory.
    chmod 711 "$(dirname "$MY_DIR")"
    run_as="--user=mysql"
  fi
  # --tmpdir here too: the bootstrap's temporary tables in a shared /tmp
  # have collided ("Error on delete of '/tmp/#sql-temptable-...'").
  "$MY_INSTALL_DB" --no-defaults $run_as --datadir="$MY_DIR/data" --tmpdir="$MY_DIR/tmp" \
    --auth-root-authentication-method=normal --skip-test-db \
    > "$MY_DIR/install.log" 2>&1 || {
    echo "mariadb-install-db failed:"; cat "$MY_DIR/install.log"; exit 1; }
  mysql_server_launch
  mariadb --no-defaults -uroot --socket="$MY_SOCK" -e "CREATE USER 'nebula'@'localhost' IDENTIFIED BY '$MY_PASSWORD';
          CREATE USER 'nebula'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';
          GRANT ALL ON *.* TO 'nebula'@'localhost';
          GRANT ALL ON *.* TO 'nebula'@'127.0.0.1';
          CREATE DATABASE nebula_test;" || exit 1
}

# Start mariadbd on the existing data directory and wait until it answers.
mysql_server_launch() {
  "$MYSQLD" --no-defaults $run_as --datadir="$MY_DIR/data" \
    --socket="$MY_SOCK" --port="$MY_PORT" --bind-address=127.0.0.1 \
    --pid-file="$MY_DIR/mariadbd.pid" --log-error="$MY_DIR/error.log" \
    --tmpdir="$MY_DIR/tmp" \
    --log-bin="$MY_DIR/data/binlog" --binlog-format=ROW \
    --binlog-row-image=FULL --server-id=1 --skip-name-resolve --default-time-zone=+00:00 \
    --innodb-buffer-pool-size=64M --local-infile=1 \
    > "$MY_DIR/server.out" 2>&1 &
  MY_PID=$!
  i=0
  until mariadb --no-defaults -uroot --socket="$MY_SOCK" -e 'SELECT 1' \
      > /dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 900 ] || ! kill -0 "$MY_PID" 2>/dev/null; then
      echo "the MariaDB server did not start:"; cat "$MY_DIR/error.log"
      exit 1
    fi
    sleep 0.1
  done
}

# Stop the server and start it again on the same directory, socket and port.
mysql_server_restart() {
  mysql_server_stop
  mysql_server_launch
}

mysql_server_stop() {
  if [ -n "$MY_PID" ]; then
    kill "$MY_PID" 2>/dev/null || :
    i=0
    while kill -0 "$MY_PID" 2>/dev/null && [ "$i" -lt 300 ]; do
      sleep 0.1; i=$((i + 1))
    done
    kill -9 "$MY_PID" 2>/dev/null || :
    wait "$MY_PID" 2>/dev/null || :
    MY_PID=
  fi
}

my_sql() {
  mariadb --no-defaults -uroot --socket="$MY_SOCK" --default-character-set=utf8mb4 nebula_test -e "$*"
}

# my_batch SQL: the rows of SQL as `mariadb --batch` prints them (tab
# separated, NULL as "NULL", no column names).
my_batch() {
  mariadb --no-defaults -uroot --socket="$MY_SOCK" --default-character-set=utf8mb4 \
    --batch --skip-column-names nebula_test -e "$*"
}
