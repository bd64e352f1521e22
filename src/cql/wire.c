/* Wire primitives: growable buffers, the metadata arena and the bounds-checked reader. */
#include "cql/wire.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cql_buf ------------------------------------------------------------------------------ */

void cql_buf_free(cql_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

bool cql_buf_reserve(cql_buf *b, size_t n)
{
    if (b->oom) return false;
    if (b->cap - b->len >= n) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void cql_buf_put(cql_buf *b, const void *p, size_t n)
{
    if (n == 0 || !cql_buf_reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void cql_buf_u8(cql_buf *b, uint8_t v)
{
    cql_buf_put(b, &v, 1);
}

void cql_buf_u16(cql_buf *b, uint16_t v)
{
    uint8_t t[2];
    cql_put_be16(t, v);
    cql_buf_put(b, t, 2);
}

void cql_buf_u32(cql_buf *b, uint32_t v)
{
    uint8_t t[4];
    cql_put_be32(t, v);
    cql_buf_put(b, t, 4);
}

void cql_buf_u64(cql_buf *b, uint64_t v)
{
    uint8_t t[8];
    cql_put_be64(t, v);
    cql_buf_put(b, t, 8);
}

void cql_buf_string(cql_buf *b, const char *s, size_t n)
{
    if (n > 0xFFFF) {
        b->oom = true; /* cannot be represented; callers validate lengths first */
        return;
    }
    cql_buf_u16(b, (uint16_t)n);
    cql_buf_put(b, s, n);
}

void cql_buf_long_string(cql_buf *b, const char *s, size_t n)
{
    cql_buf_u32(b, (uint32_t)n);
    cql_buf_put(b, s, n);
}

void cql_buf_short_bytes(cql_buf *b, const uint8_t *p, size_t n)
{
    cql_buf_string(b, (const char *)p, n);
}

void cql_buf_value(cql_buf *b, cql_value v)
{
    cql_buf_values(b, &v, 1);
}

void cql_buf_values(cql_buf *b, const cql_value *v, size_t n)
{
    size_t need = 4 * n;
    for (size_t i = 0; i < n; i++)
        if (v[i].len > 0) need += (size_t)v[i].len;
    if (!cql_buf_reserve(b, need)) return;
    uint8_t *p = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        if (v[i].len < 0) {
            cql_put_be32(p, (uint32_t)(v[i].len == CQL_UNSET ? -2 : -1));
            p += 4;
            continue;
        }
        cql_put_be32(p, (uint32_t)v[i].len);
        if (v[i].len > 0) memcpy(p + 4, v[i].ptr, (size_t)v[i].len);
        p += 4 + (size_t)v[i].len;
    }
    b->len = (size_t)(p - b->data);
}

/* ---- arena -------------------------------------------------------------------------------- */

struct cql_arena_block {
    cql_arena_block *next;
    size_t size;
    _Alignas(8) uint8_t mem[];
};

void *cql_arena_alloc(cql_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->size - a->used < n) {
        size_t size = n > 4000 ? n : 4000;
        cql_arena_block *blk = malloc(sizeof *blk + size);
        if (!blk) return NULL;
        blk->next = a->head;
        blk->size = size;
        a->head = blk;
        a->used = 0;
        a->size = size;
    }
    void *p = a->head->mem + a->used;
    a->used += n;
    memset(p, 0, n);
    return p;
}

char *cql_arena_strndup(cql_arena *a, const char *s, size_t n)
{
    char *d = cql_arena_alloc(a, n + 1);
    if (d && n) memcpy(d, s, n);
    return d;
}

void cql_arena_reset(cql_arena *a)
{
    if (!a->head) return;
    while (a->head->next) {
        cql_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->used = 0;
    a->size = a->head->size;
}

void cql_arena_free(cql_arena *a)
{
    while (a->head) {
        cql_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->used = a->size = 0;
}

/* ---- reader ------------------------------------------------------------------------------- */

const uint8_t *cql_rd_raw(cql_rd *r, size_t n)
{
    if (r->err || cql_rd_left(r) < n) {
        r->err = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

uint8_t cql_rd_u8(cql_rd *r)
{
    const uint8_t *p = cql_rd_raw(r, 1);
    return p ? p[0] : 0;
}

uint16_t cql_rd_u16(cql_rd *r)
{
    const uint8_t *p = cql_rd_raw(r, 2);
    return p ? cql_get_be16(p) : 0;
}

int32_t cql_rd_i32(cql_rd *r)
{
    const uint8_t *p = cql_rd_raw(r, 4);
    return p ? (int32_t)cql_get_be32(p) : 0;
}

int64_t cql_rd_i64(cql_rd *r)
{
    const uint8_t *p = cql_rd_raw(r, 8);
    return p ? (int64_t)cql_get_be64(p) : 0;
}

const char *cql_rd_string(cql_rd *r, size_t *len)
{
    size_t n = cql_rd_u16(r);
    const char *s = (const char *)cql_rd_raw(r, n);
    *len = s ? n : 0;
    return s ? s : "";
}

const char *cql_rd_long_string(cql_rd *r, size_t *len)
{
    int32_t n = cql_rd_i32(r);
    if (n < 0) r->err = true;
    const char *s = (const char *)cql_rd_raw(r, n < 0 ? 0 : (size_t)n);
    *len = s && n > 0 ? (size_t)n : 0;
    return s && !r->err ? s : "";
}

void cql_rd_string_to(cql_rd *r, char *out, size_t outlen)
{
    size_t n;
    const char *s = cql_rd_string(r, &n);
    if (outlen == 0) return;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

cql_value cql_rd_bytes(cql_rd *r)
{
    cql_value v = {NULL, CQL_NULL};
    int32_t n = cql_rd_i32(r);
    if (r->err) return v;
    if (n < 0) {
        if (n != -1) r->err = true;
        return v;
    }
    v.ptr = cql_rd_raw(r, (size_t)n);
    v.len = v.ptr ? n : CQL_NULL;
    return v;
}

cql_value cql_rd_short_bytes(cql_rd *r)
{
    cql_value v = {NULL, CQL_NULL};
    uint16_t n = cql_rd_u16(r);
    v.ptr = cql_rd_raw(r, n);
    if (v.ptr) v.len = n;
    return v;
}

void cql_rd_skip_string_list(cql_rd *r)
{
    size_t len;
    for (uint16_t n = cql_rd_u16(r); n > 0 && !r->err; n--) cql_rd_string(r, &len);
}

void cql_rd_skip_bytes_map(cql_rd *r)
{
    size_t len;
    for (uint16_t n = cql_rd_u16(r); n > 0 && !r->err; n--) {
        cql_rd_string(r, &len);
        cql_rd_bytes(r);
    }
}

void cql_rd_inet(cql_rd *r, char *out, size_t outlen)
{
    uint8_t n = cql_rd_u8(r);
    const uint8_t *a = (n == 4 || n == 16) ? cql_rd_raw(r, n) : NULL;
    int32_t port = cql_rd_i32(r);
    if (!a) r->err = true;
    if (r->err) {
        if (outlen) out[0] = '\0';
        return;
    }
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(n == 4 ? AF_INET : AF_INET6, a, ip, sizeof ip);
    snprintf(out, outlen, n == 4 ? "%s:%d" : "[%s]:%d", ip, (int)port);
}
