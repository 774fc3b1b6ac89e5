# mysql_test_lib.sh - the set-up every MariaDB test script shares (sourced):
# cli_lib.sh's helpers and scratch directory $tmp, a MariaDB server of its
# own under $tmp/server (mysql_server.sh), stopped by the EXIT trap even on
# failure; nh runs nebula-host with the built connectors; $conn is the
# connection part of a mysql endpoint; $check replays CDC records.
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/mysql/mysql_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
trap 'mysql_server_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
mysql_server_start "$tmp/server"
nh() { "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" "$@"; }
check="python3 ${srcdir:-.}/plugins/mysql/mysql_cdc_check.py"
conn="connector = \"mysql\"; socket = \"$MY_SOCK\"; user = \"nebula\"; password = \"$MY_PASSWORD\"; database = \"nebula_test\";"
