/*
 * stamp_mint.c - one message's stamps in one batch, within its time
 * (stamp_mint.h).
 */
#include "config.h"

#include "policy/base/dns.h"
#include "policy/frontends/stamp_mint.h"
#include "postage/status.h"

/* The batch's progress callback: stop once the deadline has passed. */
static int
past_deadline(void *ctx, const struct postage_mint_progress *p)
{
    (void) p;
    return pd_dns_now_ms() >= *(const uint64_t *) ctx;
}

size_t
pd_stamp_mint(struct postage_mint_batch_item *items, size_t n, unsigned threads, int64_t now,
              uint64_t deadline_ms)
{
    if (n == 0)
        return 0;
    if (pd_dns_now_ms() >= deadline_ms) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = POSTAGE_ERR_CANCELLED;
            if (items[i].stamp != NULL && items[i].size > 0)
                items[i].stamp[0] = '\0';
        }
        return 0;
    }
    struct postage_mint_options o;
    postage_mint_options_init(&o, now);
    o.threads = threads;
    o.progress = past_deadline;
    o.progress_ctx = &deadline_ms;
    postage_mint_batch(items, n, &o);
    size_t minted = 0;
    for (size_t i = 0; i < n; i++)
        minted += items[i].status == POSTAGE_OK;
    return minted;
}
