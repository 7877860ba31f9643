/*
 * calibration.h - the minting rate of this machine, measured once and
 * cached, so that postage-sendmail can turn its time budget into bits
 * without measuring before every message.  postage-mint --speed refreshes
 * the cache with the figure it prints.
 *
 * Cache file: $POSTAGE_RATE_CACHE, else /var/cache/postage/rate for root,
 * else $XDG_CACHE_HOME/postage/rate or ~/.cache/postage/rate.  One line:
 * "postage-rate 1 KERNEL THREADS RATE MEASURED_AT".  A cache for another
 * kernel or thread count, older than 30 days, or damaged is measured anew.
 */
#ifndef POSTAGE_MINT_CALIBRATION_H
#define POSTAGE_MINT_CALIBRATION_H

#include <stddef.h>
#include <stdint.h>

#define CALIBRATION_MAX_AGE (30 * 86400)

/* Where the cache lives (see above). */
void calibration_path(char *out, size_t size);

/* The cached rate (trials per second) for the default kernel at @threads
 * (0: every CPU), or a fresh measurement of @seconds that is then cached.
 * Returns 0 with *rate, or -1 if it could not be measured. */
int calibration_rate(unsigned threads, double seconds, int64_t now, double *rate);

/* Write a measured rate to the cache (best effort; errors are ignored: the
 * next caller measures again). */
void calibration_store(const char *kernel, unsigned threads, double rate, int64_t now);

#endif
