/* Fuzzing of the typed fields' text paths: list and map decoding (pipe_json_string_items), the
 * collection serializer behind list/map columns (pipe_json_items_cql) and the readers behind
 * expression paths (pipe_json_member, pipe_json_skip), on text that may not be JSON.
 * Properties: no crash, no leak, no read or write outside the given buffers; a list or map
 * field the decoder accepts always serializes, to as many items as jansson counts in the input
 * (map keys: distinct in jansson's view, so at most as many), the measured length equals the
 * written one, and a buffer one byte short is never overrun; a timestamp, date or uuid field it
 * accepts passes pipe_type_check_text. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/decode.h"
#include "pipeline/json_text.h"

static const pipe_field fields[] = {
    {"l", PIPE_T_LIST, false, 1 << 16, false},       {"m", PIPE_T_MAP, false, 1 << 16, false},
    {"ts", PIPE_T_TIMESTAMP, false, 1 << 16, false}, {"d", PIPE_T_DATE, false, 1 << 16, false},
    {"u", PIPE_T_UUID, false, 1 << 16, false},
};
#define NF (sizeof fields / sizeof fields[0])

static pipe_schema *schema;
static pipe_arena *arena;
static pipe_record *rec;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_items(const pipe_value *v, json_t *orig)
{
    size_t n = pipe_json_items_cql(v->ptr, v->len, NULL, 0);
    if (n == PIPE_JSON_NOT_ITEMS) abort();
    unsigned char *out = malloc(n + 1);
    out[n] = 0x5A;
    if (pipe_json_items_cql(v->ptr, v->len, out, n) != n || out[n] != 0x5A) abort();
    size_t want = json_is_array(orig) ? json_array_size(orig) : json_object_size(orig);
    uint32_t count = be32(out);
    if (json_is_array(orig) ? count != want : count < want) abort();
    if (n > 4) { /* one byte short: still the length, nothing written past the end */
        unsigned char *short_out = malloc(n - 1);
        if (pipe_json_items_cql(v->ptr, v->len, short_out, n - 1) != n) abort();
        free(short_out);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    if (!schema) {
        schema = pipe_schema_new(fields, NF, 1 << 16, err, sizeof err);
        arena = pipe_arena_new(0);
        rec = pipe_record_new(schema);
    }
    const char *buf = (const char *)data;
    /* The readers on raw input. */
    unsigned char small[64];
    pipe_json_items_cql(buf, size, small, sizeof small);
    const char *v;
    size_t vl;
    if (pipe_json_member(buf, size, "a", 1, &v, &vl) == 1 &&
        (v < buf || v + vl > buf + size || pipe_json_skip(v, v + vl) != v + vl))
        abort();
    if (size && data[0] == '"') {
        char *o = malloc(size);
        size_t n;
        const char *e = pipe_json_read_string(buf, buf + size, o, &n);
        if (e && (e > buf + size || n > size)) abort();
        free(o);
    }
    pipe_arena_reset(arena);
    if (pipe_decode(schema, buf, size, arena, rec, NULL) == PIPE_DEC_OK) {
        json_t *root = json_loadb(buf, size, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
        for (size_t i = 0; i < NF; i++) {
            const pipe_value *pv = &rec->v[i];
            if (!pv->present || pv->json_type == PIPE_JSON_NULL) continue;
            if (i < 2) {
                json_t *orig = root ? json_object_get(root, fields[i].name) : NULL;
                if (orig) check_items(pv, orig);
            } else if (pipe_type_check_text(fields[i].type, pv->ptr, pv->len)) {
                abort();
            }
        }
        json_decref(root);
    }
    return 0;
}
