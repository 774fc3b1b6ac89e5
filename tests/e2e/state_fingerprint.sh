#!/bin/bash
# End to end: a state file is used only with the files it describes (issue
# 9, item 3).  The state records, for every input read and output
# committed, its length, size, modification time and a hash of the 4 KiB
# before that length; a resume refuses (exit 2, naming the file and what
# differs) an output shortened or edited since the last commit, and an
# input shortened or edited before the saved position.  Unchanged files,
# and inputs that only grew, resume as before.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
cd "$work"
nebula --quiet pipeline generate csv -s rows=200000 -s streams=1 -s seed=3 --dest-path in.csv
cp in.csv in.orig

cat > p.cfg <<CFG
source = { connector = "csv"; path = "$work/in.csv"; };
destination = { connector = "json"; path = "$work/out.json"; format = "lines"; };
engine = { batch_rows = 10; commit_interval = 0.02; };
CFG

run() {  # expected exit
  code=0
  nebula run p.cfg --state state.json > /dev/null 2> err.txt || code=$?
  [ "$code" -eq "$1" ] || { cat err.txt; fail "exit $code, expected $1"; }
}

expect_error() {  # text
  grep -q -- "$1" err.txt || { cat err.txt; fail "no \"$1\" in the message"; }
  grep -q 'delete the state file "state.json" to start over' err.txt ||
    { cat err.txt; fail "no hint to delete the state file"; }
}

# Stop a run after its first commits, leaving an unfinished state.
interrupted_run() {
  rm -f out.json state.json
  nebula_bg "$work/log" run p.cfg --state state.json
  _ticks=200
  until grep -q '"records": [1-9]' state.json 2> /dev/null; do
    _ticks=$((_ticks - 1))
    [ "$_ticks" -gt 0 ] || fail "no commit within 20 seconds"
    sleep 0.1
  done
  kill -TERM "$pid"
  wait_exit "$pid" 20
  [ "$exit_code" -eq 143 ] || { cat "$work/log"; fail "interrupted run: exit $exit_code"; }
  grep -q '"finished": false' state.json || fail "the run finished before it was stopped"
}

# Reference output, uninterrupted.
nebula --quiet pipeline csv json --source-path in.csv --dest-path ref.json --format lines

# 1. Interrupted, then resumed unchanged: same output as the reference.
interrupted_run
run 0
cmp -s out.json ref.json || fail "resumed output differs from the reference"

# 2. Interrupted, then the input loses one byte early in the file: the saved
# offset would land inside a record.
interrupted_run
sed -i '2s/^.//' in.csv
run 2
expect_error 'input file ".*in.csv" changed before the saved position'
cp in.orig in.csv

# 3. Interrupted, then the output is shortened, or edited at its end with
# its length kept.
interrupted_run
cp out.json out.keep
truncate -s -1 out.json
run 2
expect_error 'output file ".*out.json" has [0-9]* bytes, fewer than the [0-9]* bytes committed'
cp out.keep out.json
committed=$(grep -o '"role": "output", "path": "[^"]*", "length": [0-9]*' state.json |
  grep -o '[0-9]*$')
printf 'X' | dd of=out.json bs=1 seek=$((committed - 2)) conv=notrunc 2> /dev/null
touch -r out.keep out.json
run 2
expect_error 'output file ".*out.json" changed since the last commit'
cp out.keep out.json
touch -r out.keep out.json
run 0
cmp -s out.json ref.json || fail "resumed output differs after the file was restored"

# 4. A complete state: an input that grew is accepted (nothing to copy), an
# input shorter than what was read is not.
cat in.orig > in.csv
tail -n 5 in.orig >> in.csv
run 0
# A file stream finished in the state is not read again (only sources that
# set NB_STREAM_REOPENS, incremental tables, are): the output is unchanged.
cmp -s out.json ref.json || fail "a finished csv stream was read again by a later run"
cp in.orig in.csv
truncate -s -100 in.csv
run 2
expect_error 'input file ".*in.csv" has [0-9]* bytes, fewer than the [0-9]* bytes read'
echo "state_fingerprint: ok"
