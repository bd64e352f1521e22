/* Spark-compatible text of non-string JSON values: Java's Double.toString and Jackson's
 * compact re-writing of objects and arrays.
 *
 * DESIGN: the reference (Spark's JacksonParser, `case StringType`) copies a non-string value
 * through a Jackson generator, so what it stores is a function of the parsed value, not of the
 * bytes: integers keep their digits, floats become a Java double printed by Double.toString,
 * strings are re-escaped and whitespace goes. Objects and arrays have been validated by the
 * decoder's skipper before they get here, so the re-writer is a flat loop with no error paths
 * but the number length limit and the output bound, and no stack: compacting does not need
 * to know which container it is in.
 *
 * Shortest digits come from the C library, which rounds correctly both ways (glibc's printf
 * and strtod do): the fewest significant digits p whose correctly rounded decimal reads back as
 * x is found by bisection (reading back is monotonic in p), except at a power of two, where
 * the rounding interval is lopsided and the decimal just above the rounded one may read back
 * when the rounded one does not; there every p is tried in turn with both. Java then prefers,
 * when one digit would do, the closest decimal of one or two digits (5e-324 -> 4.9E-324).
 * This costs a few printf/strtod calls per float, acceptable because floats in string fields
 * are rare; a Ryu-style printer would be the upgrade if they were not. The C locale's decimal
 * point is assumed (rtetl never calls setlocale). */
#include "pipeline/json_text.h"
#include "pipeline/json_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Double.toString ---------------------------------------------------------------------- */

/* A decimal: digits d[0..n-1] (no sign) and exponent e, value d[0].d[1..] x 10^e. */
typedef struct decimal {
    char d[24];
    int n, e;
} decimal;

/* x > 0 correctly rounded to p significant digits. */
static void round_to(double x, int p, decimal *out)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", p - 1, x); /* d.ddde+XX */
    out->n = 0;
    const char *s = buf;
    for (; *s != 'e'; s++)
        if (*s != '.') out->d[out->n++] = *s;
    out->e = atoi(s + 1);
}

static double value_of(const decimal *m)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%c.%.*se%d", m->d[0], m->n - 1, m->d + 1, m->e);
    return strtod(buf, NULL);
}

/* The next decimal up with the same number of digits (9.99 -> 1.00e+1). */
static void next_up(decimal *m)
{
    int i = m->n - 1;
    while (i >= 0 && m->d[i] == '9') m->d[i--] = '0';
    if (i >= 0) {
        m->d[i]++;
    } else {
        m->d[0] = '1';
        m->e++;
    }
}

/* The decimal Java prints for x > 0 (finite). */
static void shortest(double x, decimal *best)
{
    int mant, pow2;
    pow2 = frexp(x, &mant) == 0.5;
    int p = 1;
    if (!pow2) {
        int lo = 1, hi = 17;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            round_to(x, mid, best);
            if (value_of(best) == x)
                hi = mid;
            else
                lo = mid + 1;
        }
        p = lo;
        round_to(x, p, best);
    } else {
        for (;; p++) {
            round_to(x, p, best);
            if (value_of(best) == x || p == 17) break;
            decimal up = *best;
            next_up(&up);
            if (value_of(&up) == x) {
                *best = up;
                break;
            }
        }
    }
    if (p == 1) {
        /* Among the decimals of one or two digits that read back, Java takes the closest: the
         * correctly rounded two-digit one, when it reads back. */
        decimal two;
        round_to(x, 2, &two);
        if (value_of(&two) == x) *best = two;
    }
    while (best->n > 1 && best->d[best->n - 1] == '0') best->n--;
}

size_t pipe_json_double_text(double x, char *out)
{
    if (isnan(x)) return memcpy(out, "NaN", 3), 3;
    size_t o = 0;
    if (signbit(x)) out[o++] = '-', x = -x;
    if (isinf(x)) return memcpy(out + o, "Infinity", 8), o + 8;
    if (x == 0) return memcpy(out + o, "0.0", 3), o + 3;
    decimal m;
    shortest(x, &m);
    if (m.e >= -3 && m.e < 7) {
        /* Plain notation: at least one digit on each side of the point. */
        if (m.e < 0) {
            out[o++] = '0', out[o++] = '.';
            for (int i = -1; i > m.e; i--) out[o++] = '0';
            memcpy(out + o, m.d, (size_t)m.n), o += (size_t)m.n;
        } else {
            for (int i = 0; i <= m.e; i++) out[o++] = i < m.n ? m.d[i] : '0';
            out[o++] = '.';
            if (m.n > m.e + 1)
                memcpy(out + o, m.d + m.e + 1, (size_t)(m.n - m.e - 1)),
                    o += (size_t)(m.n - m.e - 1);
            else
                out[o++] = '0';
        }
        return o;
    }
    out[o++] = m.d[0], out[o++] = '.';
    if (m.n > 1)
        memcpy(out + o, m.d + 1, (size_t)(m.n - 1)), o += (size_t)(m.n - 1);
    else
        out[o++] = '0';
    return o + (size_t)snprintf(out + o, PIPE_JSON_DOUBLE_TEXT_MAX - o, "E%d", m.e);
}

/* ---- numbers ------------------------------------------------------------------------------ */

size_t pipe_json_number_len(const char *p, const char *end, int *integral)
{
    const char *s = p;
    *integral = 1;
    for (; s < end; s++) {
        char c = *s;
        if (c == '.' || c == 'e' || c == 'E')
            *integral = 0;
        else if (!((c >= '0' && c <= '9') || c == '-' || c == '+'))
            break;
    }
    return (size_t)(s - p);
}

size_t pipe_json_number_text(const char *p, size_t n, char *out)
{
    int integral;
    pipe_json_number_len(p, p + n, &integral);
    if (integral) {
        /* Jackson reads an integer into an int, long or BigInteger and writes that back, which
         * only changes "-0": JSON has no leading zeros or '+'. */
        if (n == 2 && p[0] == '-' && p[1] == '0') p++, n--;
        memcpy(out, p, n);
        return n;
    }
    char tmp[PIPE_JSON_MAX_NUMBER_LEN + 1];
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    double x = strtod(tmp, NULL);
    if (!isinf(x)) return pipe_json_double_text(x, out);
    /* Jackson's generator quotes non-finite numbers (QUOTE_NON_NUMERIC_NUMBERS is on). */
    size_t len = pipe_json_double_text(x, out + 1);
    out[0] = out[len + 1] = '"';
    return len + 2;
}

/* ---- compact re-writing ------------------------------------------------------------------- */

typedef struct writer {
    unsigned char *o;
    size_t len, cap;
} writer;

static int put(writer *w, const void *s, size_t n)
{
    if (w->cap - w->len < n) return -1;
    memcpy(w->o + w->len, s, n);
    w->len += n;
    return 0;
}

/* Writes \uXXXX with upper-case hex, as Jackson does. */
static int put_u(writer *w, unsigned u)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[6] = {'\\', 'u', hex[u >> 12 & 15], hex[u >> 8 & 15], hex[u >> 4 & 15], hex[u & 15]};
    return put(w, e, 6);
}

/* Writes code point cp inside a string the way Jackson's UTF-8 generator does. */
static int put_cp(writer *w, unsigned cp)
{
    static const char short_esc[32] = {
        ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};
    if (cp == '"' || cp == '\\') return put(w, (char[]){'\\', (char)cp}, 2);
    if (cp < 0x20) return short_esc[cp] ? put(w, (char[]){'\\', short_esc[cp]}, 2) : put_u(w, cp);
    if (cp >= 0x10000) {
        /* Jackson 2.15 writes a character beyond the BMP as its two escaped surrogates. */
        cp -= 0x10000;
        return put_u(w, 0xD800 + (cp >> 10)) || put_u(w, 0xDC00 + (cp & 0x3FF));
    }
    unsigned char u[4];
    return put(w, u, json_put_utf8(u, cp));
}

/* The code point of the escape \uXXXX at p (p[0] == '\\'), joining a surrogate pair; *len is
 * set to the escape's length (6 or 12). The escape must have been checked. */
static unsigned escaped_cp(const unsigned char *p, size_t *len)
{
    unsigned u = 0, lo = 0xDC00;
    json_hex4(p + 2, &u);
    *len = 6;
    if (u >= 0xD800 && u <= 0xDBFF) {
        json_hex4(p + 8, &lo);
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        *len = 12;
    }
    return u;
}

/* The code point of the raw UTF-8 sequence at p (already validated); *len its length. */
static unsigned raw_cp(const unsigned char *p, size_t *len)
{
    unsigned c = p[0];
    if (c < 0x80) return *len = 1, c;
    if (c < 0xE0) return *len = 2, (c & 0x1F) << 6 | (p[1] & 0x3F);
    if (c < 0xF0) return *len = 3, (c & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    *len = 4;
    return (c & 0x07) << 18 | (p[1] & 0x3F) << 12 | (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
}

/* Re-escapes the string whose opening quote is at p; returns the cursor after it, or NULL when
 * the output is full. */
static const unsigned char *put_string(writer *w, const unsigned char *p)
{
    static const unsigned char simple[128] = {
        ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
        ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
    if (put(w, "\"", 1)) return NULL;
    for (p++;;) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (put(w, run, (size_t)(p - run))) return NULL;
        if (*p == '"') return put(w, "\"", 1) ? NULL : p + 1;
        size_t len;
        unsigned cp;
        if (*p == '\\' && p[1] == 'u')
            cp = escaped_cp(p, &len);
        else if (*p == '\\')
            cp = simple[p[1]], len = 2;
        else
            cp = raw_cp(p, &len);
        if (put_cp(w, cp)) return NULL;
        p += len;
    }
}

size_t pipe_json_compact(const char *src, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)src, *end = p + n;
    writer w = {(unsigned char *)out, 0, cap};
    while (p < end) {
        unsigned c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
        } else if (c == '"') {
            if (!(p = put_string(&w, p))) return PIPE_JSON_NO_ROOM;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            int integral;
            size_t len = pipe_json_number_len((const char *)p, (const char *)end, &integral);
            if (len - (c == '-') > PIPE_JSON_MAX_NUMBER_LEN) return PIPE_JSON_NUMBER_TOO_LONG;
            if (w.cap - w.len < (len > PIPE_JSON_DOUBLE_TEXT_MAX ? len : PIPE_JSON_DOUBLE_TEXT_MAX))
                return PIPE_JSON_NO_ROOM;
            w.len += pipe_json_number_text((const char *)p, len, (char *)w.o + w.len);
            p += len;
        } else {
            /* Punctuation, and the letters of true, false and null. */
            if (put(&w, p++, 1)) return PIPE_JSON_NO_ROOM;
        }
    }
    return w.len;
}

/* ---- collections of strings --------------------------------------------------------------- */

/* The end of the compact JSON value at p (a string, number, literal, object or array). */
static const unsigned char *value_end(const unsigned char *p, const unsigned char *end)
{
    int depth = 0;
    do {
        if (*p == '"') {
            for (p++; *p != '"'; p++)
                if (*p == '\\') p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
        } else if (depth == 0) { /* a number or literal runs to the next punctuation */
            while (p + 1 < end && p[1] != ',' && p[1] != '}' && p[1] != ']' && p[1] != ':') p++;
        }
        p++;
    } while (depth > 0 && p < end);
    return p;
}

size_t pipe_json_string_items(const char *src, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)src, *end = p + n;
    writer w = {(unsigned char *)out, 0, cap};
    if (n < 2) return PIPE_JSON_NO_ROOM;
    int obj = *p == '{';
    if (put(&w, p++, 1)) return PIPE_JSON_NO_ROOM;
    while (p < end - 1) {
        if (obj) { /* the key, a string, and its ':' */
            const unsigned char *k = value_end(p, end);
            if (put(&w, p, (size_t)(k - p) + 1)) return PIPE_JSON_NO_ROOM;
            p = k + 1;
        }
        const unsigned char *e = value_end(p, end);
        if (*p == 'n') return PIPE_JSON_NULL_ITEM;
        if (*p == '"') {
            if (put(&w, p, (size_t)(e - p))) return PIPE_JSON_NO_ROOM;
        } else {
            /* Quoted, with the quotes and backslashes of nested text escaped. */
            if (put(&w, "\"", 1)) return PIPE_JSON_NO_ROOM;
            for (const unsigned char *c = p; c < e; c++)
                if (((*c == '"' || *c == '\\') && put(&w, "\\", 1)) || put(&w, c, 1))
                    return PIPE_JSON_NO_ROOM;
            if (put(&w, "\"", 1)) return PIPE_JSON_NO_ROOM;
        }
        p = e;
        if (p < end - 1 && put(&w, p++, 1)) return PIPE_JSON_NO_ROOM; /* the ',' */
    }
    return put(&w, end - 1, 1) ? PIPE_JSON_NO_ROOM : w.len;
}

/* ---- reading JSON text that may not be valid ----------------------------------------------- */

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

const char *pipe_json_read_string(const char *p, const char *end, char *out, size_t *len)
{
    static const unsigned char simple[128] = {
        ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
        ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
    size_t o = 0;
    if (p >= end || *p != '"') return NULL;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            if (len) *len = o;
            return p + 1;
        }
        if (c < 0x20) return NULL;
        if (c != '\\') {
            if (out) out[o] = (char)c;
            o++;
            continue;
        }
        if (end - p < 2) return NULL;
        unsigned char e = (unsigned char)p[1];
        if (e != 'u') {
            if (e >= 128 || !simple[e]) return NULL;
            if (out) out[o] = (char)simple[e];
            o++, p++;
            continue;
        }
        unsigned u, lo;
        if (end - p < 6 || json_hex4((const unsigned char *)p + 2, &u)) return NULL;
        p += 5;
        if (u >= 0xDC00 && u <= 0xDFFF) return NULL;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (end - p < 7 || p[1] != '\\' || p[2] != 'u' ||
                json_hex4((const unsigned char *)p + 3, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return NULL;
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        /* A code point's UTF-8 is never longer than its escape. */
        unsigned char tmp[4];
        size_t k = json_put_utf8(out ? (unsigned char *)out + o : tmp, u);
        o += k;
    }
    return NULL;
}

const char *pipe_json_skip(const char *p, const char *end)
{
    int depth = 0;
    p = skip_blanks(p, end);
    do {
        if (p >= end) return NULL;
        if (*p == '"') {
            if (!(p = pipe_json_read_string(p, end, NULL, NULL))) return NULL;
        } else if (*p == '{' || *p == '[') {
            depth++, p++;
        } else if (*p == '}' || *p == ']') {
            if (--depth < 0) return NULL;
            p++;
        } else if (depth > 0 && (*p == ',' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n' ||
                                 *p == '\r')) {
            p++;
        } else { /* a number or literal: up to the next punctuation or blank */
            const char *s = p;
            while (p < end && !strchr(",:]} \t\r\n\"{[", *p)) p++;
            if (p == s) return NULL;
        }
    } while (depth > 0);
    return p;
}

int pipe_json_member(const char *s, size_t n, const char *key, size_t klen, const char **v,
                     size_t *vlen)
{
    const char *p = skip_blanks(s, s + n), *end = s + n;
    if (p >= end || *p != '{') return -1;
    p = skip_blanks(p + 1, end);
    if (p < end && *p == '}') return 0;
    int found = 0;
    while (p < end) {
        char name[256];
        size_t nl;
        const char *q = *p == '"' ? pipe_json_read_string(p, end, NULL, &nl) : NULL;
        if (!q) return -1;
        /* Keys up to 256 bytes unescaped are compared; a longer one cannot be the name. */
        int match = 0;
        if (nl == klen && nl <= sizeof name) {
            pipe_json_read_string(p, end, name, &nl);
            match = memcmp(name, key, klen) == 0;
        }
        p = skip_blanks(q, end);
        if (p >= end || *p != ':') return -1;
        p = skip_blanks(p + 1, end);
        const char *e = pipe_json_skip(p, end);
        if (!e) return -1;
        if (match) *v = p, *vlen = (size_t)(e - p), found = 1; /* the last one wins */
        p = skip_blanks(e, end);
        if (p < end && *p == '}') return found;
        if (p >= end || *p != ',') return -1;
        p = skip_blanks(p + 1, end);
    }
    return -1;
}

/* Room left in w, which may be counting past its end (out NULL or too small). */
static size_t room(const writer *w)
{
    return w->o && w->len <= w->cap ? w->cap - w->len : 0;
}

/* The CQL protocol's collection encoding: a 4-byte big-endian count or length. */
static void put_be32(writer *w, size_t v)
{
    if (room(w) >= 4) {
        unsigned char *o = w->o + w->len;
        o[0] = (unsigned char)(v >> 24), o[1] = (unsigned char)(v >> 16);
        o[2] = (unsigned char)(v >> 8), o[3] = (unsigned char)v;
    }
    w->len += 4;
}

/* One item as [length][bytes]: a string unescaped, a number or true/false as its text. */
static const char *put_item(writer *w, const char *p, const char *end)
{
    size_t n;
    const char *q;
    if (*p == '"') {
        if (!(q = pipe_json_read_string(p, end, NULL, &n))) return NULL;
        put_be32(w, n);
        if (w->o && room(w) >= n) pipe_json_read_string(p, end, (char *)w->o + w->len, &n);
    } else {
        q = pipe_json_skip(p, end);
        if (!q || *p == '{' || *p == '[' || *p == 'n') return NULL;
        n = (size_t)(q - p);
        put_be32(w, n);
        if (w->o && room(w) >= n) memcpy(w->o + w->len, p, n);
    }
    if (n > INT32_MAX) return NULL;
    w->len += n;
    return q;
}

size_t pipe_json_items_cql(const char *s, size_t n, unsigned char *out, size_t cap)
{
    const char *p = skip_blanks(s, s + n), *end = s + n;
    writer w = {out, 0, cap};
    size_t count = 0;
    if (p >= end || (*p != '[' && *p != '{')) return PIPE_JSON_NOT_ITEMS;
    char close = *p == '[' ? ']' : '}';
    put_be32(&w, 0);
    p = skip_blanks(p + 1, end);
    while (p < end && *p != close) {
        if (count && (*p != ',' || (p = skip_blanks(p + 1, end)) >= end))
            return PIPE_JSON_NOT_ITEMS;
        if (close == '}') {
            if (*p != '"' || !(p = put_item(&w, p, end))) return PIPE_JSON_NOT_ITEMS;
            p = skip_blanks(p, end);
            if (p >= end || *p != ':') return PIPE_JSON_NOT_ITEMS;
            p = skip_blanks(p + 1, end);
        }
        if (p >= end || !(p = put_item(&w, p, end))) return PIPE_JSON_NOT_ITEMS;
        p = skip_blanks(p, end);
        count++;
    }
    if (p >= end || skip_blanks(p + 1, end) != end || count > INT32_MAX) return PIPE_JSON_NOT_ITEMS;
    size_t len = w.len;
    w.len = 0;
    put_be32(&w, count);
    return len;
}
