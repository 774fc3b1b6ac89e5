#!/bin/bash
# End to end (issue 9, item 12): a slow producer on a pipe has its records
# written and committed within commit_interval while it is quiet, for the
# csv source (with and without infer_types) and the json source, first
# lines shorter than the file layer's magic-number peek included ("a",
# {"n":1}).  The producer waits for its first record to be committed (in
# the output and in the state file) before it writes the next one; if that
# does not happen within 15 seconds the test fails.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
cd "$work"

# $1 source connector, $2 destination, $3 extra source settings, $4 first
# lines (header and record), $5 the record's text in the output, $6 last line.
slow_run() {
  rm -f out state.json committed timed-out
  cat > p.cfg <<CFG
source = { connector = "$1"; path = "-"; $3 };
destination = { connector = "$2"; path = "$work/out"; };
engine = { commit_interval = 0.5; state_file = "$work/state.json"; };
CFG
  (
    printf '%b' "$4"
    ticks=150
    until grep -q -- "$5" out 2> /dev/null && grep -q '"records": 1' state.json 2> /dev/null; do
      ticks=$((ticks - 1))
      if [ "$ticks" -le 0 ]; then
        : > timed-out
        break
      fi
      sleep 0.1
    done
    printf '%b' "$6"
  ) | nebula run p.cfg > /dev/null 2> err.txt || { cat err.txt; fail "$1 -> $2: exit $?"; }
  [ ! -e timed-out ] ||
    fail "$1 -> $2 ($3): the first record was not committed within 15 s while the producer waited"
  grep -q '"records": 2' state.json || { cat state.json; fail "$1 -> $2: the last record is not committed"; }
  echo "ok: $1 -> $2 ($3) commits while the producer is quiet"
}

slow_run csv json "" 'a\nrec1\n' '"rec1"' 'rec2\n'
slow_run csv csv "" 'a\nrec1\n' 'rec1' 'rec2\n'
slow_run csv json "infer_types = true;" 'a\n1\n' '"a":1' '2\n'
slow_run csv json "header = false;" 'x\n' '"x"' 'y\n'
slow_run json csv "" '{"n":1}\n' '1' '{"n":2}\n'
slow_run json json "format = \"lines\";" '{"n":1}\n' '"n":1' '{"n":2}\n'
