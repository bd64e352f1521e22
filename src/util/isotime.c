/* ISO-8601 dates and timestamps with Cassandra's rules (see isotime.h). Civil-day arithmetic is
 * the era-based kind (exact for every proleptic Gregorian date, no tables, no time zone
 * database), so nothing here depends on the process's TZ or locale. */
#include "util/isotime.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int64_t iso_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void iso_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads min..max decimal digits at *p into *out and advances; false (nothing consumed) when
 * fewer than min are there. More digits than max are left for the caller to reject. */
static bool digits(const char **p, int min, int max, int64_t *out)
{
    int n = 0;
    int64_t v = 0;
    while (n < max && (*p)[n] >= '0' && (*p)[n] <= '9') v = v * 10 + ((*p)[n++] - '0');
    if (n < min) return false;
    *p += n;
    *out = v;
    return true;
}

static bool eat(const char **p, char c)
{
    if (**p != c) return false;
    (*p)++;
    return true;
}

static int days_in_month(int64_t y, int64_t m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Cassandra's date type rejects 02-30; its timestamp parser moves it to the month's last day,
 * which would store a value nobody wrote: refused in both. */
int iso_parse_date(const char **p, int64_t *days)
{
    int64_t y, m, d;
    bool neg = eat(p, '-');
    if (!digits(p, 4, 4, &y) || !eat(p, '-') || !digits(p, 2, 2, &m) || !eat(p, '-') ||
        !digits(p, 2, 2, &d) || m < 1 || m > 12 || d < 1 || d > days_in_month(neg ? -y : y, m))
        return -1;
    *days = iso_days_from_civil(neg ? -y : y, (int)m, (int)d);
    return 0;
}

int iso_parse_clock(const char **p, bool timestamp, int64_t *ns)
{
    int64_t h, mi, sec = 0, frac = 0, scale = 100000000;
    if (!digits(p, 1, 2, &h) || !eat(p, ':') || !digits(p, 1, 2, &mi)) return -1;
    if (eat(p, ':')) {
        if (!digits(p, 1, 2, &sec)) return -1;
        if (eat(p, '.')) {
            int n = 0;
            for (; **p >= '0' && **p <= '9'; (*p)++, n++, scale /= 10)
                if (n < 9) frac += (**p - '0') * scale;
            if (n > 9 || (n == 0 && !timestamp)) return -1;
        }
    } else if (!timestamp) {
        return -1;
    }
    bool midnight = timestamp && h == 24 && mi == 0 && sec == 0 && frac == 0;
    if ((h > 23 && !midnight) || mi > 59 || sec > 59) return -1;
    *ns = (h * 3600 + mi * 60 + sec) * 1000000000LL + frac;
    return 0;
}

int iso_parse_zone(const char *t, int64_t *minutes)
{
    *minutes = 0;
    if (!*t) return 0;
    bool space = eat(&t, ' ');
    if (space && (strcmp(t, "UTC") == 0 || strcmp(t, "GMT") == 0)) return 0;
    if (strcmp(t, "Z") == 0) return 0;
    int64_t h, m = 0;
    int sign = *t == '-' ? -1 : 1;
    if ((!eat(&t, '+') && !eat(&t, '-')) || !digits(&t, 2, 2, &h)) return -1;
    if (*t && (eat(&t, ':'), !digits(&t, 2, 2, &m))) return -1;
    if (*t || m > 59 || h * 60 + m > 18 * 60) return -1;
    *minutes = sign * (h * 60 + m);
    return 0;
}

int iso_parse_timestamp(const char *s, size_t len, int64_t *ms)
{
    char t[64];
    const char *p = t;
    int64_t days, ns = 0, zone = 0;
    if (len >= sizeof t || memchr(s, '\0', len)) return -1;
    memcpy(t, s, len);
    t[len] = '\0';
    if (iso_parse_date(&p, &days)) return -1;
    if (*p == 'T' || (*p == ' ' && p[1] >= '0' && p[1] <= '9')) {
        p++;
        if (iso_parse_clock(&p, true, &ns)) return -1;
    }
    if (iso_parse_zone(p, &zone)) return -1;
    *ms = days * 86400000LL + ns / 1000000 - zone * 60000;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

size_t iso_format_date(int64_t days, char *buf, size_t buflen)
{
    int64_t y;
    int m, d;
    iso_civil_from_days(days, &y, &m, &d);
    int n =
        snprintf(buf, buflen, "%s%04" PRId64 "-%02d-%02d", y < 0 ? "-" : "", y < 0 ? -y : y, m, d);
    return n < 0 ? 0 : (size_t)n;
}

size_t iso_format_timestamp(int64_t ms, char *buf, size_t buflen)
{
    int64_t days = floor_div(ms, 86400000LL), rem = ms - days * 86400000LL;
    char date[32];
    iso_format_date(days, date, sizeof date);
    int n = snprintf(buf, buflen, "%sT%02d:%02d:%02d.%03dZ", date, (int)(rem / 3600000),
                     (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
    return n < 0 ? 0 : (size_t)n;
}
