# engine_lib.sh - helpers shared by the engine's end-to-end scripts
# (sourced, not run): a scratch directory removed on exit, the host with the
# real and the test connectors, bounded waits, and the flaky connector's
# expected output.
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}" "${TEST_PLUGIN_DIR:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-engine-e2e.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

nebula() {
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --plugin-dir "$TEST_PLUGIN_DIR" "$@"
}

# Start nebula-host in the background with stderr appended to file $1; its
# process id is left in $pid.  (Backgrounding the nebula function would
# give the id of a subshell, and a signal would not reach nebula-host.)
nebula_bg() {
  _log=$1
  shift
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --plugin-dir "$TEST_PLUGIN_DIR" "$@" 2>> "$_log" &
  pid=$!
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Wait for background process $1 at most $2 seconds; its exit code is left
# in $exit_code (not printed: a command substitution is a subshell, which
# cannot wait for this shell's children).  A process still running then is
# killed and the test fails.
wait_exit() {
  _pid=$1
  _ticks=$(($2 * 10))
  while kill -0 "$_pid" 2>/dev/null; do
    _ticks=$((_ticks - 1))
    if [ "$_ticks" -le 0 ]; then
      kill -9 "$_pid" 2>/dev/null || true
      wait "$_pid" 2>/dev/null || true
      fail "process $_pid did not end in $2 seconds"
    fi
    sleep 0.1
  done
  exit_code=0
  # (braces: so that bash's "Killed" job notice goes to /dev/null too)
  { wait "$_pid" || exit_code=$?; } 2> /dev/null
}

# Wait until file $1 contains text $2, at most $3 seconds.
wait_for_text() {
  _ticks=$(($3 * 10))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    _ticks=$((_ticks - 1))
    [ "$_ticks" -gt 0 ] || fail "\"$2\" did not appear in $1 within $3 seconds"
    sleep 0.1
  done
}

# What the flaky destination writes for $1 streams of $2 rows.
flaky_expected() {
  awk -v streams="$1" -v rows="$2" 'BEGIN {
    for (s = 0; s < streams; s++)
      for (r = 0; r < rows; r++)
        printf "flaky-%d,%d,s%d-r%d\n", s, r, s, r
  }'
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The value of "key": N for stream $2 (0-based) in state file $1.
state_stream_field() {
  awk -v want="$2" -v key="\"$3\": " '/"name": /{ if (n++ == want) {
    i = index($0, key); rest = substr($0, i + length(key));
    sub(/[,}].*/, "", rest); print rest } }' "$1"
}
