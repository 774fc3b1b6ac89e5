#!/bin/bash
# End to end: s3:// paths through the s3 storage module against s3rver on
# loopback.  csv objects (plain, gzip, read in many small ranged chunks)
# -> json lines equal the same pipeline on local files byte for byte; a
# glob over 1100 objects (two ListObjectsV2 pages); kill -9 while reading a
# large object, resumed by ranged GETs, equals the uninterrupted run;
# read-ahead fetches ranges on a second connection;
# credentials from a profile; and clear errors, never showing the secret:
# wrong access key, missing bucket, missing key, unknown scheme,
# unreachable endpoint.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
. "${srcdir:-.}/plugins/s3/s3_lib.sh" || exit 1
s3_start bkt
secret=NebulaTestSecret0123456789abcdef
export AWS_SECRET_ACCESS_KEY=$secret   # s3rver checks the key id, not the signature
ok() { echo "ok: $*"; }

# A pipeline csv (path $1) -> json lines file $2, state $3.
pipeline() {
  cat > "$work/p.cfg" <<CFG
source = { connector = "csv"; path = "$1"; header = true; };
destination = { connector = "json"; path = "$2"; format = "lines"; };
engine = { batch_rows = 500; commit_interval = 0.02; state_file = "$3"; };
CFG
}
run_pipeline() {  # source path, output file: a fresh run, stderr in $work/log
  rm -f "$work/state.json"
  pipeline "$1" "$2" "$work/state.json"
  nebula run "$work/p.cfg" 2> "$work/log"
}

# 1. One object, plain and gzip, compared with local files; small chunks.
mkdir "$work/in"
nebula --quiet pipeline generate csv -s rows=20000 -s seed=3 --dest-path "$work/in/big.csv"
gzip -c "$work/in/big.csv" > "$work/big.csv.gz"
s3_put "$work/in/big.csv" bkt/data/big.csv
s3_put "$work/big.csv.gz" bkt/data/big.csv.gz
run_pipeline "$work/in/big.csv" "$work/local.jsonl" || { cat "$work/log"; fail "local run"; }
NEBULA_S3_READ_CHUNK_SIZE=65536 run_pipeline s3://bkt/data/big.csv "$work/s3.jsonl" ||
  { cat "$work/log"; fail "s3 run"; }
cmp "$work/local.jsonl" "$work/s3.jsonl" || fail "csv on S3 -> json differs from the local run"
ok "csv on S3 (65536-byte ranged reads) -> json equals the local run"
run_pipeline s3://bkt/data/big.csv.gz "$work/s3gz.jsonl" || { cat "$work/log"; fail "gzip run"; }
cmp "$work/local.jsonl" "$work/s3gz.jsonl" || fail "csv.gz on S3 -> json differs"
ok "csv.gz on S3 (host decompression on top) -> json equals the local run"

# Read-ahead: the range after the current chunk is fetched on a second
# connection, so a plain proxy sees ranged GETs on two connections or
# more (one alone would be a reader without read-ahead); output exact.
s3_proxy_start pass
(export AWS_ENDPOINT_URL=http://127.0.0.1:$proxy NEBULA_S3_READ_CHUNK_SIZE=65536
 run_pipeline s3://bkt/data/big.csv "$work/ahead.jsonl") ||
  { s3_proxy_stop; cat "$work/log"; fail "run through the plain proxy"; }
s3_proxy_stop
conns=$(grep -c '^ranged GET on connection' "$_plog" || true)
[ "$conns" -ge 2 ] || { cat "$_plog"; fail "ranged GETs on $conns connection(s): no read-ahead"; }
cmp "$work/local.jsonl" "$work/ahead.jsonl" || fail "csv on S3 with read-ahead differs from the local run"
ok "read-ahead: ranged GETs on $conns connections, output equals the local run"

# 2. A glob over 1100 objects: ListObjectsV2 pagination (1000 per page).
mkdir "$work/many"
for i in $(seq -w 1 1100); do printf 'n,v\n%s,00501\n' "$i" > "$work/many/p$i.csv"; done
s3_put_dir "$work/many" bkt/many
printf 'n,v\n9,skipped\n' > "$work/other.txt"
s3_put "$work/other.txt" bkt/many/other.txt
run_pipeline "$work/many/*.csv" "$work/many-local.jsonl" || { cat "$work/log"; fail "local glob"; }
run_pipeline "s3://bkt/many/*.csv" "$work/many-s3.jsonl" || { cat "$work/log"; fail "s3 glob"; }
[ "$(wc -l < "$work/many-s3.jsonl")" -eq 1100 ] || fail "glob: $(wc -l < "$work/many-s3.jsonl") records, not 1100"
cmp "$work/many-local.jsonl" "$work/many-s3.jsonl" || fail "glob over S3 differs from the local glob"
grep -q '"v":"00501"' "$work/many-s3.jsonl" || fail "00501 did not stay a string"
ok "glob over 1100 objects in two listing pages equals the local glob"

# 3. kill -9 while reading, resume until done: equals the uninterrupted run.
# Small chunks make many GETs.
export NEBULA_S3_READ_CHUNK_SIZE=16384
pipeline s3://bkt/data/big.csv "$work/crash.jsonl" "$work/crash.state"
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
kills=0
for run in $(seq 12); do
  nebula_bg "$work/crash.log" --quiet run "$work/p.cfg"
  [ "$kills" -lt 3 ] && kill_after_commit
  wait_exit "$pid" 120
  case "$exit_code" in
    0) [ "$kills" -ge 3 ] && break
       # Done before a kill landed: start again from nothing.
       rm -f "$work/crash.state" "$work/crash.jsonl" ;;
    137) kills=$((kills + 1)) ;;
    *) cat "$work/crash.log"; fail "run exited $exit_code" ;;
  esac
done
[ "$exit_code" = 0 ] || fail "the kill loop did not complete"
cmp "$work/local.jsonl" "$work/crash.jsonl" || fail "output differs after $kills kills"
[ "$kills" -ge 1 ] || fail "no run was killed"
grep -q '"finished": false' "$work/crash.state" && fail "state not complete after the last run"
unset NEBULA_S3_READ_CHUNK_SIZE
ok "kill -9 x$kills after commits while reading from S3, resumed with ranged GETs: output identical"

# 3b. Faults injected by a proxy: 503 SlowDown, connections dropped
# halfway, slow replies: retried, the output is still exact.  A server that
# always fails: a clear error after the attempts, nothing written as done.
s3_proxy_start mixed
(export AWS_ENDPOINT_URL=http://127.0.0.1:$proxy NEBULA_S3_READ_CHUNK_SIZE=262144
 run_pipeline s3://bkt/data/big.csv "$work/fault.jsonl") || { s3_proxy_stop; cat "$work/log"; fail "run through the fault proxy"; }
s3_proxy_stop
cmp "$work/local.jsonl" "$work/fault.jsonl" || fail "output differs with injected faults"
grep -q 'retrying GET s3://bkt/data/big.csv' "$work/log" || fail "no retry was logged"
ok "503 SlowDown, dropped connections and slow replies retried: output exact"
s3_proxy_start always500
rm -f "$work/state.json" "$work/f500.jsonl"
pipeline s3://bkt/data/big.csv "$work/f500.jsonl" "$work/state.json"
if AWS_ENDPOINT_URL=http://127.0.0.1:$proxy NEBULA_S3_MAX_ATTEMPTS=3 nebula run "$work/p.cfg" 2> "$work/log"; then
  s3_proxy_stop; fail "a failing server gave a successful run"
fi
s3_proxy_stop
grep -q 'failed after 3 attempts: HTTP status 500' "$work/log" || { cat "$work/log"; fail "500: unclear error"; }
ok "a server failing every request: clear error after 3 attempts"
# 429 (throttling by S3-compatible stores) is transient like 503: retried,
# the output exact (it used to be final, as a 4xx).
s3_proxy_start alternate429
rm -f "$work/state.json" "$work/f429.jsonl"
(export AWS_ENDPOINT_URL=http://127.0.0.1:$proxy
 run_pipeline s3://bkt/data/big.csv "$work/f429.jsonl") || { s3_proxy_stop; cat "$work/log"; fail "run through a throttling proxy"; }
s3_proxy_stop
cmp "$work/local.jsonl" "$work/f429.jsonl" || fail "output differs with 429 replies"
grep -q 'HTTP status 429' "$work/log" || { cat "$work/log"; fail "no 429 retry was logged"; }
ok "429 TooManyRequests retried: output exact"

# 4. Credentials from a profile of ~/.aws/credentials (AWS_PROFILE).
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = WRONG\naws_secret_access_key = x\n[nb]\naws_access_key_id = S3RVER\naws_secret_access_key = %s\n' \
  "$secret" > "$HOME/.aws/credentials"
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; AWS_PROFILE=nb run_pipeline s3://bkt/data/big.csv "$work/prof.jsonl") ||
  { cat "$work/log"; fail "profile credentials"; }
cmp "$work/local.jsonl" "$work/prof.jsonl" || fail "profile run differs"
ok "credentials from the profile nb of ~/.aws/credentials"

# 5. Errors: exit status, message, and never the secret (even at debug).
refused() {  # description, expected text, source path
  rm -f "$work/state.json"
  pipeline "$3" "$work/err.jsonl" "$work/state.json"
  if nebula --log-level debug run "$work/p.cfg" > "$work/out" 2> "$work/log"; then
    fail "$1: the run succeeded"
  fi
  grep -F -q -e "$2" "$work/log" || { cat "$work/log"; fail "$1: \"$2\" not in the error"; }
  if grep -F -q -e "$secret" "$work/log" "$work/out" "$work/state.json" 2> /dev/null; then
    fail "$1: the secret appears in the output"
  fi
  ok "$1: $2"
}
(export AWS_ACCESS_KEY_ID=NOSUCHKEY; refused "wrong access key" InvalidAccessKeyId s3://bkt/data/big.csv)
(export AWS_ACCESS_KEY_ID=NOSUCHKEY; refused "wrong access key names the object" "s3://bkt/data/big.csv" s3://bkt/data/big.csv)
refused "missing bucket" NoSuchBucket s3://nobucket/data/big.csv
refused "missing bucket, glob" NoSuchBucket "s3://nobucket/data/*.csv"
refused "missing key" "NoSuchKey" s3://bkt/data/none.csv
refused "no match" 'no object matches "s3://bkt/data/*.json"' "s3://bkt/data/*.json"
refused "unknown scheme" 'nebula-storage-gcsx' gcsx://bkt/data/big.csv
(export NEBULA_S3_MAX_ATTEMPTS=2 AWS_ENDPOINT_URL=http://127.0.0.1:1
 refused "unreachable endpoint" "failed after 2 attempts" s3://bkt/data/big.csv)
# Writing s3:// objects: s3_write.sh.

# file:// is the local layer.
run_pipeline "file://$work/in/big.csv" "$work/file.jsonl" || { cat "$work/log"; fail "file://"; }
cmp "$work/local.jsonl" "$work/file.jsonl" || fail "file:// differs"
ok "file:// paths are local files"
