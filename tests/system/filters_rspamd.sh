#!/bin/sh
# filters_rspamd.sh - contrib/rspamd/postage.lua in a real rspamd (3.4) on
# messages postaged really delivered (filters_lib.sh): rspamc shows
# POSTAGE_PAID, scaled by the bits paid, on the paid message only; the
# greylisted one and the one sent with a forged "paid" X-Postage-Result
# (the milter removed the forgery) get POSTAGE_UNPAID.
# rspamd runs in the foreground on a free loopback port with a private
# configuration that loads only postage.lua (no module that needs the
# network or Redis; hyperscan off, its databases, log and pid file under
# $TMP), started and stopped by PID, pass or fail.
# Skipped (77) without rspamd and rspamc (apt-get install rspamd).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/system/filters_lib.sh"

command -v rspamd >/dev/null 2>&1 && command -v rspamc >/dev/null 2>&1 ||
    skip "rspamd is not installed (apt-get install rspamd)"
RULES=$(cd "$top_srcdir/contrib/rspamd" && pwd)/postage.lua

# Workers drop to nobody: they must reach $TMP (0700 from mktemp).
chmod 711 "$TMP"
RS_DIR="$TMP/rspamd"
mkdir -p "$RS_DIR"
chown nobody "$RS_DIR" 2>/dev/null || true
RS_PORT=$(free_port)
cat > "$RS_DIR/rspamd.conf" <<CONF
options {
    pidfile = "$RS_DIR/rspamd.pid";
    disable_hyperscan = true;
    hs_cache_dir = "$RS_DIR";
    # No resolver is asked anything: nothing loaded makes DNS queries.
    dns { nameserver = ["127.0.0.1:9"]; timeout = 1s; retransmits = 1; }
}
logging { type = "file"; filename = "$RS_DIR/rspamd.log"; level = "info"; }
worker "normal" { bind_socket = "127.0.0.1:$RS_PORT"; count = 1; }
lua = "$RULES";
CONF

rspamd -f -c "$RS_DIR/rspamd.conf" -u nobody -g nogroup --var="DBDIR=$RS_DIR" \
    --var="RUNDIR=$RS_DIR" --var="LOGDIR=$RS_DIR" > "$RS_DIR/stdout" 2>&1 &
rspamd_pid=$!
kill_at_exit "$rspamd_pid"
# Deliver the messages while rspamd loads (it compiles its URL tables
# first: several seconds).
filters_deliver
wait_listen "$RS_PORT" 120 "$rspamd_pid" ||
    { fail "rspamd did not start: $(tail -n 20 "$RS_DIR/rspamd.log" "$RS_DIR/stdout")"; finish; }
grep -q 'postage: X-Postage-Result rules loaded' "$RS_DIR/rspamd.log" ||
    fail "rspamd did not load postage.lua"

# symbols FILE: the POSTAGE_ symbols rspamc shows, "NAME (SCORE)", sorted,
# on one line.
symbols() {
    rspamc -h "127.0.0.1:$RS_PORT" symbols "$1" > "$TMP/rspamc.out" 2>&1 ||
        { fail "rspamc failed on $1: $(cat "$TMP/rspamc.out")"; return; }
    sed -n 's/^Symbol: \(POSTAGE_[A-Z_]*\) (\(-\{0,1\}[0-9.]*\)).*/\1 (\2)/p' "$TMP/rspamc.out" |
        sort | paste -sd' ' -
}

# shellcheck disable=SC2046 # two words: the band and its score
set -- $(filters_band "${FILTERS_BITS:-0}")
want=$(printf '%.2f' "$2")
expect_eq "rspamd's postage symbols on the paid message ($FILTERS_BITS bits)" \
    "POSTAGE_PAID ($want)" "$(symbols "$TMP/paid.eml")"
expect_eq "rspamd's postage symbols on the message paid for two (price 16)" \
    "POSTAGE_PAID (-0.30)" "$(symbols "$TMP/paid2.eml")"
expect_eq "rspamd's postage symbols on the greylisted message" "POSTAGE_UNPAID (0.10)" \
    "$(symbols "$TMP/grey.eml")"
expect_eq "rspamd's postage symbols on the forged message" "POSTAGE_UNPAID (0.10)" \
    "$(symbols "$TMP/forged.eml")"

# Only the topmost header counts: a forgery under postaged's header earns
# nothing, while a forgery alone would (which is why the milter removes
# incoming copies).
forged="X-Postage-Result: $FILTERS_HOST; price=$FILTERS_PRICE; reputation=unknown; stamps=1; replayed=0; invalid=0; rcpt=<forged@example.test> paid 30/$FILTERS_PRICE"
grep -v '^X-Postage-Result:' "$TMP/forged.eml" > "$TMP/stripped.eml"
{ grep '^X-Postage-Result:' "$TMP/forged.eml"; echo "$forged"; cat "$TMP/stripped.eml"; } > "$TMP/forged-kept.eml"
expect_eq "rspamd on a forgery under postaged's header" "POSTAGE_UNPAID (0.10)" \
    "$(symbols "$TMP/forged-kept.eml")"
{ echo "$forged"; cat "$TMP/stripped.eml"; } > "$TMP/forged-alone.eml"
expect_eq "rspamd on a lone forged header (what the milter prevents)" "POSTAGE_PAID (-5.00)" \
    "$(symbols "$TMP/forged-alone.eml")"

stop_pids "$rspamd_pid"
finish
