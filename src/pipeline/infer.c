/* Schema inference over sampled messages (see infer.h).
 *
 * DESIGN: the stream's decoder is the judge of every message, so what init counts is what the
 * stream will accept. The decoder only reports the fields of a schema, so a message is first
 * scanned (leniently, without validating) for its top-level keys; keys not seen before extend a
 * trial schema of string fields, which take any JSON value and keep its type, and the message
 * is decoded against it. Only a message the decoder accepts makes its new keys fields. Key
 * candidates keep the set of their values (hashed copies) until a repeat, a null or an absent
 * value rules them out. */
#include "pipeline/infer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/config_impl.h"
#include "pipeline/expr.h"
#include "pipeline/json_impl.h"
#include "util/isotime.h"

enum { KEY_MAX_BYTES = 65535 }; /* Cassandra's bound on a partition key value */

/* A set of byte strings (open addressing, linear probing), for uniqueness of key values. */
typedef struct vset {
    struct vslot {
        uint64_t h;
        char *p; /* NULL: empty slot */
        size_t n;
    } * slots;
    size_t cap, n;
} vset;

typedef struct field_state {
    pipe_infer_field f;
    vset seen;
} field_state;

struct pipe_infer {
    field_state *fields;
    size_t nfields;
    pipe_schema *schema;
    pipe_record *rec;
    pipe_arena *arena;
    uint64_t messages, records, skipped_keys;
    uint64_t rejected[PIPE_DEC__COUNT];
    char **pending; /* new keys of the message being added */
    size_t npending, pending_cap;
    char **skipped; /* distinct keys that are not fields */
    size_t nskipped;
};

/* ---- the value set ------------------------------------------------------------------------ */

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void vset_free(vset *s)
{
    for (size_t i = 0; i < s->cap; i++) free(s->slots[i].p);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static int vset_grow(vset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct vslot *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i].p) continue;
        size_t j = s->slots[i].h & (cap - 1);
        while (slots[j].p) j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

/* Adds p[0..n-1]: 1 when it was new, 0 when already there, -1 when out of memory. */
static int vset_add(vset *s, const char *p, size_t n)
{
    if ((s->n + 1) * 2 > s->cap && vset_grow(s)) return -1;
    uint64_t h = hash_bytes(p, n);
    size_t j = h & (s->cap - 1);
    for (; s->slots[j].p; j = (j + 1) & (s->cap - 1))
        if (s->slots[j].h == h && s->slots[j].n == n && memcmp(s->slots[j].p, p, n) == 0) return 0;
    char *copy = malloc(n ? n : 1);
    if (!copy) return -1;
    if (n) memcpy(copy, p, n);
    s->slots[j] = (struct vslot){h, copy, n};
    s->n++;
    return 1;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

pipe_infer *pipe_infer_new(void)
{
    pipe_infer *p = calloc(1, sizeof *p);
    if (!p || !(p->arena = pipe_arena_new(0))) {
        free(p);
        return NULL;
    }
    return p;
}

static void clear_pending(pipe_infer *p)
{
    for (size_t i = 0; i < p->npending; i++) free(p->pending[i]);
    p->npending = 0;
}

void pipe_infer_free(pipe_infer *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nfields; i++) {
        free(p->fields[i].f.name);
        vset_free(&p->fields[i].seen);
    }
    free(p->fields);
    clear_pending(p);
    free(p->pending);
    for (size_t i = 0; i < p->nskipped; i++) free(p->skipped[i]);
    free(p->skipped);
    pipe_schema_free(p->schema);
    pipe_record_free(p->rec);
    pipe_arena_free(p->arena);
    free(p);
}

/* ---- finding the keys of a message -------------------------------------------------------- */

/* Unescapes the JSON string body s[0..n-1] into out (cap bytes); returns the length, or -1 when
 * it does not fit, has a bad escape or a NUL. Validation is the decoder's: this only has to be
 * right for what it accepts. */
static long unescape_key(const unsigned char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char tmp[4];
        size_t w = 1;
        if (s[i] != '\\') {
            tmp[0] = s[i++];
        } else {
            if (i + 1 >= n) return -1;
            unsigned char e = s[i + 1];
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *k = e ? strchr(from, e) : NULL;
            unsigned cp, lo;
            if (k) {
                tmp[0] = (unsigned char)to[k - from];
                i += 2;
            } else if (e == 'u' && i + 6 <= n && json_hex4(s + i + 2, &cp) == 0) {
                i += 6;
                if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' &&
                    json_hex4(s + i + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else if (cp >= 0xD800 && cp < 0xE000) {
                    return -1;
                }
                w = json_put_utf8(tmp, cp);
            } else {
                return -1;
            }
        }
        if (tmp[0] == '\0' || o + w > cap) return -1;
        memcpy(out + o, tmp, w);
        o += w;
    }
    return (long)o;
}

/* Notes a key that cannot be a field, once per distinct key (bounded to keep memory small). */
static void skip_key(pipe_infer *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->nskipped; i++)
        if (strlen(p->skipped[i]) == n && memcmp(p->skipped[i], name, n) == 0) return;
    p->skipped_keys++;
    if (p->nskipped >= 64) return;
    char **s = realloc(p->skipped, (p->nskipped + 1) * sizeof *s);
    if (!s) return;
    p->skipped = s;
    if ((s[p->nskipped] = strndup(name, n))) p->nskipped++;
}

/* A key of the message: a known field, already pending, or a new pending one. */
static int note_key(pipe_infer *p, const unsigned char *s, size_t n)
{
    char name[PIPE_FIELD_NAME_MAX + 1];
    long len = unescape_key(s, n, name, PIPE_FIELD_NAME_MAX);
    if (len <= 0) {
        if (n) skip_key(p, (const char *)s, n < 64 ? n : 64);
        return 0;
    }
    if (p->schema && pipe_schema_find(p->schema, name, (size_t)len) >= 0) return 0;
    for (size_t i = 0; i < p->npending; i++)
        if (strlen(p->pending[i]) == (size_t)len && memcmp(p->pending[i], name, (size_t)len) == 0)
            return 0;
    if (p->nfields + p->npending >= PIPE_SCHEMA_MAX_FIELDS) {
        skip_key(p, name, (size_t)len);
        return 0;
    }
    if (p->npending == p->pending_cap) {
        size_t cap = p->pending_cap ? p->pending_cap * 2 : 16;
        char **q = realloc(p->pending, cap * sizeof *q);
        if (!q) return -1;
        p->pending = q;
        p->pending_cap = cap;
    }
    if (!(p->pending[p->npending] = strndup(name, (size_t)len))) return -1;
    p->npending++;
    return 0;
}

/* Collects the top-level keys of buf into p->pending (lenient: strings and nesting are only
 * tracked, not checked; the decoder judges the message afterwards). -1 when out of memory. */
static int scan_keys(pipe_infer *p, const unsigned char *b, size_t len)
{
    size_t i = 0, depth = 0;
    int want_key = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) i++;
    if (i >= len || b[i] != '{') return 0;
    for (; i < len; i++) {
        unsigned char c = b[i];
        if (c == '"') {
            size_t start = ++i;
            while (i < len && b[i] != '"') i += b[i] == '\\' ? 2 : 1;
            if (i >= len) return 0;
            if (depth == 1 && want_key && note_key(p, b + start, i - start)) return -1;
            want_key = 0;
        } else if (c == '{' || c == '[') {
            depth++;
            want_key = c == '{' && depth == 1;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return 0;
        } else if (c == ',' && depth == 1) {
            want_key = 1;
        }
    }
    return 0;
}

/* ---- adding a message --------------------------------------------------------------------- */

/* A schema of string fields (any JSON value, unbounded) for the known and pending keys. */
static pipe_schema *trial_schema(const pipe_infer *p)
{
    size_t n = p->nfields + p->npending;
    pipe_field *defs = calloc(n ? n : 1, sizeof *defs);
    if (!defs) return NULL;
    for (size_t i = 0; i < n; i++) {
        defs[i].name = i < p->nfields ? p->fields[i].f.name : p->pending[i - p->nfields];
        defs[i].type = PIPE_T_STRING;
        defs[i].max_bytes = SIZE_MAX;
    }
    char err[256];
    pipe_schema *s = pipe_schema_new(defs, n, 0, err, sizeof err);
    free(defs);
    return s;
}

/* Makes the pending keys fields: a field first seen now was absent from every earlier record,
 * so it can be a key only when there was none. */
static int commit_pending(pipe_infer *p, pipe_schema *s, pipe_record *r)
{
    field_state *f = realloc(p->fields, (p->nfields + p->npending) * sizeof *f);
    if (!f) return -1;
    p->fields = f;
    for (size_t i = 0; i < p->npending; i++) {
        field_state *n = &f[p->nfields++];
        memset(n, 0, sizeof *n);
        n->f.name = p->pending[i];
        n->f.key_candidate = p->records == 0;
    }
    p->npending = 0;
    pipe_schema_free(p->schema);
    pipe_record_free(p->rec);
    p->schema = s;
    p->rec = r;
    return 0;
}

/* The decoder keeps an integer's digits and re-prints any other number (1e3 -> 1000.0). */
static void count_number(pipe_infer_field *f, const char *t, size_t n)
{
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] >= '0' && t[i] <= '9')
            digits++;
        else if (!(t[i] == '-' && i == 0))
            return (void)f->n_float++;
    }
    f->n_int++;
    char tmp[24];
    if (digits > 19 || n >= sizeof tmp) {
        f->over_int32 = f->over_int64 = true;
        return;
    }
    memcpy(tmp, t, n);
    tmp[n] = '\0';
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE) f->over_int64 = true;
    if (errno == ERANGE || v < INT32_MIN || v > INT32_MAX) f->over_int32 = true;
}

static int count_value(field_state *fs, const pipe_value *v)
{
    pipe_infer_field *f = &fs->f;
    bool null = !v->present || v->json_type == PIPE_JSON_NULL;
    f->present += v->present;
    f->nulls += v->present && v->json_type == PIPE_JSON_NULL;
    if (!null && v->len > f->longest) f->longest = v->len;
    if (!null) switch (v->json_type) {
        case PIPE_JSON_STRING: {
            int64_t ms;
            f->n_string++;
            unsigned char u[16];
            f->n_timestamp += iso_parse_timestamp(v->ptr, v->len, &ms) == 0;
            f->n_uuid += pipe_uuid_parse(v->ptr, v->len, u) == 0;
            break;
        }
        case PIPE_JSON_NUMBER: count_number(f, v->ptr, v->len); break;
        case PIPE_JSON_BOOL: f->n_bool++; break;
        case PIPE_JSON_OBJECT: f->n_object++; break;
        case PIPE_JSON_ARRAY: f->n_array++; break;
        default: break;
        }
    if (!f->key_candidate) return 0;
    int added = 0;
    if (!null && v->json_type != PIPE_JSON_OBJECT && v->json_type != PIPE_JSON_ARRAY &&
        v->len <= KEY_MAX_BYTES && (added = vset_add(&fs->seen, v->ptr ? v->ptr : "", v->len)) < 0)
        return -1;
    if (added != 1) {
        f->key_candidate = false;
        vset_free(&fs->seen);
    }
    return 0;
}

pipe_decode_err pipe_infer_add(pipe_infer *p, const char *buf, size_t len)
{
    pipe_arena_reset(p->arena);
    clear_pending(p);
    if (scan_keys(p, (const unsigned char *)(buf ? buf : ""), len)) return PIPE_DEC_NO_MEMORY;
    pipe_schema *s = p->schema;
    pipe_record *r = p->rec;
    if (p->npending || !s) {
        s = trial_schema(p);
        r = s ? pipe_record_new(s) : NULL;
        if (!r) {
            pipe_schema_free(s);
            return PIPE_DEC_NO_MEMORY;
        }
    }
    pipe_decode_err rc = pipe_decode(s, buf ? buf : "", len, p->arena, r, NULL);
    if (rc == PIPE_DEC_OK && s != p->schema && commit_pending(p, s, r)) rc = PIPE_DEC_NO_MEMORY;
    if (rc != PIPE_DEC_OK && s != p->schema) {
        pipe_schema_free(s);
        pipe_record_free(r);
    }
    if (rc == PIPE_DEC_NO_MEMORY) return rc;
    p->messages++;
    if (rc != PIPE_DEC_OK) {
        p->rejected[rc]++;
        return rc;
    }
    for (size_t i = 0; i < p->nfields; i++)
        if (count_value(&p->fields[i], &p->rec->v[i])) return PIPE_DEC_NO_MEMORY;
    p->records++;
    return PIPE_DEC_OK;
}

/* ---- results ------------------------------------------------------------------------------ */

uint64_t pipe_infer_messages(const pipe_infer *p)
{
    return p->messages;
}

uint64_t pipe_infer_records(const pipe_infer *p)
{
    return p->records;
}

uint64_t pipe_infer_rejected(const pipe_infer *p, pipe_decode_err r)
{
    return (unsigned)r < PIPE_DEC__COUNT ? p->rejected[r] : 0;
}

uint64_t pipe_infer_skipped_keys(const pipe_infer *p)
{
    return p->skipped_keys;
}

size_t pipe_infer_nfields(const pipe_infer *p)
{
    return p->nfields;
}

const pipe_infer_field *pipe_infer_field_at(const pipe_infer *p, size_t i)
{
    return i < p->nfields ? &p->fields[i].f : NULL;
}

pipe_type pipe_infer_type(const pipe_infer_field *f)
{
    uint64_t numbers = f->n_int + f->n_float;
    if (f->n_string || f->n_object || f->n_array) return PIPE_T_STRING;
    if (f->n_bool) return numbers ? PIPE_T_STRING : PIPE_T_BOOLEAN;
    if (!numbers || f->over_int64) return PIPE_T_STRING;
    if (f->n_float) return PIPE_T_DOUBLE;
    return f->over_int32 ? PIPE_T_BIGINT : PIPE_T_INT;
}

bool pipe_infer_timestamp_like(const pipe_infer_field *f)
{
    uint64_t nonnull = f->present - f->nulls;
    return f->n_string > 0 && f->n_string == nonnull && f->n_timestamp * 100 >= f->n_string * 95;
}

bool pipe_infer_uuid_like(const pipe_infer_field *f)
{
    uint64_t nonnull = f->present - f->nulls;
    return f->n_string > 0 && f->n_string == nonnull && f->n_uuid == f->n_string;
}

static bool ends_with_id(const char *s)
{
    size_t n = strlen(s);
    return n >= 2 && strcasecmp(s + n - 2, "id") == 0;
}

int pipe_infer_key(const pipe_infer *p)
{
    int first = -1, suffix = -1;
    for (size_t i = 0; i < p->nfields; i++) {
        const pipe_infer_field *f = &p->fields[i].f;
        if (!f->key_candidate || !p->records) continue;
        if (strcasecmp(f->name, "id") == 0) return (int)i;
        if (suffix < 0 && ends_with_id(f->name)) suffix = (int)i;
        if (first < 0) first = (int)i;
    }
    return suffix >= 0 ? suffix : first;
}
