#!/bin/bash
# Damaged Arrow IPC input: every byte of a small file (file and streaming
# format, with and without body compression) flipped, and the file cut at
# every length.  nebula-host must end with success (a flipped value byte
# is still a valid file) or with a clean error (exit 1, a message naming
# the file), never a crash or a hang.  Run under ASan in CI.
# ARROW_CORRUPT_STRIDE (default 2: every other byte, to bound the time;
# tests/fuzz/fuzz_arrow.c covers every byte in-process) tests every Nth.
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
: "${srcdir:=.}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-arrow-corrupt.XXXXXX")
trap 'rm -rf "$work"' EXIT
stride=${ARROW_CORRUPT_STRIDE:-2}
nb() { timeout 20 "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

printf 'id,name,amount,day\n1,ä€,1.25,2024-01-02\n,,,\n-7,x,-0.01,1970-01-01\n' > "$work/in.csv"
cols='columns=id:int64;name:string;amount:decimal(9,2);day:date'
nb pipeline csv arrow --source-path "$work/in.csv" --dest-path "$work/a.arrow" -s "$cols" -s null_string=
nb pipeline csv arrow --source-path "$work/in.csv" --dest-path "$work/a.arrows" -s "$cols" -s null_string=
nb pipeline csv arrow --source-path "$work/in.csv" --dest-path "$work/z.arrows" -s "$cols" -s null_string= -s compression=zstd
nb pipeline arrow json --source-path "$work/a.arrow" --dest-path "$work/ref.jsonl"

# Status of reading $1: 0 or 1 are fine, anything else (a signal, a
# timeout) is a failure.
check() {
  set +e
  nb pipeline arrow json --source-path "$1" --dest-path "$work/out.jsonl" 2> "$work/err"
  rc=$?
  set -e
  case $rc in
    0) ;;
    1) grep -q "$1\|arrow" "$work/err" || { cat "$work/err"; fail "$2: error does not name the file"; } ;;
    *) cat "$work/err"; fail "$2: exit status $rc" ;;
  esac
}

tested=0
for f in a.arrow a.arrows z.arrows; do
  size=$(stat -c %s "$work/$f")
  for ((i = 0; i < size; i += stride)); do
    perl -e 'my ($in, $out, $at) = @ARGV; open(my $h, "<:raw", $in) or die; local $/; my $d = <$h>;
             substr($d, $at, 1) = chr(ord(substr($d, $at, 1)) ^ 0xff);
             open(my $o, ">:raw", $out) or die; print $o $d;' "$work/$f" "$work/bad" "$i"
    check "$work/bad" "$f byte $i flipped"
    head -c "$i" "$work/$f" > "$work/cut"
    check "$work/cut" "$f cut at $i"
    tested=$((tested + 2))
  done
done
# A cut stream at a message boundary is a shorter stream; cut inside a
# message it is an error naming the offset.
size=$(stat -c %s "$work/a.arrows")
head -c $((size - 20)) "$work/a.arrows" > "$work/cut.arrows"
if nb pipeline arrow json --source-path "$work/cut.arrows" --dest-path "$work/out.jsonl" 2> "$work/err"; then
  fail "a stream cut inside a body was read without an error"
fi
grep -q "offset" "$work/err" || { cat "$work/err"; fail "the error does not give the message offset"; }

# Text that is not UTF-8 in a Utf8 column: a bad record (the batch), named
# by column and row; with on_error = skip the batches after it are read.
printf 's\naa\nzz\nbb\n' > "$work/u.csv"
nb pipeline csv arrow --source-path "$work/u.csv" --dest-path "$work/u.arrows" --batch-rows 1
perl -e 'my ($f) = @ARGV; open(my $h, "+<:raw", $f) or die; local $/; my $d = <$h>;
         $d =~ s/zz/\xff\xfe/ or die "no zz"; seek($h, 0, 0); print $h $d;' "$work/u.arrows"
if nb pipeline arrow json --source-path "$work/u.arrows" --dest-path "$work/u.jsonl" 2> "$work/err"; then
  fail "invalid UTF-8 was read without an error"
fi
grep -q 'column "s", row 1: the text is not valid UTF-8' "$work/err" || { cat "$work/err"; fail "no UTF-8 error"; }
nb pipeline arrow json --source-path "$work/u.arrows" --dest-path "$work/u.jsonl" --on-error skip 2> /dev/null
[ "$(cat "$work/u.jsonl")" = '{"s":"aa"}
{"s":"bb"}' ] || { cat "$work/u.jsonl"; fail "skipping the bad batch did not go on with the next"; }
echo "arrow damaged input ok: $tested damaged files"
