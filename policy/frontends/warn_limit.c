/*
 * warn_limit.c - per-client warning budgets for the policy server's log
 * (warn_limit.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/frontends/warn_limit.h"

struct slot {
    char client[PD_WARN_LIMIT_KEY_MAX];   /* "" when free */
    int64_t start;                        /* when its interval began */
    unsigned logged;
    unsigned long suppressed;
};

struct pd_warn_limit {
    unsigned limit;
    int64_t interval;
    pd_warn_report_fn *report;
    void *arg;
    struct slot slots[PD_WARN_LIMIT_CLIENTS];
};

struct pd_warn_limit *
pd_warn_limit_new(unsigned limit, int64_t interval, pd_warn_report_fn *report, void *arg)
{
    struct pd_warn_limit *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->limit = limit;
    w->interval = interval > 0 ? interval : 1;
    w->report = report;
    w->arg = arg;
    return w;
}

void
pd_warn_limit_free(struct pd_warn_limit *w)
{
    free(w);
}

static void
release(struct pd_warn_limit *w, struct slot *s, int64_t now)
{
    if (s->suppressed > 0 && w->report != NULL)
        w->report(s->client, s->suppressed, now > s->start ? now - s->start : 0, w->arg);
    memset(s, 0, sizeof *s);
}

int
pd_warn_limit_allow(struct pd_warn_limit *w, const char *client, int64_t now)
{
    char key[PD_WARN_LIMIT_KEY_MAX];
    snprintf(key, sizeof key, "%s", client != NULL && client[0] ? client : "-");
    struct slot *found = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < PD_WARN_LIMIT_CLIENTS; i++) {
        struct slot *s = &w->slots[i];
        if (s->client[0] == '\0') {
            if (free_slot == NULL)
                free_slot = s;
        } else if (strcmp(s->client, key) == 0) {
            found = s;
            break;
        } else if (oldest == NULL || s->start < oldest->start) {
            oldest = s;
        }
    }
    if (found != NULL && now - found->start >= w->interval)
        release(w, found, now);           /* a new interval begins */
    else if (found == NULL && free_slot == NULL)
        release(w, found = oldest, now);  /* the table is full */
    if (found == NULL || found->client[0] == '\0') {
        struct slot *s = found != NULL ? found : free_slot;
        memcpy(s->client, key, sizeof key);
        s->start = now;
        found = s;
    }
    if (found->logged < w->limit) {
        found->logged++;
        return 1;
    }
    found->suppressed++;
    return 0;
}

void
pd_warn_limit_flush(struct pd_warn_limit *w, int64_t now)
{
    for (size_t i = 0; i < PD_WARN_LIMIT_CLIENTS; i++) {
        struct slot *s = &w->slots[i];
        if (s->client[0] != '\0' && now - s->start >= w->interval)
            release(w, s, now);
    }
}

void
pd_warn_limit_flush_all(struct pd_warn_limit *w, int64_t now)
{
    for (size_t i = 0; i < PD_WARN_LIMIT_CLIENTS; i++)
        if (w->slots[i].client[0] != '\0')
            release(w, &w->slots[i], now);
}
