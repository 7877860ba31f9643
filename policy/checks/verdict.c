/*
 * verdict.c - the spelling of postaged's verdict actions, shared by the
 * configuration parser (which reads them) and the front-ends (which send
 * them to Postfix), and the splitting of a verdict text's reply code,
 * shared by the access-list parser (which checks the code's class), the
 * policy front-end (which sends the text in Postfix's numeric form or
 * drops the code) and the milter (which hands the parts to
 * smfi_setreply).
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "policy/checks/verdict.h"

struct action_spelling {
    enum pd_action action;
    const char *name;
    size_t len;
};

/* Postfix spells these in upper case; that is also how they are sent. */
static const struct action_spelling action_spellings[] = {
    { PD_DUNNO, "DUNNO", 5 },
    { PD_OK, "OK", 2 },
    { PD_REJECT, "REJECT", 6 },
    { PD_DEFER, "DEFER", 5 },
    { PD_HOLD, "HOLD", 4 },
    { PD_DISCARD, "DISCARD", 7 },
};

#define ACTION_COUNT (sizeof action_spellings / sizeof action_spellings[0])

const char *
pd_action_name(enum pd_action action)
{
    for (size_t i = 0; i < ACTION_COUNT; i++)
        if (action_spellings[i].action == action)
            return action_spellings[i].name;
    /* An out-of-range value is a bug in the caller; "DUNNO" is the answer
     * that changes nothing in Postfix, so it is the safe thing to send. */
    return "DUNNO";
}

static int
upper_ascii(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

int
pd_action_parse(const char *word, size_t len, enum pd_action *out)
{
    if (word == NULL || out == NULL)
        return -1;
    for (size_t i = 0; i < ACTION_COUNT; i++) {
        const struct action_spelling *s = &action_spellings[i];
        if (s->len != len)
            continue;
        size_t k = 0;
        while (k < len && upper_ascii((unsigned char) word[k]) == s->name[k])
            k++;
        if (k == len) {
            *out = s->action;
            return 0;
        }
    }
    return -1;
}

/* ---- reply codes ------------------------------------------------------ */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "D.D{1,3}.D{1,3}" (RFC 3463) followed by a space or the end: the
 * grammar libmilter's smfi_setreply also insists on. */
static size_t
enhanced_status_length(const char *text, size_t len)
{
    size_t i = 0;
    if (len < 5 || !is_digit(text[0]) || text[1] != '.')
        return 0;
    i = 2;
    for (int part = 0; part < 2; part++) {
        size_t digits = 0;
        while (i < len && is_digit(text[i]) && digits < 4) {
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3)
            return 0;
        if (part == 0) {
            if (i >= len || text[i] != '.')
                return 0;
            i++;
        }
    }
    if (i < len && text[i] != ' ')
        return 0;
    return i;
}

size_t
pd_reply_split(const char *text, size_t len, struct pd_reply_parts *parts)
{
    struct pd_reply_parts none;
    if (parts == NULL)
        parts = &none;
    memset(parts, 0, sizeof *parts);
    if (text == NULL || len < 3 || !is_digit(text[0]) || !is_digit(text[1])
        || !is_digit(text[2]) || (len > 3 && text[3] != ' '))
        return 0;
    if (text[0] != '4' && text[0] != '5')
        return 0;
    size_t i = 3;
    while (i < len && text[i] == ' ')
        i++;
    size_t enhanced = enhanced_status_length(text + i, len - i);
    /* An enhanced code of the other class is not ours to keep; Postfix
     * would rewrite it anyway, so only a matching one counts. */
    if (enhanced > 0 && text[i] == text[0]) {
        parts->enhanced = i;
        parts->enhanced_len = enhanced;
        i += enhanced;
        while (i < len && text[i] == ' ')
            i++;
    }
    parts->code = (unsigned) ((text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
    parts->text = i;
    return i;
}

size_t
pd_reply_code_prefix(const char *text, size_t len, unsigned *code)
{
    struct pd_reply_parts parts;
    size_t n = pd_reply_split(text, len, &parts);
    if (n > 0 && code != NULL)
        *code = parts.code;
    return n;
}
