#!/bin/sh
# Install everything Nebula needs to build, test and benchmark on Debian 12.
# Runs apt-get as root (directly, or through sudo when not root).
set -eu
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  build-essential autoconf automake libtool libtool-bin pkg-config \
  libltdl-dev libconfig-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev \
  libmicrohttpd-dev libcmocka-dev \
  zstd lz4 gzip curl ca-certificates valgrind nodejs npm abigail-tools miller
