/*
 * postage/clock.h - the time arithmetic stamps need: hashcash DATE fields
 * (always UTC), the 50-year century window, and hashcash PERIOD strings.
 *
 * Nothing here reads the system clock: every function that needs "now"
 * takes it as an argument, so callers (and tests) can pin it.
 */
#ifndef POSTAGE_CLOCK_H
#define POSTAGE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default validity and grace of hashcash 1.22: 28 days and 2 days. */
#define POSTAGE_DEFAULT_VALIDITY INT64_C(2419200)
#define POSTAGE_DEFAULT_GRACE INT64_C(172800)

/**
 * postage_date_parse - read a stamp DATE field as UTC seconds.
 * @date: the field; need not be NUL-terminated.
 * @len:  its length: 2, 4, 6, 8, 10 or 12 (YY[MM[DD[hh[mm[ss]]]]]).
 * @now:  the current UTC time, which anchors the century: the year is put
 *        in the current century, then moved by 100 years if that lands more
 *        than 50 years from the current year (as hashcash 1.22 does).
 * @out:  receives the time.  Omitted fields are the start of the period.
 *
 * Out-of-range fields are normalised as C's mktime() does (month 13 is
 * January of the next year, day 0 the last day of the previous month), as
 * hashcash 1.22 does, except that month 00 is refused, as there.
 *
 * Returns POSTAGE_OK, or POSTAGE_ERR_SYNTAX for a bad length, a non-digit
 * or month 00.
 */
int postage_date_parse(const char *date, size_t len, int64_t now, int64_t *out);

/**
 * postage_date_format - write a UTC time as a stamp DATE field, rounded down.
 * @t:     UTC seconds (0 .. 253402300799, i.e. up to year 9999).
 * @width: 6 (YYMMDD), 10 (YYMMDDhhmm) or 12 (YYMMDDhhmmss).
 * @out:   receives width digits and a NUL; must hold 13 bytes.
 *
 * Returns POSTAGE_OK or POSTAGE_ERR_INVALID.
 */
int postage_date_format(int64_t t, unsigned width, char out[13]);

/**
 * postage_period_parse - read a hashcash PERIOD such as "28d", "2h", "90m"
 * or "3600" (seconds).
 * @text: NUL-terminated; optional leading '+', decimal digits, optional
 *        unit: s (seconds), m (minutes), h (hours), d (days), w (weeks),
 *        M (months of 2628000 s), y or Y (years of 365 days).
 * @out:  receives the number of seconds (>= 0).
 *
 * Returns POSTAGE_OK, or POSTAGE_ERR_INVALID for anything else (negative
 * values, junk, or more than 10 years).
 */
int postage_period_parse(const char *text, int64_t *out);

/**
 * postage_time_rfc3339 - format UTC seconds as "YYYY-MM-DDThh:mm:ssZ".
 * @t:   UTC seconds, year 0000 .. 9999.
 * @out: receives 20 characters and a NUL.
 *
 * Returns POSTAGE_OK or POSTAGE_ERR_INVALID.
 */
int postage_time_rfc3339(int64_t t, char out[21]);

/**
 * postage_utc_from_fields - UTC seconds from calendar fields, normalising
 * out-of-range values as mktime() does (but always in UTC).
 * @year: full year (e.g. 2026); @mon: 1..12 (others normalised);
 * @day, @hour, @min, @sec: any values, normalised.
 */
int64_t postage_utc_from_fields(int64_t year, int64_t mon, int64_t day,
                                int64_t hour, int64_t min, int64_t sec);

#ifdef __cplusplus
}
#endif
#endif
