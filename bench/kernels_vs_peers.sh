#!/bin/bash
# kernels_vs_peers.sh - minting speed on one core, beside its peers, in one
# run on one machine: every postage kernel (bench/bench_kernels), OpenSSL's
# bulk SHA-1 rate (`openssl speed -evp sha1 -bytes 16384`, converted to
# 64-byte blocks per second: the upper bound for a minter built on a plain
# SHA-1 library, one block per trial), and hashcash 1.22's own benchmark of
# its default minter (`hashcash -s`, best of three).  Prints the ratios.
# Not a test.
#
# Usage: bench/kernels_vs_peers.sh   (top_builddir: the build directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$(cd "$here/.." && pwd)}
bench="$top_builddir/bench/bench_kernels"
[ -x "$bench" ] || { echo "kernels_vs_peers.sh: $bench not built (make bench/bench_kernels)" >&2; exit 1; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
out=$("$bench")
echo "$out"
best_name=$(echo "$out" | awk '$3 == "usable" {print $1; exit}')
best=$(echo "$out" | awk '$3 == "usable" {print $4; exit}')
two=$(echo "$out" | awk '/on 2 threads:/ {print $5}')

openssl_blocks=
if command -v openssl >/dev/null; then
    kbytes=$(openssl speed -evp sha1 -bytes 16384 -seconds 3 2>/dev/null |
             awk '$1 == "sha1" {sub(/k$/, "", $2); print $2}')
    [ -n "$kbytes" ] && openssl_blocks=$(awk -v k="$kbytes" 'BEGIN {printf "%.1f", k * 1000 / 64 / 1e6}')
fi
hashcash_rate=
if command -v hashcash >/dev/null; then
    # Its own benchmark is short and noisy: the best of three, in its favour.
    hashcash_rate=$(for i in 1 2 3; do hashcash -s 2>&1; done |
                    awk '/^speed:/ && $2 > best {best = $2} END {printf "%.1f", best / 1e6}')
fi

echo
printf '%-44s %10s\n' "one core, M trials (or blocks) per second" "rate"
printf '%-44s %10s\n' "postage $best_name" "$best"
[ -n "$openssl_blocks" ] && printf '%-44s %10s\n' "OpenSSL SHA-1 bulk, 64-byte blocks" "$openssl_blocks"
[ -n "$hashcash_rate" ] && printf '%-44s %10s\n' "hashcash 1.22 default minter (best hashcash -s)" "$hashcash_rate"
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
[ -n "$openssl_blocks" ] && echo "postage $best_name / OpenSSL blocks:   $(ratio "$best" "$openssl_blocks")x"
[ -n "$hashcash_rate" ] && echo "postage $best_name / hashcash 1.22:    $(ratio "$best" "$hashcash_rate")x"
[ -n "$two" ] && echo "postage $best_name 2 threads / 1:      $(ratio "$two" "$best")x"
