# filters_lib.sh - the messages the spam-filter tests score (sourced by
# tests/system/filters_spamassassin.sh and filters_rspamd.sh, after
# testlib.sh; POSIX sh).  They are not made up: a private Postfix with
# postaged's milter really delivers them, so the filters read the
# X-Postage-Result header postaged wrote.
#
#   filters_deliver             deliver four messages, then stop Postfix
#                               and postaged; leaves them in
#                               $TMP/paid.eml    paid with a stamp minted by
#                                                postage-mint
#                               $TMP/paid2.eml   two recipients, both paid
#                                                (the header counts them)
#                               $TMP/grey.eml    no stamp: greylisted, then
#                                                passed on the retry
#                               $TMP/forged.eml  no stamp, sent with three
#                                                forged X-Postage-Result
#                                                headers saying it paid 30
#                                                bits
#                               and checks that each carries one
#                               X-Postage-Result, postaged's own.
#   FILTERS_HOST                postaged's hostname, first in its header.
#   FILTERS_PRICE               the price asked (postage_base, no SPF).
#   FILTERS_BITS                the bits the paid message's stamp is worth.
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

FILTERS_HOST=postage-filters.example
FILTERS_PRICE=16
FILTERS_BITS=

filters_deliver() {
    require_built "$POSTAGED" "$MINT"
    command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"
    _fl_port=$(free_port)
    # No SPF and no HELO DNS tests: nothing here needs DNS, and the price
    # is price_base alone: no history credit, so it stays there however
    # many messages went before.  Greylisting waits 2 s, so the retry passes.
    postaged_conf "milter_listen=inet:127.0.0.1:$_fl_port" "hostname=$FILTERS_HOST" spf=no \
        helo_checks=no greylist_delay=2s "price_base=$FILTERS_PRICE" price_cap=24 price_history_credit_max=0 \
        "published_price=$FILTERS_PRICE"
    postaged_start "$_fl_port"
    pf_start --milter "127.0.0.1:$_fl_port" --milter-default-action tempfail

    # 1. Paid: a stamp for bob at 20 bits, over the price of 16.
    _fl_stamp=$("$MINT" -j 1 -X -b 20 bob@example.test) || { fail "postage-mint failed"; finish; }
    pf_send alice@sender.example bob@example.test --header 'Subject: paid' --header "$_fl_stamp" ||
        { fail "the paid message was refused"; show_logs; finish; }
    _fl_m=$(pf_wait_delivered bob@example.test 20) || { fail "nothing delivered to bob"; show_logs; finish; }
    cp "$_fl_m" "$TMP/paid.eml"
    FILTERS_BITS=$(sed -n 's/^X-Postage-Result: .*; rcpt=<bob@example.test> paid \([0-9]*\)\/[0-9]*$/\1/p' "$TMP/paid.eml")
    [ -n "$FILTERS_BITS" ] && [ "$FILTERS_BITS" -ge 20 ] ||
        { fail "the paid message's header does not say it paid 20 bits or more"; sed -n '1,20p' "$TMP/paid.eml" >&2; }

    # 1b. Paid for two recipients: the header counts them (paid=2) and
    #     names the price, which the filters score by.
    _fl_s1=$("$MINT" -j 1 -X -b "$FILTERS_PRICE" r1@example.test) &&
        _fl_s2=$("$MINT" -j 1 -X -b "$FILTERS_PRICE" r2@example.test) ||
        { fail "postage-mint failed"; finish; }
    pf_send alice@sender.example r1@example.test r2@example.test --header 'Subject: paid twice' \
        --header "$_fl_s1" --header "$_fl_s2" || { fail "the message paid twice was refused"; show_logs; finish; }
    _fl_m=$(pf_wait_delivered r2@example.test 20) || { fail "nothing delivered to r2"; show_logs; finish; }
    cp "$_fl_m" "$TMP/paid2.eml"
    grep -q "^X-Postage-Result: $FILTERS_HOST; price=$FILTERS_PRICE; .*; invalid=0; paid=2\$" "$TMP/paid2.eml" ||
        { fail "paid2.eml does not say two paid"; grep -i '^X-Postage' "$TMP/paid2.eml" >&2; }

    # 2. No stamp: greylisted, then passed on the retry.
    _fl_grey() {   # FROM TO [--header ...]: send, retry after the delay
        pf_send "$@" && { fail "an unpaid message from $1 was accepted at once"; return 1; }
        pf_transcript | grep -q '^<\*\* *451[ -]4\.7\.1 Greylisted' ||
            { fail "no 451 Greylisted for $1"; show_logs; return 1; }
        sleep 3
        pf_send "$@" || { fail "the retry from $1 after the delay was refused"; show_logs; return 1; }
    }
    _fl_grey carol@sender.example grey@example.test --header 'Subject: greylisted'
    _fl_m=$(pf_wait_delivered grey@example.test 20) || { fail "nothing delivered to grey"; finish; }
    cp "$_fl_m" "$TMP/grey.eml"

    # 3. Forged: the sender writes postaged's header itself, three times
    #    (then in lower case, then with a space before the colon, which
    #    Postfix takes for the same name), all saying a 30-bit stamp paid.
    _fl_forged="$FILTERS_HOST; price=$FILTERS_PRICE; reputation=unknown; stamps=1; replayed=0; invalid=0; rcpt=<forged@example.test> paid 30/$FILTERS_PRICE"
    _fl_grey mallory@sender.example forged@example.test --header 'Subject: forged' \
        --header "X-Postage-Result: $_fl_forged" \
        --swaks-opt --add-header --swaks-opt "x-postage-result: $_fl_forged" \
        --swaks-opt --add-header --swaks-opt "X-Postage-Result : $_fl_forged"
    expect_eq "forged headers sent" 3 "$(pf_transcript | grep -ci '^ -> X-Postage-Result *: .*paid 30/')"
    _fl_m=$(pf_wait_delivered forged@example.test 20) || { fail "nothing delivered to forged"; finish; }
    cp "$_fl_m" "$TMP/forged.eml"

    pf_stop
    postaged_stop

    # Each carries exactly one X-Postage-Result, postaged's, and the forged
    # text is gone.
    for _fl_f in paid paid2 grey forged; do
        expect_eq "X-Postage-Result headers in $_fl_f.eml" 1 \
            "$(grep -ci '^X-Postage-Result:' "$TMP/$_fl_f.eml")"
    done
    grep -q "^X-Postage-Result: $FILTERS_HOST; price=$FILTERS_PRICE; .*; rcpt=<grey@example.test> greylist-passed\$" \
        "$TMP/grey.eml" || { fail "grey.eml does not say greylist-passed"; grep -i '^X-Postage' "$TMP/grey.eml" >&2; }
    grep -q "^X-Postage-Result: $FILTERS_HOST; price=$FILTERS_PRICE; .*; rcpt=<forged@example.test> greylist-passed\$" \
        "$TMP/forged.eml" || { fail "forged.eml does not carry postaged's own header"; grep -i '^X-Postage' "$TMP/forged.eml" >&2; }
    grep -qi 'paid 30/' "$TMP/forged.eml" &&
        fail "a forged X-Postage-Result reached the recipient: $(grep -i 'paid 30/' "$TMP/forged.eml")"
    grep -q 'milter: .*removed 3 incoming X-Postage-' "$TMP/postaged.log" ||
        fail "postaged did not log removing the three forged headers"
}

# filters_band BITS: the name suffix and score of the paid rule for BITS
# (contrib/spamassassin/60_postage.cf; contrib/rspamd/postage.lua scales
# the same scores).
filters_band() {
    if [ "$1" -ge 26 ]; then echo "HIGH -5.0"
    elif [ "$1" -ge 20 ]; then
        case $1 in 20) echo "20 -0.5" ;; 21) echo "21 -0.7" ;; 22) echo "22 -1.0" ;;
            23) echo "23 -2.0" ;; 24) echo "24 -3.0" ;; 25) echo "25 -4.0" ;; esac
    elif [ "$1" -ge 16 ]; then echo "16 -0.3"
    else echo "none 0"
    fi
}
