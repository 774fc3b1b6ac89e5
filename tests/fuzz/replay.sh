#!/bin/sh
# replay.sh - `make check` part of the fuzzing: every harness (built with
# fuzz/driver.c) runs over its seed corpus and its regression inputs.  A
# crash, a sanitizer report or a broken invariant fails the test, naming
# the input (the driver prints each before running it).
set -u
srcdir=${srcdir:-.}
builddir=${builddir:-.}
fuzz="$srcdir/fuzz"
# libconfig 1.5's lexer leaks on some syntax errors; nothing of ours.
LSAN_OPTIONS="suppressions=$fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
status=0
# FUZZ_HARNESSES comes from fuzz.am: the programs built.
for prog in ${FUZZ_HARNESSES:-fuzz_csv fuzz_json fuzz_io fuzz_state fuzz_config}; do
  name=${prog#fuzz_}
  set --
  for dir in "$fuzz/corpus/$name" "$fuzz/regress/$name"; do
    [ -d "$dir" ] && set -- "$@" "$dir"
  done
  [ $# -gt 0 ] || { echo "FAIL: no inputs for fuzz_$name"; status=1; continue; }
  if "$builddir/fuzz_$name" "$@" 2>"$builddir/fuzz_$name.replay.log"; then
    echo "ok: fuzz_$name ($(grep -c '^running ' "$builddir/fuzz_$name.replay.log") inputs)"
  else
    echo "FAIL: fuzz_$name, on the last input of:"
    tail -n 20 "$builddir/fuzz_$name.replay.log"
    status=1
  fi
done
exit $status
