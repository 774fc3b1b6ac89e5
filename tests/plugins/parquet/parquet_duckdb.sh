#!/bin/bash
# Interoperability with an independent Parquet implementation, DuckDB (npm
# @duckdb/node-api, installed by .ci/install-deps.sh; the test fails when
# it is missing):
#   - files Nebula writes (every codec, every type) are read by DuckDB and
#     every value is compared;
#   - files DuckDB writes (data pages v1 and v2, every codec, dictionary,
#     DELTA_*, BYTE_STREAM_SPLIT, nulls, every type) are read by Nebula,
#     written again, and DuckDB compares both files value for value;
#   - nested columns (LIST, STRUCT, MAP, nested lists) read as JSON text
#     equal to DuckDB's to_json of the same values;
#   - kill -9 / resume loop csv -> parquet: DuckDB reads every row exactly
#     once.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
export NODE_PATH="${NEBULA_NODE_MODULES:-$HOME/.cache/nebula/node_modules}"
[ -d "$NODE_PATH/@duckdb/node-api" ] || fail "@duckdb/node-api is not installed (run .ci/install-deps.sh)"
duck() { node "${srcdir:-.}/plugins/parquet/parquet_duckdb.js" "$@"; }
nb() { nebula --quiet "$@"; }

# 1. Nebula writes, DuckDB reads.
cat > "$work/t.csv" <<'CSV'
id,amount,big,d,ts,f,b,s,j
1,12.50,12345678901234567890.123456,2024-02-29,2024-01-31T12:00:00Z,1.5,true,héllo 世界,"{""a"":[1,2]}"
-9223372036854775808,-0.01,-99999999999999999999999999999999.999999,1969-12-31,1969-12-31T23:59:59.999999Z,-0.0,false,,[]
9223372036854775807,99999999.99,0.000001,0001-01-01,1900-01-01T00:00:00Z,NaN,true,"a,b",null
NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL
CSV
cols="id:int64; amount:decimal(10,2); big:decimal(38,6); d:date; ts:timestamp; f:float64; b:bool; j:json"
expected='["1","12.50","12345678901234567890.123456","2024-02-29","2024-01-31 12:00:00+00","1.5","true","héllo 世界","{\"a\":[1,2]}"]
["-9223372036854775808","-0.01","-99999999999999999999999999999999.999999","1969-12-31","1969-12-31 23:59:59.999999+00","-0","false","","[]"]
["9223372036854775807","99999999.99","0.000001","0001-01-01","1900-01-01 00:00:00+00","NaN","true","a,b","null"]
[null,null,null,null,null,null,null,null,null]'
for codec in none snappy zstd lz4_raw gzip; do
  nb pipeline csv parquet --source-path "$work/t.csv" -s "columns=$cols" -s null_string=NULL \
    --dest-path "$work/t-$codec.parquet" --dest-setting compression=$codec
  got=$(duck "set TimeZone='UTC'" "select * from '$work/t-$codec.parquet'")
  [ "$got" = "$expected" ] || { echo "$got"; fail "DuckDB reads other values from Nebula's $codec file"; }
done
types=$(duck "select string_agg(column_type, ',') from (describe select * from '$work/t-zstd.parquet')")
[ "$types" = '["BIGINT,DECIMAL(10,2),DECIMAL(38,6),DATE,TIMESTAMP WITH TIME ZONE,DOUBLE,BOOLEAN,VARCHAR,JSON"]' ] \
  || fail "DuckDB sees the types $types"
# A large file with many row groups, pages and dictionaries: DuckDB and
# Nebula agree on every value (compared inside DuckDB with a JSON copy).
nb pipeline generate parquet -s rows=50000 -s seed=5 --dest-path "$work/g.parquet" \
  --dest-setting row_group_rows=7000 --dest-setting page_bytes=16384 --dest-setting dictionary_bytes=4096
nb pipeline generate csv -s rows=50000 -s seed=5 --dest-path "$work/g.csv"
same=$(duck "create view a as select * from read_csv('$work/g.csv', all_varchar=true, header=true, allow_quoted_nulls=false)" \
  "create view b as select * from '$work/g.parquet'" \
  "select (select count(*) from b), (select count(*) from (select * from a except all select * from b)), (select count(*) from (select * from b except all select * from a))")
[ "$same" = '["50000","0","0"]' ] || fail "DuckDB: generate -> parquet differs from the CSV: $same"
# Statistics: DuckDB's min/max from the footer equal the data's.
stats=$(duck "select count(*) from parquet_metadata('$work/t-zstd.parquet') where path_in_schema = 'id' and stats_min_value = '-9223372036854775808' and stats_max_value = '9223372036854775807' and stats_null_count = 1")
[ "$stats" = '["1"]' ] || fail "statistics of column id: $stats"

# 2. DuckDB writes, Nebula reads (and writes again; DuckDB compares).
q="select i::bigint as id, (i % 7)::tinyint as t, (i*3)::integer as n32, i::ubigint * 1000000000000 as u64,
  (i*1.25)::float as fl, i/3.0::double as dbl, (i%2=0) as b,
  case when i%5=0 then null else 'str' || (i%13) end as s, md5(i::varchar) as h,
  date '1970-01-01' + (i - 500)::integer as d,
  timestamp '1969-06-01 00:00:00' + to_microseconds(i*1000003) as ts,
  (timestamp '2000-01-01' + to_microseconds(i))::timestamp_ns as tsn,
  (timestamp '2000-01-01' + to_microseconds(i))::timestamptz as tstz,
  (i/100.0)::decimal(9,2) as d9, (i*1234567.891)::decimal(18,3) as d18, (i*1e20)::decimal(38,0) as d38,
  uuid() as uid, case when i%3=0 then null else i end as ni, '' as empty
  from range(0, 3000) t(i)"
for v in v1 v2; do
  for codec in uncompressed snappy zstd lz4_raw gzip; do
    f="$work/duck-$v-$codec.parquet"
    duck "copy ($q) to '$f' (format parquet, compression $codec, parquet_version $v, row_group_size 1000)" > /dev/null
    nb pipeline parquet parquet --source-path "$f" --dest-path "$work/neb-$v-$codec.parquet"
    same=$(duck "create view a as select columns(*)::varchar from '$f'" \
      "create view b as select columns(*)::varchar from '$work/neb-$v-$codec.parquet'" \
      "select (select count(*) from b), (select count(*) from (select * from a except all select * from b)), (select count(*) from (select * from b except all select * from a))")
    [ "$same" = '["3000","0","0"]' ] || fail "DuckDB's $v $codec file read by Nebula differs: $same"
  done
done
encodings=$(duck "select string_agg(distinct encodings, ',' order by encodings) from parquet_metadata('$work/duck-v2-zstd.parquet')")
echo "DuckDB v2 encodings read: $encodings"

# 3. Nested columns (LIST, STRUCT, MAP, lists of lists and of structs,
#    null and empty lists, null elements, data pages v1 and v2, several
#    row groups) read as JSON text: DuckDB's to_json of its own values
#    equals Nebula's text, value for value.
q="select i as id,
 case when i%5=0 then null when i%5=1 then [] else [i::integer, null, i*2] end as l,
 case when i%7=0 then null else {'a': i, 'b': 'x\"q\\\\'||i, 'c': [i/4, null]::double[], 'd': {'e': (i/3)::decimal(9,2)}} end as s,
 case when i%4=0 then null when i%4=1 then map {} else map {'k'||i: i, 'z': null} end as m,
 case when i%3=0 then [[1,2],[],null,[3]] when i%3=1 then null else [[], [null]] end as ll,
 [{'q': i, 'r': ['x', null]}, null] as ls, [date '1969-12-31' + i::integer, null] as ld,
 map {i: 'v'||i} as mi, ['héllo 世界', '', e'tab\\tnl\\n', null]::varchar[] as lt,
 [(i * 1e20)::decimal(38,0), -0.5::decimal(38,1)] as lbig
 from range(3000) t(i)"
ncols="l s m ll ls ld mi lt lbig"
jcols="id:'BIGINT'"
differs="false"
for c in $ncols; do jcols="$jcols, $c:'JSON'"; differs="$differs or to_json(a.$c) is distinct from b.$c"; done
for v in v1 v2; do
  duck "copy ($q) to '$work/nested-$v.parquet' (format parquet, parquet_version $v, row_group_size 700)" > /dev/null
  nb pipeline parquet json --source-path "$work/nested-$v.parquet" --dest-path "$work/nested-$v.jsonl" --format lines
  same=$(duck "create view a as select * from '$work/nested-$v.parquet'" \
    "create view b as select * from read_json('$work/nested-$v.jsonl', format='newline_delimited', columns={$jcols})" \
    "select count(*), count(*) filter (where $differs) from a join b using (id)")
  [ "$same" = '["3000","0"]' ] || fail "DuckDB's nested $v file read by Nebula differs: $same"
done
head -2 "$work/nested-v1.jsonl"
# discover shows the row groups and the nested columns with their leaves.
cat > "$work/discover.cfg" <<CFG
source = { connector = "parquet"; path = "$work/nested-v1.parquet"; };
destination = { connector = "json"; path = "$work/unused.jsonl"; };
CFG
nebula discover "$work/discover.cfg" > "$work/discover.out" 2>&1 || fail "discover: $(cat "$work/discover.out")"
grep -q 'row group 1: 952 rows' "$work/discover.out" || fail "discover shows no row groups: $(cat "$work/discover.out")"
grep -q 'column \\"ls\\" nested (2 leaf columns, read as json), codec SNAPPY' "$work/discover.out" \
  || fail "discover shows no nested column: $(cat "$work/discover.out")"
grep -q '"ls"  json' "$work/discover.out" || fail "discover's column list: $(cat "$work/discover.out")"
# The projection still reads only the chosen column chunks.
nb pipeline parquet json --source-path "$work/nested-v1.parquet" -s columns=id --dest-path "$work/n.jsonl" --format lines
[ "$(head -2 "$work/n.jsonl" | tr -d '\n')" = '{"id":0}{"id":1}' ] || fail "projection around nested columns: $(head -2 "$work/n.jsonl")"

# 4. kill -9 / resume: csv -> parquet, every row exactly once.
rows=${CRASH_ROWS:-150000}
cycles=${CRASH_CYCLES:-12}
nb pipeline generate csv -s rows="$rows" -s seed=11 --dest-path "$work/in.csv"
cat > "$work/crash.cfg" <<CFG
source = { connector = "csv"; path = "$work/in.csv"; };
destination = { connector = "parquet"; path = "$work/crash.parquet"; row_group_rows = 5000; };
engine = { batch_rows = 1000; commit_interval = 0.02; };
CFG
t0=$(now_ms)
nb pipeline csv parquet --source-path "$work/in.csv" --dest-path "$work/timing.parquet"
span=$(($(now_ms) - t0 + 50))
kills=0
runs=0
while :; do
  runs=$((runs + 1))
  [ "$runs" -le $((cycles + 5)) ] || fail "the crash loop did not complete"
  nebula_bg "$work/log" --quiet run "$work/crash.cfg" --state "$work/crash.state"
  if [ "$kills" -lt "$cycles" ]; then
    delay=$((RANDOM % (span / 3 + 1) + 5))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill -9 "$pid" 2> /dev/null || true
  fi
  wait_exit "$pid" 120
  case "$exit_code" in
    0) break ;;
    137)
      kills=$((kills + 1))
      # An interrupted file never looks complete unless it is: a kill that
      # lands after the footer (all rows written) and before the process
      # ends leaves a whole file, which the next run cuts back and ends
      # again; any other readable file would be a lie.
      if [ -s "$work/crash.parquet" ] && [ "$(tail -c 4 "$work/crash.parquet")" = "PAR1" ]; then
        got=$(duck "select count(*) from '$work/crash.parquet'" 2> /dev/null) &&
          { [ "$got" = "[\"$rows\"]" ] || fail "an interrupted file reads as complete with $got rows of $rows"; } &&
          echo "killed after the footer: the file holds all $rows rows"
      fi
      ;;
    *) cat "$work/log"; fail "run $runs exited $exit_code" ;;
  esac
done
# The csv source reads an empty field as "" (no null_string): so does the
# comparison.
same=$(duck "create view a as select coalesce(columns(*), '') from read_csv('$work/in.csv', all_varchar=true, header=true)" \
  "create view b as select coalesce(columns(*), '') from '$work/crash.parquet'" \
  "select (select count(*) from b), (select count(*) from (select * from a except all select * from b)), (select count(*) from (select * from b except all select * from a))")
[ "$same" = "[\"$rows\",\"0\",\"0\"]" ] || fail "after $kills kills DuckDB reads: $same"
echo "parquet with DuckDB ok: $kills kills in $runs runs, every row once"
