#!/bin/sh
# filters_spamassassin.sh - contrib/spamassassin/60_postage.cf with the
# real SpamAssassin 4 on messages postaged really delivered
# (filters_lib.sh): the paid one scores POSTAGE_PAID_<bits> with its
# negative score; the greylisted one POSTAGE_UNPAID and no paid rule; the
# one sent with a forged "paid" X-Postage-Result no paid rule either (the
# milter removed the forgery).  The rules file passes --lint.
# SpamAssassin runs with -L (no network) on a private site config
# directory: Debian's .pre files (the plugins) and 60_postage.cf, as
# /etc/spamassassin would hold them, so the system's own is never read.
# Skipped (77) without spamassassin (apt-get install spamassassin).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/system/filters_lib.sh"

command -v spamassassin >/dev/null 2>&1 ||
    skip "spamassassin is not installed (apt-get install spamassassin)"
command -v setpriv >/dev/null 2>&1 || skip "setpriv (util-linux) is not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root (SpamAssassin runs as nobody, Postfix as root)"
RULES="$top_srcdir/contrib/spamassassin/60_postage.cf"

SA_DIR="$TMP/spamassassin"
mkdir -p "$SA_DIR"
cp "$RULES" "$SA_DIR/"
for pre in /etc/spamassassin/*.pre; do
    [ -f "$pre" ] && cp "$pre" "$SA_DIR/"
done
# No Bayes.  SpamAssassin keeps state in its user's home whatever $HOME
# says, so it runs as nobody (whose home does not exist) with HOME in
# $SA_DIR, as spamd runs unprivileged: nothing is written outside $TMP.
printf 'use_bayes 0\n' > "$SA_DIR/local.cf"
chmod 711 "$TMP"
mkdir -p "$TMP/sa-alone"
cp "$RULES" "$TMP/sa-alone/"
chown -R nobody "$SA_DIR" "$TMP/sa-alone"
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$SA_DIR" "$@"
}
sa() {
    as_nobody spamassassin -L --siteconfigpath="$SA_DIR" -p "$SA_DIR/user_prefs" "$@"
}

# The rules file with the distribution's rules, and alone: lint clean.
run_capture sa --lint
[ "$rc" -eq 0 ] || fail "spamassassin --lint failed: $err"
printf '%s\n' "$err" | grep -E 'POSTAGE_|60_postage' && fail "--lint complains about the postage rules"
run_capture as_nobody spamassassin --lint -C "$TMP/sa-alone" -p "$SA_DIR/user_prefs"
[ "$rc" -eq 0 ] || fail "spamassassin --lint -C (60_postage.cf alone) failed: $err"

filters_deliver

# score FILE: the report lines naming a POSTAGE_ rule, as "SCORE NAME".
score() {
    sa -t < "$1" 2>/dev/null | sed -n 's/^ *\(-\{0,1\}[0-9][0-9.]*\) \(POSTAGE_[A-Z0-9_]*\) .*/\1 \2/p'
}

# The paid message: the rule of its band, with its score, and nothing else.
# shellcheck disable=SC2046 # two words: the band and its score
set -- $(filters_band "${FILTERS_BITS:-0}")
band=$1 want=$2
hits=$(score "$TMP/paid.eml")
expect_eq "SpamAssassin's postage rules on the paid message ($FILTERS_BITS bits)" \
    "$want POSTAGE_PAID_$band" "$hits"

# Two recipients paid: scored by the price, 16 bits.
hits=$(score "$TMP/paid2.eml")
expect_eq "SpamAssassin's postage rules on the message paid for two" "-0.3 POSTAGE_PAID_16" "$hits"

# The greylisted message: POSTAGE_UNPAID only.
hits=$(score "$TMP/grey.eml")
expect_eq "SpamAssassin's postage rules on the greylisted message" "0.1 POSTAGE_UNPAID" "$hits"

# The forged one: what postaged wrote (greylist-passed), not the forgery.
hits=$(score "$TMP/forged.eml")
expect_eq "SpamAssassin's postage rules on the forged message" "0.1 POSTAGE_UNPAID" "$hits"

# The rules read the topmost header only: the forged message as it would
# be had postaged not removed the forgery (postaged's header on top of the
# forged one) still earns no paid rule ...
forged="X-Postage-Result: $FILTERS_HOST; price=$FILTERS_PRICE; reputation=unknown; stamps=1; replayed=0; invalid=0; rcpt=<forged@example.test> paid 30/$FILTERS_PRICE"
grep -v '^X-Postage-Result:' "$TMP/forged.eml" > "$TMP/stripped.eml"
{ grep '^X-Postage-Result:' "$TMP/forged.eml"; echo "$forged"; cat "$TMP/stripped.eml"; } > "$TMP/forged-kept.eml"
hits=$(score "$TMP/forged-kept.eml")
expect_eq "rules on a forgery under postaged's header" "0.1 POSTAGE_UNPAID" "$hits"
# ... while a forgery alone would be credited: the rules do trust the
# header, which is why the milter must remove incoming copies.
{ echo "$forged"; cat "$TMP/stripped.eml"; } > "$TMP/forged-alone.eml"
hits=$(score "$TMP/forged-alone.eml")
expect_eq "rules on a lone forged header (what the milter prevents)" "-5.0 POSTAGE_PAID_HIGH" "$hits"

finish
