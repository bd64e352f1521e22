/* Zero-copy JSON object decoder driven by a compiled schema.
 *
 * DESIGN: one forward pass over the message, no recursion and no malloc. The top-level object
 * is walked key by key; each key is looked up in the schema's name table, and the value of a
 * schema field is checked against the field's type and recorded as a slice of the message.
 * Strings are scanned once to find their end, validate UTF-8 strictly and check escapes; only
 * a string with escapes that belongs to a schema field is then unescaped, into the caller's
 * per-batch arena. Values of unknown keys are skipped by a loop that keeps the nesting in a
 * bit stack (1 = object, 0 = array), so depth costs a bit, not a stack frame.
 *
 * A string field takes any JSON value, as Spark's from_json does: a number, boolean, object or
 * array is converted to the text Spark stores (json_text.c). Integers and literals stay slices
 * of the message; a float is re-printed, and an object or array is first validated by the same
 * skipper and then re-written compactly, both into the arena. The common case, a string in a
 * string field, takes the same path as before the conversion existed.
 *
 * Error order: a syntax error anywhere wins over a schema error (wrong type, duplicate, too
 * large), so a message that is not JSON is always reported as such; among schema errors the
 * first in message order wins, and missing/null required fields are checked last. */
#include "pipeline/decode.h"
#include "pipeline/json_impl.h"
#include "pipeline/json_text.h"
#include "pipeline/schema_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef const unsigned char *cursor;

/* The converting paths are rare: keep them out of the hot loop's way. */
#if defined(__GNUC__)
#define COLD __attribute__((cold, noinline))
#else
#define COLD
#endif

typedef struct dec {
    const pipe_schema *s;
    cursor buf, end;
    pipe_arena *arena;
    pipe_record *out;
    pipe_decode_error syn; /* syntax error (fatal, stops the pass) */
    pipe_decode_error sch; /* first schema error (the pass goes on to check syntax) */
} dec;

static const char *const reasons[PIPE_DEC__COUNT] = {
    "ok",         "empty",           "message_too_large",   "malformed_json",
    "not_object", "trailing_data",   "invalid_utf8",        "invalid_escape",
    "too_deep",   "duplicate_field", "missing_field",       "null_field",
    "wrong_type", "value_too_large", "number_out_of_range", "invalid_value",
    "no_memory",
};

const char *pipe_decode_reason(pipe_decode_err code)
{
    return (unsigned)code < PIPE_DEC__COUNT ? reasons[code] : "unknown";
}

pipe_record *pipe_record_new(const pipe_schema *s)
{
    size_t n = pipe_schema_nfields(s);
    pipe_record *r = calloc(1, sizeof *r + n * sizeof r->v[0]);
    if (r) r->nfields = n;
    return r;
}

void pipe_record_free(pipe_record *r)
{
    free(r);
}

static cursor fail(dec *d, pipe_decode_err code, cursor at, int field)
{
    d->syn.json_type = 0;
    d->syn.code = code;
    d->syn.offset = (size_t)(at - d->buf);
    d->syn.field = field;
    return NULL;
}

static void schema_error(dec *d, pipe_decode_err code, cursor at, int field)
{
    if (d->sch.code != PIPE_DEC_OK) return;
    d->sch.json_type = field >= 0 ? d->out->v[field].json_type : 0;
    d->sch.code = code;
    d->sch.offset = (size_t)(at - d->buf);
    d->sch.field = field;
}

static inline cursor skip_ws(cursor p, cursor end)
{
    /* Most calls find no blank at all: one comparison rules out every non-blank byte. */
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* ---- strings ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 when invalid: no
 * overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(cursor p, cursor end)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* Checks the escape at p (p[0] == '\\'); returns the cursor after it, or NULL. */
static cursor check_escape(dec *d, cursor p)
{
    if (p + 1 >= d->end) return fail(d, PIPE_DEC_MALFORMED, p, -1);
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't': return p + 2;
    case 'u': break;
    default: return fail(d, PIPE_DEC_BAD_ESCAPE, p, -1);
    }
    unsigned u, lo;
    if (d->end - p < 6 || json_hex4(p + 2, &u)) return fail(d, PIPE_DEC_BAD_ESCAPE, p, -1);
    if (u >= 0xDC00 && u <= 0xDFFF) return fail(d, PIPE_DEC_BAD_ESCAPE, p, -1);
    if (u < 0xD800 || u > 0xDBFF) return p + 6;
    /* A high surrogate must be followed by an escaped low surrogate. */
    if (d->end - p < 12 || p[6] != '\\' || p[7] != 'u' || json_hex4(p + 8, &lo) || lo < 0xDC00 ||
        lo > 0xDFFF)
        return fail(d, PIPE_DEC_BAD_ESCAPE, p, -1);
    return p + 12;
}

/* A mask with the high bit set in each of the 8 bytes at p that ends a plain run of string
 * bytes: a quote, a backslash, a control character or a non-ASCII byte. Exact per byte (no
 * carry crosses a byte), so the first hit is at ctz(mask) / 8 on a little-endian machine. */
static inline uint64_t special8(cursor p)
{
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full, high = 0x8080808080808080ull;
    uint64_t x, q, b;
    memcpy(&x, p, 8);
    q = x ^ 0x2222222222222222ull; /* '"' */
    b = x ^ 0x5C5C5C5C5C5C5C5Cull; /* '\\' */
    uint64_t ctl = ~((x & low7) + 0x6060606060606060ull);
    uint64_t zq = ~(((q & low7) + low7) | q), zb = ~(((b & low7) + low7) | b);
    return (ctl | zq | zb | x) & high;
}

/* Advances p over plain string bytes: 16 at a time with SSE2 (every x86-64 has it), then 8
 * at a time, then one by one at the end of the buffer. */
static inline cursor skip_plain(cursor p, cursor end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed: a byte >= 0x80 is negative, so "< 0x20" also catches non-ASCII. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits) return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t m = special8(p);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (m) return p + (__builtin_ctzll(m) >> 3);
#else
        if (m) break;
#endif
        p += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
    return p;
}

/* Scans the string whose opening quote is at p; returns the cursor after the closing quote,
 * or NULL. *esc tells whether it holds escapes. */
static cursor scan_string(dec *d, cursor p, int *esc)
{
    cursor end = d->end;
    *esc = 0;
    p++;
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end) return fail(d, PIPE_DEC_MALFORMED, p, -1);
        if (*p == '"') return p + 1;
        if (*p == '\\') {
            *esc = 1;
            if (!(p = check_escape(d, p))) return NULL;
        } else if (*p < 0x20) {
            return fail(d, PIPE_DEC_MALFORMED, p, -1);
        } else {
            size_t n = utf8_seq(p, end);
            if (!n) return fail(d, PIPE_DEC_BAD_UTF8, p, -1);
            p += n;
        }
    }
}

/* Unescapes the already validated string body src[0..n-1] into o, writing at most cap bytes;
 * returns the length, or SIZE_MAX when it would not fit. */
static size_t unescape(cursor src, size_t n, unsigned char *o, size_t cap)
{
    static const unsigned char simple[128] = {
        ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
        ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
    size_t o_len = 0;
    for (size_t i = 0; i < n;) {
        if (o_len >= cap) return SIZE_MAX;
        if (src[i] != '\\') {
            o[o_len++] = src[i++];
            continue;
        }
        if (src[i + 1] != 'u') {
            o[o_len++] = simple[src[i + 1]];
            i += 2;
            continue;
        }
        unsigned u = 0, lo = 0xDC00;
        json_hex4(src + i + 2, &u);
        i += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
            json_hex4(src + i + 2, &lo);
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        unsigned char tmp[4];
        size_t k = json_put_utf8(tmp, u);
        if (o_len + k > cap) return SIZE_MAX;
        memcpy(o + o_len, tmp, k);
        o_len += k;
    }
    return o_len;
}

/* ---- numbers and literals ----------------------------------------------------------------- */

static inline int is_digit(unsigned c)
{
    return c - '0' < 10;
}

/* Scans a JSON number at p; returns the cursor after it, or NULL. *integral tells whether it
 * has neither fraction nor exponent. */
static cursor scan_number(dec *d, cursor p, int *integral)
{
    cursor end = d->end;
    *integral = 1;
    if (p < end && *p == '-') p++;
    if (p >= end || !is_digit(*p)) return fail(d, PIPE_DEC_MALFORMED, p, -1);
    if (*p == '0')
        p++;
    else
        while (p < end && is_digit(*p)) p++;
    if (p < end && *p == '.') {
        *integral = 0;
        if (++p >= end || !is_digit(*p)) return fail(d, PIPE_DEC_MALFORMED, p, -1);
        while (p < end && is_digit(*p)) p++;
    }
    if (p < end && (*p | 0x20) == 'e') {
        *integral = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return fail(d, PIPE_DEC_MALFORMED, p, -1);
        while (p < end && is_digit(*p)) p++;
    }
    return p;
}

static cursor scan_literal(dec *d, cursor p, const char *lit, size_t n)
{
    if ((size_t)(d->end - p) < n || memcmp(p, lit, n) != 0)
        return fail(d, PIPE_DEC_MALFORMED, p, -1);
    return p + n;
}

/* True when the integer text t[0..n-1] fits the field's type (32 or 64 bits). */
static int int_fits(const unsigned char *t, size_t n, pipe_type type)
{
    char tmp[24];
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, t, n);
    tmp[n] = '\0';
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE) return 0;
    return type != PIPE_T_INT || (v >= -2147483648LL && v <= 2147483647LL);
}

/* ---- skipping unknown values -------------------------------------------------------------- */

/* Scans a key string and its ':' at p; returns the cursor at the value, or NULL. */
static cursor scan_key_colon(dec *d, cursor p)
{
    int esc;
    if (p >= d->end || *p != '"') return fail(d, PIPE_DEC_MALFORMED, p, -1);
    if (!(p = scan_string(d, p, &esc))) return NULL;
    p = skip_ws(p, d->end);
    if (p >= d->end || *p != ':') return fail(d, PIPE_DEC_MALFORMED, p, -1);
    return skip_ws(p + 1, d->end);
}

/* Scans one scalar (string, number, literal) at p; NULL on error. */
static cursor scan_scalar(dec *d, cursor p)
{
    int flag;
    if (p >= d->end) return fail(d, PIPE_DEC_MALFORMED, p, -1);
    switch (*p) {
    case '"': return scan_string(d, p, &flag);
    case 't': return scan_literal(d, p, "true", 4);
    case 'f': return scan_literal(d, p, "false", 5);
    case 'n': return scan_literal(d, p, "null", 4);
    default: return scan_number(d, p, &flag);
    }
}

/* Skips the value at p, whatever its nesting; `depth` is the nesting of the enclosing
 * container. Returns the cursor after the value, or NULL. */
static cursor skip_value(dec *d, cursor p, unsigned depth)
{
    uint64_t stack[PIPE_DECODE_MAX_DEPTH / 64] = {0};
    unsigned top = 0; /* containers opened by this call */
    for (;;) {
        /* At a value. */
        while (p < d->end && (*p == '{' || *p == '[')) {
            if (depth + top + 1 > PIPE_DECODE_MAX_DEPTH) return fail(d, PIPE_DEC_TOO_DEEP, p, -1);
            int obj = *p == '{';
            stack[top / 64] = (stack[top / 64] & ~(1ull << (top % 64))) | (uint64_t)obj
                                                                              << (top % 64);
            top++;
            p = skip_ws(p + 1, d->end);
            if (p < d->end && *p == (obj ? '}' : ']')) {
                top--;
                p++;
                goto after;
            }
            if (obj && !(p = scan_key_colon(d, p))) return NULL;
        }
        if (!(p = scan_scalar(d, p))) return NULL;
    after:
        /* After a value: close containers or move to the next element. */
        for (;;) {
            if (top == 0) return p;
            int obj = (int)(stack[(top - 1) / 64] >> ((top - 1) % 64) & 1);
            p = skip_ws(p, d->end);
            if (p < d->end && *p == (obj ? '}' : ']')) {
                top--;
                p++;
                continue;
            }
            if (p >= d->end || *p != ',') return fail(d, PIPE_DEC_MALFORMED, p, -1);
            p = skip_ws(p + 1, d->end);
            if (obj && !(p = scan_key_colon(d, p))) return NULL;
            break;
        }
    }
}

/* ---- schema fields ------------------------------------------------------------------------ */

static void check_size(dec *d, pipe_value *v, const pipe_field *f, cursor at, int idx)
{
    if (f->max_bytes && v->len > f->max_bytes) schema_error(d, PIPE_DEC_VALUE_TOO_LARGE, at, idx);
}

/* Timestamp, date and uuid fields take text (a JSON string) that CQL reads for their type. */
static inline int is_text_typed(pipe_type t)
{
    return t == PIPE_T_TIMESTAMP || t == PIPE_T_DATE || t == PIPE_T_UUID;
}

/* Checks the stored text of a timestamp, date or uuid field (once it has been unescaped). */
static COLD void check_text(dec *d, const pipe_field *f, cursor at, int idx, const pipe_value *v)
{
    if (d->sch.code == PIPE_DEC_OK && pipe_type_check_text(f->type, v->ptr, v->len))
        schema_error(d, PIPE_DEC_BAD_VALUE, at, idx);
}

/* A string in a double field: Spark's DoubleType takes these six spellings of the non-finite
 * values (case-sensitive; "Inf", "nan" are not among them). They are stored as the spelling
 * cql_value_from_text reads ("NaN", "Infinity", "-Infinity"), static text. */
static COLD cursor double_from_string(dec *d, cursor p, cursor q, int esc, int idx, pipe_value *v)
{
    static const char *const spelled[] = {"NaN",       "Infinity", "+Infinity",
                                          "-Infinity", "+INF",     "-INF"};
    static const char *const stored[] = {"NaN",       "Infinity", "Infinity",
                                         "-Infinity", "Infinity", "-Infinity"};
    unsigned char tmp[16];
    const unsigned char *s = p + 1;
    size_t n = (size_t)(q - p) - 2;
    if (esc) n = unescape(p + 1, n, tmp, sizeof tmp), s = tmp;
    for (size_t i = 0; i < sizeof spelled / sizeof spelled[0]; i++) {
        if (n == strlen(spelled[i]) && memcmp(s, spelled[i], n) == 0) {
            v->ptr = stored[i], v->len = strlen(stored[i]);
            return q;
        }
    }
    return schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx), q;
}

static cursor field_string(dec *d, cursor p, const pipe_field *f, int idx, pipe_value *v)
{
    int esc;
    cursor q = scan_string(d, p, &esc);
    if (!q) return NULL;
    v->json_type = PIPE_JSON_STRING;
    if (f->type != PIPE_T_STRING && !is_text_typed(f->type)) {
        if (f->type != PIPE_T_DOUBLE || f->strict)
            return schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx), q;
        q = double_from_string(d, p, q, esc, idx, v);
        check_size(d, v, f, p, idx);
        return q;
    }
    size_t n = (size_t)(q - p) - 2;
    if (!esc) {
        v->ptr = (const char *)p + 1, v->len = n;
    } else if (d->sch.code == PIPE_DEC_OK) {
        /* Unescaped text is never longer than the escaped text. */
        unsigned char *o = d->arena ? pipe_arena_alloc(d->arena, n) : NULL;
        if (!o) return fail(d, PIPE_DEC_NO_MEMORY, p, idx);
        v->len = unescape(p + 1, n, o, n);
        v->ptr = (const char *)o;
        pipe_arena_trim(d->arena, o, v->len);
    }
    if (f->type != PIPE_T_STRING) check_text(d, f, p, idx, v);
    check_size(d, v, f, p, idx);
    return q;
}

/* A number in a converting string field (v holds its JSON text): an integer stays a slice of
 * the message ("-0" becomes the "0" inside it), a float is re-written into the arena. */
static COLD void number_to_text(dec *d, cursor p, int integral, int idx, pipe_value *v)
{
    if (v->len - (*p == '-') > PIPE_JSON_MAX_NUMBER_LEN) {
        schema_error(d, PIPE_DEC_NUMBER_RANGE, p, idx);
        return;
    }
    if (integral) {
        if (v->len == 2 && p[0] == '-' && p[1] == '0') v->ptr++, v->len--;
        return;
    }
    if (d->sch.code != PIPE_DEC_OK) return;
    char *o = d->arena ? pipe_arena_alloc(d->arena, PIPE_JSON_DOUBLE_TEXT_MAX) : NULL;
    if (!o) {
        fail(d, PIPE_DEC_NO_MEMORY, p, idx);
        return;
    }
    v->len = pipe_json_number_text(v->ptr, v->len, o);
    v->ptr = o;
    pipe_arena_trim(d->arena, o, v->len);
}

static cursor field_number(dec *d, cursor p, const pipe_field *f, int idx, pipe_value *v)
{
    int integral;
    cursor q = scan_number(d, p, &integral);
    if (!q) return NULL;
    v->json_type = PIPE_JSON_NUMBER;
    v->ptr = (const char *)p, v->len = (size_t)(q - p);
    switch (f->type) {
    case PIPE_T_TIMESTAMP: /* epoch milliseconds, as CQL takes an integer for a timestamp */
        if (f->strict) return schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx), q;
        /* fall through */
    case PIPE_T_INT:
    case PIPE_T_BIGINT:
        if (!integral) return schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx), q;
        if (!int_fits(p, v->len, f->type)) return schema_error(d, PIPE_DEC_NUMBER_RANGE, p, idx), q;
        break;
    case PIPE_T_DOUBLE:
        /* Spark reads the integer -0 as 0 before it makes it a double: store +0.0, not -0.0. */
        if (!f->strict && v->len == 2 && p[0] == '-' && p[1] == '0') v->ptr++, v->len--;
        break;
    case PIPE_T_STRING:
        if (f->strict) return schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx), q;
        number_to_text(d, p, integral, idx, v);
        if (d->syn.code != PIPE_DEC_OK) return NULL;
        break;
    default: return schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx), q;
    }
    check_size(d, v, f, p, idx);
    return q;
}

/* A list or map field's compact JSON (v) re-written with every element (map value) a string
 * (pipe_json_string_items). -1 only when out of memory. */
static COLD int collection_text(dec *d, cursor p, int idx, pipe_value *v)
{
    size_t cap = 3 * v->len + 2;
    char *o = pipe_arena_alloc(d->arena, cap);
    if (!o) return fail(d, PIPE_DEC_NO_MEMORY, p, idx), -1;
    size_t len = pipe_json_string_items(v->ptr, v->len, o, cap);
    if (len == PIPE_JSON_NULL_ITEM) {
        pipe_arena_trim(d->arena, o, 0);
        schema_error(d, PIPE_DEC_BAD_VALUE, p, idx);
        return 0;
    }
    v->ptr = o, v->len = len;
    pipe_arena_trim(d->arena, o, len);
    return 0;
}

/* An object or array in a converting string field, or in a list or map field: validated by the
 * skipper, then re-written as compact JSON into the arena (json_text.h). */
static COLD cursor field_structure(dec *d, cursor p, const pipe_field *f, int idx, pipe_value *v,
                                   unsigned depth)
{
    cursor q = skip_value(d, p, depth);
    if (!q || d->sch.code != PIPE_DEC_OK) return q;
    size_t n = (size_t)(q - p), len;
    for (size_t cap = 3 * n + 32;; cap *= 2) {
        char *o = d->arena ? pipe_arena_alloc(d->arena, cap) : NULL;
        if (!o) return fail(d, PIPE_DEC_NO_MEMORY, p, idx);
        len = pipe_json_compact((const char *)p, n, o, cap);
        if (len == PIPE_JSON_NUMBER_TOO_LONG)
            return pipe_arena_trim(d->arena, o, 0), schema_error(d, PIPE_DEC_NUMBER_RANGE, p, idx),
                   q;
        if (len != PIPE_JSON_NO_ROOM) {
            v->ptr = o, v->len = len;
            pipe_arena_trim(d->arena, o, len);
            break;
        }
    }
    if (f->type != PIPE_T_STRING && collection_text(d, p, idx, v)) return NULL;
    check_size(d, v, f, p, idx);
    return q;
}

/* Decodes the value at p into field idx. A later occurrence of the key replaces an earlier one
 * (Spark's last-wins), unless the field is strict. */
static cursor field_value(dec *d, cursor p, int idx, unsigned depth)
{
    const pipe_field *f = &d->s->fields[idx];
    pipe_value *v = &d->out->v[idx];
    if (__builtin_expect(v->present, 0) && f->strict)
        schema_error(d, PIPE_DEC_DUPLICATE_KEY, p, idx);
    v->present = 1;
    if (p >= d->end) return fail(d, PIPE_DEC_MALFORMED, p, -1);
    if (*p == '"') return field_string(d, p, f, idx, v);
    int convert = f->type == PIPE_T_STRING && !f->strict;
    cursor q;
    switch (*p) {
    case 'n':
        v->json_type = PIPE_JSON_NULL, v->ptr = NULL, v->len = 0;
        return scan_literal(d, p, "null", 4);
    case 't':
    case 'f':
        if (!(q = scan_literal(d, p, *p == 't' ? "true" : "false", *p == 't' ? 4 : 5))) return NULL;
        v->json_type = PIPE_JSON_BOOL, v->ptr = (const char *)p, v->len = (size_t)(q - p);
        if (convert)
            check_size(d, v, f, p, idx);
        else if (f->type != PIPE_T_BOOLEAN)
            schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx);
        return q;
    case '{':
    case '[':
        v->json_type = *p == '{' ? PIPE_JSON_OBJECT : PIPE_JSON_ARRAY;
        v->ptr = NULL, v->len = 0;
        if (convert || f->type == (*p == '{' ? PIPE_T_MAP : PIPE_T_LIST))
            return field_structure(d, p, f, idx, v, depth);
        schema_error(d, PIPE_DEC_WRONG_TYPE, p, idx);
        return skip_value(d, p, depth);
    default: return field_number(d, p, f, idx, v);
    }
}

/* ---- the object --------------------------------------------------------------------------- */

/* Finds the schema field for the key string at p..q (quotes included). */
static int key_field(dec *d, cursor p, cursor q, int esc)
{
    size_t n = (size_t)(q - p) - 2;
    if (!esc) return schema_find(d->s, (const char *)p + 1, n);
    unsigned char tmp[PIPE_FIELD_NAME_MAX];
    size_t len = unescape(p + 1, n, tmp, sizeof tmp);
    return len == SIZE_MAX ? -1 : schema_find(d->s, (const char *)tmp, len);
}

/* True when the key string at p is exactly field g's name between quotes (g's name plain, so
 * the bytes need no scan: the key is valid, unescaped, and names field g). */
static inline int key_is(const dec *d, cursor p, size_t g)
{
    const pipe_schema *s = d->s;
    size_t n = s->name_len[g];
    return s->plain[g] && (size_t)(d->end - p) > n + 1 && p[n + 1] == '"' &&
           memcmp(s->fields[g].name, p + 1, n) == 0;
}

/* Walks the members of the object whose '{' is at p; returns the cursor after its '}'.
 * Producers write their keys in one order, usually the schema's: the key after field i is
 * first compared with field i+1's name, and only scanned and looked up when it is not that. */
static cursor members(dec *d, cursor p)
{
    size_t g = 0, nf = d->s->n;
    p = skip_ws(p + 1, d->end);
    if (p < d->end && *p == '}') return p + 1;
    for (;;) {
        int esc, idx;
        cursor q;
        if (p >= d->end || *p != '"') return fail(d, PIPE_DEC_MALFORMED, p, -1);
        if (g < nf && key_is(d, p, g)) {
            idx = (int)g;
            q = p + d->s->name_len[g] + 2;
        } else {
            if (!(q = scan_string(d, p, &esc))) return NULL;
            idx = key_field(d, p, q, esc);
        }
        if (idx >= 0) g = (size_t)idx + 1;
        p = skip_ws(q, d->end);
        if (p >= d->end || *p != ':') return fail(d, PIPE_DEC_MALFORMED, p, -1);
        p = skip_ws(p + 1, d->end);
        p = idx >= 0 ? field_value(d, p, idx, 1) : skip_value(d, p, 1);
        if (!p) return NULL;
        p = skip_ws(p, d->end);
        if (p < d->end && *p == '}') return p + 1;
        if (p >= d->end || *p != ',') return fail(d, PIPE_DEC_MALFORMED, p, -1);
        p = skip_ws(p + 1, d->end);
    }
}

static void check_required(dec *d)
{
    size_t n = d->out->nfields;
    for (size_t i = 0; i < n && d->sch.code == PIPE_DEC_OK; i++) {
        const pipe_value *v = &d->out->v[i];
        if (!d->s->fields[i].required) continue;
        if (!v->present)
            schema_error(d, PIPE_DEC_MISSING_FIELD, d->end, (int)i);
        else if (v->json_type == PIPE_JSON_NULL)
            schema_error(d, PIPE_DEC_NULL_FIELD, d->end, (int)i);
    }
}

static pipe_decode_err parse(dec *d)
{
    size_t max = d->s->max_message;
    if (max && (size_t)(d->end - d->buf) > max)
        return fail(d, PIPE_DEC_TOO_LARGE, d->buf + max, -1), d->syn.code;
    cursor p = skip_ws(d->buf, d->end);
    if (p >= d->end) return fail(d, PIPE_DEC_EMPTY, p, -1), d->syn.code;
    int object = *p == '{';
    p = object ? members(d, p) : skip_value(d, p, 0);
    if (!p) return d->syn.code;
    p = skip_ws(p, d->end);
    if (p < d->end) return fail(d, PIPE_DEC_TRAILING, p, -1), d->syn.code;
    if (!object) return fail(d, PIPE_DEC_NOT_OBJECT, d->buf, -1), d->syn.code;
    check_required(d);
    if (d->sch.code != PIPE_DEC_OK) d->syn = d->sch;
    return d->sch.code;
}

pipe_decode_err pipe_decode(const pipe_schema *s, const char *buf, size_t len, pipe_arena *arena,
                            pipe_record *out, pipe_decode_error *err)
{
    dec d = {.s = s,
             .buf = (cursor)buf,
             .end = (cursor)buf + len,
             .arena = arena,
             .out = out,
             .syn = {PIPE_DEC_OK, 0, -1, 0},
             .sch = {PIPE_DEC_OK, 0, -1, 0}};
    memset(out->v, 0, out->nfields * sizeof out->v[0]);
    pipe_decode_err rc = parse(&d);
    if (err) *err = d.syn;
    return rc;
}

/* ---- messages ----------------------------------------------------------------------------- */

static const char *json_type_name(unsigned t)
{
    static const char *const names[] = {"absent", "null",   "boolean", "number",
                                        "string", "object", "array"};
    return t < 7 ? names[t] : "?";
}

const char *pipe_decode_describe(const pipe_schema *s, const pipe_decode_error *e, char *buf,
                                 size_t buflen)
{
    const pipe_field *f = e->field >= 0 ? pipe_schema_field(s, (size_t)e->field) : NULL;
    const char *r = pipe_decode_reason(e->code);
    if (!f) {
        snprintf(buf, buflen, "%s at byte %zu", r, e->offset);
    } else if (e->code == PIPE_DEC_WRONG_TYPE) {
        snprintf(buf, buflen, "field '%s': expected %s, got %s at byte %zu", f->name,
                 pipe_type_name(f->type), json_type_name(e->json_type), e->offset);
    } else if (e->code == PIPE_DEC_BAD_VALUE) {
        static const char *const what[PIPE_T__COUNT] = {
            [PIPE_T_TIMESTAMP] = "not a timestamp (ISO-8601 or epoch milliseconds)",
            [PIPE_T_DATE] = "not a date (yyyy-mm-dd)",
            [PIPE_T_UUID] = "not a UUID",
            [PIPE_T_LIST] = "a null element (a CQL list holds no nulls)",
            [PIPE_T_MAP] = "a null value (a CQL map holds no nulls)"};
        snprintf(buf, buflen, "field '%s': %s at byte %zu", f->name,
                 what[f->type] ? what[f->type] : "invalid value", e->offset);
    } else if (e->code == PIPE_DEC_VALUE_TOO_LARGE) {
        snprintf(buf, buflen, "field '%s': value over %zu bytes at byte %zu", f->name, f->max_bytes,
                 e->offset);
    } else {
        snprintf(buf, buflen, "field '%s': %s at byte %zu", f->name, r, e->offset);
    }
    return buf;
}
