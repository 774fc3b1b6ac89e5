#!/bin/sh
# test_codec_interop.sh - what Nebula's file layer writes, the standard tools
# read (gzip -d, zstd -d, lz4 -d, and for snappy framing the npm package
# @chainsafe/snappy-stream), and what they write, Nebula reads.  Covers
# single and multiple frames, commit + resume, empty files and stdin.
#
# The snappy side needs node and @chainsafe/snappy-stream under
# $NEBULA_NODE_MODULES (default ~/.cache/nebula/node_modules), installed by
# .ci/install-deps.sh (the README's set-up command).  Without it the test
# fails, saying how to install it: a skipped interop test proves nothing.
set -u

srcdir=${srcdir:-.}
builddir=${builddir:-.}
io_tool="$builddir/io_tool"
node_modules=${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}

passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/codec_interop.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
# check NAME EXPECTED_FILE ACTUAL_FILE
check() {
  if cmp -s "$2" "$3"; then ok "$1"; else not_ok "$1"; fi
}

for tool in gzip zstd lz4; do
  command -v "$tool" >/dev/null || { echo "missing the $tool CLI (Debian package $tool)"; exit 99; }
done

# Test data: CSV-like text (with a multi-line tail), random bytes, empty.
awk 'BEGIN { srand(1); for (i = 0; i < 40000; i++)
  printf "%d,user%d,%05d,\"city %d\",%.2f\n", i, int(rand()*1000), int(rand()*100000),
         int(rand()*50), rand()*1000 }' > "$work/text"
head -c 300000 /dev/urandom > "$work/random"
: > "$work/empty"
cat "$work/text" "$work/random" > "$work/both"

# nebula_write CODEC INPUT OUTPUT [io_tool options...]
nebula_write() {
  codec=$1 in=$2 out=$3
  shift 3
  "$io_tool" write -c "$codec" "$@" "$out" < "$in" 2>"$work/stderr" || { cat "$work/stderr"; return 1; }
}

# --- Nebula writes, the CLI reads ------------------------------------------
for codec in gzip zstd lz4; do
  for data in text random empty both; do
    out="$work/n.$codec.$data"
    if nebula_write "$codec" "$work/$data" "$out" &&
       "$codec" -d -c < "$out" > "$out.plain" 2>"$work/stderr"; then
      check "$codec -d reads what nebula wrote ($data)" "$work/$data" "$out.plain"
    else
      cat "$work/stderr"; not_ok "$codec -d reads what nebula wrote ($data)"
    fi
  done
  # Many frames (a commit every 64 KiB), 1-byte writes, a level, threads.
  out="$work/n.$codec.frames"
  nebula_write "$codec" "$work/both" "$out" -m 65536 -b 4096 &&
    "$codec" -d -c < "$out" > "$out.plain" && check "$codec -d reads nebula's frames" "$work/both" "$out.plain" ||
    not_ok "$codec -d reads nebula's frames"
  head -c 5000 "$work/text" > "$work/small"
  out="$work/n.$codec.bytes"
  nebula_write "$codec" "$work/small" "$out" -b 1 &&
    "$codec" -d -c < "$out" > "$out.plain" && check "$codec -d reads 1-byte writes" "$work/small" "$out.plain" ||
    not_ok "$codec -d reads 1-byte writes"
  case $codec in gzip) level=9 ;; zstd) level=19 ;; lz4) level=9 ;; esac
  out="$work/n.$codec.level"
  nebula_write "$codec" "$work/text" "$out" -l $level &&
    "$codec" -d -c < "$out" > "$out.plain" && check "$codec -d reads level $level" "$work/text" "$out.plain" ||
    not_ok "$codec -d reads level $level"
done
out="$work/n.zstd.mt"
nebula_write zstd "$work/both" "$out" -t 2 &&
  zstd -d -c < "$out" > "$out.plain" && check "zstd -d reads nebula's multi-threaded zstd" "$work/both" "$out.plain" ||
  not_ok "zstd -d reads nebula's multi-threaded zstd"

# Commit, uncommitted junk, resume at the committed length, append.
for codec in gzip zstd lz4 snappy; do
  out="$work/r.$codec"
  head -c 100000 "$work/text" > "$work/part1"
  tail -c +100001 "$work/text" > "$work/part2"
  nebula_write "$codec" "$work/part1" "$out" || { not_ok "resume $codec"; continue; }
  committed=$(sed -n 's/^committed //p' "$work/stderr")
  head -c 5000 "$work/random" >> "$out"   # a crash left garbage after the commit
  nebula_write "$codec" "$work/part2" "$out" -r "$committed" || { not_ok "resume $codec"; continue; }
  "$io_tool" read "$out" > "$out.plain" && check "nebula reads its resumed $codec file" "$work/text" "$out.plain" ||
    not_ok "nebula reads its resumed $codec file"
  if [ "$codec" != snappy ]; then
    "$codec" -d -c < "$out" > "$out.cli" && check "$codec -d reads a resumed file" "$work/text" "$out.cli" ||
      not_ok "$codec -d reads a resumed file"
  fi
done

# --- The CLI writes, Nebula reads -----------------------------------------
# cli_case NAME DATA COMMAND...: COMMAND compresses stdin to stdout.
cli_case() {
  name=$1 data=$2
  shift 2
  "$@" < "$work/$data" > "$work/c.tmp" 2>"$work/stderr" || { cat "$work/stderr"; not_ok "$name"; return; }
  if "$io_tool" read "$work/c.tmp" > "$work/c.plain" 2>"$work/stderr"; then
    check "$name" "$work/$data" "$work/c.plain"
  else
    cat "$work/stderr"; not_ok "$name"
  fi
}
for data in text random empty both; do
  cli_case "nebula reads gzip -c ($data)" $data gzip -c
  cli_case "nebula reads gzip -1 ($data)" $data gzip -1 -c
  cli_case "nebula reads zstd ($data)" $data zstd -q -c
  cli_case "nebula reads zstd --no-check -T2 ($data)" $data zstd -q -c --no-check -T2
  cli_case "nebula reads lz4 ($data)" $data lz4 -q -c
  cli_case "nebula reads lz4 -BD -B4 --content-size ($data)" $data lz4 -q -c -BD -B4 --content-size
  cli_case "nebula reads lz4 --no-frame-crc -9 ($data)" $data lz4 -q -c --no-frame-crc -9
done
# Multi-member gzip and concatenated frames, as `cat a.gz b.gz` makes them.
for codec in gzip zstd lz4; do
  "$codec" -q -c < "$work/text" > "$work/cat.$codec"
  "$codec" -q -c < "$work/random" >> "$work/cat.$codec"
  "$io_tool" read "$work/cat.$codec" > "$work/cat.plain" && check "nebula reads concatenated $codec" "$work/both" "$work/cat.plain" ||
    not_ok "nebula reads concatenated $codec"
  # And through standard input.
  "$io_tool" read - < "$work/cat.$codec" > "$work/cat.plain" && check "nebula reads $codec on stdin" "$work/both" "$work/cat.plain" ||
    not_ok "nebula reads $codec on stdin"
done
# A truncated file from the CLI is an error naming the codec, never short data.
zstd -q -c < "$work/text" | head -c 20000 > "$work/trunc.zst"
if "$io_tool" read "$work/trunc.zst" > /dev/null 2>"$work/stderr"; then
  not_ok "truncated zstd is an error"
elif grep -q 'truncated zstd data in file ".*trunc.zst": unexpected end of file after byte 20000' "$work/stderr"; then
  ok "truncated zstd is an error"
else
  cat "$work/stderr"; not_ok "truncated zstd is an error"
fi

# --- snappy framing against @chainsafe/snappy-stream ----------------------
if command -v node >/dev/null && [ -d "$node_modules/@chainsafe/snappy-stream" ]; then
  snappy_js() { NODE_PATH="$node_modules" node "$srcdir/e2e/snappy_interop.js" "$@"; }
  for data in text random empty both; do
    out="$work/n.snappy.$data"
    if nebula_write snappy "$work/$data" "$out" && snappy_js uncompress < "$out" > "$out.plain"; then
      check "snappy-stream reads what nebula wrote ($data)" "$work/$data" "$out.plain"
    else
      not_ok "snappy-stream reads what nebula wrote ($data)"
    fi
    cli_case "nebula reads snappy-stream ($data)" $data snappy_js compress
  done
  out="$work/n.snappy.frames"
  nebula_write snappy "$work/both" "$out" -m 10000 -b 777 && snappy_js uncompress < "$out" > "$out.plain" &&
    check "snappy-stream reads nebula's odd-sized commits" "$work/both" "$out.plain" ||
    not_ok "snappy-stream reads nebula's odd-sized commits"
else
  not_ok "snappy interop: node or @chainsafe/snappy-stream missing under $node_modules"
  echo "Install the test dependencies with: sh .ci/install-deps.sh (or set NEBULA_NODE_MODULES)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
