#!/bin/sh
# sdk_abidiff.sh - libnebula-sdk keeps the ABI of its last release.
#
# tests/abi/libnebula-sdk-1.0.abi is the ABI of the released library as
# abidw(1) recorded it.  abidiff(1) compares the library just built with it:
# added functions are fine (exit bit 4, "ABI change"), anything that breaks
# an existing caller (bit 8, "incompatible change": a removed function, a
# changed signature or struct layout) fails the build.  Recording a new
# baseline is part of a release:
#   abidw --no-corpus-path --no-comp-dir-path --drop-private-types \
#     --headers-dir include/nebula sdk/.libs/libnebula-sdk.so > tests/abi/libnebula-sdk-1.0.abi
set -u
: "${top_srcdir:=..}"
lib=../sdk/.libs/libnebula-sdk.so
baseline="$top_srcdir/tests/abi/libnebula-sdk-1.0.abi"
command -v abidiff >/dev/null || { echo "abidiff not found: install the Debian package abigail-tools"; exit 1; }
[ -f "$lib" ] || { echo "$lib not built"; exit 1; }
abidiff --headers-dir2 "$top_srcdir/include/nebula" --drop-private-types "$baseline" "$lib"
rc=$?
if [ $((rc & 8)) -ne 0 ]; then
  echo "libnebula-sdk breaks the ABI of its last release (see above)"
  exit 1
fi
if [ $((rc & 3)) -ne 0 ]; then
  echo "abidiff could not compare (exit $rc)"
  exit 1
fi
echo "libnebula-sdk: compatible with the 1.0 baseline (abidiff exit $rc)"
