#!/bin/bash
# End to end: a source that returns empty batches forever without moving
# used to hang the host under the default settings (no stall_timeout).  The
# run now fails in bounded time, naming the connector and the stream, and
# keeps what was read before.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1

cat > "$work/p.cfg" <<CFG
source = { connector = "flaky"; rows = 1000; spin_at_row = 300; };
destination = { connector = "flaky"; path = "$work/out.txt"; };
engine = { batch_rows = 100; };
CFG
rc=0
timeout 60 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --plugin-dir "$TEST_PLUGIN_DIR" \
  run "$work/p.cfg" --state "$work/state.json" 2> "$work/log" || rc=$?
[ "$rc" -eq 1 ] || { tail -5 "$work/log"; fail "exit $rc, expected 1"; }
grep -q 'source connector "flaky" made no progress in stream "flaky-0": 10000 empty batches' \
  "$work/log" || { cat "$work/log"; fail "no clear error"; }
[ "$(state_stream_field "$work/state.json" 0 records)" -eq 300 ] || fail "records before lost"
flaky_expected 1 300 | cmp - "$work/out.txt" || fail "output differs"
echo "no progress ok"
