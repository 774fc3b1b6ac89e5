#!/bin/bash
# End to end: the watchdog must not fire on a healthy pipeline.  Many very
# short source calls (one row per batch) under a stall_timeout: a call that
# starts while the supervisor takes its clock used to be reported as "made
# no progress for 18446744074 seconds" and failed the run at random.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1

cat > "$work/p.cfg" <<CFG
source = { connector = "flaky"; rows = 200000; };
destination = { connector = "flaky"; path = "/dev/null"; };
engine = { batch_rows = 1; commit_interval = 0; stall_timeout = 30; };
CFG

# Several runs: about 40 supervisor polls each, with a call starting every
# few microseconds.
for i in 1 2 3; do
  rc=0
  timeout 120 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --plugin-dir "$TEST_PLUGIN_DIR" \
    run "$work/p.cfg" 2> "$work/log" || rc=$?
  [ "$rc" -eq 0 ] || { tail -5 "$work/log"; fail "run $i: exit $rc, expected 0"; }
  grep -q 'made no progress' "$work/log" && fail "run $i: watchdog fired on a healthy run"
done
echo "watchdog race ok"
