/*
 * request.h - the Postfix SMTPD policy protocol (policy delegation,
 * shared/spec/mail-policy.md section 1) as pure functions: an incremental
 * parser that turns bytes from a socket into requests, and a formatter for
 * the one-line reply.  No I/O happens here; the daemon owns the sockets.
 */
#ifndef POSTAGE_POLICY_REQUEST_H
#define POSTAGE_POLICY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/checks/verdict.h"

/*
 * Bounds on what one peer may make us hold.  Postfix's values are short
 * (postgrey truncates at 512), so these leave generous room for real
 * traffic while keeping one connection's state to about 20 KiB.
 *
 * PD_REQ_LINE_MAX  bytes in one "name=value" line, not counting its LF or
 *                  CRLF terminator.
 * PD_REQ_ATTRS_MAX attribute lines in one request, known or unknown,
 *                  repeated lines counted each time (Postfix 3.7 sends 30).
 * PD_REQ_SIZE_MAX  bytes in one request, counting every terminator and the
 *                  empty line that ends the request.
 */
#define PD_REQ_LINE_MAX 2048
#define PD_REQ_ATTRS_MAX 64
#define PD_REQ_SIZE_MAX 16384

/* Every stored value plus its NUL fits in the bytes that carried it, so an
 * arena the size of a request can never overflow; the extra byte is the
 * shared empty string that absent attributes point to. */
#define PD_REQ_ARENA_SIZE (PD_REQ_SIZE_MAX + 1)

/* Room for any reply pd_response_format() or pd_response_format_prepend()
 * can produce, including the terminating NUL. */
#define PD_RESPONSE_MAX (sizeof "action=DISCARD " - 1 + PD_TEXT_MAX + 3)

enum pd_protocol_state {
    PD_STATE_UNKNOWN = 0,   /* absent, or a value Postfix 3.7 does not send */
    PD_STATE_CONNECT,
    PD_STATE_EHLO,
    PD_STATE_HELO,
    PD_STATE_MAIL,
    PD_STATE_RCPT,
    PD_STATE_DATA,          /* also BDAT (Postfix 3.4+) */
    PD_STATE_END_OF_MESSAGE,
    PD_STATE_VRFY,
    PD_STATE_ETRN
};

/*
 * One parsed request.  Every string is NUL-terminated and never NULL: an
 * absent attribute reads as "".  The strings live in `arena`, inside the
 * struct, so a request must be copied with pd_request_copy() and never by
 * assignment or memcpy (the copy's pointers would still point into the
 * original).  Values are exactly as Postfix sent them (ccert_* are xtext,
 * nothing is decoded or case-folded); CR is stripped only as part of a
 * CRLF terminator.
 *
 * When a name repeats within one request, the LAST value wins: the
 * protocol allows either, and last-wins lets a proxy append overrides.
 */
struct pd_request {
    const char *request;
    const char *protocol_state;
    const char *protocol_name;
    const char *helo_name;
    const char *queue_id;
    const char *sender;
    const char *recipient;
    const char *recipient_count;
    const char *client_address;
    const char *client_name;
    const char *reverse_client_name;
    const char *instance;
    const char *sasl_method;
    const char *sasl_username;
    const char *sasl_sender;
    const char *size;
    const char *ccert_subject;
    const char *ccert_fingerprint;
    const char *encryption_protocol;
    const char *stress;
    const char *client_port;
    const char *policy_context;
    const char *server_address;
    const char *server_port;

    enum pd_protocol_state state;    /* protocol_state, case-insensitive */

    /* Numbers are parsed strictly (decimal digits only, no sign, no
     * spaces, no overflow).  Absent or empty reads as 0 and is not
     * malformed; anything else that is not a number reads as 0 with the
     * flag set, so a module can tell "0" from "garbage". */
    uint32_t recipient_count_value;
    bool recipient_count_malformed;
    uint64_t size_value;
    bool size_malformed;

    size_t arena_used;
    char arena[PD_REQ_ARENA_SIZE];
};

/* Copy a request, pointing the copy's strings into the copy's arena. */
void pd_request_copy(struct pd_request *dst, const struct pd_request *src);

/* Name of a protocol state as Postfix spells it ("END-OF-MESSAGE"), or
 * "unknown". */
const char *pd_protocol_state_name(enum pd_protocol_state state);

/*
 * What pd_req_feed() reports.  The FRAMING errors mean the peer is not
 * speaking the protocol (or is hostile): the parser refuses further input
 * and the caller must log pd_req_parser_error() and close the connection
 * without a reply, which is what Postfix expects from a server in trouble
 * (it retries, then applies smtpd_policy_service_default_action).
 * The SEMANTIC errors concern a well-framed request: it has been consumed
 * whole, the parser is ready for the next one, and the caller may answer
 * (e.g. DUNNO) and carry on.
 */
enum pd_req_status {
    PD_REQ_MORE = 0,           /* all input consumed, request incomplete   */
    PD_REQ_READY,              /* one request complete in *out             */

    /* framing: drop the connection */
    PD_REQ_ERR_LINE_TOO_LONG,
    PD_REQ_ERR_TOO_MANY_ATTRS,
    PD_REQ_ERR_TOO_LARGE,
    PD_REQ_ERR_NUL_BYTE,
    PD_REQ_ERR_NO_EQUALS,
    PD_REQ_ERR_EMPTY_NAME,

    /* semantic: answer and continue */
    PD_REQ_ERR_NO_REQUEST,     /* no request= attribute                    */
    PD_REQ_ERR_WRONG_REQUEST   /* request= other than smtpd_access_policy  */
};

/* True for the statuses after which the connection must be dropped. */
bool pd_req_status_is_framing_error(enum pd_req_status status);

#define PD_REQ_ERROR_MAX 160

/*
 * Incremental parser state for one connection.  Its fields are private;
 * it is a plain struct only so that it can live inside a connection
 * object without a separate allocation.
 */
struct pd_req_parser {
    char line[PD_REQ_LINE_MAX + 1];   /* +1: a CR that may precede LF */
    size_t line_len;
    size_t request_bytes;
    unsigned line_number;             /* 1-based, within the request */
    unsigned attribute_count;
    bool failed;
    enum pd_req_status failure;
    char error[PD_REQ_ERROR_MAX];
    struct pd_request building;
};

void pd_req_parser_init(struct pd_req_parser *parser);

/*
 * Feed bytes as they arrive; any split is fine, including inside a line
 * or between CR and LF.  Consumes input up to the end of at most one
 * request and stores in *consumed how many bytes it used:
 *
 *   PD_REQ_MORE   every byte was consumed; feed more when it arrives.
 *   PD_REQ_READY  *out holds a request; call again with the
 *                 len - *consumed bytes that remain (they may hold the
 *                 next request: Postfix may pipeline).
 *   semantic error  as READY (the request is in *out, for logging), but
 *                 it is not one to decide on.
 *   framing error the parser is dead; every later call returns the same
 *                 error and consumes nothing until pd_req_parser_init().
 *
 * NUL anywhere, a line without '=', or an empty name is a framing error.
 * Non-UTF-8 bytes are accepted as they are (Postfix may send xtext and
 * raw 8-bit HELO names).  Unknown attributes are counted and ignored.
 * An empty line with no attributes before it is an empty request and is
 * reported as PD_REQ_ERR_NO_REQUEST.
 */
enum pd_req_status pd_req_feed(struct pd_req_parser *parser, const char *data,
                               size_t len, size_t *consumed,
                               struct pd_request *out);

/* Why the last call failed, naming the line and the problem (printable
 * ASCII only, safe to log); "" after success. */
const char *pd_req_parser_error(const struct pd_req_parser *parser);

/*
 * Format the reply to a request: "action=<ACTION>[ <text>]\n\n", NUL-
 * terminated in buf (PD_RESPONSE_MAX bytes always suffice).  Returns the
 * length without the NUL, or 0 if cap is too small (buf is then "").
 *
 * The text is made safe for one protocol line: CR, LF, NUL and every other
 * control byte become a space, it is read only up to PD_TEXT_MAX - 1 bytes
 * even if not terminated, and surrounding spaces are trimmed.  DUNNO and
 * OK carry no text (Postfix ignores it there).  A text that begins with a
 * reply code of the right class (5xx for REJECT, 4xx for DEFER) is sent
 * in Postfix's numeric form, "action=451 4.7.1 Greylisted", so the code
 * reaches the client; a code of the wrong class, or any code on HOLD or
 * DISCARD, is dropped and the action word is kept, because the action is
 * what the module decided.
 *
 * Postfix accepts exactly ONE action per reply.  Adding a header is itself
 * an action (PREPEND), which the engine sends INSTEAD of DUNNO when every
 * module passed and one asked for a header; use pd_response_format_prepend
 * for that.  PREPEND is not allowed at END-OF-MESSAGE (Postfix refuses it
 * in smtpd_end_of_data_restrictions), which is the engine's to respect.
 */
size_t pd_response_format(const struct pd_verdict *verdict, char *buf,
                          size_t cap);

/*
 * Format "action=PREPEND <name>: <value>\n\n".  The name must be 1..76
 * printable ASCII characters other than ':' (RFC 5322 field-name); the
 * value (NULL reads as "") is sanitised as reply text is and bounded so
 * that the header stays under PD_TEXT_MAX bytes; an empty one gives
 * "Name:".  Returns the length, or 0 if the name is
 * invalid or cap too small (buf is then "").
 */
size_t pd_response_format_prepend(const char *name, const char *value,
                                  char *buf, size_t cap);

#endif
