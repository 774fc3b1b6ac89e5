#!/bin/sh
# cli_hostile.sh - connectors written to attack the host that loads them:
# texts full of terminal escapes and forged lines, absurd sizes, unknown
# statuses.  Each one is copied into a directory of its own, so a
# connector that kills its loader takes nothing else with it.
. "${srcdir:-.}/lib/cli_lib.sh"

hostile="$TEST_PLUGIN_DIR/../hostile/.libs"
esc=$(printf '\033')

# alone NAME...: a fresh plugin directory holding only these connectors.
alone() {
  dir="$tmp/alone.$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  for so in "$@"; do cp "$hostile/$so.so" "$dir/$so.so"; done
}

# hx CONNECTORS... -- COMMAND...: nebula-host with only those connectors.
hx() {
  NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$dir" "$@"
}

# No raw ESC, C1 CSI, BEL or forged line may reach either stream.
clean() {
  lacks "$out" "$esc" "$1: no ESC on stdout"
  lacks "$err" "$esc" "$1: no ESC on stderr"
  lacks "$out" "$(printf '\302\233')" "$1: no C1 CSI on stdout"
  lacks "$err" "$(printf '\302\233')" "$1: no C1 CSI on stderr"
  lacks "$err" "$(printf '\007')" "$1: no BEL on stderr"
  if grep -q '^nebula-host: forged' "$out" "$err"; then
    report_failure "$1: a forged line was printed"
  fi
}

# struct_size far beyond the host's vtable: refused, as the kit does.
alone broken_large
expect 0 "vtable too large" hx list
contains "$err" "vtable too large" "large vtable refused"
contains "$err" "declares a vtable of 1073741824 bytes" "large vtable size named"
lacks "$out" "brokenlarge" "large vtable not listed"

# A valid connector whose every text is hostile.
alone hostile_text
expect 0 "list hostile texts" hx list
clean "list"
contains "$out" '1.0\x1B[2J\x1B[H\x0Anebula-host: forged line' "version escaped"
expect 0 "list --json hostile texts" hx list --json
clean "list --json"
expect 0 "describe hostile texts" hx describe hostiletext
clean "describe"
contains "$out" 'file\x1B[2J to read\x0Dnebula-host: forged line' "doc escaped"
contains "$out" 'x\x1B[31mred\xC2\x9B1m' "default escaped, C1 included"
contains "$out" 'bidi \xE2\x80\xAEoverride' "bidi override escaped"
contains "$out" 'enum \xFF\xFE' "invalid UTF-8 escaped"
contains "$out" 'b\x1B[0m' "choices escaped"
contains "$out" "dddddddd..." "long description cut"
if [ "$(wc -c <"$out")" -gt 4000 ]; then
  report_failure "describe printed the 10 KB description whole"
fi
expect 0 "describe --json hostile texts" hx describe hostiletext --json
clean "describe --json"

# A 10 KB name with an escape in it: refused, shown short and escaped.
alone broken_longname
expect 0 "long name" hx list
clean "long name"
contains "$err" 'invalid connector name "nnnn\x1B[2Jnnn' "long name escaped"
contains "$err" 'nnnn..."' "long name cut"
if [ "$(wc -c <"$err")" -gt 2000 ]; then
  report_failure "the 10 KB name was echoed whole"
fi

# An entry error full of escapes, with a status no ABI defines.
alone broken_entrytext
expect 0 "hostile entry error" hx list
clean "entry error"
contains "$err" 'bad\x1B]0;owned\x07 start\x0Anebula-host: forged line (entry returned unrecognized status 77)' \
  "entry error escaped, status value shown"
contains "$err" "xxxxxxxx..." "long detail cut"
expect 0 "hostile entry error, JSON log" hx --log-format json list
clean "entry error, JSON log"

alone broken_unknownstatus
expect 0 "unknown entry status" hx list
contains "$err" "The entry function returned unrecognized status -5." "unknown status value"

# A file name that holds escapes and a forged line.
dir="$tmp/evilname"
mkdir -p "$dir"
cp "$hostile/broken_large.so" "$dir/x$(printf '\033')[2J
nebula-host: forged.so"
expect 0 "hostile file name" hx list
clean "file name"
contains "$err" 'x\x1B[2J\x0Anebula-host: forged.so' "file name escaped"

# A constructor that calls exit(): the command fails and names the file.
alone broken_exit
cp "$TEST_PLUGIN_DIR/.libs/good_minimal.so" "$dir/good_minimal.so"
expect 1 "exit() while loading" hx list
contains "$err" "nebula-host: connector \"$dir/broken_exit.so\" called exit() while loading" \
  "exit names the file"

# ... and commands that do not need it never load it.
if [ -n "${PLUGIN_DIR:-}" ]; then
  cp "$PLUGIN_DIR/generate/.libs/generate.so" "$PLUGIN_DIR/json/.libs/json.so" "$dir/"
  expect 0 "pipeline generate json beside an exit() connector" \
    hx -q pipeline generate json -s rows=3 --dest-path -
  contains "$out" '"vendor_id"' "pipeline output"
  lacks "$err" "broken_exit" "the exit() connector was not loaded"
  expect 0 "describe beside an exit() connector" hx describe generate
  contains "$out" "Capabilities:" "describe output"
  printf 'source = { connector = "generate"; rows = 3; };\ndestination = { connector = "json"; path = "-"; };\n' \
    >"$tmp/gen.conf"
  expect 0 "validate beside an exit() connector" hx validate "$tmp/gen.conf"
  contains "$out" "is valid" "validate output"
fi

# Writes to standard output while loading reach nothing.
alone broken_stdout
expect 0 "list with a chatty connector" hx list
contains "$out" "brokenstdout" "chatty connector listed"
lacks "$out" "GARBAGE" "list output clean"
expect 0 "list --json with a chatty connector" hx list --json
lacks "$out" "GARBAGE" "list --json output clean"
expect 0 "describe a chatty connector" hx describe brokenstdout
lacks "$out" "GARBAGE" "describe output clean"

# Files that are no shared library: the reason, read from the file, and
# no "run ldd" hint (which only helps with a missing dependency).
dir="$tmp/notlibs"
mkdir -p "$dir"
: >"$dir/empty.so"
echo "not a library" >"$dir/text.so"
printf '#!/bin/sh\necho hi\n' >"$dir/script.so"
cp /bin/true "$dir/program.so"
expect 0 "files that are not libraries" hx list
contains "$err" "DETAIL: The file is empty." "empty file"
contains "$err" "DETAIL: The file is not a shared library: it does not start with the ELF magic number." \
  "text file"
contains "$err" "DETAIL: The file is a script, not a shared library." "script"
contains "$err" "DETAIL: The file is an executable program, not a shared library." "executable"
lacks "$err" "ldd" "no ldd hint for files that are not libraries"

# Dangling and looping links are reported, not skipped without a word.
dir="$tmp/links"
mkdir -p "$dir"
ln -s "$dir/nowhere.so" "$dir/dangling.so"
ln -s "$dir/loop.so" "$dir/loop.so"
expect 0 "dangling and looping links" hx list
contains "$err" "connector link is dangling \"$dir/dangling.so\"" "dangling link"
contains "$err" "connector link loops \"$dir/loop.so\"" "looping link"

# An unreadable directory is reported (root reads everything: run only as
# another user).
if [ "$(id -u)" -ne 0 ]; then
  dir="$tmp/locked"
  mkdir -p "$dir/sub"
  chmod 000 "$dir/sub"
  expect 0 "unreadable directory" hx list
  contains "$err" "could not read connector directory \"$dir/sub\"" "unreadable directory"
  chmod 755 "$dir/sub"
fi

# A destination's error names a batch line: a record number only when the
# line is within the batch.
expect 1 "destination error in the batch" thost -q pipeline flaky flaky -s rows=10 \
  --dest-path "$tmp/fl.out" -s data_error_line=2 --batch-rows 4
contains "$err" 'connector "flaky": could not write record 2 of stream "flaky-0"' "line in batch"
expect 1 "destination error outside the batch" thost -q pipeline flaky flaky -s rows=10 \
  --dest-path "$tmp/fl.out" -s data_error_line=5000 --batch-rows 4
contains "$err" "the destination named a record outside it" "line outside the batch"
lacks "$err" "record 5000" "no record number made up"

# Errors from a schema, a source batch and a commit name the connector in
# the default log format too (issue 9, item 15).
printf 'a,"b\n1,2\n' > "$tmp/badhead.csv"
expect 1 "schema error" "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" -q pipeline csv json --source-path "$tmp/badhead.csv" \
  --dest-path "$tmp/badhead.json"
contains "$err" 'nebula-host: connector "csv": unterminated quoted field at line 1' "schema error names csv"
expect 1 "source batch error" thost -q pipeline flaky flaky -s rows=10 -s io_error_at_row=4 \
  --dest-path "$tmp/fl.out"
contains "$err" 'nebula-host: connector "flaky": flaky read failed at row 4' "source error names flaky"
cat > "$tmp/commit.cfg" <<CFG
source = { connector = "flaky"; rows = 10; };
destination = { connector = "flaky"; path = "$tmp/fl.out"; commit_unavailable_times = 5; };
engine = { max_retries = 0; };
CFG
expect 1 "commit error" thost -q run "$tmp/commit.cfg"
contains "$err" 'nebula-host: connector "flaky": flaky destination cannot commit now' "commit error names flaky"

# An absurd position length is named for what it is.
expect 1 "absurd position length" thost -q pipeline flaky flaky -s rows=10 \
  --dest-path "$tmp/fl.out" -s position_len=4611686018427387904
contains "$err" 'source connector "flaky" reported a position of 4611686018427387904 bytes' \
  "position length"
lacks "$err" "out of memory" "not out of memory"

# -q still says why the connector asked for was refused.
dir="$tmp/minor"
mkdir -p "$dir"
cp "$TEST_PLUGIN_DIR/.libs/broken_minor.so" "$dir/brokenminor.so"
expect 2 "-q describe of a refused connector" hx -q describe brokenminor
contains "$err" "connector \"brokenminor\" not found" "not found"
contains "$err" "The connector was built for ABI 1.9." "-q shows the reason"
expect 2 "-q pipeline with a refused connector" hx -q pipeline brokenminor brokenminor \
  --source-path a --dest-path b
contains "$err" "The connector was built for ABI 1.9." "-q pipeline shows the reason"

finish
