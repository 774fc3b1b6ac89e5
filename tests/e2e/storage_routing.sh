#!/bin/bash
# End to end, no server: paths with a scheme go to the storage module that
# serves it (tests/storage/storage_local.c: loc:///abs/path is a local
# file).  The same pipeline over loc:// and over local files gives the same
# bytes, plain and gzip (the host's codec on top), for one file and a glob
# (NbHostApi.file_list); a run killed with -9 resumes by reopening the
# object at an offset, not from its start; file:// is local; an unknown
# scheme names its package; storage modules of a newer minor or another
# major are refused by the connector's version rules.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
storage_dir=${TEST_PLUGIN_DIR%/connectors}/storage
snebula() { nebula --plugin-dir "$storage_dir" "$@"; }
ok() { echo "ok: $*"; }

pipeline() {  # source path, output file, state file
  cat > "$work/p.cfg" <<CFG
source = { connector = "csv"; path = "$1"; header = true; };
destination = { connector = "json"; path = "$2"; format = "lines"; };
engine = { batch_rows = 500; commit_interval = 0.02; state_file = "$3"; };
CFG
}
fresh() {  # source path, output file
  rm -f "$work/state.json"
  pipeline "$1" "$2" "$work/state.json"
  snebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "run of $1"; }
}

mkdir "$work/in"
nebula --quiet pipeline generate csv -s rows=30000 -s streams=3 -s seed=5 \
  --dest-path "$work/in/{stream}.csv"
first=$(ls "$work/in" | head -1)
gzip -c "$work/in/$first" > "$work/one.csv.gz"

fresh "$work/in/$first" "$work/local.jsonl"
fresh "loc://$work/in/$first" "$work/loc.jsonl"
cmp "$work/local.jsonl" "$work/loc.jsonl" || fail "loc:// differs from the local file"
grep -q 'loc open at 0' "$work/log" || fail "the module did not open the object"
ok "one object through a storage module equals the local file"

fresh "loc://$work/one.csv.gz" "$work/locgz.jsonl"
cmp "$work/local.jsonl" "$work/locgz.jsonl" || fail "gzip through loc:// differs"
ok "gzip object decompressed by the host on top of the module"

fresh "$work/in/*.csv" "$work/glob-local.jsonl"
fresh "loc://$work/in/*.csv" "$work/glob-loc.jsonl"
cmp "$work/glob-local.jsonl" "$work/glob-loc.jsonl" || fail "loc:// glob differs"
ok "glob listed by the module (file_list) equals the local glob"

fresh "file://$work/in/$first" "$work/file.jsonl"
cmp "$work/local.jsonl" "$work/file.jsonl" || fail "file:// differs"
ok "file:// is the local layer"

# kill -9 until done: equal output, and a resumed run reopened mid-object.
pipeline "loc://$work/in/$first" "$work/crash.jsonl" "$work/crash.state"
# Each run is killed once its state file shows a durable commit (so the
# next run resumes mid-object), a random few ms later; three such kills,
# then a run to the end.
kill_after_commit() {
  for _i in $(seq 2000); do
    [ -s "$work/crash.state" ] && grep -q '"finished": false' "$work/crash.state" 2> /dev/null && break
    kill -0 "$pid" 2> /dev/null || return 0
    sleep 0.005
  done
  sleep "0.0$((RANDOM % 5))"
  kill -9 "$pid" 2> /dev/null || true
}
# The module pauses 300 us before each 4 KiB read: about 0.3 s a run.
export NEBULA_TEST_LOC_READ_DELAY_US=300
kills=0
for run in $(seq 12); do
  nebula_bg "$work/crash.log" --plugin-dir "$storage_dir" run "$work/p.cfg"
  [ "$kills" -lt 3 ] && kill_after_commit
  wait_exit "$pid" 120
  case "$exit_code" in
    0) break ;;
    137) kills=$((kills + 1)) ;;
    *) cat "$work/crash.log"; fail "run exited $exit_code" ;;
  esac
done
unset NEBULA_TEST_LOC_READ_DELAY_US
[ "$exit_code" = 0 ] || fail "the kill loop did not complete"
[ "$kills" -gt 0 ] || fail "no run was killed mid-object: the resume was not tested"
cmp "$work/local.jsonl" "$work/crash.jsonl" || fail "output differs after $kills kills"
if [ "$kills" -gt 0 ]; then
  grep -q 'loc open at [1-9]' "$work/crash.log" ||
    fail "no resumed run reopened the object at an offset"
fi
ok "kill -9 x$kills, resumed by reopening at an offset: output identical"

# Errors.
rm -f "$work/state.json"
pipeline "gcsx://bkt/x.csv" "$work/e.jsonl" "$work/state.json"
if snebula run "$work/p.cfg" 2> "$work/log"; then fail "unknown scheme accepted"; fi
grep -q 'no storage module serves the scheme "gcsx"' "$work/log" || { cat "$work/log"; fail "unknown scheme message"; }
grep -q 'nebula-storage-gcsx' "$work/log" || { cat "$work/log"; fail "unknown scheme: no package named"; }
ok "unknown scheme: named with its package"
rm -f "$work/state.json"
pipeline "newminor://$work/in/$first" "$work/e.jsonl" "$work/state.json"
if snebula run "$work/p.cfg" 2> "$work/log"; then fail "a newer-minor module served a path"; fi
grep -q 'no storage module serves the scheme "newminor"' "$work/log" || { cat "$work/log"; fail "newminor"; }
snebula list > "$work/list" 2> "$work/log"
grep -q 'storage_newminor.so": ABI version mismatch' "$work/log" || { cat "$work/log"; fail "newer minor not refused"; }
grep -q 'built for ABI 1.99' "$work/log" || fail "newer minor: versions not named"
grep -q 'storage_major.so": ABI version mismatch' "$work/log" || fail "major 2 not refused"
grep -q 'loc_loc .*storage loc://' "$work/list" || { cat "$work/list"; fail "list does not show the module"; }
ok "storage modules of ABI 1.99 and 2.0 refused; list shows the accepted one"
cat > "$work/w.cfg" <<CFG
source = { connector = "csv"; path = "$work/in/$first"; header = true; };
destination = { connector = "json"; path = "loc://$work/out.jsonl"; format = "lines"; };
CFG
if snebula run "$work/w.cfg" 2> "$work/log"; then fail "writing through a module succeeded"; fi
grep -q 'serves reading only' "$work/log" || { cat "$work/log"; fail "writing: unclear error"; }
[ ! -e "$work/out.jsonl" ] || fail "writing created the file"
ok "writing to a scheme path refused clearly"
