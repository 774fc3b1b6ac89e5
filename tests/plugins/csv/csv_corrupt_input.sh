#!/bin/sh
# csv source: corrupt or truncated compressed input ends the stream with an
# error, never a loop (issue 9, item 8).
#
# The host's file layer reports corrupt or truncated compressed data as
# NB_DATA from file_read.  That is a stream failure, not a bad record: the
# run must end with exit 1 and the codec's message whatever the settings
# (header = false and infer_types = true used to loop forever even with
# on_error = fail; on_error = skip and dead_letter rejected the same place
# forever), after delivering exactly the records decoded before the damage.
# Every run is under `timeout`, so a loop fails the test instead of hanging.
set -eu
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-csv-corrupt.XXXXXX")
trap 'rm -rf "$work"' EXIT
nb() { timeout 20 "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }
failures=0
fail() {
  echo "FAIL: $*"
  sed 's/^/  stderr: /' "$work/err"
  failures=$((failures + 1))
}

nb pipeline generate csv -s rows=10000 -s seed=3 --dest-path "$work/full.csv"

# What the undamaged file gives with each reading of it.
nb pipeline csv json --source-path "$work/full.csv" --dest-path "$work/want-plain.jsonl" \
  --format lines
nb pipeline csv json --source-path "$work/full.csv" --dest-path "$work/want-noheader.jsonl" \
  --format lines -s header=false
nb pipeline csv json --source-path "$work/full.csv" --dest-path "$work/want-infer.jsonl" \
  --format lines -s infer_types=true

# run NAME INPUT WANT SETTINGS...: the run must end (not time out) with
# exit 1 and name the file; its output must be a prefix of want-WANT.jsonl.
run() {
  name=$1
  input=$2
  want="$work/want-$3.jsonl"
  shift 3
  rm -f "$work/out.jsonl" "$work/dead.jsonl"
  code=0
  nb pipeline csv json --source-path "$input" --dest-path "$work/out.jsonl" \
    --format lines "$@" 2> "$work/err" || code=$?
  if [ "$code" -eq 124 ]; then
    fail "$name: did not end within 20 seconds"
    return
  fi
  if [ "$code" -ne 1 ]; then
    fail "$name: exit status $code, expected 1"
    return
  fi
  grep -q "$(basename "$input")" "$work/err" || fail "$name: the error does not name the file"
  grep -q "bad record" "$work/err" && fail "$name: reported as a bad record"
  if [ -s "$work/dead.jsonl" ]; then fail "$name: the failure went to the dead-letter file"; fi
  # The records before the damage are delivered, unchanged and in order.
  got=0
  [ -f "$work/out.jsonl" ] && got=$(wc -l < "$work/out.jsonl")
  if [ "$got" -gt 0 ] && ! head -n "$got" "$want" | cmp -s - "$work/out.jsonl"; then
    fail "$name: the $got records delivered are not the first $got of the file"
  fi
  echo "ok: $name ($got records before the damage)"
}

for ext in gz zst lz4 sz; do
  nb pipeline csv csv --source-path "$work/full.csv" --dest-path "$work/full.csv.$ext"
  size=$(wc -c < "$work/full.csv.$ext")
  # Truncated in the middle, and right after the first few bytes (before
  # the first complete record: the header, or with header = false the
  # record that gives the column count).
  head -c $((size / 2)) "$work/full.csv.$ext" > "$work/half.csv.$ext"
  head -c 24 "$work/full.csv.$ext" > "$work/start.csv.$ext"
  for part in half start; do
    f="$work/$part.csv.$ext"
    run "$part.csv.$ext" "$f" plain
    run "$part.csv.$ext header=false" "$f" noheader -s header=false
    run "$part.csv.$ext infer_types=true" "$f" infer -s infer_types=true
    run "$part.csv.$ext on_error=skip" "$f" plain --on-error skip
    run "$part.csv.$ext on_error=dead_letter" "$f" plain --on-error dead_letter \
      --dead-letter "$work/dead.jsonl"
    run "$part.csv.$ext header=false on_error=skip" "$f" noheader -s header=false \
      --on-error skip
    run "$part.csv.$ext infer_types=true on_error=skip" "$f" infer -s infer_types=true \
      --on-error skip
  done
done

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
