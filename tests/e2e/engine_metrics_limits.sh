#!/bin/bash
# End to end: the metrics endpoint is bounded (issue 9, item 11).  1100
# idle connections held open during a run must not use up the process's
# descriptors (they did, and the pipeline failed at its next commit); a
# non-loopback address is served with a warning; ":PORT" means loopback;
# idle connections and slow senders (one byte a second) are cut.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
command -v python3 > /dev/null || fail "python3 is needed"

cat > "$work/p.cfg" <<CFG
source = { connector = "flaky"; rows = 6000; delay_ms = 30; };
destination = { connector = "flaky"; path = "$work/out.txt"; };
engine = { batch_rows = 50; commit_interval = 0.1; state_file = "$work/state.json"; };
CFG

# The host under a 1024-descriptor limit (soft and hard), as on many
# systems; exec keeps the process id.
( ulimit -n 1024; exec "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" \
    --plugin-dir "$TEST_PLUGIN_DIR" run "$work/p.cfg" --metrics-addr 127.0.0.1:0 ) \
  2>> "$work/log" &
pid=$!
wait_for_text "$work/log" 'serving metrics at' 20
port=$(sed -n 's|.*serving metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$work/log" | head -n 1)
[ -n "$port" ] || fail "no port in the log"

# Open 1100 connections and keep them idle for 4 seconds (the server's
# idle timeout is 5): the run commits every 0.1 s meanwhile.
python3 - "$port" > "$work/clients.txt" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held, refused = [], 0
for _ in range(1100):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        held.append(s)
    except OSError:
        refused += 1
        s.close()
time.sleep(4)
print("held", len(held), "refused", refused)
PY
cat "$work/clients.txt"

wait_exit "$pid" 120
[ "$exit_code" -eq 0 ] || { cat "$work/log"; fail "the run failed (exit $exit_code) under 1100 idle metrics connections"; }
flaky_expected 1 6000 > "$work/expected.txt"
cmp -s "$work/out.txt" "$work/expected.txt" || fail "output differs from the expected rows"

# Other methods: 405; a request larger than the per-connection memory: refused.
cat > "$work/p2.cfg" <<CFG
source = { connector = "flaky"; rows = 400000; delay_ms = 30; };
destination = { connector = "flaky"; path = "$work/out2.txt"; };
engine = { batch_rows = 50; };
CFG
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --plugin-dir "$TEST_PLUGIN_DIR" \
  run "$work/p2.cfg" --metrics-addr :0 2> "$work/log2" &
pid=$!
wait_for_text "$work/log2" 'serving metrics at' 20
port=$(sed -n 's|.*serving metrics at http://[^:]*:\([0-9]*\)/metrics.*|\1|p' "$work/log2" | head -n 1)
python3 - "$port" <<'PY' || fail "the server answered a request it must refuse"
import socket, sys
port = int(sys.argv[1])
def ask(request):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(request)
    reply = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except OSError:
        pass
    s.close()
    return reply.split(b"\r\n", 1)[0]
line = ask(b"GET /metrics HTTP/1.0\r\n\r\n")
assert b" 200 " in line, line                  # ":PORT" listens on 127.0.0.1
line = ask(b"POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
assert b" 405 " in line, line
line = ask(b"GET /metrics HTTP/1.0\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
assert b" 200 " not in line, line
# Time per connection: one that sends nothing is closed by the server after
# its idle timeout (5 s), not held for as long as the client likes.
import time
s = socket.create_connection(("127.0.0.1", port), timeout=20)
start = time.monotonic()
try:
    data = s.recv(1)
except OSError:
    data = b""
held = time.monotonic() - start
s.close()
assert data == b"" and 3 <= held <= 12, (data, held)
print("idle connection closed by the server after %.1f s" % held)
PY
# Time per request: four clients (the per-address limit) that send their
# request line one byte a second are never idle, so the idle timeout never
# closes them; the 10 s request deadline must, and a scrape must be
# answered after.  Without the deadline they would hold every slot of
# 127.0.0.1 for as long as they keep sending (here up to 40 s).
python3 - "$port" <<'PY' || fail "slow senders held the metrics server's connections"
import socket, sys, threading, time
port = int(sys.argv[1])
held = []
def slow_sender():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    start = time.monotonic()
    request = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 1000
    try:
        for byte in request:
            if time.monotonic() - start > 40:
                break
            s.sendall(bytes([byte]))
            time.sleep(1)
        held.append(("still open", time.monotonic() - start))
    except OSError:
        held.append(("cut", time.monotonic() - start))
    s.close()
clients = [threading.Thread(target=slow_sender) for _ in range(4)]
for c in clients:
    c.start()
for c in clients:
    c.join()
print("slow senders:", ", ".join("%s after %.1f s" % h for h in held))
assert all(what == "cut" and 8 <= after <= 30 for what, after in held), held
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
reply = s.recv(100)
s.close()
assert b" 200 " in reply.split(b"\r\n", 1)[0], reply
PY
kill -TERM "$pid"
wait_exit "$pid" 30

# A non-loopback bind is served, with a warning.
"$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" --plugin-dir "$TEST_PLUGIN_DIR" \
  pipeline flaky flaky --source-setting rows=10 --dest-setting "path=$work/out3.txt" \
  --metrics-addr 0.0.0.0:0 2> "$work/log3" || { cat "$work/log3"; fail "run on 0.0.0.0 failed"; }
grep -q 'level=warn.*serving metrics on \\"0.0.0.0:0\\", which is not a loopback address' "$work/log3" ||
  { cat "$work/log3"; fail "no warning for a non-loopback metrics address"; }
echo "metrics limits ok"
