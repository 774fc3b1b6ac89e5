#!/bin/bash
# Interoperability with a second independent Parquet implementation, the
# pure-JavaScript hyparquet (reader, with hyparquet-compressors for gzip,
# zstd and lz4) and hyparquet-writer (npm, installed by
# .ci/install-deps.sh; the test fails when they are missing):
#   - files Nebula writes (every codec, every type, nulls, extremes,
#     non-ASCII) are read by hyparquet and every value is compared with
#     the source;
#   - files hyparquet-writer writes (uncompressed, snappy, gzip; every type
#     it has, nulls, several row groups and pages) are read by Nebula: the
#     values Nebula delivers are compared with a literal, and Nebula's
#     rewrite of the whole file reads back in hyparquet equal to the
#     original, value for value;
#   - nested columns hyparquet-writer writes are read by Nebula as JSON
#     text equal to hyparquet's reading of them.
# hyparquet turns DECIMAL into a JavaScript double, so decimals are
# compared as the nearest double (DuckDB's test compares them exactly).
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
export NEBULA_NODE_MODULES="${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}"
for m in hyparquet hyparquet-compressors hyparquet-writer; do
  [ -d "$NEBULA_NODE_MODULES/$m" ] || fail "npm package $m is not installed (run .ci/install-deps.sh)"
done
hyp() { node "${srcdir:-.}/plugins/parquet/parquet_hyparquet.mjs" "$@"; }
nb() { nebula --quiet "$@"; }

# 1. Nebula writes every type, hyparquet reads.
cat > "$work/t.csv" <<'CSV'
id,amount,big,d,ts,f,b,s,j
1,12.50,12345678901234567890.123456,2024-02-29,2024-01-31T12:00:00.123456Z,1.5,true,héllo 世界,"{""a"":[1,2]}"
-9223372036854775808,-0.01,-99999999999999999999999999999999.999999,1969-12-31,1969-12-31T23:59:59.999999Z,-0.0,false,,[]
9223372036854775807,99999999.99,0.000001,0001-01-01,1900-01-01T00:00:00Z,NaN,true,"a,b",null
NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL
CSV
cols="id:int64; amount:decimal(10,2); big:decimal(38,6); d:date; ts:timestamp; f:float64; b:bool; j:json"
expected='["1","12.5","12345678901234570000","2024-02-29","2024-01-31T12:00:00.123456Z","1.5","true","héllo 世界","{\"a\":[1,2]}"]
["-9223372036854775808","-0.01","-1e+32","1969-12-31","1969-12-31T23:59:59.999999Z","-0","false","","[]"]
["9223372036854775807","99999999.99","0.000001","0001-01-01","1900-01-01T00:00:00Z","NaN","true","a,b","null"]
[null,null,null,null,null,null,null,null,null]'
for codec in none snappy zstd lz4_raw gzip; do
  nb pipeline csv parquet --source-path "$work/t.csv" -s "columns=$cols" -s null_string=NULL \
    --dest-path "$work/t-$codec.parquet" --dest-setting compression=$codec
  got=$(hyp read "$work/t-$codec.parquet")
  [ "$got" = "$expected" ] || { echo "$got"; fail "hyparquet reads other values from Nebula's $codec file"; }
done
# Many rows, row groups, pages, dictionaries and their fallback to PLAIN,
# nulls and empty strings: hyparquet's values equal the generator's.
nb pipeline generate json -s rows=20000 -s seed=9 --dest-path "$work/g.jsonl" --format lines
node -e 'for (const l of require("fs").readFileSync(0, "utf8").split("\n"))
  if (l) console.log(JSON.stringify(Object.values(JSON.parse(l))))' < "$work/g.jsonl" > "$work/g.ref"
for codec in none snappy zstd lz4_raw gzip; do
  nb pipeline generate parquet -s rows=20000 -s seed=9 --dest-path "$work/g-$codec.parquet" \
    --dest-setting compression=$codec --dest-setting row_group_rows=6000 \
    --dest-setting page_bytes=8192 --dest-setting dictionary_bytes=4096
  hyp read "$work/g-$codec.parquet" > "$work/g-$codec.got"
  cmp "$work/g.ref" "$work/g-$codec.got" || fail "hyparquet reads other values from Nebula's generated $codec file"
done

# 2. hyparquet-writer writes, Nebula reads.
expected_csv='b,i32,i64,f32,f64,s,ts,j
true,-2147483648,-9223372036854775808,-3,0,"",1968-11-27T00:00:00Z,"{""k"":0,""a"":[1,""x""]}"
false,2147483647,9223372036854775807,NULL,0.3333333333333333,héllo 世界 1,1968-11-27T01:00:00.123Z,NULL
false,-4926,2000000014,nan,-0,NULL,1968-11-27T02:00:00.246Z,"{""k"":2,""a"":[1,""x""]}"
NULL,-4889,3000000021,-1.5,1.7976931348623157e+308,héllo 世界 3,1968-11-27T03:00:00.369Z,"{""k"":3,""a"":[1,""x""]}"'
for codec in UNCOMPRESSED SNAPPY GZIP; do
  f="$work/hw-$codec.parquet"
  hyp write "$f" $codec
  nb pipeline parquet csv --source-path "$f" --dest-path "$work/hw-$codec.csv" -s null_string=NULL
  [ "$(head -5 "$work/hw-$codec.csv")" = "$expected_csv" ] || { head -5 "$work/hw-$codec.csv"; fail "Nebula reads other values from hyparquet-writer's $codec file"; }
  [ "$(wc -l < "$work/hw-$codec.csv")" = 2501 ] || fail "Nebula reads $(wc -l < "$work/hw-$codec.csv") lines from hyparquet-writer's $codec file"
  hyp read "$f" > "$work/hw-$codec.ref"
  for out in none zstd; do
    nb pipeline parquet parquet --source-path "$f" --dest-path "$work/hw-$codec-$out.parquet" --dest-setting compression=$out
    hyp read "$work/hw-$codec-$out.parquet" > "$work/hw-$codec-$out.got"
    cmp "$work/hw-$codec.ref" "$work/hw-$codec-$out.got" || fail "hyparquet-writer's $codec file through Nebula ($out) differs"
  done
done
# 3. Nested columns hyparquet-writer writes (a list of int64, a list of
#    structs, a struct holding a list; nulls, empty lists, null elements,
#    several row groups) read by Nebula as JSON text: every row equals
#    hyparquet's own reading, numbers compared exactly.
hyp write-nested "$work/nested.parquet"
nb pipeline parquet json --source-path "$work/nested.parquet" --dest-path "$work/nested.jsonl" --format lines
hyp compare-nested "$work/nested.parquet" "$work/nested.jsonl" || fail "hyparquet-writer's nested file read by Nebula differs"
# A LIST whose repeated group is named "array": the group is the element
# (LogicalTypes.md's backward-compatibility rule; hyparquet itself reads
# [1,null] here, which the rule does not allow).
hyp write-legacy "$work/legacy.parquet"
nb pipeline parquet json --source-path "$work/legacy.parquet" --dest-path "$work/legacy.jsonl" --format lines
[ "$(tr -d '\n' < "$work/legacy.jsonl")" = '{"l":[{"v":1},{"v":null}]}{"l":null}{"l":[]}{"l":[{"v":4}]}' ] \
  || fail "legacy list: $(cat "$work/legacy.jsonl")"
echo "parquet with hyparquet ok"
