/*
 * calibration.h - the device profile: how fast this device mints, measured
 * once and saved, so that a time budget can be turned into bits without
 * measuring before every stamp.
 *
 * Written by `postage-mint --calibrate` (every thread count from 1 to the
 * CPUs, about a second each), refreshed by `postage-mint --speed`, and, when
 * there is none yet, by postage-sendmail's first quick measurement.  Read by
 * `postage-mint --budget` and by postage-sendmail's time_budget.
 *
 * Where: $POSTAGE_PROFILE (or its older name $POSTAGE_RATE_CACHE) when set
 * to an absolute path; else $XDG_CONFIG_HOME/postage/device-profile; else
 * ~/.config/postage/device-profile.  When that file does not exist, the
 * system-wide /etc/postage/device-profile is read (an administrator may
 * copy a profile there for users without one, e.g. a web server's).
 *
 * Format (text, one "KEY VALUE..." a line, '#' starts a comment line, keys
 * in any order, unknown keys ignored so that later versions may add some):
 *
 *   postage-device-profile 1             first line: the format and version
 *   cpu AMD EPYC                          the CPU model (/proc/cpuinfo)
 *   kernel avx512                         the SHA-1 kernel measured
 *   cpus 2                                online CPUs when measured
 *   measured 2026-11-27T12:00:00Z         when (UTC)
 *   rate_per_thread 270000000             trials per second on one thread
 *   rate 1 270000000                      trials per second on THREADS
 *   rate 2 540000000                        threads, one line per count
 *   argon2id 65536 1 1 libargon2 1 14.2   Argon2id attempts per second:
 *   argon2id 65536 1 1 libargon2 2 27.9     MEMORY PASSES LANES BACKEND
 *   argon2id 65536 1 1 libsodium 1 6.3      THREADS RATE, written by
 *                                           --calibrate --argon2id
 *
 * The rule that turns a budget into bits is the 95th percentile: the
 * number of trials to a stamp of b bits is geometric with p = 2^-b, so 95%
 * of stamps take at most ln(20) * 2^b / rate seconds (about 3 times the
 * mean).  The bits chosen are the largest whose p95 fits the budget.
 */
#ifndef POSTAGE_MINT_CALIBRATION_H
#define POSTAGE_MINT_CALIBRATION_H

#include <stddef.h>
#include <stdint.h>

#define PROFILE_FORMAT_VERSION 1
#define PROFILE_MAX_THREADS 256
#define PROFILE_SYSTEM_PATH "/etc/postage/device-profile"
#define PROFILE_BITS_MAX 160
#define PROFILE_A2ID_MAX 32      /* Argon2id lines kept in a profile */

/* One Argon2id measurement: attempts per second for these parameters on
 * this backend and this many threads. */
struct profile_argon2id {
    uint32_t memory, passes, lanes;
    int backend;                /* POSTAGE_A2ID_LIBSODIUM or _LIBARGON2      */
    unsigned threads;
    double rate;
};

struct device_profile {
    char cpu[160];
    char kernel[32];
    unsigned cpus;              /* online CPUs when measured                 */
    int64_t measured_at;        /* UTC seconds                               */
    double rate_per_thread;     /* trials/s on one thread (0: unknown)       */
    double rate[PROFILE_MAX_THREADS + 1]; /* rate[t] on t threads; 0: not measured */
    size_t argon2id_count;
    struct profile_argon2id argon2id[PROFILE_A2ID_MAX];
};

/* profile_load and profile_find return one of these. */
enum { PROFILE_OK = 0, PROFILE_MISSING = -1, PROFILE_DAMAGED = -2 };

/* This user's profile path (where --calibrate writes; see above). */
void calibration_path(char *out, size_t size);

/* The CPU model, from /proc/cpuinfo ("unknown CPU" if it says nothing). */
void calibration_cpu_model(char *out, size_t size);

/* Read a profile file.  PROFILE_MISSING if it does not exist (err says
 * so), PROFILE_DAMAGED with the line and the problem in err. */
int profile_load(const char *path, struct device_profile *p, char *err, size_t errlen);

/* Read this user's profile, or the system-wide one when the user has none;
 * @path receives the file read (or, when neither exists, the user's). */
int profile_find(char *path, size_t pathlen, struct device_profile *p, char *err,
                 size_t errlen);

/* Write @p to @path atomically (temporary file, then rename), creating the
 * directories.  Returns 0, or -1 with the reason in err. */
int profile_save(const char *path, const struct device_profile *p, char *err, size_t errlen);

/* Measure @kernel (NULL: the default) on 1, 2, 4, ... threads and on
 * @max_threads (0: every online CPU), @seconds each, into a fresh profile
 * dated @now.  Returns 0, or a postage status code. */
int profile_measure(struct device_profile *p, const char *kernel, unsigned max_threads,
                    double seconds, int64_t now);

/* Trials per second on @threads threads (0: every online CPU): the
 * measured figure, else interpolated between the nearest measured thread
 * counts (more threads than were measured: the largest figure).  0 when
 * the profile has no rate at all. */
double profile_rate(const struct device_profile *p, unsigned threads);

/* Measure Argon2id with @memory/@passes/@lanes on each backend that can
 * run them (one thread, @seconds each), then the faster one on @threads
 * (0: every online CPU), and put the lines into @p in place of any earlier
 * ones for the same parameters.  Returns 0, or a postage status code. */
int profile_measure_argon2id(struct device_profile *p, uint32_t memory, uint32_t passes,
                             uint32_t lanes, unsigned threads, double seconds);

/* The fastest backend measured for these parameters and its rate on
 * @threads (0: every online CPU; interpolated like profile_rate()).
 * Returns 0, or -1 when the profile has no line for these parameters. */
int profile_argon2id_rate(const struct device_profile *p, uint32_t memory, uint32_t passes,
                          uint32_t lanes, unsigned threads, int *backend, double *rate);

/* The time to mint @bits at @rate trials per second: mean 2^bits / rate,
 * median ln 2 times that, 95th percentile ln 20 times that. */
double calibration_mean_seconds(unsigned bits, double rate);
double calibration_median_seconds(unsigned bits, double rate);
double calibration_p95_seconds(unsigned bits, double rate);

/* The largest bits (0 .. PROFILE_BITS_MAX) whose p95 fits @budget seconds
 * at @rate; 0 when not even 1 bit fits. */
unsigned calibration_bits_within(double budget, double rate);

/* Parse a duration: a positive decimal number with an optional unit, ms,
 * s (the default), m or h ("2s", "500ms", "1.5m").  Returns 0 or -1. */
int calibration_parse_duration(const char *text, double *seconds);

/* For postage-sendmail: the rate (trials/s) of the default kernel on
 * @threads (0: every CPU) from the profile when it was measured on this
 * CPU with this kernel; otherwise a fresh measurement of @seconds, saved
 * into the profile.  Returns 0 with *rate, or -1 if it could not be
 * measured. */
int calibration_rate(unsigned threads, double seconds, int64_t now, double *rate);

/* Record one measured rate in this user's profile (best effort: errors are
 * ignored, the next reader measures again).  A profile of another kernel
 * or CPU is replaced; one of the same is updated. */
void calibration_store(const char *kernel, unsigned threads, double rate, int64_t now);

#endif
