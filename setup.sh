#!/bin/sh
# setup.sh - the README's first quick-start command: install everything
# postage needs from Debian's archive, build it (warnings are errors),
# install it under /usr/local, and mint and verify a first stamp.
#
# Run as root on Debian 12 from the top of a checkout.  Safe to run again.
# Set POSTAGE_SKIP_APT=1 to skip the package installation (e.g. when the
# packages are already there and the machine is offline).  Set
# POSTAGE_CONFIGURE_FLAGS to pass options to configure, e.g.
# "--without-redis --without-milter --without-spf" (README, Build options).
set -eu
cd "$(dirname "$0")"

PACKAGES="gcc make autoconf automake libtool pkg-config libssl-dev gnuplot-nox
libsodium-dev libargon2-dev argon2 liblmdb-dev libhiredis-dev libspf2-dev check hashcash gcc-aarch64-linux-gnu
libc6-dev-arm64-cross qemu-user postfix swaks postgrey python3 dnsmasq-base redis-server
redis-sentinel clang libclang-rt-14-dev sasl2-bin libsasl2-modules spamassassin rspamd
libmicrohttpd-dev libsystemd-dev systemd strace dpkg-dev debhelper lintian"

if [ "${POSTAGE_SKIP_APT:-0}" != 1 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: installing packages needs root (or set POSTAGE_SKIP_APT=1)" >&2
        exit 1
    fi
    echo "== installing build and test dependencies"
    export DEBIAN_FRONTEND=noninteractive
    # Postfix is only a test peer here (the tests run private instances):
    # install it unconfigured, so the system's mail setup is left alone.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
    # promtool, which tests/system/metrics.sh checks postaged's metrics
    # with: the binary alone, taken out of Debian's prometheus package, so
    # that the tests do not install (and start) a Prometheus server.
    if ! command -v promtool >/dev/null 2>&1; then
        tmp=$(mktemp -d)
        if (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1 &&
            dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool); then
            install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool
        else
            echo "setup.sh: could not get promtool; tests/system/metrics.sh will skip its promtool check" >&2
        fi
        rm -rf "$tmp"
    fi
fi

echo "== building"
./autogen.sh
./configure --enable-werror ${POSTAGE_CONFIGURE_FLAGS:-}
make -j"$(nproc 2>/dev/null || echo 2)"

echo "== installing into /usr/local"
if [ "$(id -u)" -eq 0 ]; then
    make install >/dev/null
    ldconfig 2>/dev/null || true
    MINT=postage-mint VERIFY=postage-verify
else
    MINT=./postage-mint VERIFY=./postage-verify
fi

echo "== minting and verifying a first stamp"
stamp=$("$MINT" -b 20 you@example.org)
echo "minted:   $stamp"
printf 'verified: '
"$VERIFY" -b 20 -r you@example.org "$stamp"
echo "setup.sh: postage is built and installed; run 'make check' for the test suite"
