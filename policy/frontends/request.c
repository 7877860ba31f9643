/*
 * request.c - the Postfix policy protocol codec: a byte-at-a-time parser
 * that survives any split of its input and any hostile content within the
 * bounds in request.h, and the formatter of the single-line reply.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/frontends/request.h"

/* ---- attributes postaged keeps ---------------------------------------- */

struct known_attribute {
    const char *name;
    size_t offset;   /* of the const char * member in struct pd_request */
};

#define KNOWN(member) { #member, offsetof(struct pd_request, member) }

static const struct known_attribute known_attributes[] = {
    KNOWN(request), KNOWN(protocol_state), KNOWN(protocol_name),
    KNOWN(helo_name), KNOWN(queue_id), KNOWN(sender), KNOWN(recipient),
    KNOWN(recipient_count), KNOWN(client_address), KNOWN(client_name),
    KNOWN(reverse_client_name), KNOWN(instance), KNOWN(sasl_method),
    KNOWN(sasl_username), KNOWN(sasl_sender), KNOWN(size),
    KNOWN(ccert_subject), KNOWN(ccert_fingerprint),
    KNOWN(encryption_protocol), KNOWN(stress), KNOWN(client_port),
    KNOWN(policy_context), KNOWN(server_address), KNOWN(server_port),
};

#define KNOWN_COUNT (sizeof known_attributes / sizeof known_attributes[0])

static const char **
string_slot(struct pd_request *request, size_t offset)
{
    return (const char **) (void *) ((char *) request + offset);
}

static const char *
string_at(const struct pd_request *request, size_t offset)
{
    return *(const char *const *) (const void *) ((const char *) request + offset);
}

/* Absent attributes share arena[0], which is always NUL, so that a
 * request's strings are never NULL and all of them live in its arena. */
static void
request_clear(struct pd_request *request)
{
    request->arena[0] = '\0';
    request->arena_used = 1;
    for (size_t i = 0; i < KNOWN_COUNT; i++)
        *string_slot(request, known_attributes[i].offset) = request->arena;
    request->state = PD_STATE_UNKNOWN;
    request->recipient_count_value = 0;
    request->recipient_count_malformed = false;
    request->size_value = 0;
    request->size_malformed = false;
}

void
pd_request_copy(struct pd_request *dst, const struct pd_request *src)
{
    if (dst == src)
        return;
    size_t used = src->arena_used;
    if (used < 1 || used > sizeof src->arena)
        used = 1;   /* a corrupt source must not make us read past it */
    memcpy(dst->arena, src->arena, used);
    dst->arena[0] = '\0';
    dst->arena_used = used;
    for (size_t i = 0; i < KNOWN_COUNT; i++) {
        const char *s = string_at(src, known_attributes[i].offset);
        const char **d = string_slot(dst, known_attributes[i].offset);
        if (s >= src->arena && s < src->arena + used)
            *d = dst->arena + (s - src->arena);
        else
            *d = dst->arena;
    }
    dst->state = src->state;
    dst->recipient_count_value = src->recipient_count_value;
    dst->recipient_count_malformed = src->recipient_count_malformed;
    dst->size_value = src->size_value;
    dst->size_malformed = src->size_malformed;
}

/* ---- protocol_state --------------------------------------------------- */

static const char *const state_names[] = {
    [PD_STATE_UNKNOWN] = "unknown",
    [PD_STATE_CONNECT] = "CONNECT",
    [PD_STATE_EHLO] = "EHLO",
    [PD_STATE_HELO] = "HELO",
    [PD_STATE_MAIL] = "MAIL",
    [PD_STATE_RCPT] = "RCPT",
    [PD_STATE_DATA] = "DATA",
    [PD_STATE_END_OF_MESSAGE] = "END-OF-MESSAGE",
    [PD_STATE_VRFY] = "VRFY",
    [PD_STATE_ETRN] = "ETRN",
};

#define STATE_COUNT (sizeof state_names / sizeof state_names[0])

const char *
pd_protocol_state_name(enum pd_protocol_state state)
{
    if ((size_t) state >= STATE_COUNT)
        return "unknown";
    return state_names[state];
}

static int
lower_ascii(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool
equal_ignoring_case(const char *a, const char *b)
{
    while (*a != '\0' && lower_ascii((unsigned char) *a) == lower_ascii((unsigned char) *b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static enum pd_protocol_state
state_from_text(const char *text)
{
    /* Start at 1: "unknown" is our word, not one Postfix sends. */
    for (size_t i = 1; i < STATE_COUNT; i++)
        if (equal_ignoring_case(text, state_names[i]))
            return (enum pd_protocol_state) i;
    return PD_STATE_UNKNOWN;
}

/* ---- numbers ---------------------------------------------------------- */

/* Returns false for anything but plain decimal digits within max; "" is
 * a valid 0 because Postfix may send "name=" for a missing number. */
static bool
parse_decimal(const char *text, uint64_t max, uint64_t *out)
{
    uint64_t value = 0;
    *out = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned digit = (unsigned) (*p - '0');
        if (value > (max - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

static void
finish_numbers(struct pd_request *request)
{
    uint64_t value;
    request->recipient_count_malformed =
        !parse_decimal(request->recipient_count, UINT32_MAX, &value);
    request->recipient_count_value = (uint32_t) value;
    request->size_malformed = !parse_decimal(request->size, UINT64_MAX, &value);
    request->size_value = value;
    request->state = state_from_text(request->protocol_state);
}

/* ---- the parser ------------------------------------------------------- */

static void
start_request(struct pd_req_parser *parser)
{
    parser->line_len = 0;
    parser->request_bytes = 0;
    parser->line_number = 1;
    parser->attribute_count = 0;
    request_clear(&parser->building);
}

void
pd_req_parser_init(struct pd_req_parser *parser)
{
    parser->failed = false;
    parser->failure = PD_REQ_MORE;
    parser->error[0] = '\0';
    start_request(parser);
}

bool
pd_req_status_is_framing_error(enum pd_req_status status)
{
    switch (status) {
    case PD_REQ_ERR_LINE_TOO_LONG:
    case PD_REQ_ERR_TOO_MANY_ATTRS:
    case PD_REQ_ERR_TOO_LARGE:
    case PD_REQ_ERR_NUL_BYTE:
    case PD_REQ_ERR_NO_EQUALS:
    case PD_REQ_ERR_EMPTY_NAME:
        return true;
    case PD_REQ_MORE:
    case PD_REQ_READY:
    case PD_REQ_ERR_NO_REQUEST:
    case PD_REQ_ERR_WRONG_REQUEST:
        break;
    }
    return false;
}

const char *
pd_req_parser_error(const struct pd_req_parser *parser)
{
    return parser->error;
}

/* Peer bytes go into log lines, so they are shown as printable ASCII only
 * and cut short; the excerpt is for a human, not for parsing. */
static void
excerpt(const char *text, size_t len, char *out, size_t cap)
{
    size_t max_shown = 40, n = 0;
    for (size_t i = 0; i < len && i < max_shown && n + 5 < cap; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out[n++] = (char) c;
        } else {
            static const char hex[] = "0123456789abcdef";
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (len > max_shown && n + 4 < cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static enum pd_req_status
set_error(struct pd_req_parser *parser, enum pd_req_status status,
          const char *format, ...) __attribute__((format(printf, 3, 4)));

static enum pd_req_status
set_error(struct pd_req_parser *parser, enum pd_req_status status,
          const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(parser->error, sizeof parser->error, format, ap);
    va_end(ap);
    if (pd_req_status_is_framing_error(status)) {
        parser->failed = true;
        parser->failure = status;
    }
    return status;
}

static enum pd_req_status
store_attribute(struct pd_req_parser *parser)
{
    char shown[PD_REQ_ERROR_MAX];
    char *line = parser->line;
    size_t len = parser->line_len;
    char *equals = memchr(line, '=', len);

    if (equals == NULL) {
        excerpt(line, len, shown, sizeof shown);
        return set_error(parser, PD_REQ_ERR_NO_EQUALS,
                         "request line %u has no '=': \"%s\"",
                         parser->line_number, shown);
    }
    if (equals == line) {
        excerpt(line, len, shown, sizeof shown);
        return set_error(parser, PD_REQ_ERR_EMPTY_NAME,
                         "request line %u has an empty attribute name: \"%s\"",
                         parser->line_number, shown);
    }
    if (++parser->attribute_count > PD_REQ_ATTRS_MAX)
        return set_error(parser, PD_REQ_ERR_TOO_MANY_ATTRS,
                         "request has more than %d attributes", PD_REQ_ATTRS_MAX);

    size_t name_len = (size_t) (equals - line);
    const char *value = equals + 1;
    size_t value_len = len - name_len - 1;
    struct pd_request *request = &parser->building;

    for (size_t i = 0; i < KNOWN_COUNT; i++) {
        const char *name = known_attributes[i].name;
        if (strlen(name) != name_len || memcmp(name, line, name_len) != 0)
            continue;
        /* Cannot fail while request_bytes <= PD_REQ_SIZE_MAX (see
         * PD_REQ_ARENA_SIZE); checked anyway so a change of bounds
         * cannot turn into an overflow. */
        if (value_len + 1 > sizeof request->arena - request->arena_used)
            return set_error(parser, PD_REQ_ERR_TOO_LARGE,
                             "request is larger than %d bytes", PD_REQ_SIZE_MAX);
        if (value_len == 0) {
            /* Empty values cost no arena: Postfix sends many of them. */
            *string_slot(request, known_attributes[i].offset) = request->arena;
            break;
        }
        char *stored = request->arena + request->arena_used;
        memcpy(stored, value, value_len);
        stored[value_len] = '\0';
        request->arena_used += value_len + 1;
        *string_slot(request, known_attributes[i].offset) = stored;
        break;
    }
    return PD_REQ_MORE;
}

static enum pd_req_status
finish_request(struct pd_req_parser *parser, struct pd_request *out)
{
    char shown[PD_REQ_ERROR_MAX];
    struct pd_request *request = &parser->building;
    enum pd_req_status status = PD_REQ_READY;

    finish_numbers(request);
    parser->error[0] = '\0';
    if (parser->attribute_count == 0)
        status = set_error(parser, PD_REQ_ERR_NO_REQUEST,
                           "empty request (a blank line with no attributes)");
    else if (request->request == request->arena)
        status = set_error(parser, PD_REQ_ERR_NO_REQUEST,
                           "request has no request= attribute");
    else if (strcmp(request->request, "smtpd_access_policy") != 0) {
        excerpt(request->request, strlen(request->request), shown, sizeof shown);
        status = set_error(parser, PD_REQ_ERR_WRONG_REQUEST,
                           "request=\"%s\" is not smtpd_access_policy", shown);
    }
    if (out != NULL)
        pd_request_copy(out, request);
    start_request(parser);
    return status;
}

enum pd_req_status
pd_req_feed(struct pd_req_parser *parser, const char *data, size_t len,
            size_t *consumed, struct pd_request *out)
{
    size_t used = 0;
    enum pd_req_status status = PD_REQ_MORE;

    if (parser->failed) {
        *consumed = 0;
        return parser->failure;
    }
    parser->error[0] = '\0';

    while (used < len) {
        char c = data[used++];

        if (++parser->request_bytes > PD_REQ_SIZE_MAX) {
            status = set_error(parser, PD_REQ_ERR_TOO_LARGE,
                               "request is larger than %d bytes", PD_REQ_SIZE_MAX);
            break;
        }
        if (c == '\0') {
            status = set_error(parser, PD_REQ_ERR_NUL_BYTE,
                               "request line %u contains a NUL byte",
                               parser->line_number);
            break;
        }
        if (c != '\n') {
            /* One byte beyond the limit is allowed only for the CR of a
             * CRLF; whether it really precedes LF is decided at LF. */
            if (parser->line_len >= PD_REQ_LINE_MAX
                && !(parser->line_len == PD_REQ_LINE_MAX && c == '\r')) {
                status = set_error(parser, PD_REQ_ERR_LINE_TOO_LONG,
                                   "request line %u is longer than %d bytes",
                                   parser->line_number, PD_REQ_LINE_MAX);
                break;
            }
            parser->line[parser->line_len++] = c;
            continue;
        }

        if (parser->line_len > 0 && parser->line[parser->line_len - 1] == '\r')
            parser->line_len--;
        if (parser->line_len == 0) {
            status = finish_request(parser, out);
            break;
        }
        status = store_attribute(parser);
        if (status != PD_REQ_MORE)
            break;
        parser->line_len = 0;
        parser->line_number++;
    }
    *consumed = used;
    return status;
}

/* ---- replies ---------------------------------------------------------- */

/* Copy text into out as one safe protocol line fragment: controls become
 * spaces, runs at either end are trimmed.  Returns the length copied. */
static size_t
sanitize_text(const char *text, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < cap; i++) {
        unsigned char c = (unsigned char) text[i];
        out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char) c;
    }
    size_t start = 0;
    while (start < n && out[start] == ' ')
        start++;
    while (n > start && out[n - 1] == ' ')
        n--;
    memmove(out, out + start, n - start);
    return n - start;
}

static size_t
emit(char *buf, size_t cap, const char *word, const char *text, size_t text_len)
{
    int written = text_len > 0
        ? snprintf(buf, cap, "action=%s%s%.*s\n\n", word, *word ? " " : "",
                   (int) text_len, text)
        : snprintf(buf, cap, "action=%s\n\n", word);
    if (written < 0 || (size_t) written >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    return (size_t) written;
}

size_t
pd_response_format(const struct pd_verdict *verdict, char *buf, size_t cap)
{
    char text[PD_TEXT_MAX];
    size_t text_len = 0;
    enum pd_action action = verdict->action;
    const char *word = pd_action_name(action);

    if (action != PD_DUNNO && action != PD_OK) {
        text_len = sanitize_text(verdict->text, strnlen(verdict->text, PD_TEXT_MAX - 1),
                                 text, sizeof text);
        unsigned code = 0;
        size_t prefix = pd_reply_code_prefix(text, text_len, &code);
        if (prefix > 0) {
            bool fits = (action == PD_REJECT && code / 100 == 5)
                || (action == PD_DEFER && code / 100 == 4);
            if (fits) {
                /* Numeric form: the text itself is the action. */
                return emit(buf, cap, "", text, text_len);
            }
            memmove(text, text + prefix, text_len - prefix);
            text_len -= prefix;
        }
    }
    return emit(buf, cap, word, text, text_len);
}

size_t
pd_response_format_prepend(const char *name, const char *value, char *buf,
                           size_t cap)
{
    char header[PD_TEXT_MAX];
    size_t name_len = name != NULL ? strnlen(name, 77) : 0;

    if (cap > 0)
        buf[0] = '\0';
    if (name_len == 0 || name_len > 76)
        return 0;
    for (size_t i = 0; i < name_len; i++)
        if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ':')
            return 0;
    memcpy(header, name, name_len);
    memcpy(header + name_len, ": ", 2);
    size_t room = sizeof header - 1 - name_len - 2;
    size_t value_len = value != NULL
        ? sanitize_text(value, strnlen(value, room), header + name_len + 2, room) : 0;
    /* "Name:" rather than "Name: " when there is no value. */
    size_t header_len = value_len > 0 ? name_len + 2 + value_len : name_len + 1;
    return emit(buf, cap, "PREPEND", header, header_len);
}
