/* The compiled schema's layout, shared by schema.c and the decoder so that the per-key lookup
 * inlines into the decode loop. Not a public interface. */
#ifndef RTETL_PIPELINE_SCHEMA_IMPL_H
#define RTETL_PIPELINE_SCHEMA_IMPL_H

#include <stdint.h>
#include <string.h>

#include "pipeline/schema.h"

struct pipe_schema {
    size_t n;
    pipe_field *fields; /* names owned */
    size_t *name_len;
    unsigned char *plain; /* 1: the name is printable ASCII without '"' and '\\', so a key
                             written as those exact bytes between quotes is that field */
    uint16_t *slots;      /* field index + 1; 0 = empty */
    uint32_t mask;
    uint32_t seed;
    int full_hash;
    size_t max_message;
};

static inline uint32_t schema_mix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static inline uint32_t schema_hash(int full, uint32_t seed, const unsigned char *k, size_t len)
{
    uint32_t h = seed ^ ((uint32_t)len * 0x9E3779B1u);
    if (full) {
        for (size_t i = 0; i < len; i++) h = (h ^ k[i]) * 0x01000193u;
    } else if (len) {
        h ^= (uint32_t)k[0] | (uint32_t)k[len >> 1] << 8 | (uint32_t)k[len - 1] << 16;
    }
    return schema_mix(h);
}

/* memcmp for short names without the call: keys are a few bytes long. */
static inline int names_equal(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Index of the field named name[0..len-1], or -1 (see schema.c for the table). */
static inline int schema_find(const pipe_schema *s, const char *name, size_t len)
{
    uint32_t h = schema_hash(s->full_hash, s->seed, (const unsigned char *)name, len) & s->mask;
    for (;;) {
        unsigned i = s->slots[h];
        if (!i) return -1;
        i--;
        if (s->name_len[i] == len && names_equal(s->fields[i].name, name, len)) return (int)i;
        h = (h + 1) & s->mask;
    }
}

#endif
