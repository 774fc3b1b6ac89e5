#!/bin/sh
# pg_incremental.sh - the postgresql source in incremental mode: rows are
# read in (cursor, primary key) order and the position holds the last
# cursor value and key, so a resume inside a run of equal cursor values
# loses and repeats nothing:
#  - PG -> JSON lines, the state put back to an early commit after the run
#    (every resume point is inside a group of 1000 equal cursor values);
#  - the same with copy_format = text resuming a state the binary format
#    saved (the positions are the same text in both formats);
#  - kill -9 during the run, then resume;
#  - a nullable cursor, a table without a primary key, a missing cursor
#    column are refused with the reason.
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
rows=20000
pgsql -c "CREATE TABLE ev (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v text)" \
  -c "INSERT INTO ev SELECT i, timestamptz '2024-01-01 00:00:00+00' + ((i * 7919) % 20) * interval '1 second', 'v' || i FROM generate_series(1, $rows) i"

config() { # name [copy_format]
  cat > "$tmp/$1.cfg" <<CFG
source = { connector = "postgresql"; host = "$PGSOCK"; port = $PGPORT; user = "$PG_SUPERUSER";
  dbname = "postgres"; tables = "public.ev"; mode = "incremental"; cursor = "updated_at";
  copy_format = "${2:-binary}"; };
destination = { connector = "json"; path = "$tmp/$1.jsonl"; };
engine = { batch_rows = 150; commit_rows = 450; state_file = "$tmp/$1.state"; };
CFG
}
check_once() { # name what
  got=$(sed 's/.*"id":\([0-9]*\),.*/\1/' "$tmp/$1.jsonl" | sort -n | uniq | wc -l)
  all=$(wc -l < "$tmp/$1.jsonl")
  if [ "$got" -eq "$rows" ] && [ "$all" -eq "$rows" ]; then
    echo "ok: $2: every row exactly once"
  else
    report_failure "$2: $all lines, $got distinct ids, expected $rows"
  fi
}

# In cursor order, ties by key.
config order
expect 0 "incremental read" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/order.cfg"
check_once order "incremental read"
sed 's/.*"id":\([0-9]*\),"updated_at":"\([^"]*\)".*/\2 \1/' "$tmp/order.jsonl" > "$tmp/keys"
sort -k1,1 -k2,2n "$tmp/keys" | cmp -s - "$tmp/keys" || report_failure "rows are not in (cursor, key) order"

# The state put back to the second commit, after the run: resume there.
config back
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/back.cfg" > /dev/null 2>&1 &
pid=$!
i=0
until [ -s "$tmp/back.state" ] || [ $i -ge 600 ]; do sleep 0.02; i=$((i + 1)); done
cp "$tmp/back.state" "$tmp/back.snap"
wait "$pid"
cp "$tmp/back.snap" "$tmp/back.state"
expect 0 "resume from an early state" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/back.cfg"
contains "$err" "resuming stream" "resume: the saved position is used"
check_once back "resume inside equal cursor values"

# A state saved by the binary format, resumed with the text format.
config mixed
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/mixed.cfg" > /dev/null 2>&1 &
pid=$!
i=0
until [ -s "$tmp/mixed.state" ] || [ $i -ge 600 ]; do sleep 0.02; i=$((i + 1)); done
cp "$tmp/mixed.state" "$tmp/mixed.snap"
wait "$pid"
cp "$tmp/mixed.snap" "$tmp/mixed.state"
config mixed text
expect 0 "resume with copy_format = text" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/mixed.cfg"
contains "$err" "resuming stream" "text resume: the binary format's position is used"
check_once mixed "binary position resumed in text format"

# kill -9 during the run.
config kill
n=0
while [ $n -lt 4 ]; do
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/kill.cfg" > /dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v s="$$$n" 'BEGIN { srand(s); printf "%.2f", 0.05 + rand() * 0.3 }')"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  n=$((n + 1))
done
expect 0 "the run after the kills" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/kill.cfg"
check_once kill "kill -9 loop"

# A later run with the same state reads the rows added since, and only them
# (NB_STREAM_REOPENS: the finished incremental stream reopens at its end).
pgsql -c "INSERT INTO ev VALUES ($((rows + 1)), '2024-02-01 00:00:00+00', 'late1'), ($((rows + 2)), '2024-02-01 00:00:00+00', 'late2'), ($((rows + 3)), '2024-02-02 00:00:00+00', 'late3')"
expect 0 "a second run after new rows" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/order.cfg"
contains "$err" "reopens" "second run: the finished stream reopens"
all=$(wc -l < "$tmp/order.jsonl")
new=$(tail -n 3 "$tmp/order.jsonl" | sed 's/.*"id":\([0-9]*\),.*/\1/' | tr '\n' ' ')
if [ "$all" -eq $((rows + 3)) ] && [ "$new" = "$((rows + 1)) $((rows + 2)) $((rows + 3)) " ]; then
  echo "ok: second run: only the 3 new rows were appended"
else
  report_failure "second run: $all lines (want $((rows + 3))), last ids '$new'"
fi
expect 0 "a third run with nothing new" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/order.cfg"
all=$(wc -l < "$tmp/order.jsonl")
[ "$all" -eq $((rows + 3)) ] && echo "ok: third run: nothing new, nothing written" ||
  report_failure "third run: $all lines (want $((rows + 3)))"

# Refusals.
pgsql -c "CREATE TABLE nullable (id int PRIMARY KEY, c int)" -c "CREATE TABLE nokey (c int NOT NULL)"
conn="-s host=$PGSOCK -s port=$PGPORT -s user=$PG_SUPERUSER -s dbname=postgres"
# shellcheck disable=SC2086
expect 1 "a nullable cursor" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql json $conn \
  -s tables=nullable -s mode=incremental -s cursor=c --dest-path "$tmp/x.jsonl"
contains "$err" 'cursor column "c" of table "public.nullable" allows NULL' "nullable cursor: the reason"
# shellcheck disable=SC2086
expect 1 "a table without a key" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql json $conn \
  -s tables=nokey -s mode=incremental -s cursor=c --dest-path "$tmp/x.jsonl"
contains "$err" 'table "public.nokey" has no primary key: incremental mode needs one' "no key: the reason"
# shellcheck disable=SC2086
expect 1 "no cursor column" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" pipeline postgresql json $conn \
  -s tables=ev -s mode=incremental -s cursor=nope --dest-path "$tmp/x.jsonl"
contains "$err" 'table "public.ev" has no column "nope" (setting "cursor")' "missing cursor column: the reason"
finish
