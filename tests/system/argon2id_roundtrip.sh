#!/bin/sh
# argon2id_roundtrip.sh - memory-hard stamps minted and checked as a user
# would, on every Argon2 kernel this CPU runs (postage-mint --argon2id
# --list-kernels) and on both libraries:
#   - a stamp minted with each kernel and each library is accepted by
#     postage-verify with EVERY kernel and library, with one lane and with
#     two (libsodium computes one lane: its checks of two-lane stamps go to
#     auto's choice); the same stamp with its counter altered, which
#     libargon2 (the oracle) finds short of the claimed bits, is refused by
#     every one of them;
#   - an unknown or unusable kernel name, given as --argon2-kernel or in
#     $POSTAGE_ARGON2_KERNEL, is a usage error (exit 2) naming it and the
#     usable kernels; the environment is ignored for a library backend and
#     by postage-verify without --argon2id;
#   - through postaged (its milter, driven by tests/system/milter_client):
#     a stamp minted with each kernel and library pays, and the same stamp
#     pays nothing the second time (spent).  postaged checks with auto
#     (postage's own where a vector kernel runs).
# Memory is 64 KiB and the claims 4 bits, so each mint is a few attempts.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$MINT" "$VERIFY"

MEM=64
BITS=4
RES=roundtrip@example.org

kernels=$("$MINT" --argon2id --list-kernels |
    awk '$4 == "supported" && $5 == "self-test" && $6 == "ok" { printf "%s%s", s, $1; s = " " }')
case " $kernels " in
    *" portable "*) ;;
    *) fail "postage-mint --argon2id --list-kernels: portable is not usable: '$kernels'"; finish ;;
esac
echo "Argon2 kernels here: $kernels"
# What computes: kernel:NAME (postage's own on NAME) or lib:NAME.
computers="$(for k in $kernels; do printf 'kernel:%s ' "$k"; done)lib:libargon2 lib:libsodium"

# opts WHO: the options that make a program compute on WHO.
opts() {
    case $1 in
        kernel:*) echo "--argon2id-backend postage --argon2-kernel ${1#kernel:}" ;;
        lib:*) echo "--argon2id-backend ${1#lib:}" ;;
    esac
}

# verdict WHO STAMP [options]: postage-verify's verdict for STAMP on WHO.
verdict() {
    _who=$1 _stamp=$2; shift 2
    # shellcheck disable=SC2046
    "$VERIFY" --argon2id -b 0 -r "$RES" $(opts "$_who") "$@" "$_stamp" 2> "$TMP/verify.err" |
        awk '{ print $NF }'
}

# altered STAMP: STAMP with the last digit of its counter changed
# so that libargon2 finds fewer than the claimed bits.
altered() {
    _head=${1%?}
    for _d in A B C D E F G H I J K L M N O P; do
        [ "$_head$_d" = "$1" ] && continue
        if [ "$(verdict lib:libargon2 "$_head$_d")" = bits ]; then
            echo "$_head$_d"
            return 0
        fi
    done
    return 1
}

for lanes in 1 2; do
    for minter in $computers; do
        [ "$minter" = lib:libsodium ] && [ "$lanes" -ne 1 ] && continue
        # shellcheck disable=SC2046
        stamp=$("$MINT" -j 1 --argon2id --memory "$MEM" --lanes "$lanes" -b "$BITS" \
            $(opts "$minter") "$RES" 2> "$TMP/mint.err") ||
            { fail "minting on $minter (p$lanes): $(cat "$TMP/mint.err")"; continue; }
        case $stamp in
            "1:$BITS:"*":$RES:a2id=m$MEM,t1,p$lanes:"*) ;;
            *) fail "minted on $minter: unexpected stamp '$stamp'"; continue ;;
        esac
        bad=$(altered "$stamp") ||
            { fail "no altered counter of $stamp falls short"; continue; }
        for checker in $computers; do
            expect_eq "minted on $minter (p$lanes), checked on $checker" ok \
                "$(verdict "$checker" "$stamp")"
            expect_eq "altered counter, minted on $minter (p$lanes), checked on $checker" bits \
                "$(verdict "$checker" "$bad")"
        done
        # auto, and the kernel named in the environment.
        expect_eq "minted on $minter (p$lanes), checked on auto" ok \
            "$("$VERIFY" --argon2id -b 0 -r "$RES" "$stamp" | awk '{ print $NF }')"
        for k in $kernels; do
            expect_eq "minted on $minter (p$lanes), POSTAGE_ARGON2_KERNEL=$k" "ok bits" \
                "$(POSTAGE_ARGON2_KERNEL=$k "$VERIFY" --argon2id -b 0 -r "$RES" "$stamp" \
                    "$bad" | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $NF }')"
        done
    done
done

# Environment: a kernel from $POSTAGE_ARGON2_KERNEL mints too.
first=${kernels%% *}
stamp=$(POSTAGE_ARGON2_KERNEL=$first "$MINT" -j 1 --argon2id --memory "$MEM" -b "$BITS" "$RES") ||
    fail "minting with POSTAGE_ARGON2_KERNEL=$first failed"
expect_eq "minted with POSTAGE_ARGON2_KERNEL=$first" ok "$(verdict lib:libargon2 "$stamp")"

# Names that cannot run: exit 2, naming the kernel and the usable ones.
usable=$kernels
bad_names=nonesuch
for k in avx512 avx2 neon; do
    case " $usable " in *" $k "*) ;; *) bad_names="$bad_names $k" ;; esac
done
# argv PROG: the rest of a command line that would compute with PROG.
argv() {
    case $1 in
        "$MINT") echo "--argon2id -b $BITS --memory $MEM $RES" ;;
        *) echo "--argon2id -b 0 $stamp" ;;
    esac
}
for name in $bad_names; do
    for prog in "$MINT" "$VERIFY"; do
        p=$(basename "$prog")
        # shellcheck disable=SC2046
        run_capture "$prog" --argon2-kernel "$name" $(argv "$prog")
        expect_eq "$p --argon2-kernel $name: exit" 2 "$rc"
        case $err in
            *"Argon2 kernel '$name': "*"; usable here: $usable "*) ;;
            *) fail "$p --argon2-kernel $name: the error does not name it and the usable kernels: '$err'" ;;
        esac
        # shellcheck disable=SC2046
        run_capture env POSTAGE_ARGON2_KERNEL="$name" "$prog" $(argv "$prog")
        expect_eq "$p with POSTAGE_ARGON2_KERNEL=$name: exit" 2 "$rc"
        case $err in
            *"Argon2 kernel '$name' (from \$POSTAGE_ARGON2_KERNEL): "*"; usable here: $usable "*) ;;
            *) fail "$p with POSTAGE_ARGON2_KERNEL=$name: '$err'" ;;
        esac
    done
done
# A library has no kernels: the option is refused, the environment ignored.
run_capture "$MINT" --argon2id --argon2id-backend libargon2 --argon2-kernel portable "$RES"
expect_eq "--argon2-kernel with libargon2: exit" 2 "$rc"
run_capture env POSTAGE_ARGON2_KERNEL=nonesuch "$VERIFY" --argon2id -b 0 -r "$RES" \
    --argon2id-backend libargon2 "$stamp"
expect_eq "POSTAGE_ARGON2_KERNEL with libargon2: ignored" "0 $stamp ok" "$rc $out"
# ... and by a run that takes SHA-1 stamps only, which computes no Argon2id.
run_capture env POSTAGE_ARGON2_KERNEL=nonesuch "$VERIFY" "$stamp"
expect_eq "POSTAGE_ARGON2_KERNEL without --argon2id: ignored" "1 $stamp kind" "$rc $out"

# Through postaged's milter: each kernel's stamp pays once.
if ! grep -q '^#define HAVE_MILTER 1' "$top_builddir/config.h"; then
    echo "postaged has no milter in this build: its round trip is not run"
    finish
fi
CLIENT="$top_builddir/tests/system/milter_client"
require_built "$POSTAGED" "$CLIENT" "$PDCLIENT"
PORT=$("$PDCLIENT" --free-port)
postaged_conf "milter_listen=inet:127.0.0.1:$PORT" hostname=roundtrip.test postage=yes \
    price_base=8 greylist_delay=1h spf=no helo_checks=no price_allowance=1000000 \
    postage_kinds=sha1+argon2id "argon2id_max_memory=$MEM" argon2id_max_passes=1 \
    argon2id_max_lanes=1 "argon2id_min_bits=$BITS"
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
postaged_pid=$!
kill_at_exit "$postaged_pid"
wait_listen "$PORT" 10 "$postaged_pid" ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
n=0
for minter in $computers; do
    n=$((n + 1))
    rcpt="rcpt$n@example.org"
    # shellcheck disable=SC2046
    header=$("$MINT" -j 1 -X --argon2id --memory "$MEM" -b "$BITS" $(opts "$minter") "$rcpt") ||
        { fail "minting for postaged on $minter failed"; continue; }
    # The stamp twice, each from a sender and client of its own (a replay
    # raises the sender's price).
    printf '%s\tSubject: %s\t%s\n' "$rcpt" "$minter" "$header" > "$TMP/m$n.in"
    for try in first again; do
        "$CLIENT" --connect "inet:127.0.0.1:$PORT" --from "s$n-$try@sender.test" \
            --client-addr "192.0.2.$n" --show-headers "$TMP/m$n.in" > "$TMP/m$n.$try" \
            2> "$TMP/m$n.err" || fail "milter_client ($minter, $try): $(cat "$TMP/m$n.err")"
    done
    action=$(awk -F '\t' '$1 == 1 && $2 != "header" { print $2; exit }' "$TMP/m$n.first")
    trace=$(awk -F '\t' '$1 == 1 && $2 == "header" { print $3 }' "$TMP/m$n.first")
    case $action/$trace in
        accept/*"rcpt=<$rcpt> paid "* | continue/*"rcpt=<$rcpt> paid "*) ;;
        *) fail "postaged, stamp minted on $minter: '$action' '$trace'"
           tail -n 5 "$TMP/postaged.log" >&2 ;;
    esac
    case $(awk -F '\t' '$1 == 1 { print $2 "/" $3; exit }' "$TMP/m$n.again") in
        "tempfail/451-4.7.1 "*"The stamp for <$rcpt> did not pay: it is already spent"*) ;;
        *) fail "postaged, stamp minted on $minter replayed: $(cat "$TMP/m$n.again")" ;;
    esac
done
echo "postaged: $n stamps (on $computers) checked, each paid once"
finish
