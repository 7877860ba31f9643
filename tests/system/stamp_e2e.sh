#!/bin/sh
# stamp_e2e.sh - issue 19 end to end: a receiver publishes its price in
# DNS, a sender's mail server stamps to it, and the mail is taken on the
# first attempt.  Two private Postfix instances (tests/lib/postfix_harness.sh)
# and a dnsmasq zone on loopback (tests/lib/dns_harness.sh):
#
#   tx  the sending Postfix (origin.test): mail submitted locally with its
#       sendmail(1) goes through non_smtpd_milters, mail from its smtpd
#       through smtpd_milters, both to postaged's stamping milter
#       (stamp_listen, on its defaults but for its DNS server and
#       stamp_sendmail, tx's own sendmail); everything is relayed to rx.  Its
#       smtpd takes SMTP AUTH (Cyrus SASL, user alice) and relays for
#       example.test and quiet.test.
#   rx  the receiving Postfix (example.test, quiet.test) with postaged's
#       policy service and milter wired as the README says, on defaults:
#       greylisting on (300 s, greylist_training = no), prices from
#       price_base 20.
#   tx reaches rx through a small proxy that opens each connection with
#   XCLIENT ADDR=192.0.2.x, so that rx sees tx as a host on the Internet
#   (from the loopback, SPF would always pass and the HELO would be
#   "self"): mx.origin.test is 192.0.2.77, forward and reverse, and
#   origin.test's SPF authorises 192.0.2.0/24.  Check 1 comes from
#   192.0.2.66 (its HELO failure leaves a mark on that address's record),
#   the others from 192.0.2.77.
#
# The zone holds what `postaged -c RX.conf --dns-record example.test`
# prints; quiet.test publishes nothing.  Checks:
#   1. the promise: the first mail rx ever sees from tx, from a sender with
#      SPF none (nospf.test) through a HELO name that does not resolve
#      (mx.nowhere.test), not in bad standing, paying the published bits,
#      is taken, and its trace header says the promise set the price:
#      on rx's own terms (price_base + the SPF-none penalty + the HELO
#      score) it is above the published price, and without the promise
#      the message is greylisted;
#   2. a message to three recipients, one of them blind (Bcc:, which
#      Postfix's sendmail -t takes the recipients from and removes),
#      submitted locally, is delivered on the first attempt: rx logs no
#      4xx, every delivered copy says it paid (X-Postage-Result), and no
#      copy but the blind recipient's own names the blind address; tx's
#      milter logs that the blind recipient got a copy of its own;
#   3. mail to quiet.test goes out unstamped (tx's milter says it publishes
#      nothing) and rx greylists it: tx's queue holds it, deferred once;
#   4. a SASL-authenticated submission to tx's smtpd (from an outside
#      address, XCLIENT) is stamped and delivered at once; mail relayed in
#      from an outside client (XCLIENT ADDR=203.0.113.x) is not stamped
#      (the milter says why) and is greylisted at rx;
#   5. DNS down at the sender (the stamping milter restarted with its
#      dns_server on a closed port, stamp_timeout 5s): the mail goes out
#      unstamped, with the milter's log line
#      naming the DNS failure, reaches rx and is greylisted there, not
#      held at tx.
# Needs root, Postfix, swaks, dnsmasq, saslpasswd2 (sasl2-bin), python3;
# skipped without them, and skipped while postaged has no stamping milter
# (stamp_listen) or no --dns-record.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

require_built "$POSTAGED" "$VERIFY"
"$POSTAGED" --defaults 2>/dev/null | grep -q '^#* *stamp_listen *=' ||
    skip "this postaged has no stamping milter (stamp_listen)"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"
command -v saslpasswd2 >/dev/null 2>&1 || skip "saslpasswd2 is not installed (apt-get install sasl2-bin)"

RX_POLICY=$(free_port)
RX_MILTER=$(free_port)
STAMP_PORT=$(free_port)
RX_HOST=mx.example.test

# --- the receiver's price, published ------------------------------------------
# rx's configuration: defaults but for ports, store, log and DNS.  $1: its
# dns_server.
rx_conf() {
    postaged_conf -o "$TMP/rx.conf" "policy_listen=inet:127.0.0.1:$RX_POLICY" \
        "milter_listen=inet:127.0.0.1:$RX_MILTER" "store=lmdb:$TMP/rx-state" \
        "hostname=$RX_HOST" "dns_server=$1" dns_timeout=1000 \
        greylist=yes greylist_training=no
}
rx_conf 127.0.0.1:9
run_capture "$POSTAGED" -c "$TMP/rx.conf" --dns-record example.test
if [ "$rc" -ne 0 ]; then
    case $err in
        *dns-record*) skip "this postaged has no --dns-record: $err" ;;
    esac
    fail "postaged --dns-record example.test exited $rc: $err"
    finish
fi
# _postage.example.test. 3600 IN TXT "v=POSTAGE1; b=20" (TXT data may be
# split in several quoted strings: joined, as a resolver joins them)
RECORD_NAME=$(printf '%s\n' "$out" | awk 'NR == 1 { print $1 }')
RECORD_TEXT=$(printf '%s\n' "$out" | sed -n '1s/^[^"]*"//; 1s/"[ \t]*"//g; 1s/"[ \t]*$//p')
expect_eq "the record's name" "_postage.example.test." "$RECORD_NAME"
PUBLISHED=$(printf '%s\n' "$RECORD_TEXT" | sed -n 's/^v=POSTAGE1;.*\bb=\([0-9]*\).*/\1/p')
[ -n "$PUBLISHED" ] || { fail "no b= in the published record: $out"; finish; }
expect_eq "the published price (price_base on defaults)" 20 "$PUBLISHED"

# The zone: the record; origin.test with SPF for tx's address and its
# mail server's name, forward and reverse; nospf.test (default zone) has
# no SPF; mx.nowhere.test does not exist.
TX_ADDR=192.0.2.77
dns_start "--txt-record=${RECORD_NAME%.},$RECORD_TEXT" \
    '--txt-record=origin.test,v=spf1 ip4:192.0.2.0/24 -all' \
    "--host-record=mx.origin.test,$TX_ADDR" \
    "--ptr-record=77.2.0.192.in-addr.arpa,mx.origin.test"
rx_conf "127.0.0.1:$DNS_PORT"

# --- the daemons ----------------------------------------------------------------
# start_postaged NAME PORT...: postaged on $TMP/NAME.conf, its log in
# $TMP/NAME.log; sets pid_NAME.
start_postaged() {
    _n=$1; shift
    "$POSTAGED" -c "$TMP/$_n.conf" -f 2>> "$TMP/$_n.log" &
    _pid=$!
    eval "pid_$_n=$_pid"
    kill_at_exit "$_pid"
    for _p; do
        wait_listen "$_p" 20 "$_pid" || { fail "postaged ($_n) did not start: $(cat "$TMP/$_n.log")"; finish; }
    done
}
stop_postaged() {
    eval "_p=\$pid_$1"
    stop_pids "$_p"
}
start_postaged rx "$RX_POLICY" "$RX_MILTER"

POLICY=inet:127.0.0.1:$RX_POLICY
pf_start --instance rx --domain example.test --domain quiet.test \
    --policy "$POLICY" --policy-eod "$POLICY" -o "smtpd_data_restrictions = check_policy_service $POLICY" \
    --milter "127.0.0.1:$RX_MILTER" --policy-default-action DUNNO --milter-default-action accept \
    -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8' ||
    { fail "the receiving Postfix did not start"; finish; }
RX_PORT=$PF_PORT

# The proxy: each connection to it becomes one to rx that has said
# XCLIENT ADDR=(the address in $TMP/proxy.addr when the connection came);
# rx's banner after XCLIENT is the client's banner, then bytes are copied
# both ways.  It writes its port to a file.
cat > "$TMP/xclient_proxy.py" <<'PY'
import socket, sys, threading
rx_port, addrfile, portfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def reply(f):
    lines = []
    while True:
        line = f.readline(65536)
        if not line:
            raise EOFError
        lines.append(line)
        if line[3:4] != b'-':
            return b''.join(lines)

def pump(src, dst):
    try:
        while True:
            data = src.read1(65536) if hasattr(src, 'read1') else src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (dst,):
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass

def serve(client):
    try:
        with open(addrfile) as f:
            addr = f.read().strip()
        up = socket.create_connection(('127.0.0.1', rx_port), timeout=30)
        up.settimeout(None)
        f = up.makefile('rb')
        reply(f)
        up.sendall(b'EHLO xclient-proxy.test\r\n')
        reply(f)
        up.sendall(b'XCLIENT ADDR=' + addr.encode() + b' NAME=[UNAVAILABLE]\r\n')
        banner = reply(f)
        client.sendall(banner)
    except (OSError, EOFError):
        client.close()
        return
    threading.Thread(target=pump, args=(client, up), daemon=True).start()
    pump(f, client)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', 0))
srv.listen(16)
with open(portfile + '.tmp', 'w') as out:
    out.write('%d\n' % srv.getsockname()[1])
import os
os.rename(portfile + '.tmp', portfile)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
echo 192.0.2.66 > "$TMP/proxy.addr"
python3 -S "$TMP/xclient_proxy.py" "$RX_PORT" "$TMP/proxy.addr" "$TMP/proxy.port" 2> "$TMP/proxy.log" &
kill_at_exit "$!"
i=0
while [ ! -s "$TMP/proxy.port" ] && [ $i -lt 100 ]; do nap 0.05; i=$((i + 1)); done
PROXY_PORT=$(cat "$TMP/proxy.port" 2>/dev/null)
[ -n "$PROXY_PORT" ] || { fail "the XCLIENT proxy did not start: $(cat "$TMP/proxy.log")"; finish; }

# tx: its first mail leaves through a HELO name that does not resolve (the
# promise, check 1); then through mx.origin.test.  No connection caching:
# a connection is one client address.
pf_start --instance tx --domain origin.test --relay "127.0.0.1:$PROXY_PORT" --sasl alice:s3cret \
    --milter "127.0.0.1:$STAMP_PORT" --non-smtpd-milter "127.0.0.1:$STAMP_PORT" \
    --milter-default-action accept -o 'relay_domains = example.test quiet.test' \
    -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8' -o 'smtp_helo_name = mx.nowhere.test' \
    -o 'smtp_connection_cache_on_demand = no' ||
    { fail "the sending Postfix did not start"; finish; }

# tx's stamping milter; $1: its dns_server, then other settings.  Blind copies go back in
# through tx's own sendmail.
tx_conf() {
    _dns=$1; shift
    postaged_conf -o "$TMP/tx.conf" "stamp_listen=inet:127.0.0.1:$STAMP_PORT" \
        "store=lmdb:$TMP/tx-state" hostname=mx.origin.test "dns_server=$_dns" dns_timeout=1000 \
        "stamp_sendmail=$PF_SENDMAIL" "$@"
}
tx_conf "127.0.0.1:$DNS_PORT"
start_postaged tx "$STAMP_PORT"

# --- helpers --------------------------------------------------------------------
show() {
    for _i in tx rx; do
        pf_use "$_i"
        echo "---- Postfix $_i" >&2; pf_log | tail -n 25 >&2
        echo "---- postaged $_i" >&2; tail -n 15 "$TMP/$_i.log" >&2
    done
}
# submit FROM RCPT... : a message submitted locally to tx (sendmail -i;
# with RCPT "-t", its recipients are read from the headers as a mail
# program has it do); the headers from $HEADERS (one a line), a body line.
submit() {
    _from=$1; shift
    pf_use tx
    { printf '%s\n' "$HEADERS"; printf 'From: %s\nDate: %s\n\nbody of %s\n' "$_from" \
        "$(date -R)" "$SUBJECT"; } |
        if [ "$1" = -t ]; then pf_sendmail -i -t -f "$_from"; else pf_sendmail -i -f "$_from" -- "$@"; fi
}
# tx_qid RCPT: tx's queue ID of the (first) message it sent to RCPT.
tx_qid() {
    pf_use tx
    sed -n "s/.*\]: \([0-9A-F]*\): to=<$1>.*/\1/p" "$PF_LOG" | head -n 1
}
# stamp_line RCPT: the stamping milter's line about the message tx sent to
# RCPT (by its queue ID).
stamp_line() {
    _q=$(tx_qid "$1")
    [ -n "$_q" ] && grep -F "stamp: queue-id $_q:" "$TMP/tx.log"
}
# rx_deferrals RCPT: every refusal rx logged naming RCPT (a 4xx at RCPT or
# from a milter).
rx_deferrals() {
    pf_use rx
    grep -E 'reject: |milter-reject: ' "$PF_LOG" | grep -F -- "<$1>"
}
# tx_deferrals RCPT: tx's log lines saying a delivery to RCPT was deferred.
tx_deferrals() {
    pf_use tx
    grep -F -- "to=<$1>," "$PF_LOG" | grep -F 'status=deferred'
}
# greylisted RCPT: tx tried once, rx greylisted the message (4.7.1), tx
# keeps it in its deferred queue.
greylisted() {
    pf_use tx
    pf_wait_log "to=<$1>, .*status=deferred" 30 ||
        { fail "$2: the message to $1 was not deferred by rx"; show; return 1; }
    tx_deferrals "$1" | grep -q 'said: 451[ -]4\.7\.1 Greylisted' ||
        { fail "$2: the deferral is not rx's greylisting"; tx_deferrals "$1" >&2; }
    expect_eq "$2: tries to deliver to $1" 1 "$(tx_deferrals "$1" | grep -c .)"
    _q=$(tx_qid "$1")
    [ -n "$_q" ] && [ -f "$(find "$PF_DIR/spool/deferred" -name "$_q" | head -n 1)" ] ||
        fail "$2: tx's deferred queue does not hold the message to $1 (queue ID '$_q')"
    pf_use rx
    expect_eq "$2: copies delivered to $1" 0 "$(pf_mail_count "$1")"
}
x_postage_result() {   # the X-Postage-Result header of a delivered file
    sed -n '/^$/q; /^X-Postage-Result:/p' "$1"
}

# --- 1. the promise ---------------------------------------------------------------
# rx knows nothing of 127.0.0.1 yet: no history credit.  On its own terms
# the price is price_base (20) + 2 (SPF none) + the HELO score: more than
# the 20 bits published, which is what tx pays.
HEADERS='To: p1@example.test' SUBJECT='the promise'
HEADERS="$HEADERS
Subject: $SUBJECT"
submit promise@nospf.test p1@example.test || fail "sendmail refused the promise message"
pf_use rx
m=$(pf_wait_delivered p1@example.test 30) || { fail "1: the promise message was not delivered"; show; }
if [ -n "$m" ]; then
    sed -n '/^$/q; p' "$m" | grep -q '^Received-SPF: [Nn]one' ||
        { fail "1: rx did not find SPF none"; sed -n '/^$/q; p' "$m" >&2; }
    grep -q '^Received: from mx\.nowhere\.test ' "$m" ||
        { fail "1: the HELO name was not mx.nowhere.test"; sed -n '/^$/q; p' "$m" >&2; }
    # "promise": the published price was asked, the sender's own was higher
    x_postage_result "$m" | grep -q "^X-Postage-Result: $RX_HOST; price=$PUBLISHED; promise; reputation=unknown; .*; rcpt=<p1@example.test> paid [0-9]*/$PUBLISHED\$" ||
        { fail "1: the copy does not say it paid the promised $PUBLISHED bits"; x_postage_result "$m" >&2; }
fi
expect_eq "1: rx deferrals of p1" "" "$(rx_deferrals p1@example.test)"
expect_eq "1: tx deferrals of p1" "" "$(tx_deferrals p1@example.test)"
echo "$TX_ADDR" > "$TMP/proxy.addr"
pf_use tx
pf_set 'smtp_helo_name = mx.origin.test' || fail "pf_set smtp_helo_name"

# --- 2. three recipients, one blind: paid, taken at once, no leak ------------------
SUBJECT='three recipients, one blind'
HEADERS="To: ann@example.test
Cc: ben@example.test
Bcc: cat@example.test
Subject: $SUBJECT"
submit alice@origin.test -t ||
    fail "2: sendmail refused the message"
pf_use rx
for r in ann ben cat; do
    m=$(pf_wait_delivered "$r@example.test" 30) || { fail "2: nothing delivered to $r"; show; continue; }
    eval "msg_$r=\$m"
    # paid: the trace header counts paid recipients, or names the one
    x_postage_result "$m" | grep -Eq "^X-Postage-Result: $RX_HOST; price=[0-9]+; .*(paid=[0-9]+|rcpt=<$r@example.test> paid [0-9]+/[0-9]+)\$" ||
        { fail "2: $r's copy does not say it paid"; x_postage_result "$m" >&2; }
    x_postage_result "$m" | grep -Eq 'greylist|reputation=bad' &&
        { fail "2: $r's copy went through greylisting, or from a sender in bad standing"; x_postage_result "$m" >&2; }
    expect_eq "2: rx deferrals of $r" "" "$(rx_deferrals "$r@example.test")"
    expect_eq "2: tx deferrals of $r" "" "$(tx_deferrals "$r@example.test")"
done
# the blind address in no copy but its own (any case, any header or body)
for r in ann ben; do
    eval "m=\${msg_$r:-}"
    [ -n "$m" ] || continue
    expect_eq "2: copies for $r" 1 "$(pf_mail_count "$r@example.test")"
    grep -il 'cat@example\.test' "$(dirname "$m")"/* >&2 &&
        fail "2: a copy delivered to $r names the blind recipient"
done
expect_eq "2: copies for cat" 1 "$(pf_mail_count cat@example.test)"
if [ -n "${msg_cat:-}" ]; then
    # its own stamp: the one X-Hashcash for cat, checked by postage-verify
    grep '^X-Hashcash:' "$msg_cat" | grep -q 'cat@example\.test' ||
        fail "2: cat's copy has no stamp of its own"
    "$VERIFY" -b "$PUBLISHED" -r cat@example.test \
        "$(sed -n 's/^X-Hashcash: *//p' "$msg_cat" | grep 'cat@example\.test' | head -n 1)" >/dev/null 2>&1 ||
        fail "2: cat's stamp does not verify at $PUBLISHED bits"
fi
stamp_line ann@example.test | grep -q 'stamped 3 of 3 recipients.* 1 in a copy of their own' ||
    { fail "2: tx's milter did not say it stamped three, one in a copy"; stamp_line ann@example.test >&2; }

# --- 3. a domain that publishes nothing ----------------------------------------------
SUBJECT='to a domain that publishes nothing'
HEADERS="To: q@quiet.test
Subject: $SUBJECT"
submit alice@origin.test q@quiet.test || fail "3: sendmail refused the message"
greylisted q@quiet.test 3
stamp_line q@quiet.test | grep -q 'stamped 0 of 1 recipient.*quiet\.test publishes nothing' ||
    { fail "3: tx's milter did not say quiet.test publishes nothing"; stamp_line q@quiet.test >&2; }

# --- 4. SASL-authenticated submission stamped; relayed-in mail not ----------------
pf_use tx
pf_send alice@origin.test sasl@example.test --auth alice s3cret \
    --swaks-opt --xclient-addr --swaks-opt 203.0.113.9 --header 'Subject: authenticated' ||
    { fail "4: tx refused the authenticated submission"; pf_transcript >&2; }
pf_transcript | grep -q '^<-  235 ' || { fail "4: AUTH did not succeed"; pf_transcript >&2; }
pf_use rx
m=$(pf_wait_delivered sasl@example.test 30) || { fail "4: the authenticated message was not delivered"; show; }
[ -n "$m" ] && { x_postage_result "$m" | grep -q "; rcpt=<sasl@example.test> paid [0-9]*/[0-9]*\$" ||
    { fail "4: the authenticated message did not pay"; x_postage_result "$m" >&2; }; }
expect_eq "4: rx deferrals of sasl" "" "$(rx_deferrals sasl@example.test)"
stamp_line sasl@example.test | grep -q 'stamped 1 of 1 recipient (authenticated as alice' ||
    { fail "4: tx's milter did not stamp because alice authenticated"; stamp_line sasl@example.test >&2; }

pf_use tx
pf_send someone@outside.test relayed@example.test \
    --swaks-opt --xclient-addr --swaks-opt 203.0.113.10 --header 'Subject: relayed in' ||
    { fail "4: tx refused to relay for example.test"; pf_transcript >&2; }
greylisted relayed@example.test 4
stamp_line relayed@example.test | grep -q 'not stamped.*client 203\.0\.113\.10 is neither authenticated nor in stamp_clients' ||
    { fail "4: tx's milter did not say why relayed-in mail is not stamped"; stamp_line relayed@example.test >&2; }

# --- 5. DNS down at the sender ------------------------------------------------------
# The stamping milter's resolver on a port nobody serves: each look-up
# fails (refused or timed out), the message goes out unstamped within
# stamp_timeout and is greylisted at rx like any unpaid mail.
stop_postaged tx
tx_conf "127.0.0.1:$(free_port --udp)" stamp_timeout=5s
start_postaged tx "$STAMP_PORT"
SUBJECT='while DNS is down'
HEADERS="To: dnsdown@example.test
Subject: $SUBJECT"
submit alice@origin.test dnsdown@example.test || fail "5: sendmail refused the message"
greylisted dnsdown@example.test 5
stamp_line dnsdown@example.test | grep -q 'stamped 0 of 1 recipient.*example\.test: DNS' ||
    { fail "5: tx's milter did not say DNS failed"; stamp_line dnsdown@example.test >&2; }
pf_use rx
rx_deferrals dnsdown@example.test | grep -q 'Greylisted' ||
    { fail "5: rx did not greylist the unstamped message"; show; }

finish
