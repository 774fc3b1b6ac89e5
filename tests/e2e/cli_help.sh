#!/bin/sh
# cli_help.sh - every command answers --help (and `help COMMAND`) on stdout
# with a synopsis, its options and the exit status, and exits 0; version
# prints the host and ABI versions.
. "${srcdir:-.}/lib/cli_lib.sh"

for command in list describe validate check discover run pipeline version; do
  expect 0 "$command --help" host "$command" --help
  contains "$out" "Usage: nebula-host $command" "$command --help synopsis"
  contains "$out" "Exit status:" "$command --help exit status"
  expect 0 "help $command" host help "$command"
  contains "$out" "Usage: nebula-host $command" "help $command synopsis"
done
for command in list describe validate check discover run pipeline; do
  host "$command" --help >"$out" 2>"$err"
  contains "$out" "Examples:" "$command --help examples"
  contains "$out" "--plugin-dir DIR" "$command --help global options"
done

expect 0 "--help" host --help
for command in list describe validate check discover run pipeline version; do
  contains "$out" "  $command" "overview lists $command"
done
contains "$out" "NEBULA_PLUGIN_PATH" "overview explains the search path"

expect 0 "help" host help
contains "$out" "Usage: nebula-host [GLOBAL OPTIONS] COMMAND" "help overview"

expect 2 "help of an unrecognized command" host help frobnicate
contains "$err" "unrecognized command \"frobnicate\"" "help frobnicate"

expect 0 "version" host version
# The ABI printed is the one the header defines.
abi_minor=$(sed -n 's/^#define NB_ABI_MINOR \([0-9]*\)$/\1/p' "$srcdir/../include/nebula/abi.h")
if ! grep -E -q "^nebula-host [0-9]+\.[0-9]+\.[0-9]+ \(connector ABI 1\.$abi_minor\)\$" "$out"; then
  report_failure "version output format"
fi
expect 0 "--version" host --version
contains "$out" "(connector ABI 1.$abi_minor)" "--version"

finish
