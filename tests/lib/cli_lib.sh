# cli_lib.sh - helpers sourced by the CLI shell tests (cli_*.sh).
#
#   expect CODE DESCRIPTION COMMAND...   run COMMAND, stdout in $out, stderr
#                                        in $err; count a failure unless it
#                                        exits with CODE
#   contains FILE TEXT DESCRIPTION       FILE must contain TEXT (fixed string)
#   lacks FILE TEXT DESCRIPTION          FILE must not contain TEXT
#   finish                               exit 1 if anything failed
set -u
: "${NEBULA_HOST:?NEBULA_HOST must name the nebula-host binary}"
: "${TEST_PLUGIN_DIR:?TEST_PLUGIN_DIR must name the test connectors directory}"
: "${srcdir:=.}"
data="$srcdir/data/config"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nebula-cli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
out="$tmp/stdout"
err="$tmp/stderr"
failures=0

report_failure() {
  echo "FAIL: $1"
  sed 's/^/  stdout: /' "$out"
  sed 's/^/  stderr: /' "$err"
  failures=$((failures + 1))
}

expect() {
  want=$1
  what=$2
  shift 2
  "$@" >"$out" 2>"$err" </dev/null
  got=$?
  if [ "$got" -ne "$want" ]; then
    report_failure "$what: exit status $got, expected $want"
  else
    echo "ok: $what"
  fi
}

contains() {
  if ! grep -F -q -e "$2" "$1"; then
    report_failure "$3: \"$2\" not found"
  fi
}

lacks() {
  if grep -F -q -e "$2" "$1"; then
    report_failure "$3: \"$2\" found"
  fi
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
  fi
  exit 0
}

host() {
  "$NEBULA_HOST" "$@"
}

# nebula-host with only the test connectors.
thost() {
  NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$TEST_PLUGIN_DIR" "$@"
}
