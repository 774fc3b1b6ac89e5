#!/bin/sh
# debian-packages.sh - builds Nebula's Debian packages from a copy of this
# tree, installs them, and proves them as a user and as a connector author
# would: nebula-host finds the packaged connectors without --plugin-dir, a
# pipeline generate -> csv -> json runs, the SDK answers through pkg-config,
# and examples/connector-hello builds against the installed packages only,
# then as its own Debian package (examples/connector-hello/debian/, the
# files docs/writing-a-connector.md shows), which nebula-host loads.
# Every package is purged at the end, pass or fail.
#
# Both builds run their checks: the nebula packages' `make check` (less
# the tests that debian/rules names and says why), the example's the
# conformance kit.  NEBULA_DEB_NOCHECK=1 builds the nebula packages with
# DEB_BUILD_OPTIONS=nocheck.
#
# Needs root (it installs and purges packages) and debhelper, dpkg-dev,
# fakeroot, build-essential and lintian (.ci/install-deps.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
guide=$top/docs/writing-a-connector.md
example=$top/examples/connector-hello

connectors="csv json generate postgresql mysql parquet arrow avro"
nebula_packages="nebula-host libnebula-sdk1 libnebula-sdk-dev nebula-sdk-conformance
$(for c in $connectors; do echo "nebula-connector-$c"; done) nebula-storage-s3"
all_packages="$nebula_packages nebula-connector-hello"

passed=0
start=$(date +%s)
work=
log=/dev/null

fail() {
  echo "FAIL: $*"
  [ -s "$log" ] && tail -n 40 "$log"
  echo "debian packages: $passed passed, 1 failed"
  exit 1
}
pass() {
  passed=$((passed + 1))
  echo "PASS: $* ($(($(date +%s) - start)) s)"
}

# The output that the guide shows under "$ COMMAND", with the names of
# amd64 made this machine's.
guide_output() {
  awk -v cmd="    \$ $1" '
    $0 == cmd { on = 1; next }
    on && (/^    \$ / || !/^    /) { exit }
    on { print substr($0, 5) }
  ' "$guide" | sed -e "s/x86_64-linux-gnu/$multiarch/g" -e "s/_amd64\\./_$arch./g"
}

# COMMAND's output (in $work/out) is what the guide shows for it.
same_as_guide() {
  guide_output "$1" >"$work/shown"
  [ -s "$work/shown" ] || fail "docs/writing-a-connector.md does not show \"\$ $1\" and its output"
  diff -u "$work/shown" "$work/out" >"$log" ||
    fail "\"$1\" prints something else than docs/writing-a-connector.md shows"
}

# Packages of ours that dpkg knows in any state but "not installed".
installed_packages() {
  # shellcheck disable=SC2086
  dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $all_packages 2>/dev/null |
    awk '$1 !~ /^[up]n/ { print $NF }'
}

purge() {
  left=$(installed_packages)
  [ -z "$left" ] && return 0
  # shellcheck disable=SC2086
  apt-get purge -y -q $left >"$work/purge.log" 2>&1 || {
    cat "$work/purge.log"
    return 1
  }
}

cleanup() {
  status=$?
  set +e
  if [ -n "$work" ]; then
    purge || status=1
    rm -rf "$work"
  fi
  exit "$status"
}

[ "$(id -u)" -eq 0 ] || fail "run as root: it installs and purges packages"
for tool in dpkg-buildpackage dh fakeroot gcc lintian apt-get pkg-config autoreconf; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool is not installed (sh .ci/install-deps.sh installs it)"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-deb.XXXXXX") || exit 1
log=$work/log
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
export DEBIAN_FRONTEND=noninteractive
# Only what the packages install may be found.
unset NEBULA_PLUGIN_PATH PKG_CONFIG_PATH ACLOCAL_PATH PKG_CONFIG || true
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
connectordir=/usr/lib/$multiarch/nebula/connectors

# ---------------------------------------------------------------------------
# 1. The guide shows the example's files exactly.
# Each file is shown under a paragraph of its own, "`FILE`:", as an
# indented block (four spaces); every FILE must equal the example's, and
# every file of the example's debian/ must be shown.
# ---------------------------------------------------------------------------
mkdir "$work/guide"
awk -v out="$work/guide" '
  function finish() { if (file != "") close(out "/" file); file = ""; state = 0 }
  BEGIN { blank = 1 }
  { blank_before = blank; blank = ($0 == "") }
  /^`[^`]+`:$/ && blank_before {
    finish()
    file = substr($0, 2, length($0) - 3)
    gsub("/", "%", file)
    state = 1; blanks = 0
    printf "" > (out "/" file)
    next
  }
  state == 1 && /^$/ { state = 2; next }
  state == 1 { finish(); next }
  state == 2 && /^$/ { blanks++; next }
  state == 2 && /^    / {
    for (; blanks > 0; blanks--) print "" > (out "/" file)
    print substr($0, 5) > (out "/" file)
    next
  }
  state == 2 { finish() }
' "$guide"
shown=0
for f in "$work"/guide/*; do
  [ -e "$f" ] || continue
  name=$(basename "$f" | tr % /)
  [ -f "$example/$name" ] ||
    fail "docs/writing-a-connector.md shows \"$name\", which is not in examples/connector-hello"
  [ -s "$f" ] || fail "docs/writing-a-connector.md labels \"$name\" but shows no block under it"
  diff -u "$example/$name" "$f" >"$log" ||
    fail "docs/writing-a-connector.md shows \"$name\" differently from examples/connector-hello/$name"
  shown=$((shown + 1))
done
for f in $(cd "$example" && find debian -type f | sort); do
  [ -e "$work/guide/$(echo "$f" | tr / %)" ] ||
    fail "docs/writing-a-connector.md does not show examples/connector-hello/$f"
done
pass "the guide shows $shown files of examples/connector-hello exactly, all of debian/"

# Leftovers of an interrupted run would hide what this run installs.
purge || fail "purging packages left by an earlier run"

# ---------------------------------------------------------------------------
# 2. Build the nebula packages from a copy of the tree: the files git
#    tracks (as they are in the working tree), plus the packaging files not
#    committed yet.  Build products of an in-tree build are left behind.
# ---------------------------------------------------------------------------
src=$work/nebula
mkdir "$src"
git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
  fail "$top is not a git checkout that git can read: the copy takes the files git tracks"
(
  cd "$top"
  { git ls-files -z -c; git ls-files -z -o --exclude-standard -- debian examples/connector-hello/debian; } |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null
) | tar -C "$src" -xf - || fail "copying the tree (needs a git checkout)"
[ -x "$src/debian/rules" ] || fail "debian/rules is missing or not executable in the copy"
cp -R "$src/debian" "$work/debian.pristine"
options=parallel=2
[ "${NEBULA_DEB_NOCHECK:-0}" = 1 ] && options="nocheck $options"
(cd "$src" && DEB_BUILD_OPTIONS=$options dpkg-buildpackage -us -uc -b) \
  >"$log" 2>&1 || fail "dpkg-buildpackage of nebula (DEB_BUILD_OPTIONS=$options)"
tests=$(sed -n 's/^# PASS: *//p' "$log")
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${version%-*}
arch=$(dpkg --print-architecture)
for p in $nebula_packages; do
  [ -f "$work/${p}_${version}_$arch.deb" ] || fail "${p}_${version}_$arch.deb was not built"
done
built=$(for f in "$work"/*.deb; do basename "$f"; done | grep -v -e -dbgsym_ | sed 's/_.*//' | sort | tr '\n' ' ')
expected=$(for p in $nebula_packages; do echo "$p"; done | sort | tr '\n' ' ')
[ "$built" = "$expected" ] || fail "built packages: $built; expected: $expected"
pass "dpkg-buildpackage built $(echo "$nebula_packages" | wc -w) packages, version $version (make check: ${tests:-not run} passed)"

deb() { echo "$work/${1}_${version}_$arch.deb"; }
# Files of a package, without directories and usr/share/doc.
payload() {
  dpkg-deb -c "$(deb "$1")" | awk '{ print $6 }' | sed 's|^\./|/|' |
    grep -v -e '/$' -e '^/usr/share/doc/'
}
for c in $connectors; do
  files=$(payload "nebula-connector-$c")
  [ "$files" = "$connectordir/$c.so" ] ||
    fail "nebula-connector-$c holds \"$files\", not just $connectordir/$c.so"
  depends=$(dpkg-deb -f "$(deb "nebula-connector-$c")" Depends)
  case $depends in
    *"nebula-host"*"nebula-abi-1 (>= 1."*) ;;
    *) fail "nebula-connector-$c: Depends: $depends (no nebula-host, nebula-abi-1)" ;;
  esac
done
files=$(payload nebula-storage-s3)
[ "$files" = "$connectordir/storage_s3.so" ] ||
  fail "nebula-storage-s3 holds \"$files\", not just $connectordir/storage_s3.so"
provides=$(dpkg-deb -f "$(deb nebula-host)" Provides)
payload libnebula-sdk1 | grep -qx "/usr/lib/$multiarch/libnebula-sdk.so.1" ||
  fail "libnebula-sdk1 has no /usr/lib/$multiarch/libnebula-sdk.so.1"
dpkg-deb -x "$(deb libnebula-sdk1)" "$work/sdk1"
soname=$(objdump -p "$work/sdk1/usr/lib/$multiarch/libnebula-sdk.so.1" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libnebula-sdk.so.1 ] || fail "libnebula-sdk1: SONAME is \"$soname\", not libnebula-sdk.so.1"
dpkg-deb -I "$(deb libnebula-sdk1)" shlibs | grep -qx "libnebula-sdk 1 libnebula-sdk1 (>= $upstream)" ||
  fail "libnebula-sdk1's shlibs file does not say libnebula-sdk1 (>= $upstream)"
for f in /usr/include/nebula/abi.h /usr/include/nebula/sdk.h /usr/lib/$multiarch/libnebula-sdk.so \
  /usr/lib/$multiarch/pkgconfig/nebula-sdk.pc /usr/share/aclocal/nebula.m4 \
  /usr/share/man/man7/nebula-connector.7.gz; do
  payload libnebula-sdk-dev | grep -qx "$f" || fail "libnebula-sdk-dev has no $f"
done
payload nebula-sdk-conformance | grep -qx /usr/bin/nebula-connector-test ||
  fail "nebula-sdk-conformance has no /usr/bin/nebula-connector-test"
payload nebula-host | grep -qx /usr/share/man/man1/nebula-host.1.gz || fail "nebula-host has no manual page"
pass "contents: each connector package holds its .so alone, SONAME libnebula-sdk.so.1, nebula-host provides $provides"

lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs \
  "$work/nebula_${version}_$arch.changes" >"$log" 2>&1 || fail "lintian on the nebula packages"
pass "lintian: no errors on the nebula packages ($(grep -c '^[WI]:' "$log" || true) warnings and notes)"

# The source package: the tarball that `make dist` makes, which has no
# debian/, with debian/ added on top (format 3.0 (quilt)).
(cd "$src" && make dist) >"$log" 2>&1 || fail "make dist in the package build tree"
tarball=$src/nebula-$upstream.tar.gz
[ -f "$tarball" ] || fail "make dist made no nebula-$upstream.tar.gz: AC_INIT and debian/changelog disagree"
! tar -tzf "$tarball" | grep -q '^[^/]*/debian/' ||
  fail "nebula-$upstream.tar.gz contains debian/: a 3.0 (quilt) package adds it on top"
mkdir "$work/source"
cp "$tarball" "$work/source/nebula_$upstream.orig.tar.gz"
tar -C "$work/source" -xzf "$tarball"
cp -R "$work/debian.pristine" "$work/source/nebula-$upstream/debian"
(cd "$work/source" && dpkg-source -b "nebula-$upstream") >"$log" 2>&1 ||
  fail "dpkg-source -b of make dist's tarball with debian/ added"
[ -f "$work/source/nebula_$version.dsc" ] || fail "nebula_$version.dsc was not made"
pass "source package nebula_$version.dsc from make dist's tarball and debian/"

# ---------------------------------------------------------------------------
# 3. Install them and use them as a user would.
# ---------------------------------------------------------------------------
debs=
for p in $nebula_packages; do debs="$debs $(deb "$p")"; done
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $debs >"$log" 2>&1 || fail "apt-get install of the packages"
[ "$(command -v nebula-host)" = /usr/bin/nebula-host ] ||
  fail "nebula-host is $(command -v nebula-host || echo missing), not /usr/bin/nebula-host"
pass "apt-get installed the packages"

abi=$(nebula-host --version | sed -n 's/.*(connector ABI \([0-9.]*\)).*/\1/p')
[ "$provides" = "nebula-abi-${abi%%.*} (= $abi)" ] ||
  fail "nebula-host speaks connector ABI \"$abi\" but its package provides \"$provides\""
nebula-host list >"$work/list" 2>"$log" || fail "nebula-host list"
for c in $connectors; do
  awk -v c="$c" -v so="$connectordir/$c.so" '$1 == c && $NF == so { found = 1 } END { exit !found }' \
    "$work/list" || { cat "$work/list"; fail "nebula-host list does not show $c from $connectordir"; }
done
pass "nebula-host list (no --plugin-dir) shows $connectors from $connectordir; host ABI $abi"

mkdir "$work/run"
cd "$work/run"
nebula-host --quiet pipeline generate csv -s schema=simple -s rows=1000 --dest-path gen.csv \
  >"$log" 2>&1 || fail "pipeline generate -> csv"
[ "$(wc -l <gen.csv)" -eq 1001 ] || fail "generate -> csv: expected a header and 1000 rows"
nebula-host --quiet pipeline csv json --source-path gen.csv --dest-path gen.jsonl.gz --format lines \
  >"$log" 2>&1 || fail "pipeline csv -> json"
[ "$(gzip -dc gen.jsonl.gz | wc -l)" -eq 1000 ] || fail "csv -> json: expected 1000 lines"
gzip -dc gen.jsonl.gz | head -n 1 | grep -q '^{"id":.*"name":.*"value":.*}$' ||
  fail "csv -> json: unexpected first record: $(gzip -dc gen.jsonl.gz | head -n 1)"
pass "pipeline generate -> csv -> json (gzip) carries 1000 records"

pkg-config --cflags --libs nebula-sdk >"$work/out" 2>"$log" || fail "pkg-config --cflags --libs nebula-sdk"
cflags_libs=$(sed 's/ *$//' "$work/out")
case " $cflags_libs " in *" -lnebula-sdk "*) ;; *) fail "pkg-config --libs nebula-sdk: $cflags_libs" ;; esac
[ "$(pkg-config --variable=pcfiledir nebula-sdk)" = "/usr/lib/$multiarch/pkgconfig" ] ||
  fail "pkg-config does not read the packaged nebula-sdk.pc"
[ "$(pkg-config --modversion nebula-sdk)" = "$upstream" ] ||
  fail "pkg-config --modversion nebula-sdk is not $upstream"
[ "$(pkg-config --variable=connectordir nebula-sdk)" = "$connectordir" ] ||
  fail "pkg-config --variable=connectordir nebula-sdk is $(pkg-config --variable=connectordir nebula-sdk), not $connectordir"
[ "$(pkg-config --variable=abi_version nebula-sdk)" = "$abi" ] ||
  fail "nebula-sdk.pc's abi_version is not the host's ABI $abi"
pass "pkg-config nebula-sdk: \"$cflags_libs\", connectordir $connectordir"

# ---------------------------------------------------------------------------
# 4. The example connector, against the installed packages only.
# ---------------------------------------------------------------------------
cp -R "$example" "$work/connector-hello"
cd "$work/connector-hello"
{ autoreconf -fi && ./configure && make; } >"$log" 2>&1 ||
  fail "autoreconf -fi; ./configure; make of examples/connector-hello"
grep -qx "nebula_connectordir = $connectordir" Makefile ||
  fail "the example's nebula_connectordir is not $connectordir"
nebula-connector-test .libs/hello.so --source -s rows=10 >"$log" 2>&1 ||
  fail "the installed conformance kit on hello, source"
pass "examples/connector-hello builds against the installed SDK; the kit passes ($(grep -c '^ok' "$log") checks)"

# The commands of the guide's "Packaging for Debian", from the release
# tarball: a source package, then the binary one.
hello_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
hello_upstream=${hello_version%-*}
tarball=nebula-connector-hello-$hello_upstream.tar.gz
make dist >"$log" 2>&1 || fail "make dist of the example"
[ -f "$tarball" ] || fail "make dist made no $tarball: AC_INIT and debian/changelog disagree"
! tar -tzf "$tarball" | grep -q '/debian/' ||
  fail "$tarball contains debian/: a 3.0 (quilt) package adds it on top"
{
  mkdir ../pkg &&
    cp "$tarball" "../pkg/nebula-connector-hello_$hello_upstream.orig.tar.gz" &&
    cd ../pkg && tar -xf "nebula-connector-hello_$hello_upstream.orig.tar.gz" &&
    cp -R ../connector-hello/debian "nebula-connector-hello-$hello_upstream/" &&
    cd "nebula-connector-hello-$hello_upstream" && dpkg-buildpackage -us -uc
} >"$log" 2>&1 || fail "dpkg-buildpackage of nebula-connector-hello"
if ! grep -q '^ok ' "$log" || grep -q '^not ok' "$log"; then
  fail "the conformance kit did not run in nebula-connector-hello's build"
fi
(cd "$work/pkg" && LC_ALL=C ls) >"$work/out"
same_as_guide "ls .."
hello_deb=$work/pkg/nebula-connector-hello_${hello_version}_$arch.deb
for f in "$hello_deb" "$work/pkg/nebula-connector-hello_$hello_version.dsc" \
  "$work/pkg/nebula-connector-hello_$hello_version.debian.tar.xz"; do
  [ -f "$f" ] || fail "$(basename "$f") was not built"
done
files=$(dpkg-deb -c "$hello_deb" | awk '{ print $6 }' | sed 's|^\./|/|' |
  grep -v -e '/$' -e '^/usr/share/doc/')
[ "$files" = "$connectordir/hello.so" ] ||
  fail "nebula-connector-hello holds \"$files\", not just $connectordir/hello.so"
depends=$(dpkg-deb -f "$hello_deb" Depends)
for d in "nebula-host" "nebula-abi-${abi%%.*} (>= $abi)" "libnebula-sdk1 (>= $upstream)"; do
  case ", $depends," in *", $d,"*) ;; *) fail "nebula-connector-hello: Depends: $depends (no $d)" ;; esac
done
lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs \
  "$work/pkg/nebula-connector-hello_${hello_version}_$arch.changes" >"$log" 2>&1 ||
  fail "lintian on nebula-connector-hello"
pass "nebula-connector-hello $hello_version: source and binary package, the kit ran; Depends: $depends"

apt-get install -y -q --no-install-recommends "$hello_deb" >"$log" 2>&1 ||
  fail "apt-get install of nebula-connector-hello"
nebula-host list >"$work/list" 2>"$log" || fail "nebula-host list"
awk -v so="$connectordir/hello.so" '$1 == "hello" && $NF == so { found = 1 } END { exit !found }' \
  "$work/list" || { cat "$work/list"; fail "nebula-host list does not show hello from $connectordir"; }
cp "$work/list" "$work/out"
same_as_guide "nebula-host list"
cd "$work/run"
nebula-host --quiet pipeline hello csv -s rows=3 --dest-path - >"$work/out" 2>"$log" ||
  fail "nebula-host --quiet pipeline hello csv -s rows=3 --dest-path -"
same_as_guide "nebula-host --quiet pipeline hello csv -s rows=3 --dest-path -"
nebula-host --quiet pipeline hello csv -s rows=7 --dest-path hello.csv >"$log" 2>&1 ||
  fail "pipeline hello -> csv"
[ "$(wc -l <hello.csv)" -eq 8 ] || fail "hello -> csv: expected a header and 7 rows"
grep -qx '6,hello 6' hello.csv || fail "hello -> csv: no row \"6,hello 6\""
pass "nebula-host list shows hello; pipeline hello -> csv carries 7 records; outputs as the guide shows"

# ---------------------------------------------------------------------------
# 5. Leave the machine as it was.
# ---------------------------------------------------------------------------
cd /
purge || fail "apt-get purge"
left=$(installed_packages)
[ -z "$left" ] || fail "still installed after the purge: $left"
for f in /usr/bin/nebula-host "$connectordir" /usr/lib/$multiarch/pkgconfig/nebula-sdk.pc; do
  [ ! -e "$f" ] || fail "$f is still there after the purge"
done
pass "all packages purged"
echo "debian packages: $passed passed, 0 failed"
