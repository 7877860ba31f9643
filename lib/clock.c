/*
 * clock.c - UTC calendar arithmetic for stamp DATE fields and hashcash
 * PERIOD strings.
 *
 * Everything is computed with integer day counts (Howard Hinnant's
 * days-from-civil algorithm) rather than mktime()/timegm(): no dependence on
 * TZ, no global state, and the same mktime-style normalisation of
 * out-of-range fields that hashcash 1.22 gets from mktime().
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "postage/clock.h"
#include "postage/status.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, mon in 1..12. */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t
postage_utc_from_fields(int64_t year, int64_t mon, int64_t day,
                        int64_t hour, int64_t min, int64_t sec)
{
    int64_t m0 = mon - 1;
    year += floor_div(m0, 12);
    m0 -= floor_div(m0, 12) * 12;
    int64_t days = days_from_civil(year, m0 + 1, 1) + (day - 1);
    return days * 86400 + hour * 3600 + min * 60 + sec;
}

static void
utc_year_of(int64_t t, int64_t *year)
{
    int64_t m, d;
    civil_from_days(floor_div(t, 86400), year, &m, &d);
}

int
postage_date_parse(const char *date, size_t len, int64_t now, int64_t *out)
{
    int64_t field[6] = { 0, 1, 1, 0, 0, 0 };

    if (date == NULL || out == NULL || len < 2 || len > 12 || len % 2 != 0)
        return POSTAGE_ERR_SYNTAX;
    for (size_t i = 0; i < len; i += 2) {
        unsigned char hi = (unsigned char) date[i], lo = (unsigned char) date[i + 1];
        if (hi < '0' || hi > '9' || lo < '0' || lo > '9')
            return POSTAGE_ERR_SYNTAX;
        field[i / 2] = (hi - '0') * 10 + (lo - '0');
    }
    /* hashcash 1.22 refuses month 00 (mktime would see month -1); every
     * other out-of-range value is normalised, as there. */
    if (len >= 4 && field[1] == 0)
        return POSTAGE_ERR_SYNTAX;

    int64_t this_year;
    utc_year_of(now, &this_year);
    int64_t year = this_year - this_year % 100 + field[0];
    if (year > this_year + 50)
        year -= 100;
    else if (year < this_year - 50)
        year += 100;

    *out = postage_utc_from_fields(year, field[1], field[2], field[3], field[4],
                                   field[5]);
    return POSTAGE_OK;
}

int
postage_date_format(int64_t t, unsigned width, char out[13])
{
    int64_t y, mo, d;

    if (out == NULL || (width != 6 && width != 10 && width != 12) || t < 0 ||
        t > INT64_C(253402300799))
        return POSTAGE_ERR_INVALID;
    int64_t days = floor_div(t, 86400), secs = t - days * 86400;
    civil_from_days(days, &y, &mo, &d);
    char all[40]; /* roomy enough that the compiler can prove no truncation */
    snprintf(all, sizeof all, "%02d%02d%02d%02d%02d%02d", (int) (y % 100), (int) mo,
             (int) d, (int) (secs / 3600), (int) (secs / 60 % 60),
             (int) (secs % 60));
    memcpy(out, all, width);
    out[width] = '\0';
    return POSTAGE_OK;
}

int
postage_time_rfc3339(int64_t t, char out[21])
{
    int64_t y, mo, d;

    if (out == NULL || t < INT64_C(-62167219200) || t > INT64_C(253402300799))
        return POSTAGE_ERR_INVALID;
    int64_t days = floor_div(t, 86400), secs = t - days * 86400;
    civil_from_days(days, &y, &mo, &d);
    char all[64];
    snprintf(all, sizeof all, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int) y, (int) mo,
             (int) d, (int) (secs / 3600), (int) (secs / 60 % 60),
             (int) (secs % 60));
    memcpy(out, all, 21);
    return POSTAGE_OK;
}

int
postage_period_parse(const char *text, int64_t *out)
{
    static const int64_t ten_years = INT64_C(10) * 365 * 86400;
    int64_t n = 0, unit = 1;
    const char *p = text;

    if (text == NULL || out == NULL)
        return POSTAGE_ERR_INVALID;
    if (*p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return POSTAGE_ERR_INVALID;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n > ten_years)
            return POSTAGE_ERR_INVALID;
    }
    switch (*p) {
    case '\0':
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    case 'M': unit = 2628000; break;
    case 'y':
    case 'Y': unit = 365 * 86400; break;
    default: return POSTAGE_ERR_INVALID;
    }
    if (*p != '\0' && p[1] != '\0')
        return POSTAGE_ERR_INVALID;
    if (n > ten_years / unit)
        return POSTAGE_ERR_INVALID;
    *out = n * unit;
    return POSTAGE_OK;
}
