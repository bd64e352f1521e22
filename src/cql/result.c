/* RESULT decoding and access. Rows are parsed in place: decoding validates every cell's bounds
 * once and records its offset, so cell access is O(1) and never reads outside the body; the
 * metadata (names, types) goes into the result's arena. */
#include "cql/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MD_GLOBAL = 0x0001, MD_MORE_PAGES = 0x0002, MD_NO_METADATA = 0x0004, MD_NEW_ID = 0x0008 };

static char *rd_strdup(cql_rd *r, cql_arena *a)
{
    size_t n;
    const char *s = cql_rd_string(r, &n);
    char *d = cql_arena_strndup(a, s, n);
    if (!d) r->err = true;
    return d ? d : "";
}

static void dec_type(cql_rd *r, cql_arena *a, cql_type *t, int depth);

static cql_type *dec_subtypes(cql_rd *r, cql_arena *a, cql_type *t, uint16_t n, int depth)
{
    cql_type *sub = n ? cql_arena_alloc(a, sizeof *sub * n) : NULL;
    if (n && !sub) {
        r->err = true;
        return NULL;
    }
    t->nsub = n;
    t->sub = sub;
    for (uint16_t i = 0; i < n && !r->err; i++) dec_type(r, a, &sub[i], depth + 1);
    return sub;
}

static void dec_udt(cql_rd *r, cql_arena *a, cql_type *t, int depth)
{
    t->keyspace = rd_strdup(r, a);
    t->name = rd_strdup(r, a);
    uint16_t n = cql_rd_u16(r);
    if (r->err) return;
    const char **names = n ? cql_arena_alloc(a, sizeof *names * n) : NULL;
    cql_type *sub = n ? cql_arena_alloc(a, sizeof *sub * n) : NULL;
    if (n && (!names || !sub)) {
        r->err = true;
        return;
    }
    t->nsub = n;
    t->sub = sub;
    t->field_names = names;
    for (uint16_t i = 0; i < n && !r->err; i++) {
        names[i] = rd_strdup(r, a);
        dec_type(r, a, &sub[i], depth + 1);
    }
}

/* [option] of a column type, recursively, with a depth limit against hostile nesting. */
static void dec_type(cql_rd *r, cql_arena *a, cql_type *t, int depth)
{
    memset(t, 0, sizeof *t);
    if (depth > CQL_MAX_TYPE_DEPTH) {
        r->err = true;
        return;
    }
    t->id = (cql_type_id)cql_rd_u16(r);
    switch (t->id) {
    case CQL_TYPE_CUSTOM:
        /* Protocol v4 has no duration id: the server names the Java class instead. */
        t->name = rd_strdup(r, a);
        if (strcmp(t->name, "org.apache.cassandra.db.marshal.DurationType") == 0)
            t->id = CQL_TYPE_DURATION;
        break;
    case CQL_TYPE_LIST:
    case CQL_TYPE_SET: dec_subtypes(r, a, t, 1, depth); break;
    case CQL_TYPE_MAP: dec_subtypes(r, a, t, 2, depth); break;
    case CQL_TYPE_TUPLE: dec_subtypes(r, a, t, cql_rd_u16(r), depth); break;
    case CQL_TYPE_UDT: dec_udt(r, a, t, depth); break;
    default:
        if (t->id > CQL_TYPE_DURATION) r->err = true;
        break;
    }
}

/* Column specs; ks/table per column unless a global spec was given. */
static cql_column *dec_colspecs(cql_rd *r, cql_arena *a, int n, bool global)
{
    const char *ks = "", *table = "";
    if (global) {
        ks = rd_strdup(r, a);
        table = rd_strdup(r, a);
    }
    if (n == 0 || r->err) return NULL;
    cql_column *cols = cql_arena_alloc(a, sizeof *cols * (size_t)n);
    if (!cols) {
        r->err = true;
        return NULL;
    }
    for (int i = 0; i < n && !r->err; i++) {
        cols[i].keyspace = global ? ks : rd_strdup(r, a);
        cols[i].table = global ? table : rd_strdup(r, a);
        cols[i].name = rd_strdup(r, a);
        dec_type(r, a, &cols[i].type, 0);
    }
    return cols;
}

/* Placeholder columns (blob, "?") when rows come without metadata we know. */
static cql_column *unknown_cols(cql_rd *r, cql_arena *a, int n)
{
    cql_column *cols = n ? cql_arena_alloc(a, sizeof *cols * (size_t)n) : NULL;
    if (n && !cols) r->err = true;
    for (int i = 0; cols && i < n; i++) {
        cols[i].keyspace = cols[i].table = "";
        cols[i].name = "?";
        cols[i].type.id = CQL_TYPE_BLOB;
    }
    return cols;
}

/* Whether n columns (or bind markers) can be real before anything is allocated for them:
 * CQL_MAX_COLUMNS at most (the protocol counts bound values in a [short]; a result has no such
 * limit, but a row of more columns than that is not a table anyone queries), and, when their specs
 * follow, no more than the body can encode at 4 bytes a spec (name and type id). */
static bool column_count_ok(const cql_rd *r, int32_t n, bool specs_follow)
{
    if (n < 0 || n > CQL_MAX_COLUMNS) return false;
    return !specs_follow || (size_t)n <= cql_rd_left(r) / 4;
}

/* Rows metadata: <flags><count>[paging_state][new_metadata_id][global][specs]. */
static void dec_rows_meta(cql_rd *r, cql_result *res, const cql_column *known, int nknown)
{
    int32_t flags = cql_rd_i32(r);
    int32_t n = cql_rd_i32(r);
    if (r->err || !column_count_ok(r, n, !(flags & MD_NO_METADATA))) {
        r->err = true;
        return;
    }
    res->ncols = n;
    if (flags & MD_MORE_PAGES) {
        res->paging_state = cql_rd_bytes(r);
        res->has_more = res->paging_state.len >= 0;
    }
    if (flags & MD_NEW_ID) cql_rd_short_bytes(r);
    if (flags & MD_NO_METADATA)
        res->cols = (known && nknown == n) ? known : unknown_cols(r, &res->arena, n);
    else
        res->cols = dec_colspecs(r, &res->arena, n, flags & MD_GLOBAL);
}

static void dec_rows(cql_rd *r, cql_result *res, const cql_column *known, int nknown)
{
    dec_rows_meta(r, res, known, nknown);
    int32_t nrows = cql_rd_i32(r);
    if (r->err || nrows < 0) {
        r->err = true;
        return;
    }
    /* Each cell takes at least 4 bytes, which bounds the index before allocating it. */
    size_t cells = (size_t)nrows * (size_t)res->ncols;
    if (res->ncols && cells / (size_t)res->ncols != (size_t)nrows) r->err = true;
    if (r->err || cells > cql_rd_left(r) / 4) {
        r->err = true;
        return;
    }
    if (cells > res->cells_cap) {
        uint32_t *c = realloc(res->cells, cells * sizeof *c);
        if (!c) {
            r->err = true;
            return;
        }
        res->cells = c;
        res->cells_cap = cells;
    }
    for (size_t i = 0; i < cells && !r->err; i++) {
        res->cells[i] = (uint32_t)(r->p - res->body);
        cql_rd_bytes(r);
    }
    res->nrows = r->err ? 0 : nrows;
}

static void dec_prepared(cql_rd *r, cql_result *res)
{
    cql_arena *a = &res->arena;
    res->prepared_id = cql_rd_short_bytes(r);
    int32_t flags = cql_rd_i32(r);
    int32_t n = cql_rd_i32(r);
    int32_t npk = cql_rd_i32(r);
    if (r->err || !column_count_ok(r, n, true) || npk < 0 || npk > n) {
        r->err = true;
        return;
    }
    uint16_t *pk = npk ? cql_arena_alloc(a, sizeof *pk * (size_t)npk) : NULL;
    if (npk && !pk) r->err = true;
    for (int32_t i = 0; i < npk && !r->err; i++) {
        pk[i] = cql_rd_u16(r);
        if (pk[i] >= n) r->err = true;
    }
    res->npk = npk;
    res->pk = pk;
    res->nbind = n;
    res->bind = dec_colspecs(r, a, n, flags & MD_GLOBAL);
    dec_rows_meta(r, res, NULL, 0);
}

static void dec_schema_change(cql_rd *r, cql_result *res)
{
    cql_event ev;
    memset(&ev, 0, sizeof ev);
    cql_rd_string_to(r, ev.change, sizeof ev.change);
    cql_rd_string_to(r, ev.target, sizeof ev.target);
    cql_rd_string_to(r, ev.keyspace, sizeof ev.keyspace);
    if (strcmp(ev.target, "KEYSPACE") != 0) {
        cql_rd_string_to(r, ev.name, sizeof ev.name);
        if (strcmp(ev.target, "FUNCTION") == 0 || strcmp(ev.target, "AGGREGATE") == 0)
            cql_rd_skip_string_list(r);
    }
    snprintf(res->info, sizeof res->info, "%s %s %s%s%s", ev.change, ev.target, ev.keyspace,
             ev.name[0] ? "." : "", ev.name);
}

void cql_result_reset(cql_result *res)
{
    uint32_t *cells = res->cells;
    size_t cap = res->cells_cap;
    cql_arena arena = res->arena;
    cql_arena_reset(&arena);
    memset(res, 0, sizeof *res);
    res->cells = cells;
    res->cells_cap = cap;
    res->arena = arena;
    res->paging_state.len = CQL_NULL;
}

int cql_dec_result(const uint8_t *body, size_t len, const cql_column *known, int nknown,
                   cql_result *res)
{
    cql_rd r = cql_rd_make(body, len);
    res->kind = (cql_result_kind)cql_rd_i32(&r);
    res->body = body;
    res->body_len = len;
    res->paging_state.len = CQL_NULL;
    switch (res->kind) {
    case CQL_RESULT_VOID: break;
    case CQL_RESULT_ROWS: dec_rows(&r, res, known, nknown); break;
    case CQL_RESULT_SET_KEYSPACE: cql_rd_string_to(&r, res->info, sizeof res->info); break;
    case CQL_RESULT_PREPARED: dec_prepared(&r, res); break;
    case CQL_RESULT_SCHEMA_CHANGE: dec_schema_change(&r, res); break;
    default: r.err = true;
    }
    if (r.err) {
        res->nrows = 0;
        res->ncols = 0;
        return CQL_E_PROTOCOL;
    }
    return 0;
}

void cql_result_release(cql_result *res)
{
    free(res->cells);
    free(res->owned_body);
    cql_arena_free(&res->arena);
    res->cells = NULL;
    res->owned_body = NULL;
    res->cells_cap = 0;
}

/* ---- public accessors --------------------------------------------------------------------- */

cql_result_kind cql_result_get_kind(const cql_result *res)
{
    return res ? res->kind : CQL_RESULT_VOID;
}

int cql_result_column_count(const cql_result *res)
{
    return res ? res->ncols : 0;
}

const cql_column *cql_result_column(const cql_result *res, int i)
{
    return res && i >= 0 && i < res->ncols && res->cols ? &res->cols[i] : NULL;
}

int32_t cql_result_row_count(const cql_result *res)
{
    return res ? res->nrows : 0;
}

cql_value cql_result_cell(const cql_result *res, int32_t row, int col)
{
    cql_value v = {NULL, CQL_NULL};
    if (!res || row < 0 || row >= res->nrows || col < 0 || col >= res->ncols) return v;
    cql_rd r = cql_rd_make(res->body, res->body_len);
    r.p += res->cells[(size_t)row * (size_t)res->ncols + (size_t)col];
    return cql_rd_bytes(&r);
}

bool cql_result_has_more_pages(const cql_result *res)
{
    return res && res->has_more;
}

cql_value cql_result_paging_state(const cql_result *res)
{
    cql_value none = {NULL, CQL_NULL};
    return res && res->has_more ? res->paging_state : none;
}

const char *cql_result_info(const cql_result *res)
{
    return res ? res->info : "";
}

int cql_type_copy(cql_arena *a, cql_type *dst, const cql_type *src)
{
    *dst = *src;
    dst->name = src->name ? cql_arena_strndup(a, src->name, strlen(src->name)) : NULL;
    dst->keyspace =
        src->keyspace ? cql_arena_strndup(a, src->keyspace, strlen(src->keyspace)) : NULL;
    if ((src->name && !dst->name) || (src->keyspace && !dst->keyspace)) return CQL_E_NOMEM;
    if (!src->nsub) return 0;
    cql_type *sub = cql_arena_alloc(a, sizeof *sub * src->nsub);
    if (!sub) return CQL_E_NOMEM;
    dst->sub = sub;
    for (uint16_t i = 0; i < src->nsub; i++)
        if (cql_type_copy(a, &sub[i], &src->sub[i])) return CQL_E_NOMEM;
    if (src->field_names) {
        const char **names = cql_arena_alloc(a, sizeof *names * src->nsub);
        if (!names) return CQL_E_NOMEM;
        for (uint16_t i = 0; i < src->nsub; i++) {
            names[i] = cql_arena_strndup(a, src->field_names[i], strlen(src->field_names[i]));
            if (!names[i]) return CQL_E_NOMEM;
        }
        dst->field_names = names;
    }
    return 0;
}

int cql_columns_copy(cql_arena *a, const cql_column *src, int n, cql_column **out)
{
    *out = NULL;
    if (n <= 0) return 0;
    cql_column *cols = cql_arena_alloc(a, sizeof *cols * (size_t)n);
    if (!cols) return CQL_E_NOMEM;
    for (int i = 0; i < n; i++) {
        cols[i].keyspace = cql_arena_strndup(a, src[i].keyspace, strlen(src[i].keyspace));
        cols[i].table = cql_arena_strndup(a, src[i].table, strlen(src[i].table));
        cols[i].name = cql_arena_strndup(a, src[i].name, strlen(src[i].name));
        if (!cols[i].keyspace || !cols[i].table || !cols[i].name) return CQL_E_NOMEM;
        if (cql_type_copy(a, &cols[i].type, &src[i].type)) return CQL_E_NOMEM;
    }
    *out = cols;
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool type_equal(const cql_type *a, const cql_type *b)
{
    if (a->id != b->id || a->nsub != b->nsub || !str_eq(a->name, b->name) ||
        !str_eq(a->keyspace, b->keyspace) || !a->field_names != !b->field_names)
        return false;
    for (uint16_t i = 0; i < a->nsub; i++)
        if (!type_equal(&a->sub[i], &b->sub[i]) ||
            (a->field_names && !str_eq(a->field_names[i], b->field_names[i])))
            return false;
    return true;
}

bool cql_columns_equal(const cql_column *a, const cql_column *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!str_eq(a[i].name, b[i].name) || !str_eq(a[i].table, b[i].table) ||
            !str_eq(a[i].keyspace, b[i].keyspace) || !type_equal(&a[i].type, &b[i].type))
            return false;
    return true;
}

cql_result *cql_result_copy(const cql_result *res)
{
    if (!res) return NULL;
    cql_result *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->heap = true;
    c->owned_body = malloc(res->body_len ? res->body_len : 1);
    if (!c->owned_body) goto fail;
    memcpy(c->owned_body, res->body, res->body_len);
    /* Re-decoding the copy rebuilds the index against the copied bytes; the columns are then
     * replaced by deep copies so the result outlives any prepared statement they came from. */
    cql_column *cols = NULL;
    if (cql_columns_copy(&c->arena, res->cols, res->ncols, &cols)) goto fail;
    if (cql_dec_result(c->owned_body, res->body_len, cols, res->ncols, c)) goto fail;
    if (res->kind == CQL_RESULT_ROWS) c->cols = cols;
    return c;
fail:
    cql_result_free(c);
    return NULL;
}

void cql_result_free(cql_result *res)
{
    if (!res) return;
    cql_result_release(res);
    if (res->heap) free(res);
}
