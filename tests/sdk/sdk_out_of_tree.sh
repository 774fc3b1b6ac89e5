#!/bin/sh
# sdk_out_of_tree.sh - the SDK as a third party uses it: install this
# build's SDK (library, headers, nebula-sdk.pc, nebula.m4, the conformance
# kit) into a temporary prefix, copy examples/connector-hello out of the
# tree, autoreconf + configure + build it against that prefix only, and run
# the conformance kit on the result, both sides.
#
# Needs autoconf, automake, libtool and pkg-config (as any connector
# author does).
set -u
: "${NEBULA_TOP_BUILDDIR:?set by make check}" "${top_srcdir:?}"
make=${MAKE:-make}
top_src=$(cd "$top_srcdir" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nebula-oot.XXXXXX") || exit 99
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
log=$tmp/log

fail() {
  echo "FAIL: $*"
  [ -f "$log" ] && tail -n 40 "$log"
  exit 1
}

for tool in autoreconf aclocal libtoolize pkg-config; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool is not installed (Debian: autoconf automake libtool pkg-config)"
done

# 1. Install only the SDK's parts: no recursion into the rest of the tree.
$make -s -C "$NEBULA_TOP_BUILDDIR/sdk" install prefix="$prefix" >"$log" 2>&1 ||
  fail "installing sdk/ into $prefix"
$make -s -C "$NEBULA_TOP_BUILDDIR" install-nebulaincludeHEADERS \
  install-dist_aclocalDATA prefix="$prefix" >>"$log" 2>&1 ||
  fail "installing the headers and nebula.m4 into $prefix"
for f in lib/pkgconfig/nebula-sdk.pc share/aclocal/nebula.m4 \
  include/nebula/sdk.h bin/nebula-connector-test; do
  [ -e "$prefix/$f" ] || fail "$prefix/$f was not installed"
done
echo "PASS: SDK installed into a temporary prefix"

# The in-tree connectors install their .so files only: no libtool .la in
# the connector directory, and nothing left after uninstall.
$make -s -C "$NEBULA_TOP_BUILDDIR/plugins" install connectordir="$tmp/intree" >"$log" 2>&1 ||
  fail "installing plugins/ into $tmp/intree"
for c in csv json generate; do
  [ -f "$tmp/intree/$c.so" ] || fail "$c.so was not installed"
done
leftover=$(ls "$tmp/intree" | grep -v '\.so$')
[ -z "$leftover" ] || fail "make install left more than .so files: $leftover"
$make -s -C "$NEBULA_TOP_BUILDDIR/plugins" uninstall connectordir="$tmp/intree" >"$log" 2>&1 ||
  fail "uninstalling plugins/"
[ -z "$(ls -A "$tmp/intree")" ] || fail "make uninstall left $(ls "$tmp/intree")"
echo "PASS: the in-tree connectors install .so files only, and uninstall"

# 2. The example, outside the tree, sees nothing but that prefix: copied
# as a user copies it, nothing added.
cp -R "$top_src/examples/connector-hello" "$tmp/hello" || fail "copying the example"
chmod -R u+w "$tmp/hello" # a distcheck source tree is read-only
cd "$tmp/hello" || exit 99
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
ACLOCAL_PATH=$prefix/share/aclocal
# nebula-sdk.pc was written for this build's configured prefix; make
# pkg-config relocate it to where it was installed instead.
PKG_CONFIG="pkg-config --define-prefix"
export PKG_CONFIG_PATH ACLOCAL_PATH PKG_CONFIG
autoreconf -fi >"$log" 2>&1 || fail "autoreconf of the example"
if grep -q "not a standard libtool library name" "$log"; then
  fail "automake does not see -module in the example's Makefile.am"
fi
./configure --prefix="$tmp/hello-prefix" >"$log" 2>&1 ||
  fail "configure of the example"
grep -q "^nebula_connectordir = $prefix/lib/nebula/connectors\$" Makefile ||
  fail "nebula_connectordir is not taken from nebula-sdk.pc"
echo "PASS: the example configures with NEBULA_CONNECTOR"

# An SDK of another ABI major is refused at configure time.
mkdir -p "$tmp/abi99/pkgconfig"
sed -e 's/^abi_major=.*/abi_major=99/' -e 's/^abi_version=.*/abi_version=99.0/' \
  -e "s|^prefix=.*|prefix=$prefix|" \
  "$prefix/lib/pkgconfig/nebula-sdk.pc" >"$tmp/abi99/pkgconfig/nebula-sdk.pc"
if PKG_CONFIG=pkg-config PKG_CONFIG_PATH=$tmp/abi99/pkgconfig ./configure \
  >"$log" 2>&1; then
  fail "configure accepted an SDK of ABI 99"
fi
grep -q "written for connector ABI 1, but the nebula-sdk found provides ABI 99.0" "$log" ||
  fail "configure's refusal does not name both ABI versions"
echo "PASS: configure refuses an SDK of another ABI major"

./configure --prefix="$tmp/hello-prefix" \
  --with-nebula-connectordir="$tmp/connectors" >"$log" 2>&1 ||
  fail "configure of the example with --with-nebula-connectordir"
$make >"$log" 2>&1 || fail "build of the example"
$make install >"$log" 2>&1 || fail "install of the example"
so=$tmp/connectors/hello.so
[ -f "$so" ] || fail "hello.so was not installed into --with-nebula-connectordir"
exported=$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}')
[ "$exported" = nebula_connector_entry ] ||
  fail "hello.so exports more than the entry: $exported"
[ "$(ls "$tmp/connectors")" = hello.so ] ||
  fail "make install left more than hello.so: $(ls "$tmp/connectors")"
echo "PASS: the example builds and installs hello.so alone, one exported symbol"

# 3. The conformance kit, as installed.
kit=$prefix/bin/nebula-connector-test
LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
"$kit" "$so" --source --batch-rows 3 -s rows=10 >"$log" 2>&1 ||
  fail "conformance kit, hello source"
echo "PASS: conformance kit, hello source ($(grep -c '^ok' "$log") checks)"
"$kit" "$so" --dest -s path="$tmp/out.txt" >"$log" 2>&1 ||
  fail "conformance kit, hello destination"
echo "PASS: conformance kit, hello destination ($(grep -c '^ok' "$log") checks)"
# 4. A pipeline with it through nebula-host, next to the in-tree connectors.
if [ -n "${NEBULA_HOST:-}" ] && [ -n "${PLUGIN_DIR:-}" ]; then
  "$NEBULA_HOST" --quiet --plugin-dir "$tmp/connectors" --plugin-dir "$PLUGIN_DIR" \
    pipeline hello csv -s rows=7 --dest-path "$tmp/hello.csv" >"$log" 2>&1 ||
    fail "nebula-host pipeline hello -> csv"
  [ "$(wc -l <"$tmp/hello.csv")" -eq 8 ] || fail "hello -> csv: expected a header and 7 rows"
  "$NEBULA_HOST" --quiet --plugin-dir "$tmp/connectors" --plugin-dir "$PLUGIN_DIR" \
    pipeline csv hello --source-path "$tmp/hello.csv" --dest-path "$tmp/hello.out" >"$log" 2>&1 ||
    fail "nebula-host pipeline csv -> hello"
  echo "PASS: nebula-host runs hello -> csv -> hello"
else
  fail "NEBULA_HOST and PLUGIN_DIR must be set (make check sets them)"
fi
cd "$tmp/hello" || exit 99
$make uninstall >"$log" 2>&1 || fail "uninstall of the example"
[ -z "$(ls -A "$tmp/connectors")" ] || fail "make uninstall left $(ls "$tmp/connectors")"
echo "PASS: the example uninstalls completely"
exit 0
