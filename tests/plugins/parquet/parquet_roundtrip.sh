#!/bin/bash
# End to end, no external reader: generate / csv (every column type) ->
# parquet -> json / csv gives the same values as the direct conversion, for
# every codec, with small row groups, pages and dictionaries (many row
# groups and pages, the dictionary's fallback to PLAIN), projection, and
# a file whose run did not finish never reads as complete.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
nb() { nebula --quiet "$@"; }

# 1. generate (strings, nulls, non-ASCII, empty strings) through parquet.
nb pipeline generate json -s rows=20000 -s seed=3 --dest-path "$work/ref.jsonl" --format lines
for codec in none snappy zstd lz4_raw gzip; do
  nb pipeline generate parquet -s rows=20000 -s seed=3 --dest-path "$work/g-$codec.parquet" \
    --dest-setting compression=$codec
  nb pipeline parquet json --source-path "$work/g-$codec.parquet" --dest-path "$work/g-$codec.jsonl" --format lines
  cmp "$work/ref.jsonl" "$work/g-$codec.jsonl" || fail "generate -> parquet ($codec) -> json differs"
done
# Small row groups, pages and dictionaries: many row groups and pages,
# and dictionaries that outgrow their limit and fall back to PLAIN.
nb pipeline generate parquet -s rows=20000 -s seed=3 --dest-path "$work/small.parquet" \
  --dest-setting row_group_rows=3000 --dest-setting page_bytes=4096 --dest-setting dictionary_bytes=2048 \
  --batch-rows 777
nb pipeline parquet json --source-path "$work/small.parquet" --dest-path "$work/small.jsonl" --format lines --batch-rows 500
cmp "$work/ref.jsonl" "$work/small.jsonl" || fail "small row groups / pages / dictionaries differ"
nb pipeline generate parquet -s rows=20000 -s seed=3 --dest-path "$work/nodict.parquet" --dest-setting dictionary_bytes=0
nb pipeline parquet json --source-path "$work/nodict.parquet" --dest-path "$work/nodict.jsonl" --format lines
cmp "$work/ref.jsonl" "$work/nodict.jsonl" || fail "PLAIN-only file differs"

# 2. Every type the engine carries, with extremes, nulls, NaN, -0, dates
#    and timestamps before 1970, decimals at full precision.
cat > "$work/t.csv" <<'CSV'
id,amount,big,num,d,ts,f,b,s,j
1,12.50,12345678901234567890.123456,1.5e300,2024-02-29,2024-01-31T12:00:00Z,1.5,true,héllo 世界,"{""a"":[1,2]}"
-9223372036854775808,-0.01,-99999999999999999999999999999999.999999,-0,1969-12-31,1969-12-31T23:59:59.999999Z,-0.0,false,,[]
9223372036854775807,99999999.99,99999999999999999999999999999999.999999,123456789012345678901234567890,0001-01-01,1900-01-01T00:00:00Z,NaN,true,"a,b",null
NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL
0,-99999999.99,0.000001,1e-7,9999-12-31,2262-04-11T23:47:16.854775Z,-1.7976931348623157e308,false,"""quoted""",true
CSV
cols="id:int64; amount:decimal(10,2); big:decimal(38,6); num:number; d:date; ts:timestamp; f:float64; b:bool; j:json"
nb pipeline csv csv --source-path "$work/t.csv" -s "columns=$cols" --source-setting null_string=NULL \
  --dest-setting null_string=NULL --dest-path "$work/t.ref.csv"
for codec in none snappy zstd lz4_raw gzip; do
  nb pipeline csv parquet --source-path "$work/t.csv" -s "columns=$cols" -s null_string=NULL \
    --dest-path "$work/t-$codec.parquet" --dest-setting compression=$codec
  nb pipeline parquet csv --source-path "$work/t-$codec.parquet" --dest-path "$work/t-$codec.csv" -s null_string=NULL
  cmp "$work/t.ref.csv" "$work/t-$codec.csv" || { diff "$work/t.ref.csv" "$work/t-$codec.csv"; fail "typed values differ ($codec)"; }
done
# Types survive a second trip (the file's own types come back).
nb pipeline parquet parquet --source-path "$work/t-zstd.parquet" --dest-path "$work/t2.parquet"
nb pipeline parquet csv --source-path "$work/t2.parquet" --dest-path "$work/t2.csv" -s null_string=NULL
cmp "$work/t.ref.csv" "$work/t2.csv" || fail "parquet -> parquet changed values"

# 3. Projection: only the named columns, in file order.
nb pipeline parquet csv --source-path "$work/t-zstd.parquet" --dest-path "$work/p.csv" \
  -s "columns=s, id" -s null_string=NULL
cut -d, -f1 "$work/t.ref.csv" > "$work/p.ref"
cut -d, -f1 "$work/p.csv" > "$work/p.got"
cmp "$work/p.ref" "$work/p.got" || fail "projection changed the id column"
head -1 "$work/p.csv" | grep -qx 'id,s' || fail "projection header: $(head -1 "$work/p.csv")"
nebula --quiet pipeline parquet csv --source-path "$work/t-zstd.parquet" --dest-path "$work/p2.csv" \
  -s "columns=nope" 2> "$work/err" && fail "an unknown projected column was accepted"
grep -q 'does not have' "$work/err" || fail "unknown column error: $(cat "$work/err")"

# 4. discover names row groups, rows and codecs.
cat > "$work/d.cfg" <<CFG
source = { connector = "parquet"; path = "$work/small.parquet"; };
destination = { connector = "json"; path = "$work/d.jsonl"; };
CFG
nebula discover "$work/d.cfg" > "$work/discover.out" 2>&1 || { cat "$work/discover.out"; fail "discover failed"; }
grep -q '20000 rows in 7 row groups' "$work/discover.out" || { cat "$work/discover.out"; fail "discover lacks the row groups"; }
grep -q 'codec SNAPPY' "$work/discover.out" || fail "discover lacks the codec"

# 5. A file without its footer (a run that did not finish) is refused.
head -c $(($(stat -c %s "$work/g-none.parquet") - 8)) "$work/g-none.parquet" > "$work/cut.parquet"
nebula --quiet pipeline parquet json --source-path "$work/cut.parquet" --dest-path "$work/cut.jsonl" 2> "$work/err" \
  && fail "a file without its footer was read"
grep -q 'not a complete Parquet file' "$work/err" || fail "unexpected error: $(cat "$work/err")"
echo "parquet round trips ok"
