#!/bin/sh
# pg_types.sh - the postgresql source against a real server: a table with
# every mapped type (NULLs, extremes, NaN/Infinity, time zones, non-ASCII)
# read to CSV equals what psql's \copy gives for the same SELECT value for
# value; the same values through JSON lines; discover's types and
# nullability; a date that Arrow cannot hold is an error naming the table,
# the column and the row, never a shifted value.
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
pgsql -f "$srcdir/data/postgresql/alltypes.sql" > /dev/null || report_failure "loading alltypes.sql"
conn="-s host=$PGSOCK -s port=$PGPORT -s user=$PG_SUPERUSER -s dbname=postgres"

# shellcheck disable=SC2086
expect 0 "PG -> CSV of every mapped type" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  -s tables=public.alltypes --dest-path "$tmp/out.csv"
# The expected text: psql's own output of each value, rewritten only where
# Arrow's text form differs by spelling (ISO 8601 'T', 'Z' and '+' before
# a year of 5 digits, nan/inf).
float_text() {
  echo "CASE WHEN $1::text = 'NaN' THEN 'nan' WHEN $1 = 'Infinity' THEN 'inf' WHEN $1 = '-Infinity' THEN '-inf' ELSE $1::text END AS $1"
}
pgsql -c "\\copy (SELECT id, i2, i4, i8, $(float_text f4), $(float_text f8), num, num2, t, vc, ch, b::text AS b, d, tm, ttz, regexp_replace(replace(ts::text, ' ', 'T'), '^([0-9]{5,})', '+\\1') AS ts, regexp_replace(replace(tstz::text, ' ', 'T'), '\\+00\$', 'Z') AS tstz, iv, u, j, jb, by, to_json(arr) AS arr, to_json(tarr) AS tarr, m, dom FROM alltypes ORDER BY id) TO '$tmp/expect.csv' CSV HEADER" ||
  report_failure "psql \\copy of the expected values"
if cmp -s "$tmp/expect.csv" "$tmp/out.csv"; then
  echo "ok: every value equals psql's"
else
  diff "$tmp/expect.csv" "$tmp/out.csv" | head -20
  report_failure "PG -> CSV differs from the psql copy (diff above)"
fi
lacks "$tmp/out.csv" "e+307" "no float went through a narrower type"
# The text COPY format gives the very same file.
# shellcheck disable=SC2086
expect 0 "PG -> CSV of every mapped type, copy_format = text" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  -s tables=public.alltypes -s copy_format=text --dest-path "$tmp/out_text.csv"
cmp -s "$tmp/out.csv" "$tmp/out_text.csv" || report_failure "binary and text COPY formats give different values"

# JSON lines: exact numerics as strings, json and arrays as JSON, NULL as null.
# shellcheck disable=SC2086
expect 0 "PG -> JSON lines through a query" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql json $conn \
  -s "query=SELECT id, num, num2, t, vc, jb, arr, tarr, tstz, d, m, dom FROM alltypes ORDER BY id" \
  --dest-path "$tmp/out.jsonl"
contains "$tmp/out.jsonl" '"num2":-1234567890123456789012345678.0123456789' "numeric(38,10) as an exact decimal128"
contains "$tmp/out.jsonl" '"num":"123456789012345678901234567890123456789012345678901234567890.5"' "numeric beyond decimal128 exact"
contains "$tmp/out.jsonl" '"t":"tab\there\nnewline \\ back\r"' "escapes in text"
contains "$tmp/out.jsonl" '"vc":"héllo ☃ 𝄞"' "non-ASCII text"
contains "$tmp/out.jsonl" '"jb":1.50' "jsonb number as written"
contains "$tmp/out.jsonl" '"arr":[[1,2],[3,4]]' "2-D array as JSON"
contains "$tmp/out.jsonl" '"tarr":["\\\\","t"]' "text array as JSON"
contains "$tmp/out.jsonl" '"tstz":"2024-06-01T10:00:00Z"' "timestamptz in UTC"
contains "$tmp/out.jsonl" '"id":3,"num":null,"num2":null,"t":null' "NULLs are null"
contains "$tmp/out.jsonl" '"id":2,"num":"Infinity","num2":0.0000000001,"t":"","vc":""' "empty strings are not NULL"
contains "$tmp/out.jsonl" '"m":"happy","dom":7' "enum as text, domain of a domain as its base type"
[ "$(wc -l < "$tmp/out.jsonl")" -eq 5 ] || report_failure "JSON lines: 5 records expected"

# discover: types, nullability.
cat > "$tmp/discover.cfg" <<CFG
source = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER"; dbname = "postgres"; };
destination = { connector = "json"; path = "$tmp/unused.jsonl"; };
CFG
expect 0 "discover" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" discover "$tmp/discover.cfg"
contains "$out" 'stream "public/alltypes": 26 columns' "discover lists the table"
contains "$out" '"id"  int64 not null' "discover: primary key column not null"
contains "$out" '"i4"  int64 not null' "discover: NOT NULL column"
contains "$out" '"num2"  decimal128(38,10)' "discover: numeric(38,10) as decimal128"
contains "$out" '"num"  utf8' "discover: unconstrained numeric as exact text"
contains "$out" '"tstz"  timestamp(UTC)' "discover: timestamptz in UTC"
contains "$out" '"arr"  json' "discover: arrays as JSON"

# discover: primary keys in key order (not column order), none for a table
# without a key or a view, in text and JSON.
pgsql -c "CREATE TABLE pk_comp (a int, \"B x\" text, c int, PRIMARY KEY (c, \"B x\", a)); CREATE TABLE pk_none (a int); CREATE VIEW pk_view AS SELECT * FROM pk_comp" ||
  report_failure "creating the key tables"
expect 0 "discover with keys" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" discover "$tmp/discover.cfg"
contains "$out" 'stream "public/alltypes": 26 columns, key ("id")' "discover: a one-column primary key"
contains "$out" 'stream "public/pk_comp": 3 columns, key ("c", "B x", "a")' "discover: a composite key in key order"
grep -qxF 'stream "public/pk_none": 1 column' "$out" || report_failure "discover: a table without a key shows none"
grep -qxF 'stream "public/pk_view": 3 columns' "$out" || report_failure "discover: a view has no key"
expect 0 "discover --json with keys" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" discover --json "$tmp/discover.cfg"
contains "$out" '{"name":"public/pk_comp","size_bytes":-1,"key":["c","B x","a"],"columns":[' "discover --json: composite key"
contains "$out" '{"name":"public/pk_none","size_bytes":-1,"key":[],"columns":[' "discover --json: no key"
# The same key orders a full refresh: by c, then "B x", then a.
pgsql -c "INSERT INTO pk_comp VALUES (1, 'y', 2), (2, 'x', 2), (3, 'z', 1), (0, 'x', 2)" || report_failure "filling pk_comp"
# shellcheck disable=SC2086
expect 0 "full refresh ordered by the composite key" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  -s tables=public.pk_comp --dest-path "$tmp/pk.csv"
[ "$(tr '\n' ' ' < "$tmp/pk.csv")" = 'a,B x,c 3,z,1 0,x,2 2,x,2 1,y,2 ' ] ||
  report_failure "full refresh not in key order: $(cat "$tmp/pk.csv")"
pgsql -c "DROP VIEW pk_view; DROP TABLE pk_comp, pk_none" || report_failure "dropping the key tables"

# numeric(p,s) with p <= 38 as decimal128(p,s): the same digits as psql in
# CSV (binary and text COPY) and JSON; p > 38 and unconstrained stay text.
pgsql -c "CREATE TABLE nums (id int PRIMARY KEY, a numeric(10,2), b numeric(38,0), c numeric(39,1), n numeric, q numeric(5,5));
  INSERT INTO nums VALUES (1, 12345678.90, 99999999999999999999999999999999999999, 12345678901234567890123456789012345678.5, 1.50, 0.99999),
  (2, -12345678.99, -99999999999999999999999999999999999999, -1, 'NaN', -0.00001),
  (3, 0, 0, 0, 0, 0), (4, -0.01, 1, NULL, -7, NULL), (5, NULL, NULL, 2, 'Infinity', 0.5)" ||
  report_failure "creating nums"
pgsql -c "\\copy (SELECT * FROM nums ORDER BY id) TO '$tmp/nums_expect.csv' CSV HEADER" || report_failure "psql \\copy of nums"
for fmt in binary text; do
  # shellcheck disable=SC2086
  expect 0 "numeric(p,s) -> CSV, copy_format = $fmt" \
    "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
    -s tables=public.nums -s copy_format=$fmt --dest-path "$tmp/nums_$fmt.csv"
  cmp -s "$tmp/nums_expect.csv" "$tmp/nums_$fmt.csv" ||
    report_failure "numeric(p,s) -> CSV ($fmt) differs from psql: $(diff "$tmp/nums_expect.csv" "$tmp/nums_$fmt.csv" | head -8)"
done
# shellcheck disable=SC2086
expect 0 "numeric(p,s) -> JSON lines" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql json $conn \
  -s tables=public.nums --dest-path "$tmp/nums.jsonl"
contains "$tmp/nums.jsonl" '{"id":1,"a":12345678.90,"b":99999999999999999999999999999999999999,"c":"12345678901234567890123456789012345678.5","n":"1.50","q":0.99999}' "numeric: max of numeric(38,0) as a decimal"
contains "$tmp/nums.jsonl" '{"id":2,"a":-12345678.99,"b":-99999999999999999999999999999999999999,"c":"-1.0","n":"NaN","q":-0.00001}' "numeric: min of numeric(38,0), negatives"
contains "$tmp/nums.jsonl" '{"id":3,"a":0.00,"b":0,"c":"0.0","n":"0","q":0.00000}' "numeric: zero with its scale"
contains "$tmp/nums.jsonl" '{"id":4,"a":-0.01,"b":1,"c":null,"n":"-7","q":null}' "numeric: a small negative, NULLs"
# shellcheck disable=SC2086
expect 0 "discover numeric(p,s)" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" discover "$tmp/discover.cfg"
contains "$out" '"a"  decimal128(10,2)' "discover: numeric(10,2)"
contains "$out" '"b"  decimal128(38,0)' "discover: numeric(38,0)"
contains "$out" '"c"  utf8' "discover: numeric(39,1) as exact text"
contains "$out" '"q"  decimal128(5,5)' "discover: numeric(5,5)"
# The same column through a query (its type modifier from the row description).
# shellcheck disable=SC2086
expect 0 "numeric(p,s) through a query" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  -s "query=SELECT * FROM nums ORDER BY id" --dest-path "$tmp/nums_query.csv"
cmp -s "$tmp/nums_expect.csv" "$tmp/nums_query.csv" || report_failure "numeric(p,s) through a query differs from psql"
# A domain over numeric(p,s) (and a domain of it): the domain's type
# modifier makes it a decimal128(p,s) as the base type would be.
pgsql -c "CREATE DOMAIN money2 AS numeric(12,2) CHECK (VALUE > -1000); CREATE DOMAIN money2b AS money2;
  CREATE TABLE domnum (id int PRIMARY KEY, m money2, mb money2b, plain numeric);
  INSERT INTO domnum VALUES (1, 12.5, 1234567890.12, 1), (2, -0.01, NULL, 2), (3, NULL, 0, 3)" ||
  report_failure "creating domnum"
for fmt in binary text; do
  # shellcheck disable=SC2086
  expect 0 "domain over numeric(12,2) -> JSON lines, copy_format = $fmt" \
    "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql json $conn \
    -s tables=public.domnum -s copy_format=$fmt --dest-path "$tmp/domnum_$fmt.jsonl"
  contains "$tmp/domnum_$fmt.jsonl" '{"id":1,"m":12.50,"mb":1234567890.12,"plain":"1"}' "domain over numeric(12,2) as a decimal ($fmt)"
  contains "$tmp/domnum_$fmt.jsonl" '{"id":2,"m":-0.01,"mb":null,"plain":"2"}' "domain over numeric: negatives, NULL ($fmt)"
done
expect 0 "discover a domain over numeric" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" discover "$tmp/discover.cfg"
contains "$out" '"m"  decimal128(12,2)' "discover: domain over numeric(12,2)"
contains "$out" '"mb"  decimal128(12,2)' "discover: domain of a domain over numeric(12,2)"
# NaN in a numeric(p,s) column: a bad record naming table, row and column.
pgsql -c "CREATE TABLE numnan (id int PRIMARY KEY, a numeric(10,2)); INSERT INTO numnan VALUES (1, 1.5), (2, 'NaN'), (3, 2.25)" ||
  report_failure "creating numnan"
for fmt in binary text; do
  # shellcheck disable=SC2086
  expect 1 "NaN in numeric(10,2), copy_format = $fmt" \
    "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
    -s tables=public.numnan -s copy_format=$fmt --dest-path "$tmp/numnan.csv"
  contains "$err" 'row 2 of table "public.numnan", column "a" (numeric(10,2)): value "NaN" does not fit Arrow type decimal128(10,2)' "NaN ($fmt): table, row, column and type"
done
# shellcheck disable=SC2086
expect 0 "NaN in numeric(10,2) skipped with on_error = dead_letter" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  -s tables=public.numnan --dest-path "$tmp/numnan.csv" --on-error dead_letter --dead-letter "$tmp/numdead.jsonl"
[ "$(tr '\n' ' ' < "$tmp/numnan.csv")" = 'id,a 1,1.50 3,2.25 ' ] || report_failure "rows around the NaN: $(cat "$tmp/numnan.csv")"
contains "$tmp/numdead.jsonl" 'NaN' "the NaN row in the dead letter file"
# Incremental on a numeric(10,2) cursor: the second run reads only the rows
# added since (positions keep the cursor's text).
pgsql -c "CREATE TABLE numinc (id int PRIMARY KEY, amt numeric(10,2) NOT NULL); INSERT INTO numinc SELECT g, g / 4.0 FROM generate_series(1, 10) g" ||
  report_failure "creating numinc"
cat > "$tmp/numinc.cfg" <<CFG
source = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER"; dbname = "postgres";
  tables = "public.numinc"; mode = "incremental"; cursor = "amt"; };
destination = { connector = "json"; path = "$tmp/numinc.jsonl"; };
engine = { batch_rows = 3; commit_rows = 3; state_file = "$tmp/numinc.state"; };
CFG
expect 0 "incremental on a numeric(10,2) cursor" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/numinc.cfg"
[ "$(grep -c '"amt":' "$tmp/numinc.jsonl")" -eq 10 ] || report_failure "incremental numeric cursor: 10 rows expected"
pgsql -c "INSERT INTO numinc VALUES (11, 2.50), (12, 2.51), (13, 0.10)" || report_failure "adding numinc rows"
expect 0 "incremental on a numeric(10,2) cursor, second run" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/numinc.cfg"
[ "$(sort -u "$tmp/numinc.jsonl" | grep -c '"amt":')" -eq 12 ] && [ "$(wc -l < "$tmp/numinc.jsonl")" -eq 12 ] ||
  report_failure "incremental numeric cursor: 12 distinct rows expected: $(cat "$tmp/numinc.jsonl")"
contains "$tmp/numinc.jsonl" '{"id":10,"amt":2.50}' "incremental numeric cursor: decimal values"
contains "$tmp/numinc.jsonl" '{"id":11,"amt":2.50}' "incremental numeric cursor: an equal cursor value with a later key"
contains "$tmp/numinc.jsonl" '{"id":12,"amt":2.51}' "incremental numeric cursor: a later row"
lacks "$tmp/numinc.jsonl" '"id":13' "incremental numeric cursor: a row below the cursor is not read"
pgsql -c "DROP TABLE nums, numnan, numinc" || report_failure "dropping the numeric tables"

# A date Arrow's date32 cannot hold: an error naming table, column and row.
pgsql -c "CREATE TABLE baddate (id int PRIMARY KEY, d date); INSERT INTO baddate VALUES (1, '2020-01-01'), (2, 'infinity'), (3, '2020-01-03')"
# shellcheck disable=SC2086
expect 1 "a date of infinity" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  -s tables=baddate --dest-path "$tmp/bad.csv"
contains "$err" 'column "d" (date): value "infinity" does not fit Arrow type date32' "infinity date: the cause"
contains "$err" 'row 2 of table "public.baddate"' "infinity date: table and row"
# shellcheck disable=SC2086
expect 0 "a date of infinity skipped with on_error = dead_letter" \
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  -s tables=baddate --dest-path "$tmp/bad.csv" --on-error dead_letter --dead-letter "$tmp/dead.jsonl"
contains "$tmp/bad.csv" '3,2020-01-03' "the row after the bad one"
contains "$tmp/dead.jsonl" 'infinity' "the bad row in the dead letter file"

# Every table and view by default, each its own stream "schema/table", so
# that a file destination's {stream} is the table's name; quoted names.
pgsql -c "CREATE SCHEMA s2" -c "CREATE TABLE s2.\"Mixed Case\" (id int PRIMARY KEY, \"Col A\" text)" \
  -c "INSERT INTO s2.\"Mixed Case\" VALUES (1, 'a'), (2, 'b')" -c "CREATE VIEW v AS SELECT id, t FROM alltypes" \
  -c "DROP TABLE baddate"
mkdir "$tmp/all"
# shellcheck disable=SC2086
expect 0 "every table and view" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql csv $conn \
  --dest-path "$tmp/all/{stream}.csv"
for f in alltypes.csv "Mixed Case.csv" v.csv; do
  [ -f "$tmp/all/$f" ] || report_failure "every table: no $f"
done
contains "$tmp/all/Mixed Case.csv" '2,b' "a quoted schema and table"
contains "$tmp/all/v.csv" '5,ünïcödé 中文 🎉' "the view's rows"
finish
