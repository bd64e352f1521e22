/* Text to serialized value for binding: parses the text forms cqlsh prints and the forms JSON
 * sources produce (numbers, ISO-8601 timestamps ...) straight into caller storage. */
#include "cql/wire.h"
#include "util/isotime.h"

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

static bool all_digits(const char *t)
{
    if (*t == '-') t++;
    if (!*t) return false;
    for (; *t; t++)
        if (*t < '0' || *t > '9') return false;
    return true;
}

static int parse_timestamp(const char *s, size_t len, int64_t *ms)
{
    if (parse_int(s, len, INT64_MIN, INT64_MAX, ms) == 0) return 0;
    return iso_parse_timestamp(s, len, ms) ? CQL_E_INVAL : 0;
}

/* A date: "[-]yyyy-mm-dd", or digits giving the serialized unsigned day number as Cassandra
 * takes them (2^31 is 1970-01-01). Writes the 4 serialized bytes. */
static int parse_date_value(const char *s, size_t len, uint8_t *out)
{
    char t[32];
    const char *p = t;
    int64_t v;
    if (!token(s, len, t, sizeof t)) return CQL_E_INVAL;
    if (all_digits(t)) {
        if (parse_int(t, strlen(t), 0, UINT32_MAX, &v)) return CQL_E_INVAL;
        cql_put_be32(out, (uint32_t)v);
        return 0;
    }
    if (iso_parse_date(&p, &v) || *p) return CQL_E_INVAL;
    cql_value_date(out, (int32_t)v);
    return 0;
}

/* A time: digits of nanoseconds, or "H[H]:M[M]:S[S][.f{1,9}]" with blanks around it ignored
 * (as Cassandra trims clock text, not digits). */
static int parse_time_value(const char *s, size_t len, int64_t *ns)
{
    char t[48];
    if (!token(s, len, t, sizeof t)) return CQL_E_INVAL;
    if (all_digits(t)) return parse_int(t, len, 0, 86400000000000LL - 1, ns);
    const char *p = t;
    /* Blanks (as Java's trim sees them: controls and space) go from clock text only. */
    while (*p && (unsigned char)*p <= ' ') p++;
    while (len && (unsigned char)t[len - 1] <= ' ') t[--len] = '\0';
    return iso_parse_clock(&p, false, ns) || *p ? CQL_E_INVAL : 0;
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
    int rc;
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
    case CQL_TYPE_DATE:
        if ((rc = parse_date_value(s, len, out))) return rc;
        return *n = 4, 0;
    case CQL_TYPE_TIME:
        if ((rc = parse_time_value(s, len, &i))) return rc;
        cql_put_be64(out, (uint64_t)i);
        return *n = 8, 0;
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
