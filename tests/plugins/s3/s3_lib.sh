# s3_lib.sh - start s3rver (npm, test-only) for the s3 storage tests
# (sourced after engine_lib.sh): its own directory under $work, a free
# loopback port (s3rver binds port 0 and prints the one it got), stopped by
# the EXIT trap even on failure.  Objects are put with the curl program
# (its own SigV4 signing, not the module's code).  s3rver is looked up in
# $NEBULA_NODE_MODULES (default ~/.cache/nebula/node_modules), installed by
# .ci/install-deps.sh; a missing s3rver fails the test, saying so.
node_modules=${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}
s3rver_js="$node_modules/s3rver/bin/s3rver.js"
[ -f "$s3rver_js" ] || fail "s3rver not found in $node_modules: run .ci/install-deps.sh"
command -v curl > /dev/null || fail "the curl program is needed to put test objects"
s3_pid=
proxy_pid=
# The EXIT trap: stop the servers (ignoring ones already gone) and remove
# the scratch directory; never changes the script's exit status.
s3_cleanup() {
  set +e
  [ -z "$s3_pid" ] || kill "$s3_pid" 2> /dev/null
  [ -z "$proxy_pid" ] || kill "$proxy_pid" 2> /dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
  return 0
}
trap s3_cleanup EXIT

# Start s3rver with bucket $1; $endpoint is its URL.
s3_start() {
  mkdir -p "$work/s3data"
  # Node 17+: s3rver's continuation tokens use a cipher OpenSSL 3 keeps in
  # its legacy provider (listings past 1000 keys fail with a 500 without).
  NODE_OPTIONS=--openssl-legacy-provider node "$s3rver_js" -d "$work/s3data" -a 127.0.0.1 \
    -p 0 --configure-bucket "$1" > "$work/s3rver.log" 2>&1 &
  s3_pid=$!
  # The child shell creates the log when it gets to run: on a loaded
  # machine that may be after the first look (and sed fails on a missing
  # file, which set -e would turn into the test's exit).
  port=
  for _i in $(seq 300); do
    [ -f "$work/s3rver.log" ] &&
      port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/s3rver.log")
    [ -n "$port" ] && break
    kill -0 "$s3_pid" 2> /dev/null || { cat "$work/s3rver.log"; fail "s3rver did not start"; }
    sleep 0.1
  done
  [ -n "$port" ] || fail "s3rver did not say its port within 30 s"
  endpoint="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
  export AWS_REGION=us-east-1 HOME="$work/home"
  mkdir -p "$HOME"
}

# Start the fault proxy (s3_fault_proxy.js) in mode $1 in front of
# s3rver; sets $proxy (its port) and $proxy_pid.  Every start logs to a new
# file: the shell opens a background child's log only when the child runs,
# so a reused file could still show a stopped proxy's port.
proxy_starts=0
s3_proxy_start() {
  proxy_starts=$((proxy_starts + 1))
  _plog="$work/proxy.$proxy_starts.log"
  node "$srcdir/plugins/s3/s3_fault_proxy.js" "$port" "$1" > "$_plog" 2>&1 &
  proxy_pid=$!
  proxy=
  for _i in $(seq 300); do
    [ -f "$_plog" ] && proxy=$(sed -n 's/^proxy listening on \([0-9][0-9]*\)$/\1/p' "$_plog")
    [ -n "$proxy" ] && return 0
    kill -0 "$proxy_pid" 2> /dev/null || { cat "$_plog"; fail "the fault proxy stopped at start"; }
    sleep 0.1
  done
  fail "the fault proxy did not say its port within 30 s"
}

# Stop the fault proxy and wait until it is gone.
s3_proxy_stop() {
  kill "$proxy_pid" 2> /dev/null || true
  wait "$proxy_pid" 2> /dev/null || true
  proxy_pid=
}

# curl with SigV4 for s3rver.
s3_curl() {
  curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# Put local file $1 as object $2 ("bucket/key").
s3_put() {
  _code=$(s3_curl -o /dev/null -w '%{http_code}' -T "$1" "$endpoint/$2")
  [ "$_code" = 200 ] || fail "could not put $2: HTTP $_code"
}

# Put every file of directory $1 under prefix $2 ("bucket/dir") in one curl
# run (a config file of upload-file/url pairs).
s3_put_dir() {
  : > "$work/put.curlrc"
  for _f in "$1"/*; do
    printf 'upload-file = "%s"\nurl = "%s/%s/%s"\noutput = /dev/null\n' "$_f" "$endpoint" \
      "$2" "${_f##*/}" >> "$work/put.curlrc"
  done
  s3_curl -f -K "$work/put.curlrc" || fail "could not put the files of $1"
}
