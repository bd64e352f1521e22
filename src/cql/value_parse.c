/* Text to serialized value for binding: parses the text forms cqlsh prints and the forms JSON
 * sources produce (numbers, ISO-8601 timestamps ...) straight into caller storage. */
#include "cql/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies a short token into a terminated buffer; false when it does not fit or has a NUL. */
static bool token(const char *s, size_t len, char *out, size_t cap)
{
    if (len >= cap || memchr(s, '\0', len)) return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

static int parse_int(const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out)
{
    char t[32], *end;
    if (!token(s, len, t, sizeof t) || !t[0]) return CQL_E_INVAL;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (errno || *end || v < lo || v > hi) return CQL_E_INVAL;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (era-based civil-day arithmetic). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_date(const char *t, int64_t *days, int *used)
{
    long long y;
    int m, d, n = 0;
    if (sscanf(t, "%5lld-%2d-%2d%n", &y, &m, &d, &n) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return CQL_E_INVAL;
    *days = days_from_civil(y, m, d);
    *used = n;
    return 0;
}

/* "HH:MM[:SS[.fffffffff]]" -> nanoseconds since midnight. */
static int parse_clock(const char *t, int64_t *ns, int *used)
{
    int h, mi, sec = 0, n = 0, n2 = 0;
    if (sscanf(t, "%2d:%2d%n:%2d%n", &h, &mi, &n, &sec, &n2) < 2) return CQL_E_INVAL;
    if (n2) n = n2;
    if (h > 23 || mi > 59 || sec > 59 || h < 0 || mi < 0 || sec < 0) return CQL_E_INVAL;
    int64_t frac = 0, scale = 100000000;
    if (t[n] == '.') {
        for (n++; t[n] >= '0' && t[n] <= '9'; n++, scale /= 10)
            if (scale) frac += (t[n] - '0') * scale;
    }
    *ns = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000000LL + frac;
    *used = n;
    return 0;
}

/* "Z", "+hh:mm", "+hhmm", "-hh" or nothing (UTC) -> offset in minutes. */
static int parse_zone(const char *t, int *minutes)
{
    *minutes = 0;
    if (!*t || strcmp(t, "Z") == 0 || strcmp(t, "z") == 0) return 0;
    int h = 0, m = 0;
    if ((t[0] != '+' && t[0] != '-') || strlen(t) < 3) return CQL_E_INVAL;
    if (sscanf(t + 1, "%2d:%2d", &h, &m) < 1 && sscanf(t + 1, "%2d%2d", &h, &m) < 1)
        return CQL_E_INVAL;
    *minutes = (h * 60 + m) * (t[0] == '-' ? -1 : 1);
    return 0;
}

static int parse_timestamp(const char *s, size_t len, int64_t *ms)
{
    char t[64];
    int64_t days, ns = 0;
    int used = 0, used2 = 0, zone = 0;
    if (parse_int(s, len, INT64_MIN, INT64_MAX, ms) == 0) return 0;
    if (!token(s, len, t, sizeof t) || parse_date(t, &days, &used)) return CQL_E_INVAL;
    if (t[used] == 'T' || t[used] == ' ') {
        if (parse_clock(t + used + 1, &ns, &used2)) return CQL_E_INVAL;
        used += 1 + used2;
    }
    if (parse_zone(t + used, &zone)) return CQL_E_INVAL;
    *ms = days * 86400000LL + ns / 1000000 - (int64_t)zone * 60000;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_uuid(const char *s, size_t len, uint8_t *out)
{
    if (len != 36) return CQL_E_INVAL;
    int j = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return CQL_E_INVAL;
            continue;
        }
        int h = hexval(s[i]), l = hexval(s[++i]);
        if (h < 0 || l < 0) return CQL_E_INVAL;
        out[j++] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

static int parse_blob(const char *s, size_t len, uint8_t *out, size_t cap, int32_t *n)
{
    if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || len % 2) return CQL_E_INVAL;
    size_t bytes = (len - 2) / 2;
    if (bytes > cap) return CQL_E_TOO_LARGE;
    for (size_t i = 0; i < bytes; i++) {
        int h = hexval(s[2 + 2 * i]), l = hexval(s[3 + 2 * i]);
        if (h < 0 || l < 0) return CQL_E_INVAL;
        out[i] = (uint8_t)(h << 4 | l);
    }
    *n = (int32_t)bytes;
    return 0;
}

/* Decimal digits -> minimal two's-complement big-endian bytes in out. */
static int digits_to_varint(const char *d, size_t nd, bool neg, uint8_t *out, size_t cap,
                            int32_t *n)
{
    size_t len = 1;
    if (cap < 1) return CQL_E_TOO_LARGE;
    memset(out, 0, cap);
    /* Magnitude little-endian in out, multiplied by 10 and added digit by digit. */
    for (size_t i = 0; i < nd; i++) {
        unsigned carry = (unsigned)(d[i] - '0');
        for (size_t k = 0; k < len; k++) {
            unsigned v = out[k] * 10u + carry;
            out[k] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry) {
            if (len >= cap) return CQL_E_TOO_LARGE;
            out[len++] = (uint8_t)carry;
        }
    }
    if (out[len - 1] & 0x80) { /* room for the sign bit */
        if (len >= cap) return CQL_E_TOO_LARGE;
        out[len++] = 0;
    }
    if (neg) { /* two's complement: invert, add one */
        unsigned carry = 1;
        for (size_t k = 0; k < len; k++) {
            unsigned v = (uint8_t)~out[k] + carry;
            out[k] = (uint8_t)v;
            carry = v >> 8;
        }
        while (len > 1 && out[len - 1] == 0xFF && (out[len - 2] & 0x80)) len--;
    }
    for (size_t k = 0; k < len / 2; k++) {
        uint8_t t = out[k];
        out[k] = out[len - 1 - k];
        out[len - 1 - k] = t;
    }
    *n = (int32_t)len;
    return 0;
}

/* [-]digits[.digits][e[+-]N] -> decimal (4-byte scale + varint) or, with no point, varint. */
static int parse_decimal(const char *s, size_t len, bool decimal, uint8_t *out, size_t cap,
                         int32_t *n)
{
    char digits[512];
    size_t nd = 0, i = 0;
    int32_t scale = 0;
    bool neg = false, any = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    for (bool frac = false; i < len; i++) {
        if (s[i] == '.' && decimal && !frac) {
            frac = true;
        } else if (s[i] >= '0' && s[i] <= '9') {
            if (nd >= sizeof digits) return CQL_E_INVAL;
            digits[nd++] = s[i];
            any = true;
            scale += frac;
        } else {
            break;
        }
    }
    if (i < len && decimal && (s[i] == 'e' || s[i] == 'E')) {
        int64_t e;
        if (parse_int(s + i + 1, len - i - 1, -100000, 100000, &e)) return CQL_E_INVAL;
        scale -= (int32_t)e;
        i = len;
    }
    if (!any || i != len) return CQL_E_INVAL;
    if (!decimal) return digits_to_varint(digits, nd, neg, out, cap, n);
    if (cap < 5) return CQL_E_TOO_LARGE;
    cql_put_be32(out, (uint32_t)scale);
    int rc = digits_to_varint(digits, nd, neg, out + 4, cap - 4, n);
    *n += 4;
    return rc;
}

static int parse_float(const char *s, size_t len, double *out)
{
    char t[64], *end;
    if (!token(s, len, t, sizeof t) || !t[0]) return CQL_E_INVAL;
    if (strcasecmp(t, "nan") == 0) return *out = NAN, 0;
    if (strcasecmp(t, "infinity") == 0) return *out = INFINITY, 0;
    if (strcasecmp(t, "-infinity") == 0) return *out = -INFINITY, 0;
    *out = strtod(t, &end);
    return *end ? CQL_E_INVAL : 0;
}

static int parse_inet(const char *s, size_t len, uint8_t *out, int32_t *n)
{
    char t[64];
    if (!token(s, len, t, sizeof t)) return CQL_E_INVAL;
    if (inet_pton(AF_INET, t, out) == 1) return *n = 4, 0;
    if (inet_pton(AF_INET6, t, out) == 1) return *n = 16, 0;
    return CQL_E_INVAL;
}

static int parse_scalar(cql_type_id id, const char *s, size_t len, uint8_t *out, size_t cap,
                        int32_t *n)
{
    int64_t i = 0;
    double d = 0;
    int rc, used;
    switch (id) {
    case CQL_TYPE_BOOLEAN:
        if ((len == 4 && strncasecmp(s, "true", 4) == 0) || (len == 1 && s[0] == '1'))
            i = 1;
        else if (!((len == 5 && strncasecmp(s, "false", 5) == 0) || (len == 1 && s[0] == '0')))
            return CQL_E_INVAL;
        out[0] = (uint8_t)i;
        return *n = 1, 0;
    case CQL_TYPE_TINYINT:
        if ((rc = parse_int(s, len, INT8_MIN, INT8_MAX, &i))) return rc;
        out[0] = (uint8_t)i;
        return *n = 1, 0;
    case CQL_TYPE_SMALLINT:
        if ((rc = parse_int(s, len, INT16_MIN, INT16_MAX, &i))) return rc;
        cql_put_be16(out, (uint16_t)i);
        return *n = 2, 0;
    case CQL_TYPE_INT:
        if ((rc = parse_int(s, len, INT32_MIN, INT32_MAX, &i))) return rc;
        cql_put_be32(out, (uint32_t)i);
        return *n = 4, 0;
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER:
        if ((rc = parse_int(s, len, INT64_MIN, INT64_MAX, &i))) return rc;
        cql_put_be64(out, (uint64_t)i);
        return *n = 8, 0;
    case CQL_TYPE_TIMESTAMP:
        if ((rc = parse_timestamp(s, len, &i))) return rc;
        cql_put_be64(out, (uint64_t)i);
        return *n = 8, 0;
    case CQL_TYPE_FLOAT:
    case CQL_TYPE_DOUBLE:
        if ((rc = parse_float(s, len, &d))) return rc;
        if (id == CQL_TYPE_DOUBLE) return cql_value_double(out, d), *n = 8, 0;
        return cql_value_float(out, (float)d), *n = 4, 0;
    case CQL_TYPE_DATE: {
        char t[32];
        if (!token(s, len, t, sizeof t) || parse_date(t, &i, &used) || t[used]) return CQL_E_INVAL;
        cql_value_date(out, (int32_t)i);
        return *n = 4, 0;
    }
    case CQL_TYPE_TIME: {
        char t[32];
        if (!token(s, len, t, sizeof t) || parse_clock(t, &i, &used) || t[used]) return CQL_E_INVAL;
        cql_put_be64(out, (uint64_t)i);
        return *n = 8, 0;
    }
    case CQL_TYPE_UUID:
    case CQL_TYPE_TIMEUUID:
        if ((rc = parse_uuid(s, len, out))) return rc;
        return *n = 16, 0;
    case CQL_TYPE_INET: return parse_inet(s, len, out, n);
    default: return CQL_E_INVAL;
    }
}

int cql_value_from_text(const cql_type *type, const char *text, size_t len, uint8_t *out,
                        size_t cap, cql_value *v)
{
    int32_t n = 0;
    int rc;
    switch (type->id) {
    case CQL_TYPE_ASCII:
    case CQL_TYPE_VARCHAR:
        if (len > INT32_MAX) return CQL_E_TOO_LARGE;
        v->ptr = (const uint8_t *)text;
        v->len = (int32_t)len;
        return 0;
    case CQL_TYPE_BLOB: rc = parse_blob(text, len, out, cap, &n); break;
    case CQL_TYPE_VARINT: rc = parse_decimal(text, len, false, out, cap, &n); break;
    case CQL_TYPE_DECIMAL: rc = parse_decimal(text, len, true, out, cap, &n); break;
    default:
        /* Fixed-size scalars need at most 16 bytes. */
        if (cap < 16) return CQL_E_TOO_LARGE;
        rc = parse_scalar(type->id, text, len, out, cap, &n);
    }
    if (rc) return rc;
    v->ptr = out;
    v->len = n;
    return 0;
}
