#!/bin/sh
# reputation_admin.sh - postage-reputation against a store seeded with known
# records (tests/system/rep_seed): show's counters, score, band and clean price,
# its JSON, top's order for each --by, pin and unpin, the configuration
# file's store and price parameters, and every usage and failure exit
# status with the message naming the problem.
#
# The records are seeded at the real current time (postage-reputation
# reads the clock), so the counters have decayed a little by the time they
# are shown: by about 1e-6 per second over the 30-day half-life, but the
# rate by 1e-5 per second over its 1-day window, so rates are compared to
# within 1% (that is minutes of a slow machine), and the seeds keep every
# price clear of a rounding step.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

REP="$top_builddir/postage-reputation"
SEED="$top_builddir/tests/system/rep_seed"
require_built "$REP" "$SEED"
command -v python3 > /dev/null || skip "python3 is needed to check the JSON"

# The default store follows postaged's rules: keep it inside $TMP.
XDG_STATE_HOME="$TMP/xdg"
HOME="$TMP/home"
export XDG_STATE_HOME HOME
STORE="lmdb:$TMP/state"
NOW=$(date +%s)
HALF_LIFE=2592000        # reputation_half_life's default, 30d
SENDER='sender:192.0.2.0/24 a@b.example'

# field NAME: the value of "NAME: value" in $out (show's text layout).
field() {
    printf '%s\n' "$out" | sed -n "s/^$1: *//p"
}

# json EXPR: evaluate EXPR (Python, the document is `d`) over $out.
json() {
    printf '%s\n' "$out" | python3 -c "
import json, sys
d = json.load(sys.stdin)
def near(x, y): return abs(x - y) <= 0.01 + 0.01 * abs(y)
print($1)"
}

# expect_near WHAT EXPECTED ACTUAL: numbers within 1% (+ 0.01).
expect_near() {
    if ! awk -v e="$2" -v a="$3" 'BEGIN {
            d = e - a; if (d < 0) d = -d; m = e < 0 ? -e : e
            exit !(a != "" && d <= 0.01 + 0.01 * m) }'; then
        fail "$1"
        printf '  expected: about %s\n  actual:   %s\n' "$2" "$3" >&2
    fi
}

# ---- a store that does not exist ---------------------------------------

run_capture "$REP" -s "$STORE" show domain:good.example
expect_eq "missing store: exit status" 1 "$rc"
case $err in
*"does not exist"*"postaged has not run"*) ;;
*) fail "missing store: message does not say so: $err" ;;
esac
[ ! -e "$TMP/state" ] || fail "missing store: postage-reputation created $TMP/state"
# Without -c or -s: postaged's default store, under $XDG_STATE_HOME.
# (Root's default is /var/lib/postage, which may hold a real store.)
if [ "$(id -u)" -ne 0 ]; then
    default_dir="$TMP/xdg/postage"
elif [ ! -e /var/lib/postage ]; then
    default_dir=/var/lib/postage
else
    default_dir=
fi
if [ -n "$default_dir" ]; then
    run_capture "$REP" top
    expect_eq "missing default store: exit status" 1 "$rc"
    case $err in
    *"lmdb:$default_dir does not exist"*) ;;
    *) fail "missing default store: not postaged's default ($default_dir): $err" ;;
    esac
fi
# An empty directory is no store either.
mkdir "$TMP/empty"
run_capture "$REP" -s "lmdb:$TMP/empty" show domain:good.example
expect_eq "empty store directory: exit status" 1 "$rc"
case $err in *"does not exist"*) ;; *) fail "empty store directory: $err" ;; esac

# ---- seeding ------------------------------------------------------------
#
#   identity             seeded at           accepted  spf_fail   rate  messages
#   domain:good.example  now                 3         0          3     3
#                        (and 1 stamp paid worth 20 bits: net 3 + 20 / 10)
#   $SENDER              one half-life ago   1         2          1     3
#   ip:192.0.2.10        now                 120       0          120   120
#   domain:mid.example   now                 40        0          40    40
#   domain:low.example   now                 10        0          10    10
#   domain:old.example   11 half-lives ago   5         0          5     5   (expired)
seed() {
    "$SEED" "$STORE" "$@" || fail "rep_seed $*"
}
seed "$NOW" domain:good.example accepted=3 rate=3 messages=3 stamps_paid=1 bits_paid=20
seed $((NOW - HALF_LIFE)) "$SENDER" accepted=1 spf_failures=2 rate=1 messages=3
seed "$NOW" ip:192.0.2.10 accepted=120 rate=120 messages=120
seed "$NOW" domain:mid.example accepted=40 rate=40 messages=40
seed "$NOW" domain:low.example accepted=10 rate=10 messages=10
seed $((NOW - 11 * HALF_LIFE)) domain:old.example accepted=5 rate=5 messages=5

# Expected values, from the seeds and the formula of policy/checks/reputation.h
# with the default parameters (base 20, SPF credit 4, allowance 50).
expect=$(python3 -c "
import math
def price(net, rate, spf, base=20, cap=28):
    credit = (4 if spf else 0) + (min(16, int(math.floor(math.log2(1 + net)))) if net > 0 else 0)
    penalty = min(cap, int(math.floor(math.log2(1 - net)))) if net < 0 else 0
    s = rate / 50
    surcharge = math.ceil(math.log2(s)) if s > 1 else 0
    return base - credit + penalty + surcharge
good = 3 + 20 / 10
sender = 1 / 2 - 4 * 2 / 2            # one half-life: every counter halved
print(price(good, 3, True), sender, price(sender, 0, False), price(120, 120, False),
      price(good, 3, True, 4, 4), price(sender, 0, False, 4, 4))")
set -- $expect
GOOD_PRICE=$1 SENDER_NET=$2 SENDER_PRICE=$3 IP_PRICE=$4
# With price_base = price_cap = 4: below 0, and above the cap.
GOOD_RAW_4=$5 SENDER_RAW_4=$6

# ---- show, text ------------------------------------------------------------

run_capture "$REP" -s "$STORE" show domain:good.example
expect_eq "show: exit status" 0 "$rc"
expect_eq "show: identity" domain:good.example "$(field identity)"
expect_eq "show: accepted" "$(printf '%.2f' 3)" "$(field accepted)"
expect_near "show: rate counter" 3 "$(field rate)"
expect_eq "show: helo_failures" "0.00" "$(field helo_failures)"
expect_eq "show: bits_paid" "20.00" "$(field bits_paid)"
expect_eq "show: messages" 3 "$(field messages)"
expect_eq "show: net score" "5.00" "$(field 'net score')"
expect_eq "show: band" known "$(field band)"
expect_eq "show: pinned" no "$(field pinned)"
expect_eq "show: price" "$GOOD_PRICE bits = base 20 - credit 6 + penalty 0 + surcharge 0" \
    "$(field price)"
expect_eq "show: rate per window" "messages per 1d (allowance 50)" \
    "$(field 'rate per window' | cut -d' ' -f2-)"
expect_near "show: rate per window" 3 "$(field 'rate per window' | cut -d' ' -f1)"
expect_eq "show: first seen" "$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%SZ)" "$(field 'first seen')"
for c in accepted greylist_passed stamps_paid bits_paid helo_failures spf_failures \
         replayed quota_overruns rate; do
    [ -n "$(field "$c")" ] || fail "show: counter $c missing"
done

run_capture "$REP" -s "$STORE" show "$SENDER"
expect_eq "show sender: exit status" 0 "$rc"
expect_eq "show sender: accepted, halved" "0.50" "$(field accepted)"
expect_eq "show sender: spf_failures, halved" "1.00" "$(field spf_failures)"
expect_eq "show sender: net score" "$(printf '%.2f' "$SENDER_NET")" "$(field 'net score')"
expect_eq "show sender: band" bad "$(field band)"
expect_eq "show sender: last update" "$(date -u -d "@$((NOW - HALF_LIFE))" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(field 'last update')"
expect_eq "show sender: price" "$SENDER_PRICE" "$(field price | cut -d' ' -f1)"

# An ip: identity is its own client record: its rate sets the surcharge.
run_capture "$REP" -s "$STORE" show ip:192.0.2.10
expect_eq "show ip: price" "$IP_PRICE bits = base 20 - credit 6 + penalty 0 + surcharge 2" \
    "$(field price)"

# ---- show, JSON ------------------------------------------------------------

run_capture "$REP" -s "$STORE" --json show domain:good.example "$SENDER"
expect_eq "show --json: exit status" 0 "$rc"
expect_eq "show --json: parses" ok "$(json '"ok"')"
expect_eq "show --json: two objects" 2 "$(json 'len(d)')"
expect_eq "show --json: identities" "domain:good.example|$SENDER" \
    "$(json '"|".join(o["identity"] for o in d)')"
expect_eq "show --json: accepted" True "$(json 'near(d[0]["counters"]["accepted"], 3)')"
expect_eq "show --json: every counter" \
    "accepted,bits_paid,greylist_passed,helo_failures,quota_overruns,rate,replayed,spf_failures,stamps_paid" \
    "$(json '",".join(sorted(d[0]["counters"]))')"
expect_eq "show --json: bits_paid" True "$(json 'near(d[0]["counters"]["bits_paid"], 20)')"
expect_eq "show --json: messages" 3 "$(json 'd[0]["messages"]')"
expect_eq "show --json: rate" True "$(json 'near(d[0]["rate"], 3) and d[0]["rate_window"] == 86400')"
expect_eq "show --json: band" known "$(json 'd[0]["band"]')"
expect_eq "show --json: price" "$GOOD_PRICE" "$(json 'd[0]["price"]["bits"]')"
expect_eq "show --json: price parts" "20 6 0 0 False" \
    "$(json '" ".join(str(d[0]["price"][k]) for k in ("base", "credit", "penalty", "surcharge", "pinned"))')"
expect_eq "show --json: not pinned" None "$(json 'd[0]["pinned"]')"
expect_eq "show --json: numbers are numbers" True \
    "$(json 'all(isinstance(d[0][k], (int, float)) and not isinstance(d[0][k], bool) for k in ("net", "rate", "messages"))')"
expect_eq "show --json: sender net" True "$(json "near(d[1]['net'], $SENDER_NET)")"
expect_eq "show --json: sender spf_failures" True \
    "$(json 'near(d[1]["counters"]["spf_failures"], 1)')"
expect_eq "show --json: sender price" "$SENDER_PRICE" "$(json 'd[1]["price"]["bits"]')"
expect_eq "show --json: first_seen" "$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(json 'd[0]["first_seen"]')"

# ---- unknown and forgotten identities ----------------------------------

run_capture "$REP" -s "$STORE" show domain:unknown.example
expect_eq "unknown identity: exit status" 1 "$rc"
expect_eq "unknown identity: nothing on stdout" "" "$out"
case $err in
"postage-reputation: domain:unknown.example: never seen"*) ;;
*) fail "unknown identity: message: $err" ;;
esac
run_capture "$REP" -s "$STORE" show domain:old.example
expect_eq "expired record: exit status" 1 "$rc"
case $err in *"never seen"*) ;; *) fail "expired record: message: $err" ;; esac
# The known one is still shown, the unknown one reported, status 1.
run_capture "$REP" -s "$STORE" --json show domain:good.example domain:unknown.example
expect_eq "mixed show: exit status" 1 "$rc"
expect_eq "mixed show: the known one" domain:good.example "$(json '",".join(o["identity"] for o in d)')"
case $err in *domain:unknown.example*) ;; *) fail "mixed show: message: $err" ;; esac

# ---- top -------------------------------------------------------------------

BY_RATE="ip:192.0.2.10,domain:mid.example,domain:low.example,domain:good.example,$SENDER"
run_capture "$REP" -s "$STORE" --json top --by volume
expect_eq "top --by volume: exit status" 0 "$rc"
expect_eq "top --by volume: order" "$BY_RATE" "$(json '",".join(o["identity"] for o in d)')"
expect_eq "top --by volume: rates" True \
    "$(json 'all(near(o["rate"], r) for o, r in zip(d, (120, 40, 10, 3)))')"
run_capture "$REP" -s "$STORE" top --json
expect_eq "top: the default is volume" "$BY_RATE" "$(json '",".join(o["identity"] for o in d)')"
run_capture "$REP" -s "$STORE" top --by score --json
expect_eq "top --by score: order" "$BY_RATE" "$(json '",".join(o["identity"] for o in d)')"
run_capture "$REP" -s "$STORE" top --by bad -n 2 --json
expect_eq "top --by bad -n 2" "$SENDER,domain:good.example" \
    "$(json '",".join(o["identity"] for o in d)')"

run_capture "$REP" -s "$STORE" top -n 3
expect_eq "top text: exit status" 0 "$rc"
expect_eq "top text: lines" 5 "$(printf '%s\n' "$out" | wc -l)"
expect_eq "top text: identities in order" "ip:192.0.2.10 domain:mid.example domain:low.example" \
    "$(printf '%s\n' "$out" | sed -n '2,4p' | awk '{ print $NF }' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "top text: summary" "(3 of 5 identities, by volume)" "$(printf '%s\n' "$out" | tail -n 1)"
# Aligned: every row's identity starts under the IDENTITY heading.
col=$(printf '%s\n' "$out" | head -n 1 | awk '{ print index($0, "IDENTITY") }')
bad=$(printf '%s\n' "$out" | sed -n '2,4p' | awk -v col="$col" '
    { if (substr($0, col, 1) == " " || substr($0, col - 1, 1) != " ") print }')
expect_eq "top text: columns line up" "" "$bad"
expect_near "top text: rate column" 120 "$(printf '%s\n' "$out" | sed -n 2p | awk '{ print $1 }')"

# A long identity is stored as a digest and listed abbreviated.
LONG="sender:192.0.2.0/24 $(printf '%0450d' 0)@long.example"
seed "$NOW" "$LONG" accepted=500 rate=500 messages=500
run_capture "$REP" -s "$STORE" --json top -n 1
expect_eq "top: long identity flagged" True "$(json 'd[0]["truncated"]')"
expect_eq "top: long identity prefix" True \
    "$(json "len(d[0]['identity']) == 367 and '$LONG'.startswith(d[0]['identity'])")"
run_capture "$REP" -s "$STORE" top -n 1
case $(printf '%s\n' "$out" | sed -n 2p) in
*"... (truncated)") ;;
*) fail "top text: long identity not marked truncated: $out" ;;
esac
# ... and can still be shown by its full name.
run_capture "$REP" -s "$STORE" show "$LONG"
expect_eq "show long identity" "500.00" "$(field accepted)"

# ---- pin and unpin ----------------------------------------------------------

run_capture "$REP" -s "$STORE" pin domain:good.example 24
expect_eq "pin: exit status" 0 "$rc"
expect_eq "pin: confirmation" "domain:good.example: pinned at 24 bits" "$out"
run_capture "$REP" -s "$STORE" show domain:good.example
expect_eq "pinned: pinned" "24 bits" "$(field pinned)"
expect_eq "pinned: price" "24 bits (pinned)" "$(field price)"
expect_eq "pinned: never forgotten" "never (pinned)" "$(field forgotten)"
expect_eq "pinned: counters kept" "3.00" "$(field accepted)"
run_capture "$REP" -s "$STORE" --json show domain:good.example
expect_eq "pinned --json: price == pin" "24 24 True" \
    "$(json '"%s %s %s" % (d[0]["pinned"], d[0]["price"]["bits"], d[0]["price"]["pinned"])')"
run_capture "$REP" -s "$STORE" --json top --by volume
expect_eq "pinned: top shows the pin" 24 \
    "$(json '[o["pinned"] for o in d if o["identity"] == "domain:good.example"][0]')"

# A pin over price_cap is stored, but refuses the identity's mail as a
# computed price over the cap does (the cap is the most ever asked), and
# pin says so; a pin at the cap and a pin of 0 are prices.
run_capture "$REP" -s "$STORE" pin ip:192.0.2.10 160
expect_eq "pin 160: exit status" 0 "$rc"
expect_eq "pin 160: confirmation" "ip:192.0.2.10: pinned at 160 bits" "$out"
expect_eq "pin 160: warning" "postage-reputation: warning: 160 bits is above price_cap 28 (built-in defaults): postaged will refuse mail from ip:192.0.2.10 (price_over_cap_action) until it is unpinned or price_cap raised" "$err"
run_capture "$REP" -s "$STORE" show ip:192.0.2.10
expect_eq "pin 160: pinned" "160 bits" "$(field pinned)"
expect_eq "pin 160: price" "refused (pinned at 160 bits, above price_cap 28)" "$(field price)"
run_capture "$REP" -s "$STORE" --json show ip:192.0.2.10
expect_eq "pin 160 --json: over the cap" "160 28 True True" \
    "$(json '"%s %s %s %s" % (d[0]["price"]["raw"], d[0]["price"]["bits"], d[0]["price"]["over_cap"], d[0]["price"]["pinned"])')"
printf 'store = %s\nprice_cap = 40\n' "$STORE" > "$TMP/cap40.conf"
run_capture "$REP" -c "$TMP/cap40.conf" pin ip:192.0.2.10 41
case "$rc/$err" in 0/*"41 bits is above price_cap 40 ($TMP/cap40.conf)"*) ;;
    *) fail "pin 41 over price_cap 40 of -c: $rc $err" ;; esac
run_capture "$REP" -c "$TMP/cap40.conf" pin ip:192.0.2.10 40
expect_eq "pin at price_cap: no warning" "0/" "$rc/$err"
run_capture "$REP" -c "$TMP/cap40.conf" show ip:192.0.2.10
expect_eq "pin at price_cap: price" "40 bits (pinned)" "$(field price)"
run_capture "$REP" -s "$STORE" pin ip:192.0.2.10 0
run_capture "$REP" -s "$STORE" show ip:192.0.2.10
expect_eq "pin 0: price" "0 bits (pinned)" "$(field price)"

run_capture "$REP" -s "$STORE" unpin domain:good.example
expect_eq "unpin: exit status" 0 "$rc"
expect_eq "unpin: confirmation" "domain:good.example: unpinned (was 24 bits)" "$out"
run_capture "$REP" -s "$STORE" show domain:good.example
expect_eq "unpinned: pinned" no "$(field pinned)"
expect_eq "unpinned: price from history again" "$GOOD_PRICE" "$(field price | cut -d' ' -f1)"
run_capture "$REP" -s "$STORE" unpin domain:good.example
expect_eq "unpin again: exit status" 0 "$rc"
expect_eq "unpin again: message" "domain:good.example: was not pinned" "$out"
run_capture "$REP" -s "$STORE" unpin domain:unknown.example
expect_eq "unpin unknown: exit status" 1 "$rc"
case $err in *"never seen"*) ;; *) fail "unpin unknown: message: $err" ;; esac
run_capture "$REP" -s "$STORE" show domain:unknown.example
expect_eq "unpin unknown: no record made" 1 "$rc"

# Pinning an identity not seen yet creates its record.
run_capture "$REP" -s "$STORE" pin domain:new.example 26
expect_eq "pin new: exit status" 0 "$rc"
run_capture "$REP" -s "$STORE" show domain:new.example
expect_eq "pin new: shown" "26 bits (pinned)" "$(field price)"
expect_eq "pin new: no messages" 0 "$(field messages)"

# ---- the configuration file ---------------------------------------------

cat > "$TMP/postaged.conf" <<EOF
store = $STORE
price_base = 24
EOF
run_capture "$REP" -c "$TMP/postaged.conf" show domain:good.example
expect_eq "-c: exit status" 0 "$rc"
expect_eq "-c: the file's store and price_base" \
    "$((GOOD_PRICE + 4)) bits = base 24 - credit 6 + penalty 0 + surcharge 0" "$(field price)"
printf 'store = %s\nprice_base = 4\nprice_cap = 4\n' "$STORE" > "$TMP/low.conf"
run_capture "$REP" -c "$TMP/low.conf" show domain:good.example "$SENDER"
expect_eq "-c low: clamped" \
    "0 bits (raw $GOOD_RAW_4, clamped) = base 4 - credit 6 + penalty 0 + surcharge 0" \
    "$(field price | head -n 1)"
expect_eq "-c low: over the cap" \
    "refused ($SENDER_RAW_4 bits, above price_cap 4) = base 4 - credit 0 + penalty 2 + surcharge 0" \
    "$(field price | tail -n 1)"
run_capture "$REP" -c "$TMP/low.conf" --json show domain:good.example "$SENDER"
expect_eq "-c low --json" "0 $GOOD_RAW_4 False $SENDER_RAW_4 True" \
    "$(json '" ".join(str(x) for x in (d[0]["price"]["bits"], d[0]["price"]["raw"], d[0]["price"]["over_cap"], d[1]["price"]["raw"], d[1]["price"]["over_cap"]))')"
# The promise: a published_price under an identity's own price lowers it,
# and says so; a sender in bad standing keeps its own.
printf 'store = %s\npublished_price = 10\n' "$STORE" > "$TMP/pub.conf"
run_capture "$REP" -c "$TMP/pub.conf" show domain:good.example
expect_eq "-c published_price: lowered" \
    "10 bits (raw $GOOD_PRICE, lowered to published_price) = base 20 - credit 6 + penalty 0 + surcharge 0" \
    "$(field price)"
run_capture "$REP" -c "$TMP/pub.conf" --json show domain:good.example "$SENDER"
expect_eq "-c published_price --json" "10 True $SENDER_PRICE False" \
    "$(json '"%s %s %s %s" % (d[0]["price"]["bits"], d[0]["price"]["promised"], d[1]["price"]["bits"], d[1]["price"]["promised"])')"
printf 'store = lmdb:%s/elsewhere\n' "$TMP" > "$TMP/other.conf"
run_capture "$REP" -c "$TMP/other.conf" show domain:good.example
expect_eq "-c other store: exit status" 1 "$rc"
case $err in *"$TMP/elsewhere does not exist"*) ;; *) fail "-c other store: $err" ;; esac
run_capture "$REP" -c "$TMP/other.conf" -s "$STORE" show domain:good.example
expect_eq "-s overrides -c" 0 "$rc"
printf 'price_base = 30\n' > "$TMP/bad.conf"
run_capture "$REP" -c "$TMP/bad.conf" -s "$STORE" show domain:good.example
expect_eq "-c inconsistent parameters: exit status" 1 "$rc"
case $err in *price_base*) ;; *) fail "-c inconsistent parameters: $err" ;; esac
run_capture "$REP" -c "$TMP/missing.conf" -s "$STORE" show domain:good.example
expect_eq "-c missing file: exit status" 1 "$rc"
case $err in *missing.conf*) ;; *) fail "-c missing file: $err" ;; esac

# ---- damaged records and hostile keys (a store of their own) ---------------

HSTORE="lmdb:$TMP/hostile"
ESC=$(printf '\033')
EVIL="domain:evil${ESC}[31m.example"
"$SEED" "$HSTORE" "$NOW" "$EVIL" accepted=9 rate=9 messages=9 || fail "rep_seed evil"
"$SEED" "$HSTORE" "$NOW" domain:fine.example accepted=2 rate=2 messages=2 || fail "rep_seed fine"
"$SEED" "$HSTORE" "$NOW" domain:junk.example --raw 0102030405 || fail "rep_seed junk"
# A version-1 record of the right size whose times are before 1970.
ANCIENT=$(python3 -c "
import struct
print((bytes([1, 0, 0, 0]) + struct.pack('>qq', -2**63, -2**63) + bytes(36)
       + struct.pack('>I', 1)).hex())")
"$SEED" "$HSTORE" "$NOW" domain:ancient.example --raw "$ANCIENT" || fail "rep_seed ancient"
run_capture "$REP" -s "$HSTORE" show domain:junk.example
expect_eq "damaged record: exit status" 1 "$rc"
case $err in *"domain:junk.example: the record is damaged"*) ;; *) fail "damaged: $err" ;; esac
run_capture "$REP" -s "$HSTORE" show domain:ancient.example
expect_eq "record from before 1970: exit status" 1 "$rc"
case $err in *"damaged"*) ;; *) fail "before 1970: $err" ;; esac
run_capture "$REP" -s "$HSTORE" top
expect_eq "top over damaged records: exit status" 0 "$rc"
expect_eq "top over damaged records: summary" \
    "(2 of 2 identities, by volume; 2 unreadable records skipped)" \
    "$(printf '%s\n' "$out" | tail -n 1)"
case $err in *"skipped 2 records"*) ;; *) fail "top over damaged records: $err" ;; esac
case $out in
*"$ESC"*) fail "top text: a control character from the store reached the terminal" ;;
*"domain:evil?[31m.example"*) ;;
*) fail "top text: the hostile key is not shown escaped: $out" ;;
esac
run_capture "$REP" -s "$HSTORE" --json top
expect_eq "top --json over hostile keys: exact identity" True "$(json "d[0]['identity'] == 'domain:evil\x1b[31m.example'")"
expect_eq "top --json over damaged records: rows" 2 "$(json 'len(d)')"
# The identity as an argument is refused (unprintable), not looked up.
run_capture "$REP" -s "$HSTORE" show "$EVIL"
expect_eq "hostile identity argument: exit status" 2 "$rc"
case $err in
*"$ESC"*) fail "hostile identity argument: echoed raw" ;;
*"is not an identity"*) ;;
*) fail "hostile identity argument: $err" ;;
esac

# ---- usage errors ----------------------------------------------------------

# usage_error WHAT EXPECTED-IN-MESSAGE ARGS...: exit 2, the message names it.
usage_error() {
    what=$1 want=$2
    shift 2
    run_capture "$REP" -s "$STORE" "$@"
    expect_eq "$what: exit status" 2 "$rc"
    case $err in
    "postage-reputation: "*"$want"*) ;;
    *) fail "$what: message does not name '$want': $err" ;;
    esac
    expect_eq "$what: nothing on stdout" "" "$out"
}
usage_error "no prefix" "domain:DOMAIN, sender:NETWORK SENDER" show example.org
usage_error "unknown prefix" "ip:ADDRESS" show host:example.org
usage_error "empty rest" "is not an identity" show domain:
usage_error "control character" "is not an identity" show "$(printf 'domain:a\tb')"
usage_error "uppercase" "lowercase" show domain:Good.example
usage_error "too long" "is not an identity" show "domain:$(printf '%0600d' 0)"
usage_error "pin bits 161" "0 to 160" pin domain:good.example 161
usage_error "pin bits not a number" "0 to 160" pin domain:good.example 2x
usage_error "pin bad identity" "domain:DOMAIN" pin good.example 20
usage_error "pin without bits" "IDENTITY BITS" pin domain:good.example
usage_error "unpin bad identity" "is not an identity" unpin ip:
usage_error "show nothing" "identities" show
usage_error "no command" "no command"
usage_error "unknown command" "unknown command 'list'" list
usage_error "top argument" "unexpected argument" top domain:good.example
usage_error "--by junk" "volume, score or bad" top --by size
usage_error "-n 0" "1 to 10000" top -n 0
usage_error "-n too many" "1 to 10000" top -n 10001
usage_error "-n with show" "top only" show domain:good.example -n 3
usage_error "--json with pin" "show and top only" --json pin domain:good.example 20
run_capture "$REP" -s "" show domain:good.example
expect_eq "empty -s: exit status" 2 "$rc"
run_capture "$REP" -s redis:127.0.0.1 show domain:good.example
expect_eq "bad Redis store: exit status" 2 "$rc"
case $err in *'expected "redis://"'*) ;; *) fail "bad Redis store: $err" ;; esac
run_capture "$REP" -s memcached://127.0.0.1 show domain:good.example
expect_eq "unsupported store: exit status" 2 "$rc"
case $err in *"unsupported state store"*) ;; *) fail "unsupported store: $err" ;; esac
# The refused pin changed nothing.
run_capture "$REP" -s "$STORE" show domain:good.example
expect_eq "refused pin: still unpinned" no "$(field pinned)"

run_capture "$REP" --help
expect_eq "--help: exit status" 0 "$rc"
case $out in "Usage: postage-reputation"*) ;; *) fail "--help: $out" ;; esac
run_capture "$REP" -V
expect_eq "-V" 0 "$rc"
case $out in "postage-reputation (postage) "*) ;; *) fail "-V: $out" ;; esac
run_capture "$REP" --bogus
expect_eq "unknown option: exit status" 2 "$rc"

finish
