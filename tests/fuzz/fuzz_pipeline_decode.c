/* Differential fuzzing of pipeline/decode against jansson, the reference JSON parser.
 *
 * Properties: whenever the decoder accepts a message, jansson parses it as an object with the
 * same value for every schema field; a syntax verdict (malformed, bad UTF-8, bad escape,
 * trailing data) is shared by jansson; a schema verdict (wrong type, missing, duplicate, ...)
 * comes with a message jansson accepts, and is true of jansson's view of it.
 *
 * jansson's known differences, handled explicitly: it rejects "\u0000" unless JSON_ALLOW_NUL
 * (passed) and NUL in keys even then; it rejects numbers beyond double range (we keep the
 * text); it accepts a top-level array (we say not_object) and nesting up to 2048 (we stop at
 * PIPE_DECODE_MAX_DEPTH); it lets the last of duplicate keys win (we reject duplicates of
 * schema fields, so accepted messages have none); it skips a raw NUL byte after a number or a
 * literal ({"a":1\0} loads), where JSON allows none anywhere, so inputs with a raw NUL are only
 * checked to be rejected. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/decode.h"

static const pipe_field fields[] = {
    {"id", PIPE_T_STRING, true, 1 << 20, false}, {"name", PIPE_T_STRING, false, 1 << 20, false},
    {"x", PIPE_T_STRING, false, 16, false},      {"n", PIPE_T_BIGINT, false, 64, false},
    {"i", PIPE_T_INT, false, 64, false},         {"d", PIPE_T_DOUBLE, false, 64, false},
    {"t", PIPE_T_BOOLEAN, false, 8, false},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static pipe_schema *schema;
static pipe_arena *arena;
static pipe_record *rec;

static void init(void)
{
    char err[128];
    schema = pipe_schema_new(fields, NFIELDS, 1 << 16, err, sizeof err);
    arena = pipe_arena_new(1024);
    rec = pipe_record_new(schema);
    if (!schema || !arena || !rec) abort();
}

static void check(int cond, const char *what, pipe_decode_err rc)
{
    if (cond) return;
    fprintf(stderr, "fuzz_pipeline_decode: %s (decoder said %s)\n", what, pipe_decode_reason(rc));
    abort();
}

/* jansson rejected for a reason that is its quirk, not a JSON error. */
static int jansson_quirk(const json_error_t *je)
{
    return strstr(je->text, "NUL byte in object key") || strstr(je->text, "overflow") ||
           strstr(je->text, "too big") || strstr(je->text, "maximum parsing depth");
}

/* The decoded value of field i agrees with jansson's member j (may be NULL). */
static void compare_field(size_t i, json_t *j, pipe_decode_err rc)
{
    const pipe_value *v = &rec->v[i];
    if (!v->present) return check(j == NULL, "field absent here, present in jansson", rc);
    check(j != NULL, "field present here, absent in jansson", rc);
    switch (v->json_type) {
    case PIPE_JSON_NULL: return check(json_is_null(j), "null mismatch", rc);
    case PIPE_JSON_STRING:
        check(json_is_string(j), "string type mismatch", rc);
        check(json_string_length(j) == v->len && memcmp(json_string_value(j), v->ptr, v->len) == 0,
              "string value mismatch", rc);
        return;
    case PIPE_JSON_BOOL:
        return check(json_is_boolean(j) && json_is_true(j) == (v->ptr[0] == 't'), "bool mismatch",
                     rc);
    case PIPE_JSON_NUMBER: {
        char tmp[80];
        check(json_is_number(j) && v->len < sizeof tmp, "number type mismatch", rc);
        memcpy(tmp, v->ptr, v->len);
        tmp[v->len] = '\0';
        return check(strtod(tmp, NULL) == json_number_value(j), "number value mismatch", rc);
    }
    default: check(0, "unexpected json type", rc);
    }
}

static int is_syntax(pipe_decode_err rc)
{
    return rc == PIPE_DEC_MALFORMED || rc == PIPE_DEC_BAD_UTF8 || rc == PIPE_DEC_BAD_ESCAPE ||
           rc == PIPE_DEC_TRAILING || rc == PIPE_DEC_EMPTY;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema) init();
    pipe_arena_reset(arena);
    pipe_decode_error e;
    pipe_decode_err rc = pipe_decode(schema, (const char *)data, size, arena, rec, &e);
    char detail[256];
    pipe_decode_describe(schema, &e, detail, sizeof detail);
    check(e.code == rc && (rc == PIPE_DEC_OK || e.offset <= size), "bad error record", rc);

    json_error_t je;
    json_t *root =
        json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
    int quirk = !root && jansson_quirk(&je);
    if (memchr(data, '\0', size)) {
        check(rc != PIPE_DEC_OK, "accepted a raw NUL byte", rc);
        quirk = 1;
    }
    if (rc == PIPE_DEC_TOO_LARGE || rc == PIPE_DEC_TOO_DEEP || rc == PIPE_DEC_NO_MEMORY || quirk) {
        /* No verdict to compare. */
    } else if (is_syntax(rc)) {
        check(root == NULL, "jansson accepts what the decoder calls a syntax error", rc);
    } else if (rc == PIPE_DEC_NOT_OBJECT) {
        check(root == NULL || !json_is_object(root), "jansson sees an object", rc);
    } else {
        check(root && json_is_object(root), "jansson rejects an accepted message", rc);
        if (rc == PIPE_DEC_OK)
            for (size_t i = 0; i < NFIELDS; i++)
                compare_field(i, json_object_get(root, fields[i].name), rc);
        if (rc == PIPE_DEC_MISSING_FIELD)
            check(!json_object_get(root, fields[e.field].name), "missing field is there", rc);
        if (rc == PIPE_DEC_NULL_FIELD)
            check(json_is_null(json_object_get(root, fields[e.field].name)), "not null", rc);
    }
    json_decref(root);
    return 0;
}
