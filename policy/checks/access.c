/*
 * access.c - static access-control rules: the one-line rule parser, the
 * rule list, and first-match evaluation against a request.  The pattern
 * forms and their meaning are documented in access.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/checks/access.h"

static const char *const selector_names[] = {
    [PD_SEL_CLIENT] = "client",
    [PD_SEL_CLIENT_NAME] = "client_name",
    [PD_SEL_HELO] = "helo",
    [PD_SEL_SENDER] = "sender",
    [PD_SEL_RECIPIENT] = "recipient",
    [PD_SEL_SASL_USER] = "sasl_user",
};

#define SELECTOR_COUNT (sizeof selector_names / sizeof selector_names[0])

const char *
pd_access_selector_name(enum pd_access_selector selector)
{
    if ((size_t) selector >= SELECTOR_COUNT)
        return "unknown";
    return selector_names[selector];
}

/* ---- small string helpers (explicit lengths, ASCII case folding) ------ */

static char
lower_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static bool
equal_ignoring_case(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower_ascii(a[i]) != lower_ascii(b[i]))
            return false;
    return true;
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A hostname's trailing root dot names the same host. */
static size_t
without_root_dot(const char *name, size_t len)
{
    return (len > 1 && name[len - 1] == '.') ? len - 1 : len;
}

/* The label boundary check is what keeps "badexample.org" out of
 * "example.org". */
bool
pd_domain_matches(const char *name, size_t name_len, const char *domain,
               size_t domain_len, bool itself_too)
{
    name_len = without_root_dot(name, name_len);
    if (name_len == 0 || domain_len == 0)
        return false;
    if (name_len == domain_len)
        return itself_too && equal_ignoring_case(name, name_len, domain, domain_len);
    if (name_len < domain_len + 2)
        return false;
    size_t start = name_len - domain_len;
    return name[start - 1] == '.'
        && equal_ignoring_case(name + start, domain_len, domain, domain_len);
}

/* ---- parsing ---------------------------------------------------------- */

struct word {
    const char *text;
    size_t len;
};

static struct word
next_word(const char **cursor, const char *end)
{
    const char *p = *cursor;
    while (p < end && is_blank(*p))
        p++;
    const char *start = p;
    while (p < end && !is_blank(*p))
        p++;
    *cursor = p;
    return (struct word) { start, (size_t) (p - start) };
}

static enum pd_access_parse_result
fail(char *err, size_t err_cap, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static enum pd_access_parse_result
fail(char *err, size_t err_cap, const char *format, ...)
{
    if (err != NULL && err_cap > 0) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(err, err_cap, format, ap);
        va_end(ap);
    }
    return PD_ACCESS_ERROR;
}

/* Words from the configuration are quoted back in messages; cut long ones
 * so the message keeps its point. */
#define SHOWN 60
#define SHOW(w) (int) ((w).len > SHOWN ? SHOWN : (w).len), (w).text, \
                ((w).len > SHOWN ? "..." : "")

/* Letters, digits, '-' and '_' in dot-separated labels of 1..63 bytes,
 * at most 253 in all: what a DNS name in a rule can be. */
static bool
valid_hostname(const char *name, size_t len)
{
    len = without_root_dot(name, len);
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63)
            return false;
    }
    return label > 0;
}

static void
store_pattern(struct pd_access_rule *rule, const char *text, size_t len,
              bool fold_case)
{
    for (size_t i = 0; i < len; i++)
        rule->pattern[i] = fold_case ? lower_ascii(text[i]) : text[i];
    rule->pattern[len] = '\0';
    rule->pattern_len = len;
}

/* client_name, and helo when the pattern is a name. */
static enum pd_access_parse_result
parse_name_pattern(struct pd_access_rule *rule, struct word pattern,
                   char *err, size_t err_cap)
{
    struct word name = pattern;
    rule->form = PD_FORM_DOMAIN;
    if (name.len >= 2 && name.text[0] == '*' && name.text[1] == '.') {
        name.text += 2;
        name.len -= 2;
        rule->form = PD_FORM_SUBDOMAINS;
    } else if (name.len >= 1 && name.text[0] == '.') {
        name.text += 1;
        name.len -= 1;
        rule->form = PD_FORM_SUBDOMAINS;
    }
    if (!valid_hostname(name.text, name.len))
        return fail(err, err_cap,
                    "%s pattern \"%.*s%s\" is not a host or domain name",
                    selector_names[rule->selector], SHOW(pattern));
    store_pattern(rule, name.text, without_root_dot(name.text, name.len), true);
    return PD_ACCESS_RULE;
}

static enum pd_access_parse_result
parse_helo_pattern(struct pd_access_rule *rule, struct word pattern,
                   char *err, size_t err_cap)
{
    struct pd_addr addr;
    if (pattern.len == 2 && memcmp(pattern.text, "<>", 2) == 0) {
        rule->form = PD_FORM_EMPTY;
        store_pattern(rule, "", 0, false);
        return PD_ACCESS_RULE;
    }
    if (pattern.text[0] == '=') {
        if (pattern.len == 1)
            return fail(err, err_cap,
                        "helo pattern \"=\" needs the exact name after '=' (use <> for an empty HELO)");
        rule->form = PD_FORM_EXACT;
        store_pattern(rule, pattern.text + 1, pattern.len - 1, true);
        return PD_ACCESS_RULE;
    }
    /* Address literals are not names, so "domain and below" means nothing
     * for them; a bare address is what broken clients send, compared as
     * written. */
    if (pattern.text[0] == '['
        || pd_addr_parse(pattern.text, pattern.len, &addr) == PD_NETADDR_OK) {
        if (pattern.text[0] == '[' && pattern.text[pattern.len - 1] != ']')
            return fail(err, err_cap, "helo pattern \"%.*s%s\" lacks the closing ']'",
                        SHOW(pattern));
        rule->form = PD_FORM_EXACT;
        store_pattern(rule, pattern.text, pattern.len, true);
        return PD_ACCESS_RULE;
    }
    return parse_name_pattern(rule, pattern, err, err_cap);
}

static enum pd_access_parse_result
parse_address_pattern(struct pd_access_rule *rule, struct word pattern,
                      char *err, size_t err_cap)
{
    const char *what = selector_names[rule->selector];
    if (pattern.len == 2 && memcmp(pattern.text, "<>", 2) == 0) {
        rule->form = PD_FORM_EMPTY;
        store_pattern(rule, "", 0, false);
        return PD_ACCESS_RULE;
    }
    const char *at = NULL;
    for (size_t i = pattern.len; i > 0; i--)
        if (pattern.text[i - 1] == '@') {
            at = pattern.text + i - 1;
            break;
        }
    if (at == NULL)
        return fail(err, err_cap,
                    "%s pattern \"%.*s%s\" needs an '@' (user@domain, @domain, user@) or is <> for the null sender",
                    what, SHOW(pattern));
    size_t local_len = (size_t) (at - pattern.text);
    struct word domain = { at + 1, pattern.len - local_len - 1 };

    if (local_len == 0 && domain.len == 0)
        return fail(err, err_cap,
                    "%s pattern \"@\" has neither user nor domain (use <> for the null sender)",
                    what);
    if (domain.len == 0) {
        rule->form = PD_FORM_ADDR_LOCAL;
        store_pattern(rule, pattern.text, local_len, true);
        return PD_ACCESS_RULE;
    }
    bool subdomains = domain.text[0] == '.';
    struct word name = domain;
    if (subdomains) {
        name.text++;
        name.len--;
    }
    bool literal = !subdomains && name.len >= 2 && name.text[0] == '['
        && name.text[name.len - 1] == ']';
    if (!literal && !valid_hostname(name.text, name.len))
        return fail(err, err_cap,
                    "%s pattern \"%.*s%s\": \"%.*s%s\" is not a domain name",
                    what, SHOW(pattern), SHOW(domain));
    if (!literal)
        name.len = without_root_dot(name.text, name.len);
    if (local_len == 0) {
        rule->form = subdomains ? PD_FORM_ADDR_SUBDOMAINS : PD_FORM_ADDR_DOMAIN;
        store_pattern(rule, name.text, name.len, true);
        return PD_ACCESS_RULE;
    }
    if (subdomains)
        return fail(err, err_cap,
                    "%s pattern \"%.*s%s\": a subdomain form (@.domain) takes no user part",
                    what, SHOW(pattern));
    rule->form = PD_FORM_ADDRESS;
    store_pattern(rule, pattern.text, local_len + 1 + name.len, true);
    return PD_ACCESS_RULE;
}

static enum pd_access_parse_result
parse_pattern(struct pd_access_rule *rule, struct word pattern, char *err,
              size_t err_cap)
{
    enum pd_netaddr_status status;

    switch (rule->selector) {
    case PD_SEL_CLIENT:
        status = pd_cidr_parse(pattern.text, pattern.len, 0, &rule->network);
        if (status != PD_NETADDR_OK)
            return fail(err, err_cap, "client pattern \"%.*s%s\": %s", SHOW(pattern),
                        pd_netaddr_strerror(status));
        rule->form = PD_FORM_CIDR;
        store_pattern(rule, pattern.text, pattern.len, true);
        return PD_ACCESS_RULE;
    case PD_SEL_CLIENT_NAME:
        return parse_name_pattern(rule, pattern, err, err_cap);
    case PD_SEL_HELO:
        return parse_helo_pattern(rule, pattern, err, err_cap);
    case PD_SEL_SENDER:
    case PD_SEL_RECIPIENT:
        return parse_address_pattern(rule, pattern, err, err_cap);
    case PD_SEL_SASL_USER:
        if (pattern.len == 1 && pattern.text[0] == '-') {
            rule->form = PD_FORM_EMPTY;
            store_pattern(rule, "", 0, false);
        } else {
            rule->form = PD_FORM_EXACT_CASE;
            store_pattern(rule, pattern.text, pattern.len, false);
        }
        return PD_ACCESS_RULE;
    }
    return fail(err, err_cap, "internal error: selector %d", (int) rule->selector);
}

static enum pd_access_parse_result
check_text(const struct pd_access_rule *rule, struct word action, const char *text,
           size_t len, char *err, size_t err_cap)
{
    enum pd_action act = rule->verdict.action;
    if (len == 0)
        return PD_ACCESS_RULE;
    if (act == PD_DUNNO || act == PD_OK)
        return fail(err, err_cap, "%.*s%s takes no reply text", SHOW(action));
    if (len > PD_TEXT_MAX - 1)
        return fail(err, err_cap, "reply text is longer than %d bytes", PD_TEXT_MAX - 1);
    unsigned code = 0;
    if (pd_reply_code_prefix(text, len, &code) > 0) {
        if (act == PD_HOLD || act == PD_DISCARD)
            return fail(err, err_cap, "%s text cannot begin with a reply code (%u)",
                        pd_action_name(act), code);
        unsigned wanted = act == PD_REJECT ? 5 : 4;
        if (code / 100 != wanted)
            return fail(err, err_cap, "reply code %u does not fit %s (needs %uxx)",
                        code, pd_action_name(act), wanted);
    }
    return PD_ACCESS_RULE;
}

enum pd_access_parse_result
pd_access_rule_parse(const char *line, struct pd_access_rule *rule, char *err,
                     size_t err_cap)
{
    memset(rule, 0, sizeof *rule);
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    if (line == NULL)
        return fail(err, err_cap, "no rule");

    const char *end = line + strlen(line);
    while (end > line && (end[-1] == '\n' || end[-1] == '\r' || is_blank(end[-1])))
        end--;
    const char *cursor = line;
    while (cursor < end && is_blank(*cursor))
        cursor++;
    if (cursor == end || *cursor == '#')
        return PD_ACCESS_BLANK;
    for (const char *p = cursor; p < end; p++)
        if ((unsigned char) *p < 0x20 && *p != '\t')
            return fail(err, err_cap, "rule contains control character 0x%02x",
                        (unsigned) (unsigned char) *p);
        else if (*p == 0x7f)
            return fail(err, err_cap, "rule contains control character 0x7f");

    struct word selector = next_word(&cursor, end);
    size_t s = 0;
    while (s < SELECTOR_COUNT
           && !equal_ignoring_case(selector.text, selector.len, selector_names[s],
                                   strlen(selector_names[s])))
        s++;
    if (s == SELECTOR_COUNT)
        return fail(err, err_cap,
                    "unknown selector \"%.*s%s\" (expected client, client_name, helo, sender, recipient or sasl_user)",
                    SHOW(selector));
    rule->selector = (enum pd_access_selector) s;

    struct word pattern = next_word(&cursor, end);
    if (pattern.len == 0)
        return fail(err, err_cap, "missing pattern after \"%s\"", selector_names[s]);
    if (pattern.len > PD_ACCESS_PATTERN_MAX)
        return fail(err, err_cap, "%s pattern \"%.*s%s\" is longer than %d bytes",
                    selector_names[s], SHOW(pattern), PD_ACCESS_PATTERN_MAX);

    struct word action = next_word(&cursor, end);
    if (action.len == 0)
        return fail(err, err_cap, "missing action after %s pattern \"%.*s%s\"",
                    selector_names[s], SHOW(pattern));
    if (pd_action_parse(action.text, action.len, &rule->verdict.action) != 0)
        return fail(err, err_cap,
                    "unknown action \"%.*s%s\" (expected DUNNO, OK, REJECT, DEFER, HOLD or DISCARD)",
                    SHOW(action));

    if (parse_pattern(rule, pattern, err, err_cap) != PD_ACCESS_RULE)
        return PD_ACCESS_ERROR;

    while (cursor < end && is_blank(*cursor))
        cursor++;
    size_t text_len = (size_t) (end - cursor);
    if (check_text(rule, action, cursor, text_len, err, err_cap) != PD_ACCESS_RULE)
        return PD_ACCESS_ERROR;
    memcpy(rule->verdict.text, cursor, text_len);
    rule->verdict.text[text_len] = '\0';
    return PD_ACCESS_RULE;
}

/* ---- the list --------------------------------------------------------- */

void
pd_access_list_init(struct pd_access_list *list)
{
    list->rules = NULL;
    list->count = 0;
    list->capacity = 0;
}

int
pd_access_list_append(struct pd_access_list *list, const struct pd_access_rule *rule)
{
    if (list->count >= PD_ACCESS_RULES_MAX)
        return -1;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        if (capacity > PD_ACCESS_RULES_MAX)
            capacity = PD_ACCESS_RULES_MAX;
        struct pd_access_rule *grown = realloc(list->rules, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        list->rules = grown;
        list->capacity = capacity;
    }
    list->rules[list->count++] = *rule;
    return 0;
}

void
pd_access_list_free(struct pd_access_list *list)
{
    free(list->rules);
    pd_access_list_init(list);
}

/* ---- evaluation ------------------------------------------------------- */

void
pd_access_subject_from_request(const struct pd_request *request,
                               struct pd_access_subject *subject)
{
    *subject = PD_ACCESS_SUBJECT_OF(request);
}

static const char *
or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static bool
address_matches(const struct pd_access_rule *rule, const char *value)
{
    size_t len = strlen(value);
    if (len == 2 && memcmp(value, "<>", 2) == 0)
        len = 0;
    if (rule->form == PD_FORM_EMPTY)
        return len == 0;
    if (len == 0)
        return false;

    const char *at = NULL;
    for (size_t i = len; i > 0; i--)
        if (value[i - 1] == '@') {
            at = value + i - 1;
            break;
        }
    size_t local_len = at != NULL ? (size_t) (at - value) : len;
    const char *domain = at != NULL ? at + 1 : value + len;
    size_t domain_len = without_root_dot(domain, len - (size_t) (domain - value));

    switch (rule->form) {
    case PD_FORM_ADDR_LOCAL:
        return equal_ignoring_case(value, local_len, rule->pattern, rule->pattern_len);
    case PD_FORM_ADDR_DOMAIN:
        return at != NULL
            && equal_ignoring_case(domain, domain_len, rule->pattern, rule->pattern_len);
    case PD_FORM_ADDR_SUBDOMAINS:
        return at != NULL
            && pd_domain_matches(domain, domain_len, rule->pattern, rule->pattern_len, false);
    case PD_FORM_ADDRESS: {
        size_t pattern_local = (size_t) (strrchr(rule->pattern, '@') - rule->pattern);
        return at != NULL
            && equal_ignoring_case(value, local_len, rule->pattern, pattern_local)
            && equal_ignoring_case(domain, domain_len, rule->pattern + pattern_local + 1,
                                   rule->pattern_len - pattern_local - 1);
    }
    default:
        return false;
    }
}

static bool
name_matches(const struct pd_access_rule *rule, const char *value)
{
    size_t len = strlen(value);
    switch (rule->form) {
    case PD_FORM_EMPTY:
        return len == 0;
    case PD_FORM_EXACT:
        return equal_ignoring_case(value, len, rule->pattern, rule->pattern_len);
    case PD_FORM_DOMAIN:
        return pd_domain_matches(value, len, rule->pattern, rule->pattern_len, true);
    case PD_FORM_SUBDOMAINS:
        return pd_domain_matches(value, len, rule->pattern, rule->pattern_len, false);
    default:
        return false;
    }
}

/* The client address is parsed at most once per evaluation, and only if
 * a client rule is reached. */
struct client_cache {
    bool parsed;
    bool valid;
    struct pd_addr addr;
};

static bool
rule_matches(const struct pd_access_rule *rule, const struct pd_access_subject *subject,
             struct client_cache *client)
{
    switch (rule->selector) {
    case PD_SEL_CLIENT:
        if (!client->parsed) {
            const char *text = or_empty(subject->client_address);
            client->parsed = true;
            client->valid = pd_addr_parse(text, strlen(text), &client->addr) == PD_NETADDR_OK;
        }
        return client->valid && pd_cidr_match(&rule->network, &client->addr);
    case PD_SEL_CLIENT_NAME:
        return name_matches(rule, or_empty(subject->client_name));
    case PD_SEL_HELO:
        return name_matches(rule, or_empty(subject->helo_name));
    case PD_SEL_SENDER:
        return address_matches(rule, or_empty(subject->sender));
    case PD_SEL_RECIPIENT:
        return address_matches(rule, or_empty(subject->recipient));
    case PD_SEL_SASL_USER: {
        const char *user = or_empty(subject->sasl_username);
        if (rule->form == PD_FORM_EMPTY)
            return user[0] == '\0';
        return strlen(user) == rule->pattern_len
            && memcmp(user, rule->pattern, rule->pattern_len) == 0;
    }
    }
    return false;
}

long
pd_access_evaluate(const struct pd_access_list *list,
                   const struct pd_access_subject *subject,
                   struct pd_verdict *verdict)
{
    struct client_cache client = { false, false, { PD_ADDR_NONE, { 0 } } };

    for (size_t i = 0; i < list->count; i++) {
        if (rule_matches(&list->rules[i], subject, &client)) {
            *verdict = list->rules[i].verdict;
            return (long) i;
        }
    }
    verdict->action = PD_DUNNO;
    verdict->text[0] = '\0';
    return -1;
}
