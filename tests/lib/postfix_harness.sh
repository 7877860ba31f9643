# postfix_harness.sh - run a PRIVATE Postfix instance for end-to-end tests
# (sourced, not run; POSIX sh: works under dash and bash).  Source it after
# testlib.sh:
#
#     . "${top_srcdir:-.}/tests/lib/testlib.sh"
#     . "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
#     pf_start --policy 127.0.0.1:$port     # skips (77) if Postfix can't run
#     pf_send a@example.org bob@example.test --header 'Subject: hi'
#     msg=$(pf_wait_delivered bob@example.test 10) || { pf_log; fail ...; }
#     grep -q '^X-Greylist:' "$msg"
#
# Several instances at once (a sending and a receiving Postfix): each has a
# name, and every function works on the instance selected last with
# pf_use (or pf_start --instance).  The first one is "default", which lives
# in $TMP/postfix as it always did, so a test that never names an instance
# sees exactly one:
#
#     pf_start --instance rx --policy ... --milter ...    # the receiver
#     rx_port=$PF_PORT
#     pf_start --instance tx --domain origin.test --relay "127.0.0.1:$rx_port" \
#         --sasl alice:secret --non-smtpd-milter 127.0.0.1:9999
#     pf_sendmail -t < message      # submitted locally to tx
#     pf_use rx; pf_wait_delivered bob@example.test
#
# Everything lives under $TMP/postfix (config, queue, data, mail, log), so
# the system Postfix (/etc/postfix, /var/spool/postfix) is never read or
# written, apart from the read-only files Postfix itself needs from
# meta_directory (= /etc/postfix: postfix-files, dynamicmaps.cf).  The
# system main.cf does not even have to exist.
#
# Functions (all return non-zero on failure; none exits except pf_start,
# which calls testlib's skip when Postfix cannot be run at all):
#
#   pf_use NAME                 select instance NAME (letters, digits, _):
#                               the PF_* variables then describe it, and
#                               every function below works on it.  A NAME
#                               not started yet starts out empty (PF_DOMAIN
#                               example.test).  PF_INSTANCE is its name.
#   pf_start [options]          create and start the selected instance;
#                               sets PF_PORT, PF_DIR ($TMP/postfix, or
#                               $TMP/postfix-NAME for another than
#                               "default"), PF_CONF, PF_MAIL, PF_LOG,
#                               PF_MASTER_PID.  Options:
#       --instance NAME         pf_use NAME first (must come first)
#       --policy SPEC           check_policy_service SPEC in
#                               smtpd_recipient_restrictions (SPEC is PORT,
#                               HOST:PORT, inet:HOST:PORT or unix:PATH);
#                               repeatable, in order
#       --policy-eod SPEC       the same in smtpd_end_of_data_restrictions
#       --policy-default-action A   smtpd_policy_service_default_action
#       --milter SPEC           add to smtpd_milters (PORT, HOST:PORT,
#                               inet:HOST:PORT or unix:PATH); repeatable
#       --milter-default-action A   milter_default_action (tempfail...)
#       --recipient-restrictions 'LIST'  replace the whole
#                               smtpd_recipient_restrictions (then --policy
#                               is not added there)
#       --domain D              the delivery domain (default example.test);
#                               repeatable: every one given is delivered,
#                               the first is PF_DOMAIN (myhostname mx.D)
#       --ipv6                  also listen on [::1]:$PF_PORT
#       --relay HOST:PORT       mail for every other domain goes out by SMTP
#                               to HOST:PORT (relayhost = [HOST]:PORT, no
#                               DNS) instead of bouncing; the smtp client
#                               says HELO $myhostname unless -o sets
#                               smtp_helo_name
#       --non-smtpd-milter SPEC add to non_smtpd_milters, the milters of
#                               mail submitted with pf_sendmail; repeatable
#       --sasl USER:PASSWORD    accept SMTP AUTH (PLAIN, LOGIN) for USER
#                               (repeatable): Cyrus SASL on a private
#                               sasldb under $PF_CONF/sasl; authenticated
#                               clients may relay.  Skips the test (77)
#                               without saslpasswd2 (sasl2-bin) or without
#                               Postfix's cyrus support
#       -o 'name = value'       any other main.cf setting; repeatable,
#                               applied last (so it wins: the harness's
#                               own line for that name is dropped)
#   pf_set 'name = value'...    change main.cf of the running instance and
#                               reload it (waits until the old smtpd
#                               processes have gone)
#   pf_stop                     stop the instance (postfix stop, then kill
#                               whatever of it is left, by PID); idempotent.
#   pf_stop_all                 pf_stop every instance.  Runs automatically
#                               at exit, pass or fail (testlib's at_exit),
#                               before $TMP is removed.
#   pf_send FROM TO [TO...] [--header 'N: v']... [--body TEXT]
#           [--helo NAME] [--quit-after STAGE] [--ipv6] [--swaks-opt OPT]...
#                               one SMTP transaction with swaks (FROM '<>'
#                               is the null sender; --header replaces a
#                               swaks default header of the same name:
#                               Subject, From, To, Date, Message-Id); returns
#                               swaks' status (0 = accepted, 24 = no RCPT
#                               accepted, 25/26 = DATA / end of data
#                               refused, ...); --ipv6 connects to [::1]
#                               (needs pf_start --ipv6); --auth USER PASS
#                               logs in first (AUTH PLAIN; see --sasl).
#                               The transcript is kept in $PF_TRANSCRIPT
#                               (one file per call).
#   pf_sendmail [ARG...]        Postfix's sendmail(1) for this instance
#                               (sendmail -C $PF_CONF ARG...), the message
#                               on stdin: local submission through postdrop
#                               and pickup, as a user's mail program does.
#                               PF_SENDMAIL is that command line, for a
#                               program that wants one.
#   pf_transcript               print the last transcript
#   pf_wait_delivered RCPT [TIMEOUT [COUNT]]
#                               wait (default 10 s) until COUNT (default 1)
#                               messages were delivered to RCPT; print the
#                               path of the newest one
#   pf_mail_for RCPT            print every message delivered to RCPT
#                               (oldest first, headers and body)
#   pf_mail_count RCPT          print how many were delivered to RCPT
#   pf_queue_count              messages still in the queue (any state)
#   pf_deferred_count           messages in the deferred queue
#   pf_wait_log REGEX [TIMEOUT [COUNT]]
#                               wait (default 10 s) until COUNT (default 1)
#                               lines of the maillog match the extended
#                               regular expression REGEX
#   pf_log                      print the private maillog
#   pf_pids                     PIDs of all processes of the instance
#
# Ports, waiting for a listener and killing helper processes at exit are
# the toolkit's (testlib.sh: free_port, wait_listen, kill_at_exit).
#
# Delivery: example.test (--domain) is a virtual_mailbox_domain whose
# virtual_mailbox_maps (regexp:) accepts any local part without "/", and
# whose virtual_transport is a pipe(8) service "testmail" that runs
# $PF_CONF/deliver as nobody, one recipient at a time: the message, with
# Delivered-To: and Return-Path: added, becomes one file in
# $PF_MAIL/example.test/USER/new/ (names: seconds.nanoseconds.pid, so they
# sort in delivery order; addresses folded to lower case).  virtual(8) is
# not used because it refuses $1 substitution from a regexp map, so it
# cannot give arbitrary recipients their own maildir.  Other domains are
# rejected (reject_unauth_destination, no relaying); nothing ever leaves the
# machine (default_transport is error:, DNS is disabled).
#
# Settings needed to run Postfix without a system-wide configuration
# (Postfix 3.7 on Debian 12, should work from 3.4 on):
#   - `postfix -c DIR` as root: only the set-gid commands (postdrop,
#     postqueue) would need DIR in alternate_config_directories of the
#     DEFAULT main.cf; we never call them (mail arrives by SMTP, the queue is
#     inspected with find), so /etc/postfix/main.cf is not needed.
#   - data_directory must belong to mail_owner (master creates master.lock
#     there as postfix: "open lock file ... Permission denied" otherwise).
#   - mail_owner = postfix, setgid_group = postdrop (from the package);
#     `postfix start` runs post-install create-missing, which makes the
#     queue subdirectories with the right owners in our queue_directory.
#   - The daemons run as `postfix` and chdir to queue_directory, so every
#     directory above it must be searchable: $TMP (mktemp, 0700) is made
#     0711.  The mail tree is owned by nobody (uid 65534), the pipe(8)
#     user= (pipe refuses to run commands as root or as mail_owner).
#   - maillog_file = $PF_DIR/maillog needs the postlog service in master.cf
#     (postlogd, Postfix 3.4+) and a matching maillog_file_prefixes; with it
#     nothing goes to syslog (there is no syslogd in the container anyway).
#   - chroot is "n" for every service (no copies of /etc files needed).
#   - compatibility_level = 3.6 (when Postfix >= 3.6, else 2) silences the
#     backwards-compatibility warnings.
#   - No DNS: smtp_dns_support_level = disabled, smtpd_peername_lookup = no
#     (3.7+; the client name is then "unknown"), myhostname set explicitly.
#   - import_environment is left at its default: it already passes
#     MAIL_CONFIG, which is also how pf_pids recognises our processes.
#   - smtpd_error_sleep_time = 0 and in_flow_delay = 0, so a deferred or
#     rejected RCPT does not make the test sleep.
#   - Policy client: smtpd_policy_service_timeout = 5s, try_limit = 1,
#     max_idle = 10s (override with -o).  Milter timeouts 5s/10s/10s.
#   - --relay: smtp(8) services "smtp" and "relay" in master.cf (always
#     there, unused without --relay); with DNS disabled relayhost is an
#     address literal in brackets.  A deferred message waits
#     minimal_backoff_time (300 s by default) before its next try, so a
#     test sees one attempt.
#   - --sasl: smtpd_sasl_type = cyrus, smtpd_sasl_path = smtpd and
#     cyrus_sasl_config_path = $PF_CONF/sasl, whose smtpd.conf says
#     pwcheck_method: auxprop, auxprop_plugin: sasldb, mech_list: PLAIN
#     LOGIN, sasldb_path: $PF_CONF/sasl/sasldb2; the file is root:postfix
#     0640 (smtpd runs as postfix, not chrooted).  The directory is
#     under config_directory because Debian's Postfix looks there
#     ($config_directory/sasl) whatever cyrus_sasl_config_path says: with
#     it elsewhere, smtpd silently used /etc/sasldb2.  Users are made with
#     saslpasswd2 in the realm $myhostname (smtpd_sasl_local_domain), so
#     a client logs in with the bare USER.
#   - pf_sendmail: sendmail -C runs postdrop with our configuration; as
#     root that needs no alternate_config_directories (postdrop checks it
#     only for other users).

PF_DOMAIN=example.test
PF_DIR='' PF_CONF='' PF_MAIL='' PF_LOG='' PF_PORT=''
PF_MASTER_PID=
PF_STARTED=
PF_SEND_SEQ=0
PF_TRANSCRIPT=
PF_SENDMAIL=
PF_INSTANCE=default
_pf_trap_installed=
_pf_wd_pid=
# What one instance is: saved as _pfi_NAME_VAR while another is selected.
_pf_inst_vars='PF_DOMAIN PF_DIR PF_CONF PF_MAIL PF_LOG PF_PORT PF_MASTER_PID PF_STARTED PF_SENDMAIL _pf_wd_pid'
# every instance ever selected, so that pf_stop_all misses none
_pf_instances=default

# --- small helpers ----------------------------------------------------------

# _pf_port_free PORT HOST: true if PORT can be bound on HOST.
_pf_port_free() {
    python3 -S - "$1" "$2" <<'EOF' 2>/dev/null
import socket, sys
port, host = int(sys.argv[1]), sys.argv[2]
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((host, port))
except OSError:
    sys.exit(1)
EOF
}

# _pf_spec KIND SPEC: normalise PORT / HOST:PORT / inet:... / unix:...
_pf_spec() {
    case $2 in
        inet:* | unix:*) echo "$2" ;;
        *[!0-9]*) echo "inet:$2" ;;
        *) echo "inet:127.0.0.1:$2" ;;
    esac
}

# pf_pids: every process that belongs to the instance: the recorded master
# and its children, plus anything whose environment carries our MAIL_CONFIG
# (master exports it to all daemons, see import_environment).
pf_pids() {
    [ -n "${PF_CONF:-}" ] || return 0
    {
        if [ -n "$PF_MASTER_PID" ] && kill -0 "$PF_MASTER_PID" 2>/dev/null; then
            echo "$PF_MASTER_PID"
            ps -o pid= --ppid "$PF_MASTER_PID" 2>/dev/null
        fi
        grep -lzxF "MAIL_CONFIG=$PF_CONF" /proc/[0-9]*/environ 2>/dev/null |
            sed 's|^/proc/\([0-9]*\)/environ$|\1|'
    } | tr -d ' ' | grep -v "^$$\$" | sort -un
}

# --- instances --------------------------------------------------------------

pf_use() {
    case ${1:-} in
        '' | *[!A-Za-z0-9_]*) echo "pf_use: bad instance name '${1:-}'" >&2; return 2 ;;
    esac
    [ "$1" = "$PF_INSTANCE" ] && return 0
    for _pf_v in $_pf_inst_vars; do
        eval "_pfi_${PF_INSTANCE}_$_pf_v=\$$_pf_v"
    done
    PF_INSTANCE=$1
    case " $_pf_instances " in
        *" $1 "*)
            for _pf_v in $_pf_inst_vars; do
                eval "$_pf_v=\$_pfi_${1}_$_pf_v"
            done ;;
        *)
            _pf_instances="$_pf_instances $1"
            PF_DOMAIN=example.test
            PF_DIR='' PF_CONF='' PF_MAIL='' PF_LOG='' PF_PORT=''
            PF_MASTER_PID='' PF_STARTED='' PF_SENDMAIL='' _pf_wd_pid='' ;;
    esac
    return 0
}

# --- exit handling ----------------------------------------------------------

pf_stop_all() {
    _pf_was=$PF_INSTANCE
    for _pf_i in $_pf_instances; do
        pf_use "$_pf_i"
        pf_stop
    done
    pf_use "$_pf_was"
}

# At exit, pass or fail, stop every instance while $TMP still exists.
_pf_install_trap() {
    [ -n "$_pf_trap_installed" ] && return 0
    _pf_trap_installed=1
    at_exit 'pf_stop_all >/dev/null 2>&1'
}

# --- start / stop -----------------------------------------------------------

pf_start() {
    _pf_policy='' _pf_policy_eod='' _pf_milters='' _pf_rr='' _pf_rr_set='' _pf_ipv6=''
    _pf_pda='' _pf_mda='' _pf_relay='' _pf_ns_milters='' _pf_sasl='' _pf_domains=''
    if [ "${1:-}" = --instance ]; then
        pf_use "${2:-}" || return 2
        shift 2
    fi
    _pf_extra=${TMP:?testlib.sh must be sourced first}/.pf_extra
    [ "$PF_INSTANCE" = default ] || _pf_extra=$_pf_extra.$PF_INSTANCE
    : > "$_pf_extra"
    while [ $# -gt 0 ]; do
        case $1 in
            --instance) echo "pf_start: --instance must come first" >&2; return 2 ;;
            --relay) _pf_relay=$2; shift ;;
            --non-smtpd-milter) _pf_ns_milters="$_pf_ns_milters $(_pf_spec m "$2")" ; shift ;;
            --sasl) _pf_sasl="$_pf_sasl $2"; shift ;;
            --policy) _pf_policy="$_pf_policy check_policy_service $(_pf_spec p "$2")," ; shift ;;
            --policy-eod) _pf_policy_eod="$_pf_policy_eod check_policy_service $(_pf_spec p "$2")," ; shift ;;
            --policy-default-action) _pf_pda=$2; shift ;;
            --milter) _pf_milters="$_pf_milters $(_pf_spec m "$2")" ; shift ;;
            --milter-default-action) _pf_mda=$2; shift ;;
            --recipient-restrictions) _pf_rr=$2; _pf_rr_set=1; shift ;;
            --domain) [ -n "$_pf_domains" ] || PF_DOMAIN=$2
                      _pf_domains="$_pf_domains $2"; shift ;;
            --ipv6) _pf_ipv6=1 ;;
            -o) printf '%s\n' "$2" >> "$_pf_extra"; shift ;;
            *) echo "pf_start: unknown option $1" >&2; return 2 ;;
        esac
        shift
    done

    [ "$(id -u)" = 0 ] || skip "the private Postfix instance must be started as root"
    command -v postfix >/dev/null 2>&1 && command -v postconf >/dev/null 2>&1 ||
        skip "Postfix is not installed (apt-get install postfix)"
    command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"
    command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the harness"
    id postfix >/dev/null 2>&1 || skip "no user postfix"
    getent group postdrop >/dev/null 2>&1 || skip "no group postdrop"
    _pf_ver=$(postconf -d -h mail_version 2>/dev/null) ||
        skip "postconf -d does not work"
    case $_pf_ver in
        2.* | 3.[0-3].*) skip "Postfix $_pf_ver is too old (maillog_file needs 3.4)" ;;
        3.[4-5].*) _pf_compat=2 ;;
        *) _pf_compat=3.6 ;;
    esac
    if [ -n "$_pf_sasl" ]; then
        command -v saslpasswd2 >/dev/null 2>&1 ||
            skip "saslpasswd2 is not installed (apt-get install sasl2-bin)"
        postconf -a 2>/dev/null | grep -qx cyrus ||
            skip "this Postfix has no Cyrus SASL support (postconf -a)"
    fi

    [ -n "$PF_STARTED" ] && pf_stop
    _pf_install_trap

    PF_DIR=$TMP/postfix
    [ "$PF_INSTANCE" = default ] || PF_DIR=$TMP/postfix-$PF_INSTANCE
    PF_CONF=$PF_DIR/etc
    PF_MAIL=$PF_DIR/mail
    PF_LOG=$PF_DIR/maillog
    rm -rf "$PF_DIR"
    chmod 711 "$TMP"
    mkdir -p "$PF_CONF" "$PF_DIR/spool" "$PF_DIR/data" "$PF_MAIL" || return 1
    chmod 755 "$PF_DIR" "$PF_CONF"
    chown postfix "$PF_DIR/data" && chmod 700 "$PF_DIR/data"
    chown 65534:65534 "$PF_MAIL" && chmod 700 "$PF_MAIL"
    : > "$PF_LOG"
    PF_SENDMAIL="$(postconf -d -h sendmail_path 2>/dev/null || echo /usr/sbin/sendmail) -C $PF_CONF"
    if [ -n "$_pf_sasl" ]; then
        _pf_write_sasl || return 1
    fi

    # A free port (also on ::1 with --ipv6).  The kernel's choice is free
    # now; another test may grab it before master binds, so pf_start tries
    # a few times.
    _pf_try=0
    while :; do
        _pf_try=$((_pf_try + 1))
        PF_PORT=$(free_port) || return 1
        if [ -n "$_pf_ipv6" ] && ! _pf_port_free "$PF_PORT" ::1; then
            [ $_pf_try -lt 20 ] && continue
            return 1
        fi
        _pf_write_config
        _pf_start_watchdog
        _pf_boot && break
        pf_stop >/dev/null 2>&1
        if [ $_pf_try -ge 3 ]; then
            echo "pf_start: Postfix did not start; its log:" >&2
            pf_log >&2
            return 1
        fi
    done
    PF_STARTED=1
    return 0
}

_pf_write_config() {
    [ -n "$_pf_domains" ] || _pf_domains=$PF_DOMAIN
    # Recipient validation for smtpd: any user@DOMAIN without "/".  The
    # "%" delimiter because "/" occurs in the pattern ("!" would negate).
    : > "$PF_CONF/vmailbox"
    for _pf_d in $_pf_domains; do
        _pf_esc_domain=$(printf '%s' "$_pf_d" | sed 's/[.]/\\./g')
        printf '%%^[^/@]+@%s$%%\tOK\n' "$_pf_esc_domain" >> "$PF_CONF/vmailbox"
    done
    # Delivery by pipe(8) as nobody to $PF_MAIL/DOMAIN/LOCALPART/new/FILE.
    # (virtual(8) would refuse a regexp map with $1 substitution, so it
    # could not give every recipient its own maildir.)
    cat > "$PF_CONF/deliver" <<EOF
#!/bin/sh
# pipe(8) delivery for the test instance: \$1 = recipient (folded to lower
# case by flags=hu); the message (with Delivered-To:, Return-Path:) on stdin.
rcpt=\$1
case \$rcpt in */* | .@* | ..@* | *@*@* | "") exit 67 ;; esac
dir=$PF_MAIL/\${rcpt#*@}/\${rcpt%@*}
mkdir -p "\$dir/tmp" "\$dir/new" || exit 75
f=\$(date +%s.%N).\$\$
cat > "\$dir/tmp/\$f" || exit 75
mv "\$dir/tmp/\$f" "\$dir/new/\$f" || exit 75
EOF
    chmod 755 "$PF_CONF/deliver"
    if [ -z "$_pf_rr_set" ]; then
        _pf_rr="${_pf_policy% ,}"
        _pf_rr=${_pf_rr%,}
    fi
    _pf_eod=${_pf_policy_eod%,}
    _pf_protocols=ipv4
    [ -n "$_pf_ipv6" ] && _pf_protocols=all
    _pf_default_transport='error:5.3.0 outbound mail is disabled in the test instance'
    _pf_relay_rr=reject_unauth_destination
    [ -n "$_pf_relay" ] && _pf_default_transport=smtp
    [ -n "$_pf_sasl" ] && _pf_relay_rr="permit_sasl_authenticated, $_pf_relay_rr"
    cat > "$PF_CONF/main.cf" <<EOF
# private test instance generated by tests/lib/postfix_harness.sh
compatibility_level = $_pf_compat
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
syslog_name = postfix-test
myhostname = mx.$PF_DOMAIN
mydomain = $PF_DOMAIN
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
mynetworks = 127.0.0.0/8 [::1]/128
inet_interfaces = loopback-only
inet_protocols = $_pf_protocols
virtual_mailbox_domains = ${_pf_domains# }
virtual_mailbox_base = $PF_MAIL
virtual_mailbox_maps = regexp:$PF_CONF/vmailbox
virtual_transport = testmail
testmail_destination_recipient_limit = 1
default_transport = $_pf_default_transport
relay_transport = \$default_transport
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
in_flow_delay = 0
smtpd_error_sleep_time = 0
delay_warning_time = 0
smtpd_banner = \$myhostname ESMTP postage-test
smtpd_relay_restrictions = $_pf_relay_rr
smtpd_recipient_restrictions = $_pf_rr
smtpd_end_of_data_restrictions = $_pf_eod
smtpd_policy_service_timeout = 5s
smtpd_policy_service_max_idle = 10s
smtpd_policy_service_try_limit = 1
smtpd_policy_service_retry_delay = 1s
smtpd_milters =$_pf_milters
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 10s
EOF
    [ -n "$_pf_pda" ] && echo "smtpd_policy_service_default_action = $_pf_pda" >> "$PF_CONF/main.cf"
    [ -n "$_pf_mda" ] && echo "milter_default_action = $_pf_mda" >> "$PF_CONF/main.cf"
    [ -n "$_pf_ns_milters" ] && echo "non_smtpd_milters =$_pf_ns_milters" >> "$PF_CONF/main.cf"
    if [ -n "$_pf_relay" ]; then
        cat >> "$PF_CONF/main.cf" <<EOF
relayhost = [${_pf_relay%:*}]:${_pf_relay##*:}
smtp_helo_name = \$myhostname
EOF
    fi
    if [ -n "$_pf_sasl" ]; then
        cat >> "$PF_CONF/main.cf" <<EOF
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PF_CONF/sasl
smtpd_sasl_local_domain = \$myhostname
smtpd_sasl_security_options = noanonymous
EOF
    fi
    # A name given twice makes every Postfix process warn (and the last
    # wins anyway), so a name set with -o loses the harness's own line.
    while IFS= read -r _pf_line; do
        _pf_name=$(printf '%s\n' "$_pf_line" | sed -n 's/^\([A-Za-z0-9_]*\)[ \t]*=.*/\1/p')
        [ -n "$_pf_name" ] && sed -i "/^${_pf_name}[ \t]*=/d" "$PF_CONF/main.cf"
    done < "$_pf_extra"
    cat "$_pf_extra" >> "$PF_CONF/main.cf"

    # master.cf: no chroot anywhere; smtpd only on our loopback port(s).
    {
        echo "127.0.0.1:$PF_PORT inet n - n - - smtpd"
        [ -n "$_pf_ipv6" ] && echo "[::1]:$PF_PORT inet n - n - - smtpd"
        cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
EOF
        echo "testmail  unix  -       n       n       -       -       pipe flags=DRhu user=nobody argv=$PF_CONF/deliver \${recipient}"
        cat <<'EOF'
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    } > "$PF_CONF/master.cf"
}

# _pf_write_sasl: the private Cyrus SASL configuration and sasldb, one
# user per --sasl USER:PASSWORD, in the realm mx.$PF_DOMAIN (= myhostname
# = smtpd_sasl_local_domain).  smtpd (user postfix) must read the file.
_pf_write_sasl() {
    mkdir -p "$PF_CONF/sasl" || return 1
    cat > "$PF_CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $PF_CONF/sasl/sasldb2
EOF
    for _pf_up in $_pf_sasl; do
        printf '%s' "${_pf_up#*:}" |
            saslpasswd2 -p -c -f "$PF_CONF/sasl/sasldb2" -u "mx.$PF_DOMAIN" "${_pf_up%%:*}" ||
            { echo "pf_start: saslpasswd2 failed for ${_pf_up%%:*}" >&2; return 1; }
    done
    chown -R root:postfix "$PF_CONF/sasl" &&
        chmod 750 "$PF_CONF/sasl" && chmod 640 "$PF_CONF/sasl/smtpd.conf" "$PF_CONF/sasl/sasldb2"
}

# _pf_boot: postfix start, then wait for the master PID and the port.
_pf_boot() {
    if ! postfix -c "$PF_CONF" start >> "$PF_DIR/start.out" 2>&1; then
        cat "$PF_DIR/start.out" >&2
        return 1
    fi
    PF_MASTER_PID=
    i=0
    while [ $i -lt 100 ]; do
        if [ -s "$PF_DIR/spool/pid/master.pid" ]; then
            PF_MASTER_PID=$(tr -d ' \n' < "$PF_DIR/spool/pid/master.pid")
            [ -n "$PF_MASTER_PID" ] && kill -0 "$PF_MASTER_PID" 2>/dev/null && break
        fi
        nap 0.05; i=$((i + 1))
    done
    [ -n "$PF_MASTER_PID" ] || { echo "pf_start: no master.pid" >&2; return 1; }
    # master binds the port itself and spawns smtpd on demand (a bind
    # failure is fatal for master: "bind 127.0.0.1 port N: Address already
    # in use"; pf_start then tries another port)
    wait_listen "$PF_PORT" 20 "$PF_MASTER_PID"
}

# _pf_start_watchdog: if the test shell dies without running its EXIT trap
# (SIGKILL, e.g. a hard timeout), a background watchdog notices within a
# second and stops the instance, so no master is left running.  pf_stop
# kills the watchdog first.
_pf_start_watchdog() {
    # shellcheck disable=SC2016
    watchdog 'postfix -c "$PF_CONF" stop
        sleep 2
        grep -lzxF "MAIL_CONFIG=$PF_CONF" /proc/[0-9]*/environ |
            sed "s|^/proc/\([0-9]*\)/environ\$|\1|" | xargs -r kill -9'
    _pf_wd_pid=$WATCHDOG_PID
}

# pf_set 'name = value'...: postconf -e, then reload and wait until the
# smtpd processes started with the old configuration are gone (otherwise an
# idle old smtpd could still take the next connection).
pf_set() {
    [ -n "$PF_STARTED" ] || { echo "pf_set: instance not started" >&2; return 1; }
    for kv in "$@"; do
        postconf -c "$PF_CONF" -e "$kv" || return 1
    done
    _pf_old=$(ps -o pid=,comm= --ppid "$PF_MASTER_PID" | awk '$2 == "smtpd" {print $1}')
    postfix -c "$PF_CONF" reload >> "$PF_DIR/start.out" 2>&1 || return 1
    for p in $_pf_old; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do
            nap 0.05; i=$((i + 1))
        done
    done
    return 0
}

# pf_stop: stop the instance, pass or fail; kill leftovers by PID.
pf_stop() {
    [ -n "${PF_CONF:-}" ] || return 0
    if [ -n "$_pf_wd_pid" ]; then
        kill "$_pf_wd_pid" 2>/dev/null
        wait "$_pf_wd_pid" 2>/dev/null
        _pf_wd_pid=
    fi
    _pf_left=$(pf_pids)
    [ -n "$PF_STARTED$_pf_left" ] || return 0
    if [ -n "$PF_MASTER_PID" ] && kill -0 "$PF_MASTER_PID" 2>/dev/null; then
        postfix -c "$PF_CONF" stop >> "$PF_DIR/start.out" 2>&1
        i=0
        while kill -0 "$PF_MASTER_PID" 2>/dev/null && [ $i -lt 100 ]; do
            nap 0.05; i=$((i + 1))
        done
    fi
    # master sends TERM to its children; anything still around gets TERM,
    # then KILL
    _pf_left=$(pf_pids)
    [ -n "$_pf_left" ] && kill $_pf_left 2>/dev/null
    i=0
    while [ -n "$_pf_left" ] && [ $i -lt 40 ]; do
        nap 0.05; i=$((i + 1))
        _pf_left=$(pf_pids)
    done
    [ -n "$_pf_left" ] && kill -9 $_pf_left 2>/dev/null
    PF_STARTED=
    return 0
}

# --- sending ------------------------------------------------------------------

pf_send() {
    [ $# -ge 2 ] || { echo "usage: pf_send FROM TO [TO...] [options]" >&2; return 2; }
    _pf_from=$1; shift
    _pf_to=
    while [ $# -gt 0 ]; do
        case $1 in --*) break ;; esac
        _pf_to="${_pf_to:+$_pf_to,}$1"; shift
    done
    PF_SEND_SEQ=$((PF_SEND_SEQ + 1))
    PF_TRANSCRIPT=$PF_DIR/send.$PF_SEND_SEQ.txt
    _pf_helo=client.example.org
    _pf_server=127.0.0.1
    # build swaks' argument list in "$@" after the options
    _pf_n=$#
    while [ $_pf_n -gt 0 ]; do
        case $1 in
            --header) set -- "$@" --header "$2"; shift 2; _pf_n=$((_pf_n - 2)) ;;
            --body) set -- "$@" --body "$2"; shift 2; _pf_n=$((_pf_n - 2)) ;;
            --helo) _pf_helo=$2; shift 2; _pf_n=$((_pf_n - 2)) ;;
            --ipv6) _pf_server=::1; set -- "$@" -6; shift; _pf_n=$((_pf_n - 1)) ;;
            --quit-after) set -- "$@" --quit-after "$2"; shift 2; _pf_n=$((_pf_n - 2)) ;;
            --swaks-opt) set -- "$@" "$2"; shift 2; _pf_n=$((_pf_n - 2)) ;;
            --auth) set -- "$@" --auth PLAIN --auth-user "$2" --auth-password "$3"
                    shift 3; _pf_n=$((_pf_n - 3)) ;;
            *) echo "pf_send: unknown option $1" >&2; return 2 ;;
        esac
    done
    swaks --server "$_pf_server" --port "$PF_PORT" --helo "$_pf_helo" \
        --from "$_pf_from" --to "$_pf_to" --timeout 30 "$@" \
        > "$PF_TRANSCRIPT" 2>&1 < /dev/null
}

pf_transcript() { [ -n "$PF_TRANSCRIPT" ] && cat "$PF_TRANSCRIPT"; }

pf_sendmail() {
    [ -n "$PF_STARTED" ] || { echo "pf_sendmail: instance $PF_INSTANCE not started" >&2; return 1; }
    # shellcheck disable=SC2086
    $PF_SENDMAIL "$@"
}

# --- delivered mail -----------------------------------------------------------

_pf_maildir() {
    _pf_a=$(printf '%s' "$1" | tr 'A-Z' 'a-z')
    echo "$PF_MAIL/${_pf_a#*@}/${_pf_a%@*}"
}

# newest last
_pf_messages() {
    _pf_md=$(_pf_maildir "$1")
    [ -d "$_pf_md/new" ] || return 0
    # file names start with the delivery time (seconds.nanoseconds)
    LC_ALL=C ls -1 "$_pf_md/new" 2>/dev/null | sed "s|^|$_pf_md/new/|"
}

pf_mail_count() { _pf_messages "$1" | grep -c . ; }

pf_wait_delivered() {
    _pf_limit=${2:-10}
    _pf_want=${3:-1}
    _pf_end=$(( $(date +%s) + _pf_limit ))
    while :; do
        if [ "$(pf_mail_count "$1")" -ge "$_pf_want" ]; then
            _pf_messages "$1" | tail -n 1
            return 0
        fi
        [ "$(date +%s)" -gt "$_pf_end" ] && return 1
        nap 0.1
    done
}

pf_mail_for() {
    _pf_messages "$1" | while read -r _pf_m; do
        echo "==> $_pf_m <=="
        cat "$_pf_m"
    done
}

pf_queue_count() {
    find "$PF_DIR/spool/incoming" "$PF_DIR/spool/active" \
        "$PF_DIR/spool/deferred" "$PF_DIR/spool/hold" "$PF_DIR/spool/maildrop" \
        -type f 2>/dev/null | grep -c .
}

pf_deferred_count() {
    find "$PF_DIR/spool/deferred" -type f 2>/dev/null | grep -c .
}

pf_wait_log() {
    _pf_limit=${2:-10}
    _pf_want=${3:-1}
    _pf_end=$(( $(date +%s) + _pf_limit ))
    while [ "$(grep -cE -e "$1" "$PF_LOG" 2>/dev/null)" -lt "$_pf_want" ]; do
        [ "$(date +%s)" -gt "$_pf_end" ] && return 1
        nap 0.1
    done
    return 0
}

pf_log() {
    echo "----- private Postfix log ($PF_LOG) -----"
    cat "$PF_LOG" 2>/dev/null
    [ -s "$PF_DIR/start.out" ] && { echo "----- postfix start/stop output -----"; cat "$PF_DIR/start.out"; }
    echo "----- end of log -----"
}
