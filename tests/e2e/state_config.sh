#!/bin/bash
# End to end: a state file is resumed only with the configuration it was
# written with (issue 9, item 3, "fingerprint the whole configuration").
# A changed connector or engine setting is refused (exit 2) naming each
# setting and its connector; a tuning setting (NB_SETTING_TUNING, the
# engine's batch sizes) never blocks; --allow-config-change resumes anyway;
# a changed secret is refused without its value ever being printed or
# written to the state file.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
cd "$work"
printf 'a,b\n1,2\n3,4\n' > in.csv

run() {  # expected exit, then the options
  want=$1
  shift
  code=0
  nebula pipeline csv json --source-path in.csv --dest-path out.json.gz --state state.json \
    "$@" > /dev/null 2> err.txt || code=$?
  [ "$code" -eq "$want" ] || { cat err.txt; fail "$* : exit $code, expected $want"; }
}

expect() {  # text
  grep -q -- "$1" err.txt || { cat err.txt; fail "no \"$1\" in the message"; }
}

# A first run writes the fingerprint.
run 0 -s delimiter=,
grep -q '"config_salt": "[0-9a-f]\{32\}"' state.json || fail "no config_salt in the state"
grep -q '"setting": "source.delimiter"' state.json || fail "no source.delimiter entry"

# 1. A changed setting is refused, naming it and its connector; the state is untouched.
cp state.json before.json
run 2 -s 'delimiter=;'
expect 'different configuration: 1 setting changed'
expect 'setting "delimiter" of source connector "csv" changed'
expect 'allow-config-change'
cmp -s state.json before.json || fail "a refused resume changed the state file"

# Two changes at once (one on each side) are both named.
run 2 -s 'delimiter=;' --format array
expect '2 settings changed'
expect 'setting "format" of destination connector "json" changed'

# An engine setting that changes the result (on_error) is refused too.
run 2 --on-error skip
expect 'engine setting "on_error" changed'

# 2. Order and defaults do not matter: no delimiter given is the default ",".
run 0
# Tuning settings never block: a compression level (NB_SETTING_TUNING) and
# the engine's batch size.
run 0 --dest-setting compression_level=9 --batch-rows 1
grep -q 'different configuration' err.txt && fail "a tuning setting blocked the resume"

# 3. --allow-config-change resumes, with a warning naming the change.
run 0 -s 'delimiter=;' --allow-config-change
expect 'warning'
expect 'setting "delimiter" of source connector "csv" changed'

# 4. Secrets (the test connector's secret setting "password"): a change is
# refused without the value; neither value is ever in the state file.
rm -f state.json out.json out.json.gz
secret_run() {  # expected exit, password, more options
  code=0
  nebula pipeline testgood json --source-path src --dest-path out.json --state state.json \
    --source-setting "password=$2" "${@:3}" > out.txt 2> err.txt || code=$?
  [ "$code" -eq "$1" ] || { cat err.txt; fail "testgood: exit $code, expected $1"; }
}
secret_run 0 hunter2-first-secret
grep -q '"setting": "source.password", "secret": true' state.json ||
  { cat state.json; fail "the secret's entry is missing or not marked secret"; }
grep -q 'hunter2' state.json && fail "the state file holds the secret's value"
secret_run 2 swordfish-second-secret
expect 'the value of secret setting "password" of source connector "testgood" changed'
grep -q -e hunter2 -e swordfish err.txt out.txt && fail "a secret was printed"
secret_run 0 hunter2-first-secret
secret_run 0 swordfish-second-secret --allow-config-change
expect 'the value of secret setting "password"'
grep -q -e hunter2 -e swordfish err.txt out.txt && fail "a secret was printed"
grep -q -e hunter2 -e swordfish state.json && fail "the state file holds a secret's value"

# 5. A state file of an earlier release (no fingerprint) still resumes, saying so.
rm -f state.json out.json out.json.gz
run 0
python3 - state.json <<'PY'
import json, re, sys
path = sys.argv[1]
text = open(path).read()
text = re.sub(r'  "config_salt".*?\n  \],\n', '', text, flags=re.S)
body = text[:text.index('"checksum"')]
h = 0xcbf29ce484222325
for b in body.encode():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
text = body + '"checksum": "fnv1a64:%016x"\n}\n' % h
json.loads(text)
open(path, "w").write(text)
PY
grep -q config state.json && fail "could not strip the fingerprint"
code=0
nebula --log-level info pipeline csv json --source-path in.csv --dest-path out.json.gz \
  --state state.json -s 'delimiter=;' > /dev/null 2> err.txt || code=$?
[ "$code" -eq 0 ] || { cat err.txt; fail "an old state file: exit $code"; }
expect 'no configuration fingerprint'
echo "ok"
