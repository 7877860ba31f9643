/*
 * milter_headers.c - incoming copies of the headers postaged adds, and the
 * Message-ID, noted as the milter is shown the headers (milter_headers.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/frontends/milter_headers.h"

static const char *const own_header_names[PD_OWN_HEADERS] = {
    "X-Postage-Result", "X-Postage-Price", "X-Greylist", "Authentication-Results"
};

const char *
pd_own_header_name(enum pd_own_header h)
{
    return (unsigned) h < PD_OWN_HEADERS ? own_header_names[h] : "";
}

int
pd_own_header_index(const char *name)
{
    for (int h = 0; h < PD_OWN_HEADERS; h++)
        if (strcasecmp(name, own_header_names[h]) == 0)
            return h;
    return -1;
}

int
pd_names_authserv_id(const char *value, const char *authserv_id)
{
    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
        value++;
    size_t n = strcspn(value, " \t\r\n;(");
    return n > 0 && n == strlen(authserv_id) && strncasecmp(value, authserv_id, n) == 0;
}

int
pd_own_headers_note(struct pd_own_headers *h, const char *name, const char *value,
                    const char *authserv_id)
{
    int which = pd_own_header_index(name);
    if (which < 0)
        return 0;
    unsigned index = ++h->seen[which];
    if (which != PD_OWN_AUTH_RESULTS || !pd_names_authserv_id(value, authserv_id))
        return 0;
    if (h->n_forged_ar >= PD_FORGED_AR_MAX)
        return -1;
    unsigned *grown = realloc(h->forged_ar, (h->n_forged_ar + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    h->forged_ar = grown;
    h->forged_ar[h->n_forged_ar++] = index;
    return 0;
}

void
pd_own_headers_reset(struct pd_own_headers *h)
{
    free(h->forged_ar);
    memset(h, 0, sizeof *h);
}

void
pd_message_id_take(char *dst, size_t size, const char *value)
{
    if (size == 0)
        return;
    const char *v = value + strspn(value, " \t\r\n");
    size_t n = strcspn(v, " \t\r\n");
    if (n >= size)
        n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}
