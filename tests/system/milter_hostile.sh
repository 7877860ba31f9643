#!/bin/sh
# milter_hostile.sh - postaged's milter given hostile and unusual envelope
# addresses through tests/system/milter_client (--escapes), postage priced at 8
# bits (issue 16, defects 5 and 6):
#   - a recipient holding CR, LF, NUL, ESC, TAB and DEL: the X-Postage-Result
#     header postaged asks the MTA to add, and every line of its log, hold
#     no raw control character (they are written \xNN), and no forged
#     header or log line appears;
#   - the same with a hostile HELO, sender and Message-ID;
#   - a stamp minted for "a>b"@example.org pays for RCPT <"a>b"@example.org>
#     (the quoted '>' no longer cuts the address short), and the trace
#     header and log name the whole address;
#   - a source route and ESMTP parameters are dropped: a stamp for
#     dave@example.org pays for <@relay.example,@two.example:dave@example.org>
#     sent with NOTIFY=NEVER.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

CLIENT="$top_builddir/tests/system/milter_client"
require_built "$POSTAGED" "$MINT" "$CLIENT" "$PDCLIENT"

PORT=$("$PDCLIENT" --free-port)
# These clients pass greylisting: their messages go through, so that the
# X-Postage-Result header naming the hostile recipient is added.
postaged_conf "milter_listen=inet:127.0.0.1:$PORT" hostname=milter-hostile.test postage=yes \
    price_base=8 greylist_delay=1h spf=no helo_checks=no price_allowance=1000000 \
    greylist_whitelist_clients=192.0.2.10 greylist_whitelist_clients=192.0.2.11
"$POSTAGED" -c "$TMP/postaged.conf" -f -v 2> "$TMP/postaged.log" &
postaged_pid=$!
kill_at_exit "$postaged_pid"
wait_listen "$PORT" 10 "$postaged_pid" ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
SPEC="inet:127.0.0.1:$PORT"

# client NAME [options]: run the client on $TMP/NAME.in (--escapes,
# --show-headers); sets $rc, leaves $TMP/NAME.out and $TMP/NAME.err.
client() {
    _n=$1; shift
    "$CLIENT" --connect "$SPEC" --escapes --show-headers "$@" "$TMP/$_n.in" \
        > "$TMP/$_n.out" 2> "$TMP/$_n.err"
    rc=$?
}
# header NAME LINE: the value of the header NAME postaged asked to add for
# input line LINE, as milter_client shows it (controls as \r \n \t \\ \xNN:
# a raw one would show as such an escape, ours as a literal backslash).
header() {
    awk -F '\t' -v l="$2" -v h="$1: " '$1 == l && $2 == "header" && index($3, h) == 1 {
        print substr($3, length(h) + 1); exit }' "$TMP/out.tmp"
}
show() {
    echo "---- $1.out" >&2; cat "$TMP/$1.out" >&2
    echo "---- $1.err" >&2; cat "$TMP/$1.err" >&2
    echo "---- postaged" >&2; tail -n 20 "$TMP/postaged.log" >&2
}
# raw_in_client_output WHAT FILE: milter_client writes a backslash in what
# the milter sent as \\ and a raw control character as \r, \n, \t or \xNN;
# with the \\ pairs gone, any backslash left is a raw control character.
raw_in_client_output() {
    if sed 's/\\\\//g' "$2" | grep -q '\\'; then
        fail "$1: a raw control character in what postaged asked the MTA: $(cat "$2")"
    fi
}
# no_raw_controls WHAT FILE: FILE has no byte 0x00-0x08, 0x0b-0x1f or 0x7f
# (tab, 0x09, is left to the next check), no CR, and no line that is not
# one of postaged's (a forged line would start without the timestamp).
no_raw_controls() {
    if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177\r]')" "$2"; then
        fail "$1: raw control characters: $(LC_ALL=C grep -n "$(printf '[\001-\010\013-\037\177\r]')" "$2" | od -c | head -20)"
    fi
    if LC_ALL=C tr -d '\n' < "$2" | LC_ALL=C grep -q "$(printf '[\t]')"; then
        fail "$1: a raw TAB"
    fi
    if [ "$(tr -cd '\000' < "$2" | wc -c)" -ne 0 ]; then
        fail "$1: a raw NUL"
    fi
    bad=$(grep -vc '^[0-9-]*T[0-9:]*Z postaged: ' "$2")
    [ "$bad" -eq 0 ] || fail "$1: $bad lines not written by postaged: $(grep -v '^[0-9-]*T[0-9:]*Z postaged: ' "$2" | head -3)"
}

# 1. A recipient with CR LF (a header of the attacker's), NUL, ESC, TAB and
# DEL: one recipient, so X-Postage-Result names it.  (The NUL splits the
# RCPT argument in two, as it reaches the milter from an MTA.)
printf '%s\t%s\n' 'bob@example.org\r\nX-Injected: yes\x00NOTIFY=NEVER\x1b[31m\t\x7f' \
    'Subject: hostile recipient' > "$TMP/rcpt.in"
client rcpt --client-addr 192.0.2.10 --from hostile1@example.net
expect_eq "hostile recipient: exit status" 0 "$rc"
cp "$TMP/rcpt.out" "$TMP/out.tmp"
trace=$(header X-Postage-Result 1)
case $trace in
    *'rcpt=<bob@example.org\\x0d\\x0aX-Injected: yes'*) ;;
    *) fail "hostile recipient: X-Postage-Result does not show the recipient escaped: '$trace'"; show rcpt ;;
esac
raw_in_client_output "hostile recipient" "$TMP/rcpt.out"
grep -q "^1${TAB:-	}header${TAB:-	}X-Injected" "$TMP/rcpt.out" &&
    fail "hostile recipient: an X-Injected header was added"
grep -q 'to=<bob@example.org\\x0d\\x0aX-Injected: yes' "$TMP/postaged.log" ||
    { fail "hostile recipient: the log does not show the recipient escaped"; show rcpt; }
grep -q '^X-Injected' "$TMP/postaged.log" && fail "hostile recipient: a forged log line"
no_raw_controls "hostile recipient: postaged's log" "$TMP/postaged.log"

# 2. Hostile HELO, sender and Message-ID (they reach the log lines).
printf '%s\t%s\t%s\n' 'carol@example.org' 'Subject: hostile fields' \
    'Message-ID: <id\x1b]0;title\x07@x>' > "$TMP/fields.in"
"$CLIENT" --connect "$SPEC" --escapes --show-headers --client-addr 192.0.2.11 \
    --helo "$(printf 'helo\r\nforged: line\033')" --from "$(printf 'evil\r\n@example.net')" \
    "$TMP/fields.in" > "$TMP/fields.out" 2> "$TMP/fields.err"
expect_eq "hostile HELO and sender: exit status" 0 "$?"
cp "$TMP/fields.out" "$TMP/out.tmp"
raw_in_client_output "hostile HELO and sender" "$TMP/fields.out"
grep -q 'helo=<helo\\x0d\\x0aforged: line\\x1b>' "$TMP/postaged.log" ||
    { fail "hostile HELO: the log does not show it escaped"; show fields; }
no_raw_controls "hostile HELO and sender: postaged's log" "$TMP/postaged.log"

# 3. A quoted '>' in the local part: the stamp minted for the whole
# address pays for it.
stamp=$("$MINT" -b 8 -X '"a>b"@example.org') || { fail "postage-mint failed"; finish; }
printf '%s\t%s\t%s\n' '<"a>b"@example.org>' 'Subject: quoted' "$stamp" > "$TMP/quoted.in"
client quoted --client-addr 192.0.2.12 --from quoted@example.net
expect_eq "quoted '>': exit status" 0 "$rc"
case $(awk -F '\t' '$1 == 1 { print $2; exit }' "$TMP/quoted.out") in
    accept | continue) ;;
    *) fail "quoted '>': not accepted"; show quoted ;;
esac
cp "$TMP/quoted.out" "$TMP/out.tmp"
case $(header X-Postage-Result 1) in
    *'rcpt=<"a>b"@example.org> paid 8/8'*) ;;
    *) fail "quoted '>': X-Postage-Result: '$(header X-Postage-Result 1)'"; show quoted ;;
esac
grep -q 'to=<"a>b"@example.org> paid by a stamp' "$TMP/postaged.log" ||
    { fail "quoted '>': the log does not say the whole address paid"; show quoted; }

# 4. A source route (its ',' written \x2c: a bare one separates
# recipients in milter_client's input) and ESMTP parameters are dropped.
stamp=$("$MINT" -b 8 -X dave@example.org) || { fail "postage-mint failed"; finish; }
printf '%s\t%s\t%s\n' '<@relay.example\x2c@[IPv6:2001:db8::1]:dave@example.org>\x00NOTIFY=NEVER' \
    'Subject: routed' "$stamp" > "$TMP/route.in"
client route --client-addr 192.0.2.13 --from route@example.net
expect_eq "source route: exit status" 0 "$rc"
cp "$TMP/route.out" "$TMP/out.tmp"
case $(header X-Postage-Result 1) in
    *'rcpt=<dave@example.org> paid 8/8'*) ;;
    *) fail "source route: X-Postage-Result: '$(header X-Postage-Result 1)'"; show route ;;
esac

finish
