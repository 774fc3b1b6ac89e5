#!/bin/bash
# avro_interop.sh - independent Avro implementations against the avro
# connector, every value compared:
#  - Debian's python3-avro writes a file of every type (logical types,
#    nested records, arrays, maps, enums, fixed, unions, nulls, non-ASCII,
#    extremes) with each codec (null, deflate, snappy, zstandard); Nebula
#    copies it avro -> avro (small blocks, each codec) and python3-avro
#    checks every value of Nebula's file against what it wrote;
#  - the npm package avsc (pure JavaScript) does the same with codecs null
#    and deflate, and also reads the files Nebula wrote from python's.
# Both packages are needed (.ci/install-deps.sh installs them): without
# them the test fails, saying how to install them.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
node_modules=${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}
python=/usr/bin/python3
rows=${AVRO_ROWS:-3000}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }

"$python" -c 'import avro, snappy, zstandard' 2>/dev/null ||
  fail "python3-avro, python3-snappy and python3-zstandard are needed (apt-get install python3-avro python3-snappy python3-zstandard)"
[ -d "$node_modules/avsc" ] ||
  fail "avsc is not in $node_modules (npm install --prefix ~/.cache/nebula avsc@5.7.9, see .ci/install-deps.sh)"
py() { "$python" -W ignore "$srcdir/plugins/avro/avro_interop.py" "$@"; }
js() { NODE_PATH="$node_modules" node "$srcdir/plugins/avro/avro_avsc.js" "$@"; }
copy() { # copy IN OUT CODEC
  nebula --quiet pipeline avro avro --source-path "$1" --dest-path "$2" \
    --dest-setting codec="$3" --dest-setting block_bytes=4096 2> "$work/err" ||
    { cat "$work/err"; return 1; }
}

for codec in null deflate snappy zstandard; do
  py write "$codec" "$work/py-$codec.avro" "$rows" || fail "python3-avro could not write"
  if copy "$work/py-$codec.avro" "$work/neb-$codec.avro" "$codec" &&
    py check "$work/neb-$codec.avro" "$rows"; then
    ok "python3-avro ($codec) -> nebula ($codec) -> python3-avro: every value"
  else
    not_ok "python3-avro ($codec) -> nebula ($codec) -> python3-avro"
  fi
  # python's files carried across codecs: nebula reads one, writes another
  other=$(case $codec in null) echo zstandard ;; deflate) echo snappy ;; snappy) echo null ;; *) echo deflate ;; esac)
  if copy "$work/py-$codec.avro" "$work/x-$codec.avro" "$other" && py check "$work/x-$codec.avro" "$rows"; then
    ok "python3-avro ($codec) -> nebula ($other) -> python3-avro: every value"
  else
    not_ok "python3-avro ($codec) -> nebula ($other) -> python3-avro"
  fi
done

for codec in null deflate; do
  js write "$codec" "$work/js-$codec.avro" "$rows" || fail "avsc could not write"
  if copy "$work/js-$codec.avro" "$work/nebjs-$codec.avro" "$codec" &&
    js check "$work/nebjs-$codec.avro" "$rows"; then
    ok "avsc ($codec) -> nebula ($codec) -> avsc: every value"
  else
    not_ok "avsc ($codec) -> nebula ($codec) -> avsc"
  fi
  # avsc reads Nebula's copy of python's file of every type
  if js dump "$work/neb-$codec.avro" > "$work/dump-$codec.jsonl" &&
    [ "$(wc -l < "$work/dump-$codec.jsonl")" -eq "$rows" ] &&
    grep -q '"l":"9223372036854775807"' "$work/dump-$codec.jsonl" &&
    grep -q '"s":"日本語テキスト"' "$work/dump-$codec.jsonl"; then
    ok "avsc reads nebula's file of every type ($codec)"
  else
    not_ok "avsc reads nebula's file of every type ($codec)"
  fi
done

# Doubles inside a nested value (an array, carried as JSON text) in their
# shortest form that reads back (issue 9, item 7): "%.17g" wrote
# 0.10000000000000001.
"$python" -W ignore - "$work/dbl.avro" <<'PY' || fail "python3-avro could not write dbl.avro"
import sys, avro.schema, avro.datafile, avro.io
schema = avro.schema.parse('{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"array","items":"double"}}]}')
with open(sys.argv[1], "wb") as f:
    w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema)
    w.append({"a": [0.1, 5e-324, 0.3, 1e21, 2.0 ** -1074 * 3, 1 / 3]})
    w.close()
PY
if nebula --quiet pipeline avro json --source-path "$work/dbl.avro" --dest-path "$work/dbl.json" 2> "$work/err" &&
  grep -qF '{"a":[0.1,5e-324,0.3,1e+21,1.5e-323,0.3333333333333333]}' "$work/dbl.json"; then
  ok "doubles in nested values: shortest round-trip text"
else
  cat "$work/err" "$work/dbl.json"
  not_ok "doubles in nested values: shortest round-trip text"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
