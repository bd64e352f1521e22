/* Expressions: evaluation of the compiled tree (expr.c) over a decoded record, the functions,
 * and the SHA-1 behind uuid_v5.
 *
 * DESIGN: evaluation recurses over the node array; a value is a small struct passed by
 * pointer, strings are slices (of the message, of the literal buffer, or of the caller's
 * scratch arena for computed text), so nothing is allocated but from the scratch arena, which
 * the caller resets per record or per batch. Null is a value type and unknown in boolean
 * positions (Kleene logic); an evaluation error is not a value but a -1 that unwinds with one
 * line in ctx->err. SHA-1 follows FIPS 180-4 section 6.1 (the only use is RFC 4122's name-based
 * UUIDs, where its weakness as a hash does not matter). */
#include "pipeline/expr_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/json_text.h"
#include "util/isotime.h"

static int fail(const pipe_xctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const pipe_xctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
        for (char *p = c->err; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7F) *p = '?';
    }
    return -1;
}

/* Up to 40 bytes of a value's text for an error message. */
static const char *quote(const char *s, size_t n, char buf[48])
{
    snprintf(buf, 48, "%.*s%s", (int)(n > 40 ? 40 : n), s, n > 40 ? "..." : "");
    return buf;
}

static void set_null(pipe_xval *v)
{
    memset(v, 0, sizeof *v);
}

static void set_str(pipe_xval *v, const char *s, size_t n)
{
    v->type = PIPE_X_STRING, v->text_ok = 0, v->s = s, v->n = n;
}

static void set_bool(pipe_xval *v, bool b)
{
    v->type = PIPE_X_BOOL, v->text_ok = 0, v->b = b;
}

static void set_int(pipe_xval *v, pipe_xtype t, int64_t i)
{
    v->type = (uint8_t)t, v->text_ok = 0, v->i = i;
}

static char *scratch(const pipe_xctx *c, size_t n)
{
    char *p = c->scratch ? pipe_arena_alloc(c->scratch, n ? n : 1) : NULL;
    if (!p) fail(c, c->scratch ? "out of memory" : "no scratch space for computed text");
    return p;
}

/* ---- values ------------------------------------------------------------------------------- */

void pipe_xval_text(const pipe_xval *v, char *buf, size_t buflen, const char **p, size_t *n)
{
    size_t len = 0;
    if (v->type == PIPE_X_STRING || v->text_ok) {
        *p = v->s, *n = v->n;
        return;
    }
    switch (v->type) {
    case PIPE_X_BOOL: len = (size_t)snprintf(buf, buflen, "%s", v->b ? "true" : "false"); break;
    case PIPE_X_INT: len = (size_t)snprintf(buf, buflen, "%" PRId64, v->i); break;
    case PIPE_X_DOUBLE:
        if (isnan(v->d))
            len = (size_t)snprintf(buf, buflen, "NaN");
        else if (isinf(v->d))
            len = (size_t)snprintf(buf, buflen, "%sInfinity", v->d < 0 ? "-" : "");
        else
            len = (size_t)snprintf(buf, buflen, "%.17g", v->d);
        break;
    case PIPE_X_TIMESTAMP: len = iso_format_timestamp(v->i, buf, buflen); break;
    case PIPE_X_DATE: len = iso_format_date(v->i, buf, buflen); break;
    default: break;
    }
    *p = buf, *n = len < buflen ? len : (buflen ? buflen - 1 : 0);
}

/* The text of v, formatted into scratch when it is not text already. */
static int text_of(const pipe_xctx *c, const pipe_xval *v, const char **p, size_t *n)
{
    if (v->type == PIPE_X_STRING || v->text_ok) return pipe_xval_text(v, NULL, 0, p, n), 0;
    char *buf = scratch(c, 48);
    if (!buf) return -1;
    pipe_xval_text(v, buf, 48, p, n);
    return 0;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = s && n && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (!s || i == n || n - i > 19) return -1;
    uint64_t v = 0;
    for (size_t k = i; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') return -1;
        v = v * 10 + (uint64_t)(s[k] - '0');
    }
    if (v > (s[0] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) return -1;
    *out = s[0] == '-' ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Field i of the record, typed by its schema type (the decoder validated the text). */
static int field_time(const pipe_xctx *c, const xnode *n, pipe_xval *v);

static int field_value(const pipe_xctx *c, const xnode *n, pipe_xval *v)
{
    const pipe_value *f = &c->rec->v[n->field];
    if (!f->present || f->json_type == PIPE_JSON_NULL) return set_null(v), 0;
    const char *s = f->ptr ? f->ptr : "";
    v->type = n->type, v->s = s, v->n = f->len, v->text_ok = 1;
    switch (n->type) {
    case PIPE_X_INT:
        if (parse_i64(s, f->len, &v->i)) return fail(c, "field is not an integer");
        return 0;
    case PIPE_X_DOUBLE: {
        char t[400];
        if (f->len >= sizeof t) return fail(c, "number too long");
        memcpy(t, s, f->len);
        t[f->len] = '\0';
        v->d = strcmp(t, "NaN") == 0         ? NAN
               : strcmp(t, "Infinity") == 0  ? INFINITY
               : strcmp(t, "-Infinity") == 0 ? -INFINITY
                                             : strtod(t, NULL);
        return 0;
    }
    case PIPE_X_BOOL: v->b = f->len == 4; return 0;
    case PIPE_X_UUID: return 0;
    case PIPE_X_TIMESTAMP:
    case PIPE_X_DATE: return field_time(c, n, v);
    default: v->text_ok = 0; return 0;
    }
}

/* A timestamp or date field's value from its text (the decoder checked it), in canonical form:
 * its text is then the formatted value, as for to_timestamp's result. */
static int field_time(const pipe_xctx *c, const xnode *n, pipe_xval *v)
{
    long long ms;
    char t[32];
    const char *p = t;
    v->text_ok = 0;
    if (n->type == PIPE_X_TIMESTAMP) {
        if (pipe_timestamp_parse(v->s, v->n, &ms)) return fail(c, "field is not a timestamp");
        v->i = ms;
        return 0;
    }
    snprintf(t, sizeof t, "%.*s", (int)(v->n < 31 ? v->n : 31), v->s);
    if (iso_parse_date(&p, &v->i) || *p) return fail(c, "field is not a date");
    return 0;
}

/* field.a.b: the member's text (a string unescaped into scratch when it has escapes), or null
 * when a step is absent, null or no object. */
static int path_value(const pipe_xctx *c, const pipe_expr *x, const xnode *n, pipe_xval *v)
{
    const pipe_value *f = &c->rec->v[n->field];
    set_null(v);
    if (!f->present || f->json_type == PIPE_JSON_NULL || !f->ptr) return 0;
    const char *s = f->ptr, *m = x->lits + n->lit, *end = m + n->lit_len;
    size_t len = f->len;
    for (int64_t k = 0; k < n->i; k++) {
        size_t ml = k + 1 < n->i ? strlen(m) : (size_t)(end - m);
        if (pipe_json_member(s, len, m, ml, &s, &len) != 1) return 0;
        m += ml + 1;
    }
    if (len == 4 && memcmp(s, "null", 4) == 0) return 0;
    if (*s != '"') return set_str(v, s, len), 0;
    size_t n_out;
    if (!memchr(s, '\\', len)) return set_str(v, s + 1, len - 2), 0;
    char *o = scratch(c, len);
    if (!o) return -1;
    pipe_json_read_string(s, s + len, o, &n_out);
    return set_str(v, o, n_out), 0;
}

static int kafka_value(const pipe_xctx *c, const pipe_expr *x, const xnode *n, pipe_xval *v)
{
    const pipe_kafka_meta *m = c->meta;
    set_null(v);
    if (!m) return 0;
    switch ((xkafka)n->aux) {
    case K_TOPIC:
        if (m->topic) set_str(v, m->topic, strlen(m->topic));
        return 0;
    case K_PARTITION: return set_int(v, PIPE_X_INT, m->partition), 0;
    case K_OFFSET: return set_int(v, PIPE_X_INT, m->offset), 0;
    case K_TIMESTAMP:
        if (m->timestamp_ms >= 0) set_int(v, PIPE_X_TIMESTAMP, m->timestamp_ms);
        return 0;
    case K_KEY:
        if (m->key) set_str(v, m->key, m->key_len);
        return 0;
    default: {
        char name[256];
        const void *val;
        size_t len;
        snprintf(name, sizeof name, "%.*s", (int)n->lit_len, x->lits + n->lit);
        if (m->header && m->header(m->header_ud, name, &val, &len) && val) set_str(v, val, len);
        return 0;
    }
    }
}

/* ---- comparisons -------------------------------------------------------------------------- */

static int cmp_num(const pipe_xval *a, const pipe_xval *b)
{
    if (a->type == PIPE_X_INT && b->type == PIPE_X_INT) return (a->i > b->i) - (a->i < b->i);
    double x = a->type == PIPE_X_INT ? (double)a->i : a->d;
    double y = b->type == PIPE_X_INT ? (double)b->i : b->d;
    /* NaN equals itself and is above every number, as in Spark and Java's Double.compare. */
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r) return r < 0 ? -1 : 1;
    return (an > bn) - (an < bn);
}

/* Texts compared with ASCII letters folded to lower case (a uuid's hex digits). */
static int cmp_nocase(const char *a, size_t an, const char *b, size_t bn)
{
    for (size_t i = 0; i < an && i < bn; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
        if (x != y) return x < y ? -1 : 1;
    }
    return (an > bn) - (an < bn);
}

/* A timestamp (ms) or date (days) of v; a string is read as ISO-8601. */
static int time_of(const pipe_xctx *c, const pipe_xval *v, bool date, int64_t *out)
{
    char q[48];
    if (v->type == PIPE_X_STRING) {
        const char *p = v->s;
        int64_t ms;
        if (date) {
            char t[32];
            snprintf(t, sizeof t, "%.*s", (int)(v->n < 31 ? v->n : 31), v->s);
            p = t;
            if (v->n < 31 && iso_parse_date(&p, out) == 0 && *p == '\0') return 0;
        }
        if (iso_parse_timestamp(v->s, v->n, &ms))
            return fail(c, "cannot read '%s' as a %s", quote(v->s, v->n, q),
                        date ? "date" : "timestamp");
        *out = date ? (ms - ((ms % 86400000 + 86400000) % 86400000)) / 86400000 : ms;
        return 0;
    }
    if (v->type == PIPE_X_DATE) return *out = date ? v->i : v->i * 86400000, 0;
    *out = date ? (v->i - ((v->i % 86400000 + 86400000) % 86400000)) / 86400000 : v->i;
    return 0;
}

/* Compares two non-null values of comparable types into *r (-1, 0, 1). */
static int compare(const pipe_xctx *c, const pipe_xval *a, const pipe_xval *b, int *r)
{
    int ta = a->type, tb = b->type;
    if ((ta == PIPE_X_INT || ta == PIPE_X_DOUBLE) && (tb == PIPE_X_INT || tb == PIPE_X_DOUBLE))
        return *r = cmp_num(a, b), 0;
    if (ta == PIPE_X_TIMESTAMP || ta == PIPE_X_DATE || tb == PIPE_X_TIMESTAMP ||
        tb == PIPE_X_DATE) {
        bool date = (ta == PIPE_X_DATE || ta == PIPE_X_STRING) &&
                    (tb == PIPE_X_DATE || tb == PIPE_X_STRING);
        int64_t x, y;
        if (time_of(c, a, date, &x) || time_of(c, b, date, &y)) return -1;
        return *r = (x > y) - (x < y), 0;
    }
    if (ta == PIPE_X_BOOL && tb == PIPE_X_BOOL) return *r = (a->b > b->b) - (a->b < b->b), 0;
    /* Strings, or a string and a number or boolean: their texts. */
    char ba[48], bb[48];
    const char *pa, *pb;
    size_t na, nb;
    pipe_xval_text(a, ba, sizeof ba, &pa, &na);
    pipe_xval_text(b, bb, sizeof bb, &pb, &nb);
    if (ta == PIPE_X_UUID || tb == PIPE_X_UUID) return *r = cmp_nocase(pa, na, pb, nb), 0;
    return *r = cmp_bytes(pa ? pa : "", na, pb ? pb : "", nb), 0;
}

static bool cmp_holds(int op, int r)
{
    switch (op) {
    case C_EQ: return r == 0;
    case C_NE: return r != 0;
    case C_LT: return r < 0;
    case C_LE: return r <= 0;
    case C_GT: return r > 0;
    default: return r >= 0;
    }
}

/* ---- evaluation --------------------------------------------------------------------------- */

static int ev(const pipe_expr *x, uint32_t i, const pipe_xctx *c, pipe_xval *out);
int expr_call(const pipe_expr *x, const xnode *n, const pipe_xctx *c, pipe_xval *out);

/* and/or: Kleene's logic over the children; stops at the first deciding value. */
static int ev_chain(const pipe_expr *x, const xnode *n, const pipe_xctx *c, pipe_xval *out)
{
    bool decide = n->op == X_OR, unknown = false;
    for (uint32_t k = n->kid; k != X_NONE; k = x->nodes[k].next) {
        pipe_xval v;
        if (ev(x, k, c, &v)) return -1;
        if (v.type != PIPE_X_BOOL)
            unknown = true;
        else if (v.b == decide)
            return set_bool(out, decide), 0;
    }
    if (unknown) return set_null(out), 0;
    return set_bool(out, !decide), 0;
}

static int ev_cmp(const pipe_expr *x, const xnode *n, const pipe_xctx *c, pipe_xval *out)
{
    pipe_xval a, b;
    int r;
    if (ev(x, n->kid, c, &a) || ev(x, x->nodes[n->kid].next, c, &b)) return -1;
    if (a.type == PIPE_X_NULL || b.type == PIPE_X_NULL) return set_null(out), 0;
    if (compare(c, &a, &b, &r)) return -1;
    return set_bool(out, cmp_holds(n->aux, r)), 0;
}

static int ev_in(const pipe_expr *x, const xnode *n, const pipe_xctx *c, pipe_xval *out)
{
    pipe_xval a, b;
    bool unknown = false;
    if (ev(x, n->kid, c, &a)) return -1;
    for (uint32_t k = x->nodes[n->kid].next; k != X_NONE; k = x->nodes[k].next) {
        int r;
        if (ev(x, k, c, &b)) return -1;
        if (a.type == PIPE_X_NULL || b.type == PIPE_X_NULL) {
            unknown = true;
            continue;
        }
        if (compare(c, &a, &b, &r)) return -1;
        if (r == 0) return set_bool(out, true), 0;
    }
    if (unknown) return set_null(out), 0;
    return set_bool(out, false), 0;
}

/* The filter's classic tests, field (== | !=) 'text' and contains/starts_with/ends_with/
 * not_empty(field[, 'text']), straight on the field's stored text (what the general path
 * compares too, for every field type): the reference filter costs what it did before
 * expressions. */
static int fast_test(const pipe_expr *x, const xnode *n, const pipe_xctx *c, pipe_xval *out)
{
    const xnode *fn = &x->nodes[n->kid];
    const pipe_value *f = &c->rec->v[fn->field];
    if (!f->present || f->json_type == PIPE_JSON_NULL) return set_null(out), 0;
    const char *s = f->ptr ? f->ptr : "";
    size_t sl = f->len;
    const xnode *ln = fn->next != X_NONE ? &x->nodes[fn->next] : NULL;
    const char *l = ln ? x->lits + ln->lit : "";
    size_t ll = ln ? ln->lit_len : 0;
    bool r;
    if (n->op == X_CMP)
        r = (sl == ll && memcmp(s, l, ll) == 0) == (n->aux == C_EQ);
    else if (n->aux == FN_CONTAINS)
        r = ll == 0 || (sl >= ll && memmem(s, sl, l, ll) != NULL);
    else if (n->aux == FN_STARTS)
        r = sl >= ll && memcmp(s, l, ll) == 0;
    else if (n->aux == FN_ENDS)
        r = sl >= ll && memcmp(s + sl - ll, l, ll) == 0;
    else
        r = sl > 0;
    return set_bool(out, r), 0;
}

static int ev(const pipe_expr *x, uint32_t i, const pipe_xctx *c, pipe_xval *out)
{
    const xnode *n = &x->nodes[i];
    if (n->fast) return fast_test(x, n, c, out);
    switch (n->op) {
    case X_LIT:
        out->type = n->type, out->text_ok = 0;
        out->b = n->b, out->i = n->i, out->d = n->d;
        out->s = x->lits + n->lit, out->n = n->lit_len;
        return 0;
    case X_FIELD: return field_value(c, n, out);
    case X_PATH: return path_value(c, x, n, out);
    case X_KAFKA: return kafka_value(c, x, n, out);
    case X_NOT:
        if (ev(x, n->kid, c, out)) return -1;
        if (out->type == PIPE_X_BOOL) out->b = !out->b;
        return 0;
    case X_AND:
    case X_OR: return ev_chain(x, n, c, out);
    case X_CMP: return ev_cmp(x, n, c, out);
    case X_IN: return ev_in(x, n, c, out);
    default: return expr_call(x, n, c, out);
    }
}

int pipe_expr_eval(const pipe_expr *x, const pipe_xctx *ctx, pipe_xval *out)
{
    return ev(x, x->root, ctx, out);
}

/* ---- functions ---------------------------------------------------------------------------- */

/* Evaluates the arguments of n into a[]; *null when one of them is null. */
static int args(const pipe_expr *x, const xnode *n, const pipe_xctx *c, pipe_xval *a, bool *null)
{
    int k = 0;
    *null = false;
    for (uint32_t i = n->kid; i != X_NONE; i = x->nodes[i].next, k++) {
        if (ev(x, i, c, &a[k])) return -1;
        if (a[k].type == PIPE_X_NULL) *null = true;
    }
    return 0;
}

static int fn_case(const pipe_xctx *c, const pipe_xval *a, bool upper, pipe_xval *out)
{
    const char *s;
    size_t n;
    if (text_of(c, a, &s, &n)) return -1;
    char *d = scratch(c, n);
    if (!d) return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (upper && ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
        if (!upper && ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        d[i] = ch;
    }
    return set_str(out, d, n), 0;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int fn_trim(const pipe_xctx *c, const pipe_xval *a, pipe_xval *out)
{
    const char *s;
    size_t n;
    if (text_of(c, a, &s, &n)) return -1;
    while (n && is_blank(*s)) s++, n--;
    while (n && is_blank(s[n - 1])) n--;
    return set_str(out, s, n), 0;
}

static int fn_concat(const pipe_xctx *c, const pipe_xval *a, int k, pipe_xval *out)
{
    const char *p[X_MAXARGS];
    size_t n[X_MAXARGS], total = 0;
    for (int i = 0; i < k; i++) {
        if (text_of(c, &a[i], &p[i], &n[i])) return -1;
        total += n[i];
    }
    char *d = scratch(c, total);
    if (!d) return -1;
    for (int i = 0, at = 0; i < k; at += (int)n[i], i++) memcpy(d + at, p[i], n[i]);
    return set_str(out, d, total), 0;
}

/* Byte offset of code point `cp` (0-based) of s[0..n-1], or n when s has fewer. */
static size_t utf8_offset(const char *s, size_t n, int64_t cp)
{
    size_t i = 0;
    for (; i < n && cp > 0; cp--)
        for (i++; i < n && ((unsigned char)s[i] & 0xC0) == 0x80;) i++;
    return i;
}

static size_t utf8_count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* Spark's substring: 1-based start, 0 is 1, a negative start counts from the end. */
static int fn_substr(const pipe_xctx *c, const pipe_xval *a, int k, pipe_xval *out)
{
    const char *s;
    size_t n;
    if (text_of(c, &a[0], &s, &n)) return -1;
    int64_t len = utf8_count(s, n), start = a[1].i, want = k > 2 ? a[2].i : INT64_MAX;
    int64_t from = start > 0 ? start - 1 : start < 0 ? len + start : 0;
    /* The end counts from the unclamped start; only a start >= 0 can overflow it. */
    int64_t to = want <= 0 ? from : from < 0 || want <= INT64_MAX - from ? from + want : INT64_MAX;
    if (from < 0) from = 0;
    if (to > len) to = len;
    if (to <= from) return set_str(out, s, 0), 0;
    size_t b = utf8_offset(s, n, from), e = b + utf8_offset(s + b, n - b, to - from);
    return set_str(out, s + b, e - b), 0;
}

static int fn_coalesce(const pipe_xctx *c, const xnode *n, const pipe_xval *a, int k,
                       pipe_xval *out)
{
    for (int i = 0; i < k; i++) {
        if (a[i].type == PIPE_X_NULL) continue;
        *out = a[i];
        if (n->type == PIPE_X_DOUBLE && a[i].type == PIPE_X_INT)
            out->type = PIPE_X_DOUBLE, out->d = (double)a[i].i, out->text_ok = 0;
        if (n->type == PIPE_X_STRING && a[i].type != PIPE_X_STRING) {
            if (text_of(c, &a[i], &out->s, &out->n)) return -1;
            out->type = PIPE_X_STRING, out->text_ok = 0;
        }
        return 0;
    }
    return set_null(out), 0;
}

static int fn_to_time(const pipe_xctx *c, const pipe_xval *a, bool date, pipe_xval *out)
{
    int64_t v;
    if (a->type == PIPE_X_INT && !date) return set_int(out, PIPE_X_TIMESTAMP, a->i), 0;
    if (a->type == PIPE_X_STRING && !date && parse_i64(a->s, a->n, &v) == 0)
        return set_int(out, PIPE_X_TIMESTAMP, v), 0; /* epoch milliseconds, as CQL takes */
    if (a->type == PIPE_X_INT) a = &(pipe_xval){.type = PIPE_X_TIMESTAMP, .i = a->i};
    if (time_of(c, a, date, &v)) {
        char q[48];
        const char *s;
        size_t n;
        pipe_xval_text(a, q, sizeof q, &s, &n);
        char q2[48];
        return fail(c, "%s: not an ISO-8601 %s: '%s'", date ? "to_date" : "to_timestamp",
                    date ? "date" : "timestamp", quote(s, n, q2));
    }
    return set_int(out, date ? PIPE_X_DATE : PIPE_X_TIMESTAMP, v), 0;
}

static int set_uuid(const pipe_xctx *c, const uint8_t *h, pipe_xval *out);

static int fn_uuid_v5(const pipe_xctx *c, const pipe_xval *a, int k, pipe_xval *out)
{
    uint8_t ns[16], h[20];
    char q[48];
    if (expr_uuid_namespace(a[0].s, a[0].n, ns))
        return fail(c, "uuid_v5: not a namespace: '%s'", quote(a[0].s, a[0].n, q));
    xsha1 sh;
    expr_sha1_init(&sh);
    expr_sha1_update(&sh, ns, 16);
    for (int i = 1; i < k; i++) {
        const char *s;
        size_t n;
        if (text_of(c, &a[i], &s, &n)) return -1;
        expr_sha1_update(&sh, s, n);
    }
    expr_sha1_final(&sh, h);
    h[6] = (uint8_t)((h[6] & 0x0F) | 0x50); /* version 5 */
    h[8] = (uint8_t)((h[8] & 0x3F) | 0x80); /* the RFC 4122 variant */
    return set_uuid(c, h, out);
}

/* A uuid value of 16 bytes: its lower-case text in scratch. */
static int set_uuid(const pipe_xctx *c, const uint8_t *h, pipe_xval *out)
{
    char *d = scratch(c, 37);
    if (!d) return -1;
    static const char hex[] = "0123456789abcdef";
    size_t at = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) d[at++] = '-';
        d[at++] = hex[h[i] >> 4], d[at++] = hex[h[i] & 15];
    }
    set_str(out, d, 36);
    out->type = PIPE_X_UUID, out->text_ok = 1;
    return 0;
}

static int fn_to_uuid(const pipe_xctx *c, const pipe_xval *a, pipe_xval *out)
{
    uint8_t u[16];
    char q[48];
    const char *s;
    size_t n;
    if (text_of(c, a, &s, &n)) return -1;
    if (pipe_uuid_parse(s, n, u)) return fail(c, "to_uuid: not a UUID: '%s'", quote(s, n, q));
    return set_uuid(c, u, out);
}

static int fn_test(const pipe_xctx *c, const pipe_expr *x, const xnode *n, const pipe_xval *a,
                   pipe_xval *out)
{
    const char *s, *l = a[1].s;
    size_t sl, ll = a[1].n;
    if (text_of(c, &a[0], &s, &sl)) return -1;
    if (!s) s = "";
    switch ((xfn)n->aux) {
    case FN_CONTAINS: return set_bool(out, ll == 0 || (sl >= ll && memmem(s, sl, l, ll))), 0;
    case FN_STARTS: return set_bool(out, sl >= ll && memcmp(s, l, ll) == 0), 0;
    case FN_ENDS: return set_bool(out, sl >= ll && memcmp(s + sl - ll, l, ll) == 0), 0;
    case FN_NOT_EMPTY: return set_bool(out, sl > 0), 0;
    default: {
        regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)sl};
        int rc = regexec(&x->re[n->field], s, 1, &m, REG_STARTEND);
        if (rc != 0 && rc != REG_NOMATCH) return fail(c, "matches: regex failed (%d)", rc);
        return set_bool(out, rc == 0), 0;
    }
    }
}

int expr_call(const pipe_expr *x, const xnode *n, const pipe_xctx *c, pipe_xval *out)
{
    pipe_xval a[X_MAXARGS];
    bool null;
    if (n->aux == FN_NOW) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return set_int(out, PIPE_X_TIMESTAMP, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000), 0;
    }
    if (args(x, n, c, a, &null)) return -1;
    int k = (int)n->nkids;
    switch ((xfn)n->aux) {
    case FN_COALESCE: return fn_coalesce(c, n, a, k, out);
    case FN_IS_NULL: return set_bool(out, a[0].type == PIPE_X_NULL), 0;
    case FN_PRESENT: return set_bool(out, a[0].type != PIPE_X_NULL), 0;
    default: break;
    }
    if (null) return set_null(out), 0;
    switch ((xfn)n->aux) {
    case FN_LOWER: return fn_case(c, a, false, out);
    case FN_UPPER: return fn_case(c, a, true, out);
    case FN_TRIM: return fn_trim(c, a, out);
    case FN_CONCAT: return fn_concat(c, a, k, out);
    case FN_SUBSTR: return fn_substr(c, a, k, out);
    case FN_TO_TIMESTAMP: return fn_to_time(c, a, false, out);
    case FN_TO_DATE: return fn_to_time(c, a, true, out);
    case FN_UUID_V5: return fn_uuid_v5(c, a, k, out);
    case FN_TO_UUID: return fn_to_uuid(c, a, out);
    default: return fn_test(c, x, n, a, out);
    }
}

/* ---- SHA-1 (FIPS 180-4) and UUID namespaces ------------------------------------------------ */

static uint32_t rol(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

static void sha1_block(xsha1 *s, const uint8_t *p)
{
    uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 80; t++) w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20)
            f = (b & c) | (~b & d), k = 0x5A827999;
        else if (t < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (t < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t tmp = rol(a, 5) + f + e + k + w[t];
        e = d, d = c, c = rol(b, 30), b = a, a = tmp;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

void expr_sha1_init(xsha1 *s)
{
    static const uint32_t h0[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
}

void expr_sha1_update(xsha1 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        size_t used = s->len % 64, take = 64 - used < n ? 64 - used : n;
        memcpy(s->buf + used, p, take);
        s->len += take, p += take, n -= take;
        if ((s->len % 64) == 0) sha1_block(s, s->buf);
    }
}

void expr_sha1_final(xsha1 *s, uint8_t out[20])
{
    uint64_t bits = s->len * 8;
    uint8_t pad[72] = {0x80};
    size_t used = s->len % 64, padlen = used < 56 ? 56 - used : 120 - used;
    for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    expr_sha1_update(s, pad, padlen + 8);
    for (int i = 0; i < 20; i++) out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

int expr_uuid_namespace(const char *s, size_t n, uint8_t out[16])
{
    /* RFC 4122 appendix C: 6ba7b81X-9dad-11d1-80b4-00c04fd430c8 with X = 0, 1, 2, 4. */
    static const char *const names[] = {"dns", "url", "oid", "x500"};
    for (int i = 0; i < 4; i++)
        if (n == strlen(names[i]) && memcmp(s, names[i], n) == 0) {
            static const char base[] = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
            char t[37];
            memcpy(t, base, sizeof t);
            t[7] = "0124"[i];
            return expr_uuid_namespace(t, 36, out);
        }
    return pipe_uuid_parse(s, n, out);
}
