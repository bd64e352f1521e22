/* Printable forms of CQL types and serialized values (cqlsh style), for `rtetl cql` and logs.
 * Formatting follows snprintf: it always counts the full length and writes what fits. */
#include "cql/types_int.h"
#include "cql/wire.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cql_out_put(cql_out *o, const char *s, size_t n)
{
    if (o->len < o->size) {
        size_t room = o->size - o->len - 1;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
    if (o->size) o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

void cql_out_printf(cql_out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) cql_out_put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void out_str(cql_out *o, const char *s)
{
    cql_out_put(o, s, strlen(s));
}

static const char *simple_type_name(cql_type_id id)
{
    switch (id) {
    case CQL_TYPE_ASCII: return "ascii";
    case CQL_TYPE_BIGINT: return "bigint";
    case CQL_TYPE_BLOB: return "blob";
    case CQL_TYPE_BOOLEAN: return "boolean";
    case CQL_TYPE_COUNTER: return "counter";
    case CQL_TYPE_DECIMAL: return "decimal";
    case CQL_TYPE_DOUBLE: return "double";
    case CQL_TYPE_FLOAT: return "float";
    case CQL_TYPE_INT: return "int";
    case CQL_TYPE_TIMESTAMP: return "timestamp";
    case CQL_TYPE_UUID: return "uuid";
    case CQL_TYPE_VARCHAR: return "text";
    case CQL_TYPE_VARINT: return "varint";
    case CQL_TYPE_TIMEUUID: return "timeuuid";
    case CQL_TYPE_INET: return "inet";
    case CQL_TYPE_DATE: return "date";
    case CQL_TYPE_TIME: return "time";
    case CQL_TYPE_SMALLINT: return "smallint";
    case CQL_TYPE_TINYINT: return "tinyint";
    case CQL_TYPE_DURATION: return "duration";
    default: return NULL;
    }
}

static void type_out(cql_out *o, const cql_type *t)
{
    const char *simple = simple_type_name(t->id);
    if (simple) return out_str(o, simple);
    switch (t->id) {
    case CQL_TYPE_CUSTOM: cql_out_printf(o, "'%s'", t->name ? t->name : "?"); return;
    case CQL_TYPE_UDT: out_str(o, t->name ? t->name : "?"); return;
    case CQL_TYPE_LIST: out_str(o, "list<"); break;
    case CQL_TYPE_SET: out_str(o, "set<"); break;
    case CQL_TYPE_MAP: out_str(o, "map<"); break;
    case CQL_TYPE_TUPLE: out_str(o, "tuple<"); break;
    default: out_str(o, "?"); return;
    }
    for (uint16_t i = 0; i < t->nsub; i++) {
        if (i) out_str(o, ", ");
        type_out(o, &t->sub[i]);
    }
    out_str(o, ">");
}

int cql_type_format(const cql_type *type, char *buf, size_t size)
{
    cql_out o = {buf, size, 0};
    if (size) buf[0] = '\0';
    type_out(&o, type);
    return (int)o.len;
}

/* ---- scalars ----------------------------------------------------------------------------- */

static void out_double(cql_out *o, double d, int maxprec)
{
    if (isnan(d)) return out_str(o, "NaN");
    if (isinf(d)) return out_str(o, d > 0 ? "Infinity" : "-Infinity");
    char tmp[64];
    /* The shortest precision that reads back to the same value. */
    for (int p = 1; p <= maxprec; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, d);
        if (maxprec <= 9 ? (float)strtod(tmp, NULL) == (float)d : strtod(tmp, NULL) == d) break;
    }
    out_str(o, tmp);
}

static void out_timestamp(cql_out *o, int64_t ms)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) frac += 1000, secs -= 1;
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return cql_out_printf(o, "%" PRId64, ms);
    cql_out_printf(o, "%04d-%02d-%02d %02d:%02d:%02d.%03d000+0000", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

static void out_date(cql_out *o, uint32_t raw)
{
    int64_t days = (int64_t)raw - ((int64_t)1 << 31);
    time_t t = (time_t)(days * 86400);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return cql_out_printf(o, "%" PRId64, days);
    cql_out_printf(o, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void out_time(cql_out *o, int64_t ns)
{
    int64_t s = ns / 1000000000;
    cql_out_printf(o, "%02d:%02d:%02d.%09d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60),
                   (int)(ns % 1000000000));
}

static void out_uuid(cql_out *o, const uint8_t *p)
{
    static const char hex[] = "0123456789abcdef";
    char s[37];
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s[j++] = '-';
        s[j++] = hex[p[i] >> 4];
        s[j++] = hex[p[i] & 15];
    }
    cql_out_put(o, s, 36);
}

static void out_hex(cql_out *o, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    out_str(o, "0x");
    for (size_t i = 0; i < n; i++) {
        char b[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        cql_out_put(o, b, 2);
    }
}

/* A quoted string inside a collection: 'it''s'. */
static void out_quoted(cql_out *o, const uint8_t *p, size_t n)
{
    cql_out_put(o, "'", 1);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\'') cql_out_put(o, "'", 1);
        cql_out_put(o, (const char *)p + i, 1);
    }
    cql_out_put(o, "'", 1);
}

static int64_t be_signed(const uint8_t *p, int32_t n)
{
    uint64_t v = (n > 0 && (p[0] & 0x80)) ? UINT64_MAX : 0;
    for (int32_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return (int64_t)v;
}

static int out_scalar(cql_out *o, cql_type_id id, const uint8_t *p, int32_t n, bool nested)
{
    switch (id) {
    case CQL_TYPE_ASCII:
    case CQL_TYPE_VARCHAR:
        if (nested)
            out_quoted(o, p, (size_t)n);
        else
            cql_out_put(o, (const char *)p, (size_t)n);
        return 0;
    case CQL_TYPE_BLOB:
    case CQL_TYPE_CUSTOM: out_hex(o, p, (size_t)n); return 0;
    case CQL_TYPE_BOOLEAN:
        if (n != 1) return CQL_E_DECODE;
        out_str(o, p[0] ? "True" : "False");
        return 0;
    case CQL_TYPE_TINYINT:
    case CQL_TYPE_SMALLINT:
    case CQL_TYPE_INT:
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER: {
        int32_t want = id == CQL_TYPE_TINYINT    ? 1
                       : id == CQL_TYPE_SMALLINT ? 2
                       : id == CQL_TYPE_INT      ? 4
                                                 : 8;
        if (n != want) return CQL_E_DECODE;
        cql_out_printf(o, "%" PRId64, be_signed(p, n));
        return 0;
    }
    case CQL_TYPE_FLOAT: {
        if (n != 4) return CQL_E_DECODE;
        uint32_t u = cql_get_be32(p);
        float f;
        memcpy(&f, &u, 4);
        out_double(o, f, 9);
        return 0;
    }
    case CQL_TYPE_DOUBLE: {
        if (n != 8) return CQL_E_DECODE;
        uint64_t u = cql_get_be64(p);
        double d;
        memcpy(&d, &u, 8);
        out_double(o, d, 17);
        return 0;
    }
    case CQL_TYPE_TIMESTAMP:
        if (n != 8) return CQL_E_DECODE;
        out_timestamp(o, (int64_t)cql_get_be64(p));
        return 0;
    case CQL_TYPE_DATE:
        if (n != 4) return CQL_E_DECODE;
        out_date(o, cql_get_be32(p));
        return 0;
    case CQL_TYPE_TIME: {
        int64_t ns = n == 8 ? (int64_t)cql_get_be64(p) : -1;
        if (ns < 0 || ns >= 86400LL * 1000000000LL) return CQL_E_DECODE;
        out_time(o, ns);
        return 0;
    }
    case CQL_TYPE_UUID:
    case CQL_TYPE_TIMEUUID:
        if (n != 16) return CQL_E_DECODE;
        out_uuid(o, p);
        return 0;
    case CQL_TYPE_INET: {
        char ip[INET6_ADDRSTRLEN];
        if (n != 4 && n != 16) return CQL_E_DECODE;
        inet_ntop(n == 4 ? AF_INET : AF_INET6, p, ip, sizeof ip);
        out_str(o, ip);
        return 0;
    }
    case CQL_TYPE_VARINT: return cql_out_varint(o, p, n, 0);
    case CQL_TYPE_DECIMAL:
        if (n < 4) return CQL_E_DECODE;
        return cql_out_varint(o, p + 4, n - 4, (int32_t)cql_get_be32(p));
    case CQL_TYPE_DURATION: return cql_out_duration(o, p, n);
    default: return CQL_E_DECODE;
    }
}

/* ---- collections ------------------------------------------------------------------------- */

static int out_value(cql_out *o, const cql_type *t, const uint8_t *p, int32_t n, bool nested,
                     int depth);

static int out_elems(cql_out *o, const cql_type *t, cql_rd *r, int depth)
{
    bool map = t->id == CQL_TYPE_MAP;
    if (t->nsub < (map ? 2 : 1)) return CQL_E_DECODE;
    int32_t count = cql_rd_i32(r);
    if (r->err || count < 0) return CQL_E_DECODE;
    out_str(o, t->id == CQL_TYPE_LIST ? "[" : "{");
    for (int32_t i = 0; i < count; i++) {
        if (i) out_str(o, ", ");
        for (int k = 0; k < (map ? 2 : 1); k++) {
            if (k) out_str(o, ": ");
            cql_value e = cql_rd_bytes(r);
            if (r->err) return CQL_E_DECODE;
            int rc = out_value(o, &t->sub[k], e.ptr, e.len, true, depth + 1);
            if (rc) return rc;
        }
    }
    out_str(o, t->id == CQL_TYPE_LIST ? "]" : "}");
    return cql_rd_left(r) ? CQL_E_DECODE : 0;
}

/* Tuples and UDTs: a sequence of [bytes]; a UDT value may omit trailing fields. */
static int out_fields(cql_out *o, const cql_type *t, cql_rd *r, int depth)
{
    bool udt = t->id == CQL_TYPE_UDT;
    out_str(o, udt ? "{" : "(");
    for (uint16_t i = 0; i < t->nsub && cql_rd_left(r) > 0; i++) {
        if (i) out_str(o, ", ");
        if (udt) cql_out_printf(o, "%s: ", t->field_names ? t->field_names[i] : "?");
        cql_value e = cql_rd_bytes(r);
        if (r->err) return CQL_E_DECODE;
        int rc = out_value(o, &t->sub[i], e.ptr, e.len, true, depth + 1);
        if (rc) return rc;
    }
    out_str(o, udt ? "}" : ")");
    return cql_rd_left(r) ? CQL_E_DECODE : 0;
}

static int out_value(cql_out *o, const cql_type *t, const uint8_t *p, int32_t n, bool nested,
                     int depth)
{
    if (n < 0) {
        out_str(o, "null");
        return 0;
    }
    if (depth > 32) return CQL_E_DECODE;
    cql_rd r = cql_rd_make(p, (size_t)n);
    switch (t->id) {
    case CQL_TYPE_LIST:
    case CQL_TYPE_SET:
    case CQL_TYPE_MAP: return out_elems(o, t, &r, depth);
    case CQL_TYPE_TUPLE:
    case CQL_TYPE_UDT: return out_fields(o, t, &r, depth);
    default: return out_scalar(o, t->id, p, n, nested);
    }
}

int cql_value_format(const cql_type *type, const uint8_t *bytes, int32_t len, char *buf,
                     size_t size)
{
    cql_out o = {buf, size, 0};
    if (size) buf[0] = '\0';
    if (len > 0 && !bytes) return CQL_E_DECODE;
    int rc = out_value(&o, type, bytes, len, false, 0);
    if (rc) {
        if (size) buf[0] = '\0';
        return rc;
    }
    return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}
