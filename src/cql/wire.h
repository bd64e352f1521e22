/* Internal wire primitives of the CQL client: growable buffers, a bump arena and a bounds-checked
 * reader for the protocol's notations ([int], [string], [bytes] ...). No I/O. */
#ifndef RTETL_CQL_WIRE_H
#define RTETL_CQL_WIRE_H

#include "cql/cql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Appends after an allocation failure are dropped and `oom` stays set,
 * so encoders check once at the end instead of after every append. */
typedef struct cql_buf {
    uint8_t *data;
    size_t len, cap;
    bool oom;
} cql_buf;

void cql_buf_free(cql_buf *b);
/* Makes room for n more bytes; returns false (and sets oom) on failure. */
bool cql_buf_reserve(cql_buf *b, size_t n);
void cql_buf_put(cql_buf *b, const void *p, size_t n);
void cql_buf_u8(cql_buf *b, uint8_t v);
void cql_buf_u16(cql_buf *b, uint16_t v);
void cql_buf_u32(cql_buf *b, uint32_t v);
void cql_buf_u64(cql_buf *b, uint64_t v);
void cql_buf_string(cql_buf *b, const char *s, size_t n);      /* [string] */
void cql_buf_long_string(cql_buf *b, const char *s, size_t n); /* [long string] */
void cql_buf_short_bytes(cql_buf *b, const uint8_t *p, size_t n);
void cql_buf_value(cql_buf *b, cql_value v); /* [value]: [int] n, -1 null, -2 unset */
void cql_buf_values(cql_buf *b, const cql_value *v, size_t n); /* n [value]s, one reservation */

static inline void cql_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void cql_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void cql_put_be64(uint8_t *p, uint64_t v)
{
    cql_put_be32(p, (uint32_t)(v >> 32));
    cql_put_be32(p + 4, (uint32_t)v);
}
static inline uint16_t cql_get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t cql_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t cql_get_be64(const uint8_t *p)
{
    return ((uint64_t)cql_get_be32(p) << 32) | cql_get_be32(p + 4);
}

/* A bump allocator for metadata (names, types) that lives as long as its owner. */
typedef struct cql_arena_block cql_arena_block;
typedef struct cql_arena {
    cql_arena_block *head;
    size_t used, size; /* of head */
} cql_arena;

void *cql_arena_alloc(cql_arena *a, size_t n); /* zeroed, 8-aligned; NULL on failure */
char *cql_arena_strndup(cql_arena *a, const char *s, size_t n);
/* Frees all blocks but the first (kept for reuse) and rewinds. */
void cql_arena_reset(cql_arena *a);
void cql_arena_free(cql_arena *a);

/* A reader over [p, end). Any out-of-bounds or malformed read sets `err` and yields zeros; later
 * reads keep failing, so decoders check err once at the end. */
typedef struct cql_rd {
    const uint8_t *p, *end;
    bool err;
} cql_rd;

static inline cql_rd cql_rd_make(const uint8_t *p, size_t n)
{
    cql_rd r = {p, p + n, false};
    return r;
}
static inline size_t cql_rd_left(const cql_rd *r)
{
    return (size_t)(r->end - r->p);
}
uint8_t cql_rd_u8(cql_rd *r);
uint16_t cql_rd_u16(cql_rd *r);
int32_t cql_rd_i32(cql_rd *r);
int64_t cql_rd_i64(cql_rd *r);
const uint8_t *cql_rd_raw(cql_rd *r, size_t n);
/* [string] / [long string]: a pointer into the input and its length (not NUL-terminated). */
const char *cql_rd_string(cql_rd *r, size_t *len);
const char *cql_rd_long_string(cql_rd *r, size_t *len);
/* [string] copied into out (truncated to outlen-1, always terminated). */
void cql_rd_string_to(cql_rd *r, char *out, size_t outlen);
/* [bytes]: len -1 (null) or >= 0; other negatives are an error. */
cql_value cql_rd_bytes(cql_rd *r);
cql_value cql_rd_short_bytes(cql_rd *r);
void cql_rd_skip_string_list(cql_rd *r);
void cql_rd_skip_bytes_map(cql_rd *r);
/* [inet]: address and port formatted as "addr:port" (IPv6 as "[addr]:port"). */
void cql_rd_inet(cql_rd *r, char *out, size_t outlen);

#endif
