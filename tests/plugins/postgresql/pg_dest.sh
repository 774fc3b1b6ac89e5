#!/bin/sh
# pg_dest.sh - the postgresql destination against a real server:
#  - CSV -> PG -> CSV gives back the same file (tabs, newlines, backslashes,
#    quotes, non-ASCII, empty fields), the table created from the schema;
#  - append adds, replace swaps in a new table in one transaction, upsert
#    inserts or updates on the primary key (last row of a key wins);
#  - nebula_commits records the pipeline's committed row counts;
#  - PG -> PG of every mapped type equals the source (EXCEPT both ways).
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
conn="-s host=$PGSOCK -s port=$PGPORT -s user=$PG_SUPERUSER -s dbname=postgres"
run() {
  # shellcheck disable=SC2086
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline "$@"
}

# The file is written as the CSV destination writes (quotes only where
# needed, "" for an empty string), so the round trip is byte for byte.
printf 'id,name,note\n' > "$tmp/people.csv"
printf '1,Ann,tab\there\n' >> "$tmp/people.csv"
printf '2,"Bob ""B"" Smith","line1\nline2"\n' >> "$tmp/people.csv"
printf '3,Zoë 中文,back\\slash \\N\n' >> "$tmp/people.csv"
printf '4,"","a,b"\n' >> "$tmp/people.csv"
printf '5,x,\\.\n' >> "$tmp/people.csv"

# shellcheck disable=SC2086
expect 0 "CSV -> PG (table created)" run csv postgresql $conn --source-path "$tmp/people.csv"
[ "$(pgsql -Atc 'SELECT count(*) FROM people')" = 5 ] || report_failure "5 rows in people"
# shellcheck disable=SC2086
expect 0 "PG -> CSV" run postgresql csv $conn -s "query=SELECT * FROM people ORDER BY id" \
  --dest-path "$tmp/back.csv"
cmp -s "$tmp/people.csv" "$tmp/back.csv" || {
  diff "$tmp/people.csv" "$tmp/back.csv"
  report_failure "CSV -> PG -> CSV is not the same file"
}
[ "$(pgsql -Atc "SELECT note FROM people WHERE id = '3'")" = 'back\slash \N' ] ||
  report_failure "backslashes stored as they are"
[ "$(pgsql -Atc "SELECT name IS NULL, name = '' FROM people WHERE id = '4'")" = 'f|t' ] ||
  report_failure "an empty string is not NULL"

# append: the same file again doubles the rows.
# shellcheck disable=SC2086
expect 0 "append" run csv postgresql $conn --source-path "$tmp/people.csv"
[ "$(pgsql -Atc 'SELECT count(*) FROM people')" = 10 ] || report_failure "append: 10 rows"
[ "$(pgsql -Atc "SELECT rows FROM nebula_commits WHERE pipeline = 'default' AND stream = '$tmp/people.csv'")" = 5 ] ||
  report_failure "nebula_commits: 5 rows of the last run"

# replace: the table ends with exactly the new rows.
printf 'id,name,note\n7,New,row\n' > "$tmp/people2.csv"
cp "$tmp/people2.csv" "$tmp/people.csv"
# shellcheck disable=SC2086
expect 0 "replace" run csv postgresql $conn --source-path "$tmp/people.csv" -s mode=replace
[ "$(pgsql -Atc 'SELECT id, name FROM people')" = '7|New' ] || report_failure "replace: only the new row"
[ "$(pgsql -Atc "SELECT count(*) FROM pg_class WHERE relname = 'people__nebula_new'")" = 0 ] ||
  report_failure "replace: the new table was renamed"

# upsert: key from the existing table, updates and inserts, last row wins.
pgsql -c "CREATE TABLE items (id text PRIMARY KEY, qty text, label text)" \
  -c "INSERT INTO items VALUES ('1', '10', 'old one'), ('2', '20', 'old two')"
printf 'id,qty,label\n2,21,new two\n3,30,three\n3,31,three again\n' > "$tmp/items.csv"
# shellcheck disable=SC2086
expect 0 "upsert" run csv postgresql $conn --source-path "$tmp/items.csv" -s mode=upsert
got=$(pgsql -Atc "SELECT string_agg(id || '=' || qty || ':' || label, ' ' ORDER BY id) FROM items")
[ "$got" = '1=10:old one 2=21:new two 3=31:three again' ] || report_failure "upsert result: $got"

# upsert into a table without a key: a clear error.
pgsql -c "CREATE TABLE nokey (id text, qty text, label text)"
# shellcheck disable=SC2086
expect 1 "upsert without a key" run csv postgresql $conn --source-path "$tmp/items.csv" \
  -s mode=upsert -s table=nokey
contains "$err" 'mode upsert: table public.nokey has no primary key' "upsert without a key: the cause"

# A column the target lacks: the server's error names table and column.
printf 'id,qty,colour\n1,2,red\n' > "$tmp/items.csv"
# shellcheck disable=SC2086
expect 1 "a column the table lacks" run csv postgresql $conn --source-path "$tmp/items.csv"
contains "$err" 'column "colour" of relation "items" does not exist' "missing column: the server's message"
contains "$err" 'public.items' "missing column: the table"
# PG -> PG: every mapped type into a table the destination creates, equal
# to the source value for value (EXCEPT both ways; float4 compared as its
# text, char(n) without its padding, arrays as JSON).
pgsql -f "$srcdir/data/postgresql/alltypes.sql" > /dev/null || report_failure "loading alltypes.sql"
side() { for k in host="$PGSOCK" port="$PGPORT" user="$PG_SUPERUSER" dbname=postgres; do printf -- '--%s-setting %s ' "$1" "$k"; done; }
# shellcheck disable=SC2046
expect 0 "PG -> PG" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql postgresql \
  $(side source) $(side dest) --source-setting tables=public.alltypes \
  --dest-setting 'table=copy_{stream}' --dest-setting primary_key=id
src_cols="id, i2, i4, i8, f4::text, f8, num::text, num2::text, t, vc, ch::text, b, d, tm::text, ttz::text, ts, tstz, iv::text, u::text, j::text, jb::text, by::text, to_json(arr)::text, to_json(tarr)::text, m::text, dom"
dst_cols="id, i2, i4, i8, f4::text, f8, num, num2::text, t, vc, rtrim(ch), b, d, tm, ttz, ts, tstz, iv, u, j::text, jb::text, by, arr::text, tarr::text, m, dom"
diff_rows=$(pgsql -Atc "SELECT count(*) FROM ((SELECT $src_cols FROM alltypes EXCEPT SELECT $dst_cols FROM copy_alltypes) UNION ALL (SELECT $dst_cols FROM copy_alltypes EXCEPT SELECT $src_cols FROM alltypes)) x")
[ "$diff_rows" = 0 ] || report_failure "PG -> PG: $diff_rows rows differ"
[ "$(pgsql -Atc "SELECT count(*) FROM copy_alltypes")" = 5 ] || report_failure "PG -> PG: 5 rows"
# numeric(38,10) went through as decimal128(38,10) and came back as it was.
[ "$(pgsql -Atc "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'copy_alltypes'::regclass AND attname = 'num2'")" = "numeric(38,10)" ] ||
  report_failure "PG -> PG: numeric(38,10) kept its type"
[ "$(pgsql -Atc "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'copy_alltypes'::regclass AND attname = 'tstz'")" = "timestamp with time zone" ] ||
  report_failure "PG -> PG: timestamptz created as timestamptz"
finish
