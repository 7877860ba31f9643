#!/bin/sh
# autogen.sh - generate ./configure from configure.ac (needs autoconf,
# automake, libtool and pkg-config: apt-get install autoconf automake libtool pkg-config).
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf --force --install --warnings=all
