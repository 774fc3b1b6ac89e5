#!/bin/sh
# cli_loader.sh - connectors as nebula-host finds them: refusals with their
# precise reasons while the others load, NEBULA_PLUGIN_PATH, and the
# uninstalled build tree (--plugin-dir <build>/plugins).
. "${srcdir:-.}/lib/cli_lib.sh"

libs="$TEST_PLUGIN_DIR/.libs"

expect 0 "list the test connectors" thost list
contains "$out" "testgood" "good connector listed"
contains "$out" "1.2.3" "version listed"
contains "$err" "incompatible connector \"$libs/broken_major.so\": ABI version mismatch" "major"
contains "$err" "DETAIL: The connector was built for ABI 2.0. This nebula-host provides ABI 1.2." \
  "major detail"
contains "$err" "HINT: Install a build of the connector for ABI 1, or upgrade nebula-host." \
  "major hint"
contains "$err" "The connector was built for ABI 1.9." "minor"
contains "$err" "file \"$libs/broken_noentry.so\" is not a Nebula connector" "no entry"
contains "$err" "licence file \"/etc/broken.lic\" is missing" "entry error"
contains "$err" "required function \"source_next\" is missing" "missing slot"
contains "$err" "vtable too small" "small vtable"
contains "$err" "Enum setting \"mode\" declares no choices." "settings declaration"
contains "$err" "connector \"testgood\" is already loaded" "duplicate"
contains "$err" "$libs/good_minimal.so" "duplicate names the first file"

# NEBULA_PLUGIN_PATH alone, and after --plugin-dir.
expect 0 "NEBULA_PLUGIN_PATH" env NEBULA_PLUGIN_PATH="$TEST_PLUGIN_DIR" "$NEBULA_HOST" list
contains "$out" "$libs/good_minimal.so" "found through NEBULA_PLUGIN_PATH"
mkdir -p "$tmp/first/sub/.libs"
cp "$libs/good_minimal.so" "$tmp/first/sub/.libs/good_minimal.so"
expect 0 "--plugin-dir before NEBULA_PLUGIN_PATH" \
  env NEBULA_PLUGIN_PATH="$TEST_PLUGIN_DIR" "$NEBULA_HOST" --plugin-dir "$tmp/first" list
contains "$out" "$tmp/first/sub/.libs/good_minimal.so" "--plugin-dir wins"
contains "$err" "connector \"testgood\" is already loaded" "later copy refused"

# A relative --plugin-dir is made absolute.
expect 0 "relative --plugin-dir" sh -c "cd '$tmp' && NEBULA_PLUGIN_PATH= '$NEBULA_HOST' --plugin-dir first list"
contains "$out" "$tmp/first/sub/.libs/good_minimal.so" "relative dir resolved"

expect 0 "missing --plugin-dir is a warning" host --plugin-dir "$tmp/none" list
contains "$err" "could not access connector directory \"$tmp/none\"" "missing dir"

# The real connectors of the build tree, uninstalled.
if [ -n "${PLUGIN_DIR:-}" ]; then
  expect 0 "build tree plugins" env NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" list
  contains "$out" "csv" "csv connector found in the build tree"
  lacks "$err" "warning" "build tree connectors all load"
fi

finish
