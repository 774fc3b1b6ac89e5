#!/bin/sh
# pg_cdc.sh - mode cdc of the postgresql source against a real server:
#  - initial snapshot (op r) consistent with the slot, then c/u/d records
#    with lsn, xid, commit_ts; an unchanged TOASTed value is listed in
#    toasted_columns, not passed off as NULL; REPLICA IDENTITY FULL gives
#    the before image;
#  - several concurrent writer sessions while nebula-host streams and is
#    killed with SIGKILL at random moments, then a run to catch-up: every
#    change exactly once, in commit order;
#  - PG -> PG: the changes applied to a target in upsert mode with
#    apply_deletes (deletes and truncates too), compared with EXCEPT queries;
#  - clear errors (slot missing, slot active, no REPLICATION attribute),
#    a bad value, a server restart while streaming (the next run resumes
#    exactly), and the password in no output.
. "${srcdir:-.}/lib/cli_lib.sh"
. "${srcdir:-.}/plugins/postgresql/pg_server.sh"
: "${PLUGIN_DIR:?PLUGIN_DIR must name the connectors directory}"
pg_start
H() { "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" "$@"; }

# config NAME TABLE SLOT EXTRA-SOURCE-SETTINGS DESTINATION
config() {
  cat > "$tmp/$1.cfg" <<CFG
source = { connector = "postgresql"; host = "127.0.0.1"; port = $PGPORT; user = "$PG_SUPERUSER";
  password = "$PG_PASSWORD"; dbname = "postgres"; tables = "$2"; mode = "cdc"; slot = "$3";
  publication = "pub_$3"; create_publication = true; create_slot = true; $4 };
destination = $5;
engine = { batch_rows = 500; commit_rows = 500; commit_interval = 0.2; state_file = "$tmp/$1.state"; };
CFG
}
json_dest() { echo "{ connector = \"json\"; path = \"$tmp/$1.jsonl\"; }"; }
# Wait (10 s at most) until a run streams from slot $1.
wait_slot_active() {
  i=0
  until [ "$(pgsql -Atc "SELECT active FROM pg_replication_slots WHERE slot_name = '$1'")" = t ] || [ $i -ge 100 ]; do
    sleep 0.1; i=$((i + 1))
  done
}

# 1. Snapshot, then each kind of change.
pgsql -c "CREATE TABLE items (id int PRIMARY KEY, name text, amount numeric, big text, at timestamptz)"
pgsql -c "INSERT INTO items SELECT i, 'item ' || i, i * 1.25, NULL, '2024-01-02 03:04:05+00' FROM generate_series(1, 1000) i"
config snap public.items s_snap "snapshot = true; stop_at_catchup = true;" "$(json_dest snap)"
expect 0 "snapshot run" H run "$tmp/snap.cfg"
got=$(grep -c '"op":"r"' "$tmp/snap.jsonl")
[ "$got" = 1000 ] && echo "ok: snapshot: 1000 rows with op r" || report_failure "snapshot: $got rows with op r, expected 1000"
pgsql -c "INSERT INTO items VALUES (5000, 'toasty', 1, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)), now())"
pgsql -c "UPDATE items SET name = 'renamed' WHERE id = 5000"
pgsql -c "UPDATE items SET amount = 99.5 WHERE id = 7; DELETE FROM items WHERE id = 8; UPDATE items SET id = 7007 WHERE id = 7"
pgsql -c "ALTER TABLE items REPLICA IDENTITY FULL; UPDATE items SET name = 'full' WHERE id = 9"
pgsql -c "CREATE TABLE items_keep AS SELECT * FROM items; TRUNCATE items"
config chg public.items s_snap "stop_at_catchup = true;" "$(json_dest chg)"
sed -i 's/create_slot = true;/create_slot = false;/' "$tmp/chg.cfg"
expect 0 "changes after the snapshot" H run "$tmp/chg.cfg"
ops=$(sed 's/^{"op":"\(.\)","id":\([0-9]*\).*/\1\2/' "$tmp/chg.jsonl" | tr '\n' ' ')
[ "$ops" = "c5000 u5000 u7 d8 u7007 u9 t " ] &&
  echo "ok: ops c u u d u u t" || report_failure "ops: $ops"
grep '"id":5000' "$tmp/chg.jsonl" | sed -n 2p | grep -q '"big":null,.*"toasted_columns":\["big"\]' &&
  echo "ok: unchanged TOAST value listed in toasted_columns" || report_failure "toasted_columns: $(sed -n 2p "$tmp/chg.jsonl" | cut -c1-200)"
grep -q '"id":9,.*"before":{"id":"9","name":"item 9",' "$tmp/chg.jsonl" &&
  echo "ok: replica identity full: before image" || report_failure "before image: $(grep '"id":9' "$tmp/chg.jsonl")"
grep -q '"id":7007,.*"before":{"id":"7"},' "$tmp/chg.jsonl" &&
  echo "ok: a changed key: the old key in before" || report_failure "changed key: $(grep '"id":7007' "$tmp/chg.jsonl")"
grep -q '"op":"d","id":8,"name":null' "$tmp/chg.jsonl" && grep -q '"xid":[0-9]*,"commit_ts":"20' "$tmp/chg.jsonl" &&
  echo "ok: delete carries the key; xid and commit_ts" || report_failure "delete record or xid/commit_ts"

pgsql -c "SELECT pg_drop_replication_slot('s_snap')" > /dev/null # the server has 4

# 2. Concurrent writers, kill -9 loop, then catch up: exactly once, in order.
pgsql -c "CREATE TABLE ev (id int PRIMARY KEY, name text)"
pgsql -c "SELECT pg_create_logical_replication_slot('s_ev', 'pgoutput')" > /dev/null
pgsql -c "CREATE PUBLICATION pub_s_ev FOR TABLE ev"
writers=3 per=300 bulk=4000
writer() { # w: per ids, each inserted, updated twice, every 5th deleted
  i=1
  while [ $i -le $per ]; do
    id=$(($1 * 100000 + i))
    echo "INSERT INTO ev VALUES ($id, 'c$id');"
    echo "UPDATE ev SET name = 'u1-$id' WHERE id = $id;"
    echo "BEGIN; UPDATE ev SET name = 'u2-$id' WHERE id = $id;"
    [ $((i % 5)) -eq 0 ] && echo "DELETE FROM ev WHERE id = $id;"
    echo "COMMIT;"
    i=$((i + 1))
    [ $((i % 10)) -eq 0 ] && echo "SELECT pg_sleep(0.05);"
  done | pgsql > /dev/null
}
config ev public.ev s_ev "" "$(json_dest ev)"
w=1
wpids=
while [ $w -le $writers ]; do writer $w & wpids="$wpids $!"; w=$((w + 1)); done
# One large transaction too: batches (500 rows) end inside it, so a kill
# can land between two of its batches.
pgsql -c "INSERT INTO ev SELECT i, 'bulk' FROM generate_series(900001, 900000 + $bulk) i" &
wpids="$wpids $!"
kills=0
while [ $kills -lt 10 ]; do
  "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/ev.cfg" 2>> "$tmp/ev.log" > /dev/null &
  pid=$!
  sleep "0.$(( (kills * 37 + $$) % 9 + 1))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  kills=$((kills + 1))
done
for p in $wpids; do wait "$p"; done
echo "# writers done after $kills kills; $(wc -l < "$tmp/ev.jsonl" 2>/dev/null || echo 0) records committed so far, $(grep -c 'resuming stream' "$tmp/ev.log") resumes, $(grep -c 'resumes inside the transaction' "$tmp/ev.log") inside a transaction"
sed -i 's/publication = "pub_s_ev";/publication = "pub_s_ev"; stop_at_catchup = true;/' "$tmp/ev.cfg"
expect 0 "catch-up run after the kills" H run "$tmp/ev.cfg"
want=$((writers * per * 3 + writers * per / 5 + bulk))
got=$(wc -l < "$tmp/ev.jsonl")
uniq=$(sed 's/"lsn".*//' "$tmp/ev.jsonl" | sort -u | wc -l)
[ "$got" = "$want" ] && [ "$uniq" = "$want" ] && echo "ok: $want changes exactly once" ||
  report_failure "$got records ($uniq distinct), expected $want"
# Commit order: LSNs never go back; per id: c, u1, u2 (, d).
awk -F'"lsn":"' '{ split($2, a, "\""); split(a[1], p, "/"); v = sprintf("%08s%08s", p[1], p[2]); gsub(/ /, "0", v);
  if (v < last) bad++; last = v } END { exit bad > 0 }' "$tmp/ev.jsonl" &&
  echo "ok: commit LSNs in order" || report_failure "commit LSNs out of order"
order=$(sed 's/^{"op":"\(.\)","id":\([0-9]*\),"name":\("[^"]*"\|null\).*/\2 \1 \3/' "$tmp/ev.jsonl" |
  awk '{ s[$1] = s[$1] $2 } END { for (k in s) if (s[k] != "cuu" && s[k] != "cuud" && !(k > 900000 && s[k] == "c")) { print k, s[k]; n++ } }' | head -3)
[ -z "$order" ] && echo "ok: each row's changes in order" || report_failure "per-row order: $order"

# 3. PG -> PG: snapshot and concurrent changes applied with upsert.
pgsql -c "CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric, note text)"
pgsql -c "INSERT INTO acct SELECT i, 'owner ' || i, i * 10, NULL FROM generate_series(1, 2000) i"
pg_dest="{ connector = \"postgresql\"; host = \"$PGSOCK\"; port = $PGPORT; user = \"$PG_SUPERUSER\"; dbname = \"postgres\"; table = \"acct_copy\"; mode = \"upsert\"; primary_key = \"id\"; pipeline_id = \"cdc\"; apply_deletes = true; }"
config pg public.acct s_pg "snapshot = true;" "$pg_dest"
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/pg.cfg" 2> "$tmp/pg.log" > /dev/null &
pid=$!
wait_slot_active s_pg
wpids=
for k in 1 2 3 4 5 6; do
  pgsql -c "UPDATE acct SET balance = balance + $k, note = 'n$k' WHERE id % 7 = $k; INSERT INTO acct VALUES (3000 + $k, 'new', $k, NULL); DELETE FROM acct WHERE id = 100 + $k" &
  wpids="$wpids $!"
done
for p in $wpids; do wait "$p"; done
sleep 1
kill -TERM "$pid"
wait "$pid"
echo "# SIGTERM: exit $?"
sed -i 's/snapshot = true;/snapshot = true; stop_at_catchup = true;/' "$tmp/pg.cfg"
pgsql -c "UPDATE acct SET owner = 'late' WHERE id < 50"
expect 0 "PG -> PG catch-up" H run "$tmp/pg.cfg"
diff1=$(pgsql -Atc "SELECT count(*) FROM (SELECT id, owner, balance, note FROM acct EXCEPT SELECT id, owner, balance::numeric, note FROM acct_copy) x")
diff2=$(pgsql -Atc "SELECT count(*) FROM (SELECT id, owner, balance::numeric, note FROM acct_copy EXCEPT SELECT id, owner, balance, note FROM acct) x")
[ "$diff1|$diff2" = "0|0" ] && echo "ok: PG -> PG: target equals source (EXCEPT both ways)" ||
  report_failure "PG -> PG: $diff1 rows missing, $diff2 rows extra"
deleted=$(pgsql -Atc "SELECT count(*) FROM acct_copy WHERE id BETWEEN 101 AND 106")
[ "$deleted" = 0 ] && echo "ok: PG -> PG: the 6 deletes applied" || report_failure "PG -> PG: $deleted deleted rows still in the target"
pgsql -c "SELECT pg_drop_replication_slot('s_pg')" > /dev/null
# A truncate empties the target; the rows staged before it are dropped.
pgsql -c "CREATE TABLE tr (id int PRIMARY KEY, v text)"
tr_dest=$(echo "$pg_dest" | sed 's/acct_copy/tr_copy/; s/pipeline_id = "cdc"/pipeline_id = "tr"/')
config tr public.tr s_tr "stop_at_catchup = true;" "$tr_dest"
expect 0 "truncate: slot" H run "$tmp/tr.cfg"
pgsql -c "INSERT INTO tr VALUES (1, 'a'), (2, 'b'); TRUNCATE tr; INSERT INTO tr VALUES (3, 'c')" -c "UPDATE tr SET v = 'd'"
rm -f "$tmp/tr.state"
expect 0 "truncate: applied" H run "$tmp/tr.cfg"
got=$(pgsql -Atc "SELECT string_agg(id || v, ',') FROM tr_copy")
[ "$got" = 3d ] && echo "ok: PG -> PG: truncate applied" || report_failure "truncate: target holds $got, expected 3d"

# 4. Errors, and the password nowhere.
config nosl public.items s_none "" "$(json_dest nosl)"
sed -i 's/create_slot = true;/create_slot = false;/' "$tmp/nosl.cfg"
expect 1 "slot missing" H run "$tmp/nosl.cfg"
contains "$err" 'replication slot "s_none" does not exist' "slot missing: named"
config act public.ev s_ev "" "$(json_dest act)"
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/act.cfg" 2> "$tmp/act.log" > /dev/null &
pid=$!
wait_slot_active s_ev
config act2 public.ev s_ev "" "$(json_dest act2)"
expect 1 "slot active" H run "$tmp/act2.cfg"
contains "$err" 'is active' "slot active: said"
kill -TERM "$pid"; wait "$pid"
pgsql -c "CREATE ROLE norepl LOGIN PASSWORD '$PG_PASSWORD'; GRANT SELECT ON items TO norepl"
config norepl public.items s_norepl "" "$(json_dest norepl)"
sed -i "s/user = \"$PG_SUPERUSER\"/user = \"norepl\"/" "$tmp/norepl.cfg"
expect 1 "user without REPLICATION" H run "$tmp/norepl.cfg"
contains "$err" 'lacks the REPLICATION attribute' "no REPLICATION attribute: said"
expect 0 "describe" H describe postgresql
# A value that does not fit its Arrow type: a bad record, skipped with
# on_error = skip, the records around it delivered.
pgsql -c "CREATE TABLE days (id int PRIMARY KEY, d date)"
config bad public.days s_bad "stop_at_catchup = true;" "$(json_dest bad)"
sed -i 's/engine = {/engine = { on_error = "skip";/' "$tmp/bad.cfg"
expect 0 "slot for the bad value" H run "$tmp/bad.cfg"
pgsql -c "INSERT INTO days VALUES (1, '2024-01-01'), (2, 'infinity'), (3, '2024-01-03')"
rm -f "$tmp/bad.state"
sed -i 's/create_slot = true;/create_slot = false;/' "$tmp/bad.cfg"
expect 0 "a value that does not fit" H run "$tmp/bad.cfg"
contains "$err" 'public.days\", column \"d\", transaction' "bad value: table, column and transaction named"
ids=$(sed 's/^{"op":"c","id":\([0-9]*\).*/\1/' "$tmp/bad.jsonl" | tr '\n' ' ')
[ "$ids" = "1 3 " ] && echo "ok: bad value skipped, the others delivered" || report_failure "bad value: ids $ids"
# numeric(10,2) in CDC (pgoutput sends text): a decimal128, digit for
# digit; NaN a bad record naming table, column and transaction.
pgsql -c "CREATE TABLE amounts (id int PRIMARY KEY, a numeric(10,2))"
config num public.amounts s_num "stop_at_catchup = true;" "$(json_dest num)"
sed -i 's/engine = {/engine = { on_error = "skip";/' "$tmp/num.cfg"
expect 0 "slot for numeric(10,2)" H run "$tmp/num.cfg"
pgsql -c "INSERT INTO amounts VALUES (1, 12345678.90), (2, 'NaN'), (3, -0.01), (4, 0)"
rm -f "$tmp/num.state"
sed -i 's/create_slot = true;/create_slot = false;/' "$tmp/num.cfg"
expect 0 "numeric(10,2) changes" H run "$tmp/num.cfg"
contains "$err" 'public.amounts\", column \"a\", transaction' "numeric NaN: table, column and transaction named"
contains "$err" 'value \"NaN\" does not fit the column'"'"'s Arrow type decimal128(10,2)' "numeric NaN: the type named"
contains "$tmp/num.jsonl" '"id":1,"a":12345678.90,' "CDC numeric(10,2): exact digits"
contains "$tmp/num.jsonl" '"id":3,"a":-0.01,' "CDC numeric(10,2): a small negative"
contains "$tmp/num.jsonl" '"id":4,"a":0.00,' "CDC numeric(10,2): zero with its scale"
lacks "$tmp/num.jsonl" '"id":2,' "CDC numeric(10,2): the NaN row skipped"
pgsql -c "SELECT pg_drop_replication_slot('s_num')" > /dev/null # the server has 4
# A server restart while streaming: the run connects again (or, when the
# server is back too late for the host's retries, fails and the next run
# resumes); either way every change exactly once.
pgsql -c "CREATE TABLE rs (id int PRIMARY KEY, v text)"
config rs public.rs s_rs "" "$(json_dest rs)"
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/rs.cfg" 2> "$tmp/rs.log" > /dev/null &
pid=$!
wait_slot_active s_rs
pgsql -c "INSERT INTO rs SELECT i, 'a' FROM generate_series(1, 1000) i"
sleep 0.5
pg_restart
pgsql -c "INSERT INTO rs SELECT i, 'b' FROM generate_series(1001, 2000) i"
i=0
while kill -0 "$pid" 2>/dev/null && [ "$(cat "$tmp/rs.jsonl" 2>/dev/null | wc -l)" -lt 2000 ] && [ $i -lt 300 ]; do
  sleep 0.1; i=$((i + 1))
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
echo "# streaming run across a server restart: exit $? with $(wc -l < "$tmp/rs.jsonl") records," \
  "$(grep -c 'connected again' "$tmp/rs.log") reconnections"
sed -i 's/publication = "pub_s_rs";/publication = "pub_s_rs"; stop_at_catchup = true;/' "$tmp/rs.cfg"
expect 0 "resume after a server restart" H run "$tmp/rs.cfg"
got=$(sort -u "$tmp/rs.jsonl" | wc -l)
[ "$got" = 2000 ] && [ "$(wc -l < "$tmp/rs.jsonl")" = 2000 ] && echo "ok: server restart: 2000 inserts exactly once" ||
  report_failure "server restart: $got distinct of $(wc -l < "$tmp/rs.jsonl") records, expected 2000"
# The slot's confirmed flush LSN moves while a run streams (the host
# reports each commit to the source, ABI 1.2 source_committed), so the
# server does not keep a long run's WAL until the next run.
pgsql -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('s_rs', 's_bad')" > /dev/null # the server has 4
pgsql -c "CREATE TABLE fl (id int PRIMARY KEY, v text)"
config fl public.fl s_fl "status_interval = 1;" "$(json_dest fl)"
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" run "$tmp/fl.cfg" 2> "$tmp/fl.log" > /dev/null &
pid=$!
wait_slot_active s_fl
start_lsn=$(pgsql -Atc "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 's_fl'")
# Confirmations come at transaction ends: past the WAL position before the
# insert means past the insert's commit.
before_insert=$(pgsql -Atc "SELECT pg_current_wal_lsn()")
pgsql -c "INSERT INTO fl SELECT i, 'x' FROM generate_series(1, 2000) i"
i=0
moved=f
while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
  moved=$(pgsql -Atc "SELECT confirmed_flush_lsn > '$before_insert'::pg_lsn FROM pg_replication_slots WHERE slot_name = 's_fl'")
  [ "$moved" = t ] && break
  sleep 0.1; i=$((i + 1))
done
running=no; kill -0 "$pid" 2>/dev/null && running=yes
kill -TERM "$pid" 2>/dev/null
wait "$pid"
[ "$moved" = t ] && [ "$running" = yes ] && [ "$(wc -l < "$tmp/fl.jsonl")" = 2000 ] &&
  echo "ok: confirmed flush LSN moved from $start_lsn past the insert at $before_insert during the run" ||
  { cat "$tmp/fl.log"; report_failure "confirmed flush LSN did not pass $before_insert during the run (from $start_lsn; running: $running; $(wc -l < "$tmp/fl.jsonl") records)"; }
cat "$tmp"/*.log "$err" "$out" > "$tmp/all-output"
lacks "$tmp/all-output" "$PG_PASSWORD" "the password in no log, error or describe output"
finish
