/*
 * milter_sessions.c - the milter's open transactions, for the policy
 * server (see milter_sessions.h).  A small open-addressed table of key
 * hashes with counts: a few hundred concurrent sessions at most, looked
 * up once per message by the policy server.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "policy/frontends/milter_sessions.h"

struct slot {
    uint64_t hash;       /* 0: empty */
    unsigned count;
};

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot sessions[PD_MILTER_SESSIONS_MAX];

/* FNV-1a over "address\nhelo", HELO folded to lower case (both
 * front-ends get it as the client typed it, but be lenient). */
static uint64_t
session_hash(const char *client_address, const char *helo)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = client_address ? client_address : ""; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    h = (h ^ '\n') * 1099511628211ULL;
    for (const char *p = helo ? helo : ""; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char) (c - 'A' + 'a');
        h = (h ^ c) * 1099511628211ULL;
    }
    return h != 0 ? h : 1;
}

/* The slot holding h, or the first free one on its probe path (NULL when
 * the table is full).  Deleted entries are not tombstoned: a count that
 * falls to 0 keeps its hash, so probe chains stay intact, and the slot is
 * reused for the same hash. */
static struct slot *
find(uint64_t h, int for_insert)
{
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < PD_MILTER_SESSIONS_MAX; i++) {
        struct slot *s = &sessions[(h + i) % PD_MILTER_SESSIONS_MAX];
        if (s->hash == h)
            return s;
        if (s->hash == 0)
            return for_insert ? (free_slot != NULL ? free_slot : s) : NULL;
        if (for_insert && free_slot == NULL && s->count == 0)
            free_slot = s;
    }
    return for_insert ? free_slot : NULL;
}

int
pd_milter_session_enter(const char *client_address, const char *helo, uint64_t *key)
{
    uint64_t h = session_hash(client_address, helo);
    *key = h;
    pthread_mutex_lock(&sessions_lock);
    struct slot *s = find(h, 1);
    if (s != NULL) {
        if (s->hash != h) {
            s->hash = h;
            s->count = 0;
        }
        s->count++;
    }
    pthread_mutex_unlock(&sessions_lock);
    return s != NULL ? 0 : -1;
}

void
pd_milter_session_leave(uint64_t h)
{
    pthread_mutex_lock(&sessions_lock);
    struct slot *s = find(h, 0);
    if (s != NULL && s->count > 0)
        s->count--;
    pthread_mutex_unlock(&sessions_lock);
}

int
pd_milter_session_active(const char *client_address, const char *helo)
{
    uint64_t h = session_hash(client_address, helo);
    pthread_mutex_lock(&sessions_lock);
    struct slot *s = find(h, 0);
    int active = s != NULL && s->count > 0;
    pthread_mutex_unlock(&sessions_lock);
    return active;
}
