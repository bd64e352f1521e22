/* Value builders, decoders and the text-to-value parser used to bind JSON/text fields, plus the
 * arbitrary-precision (varint, decimal) and duration formatters. */
#include "cql/types_int.h"
#include "cql/wire.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

cql_value cql_value_null(void)
{
    cql_value v = {NULL, CQL_NULL};
    return v;
}

cql_value cql_value_unset(void)
{
    cql_value v = {NULL, CQL_UNSET};
    return v;
}

cql_value cql_value_blob(const void *bytes, size_t len)
{
    cql_value v = {bytes, (int32_t)len};
    return v;
}

cql_value cql_value_text(const char *s)
{
    return s ? cql_value_blob(s, strlen(s)) : cql_value_null();
}

cql_value cql_value_int(uint8_t out[4], int32_t v)
{
    cql_put_be32(out, (uint32_t)v);
    return cql_value_blob(out, 4);
}

cql_value cql_value_bigint(uint8_t out[8], int64_t v)
{
    cql_put_be64(out, (uint64_t)v);
    return cql_value_blob(out, 8);
}

cql_value cql_value_smallint(uint8_t out[2], int16_t v)
{
    cql_put_be16(out, (uint16_t)v);
    return cql_value_blob(out, 2);
}

cql_value cql_value_tinyint(uint8_t out[1], int8_t v)
{
    out[0] = (uint8_t)v;
    return cql_value_blob(out, 1);
}

cql_value cql_value_boolean(uint8_t out[1], bool v)
{
    out[0] = v ? 1 : 0;
    return cql_value_blob(out, 1);
}

cql_value cql_value_float(uint8_t out[4], float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    cql_put_be32(out, u);
    return cql_value_blob(out, 4);
}

cql_value cql_value_double(uint8_t out[8], double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    cql_put_be64(out, u);
    return cql_value_blob(out, 8);
}

cql_value cql_value_date(uint8_t out[4], int32_t days)
{
    cql_put_be32(out, (uint32_t)((int64_t)days + ((int64_t)1 << 31)));
    return cql_value_blob(out, 4);
}

int cql_value_get_int(cql_value v, int32_t *out)
{
    if (v.len != 4 || !v.ptr) return CQL_E_DECODE;
    *out = (int32_t)cql_get_be32(v.ptr);
    return 0;
}

int cql_value_get_bigint(cql_value v, int64_t *out)
{
    if (v.len != 8 || !v.ptr) return CQL_E_DECODE;
    *out = (int64_t)cql_get_be64(v.ptr);
    return 0;
}

int cql_value_get_double(cql_value v, double *out)
{
    if (v.len != 8 || !v.ptr) return CQL_E_DECODE;
    uint64_t u = cql_get_be64(v.ptr);
    memcpy(out, &u, 8);
    return 0;
}

int cql_value_get_boolean(cql_value v, bool *out)
{
    if (v.len != 1 || !v.ptr) return CQL_E_DECODE;
    *out = v.ptr[0] != 0;
    return 0;
}

/* ---- varint, decimal, duration formatting ------------------------------------------------- */

int cql_out_varint(cql_out *o, const uint8_t *p, int32_t n, int32_t scale)
{
    if (n <= 0 || n > 4096 || scale > 10000 || scale < -10000) return CQL_E_DECODE;
    uint8_t *mag = malloc((size_t)n);
    char *digits = malloc((size_t)n * 3 + 2);
    if (!mag || !digits) {
        free(mag);
        free(digits);
        return CQL_E_NOMEM;
    }
    bool neg = p[0] & 0x80;
    /* Magnitude of a two's-complement number: invert and add one when negative. */
    unsigned carry = 1;
    for (int32_t i = n - 1; i >= 0; i--) {
        unsigned b = neg ? (unsigned)(uint8_t)~p[i] + carry : p[i];
        mag[i] = (uint8_t)b;
        carry = neg ? b >> 8 : 0;
    }
    size_t nd = 0;
    for (bool zero = false; !zero;) {
        unsigned rem = 0;
        zero = true;
        for (int32_t i = 0; i < n; i++) {
            unsigned cur = (rem << 8) | mag[i];
            mag[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            if (mag[i]) zero = false;
        }
        digits[nd++] = (char)('0' + rem);
    }
    /* digits[] holds the decimal digits least significant first; reverse them in place. */
    for (size_t i = 0; i < nd / 2; i++) {
        char t = digits[i];
        digits[i] = digits[nd - 1 - i];
        digits[nd - 1 - i] = t;
    }
    if (neg) cql_out_put(o, "-", 1);
    if (scale <= 0) {
        cql_out_put(o, digits, nd);
    } else if (nd > (size_t)scale) {
        cql_out_put(o, digits, nd - (size_t)scale);
        cql_out_put(o, ".", 1);
        cql_out_put(o, digits + nd - (size_t)scale, (size_t)scale);
    } else {
        cql_out_put(o, "0.", 2);
        for (size_t z = nd; z < (size_t)scale; z++) cql_out_put(o, "0", 1);
        cql_out_put(o, digits, nd);
    }
    if (scale < 0) cql_out_printf(o, "E+%ld", -(long)scale);
    free(mag);
    free(digits);
    return 0;
}

static bool rd_vint(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    if (*p >= end) return false;
    uint8_t first = **p;
    int extra = 0;
    while (extra < 8 && (first & (0x80 >> extra))) extra++;
    if (end - *p < 1 + extra) return false;
    uint64_t v = extra == 8 ? 0 : (first & (0xFF >> (extra + 1)));
    for (int i = 1; i <= extra; i++) v = (v << 8) | (*p)[i];
    *p += 1 + extra;
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return true;
}

int cql_out_duration(cql_out *o, const uint8_t *p, int32_t n)
{
    const uint8_t *end = p + n;
    int64_t months, days, nanos;
    if (!rd_vint(&p, end, &months) || !rd_vint(&p, end, &days) || !rd_vint(&p, end, &nanos) ||
        p != end)
        return CQL_E_DECODE;
    bool neg = months < 0 || days < 0 || nanos < 0;
    cql_out_printf(o, "%s%lldmo%lldd%lldns", neg ? "-" : "", llabs(months), llabs(days),
                   llabs(nanos));
    return 0;
}
