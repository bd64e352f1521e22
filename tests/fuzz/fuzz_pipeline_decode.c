/* Differential fuzzing of pipeline/decode against jansson, the reference JSON parser.
 *
 * Every input is decoded with two schemas: a mixed one (strings, one of them strict, and every
 * other type) and one where every field is a converting string, so Spark's conversion of
 * numbers, booleans, objects and arrays into text (json_text.c) runs on whatever the fuzzer
 * finds. Properties: whenever the decoder accepts a message, jansson parses it as an object
 * with the same value for every schema field (last one wins for duplicate keys, as here); a
 * syntax verdict (malformed, bad UTF-8, bad escape, trailing data) is shared by jansson; a
 * schema verdict (wrong type, missing, ...) comes with a message jansson accepts, and is true of
 * jansson's view of it. A converted value must be what Spark would store: a number's text is a
 * JSON number (Java's notation is valid JSON) of the same value, and converting it again gives
 * it back; an object's or array's text is compact (no whitespace outside strings), parses with
 * jansson to a value equal to jansson's view of the original, and compacting it again gives it
 * back.
 *
 * jansson's known differences, handled explicitly: it rejects "\u0000" unless JSON_ALLOW_NUL
 * (passed) and NUL in keys even then; it rejects numbers beyond double range (we keep the
 * text); it accepts a top-level array (we say not_object) and nesting up to 2048 (we stop at
 * PIPE_DECODE_MAX_DEPTH); it skips a raw NUL byte after a number or a literal ({"a":1\0}
 * loads), where JSON allows none anywhere, so inputs with a raw NUL are only checked to be
 * rejected. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/decode.h"
#include "pipeline/json_text.h"

#define NFIELDS 7
static const pipe_field mixed[NFIELDS] = {
    {"id", PIPE_T_STRING, true, 1 << 20, false}, {"name", PIPE_T_STRING, false, 1 << 20, false},
    {"x", PIPE_T_STRING, false, 16, true},       {"n", PIPE_T_BIGINT, false, 64, false},
    {"i", PIPE_T_INT, false, 64, false},         {"d", PIPE_T_DOUBLE, false, 64, false},
    {"t", PIPE_T_BOOLEAN, false, 8, false},
};
static pipe_field strings[NFIELDS];

static const pipe_field *fields; /* the schema being checked */
static pipe_schema *schemas[2];
static pipe_arena *arena;
static pipe_record *rec;

static void init(void)
{
    char err[128];
    for (int i = 0; i < NFIELDS; i++)
        strings[i] = (pipe_field){mixed[i].name, PIPE_T_STRING, i == 0, 1 << 20, false};
    schemas[0] = pipe_schema_new(mixed, NFIELDS, 1 << 16, err, sizeof err);
    schemas[1] = pipe_schema_new(strings, NFIELDS, 1 << 16, err, sizeof err);
    arena = pipe_arena_new(1024);
    rec = pipe_record_new(schemas[0]);
    if (!schemas[0] || !schemas[1] || !arena || !rec) abort();
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

/* A converted number's text agrees with jansson's value j. */
static void check_number_text(const pipe_value *v, json_t *j, pipe_decode_err rc)
{
    char tmp[PIPE_JSON_MAX_NUMBER_LEN + 2], again[PIPE_JSON_MAX_NUMBER_LEN + 2];
    check(json_is_number(j) && v->len <= PIPE_JSON_MAX_NUMBER_LEN + 1, "number type mismatch", rc);
    memcpy(tmp, v->ptr, v->len);
    tmp[v->len] = '\0';
    json_error_t je;
    json_t *t = json_loadb(v->ptr, v->len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
    check(t && json_is_number(t), "converted number is not a JSON number", rc);
    check(json_number_value(t) == json_number_value(j), "converted number value mismatch", rc);
    json_decref(t);
    size_t n = pipe_json_number_text(tmp, v->len, again);
    check(n == v->len && memcmp(again, tmp, n) == 0, "number conversion not idempotent", rc);
}

/* A converted object's or array's text agrees with jansson's value j. */
static void check_structure_text(const pipe_value *v, json_t *j, pipe_decode_err rc)
{
    int in_string = 0;
    for (size_t k = 0; k < v->len; k++) {
        char c = v->ptr[k];
        if (in_string)
            k += c == '\\', in_string = c != '"';
        else if (c == '"')
            in_string = 1;
        else
            check(!(c == ' ' || c == '\n' || c == '\r' || c == '\t'), "whitespace in compact text",
                  rc);
    }
    json_error_t je;
    json_t *t = json_loadb(v->ptr, v->len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
    check(t != NULL, "converted text is not JSON", rc);
    check(json_equal(t, j), "converted value differs from jansson's", rc);
    json_decref(t);
    char *again = malloc(3 * v->len + 32);
    size_t n = pipe_json_compact(v->ptr, v->len, again, 3 * v->len + 32);
    check(n == v->len && memcmp(again, v->ptr, n) == 0, "compacting not idempotent", rc);
    free(again);
}

/* The decoded value of field i agrees with jansson's member j (may be NULL). */
static void compare_field(size_t i, json_t *j, pipe_decode_err rc)
{
    const pipe_value *v = &rec->v[i];
    int converting = fields[i].type == PIPE_T_STRING && !fields[i].strict;
    if (!v->present) return check(j == NULL, "field absent here, present in jansson", rc);
    check(j != NULL, "field present here, absent in jansson", rc);
    switch (v->json_type) {
    case PIPE_JSON_NULL: return check(json_is_null(j), "null mismatch", rc);
    case PIPE_JSON_STRING:
        check(json_is_string(j), "string type mismatch", rc);
        if (fields[i].type == PIPE_T_DOUBLE) return; /* NaN, Infinity: stored as their name */
        check(json_string_length(j) == v->len && memcmp(json_string_value(j), v->ptr, v->len) == 0,
              "string value mismatch", rc);
        return;
    case PIPE_JSON_BOOL:
        check(v->len == (json_is_true(j) ? 4u : 5u), "bool text", rc);
        return check(json_is_boolean(j) && json_is_true(j) == (v->ptr[0] == 't'), "bool mismatch",
                     rc);
    case PIPE_JSON_NUMBER: {
        if (converting) return check_number_text(v, j, rc);
        char tmp[80];
        check(json_is_number(j) && v->len < sizeof tmp, "number type mismatch", rc);
        memcpy(tmp, v->ptr, v->len);
        tmp[v->len] = '\0';
        return check(strtod(tmp, NULL) == json_number_value(j), "number value mismatch", rc);
    }
    case PIPE_JSON_OBJECT:
    case PIPE_JSON_ARRAY:
        check(converting, "object or array accepted in a non-converting field", rc);
        check(v->json_type == PIPE_JSON_OBJECT ? json_is_object(j) : json_is_array(j),
              "structure type mismatch", rc);
        return check_structure_text(v, j, rc);
    default: check(0, "unexpected json type", rc);
    }
}

static int is_syntax(pipe_decode_err rc)
{
    return rc == PIPE_DEC_MALFORMED || rc == PIPE_DEC_BAD_UTF8 || rc == PIPE_DEC_BAD_ESCAPE ||
           rc == PIPE_DEC_TRAILING || rc == PIPE_DEC_EMPTY;
}

static void check_one(pipe_schema *schema, const uint8_t *data, size_t size)
{
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
        if (rc == PIPE_DEC_DUPLICATE_KEY) check(fields[e.field].strict, "duplicate not strict", rc);
    }
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schemas[0]) init();
    for (int k = 0; k < 2; k++) {
        fields = k ? strings : mixed;
        check_one(schemas[k], data, size);
    }
    return 0;
}
