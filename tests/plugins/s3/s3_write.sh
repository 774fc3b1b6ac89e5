#!/bin/bash
# End to end: writing s3:// objects through the s3 storage module against
# s3rver on loopback.  csv -> json lines.zst on S3 equals the same pipeline
# on local files byte for byte (the object read back with curl, not the
# module); kill -9 during a multipart upload of ~43 MB in 5 MiB parts,
# resumed until done: the object equals the uninterrupted local run and is
# not visible before the upload completes, the spool files are gone after;
# {stream} destinations give one object per stream; part_size under 5 MiB,
# wrong credentials, a missing bucket, a changed part size or a missing
# spool file at resume are clear errors that never show the secret;
# nebula-host uploads lists the upload a killed run left, --abort fails
# clearly on s3rver (no AbortMultipartUpload) and removes nothing.
# Several parts in flight (NEBULA_S3_UPLOAD_CONCURRENCY=4, seen open at
# once by the proxy) under 503/dropped replies on every request and in a
# kill -9 loop: the object equals the local run byte for byte.  A kill
# just before CompleteMultipartUpload and one just after it (the proxy
# holds the request, or drops its reply), and a finished pipeline run
# again: the object is completed once, recognised, never rewritten.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
. "${srcdir:-.}/plugins/s3/s3_lib.sh" || exit 1
s3_start bkt
secret=NebulaTestSecret0123456789abcdef
export AWS_SECRET_ACCESS_KEY=$secret   # s3rver checks the key id, not the signature
export NEBULA_S3_SPOOL_DIR="$work/spool"
mkdir "$work/spool"
ok() { echo "ok: $*"; }

# A pipeline csv $1 -> json lines $2 with state $3, commits every $4 s.
pipeline() {
  cat > "$work/p.cfg" <<CFG
source = { connector = "csv"; path = "$1"; header = true; };
destination = { connector = "json"; path = "$2"; format = "lines"; };
engine = { batch_rows = 2000; commit_interval = $4; state_file = "$3"; };
CFG
}
# Object $1 ("bucket/key") into file $2; prints the HTTP status.
s3_get() { s3_curl -o "$2" -w '%{http_code}' "$endpoint/$1"; }

nebula --quiet pipeline generate csv -s rows=120000 -s seed=5 --dest-path "$work/in.csv"

# 1. csv -> json lines.zst: S3 equals local byte for byte (one commit at
# the end, so the zstd frames are the same).
rm -f "$work/st1"
pipeline "$work/in.csv" "$work/local.jsonl.zst" "$work/st1" 3600
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "local run"; }
rm -f "$work/st2"
pipeline "$work/in.csv" s3://bkt/out/a.jsonl.zst "$work/st2" 3600
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "s3 run"; }
[ "$(s3_get bkt/out/a.jsonl.zst "$work/a.jsonl.zst")" = 200 ] || fail "object not readable"
cmp "$work/local.jsonl.zst" "$work/a.jsonl.zst" || fail "json lines.zst on S3 differs from local"
ok "csv -> json lines.zst on S3 equals the local run byte for byte ($(stat -c %s "$work/a.jsonl.zst") bytes)"
# Many commits: the frames differ, the content must not.
rm -f "$work/st2"
pipeline "$work/in.csv" s3://bkt/out/b.jsonl.zst "$work/st2" 0.02
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "s3 run, many commits"; }
[ "$(s3_get bkt/out/b.jsonl.zst "$work/b.jsonl.zst")" = 200 ] || fail "object b not readable"
cmp <(zstd -dc "$work/local.jsonl.zst") <(zstd -dc "$work/b.jsonl.zst") ||
  fail "json lines.zst with many commits differs from local once decompressed"
ok "with a commit every 20 ms the object decompresses to the local output"

# {stream} outputs: one object per input file.
mkdir "$work/two"
head -n 1001 "$work/in.csv" > "$work/two/a.csv"
{ head -n 1 "$work/in.csv"; tail -n 500 "$work/in.csv"; } > "$work/two/b.csv"
rm -f "$work/st7"
pipeline "$work/two/*.csv" "$work/two-{stream}.jsonl" "$work/st7" 3600
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "local {stream} run"; }
rm -f "$work/st7"
pipeline "$work/two/*.csv" "s3://bkt/two/{stream}.jsonl" "$work/st7" 3600
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "s3 {stream} run"; }
for name in a b; do
  [ "$(s3_get "bkt/two/$name.jsonl" "$work/s3-$name.jsonl")" = 200 ] || fail "{stream} object $name missing"
  cmp "$work/two-$name.jsonl" "$work/s3-$name.jsonl" || fail "{stream} object $name differs"
done
ok "{stream} destination on S3: one object per stream, equal to the local files"

# 2. kill -9 during a multipart upload (5 MiB parts), resumed until done.
export NEBULA_S3_PART_SIZE=5242880
rm -f "$work/st3"
pipeline "$work/in.csv" "$work/local.jsonl" "$work/st3" 3600
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "local plain run"; }
size=$(stat -c %s "$work/local.jsonl")
[ "$size" -gt $((4 * 5242880)) ] || fail "the local output ($size bytes) is too small for 4 parts"
pipeline "$work/in.csv" s3://bkt/out/crash.jsonl "$work/crash.state" 0.05
# After a run was killed: object $1 (a key in bkt) is either absent or,
# when the kill came after CompleteMultipartUpload, already whole (equal
# to the local run); never visible and partial.
killed_object_ok() {
  _code=$(s3_curl -o "$work/killed.obj" -w '%{http_code}' "$endpoint/bkt/$1")
  case "$_code" in
    404) ;;
    200) cmp -s "$work/local.jsonl" "$work/killed.obj" ||
           fail "$1 is visible after a kill but is not the whole output ($(stat -c %s "$work/killed.obj") bytes)" ;;
    *) fail "$1: HTTP $_code after a kill" ;;
  esac
}
# Kill once the saved state (file $2, default crash.state) records $1
# uploaded parts or more, a random few ms later.
kill_after_parts() {
  for _i in $(seq 3000); do
    kill -0 "$pid" 2> /dev/null || return 0
    _tags=$(sed -n 's/.*etags=\([^"]*\)".*/\1/p' "${2:-$work/crash.state}" 2> /dev/null | tr ',' '\n' |
      grep -c . || true)
    [ "${_tags:-0}" -ge "$1" ] && break
    sleep 0.01
  done
  sleep "0.0$((RANDOM % 9))"
  kill -9 "$pid" 2> /dev/null || true
}
kills=0
for run in $(seq 10); do
  nebula_bg "$work/crash.log" --quiet run "$work/p.cfg"
  [ "$kills" -lt 3 ] && kill_after_parts $((kills + 1))
  wait_exit "$pid" 120
  case "$exit_code" in
    0) break ;;
    137) kills=$((kills + 1))
         killed_object_ok out/crash.jsonl ;;
    *) cat "$work/crash.log"; fail "run exited $exit_code" ;;
  esac
done
[ "$exit_code" = 0 ] || fail "the kill loop did not complete"
[ "$kills" -ge 2 ] || fail "only $kills runs were killed"
[ "$(s3_get bkt/out/crash.jsonl "$work/crash.jsonl")" = 200 ] || fail "crash object not readable"
cmp "$work/local.jsonl" "$work/crash.jsonl" || fail "object differs after $kills kills"
[ -z "$(ls "$work/spool")" ] || fail "spool files left behind: $(ls "$work/spool")"
ok "kill -9 x$kills during a $size-byte multipart upload, resumed: object identical, never visible partial, spool emptied"

# 2b. Faults injected by a proxy on every request of an upload (503
# SlowDown, connections dropped halfway through the reply, slow replies):
# parts are retried; the object is complete and exact.  When the reply of
# CompleteMultipartUpload itself is lost, s3rver fails the retry (the
# upload is gone): the writer must recognise its object by the upload's
# token and length, and the run complete.
s3_proxy_start mixed
rm -f "$work/st8"
pipeline "$work/in.csv" s3://bkt/out/fault.jsonl "$work/st8" 0.05
AWS_ENDPOINT_URL=http://127.0.0.1:$proxy nebula run "$work/p.cfg" 2> "$work/log" ||
  { cat "$work/log"; fail "faults: the run failed"; }
s3_proxy_stop
grep -q 'retrying PUT s3://bkt/out/fault.jsonl' "$work/log" || { cat "$work/log"; fail "no part was retried"; }
[ "$(s3_get bkt/out/fault.jsonl "$work/fault.jsonl")" = 200 ] || fail "fault object missing"
cmp "$work/local.jsonl" "$work/fault.jsonl" || fail "object differs with injected faults"
grep -F -q -e "$secret" "$work/log" && fail "faults: the secret appears"
ok "503 SlowDown, dropped connections, slow replies on an upload: parts retried, object exact"

# 2c. Several parts in flight: 4 uploaders, 5 MiB parts, an object of
# 30+ MiB.  The proxy prints the most UploadParts it saw open at once.  A
# commit waits for every part in flight, so the fault run commits only at
# its end: each part then spends seconds in retries while the next ones
# fill, whatever the machine's speed (CI runs this under ASan, two tests
# at a time), and more than one must be seen in flight.
export NEBULA_S3_UPLOAD_CONCURRENCY=4
[ "$size" -gt $((30 << 20)) ] || fail "the local output ($size bytes) is under 30 MiB"
max_in_flight() { sed -n 's/^parts in flight: \([0-9]*\)$/\1/p' "$_plog" | tail -n 1; }
# Every UploadPart fails with a 503, then has its reply dropped, then
# passes, whichever uploader sends it; create and complete get one
# 503 each.  The run must complete.
s3_proxy_start each
rm -f "$work/st9"
pipeline "$work/in.csv" s3://bkt/out/par.jsonl "$work/st9" 600
AWS_ENDPOINT_URL=http://127.0.0.1:$proxy NEBULA_S3_MAX_ATTEMPTS=6 nebula run "$work/p.cfg" \
  2> "$work/log" || { cat "$work/log"; fail "parallel faults: the run failed"; }
s3_proxy_stop
seen=$(max_in_flight)
[ "${seen:-0}" -ge 2 ] || { cat "$_plog"; fail "parallel faults: at most ${seen:-0} part in flight"; }
[ "$seen" -le 4 ] || { cat "$_plog"; fail "parallel faults: $seen parts in flight, over 4"; }
retried=$(grep -c 'retrying PUT s3://bkt/out/par.jsonl' "$work/log" || true)
# Each part's first attempt gets the 503 (a dropped empty reply may
# still reach curl whole, so the second failure is not counted on).
parts=$(( (size + 5242879) / 5242880 ))
slowed=$(grep -c 'retrying PUT s3://bkt/out/par.jsonl .*HTTP status 503' "$work/log" || true)
[ "$slowed" -ge "$parts" ] ||
  { cat "$work/log"; fail "parallel faults: $slowed PUTs retried after a 503 for $parts parts"; }
grep -q 'retrying POST s3://bkt/out/par.jsonl' "$work/log" || { cat "$work/log"; fail "no POST retried"; }
[ "$(s3_get bkt/out/par.jsonl "$work/par.jsonl")" = 200 ] || fail "parallel fault object missing"
cmp "$work/local.jsonl" "$work/par.jsonl" || fail "parallel object differs with injected faults"
grep -F -q -e "$secret" "$work/log" && fail "parallel faults: the secret appears"
ok "$seen parts in flight, each part refused (503) then its reply dropped: $retried PUT retries for $parts parts, object exact"

# The same in a kill -9 loop with a commit every 0.5 s; each UploadPart is
# held 1 s by the proxy.  A new proxy per run: a killed run's held
# requests must not count as the next run's.  How many parts overlap here
# depends on how fast the machine fills them between commits, so it is
# reported, not demanded (the run above demands it).
saved_endpoint=$AWS_ENDPOINT_URL
rm -f "$work/par.state" "$work"/spool/*
pipeline "$work/in.csv" s3://bkt/out/parkill.jsonl "$work/par.state" 0.5
kills=0
most=0
for run in $(seq 12); do
  s3_proxy_start slowparts
  export AWS_ENDPOINT_URL=http://127.0.0.1:$proxy
  nebula_bg "$work/parkill.log" --quiet run "$work/p.cfg"
  [ "$kills" -lt 3 ] && kill_after_parts $((2 * kills + 1)) "$work/par.state"
  wait_exit "$pid" 120
  export AWS_ENDPOINT_URL=$saved_endpoint
  s3_proxy_stop
  seen=$(max_in_flight)
  [ "${seen:-0}" -le 4 ] || { cat "$_plog"; fail "parallel kill loop: $seen parts in flight, over 4"; }
  [ "${seen:-0}" -gt "$most" ] && most=$seen
  case "$exit_code" in
    0) break ;;
    137) kills=$((kills + 1))
         killed_object_ok out/parkill.jsonl ;;
    *) cat "$work/parkill.log"; fail "parallel kill loop: run exited $exit_code" ;;
  esac
done
seen=$most
[ "$exit_code" = 0 ] || fail "the parallel kill loop did not complete"
[ "$kills" -ge 2 ] || fail "parallel: only $kills runs were killed"
[ "$(s3_get bkt/out/parkill.jsonl "$work/parkill.jsonl")" = 200 ] || fail "parkill object not readable"
cmp "$work/local.jsonl" "$work/parkill.jsonl" || fail "parallel object differs after $kills kills"
[ -z "$(ls "$work/spool")" ] || fail "parallel: spool files left behind: $(ls "$work/spool")"
ok "kill -9 x$kills with up to $seen parts in flight ($size bytes): object identical, never visible partial, spool emptied"

# 2d. The two instants around CompleteMultipartUpload, made exact by the
# proxy, and a finished pipeline run again.  (a) Killed after the last
# commit, before the object exists: it is absent, and the next run
# completes it.  (b) Killed after S3 completed the object, before the
# state says so (the completion's reply held back): the object is whole,
# and the next run recognises it by its upload token and length, uploads
# nothing and succeeds.  (c) Running the finished pipeline again succeeds
# and leaves the object as it is.
unset NEBULA_S3_UPLOAD_CONCURRENCY
# Run with the proxy in mode $1 until the proxy prints $2, then kill -9.
killed_at_completion() {
  s3_proxy_start "$1"
  AWS_ENDPOINT_URL=http://127.0.0.1:$proxy nebula_bg "$work/comp.log" run "$work/p.cfg"
  wait_for_text "$_plog" "$2" 120
  kill -9 "$pid"
  wait_exit "$pid" 30
  s3_proxy_stop
  [ "$exit_code" = 137 ] || { cat "$work/comp.log"; fail "$1: the run ended ($exit_code) before the kill"; }
}
rm -f "$work/comp.state" "$work"/spool/*
pipeline "$work/in.csv" s3://bkt/out/comp.jsonl "$work/comp.state" 0.5
killed_at_completion holdcomplete "holding complete"
[ "$(s3_curl -o /dev/null -w '%{http_code}' -I "$endpoint/bkt/out/comp.jsonl")" = 404 ] ||
  fail "held completion: the object exists"
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "held completion: the next run failed"; }
[ "$(s3_get bkt/out/comp.jsonl "$work/comp.jsonl")" = 200 ] || fail "held completion: no object after the next run"
cmp "$work/local.jsonl" "$work/comp.jsonl" || fail "held completion: the object differs"
[ -z "$(ls "$work/spool")" ] || fail "held completion: spool files left behind: $(ls "$work/spool")"
rm -f "$work/comp.state"
killed_at_completion swallowcomplete "complete done upstream, status 200"
[ "$(s3_get bkt/out/comp.jsonl "$work/comp.jsonl")" = 200 ] || fail "swallowed completion: no object"
cmp "$work/local.jsonl" "$work/comp.jsonl" || fail "swallowed completion: the object differs"
s3_curl -o /dev/null -D "$work/head1" -I "$endpoint/bkt/out/comp.jsonl"
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "swallowed completion: the next run failed"; }
grep -q 'is already complete' "$work/log" || { cat "$work/log"; fail "swallowed completion: not recognised"; }
[ -z "$(ls "$work/spool")" ] || fail "swallowed completion: spool files left behind: $(ls "$work/spool")"
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "finished pipeline run again: failed"; }
s3_curl -o /dev/null -D "$work/head2" -I "$endpoint/bkt/out/comp.jsonl"
[ "$(grep -i '^last-modified' "$work/head1")" = "$(grep -i '^last-modified' "$work/head2")" ] ||
  fail "running the finished pipeline again rewrote the object"
[ "$(s3_get bkt/out/comp.jsonl "$work/comp.jsonl")" = 200 ] && cmp -s "$work/local.jsonl" "$work/comp.jsonl" ||
  fail "the object changed after the finished pipeline ran again"
ok "killed before completion: absent, then completed; killed after: whole, recognised by its token; a finished pipeline runs again untouched"

# 2e. A run that must stop (here the watchdog: parts held by the proxy,
# stall_timeout 2 s) interrupts the part uploads in flight instead of
# waiting for them (NEBULA_S3_TIMEOUT is 600 s here): the writer returns
# and is closed, so the host has no call to abandon.
rm -f "$work/hold.state"
pipeline "$work/in.csv" s3://bkt/out/hold.jsonl "$work/hold.state" 3600
sed -i 's/state_file = /stall_timeout = 2; &/' "$work/p.cfg"
s3_proxy_start holdparts
: > "$work/hold.log"
AWS_ENDPOINT_URL=http://127.0.0.1:$proxy NEBULA_S3_TIMEOUT=600 nebula_bg "$work/hold.log" run "$work/p.cfg"
wait_exit "$pid" 120
s3_proxy_stop
[ "$exit_code" != 0 ] || { cat "$work/hold.log"; fail "held parts: the run succeeded"; }
grep -q 'made no progress for' "$work/hold.log" || { cat "$work/hold.log"; fail "held parts: no watchdog"; }
grep -q 'did not return from' "$work/hold.log" &&
  { cat "$work/hold.log"; fail "held parts: the writer did not return after cancellation"; }
ok "parts held by the server, the run stopped by its watchdog: uploads interrupted, writer closed"

# 3. Clear errors, never the secret.
refused() {  # what, expected text, destination path
  rm -f "$work/st4"
  pipeline "$work/in.csv" "$3" "$work/st4" 3600
  if nebula run "$work/p.cfg" > "$work/out" 2> "$work/log"; then
    cat "$work/log"
    fail "$1: the run succeeded"
  fi
  grep -F -q -e "$2" "$work/log" || { cat "$work/log"; fail "$1: \"$2\" not in the error"; }
  if grep -F -q -e "$secret" "$work/log" "$work/out"; then fail "$1: the secret appears"; fi
  ok "$1: $2"
}
(export NEBULA_S3_PART_SIZE=5242879
 refused "part_size under 5 MiB" "NEBULA_S3_PART_SIZE" s3://bkt/out/small.jsonl)
(export AWS_ACCESS_KEY_ID=NOTTHEKEY
 refused "wrong access key" "InvalidAccessKeyId" s3://bkt/out/w.jsonl)
refused "missing bucket" "NoSuchBucket" s3://nobucket/out/w.jsonl
code=$(s3_curl -o /dev/null -w '%{http_code}' -I "$endpoint/bkt/out/w.jsonl")
[ "$code" = 404 ] || fail "a refused run left an object (HTTP $code)"

# A resume whose spool file is gone: a clear error, never a silent loss.
rm -f "$work/st5"
pipeline "$work/in.csv" s3://bkt/out/lost.jsonl "$work/st5" 0.05
nebula_bg "$work/lost.log" --quiet run "$work/p.cfg"
for _i in $(seq 3000); do
  grep -q 'spool=/' "$work/st5" 2> /dev/null && break
  kill -0 "$pid" 2> /dev/null || break
  sleep 0.01
done
kill -9 "$pid" 2> /dev/null || true
wait_exit "$pid" 60
spool=$(sed -n 's/.*spool=\(\/[^;]*\);.*/\1/p' "$work/st5")
[ -n "$spool" ] || fail "no committed spool file to remove (run exited $exit_code)"
if NEBULA_S3_PART_SIZE=6291456 nebula run "$work/p.cfg" 2> "$work/log"; then
  fail "resume with another part size succeeded"
fi
grep -q 'NEBULA_S3_PART_SIZE is 6291456 now' "$work/log" || { cat "$work/log"; fail "part size change: no clear error"; }
ok "resume with another NEBULA_S3_PART_SIZE: clear error"
rm -f "$spool"
if nebula run "$work/p.cfg" 2> "$work/log"; then fail "resume without its spool file succeeded"; fi
grep -q 'spool file' "$work/log" || { cat "$work/log"; fail "missing spool: no clear error"; }
ok "resume with its spool file removed: clear error naming the spool file"

# 4. An upload left by a killed run: listed from the state file.  --abort
# sends AbortMultipartUpload, which s3rver does not implement (405): the
# error names the operation and nothing is removed, so the run can still
# be resumed to completion.
rm -f "$work/st6"
rm -f "$work"/spool/*
pipeline "$work/in.csv" s3://bkt/out/pend.jsonl "$work/st6" 0.05
nebula_bg "$work/pend.log" --quiet run "$work/p.cfg"
for _i in $(seq 3000); do
  grep -q 'etags=[0-9a-f]' "$work/st6" 2> /dev/null && grep -q 'spool=/' "$work/st6" && break
  kill -0 "$pid" 2> /dev/null || break
  sleep 0.01
done
kill -9 "$pid" 2> /dev/null || true
wait_exit "$pid" 60
[ "$exit_code" = 137 ] || fail "the run to abandon was not killed (exit $exit_code)"
nebula uploads "$work/st6" > "$work/up" 2> "$work/log" || { cat "$work/log"; fail "uploads"; }
grep -q '^pending	s3://bkt/out/pend.jsonl	[0-9]* bytes committed	s3mpu2;' "$work/up" ||
  { cat "$work/up"; fail "upload not listed"; }
ok "nebula-host uploads lists the upload a killed run left"
spools=$(ls "$work/spool")
[ -n "$spools" ] || fail "no spool file before the abort"
if nebula uploads --abort "$work/st6" > "$work/up" 2> "$work/log"; then
  fail "--abort succeeded on s3rver, which has no AbortMultipartUpload: update this test"
fi
grep -q 'MethodNotAllowed' "$work/log" && grep -q 'aborting the multipart upload' "$work/log" ||
  { cat "$work/log"; fail "failed abort: no clear error"; }
[ "$(ls "$work/spool")" = "$spools" ] || fail "a failed abort removed spool files"
nebula run "$work/p.cfg" 2> "$work/log" || { cat "$work/log"; fail "resume after a failed abort"; }
[ "$(s3_get bkt/out/pend.jsonl "$work/pend.jsonl")" = 200 ] || fail "pend object not readable"
cmp "$work/local.jsonl" "$work/pend.jsonl" || fail "pend object differs"
ok "--abort refused by the server: clear error, nothing removed, the resumed run completes it"
