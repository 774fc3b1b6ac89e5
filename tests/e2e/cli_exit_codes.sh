#!/bin/sh
# cli_exit_codes.sh - exit status and messages of nebula-host: usage errors
# (2), configuration errors with file and line (2), connector failures (1),
# success (0), secrets never printed, JSON diagnostics, signals (143).
. "${srcdir:-.}/lib/cli_lib.sh"

# --- usage -------------------------------------------------------------
expect 2 "no command" host
contains "$err" "no command given" "no command"
expect 2 "unrecognized command" host lsit
contains "$err" "did you mean \"list\"?" "command typo"
expect 2 "unrecognized option" host list --bogus
contains "$err" "unrecognized option \"--bogus\"" "bogus option"
contains "$err" "HINT: Try \"nebula-host list --help\"." "bogus option hint"
expect 2 "option without its value" host list --plugin-dir
contains "$err" "needs a value" "missing option value"
expect 2 "bad --log-format" host --log-format xml list
expect 2 "bad --log-level" host --log-level loud list
expect 2 "option of another command" host validate --state x "$data/good.conf"
contains "$err" "does not apply to validate" "option of another command"
expect 2 "validate without a file" host validate
expect 2 "describe without a name" thost describe
expect 2 "describe of a connector that does not exist" thost describe testgod
contains "$err" "connector \"testgod\" not found" "describe missing"
contains "$err" "Did you mean \"testgood\"?" "describe did you mean"

# --- list and describe -------------------------------------------------
expect 0 "list with refused files" thost list
contains "$out" "testgood" "list shows the good connector"
contains "$err" "warning: incompatible connector" "list reports refusals"
expect 0 "list --json" thost list --json
contains "$out" "\"name\":\"testgood\"" "list --json connectors"
contains "$out" "\"refused\":[{" "list --json refusals"
expect 0 "list -q hides warnings" thost -q list
lacks "$err" "warning" "quiet list"
expect 0 "describe" thost describe testgood
contains "$out" "choices: lines, array" "describe enum choices"
contains "$out" "password   both         string" "describe settings table"
expect 0 "describe --json" thost describe testgood --json
contains "$out" "\"secret\":true" "describe --json"

# --- validate ----------------------------------------------------------
expect 0 "validate a good file" thost validate "$data/good.conf"
contains "$out" "is valid" "validate good"
contains "$out" "delimiter = \",\" (default)" "validate shows defaults"
expect 2 "validate: unrecognized setting" thost validate "$data/unknown_setting.conf"
contains "$err" "unrecognized setting \"source.pth\" in file \"$data/unknown_setting.conf\" line 3" \
  "unrecognized setting message"
contains "$err" "HINT: Did you mean \"path\"?" "did you mean"
expect 2 "validate: wrong type" thost validate "$data/wrong_type.conf"
contains "$err" "wrong type for setting \"source.rows\"" "wrong type"
expect 2 "validate: syntax error" thost validate "$data/syntax.conf"
contains "$err" "line 4" "syntax error line"
expect 2 "validate: missing file" thost validate "$tmp/nope.conf"
contains "$err" "could not open configuration file" "missing config file"
expect 2 "validate: unset variable" env -u NEBULA_TEST_UNSET_VARIABLE \
  NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$TEST_PLUGIN_DIR" validate "$data/env_unset.conf"
contains "$err" "environment variable \"NEBULA_TEST_UNSET_VARIABLE\" is not set" "unset variable"
expect 2 "validate: connector not found" host --plugin-dir "$tmp" validate "$data/good.conf"
contains "$err" "connector \"testgood\" not found" "connector not found"
expect 0 "validate from standard input" sh -c \
  "NEBULA_PLUGIN_PATH= '$NEBULA_HOST' --plugin-dir '$TEST_PLUGIN_DIR' validate - < '$data/good.conf'"

# Secrets: never on stdout or stderr.
expect 0 "validate with secrets" thost validate "$data/secret.conf"
contains "$out" "password = [REDACTED]" "secret redacted"
lacks "$out" "hunter2" "secret value on stdout"
lacks "$err" "hunter2" "secret value on stderr"
lacks "$out" "1234" "secret int on stdout"

expect 0 "validate: a secret's value inside other settings" thost validate \
  "$data/secret_elsewhere.conf"
lacks "$out" "hunter2" "secret value inside other settings"
contains "$out" 'path = "/data/[REDACTED]/in.csv"' "secret redacted inside a path"
contains "$out" "state_file = /state/[REDACTED].json" "secret redacted inside the state file"

# validate runs the connectors' own checks (generate refuses rows < 0),
# without creating the destination file.
if [ -n "${PLUGIN_DIR:-}" ]; then
  printf 'source = { connector = "generate"; rows = -5; };\ndestination = { connector = "json"; path = "%s"; };\n' \
    "$tmp/gen-out.json" >"$tmp/gen-neg.conf"
  expect 2 "validate: value the connector refuses" \
    env NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" validate "$tmp/gen-neg.conf"
  contains "$err" 'connector "generate": invalid value for setting "rows": -5' "connector's check"
  lacks "$out" "is valid" "not declared valid"
  sed 's/-5/5/' "$tmp/gen-neg.conf" >"$tmp/gen-ok.conf"
  expect 0 "validate: value the connector accepts" \
    env NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" validate "$tmp/gen-ok.conf"
  contains "$out" "is valid" "valid"
  if [ -e "$tmp/gen-out.json" ]; then report_failure "validate created the destination file"; fi
fi

# JSON diagnostics.
expect 2 "JSON diagnostics" thost --log-format json validate "$data/unknown_setting.conf"
contains "$err" "{\"ts\":\"" "json line"
contains "$err" "\"level\":\"error\"" "json level"
contains "$err" "\"hint\":\"Did you mean \\\"path\\\"?\"" "json hint"

# --- check -------------------------------------------------------------
cat >"$tmp/check.conf" <<CONF
source = { connector = "testgood"; path = "in.csv"; };
destination = { connector = "testgood"; path = "$tmp/existing.txt"; };
CONF
echo "precious" >"$tmp/existing.txt"
expect 0 "check" thost check "$tmp/check.conf"
contains "$out" "source: testgood: opened, 1 stream" "check source"
contains "$out" "destination: testgood: opened" "check destination"
contains "$tmp/existing.txt" "precious" "check does not truncate the destination"

cat >"$tmp/check_new.conf" <<CONF
source = { connector = "testgood"; path = "in.csv"; };
destination = { connector = "testgood"; path = "$tmp/new.txt"; };
CONF
expect 0 "check with a new destination file" thost check "$tmp/check_new.conf"
if [ -e "$tmp/new.txt" ]; then report_failure "check created the destination file"; fi

cat >"$tmp/check_bad_dest.conf" <<CONF
source = { connector = "testgood"; path = "in.csv"; };
destination = { connector = "testgood"; path = "$tmp/no/such/dir/out.txt"; };
CONF
expect 1 "check: destination cannot be written" thost check "$tmp/check_bad_dest.conf"
contains "$err" "could not open file \"$tmp/no/such/dir/out.txt\" for writing" "check dest error"

cat >"$tmp/check_bad_source.conf" <<CONF
source = { connector = "testgood"; path = "missing.csv"; };
destination = { connector = "testgood"; path = "$tmp/existing.txt"; };
CONF
expect 1 "check: source cannot be opened" thost check "$tmp/check_bad_source.conf"
contains "$err" "could not open file \"missing.csv\"" "check source error"

# --- discover ----------------------------------------------------------
expect 0 "discover" thost discover "$tmp/check.conf"
contains "$out" "stream \"in.csv\"" "discover stream"
contains "$out" "\"id\"  int64 not null" "discover column"
contains "$out" "\"name\"  utf8" "discover nullable column"
expect 0 "discover --json" thost discover --json "$tmp/check.conf"
contains "$out" "{\"streams\":[{\"name\":\"in.csv\"" "discover json"
contains "$out" "{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false}" "discover json column"

# --- pipeline ----------------------------------------------------------
expect 0 "pipeline" thost -q pipeline testgood testgood --source-path in.csv \
  --dest-path "$tmp/p.out" --format array -s delimiter=';'
expect 2 "pipeline: ambiguous -s" thost pipeline testgood testgood --source-path a \
  --dest-path "$tmp/p.out" -s rows=5
contains "$err" "ambiguous setting \"rows\" given by option -s" "ambiguous"
expect 2 "pipeline: bad enum" thost pipeline testgood testgood --source-path a \
  --dest-path "$tmp/p.out" --format xml
contains "$err" "\"xml\" is not one of the choices \"lines\" or \"array\"" "enum choices"
expect 2 "pipeline: missing path" thost pipeline testgood testgood --dest-path "$tmp/p.out"
contains "$err" "HINT: Give it with --source-path PATH." "missing path hint"
expect 2 "pipeline: one connector only" thost pipeline testgood
expect 2 "pipeline: bad NAME=VALUE" thost pipeline testgood testgood -s novalue
expect 2 "pipeline: bad --batch-rows" thost pipeline testgood testgood --source-path a \
  --dest-path "$tmp/p.out" --batch-rows 0
contains "$err" "given by option --batch-rows" "engine option error"
expect 2 "run: bad --on-error" thost run --on-error sometimes "$data/good.conf"
contains "$err" "\"engine.on_error\"" "on_error error"

# --- signals -----------------------------------------------------------
# A pipeline waiting for more input on standard input: SIGTERM ends it with
# 143, whether the first signal stops it cleanly or, if it cannot stop
# while blocked, the second one aborts it.
mkfifo "$tmp/fifo"
NEBULA_PLUGIN_PATH= "$NEBULA_HOST" -q --plugin-dir "$PLUGIN_DIR" pipeline csv json \
  --source-path - --dest-path "$tmp/signal.jsonl" <"$tmp/fifo" >"$out" 2>"$err" &
pid=$!
exec 3>"$tmp/fifo"
printf 'a,b\n1,2\n' >&3
sleep 1
kill -TERM "$pid"
sleep 1
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
exec 3>&-
if [ "$status" -ne 143 ]; then
  report_failure "SIGTERM: exit status $status, expected 143"
else
  echo "ok: SIGTERM"
fi

finish
