#!/bin/bash
# End to end: no output of a run is one of its inputs, its state file or
# another output, and no stream name turns an output into standard output
# or a file outside the destination directory.  Each case used to lose
# data with exit 0 (issue 9, item 1).  Every refused run must leave every
# input intact and write nothing to standard output.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
cd "$work"
mkdir in out
nebula --quiet pipeline generate csv -s rows=3000 -s streams=2 -s seed=5 \
  --dest-path "$work/in/{stream}.csv"
cp in/generate-0.csv a.csv
cp a.csv a.orig

# Run nebula-host expecting a refusal: exit $1, message $2 on stderr,
# nothing on stdout, a.csv unchanged.
refused() {
  want=$1 text=$2
  shift 2
  code=0
  timeout 60 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --quiet "$@" > stdout.txt 2> err.txt ||
    code=$?
  [ "$code" -eq "$want" ] || { cat err.txt; fail "$*: exit $code, expected $want"; }
  grep -q -- "$text" err.txt || { cat err.txt; fail "$*: no \"$text\" in the message"; }
  [ ! -s stdout.txt ] || fail "$*: wrote $(wc -c < stdout.txt) bytes to standard output"
  cmp -s a.csv a.orig || fail "$*: the input a.csv was changed"
}

# 1. The output is the input through "{stream}", by the same name, through
# "..", a hard link and a symbolic link.
refused 1 'same file as an input of this run' pipeline csv csv --source-path a.csv \
  --dest-path '{stream}.csv'
refused 1 'same file as an input of this run' pipeline csv csv --source-path a.csv \
  --dest-path a.csv
refused 1 'same file as an input of this run' pipeline csv json --source-path a.csv \
  --dest-path in/../a.csv --format lines
ln a.csv hard.csv
refused 1 'same file as an input of this run' pipeline csv csv --source-path a.csv \
  --dest-path hard.csv
ln -s a.csv soft.csv
refused 1 'same file as an input of this run' pipeline csv csv --source-path a.csv \
  --dest-path soft.csv
# An input read after the output was created (the second stream of a glob).
refused 1 'same file as an input of this run' pipeline csv csv \
  --source-path "$work/in/*.csv" --dest-path "$work/in/generate-1.csv"
cmp -s in/generate-0.csv a.orig || fail "in/generate-0.csv was changed"

# 2. A per-stream output whose name is the state file: the state is kept.
cp a.csv in/state.csv
refused 1 'the state file of this run' pipeline csv json --source-path 'in/*.csv' \
  --dest-path 'out/{stream}.json' --state out/state.json
[ ! -e out/state.json ] || ! grep -q '"records"' out/state.json ||
  grep -q '"format": "nebula-state"' out/state.json || fail "the state file was overwritten"
rm in/state.csv out/*

# The dead-letter file is not an output either.
refused 1 'the dead-letter file of this run' pipeline csv csv --source-path a.csv \
  --dest-path bad.csv --on-error dead_letter --dead-letter bad.csv

# 3. A stream name never chooses standard output or another directory.
cp a.csv ./-.csv
refused 1 'refusing to write to standard output' pipeline csv csv --source-path ./-.csv \
  --dest-path '{stream}'
cp a.csv ..csv
refused 1 'would put "." in place of "{stream}"' pipeline csv csv --source-path ..csv \
  --dest-path 'out/{stream}/x.csv'
rm -- ./-.csv ..csv

# 4. Standard output redirected to the input (it would read its own output).
code=0
timeout 60 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --quiet pipeline csv csv \
  --source-path a.csv --dest-path - >> a.csv 2> err.txt || code=$?
[ "$code" -eq 1 ] || { cat err.txt; fail "stdout onto the input: exit $code, expected 1"; }
grep -q 'refusing to write to standard output: it is the same file as an input' err.txt ||
  { cat err.txt; fail "stdout onto the input: no clear message"; }
cmp -s a.csv a.orig || fail "stdout onto the input: a.csv was changed"

# What is still allowed: stdout when asked for, the same input twice, a
# "-" file name, and a normal per-stream run.
nebula --quiet pipeline csv csv --source-path a.csv --dest-path - > copy.csv
[ "$(wc -l < copy.csv)" -eq "$(wc -l < a.orig)" ] || fail "csv -> stdout lost records"
cp a.csv ./-x.csv
nebula --quiet pipeline csv csv --source-path ./-x.csv --dest-path 'out/{stream}.csv'
cmp -s out/-x.csv copy.csv || fail "a file named -x.csv was not copied"
nebula --quiet pipeline csv json --source-path 'in/*.csv' --dest-path 'out/{stream}.json' \
  --state out/state.json --format lines
[ "$(cat out/generate-0.json out/generate-1.json | wc -l)" -eq 6000 ] ||
  fail "per-stream csv -> json lost records"
echo "state_outputs: ok"
