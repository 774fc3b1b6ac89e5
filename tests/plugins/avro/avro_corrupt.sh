#!/bin/bash
# avro_corrupt.sh - every byte of a small Avro file flipped, and the file
# cut at every length: the avro source reads each variant with an exit
# status of 0 or 1, never a crash, a hang or a sanitizer report.  For a
# snappy file (whose blocks carry a CRC-32), a flip after the header gives
# either an error naming the file and a byte offset or exactly the
# original rows.  Specific errors for a bad sync marker, a truncated block
# and a block whose length lies are checked by name.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
python=/usr/bin/python3

printf 'id,name,amount\n1,héllo,00501\n2,"a,b",\n3,x y,2.5\n4,日本,-7\n' > "$work/in.csv"
run_to_json() { # IN OUT: avro -> json lines, status left in $rc
  rc=0
  timeout 20 "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --quiet pipeline avro json \
    --source-path "$1" --dest-path "$2" > /dev/null 2> "$work/err" || rc=$?
}
checked=0
for codec in null snappy; do
  f="$work/good-$codec.avro"
  nebula --quiet pipeline csv avro --source-path "$work/in.csv" --dest-path "$f" \
    --dest-setting codec=$codec --dest-setting block_bytes=40
  run_to_json "$f" "$work/good-$codec.jsonl"
  [ "$rc" -eq 0 ] || fail "$codec: the intact file is not read"
  size=$(stat -c %s "$f")
  header_end=$("$python" -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.index(d[-16:]) + 16)' "$f")
  # every variant written at once: flip-N (byte N inverted), cut-N (N bytes)
  mkdir -p "$work/v-$codec"
  "$python" -c '
import sys
d = open(sys.argv[1], "rb").read()
for i in range(len(d)):
    b = bytearray(d); b[i] ^= 0xff
    open("%s/flip-%d" % (sys.argv[2], i), "wb").write(b)
    open("%s/cut-%d" % (sys.argv[2], i), "wb").write(d[:i])' "$f" "$work/v-$codec"
  for ((i = 0; i < size; i++)); do
    cp "$work/v-$codec/flip-$i" "$work/bad.avro"
    run_to_json "$work/bad.avro" "$work/bad.jsonl"
    [ "$rc" -le 1 ] || { cat "$work/err"; fail "$codec: byte $i flipped: exit status $rc"; }
    ! grep -q "Sanitizer\|runtime error" "$work/err" || { cat "$work/err"; fail "$codec: byte $i flipped: sanitizer report"; }
    if [ "$codec" = snappy ] && [ "$i" -ge "$header_end" ]; then
      if [ "$rc" -eq 0 ]; then
        cmp -s "$work/bad.jsonl" "$work/good-$codec.jsonl" || fail "$codec: byte $i flipped: other values without an error"
      else
        grep -q "bad.avro\" at byte offset [0-9]" "$work/err" || { cat "$work/err"; fail "$codec: byte $i flipped: the error does not name the file and offset"; }
      fi
    fi
    checked=$((checked + 1))
  done
  for ((n = 0; n < size; n++)); do
    cp "$work/v-$codec/cut-$n" "$work/cut.avro"
    run_to_json "$work/cut.avro" "$work/cut.jsonl"
    [ "$rc" -le 1 ] || { cat "$work/err"; fail "$codec: cut at $n: exit status $rc"; }
    ! grep -q "Sanitizer\|runtime error" "$work/err" || { cat "$work/err"; fail "$codec: cut at $n: sanitizer report"; }
    if [ "$n" -gt "$header_end" ] && [ "$rc" -eq 0 ]; then fail "$codec: cut at $n of $size: no error"; fi
    checked=$((checked + 1))
  done
  echo "ok - $codec: $size bytes flipped one by one and $size cuts"
done

# Named errors.  The null file: header, then blocks of 40 bytes or so.
f="$work/good-null.avro"
header_end=$("$python" -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.index(d[-16:]) + 16)' "$f")
"$python" - "$f" "$work" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
w = sys.argv[2]
sync = d[-16:]
first = d.index(sync) + 16
second = d.index(sync, first) + 16          # end of the first block
bad = bytearray(d); bad[second - 1] ^= 1    # its sync marker
open(w + "/badsync.avro", "wb").write(bad)
open(w + "/truncated.avro", "wb").write(d[:second - 20])
# a size that lies: the first block's size field (after its count) made huge
lie = bytearray(d[:first]) + bytes([d[first]]) + b"\xfe\xff\xff\xff\x0f" + d[first + 2:]
open(w + "/lie.avro", "wb").write(lie)
PY
run_to_json "$work/badsync.avro" "$work/x.jsonl"
[ "$rc" -eq 1 ] && grep -q "sync marker is not the header's" "$work/err" || { cat "$work/err"; fail "bad sync marker: not reported"; }
run_to_json "$work/truncated.avro" "$work/x.jsonl"
[ "$rc" -eq 1 ] && grep -q "truncated" "$work/err" || { cat "$work/err"; fail "truncated block: not reported"; }
run_to_json "$work/lie.avro" "$work/x.jsonl"
[ "$rc" -eq 1 ] && grep -q "at byte offset $header_end" "$work/err" || { cat "$work/err"; fail "lying block size: not reported at offset $header_end"; }
echo "ok - bad sync marker, truncated block, lying length: named errors"
echo "$checked variants read"
