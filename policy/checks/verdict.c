/*
 * verdict.c - the spelling of postaged's verdict actions, shared by the
 * configuration parser (which reads them) and the front-ends (which send
 * them to Postfix).
 */
#include "config.h"

#include <stddef.h>

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
