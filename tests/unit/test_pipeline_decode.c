/* Unit tests for pipeline/decode (and the schema and arena it uses): every error kind, escapes,
 * Unicode, nested skipping, zero copy. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/config.h"
#include "pipeline/decode.h"
#include "pipeline/json_text.h"

typedef struct fx {
    pipe_schema *s;
    pipe_arena *a;
    pipe_record *r;
    pipe_decode_error e;
} fx;

/* id (required string), email (string), age (int), big (bigint), score (double), ok (boolean),
 * note (string, max 8 bytes). */
static int setup(void **state)
{
    static const pipe_field fields[] = {
        {"id", PIPE_T_STRING, true, 1 << 20, false},
        {"email", PIPE_T_STRING, false, 1 << 20, false},
        {"age", PIPE_T_INT, false, 64, false},
        {"big", PIPE_T_BIGINT, false, 64, false},
        {"score", PIPE_T_DOUBLE, false, 64, false},
        {"ok", PIPE_T_BOOLEAN, false, 64, false},
        {"note", PIPE_T_STRING, false, 8, false},
    };
    fx *f = calloc(1, sizeof *f);
    char err[128];
    f->s = pipe_schema_new(fields, sizeof fields / sizeof fields[0], 4096, err, sizeof err);
    assert_non_null(f->s);
    f->a = pipe_arena_new(64);
    f->r = pipe_record_new(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    pipe_record_free(f->r);
    pipe_arena_free(f->a);
    pipe_schema_free(f->s);
    free(f);
    return 0;
}

static pipe_decode_err dec(fx *f, const char *json)
{
    return pipe_decode(f->s, json, strlen(json), f->a, f->r, &f->e);
}

static void assert_value(const pipe_value *v, const char *want)
{
    assert_true(v->present);
    assert_int_equal(v->len, strlen(want));
    assert_memory_equal(v->ptr, want, v->len);
}

static void test_plain_zero_copy(void **state)
{
    fx *f = *state;
    const char *m = "{\"id\":\"u1\", \"email\" : \"a@b.c\",\"age\":42,\"big\":-9000000000,"
                    "\"score\":-1.5e3,\"ok\":true}";
    assert_int_equal(dec(f, m), PIPE_DEC_OK);
    assert_value(&f->r->v[0], "u1");
    assert_true(f->r->v[0].ptr == m + 7); /* a slice of the message: no copy */
    assert_value(&f->r->v[1], "a@b.c");
    assert_int_equal(f->r->v[1].json_type, PIPE_JSON_STRING);
    assert_value(&f->r->v[2], "42");
    assert_int_equal(f->r->v[2].json_type, PIPE_JSON_NUMBER);
    assert_value(&f->r->v[3], "-9000000000");
    assert_value(&f->r->v[4], "-1.5e3");
    assert_value(&f->r->v[5], "true");
    assert_int_equal(f->r->v[5].json_type, PIPE_JSON_BOOL);
    assert_false(f->r->v[6].present);
    assert_int_equal(f->r->v[6].json_type, PIPE_JSON_NONE);
    assert_int_equal(pipe_arena_used(f->a), 0);
}

static void test_escapes(void **state)
{
    fx *f = *state;
    assert_int_equal(dec(f, "{\"id\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}"), PIPE_DEC_OK);
    assert_value(&f->r->v[0], "a\"b\\c/d\b\f\n\r\t");
    assert_true(pipe_arena_used(f->a) > 0);
    /* \u escapes: 1, 2, 3 and 4 (surrogate pair) UTF-8 bytes; NUL is kept as a byte. */
    assert_int_equal(dec(f, "{\"id\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\u0000x\"}"),
                     PIPE_DEC_OK);
    assert_int_equal(f->r->v[0].len, 1 + 2 + 3 + 4 + 1 + 1);
    assert_memory_equal(f->r->v[0].ptr, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0x", 12);
    /* An escaped key still finds its field. */
    assert_int_equal(dec(f, "{\"\\u0069d\":\"k\",\"em\\u0061il\":\"e\"}"), PIPE_DEC_OK);
    assert_value(&f->r->v[0], "k");
    assert_value(&f->r->v[1], "e");
}

static void test_raw_utf8(void **state)
{
    fx *f = *state;
    const char *m = "{\"id\":\"Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}";
    assert_int_equal(dec(f, m), PIPE_DEC_OK);
    assert_value(&f->r->v[0], "Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    assert_true(f->r->v[0].ptr == m + 7);
}

static void test_bad_utf8(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "\xed\xa0\x80",     /* UTF-16 surrogate D800 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* invalid lead */
        "\x80",             /* stray continuation */
        "\xc3",             /* truncated */
        "\xe2\x82",         /* truncated */
        "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char m[64];
        snprintf(m, sizeof m, "{\"id\":\"a%sb\"}", bad[i]);
        assert_int_equal(dec(f, m), PIPE_DEC_BAD_UTF8);
        assert_int_equal(f->e.offset, 8);
    }
    /* Invalid UTF-8 in an unknown key or value is rejected too: the message is not JSON. */
    assert_int_equal(dec(f, "{\"id\":\"a\",\"x\xff\":1}"), PIPE_DEC_BAD_UTF8);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"x\":[\"\xc0\xaf\"]}"), PIPE_DEC_BAD_UTF8);
}

static void test_bad_escapes(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {
        "\\x41",          "\\u12",          "\\u12G4",  "\\ud800", "\\udc00",
        "\\ud800\\u0041", "\\ud800\\udbff", "\\ud800x", "\\U0041", "\\'",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char m[64];
        snprintf(m, sizeof m, "{\"id\":\"%s\"}", bad[i]);
        assert_int_equal(dec(f, m), PIPE_DEC_BAD_ESCAPE);
        assert_int_equal(f->e.offset, 7);
    }
}

static void test_skip_nested(void **state)
{
    fx *f = *state;
    const char *m =
        "{\"x\":{\"id\":\"inner\",\"a\":[1,2,{\"b\":[[],{}]}],\"c\":{}},\"id\":\"outer\","
        "\"y\":[\"}\",\"]\",\"\\\"\"],\"z\":null,\"w\":-0.0e+1,\"v\":false,\"u\":[]}";
    assert_int_equal(dec(f, m), PIPE_DEC_OK);
    assert_value(&f->r->v[0], "outer");
    /* Duplicate unknown keys are ignored. */
    assert_int_equal(dec(f, "{\"x\":1,\"x\":2,\"id\":\"a\"}"), PIPE_DEC_OK);
}

static void test_depth(void **state)
{
    fx *f = *state;
    char m[2 * PIPE_DECODE_MAX_DEPTH + 64];
    size_t n = 0;
    n += (size_t)sprintf(m, "{\"id\":\"a\",\"x\":");
    for (int i = 1; i < PIPE_DECODE_MAX_DEPTH; i++) m[n++] = '[';
    for (int i = 1; i < PIPE_DECODE_MAX_DEPTH; i++) m[n++] = ']';
    m[n++] = '}';
    assert_int_equal(pipe_decode(f->s, m, n, f->a, f->r, &f->e), PIPE_DEC_OK);
    n = (size_t)sprintf(m, "{\"id\":\"a\",\"x\":");
    for (int i = 0; i < PIPE_DECODE_MAX_DEPTH; i++) m[n++] = '[';
    for (int i = 0; i < PIPE_DECODE_MAX_DEPTH; i++) m[n++] = ']';
    m[n++] = '}';
    assert_int_equal(pipe_decode(f->s, m, n, f->a, f->r, &f->e), PIPE_DEC_TOO_DEEP);
}

static void test_structure_errors(void **state)
{
    fx *f = *state;
    assert_int_equal(dec(f, ""), PIPE_DEC_EMPTY);
    assert_int_equal(dec(f, " \n\t\r"), PIPE_DEC_EMPTY);
    assert_int_equal(dec(f, "[1,2]"), PIPE_DEC_NOT_OBJECT);
    assert_int_equal(dec(f, "\"id\""), PIPE_DEC_NOT_OBJECT);
    assert_int_equal(dec(f, "42"), PIPE_DEC_NOT_OBJECT);
    assert_int_equal(dec(f, "null"), PIPE_DEC_NOT_OBJECT);
    assert_int_equal(dec(f, "[1,2"), PIPE_DEC_MALFORMED);
    assert_int_equal(dec(f, "{\"id\":\"a\"} x"), PIPE_DEC_TRAILING);
    assert_int_equal(f->e.offset, 11);
    assert_int_equal(dec(f, "{\"id\":\"a\"}{}"), PIPE_DEC_TRAILING);
    static const char *const malformed[] = {
        "{",
        "{\"id\"",
        "{\"id\":",
        "{\"id\":\"a\"",
        "{\"id\":\"a\",}",
        "{\"id\" \"a\"}",
        "{id:\"a\"}",
        "{\"id\":'a'}",
        "{\"id\":\"a\" \"x\":1}",
        "{\"x\":01}",
        "{\"x\":1.}",
        "{\"x\":.5}",
        "{\"x\":-}",
        "{\"x\":1e}",
        "{\"x\":tru}",
        "{\"x\":nul}",
        "{\"x\":[1,]}",
        "{\"x\":[1 2]}",
        "{\"x\":{\"a\"}}",
        "{\"x\":+1}",
        "{\"id\":\"a\tb\"}",
        "{\"x\":NaN}",
        "{,}",
        "{\"x\":1,,}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        pipe_decode_err rc = dec(f, malformed[i]);
        if (rc != PIPE_DEC_MALFORMED)
            fail_msg("'%s' gave %s", malformed[i], pipe_decode_reason(rc));
    }
    char err[128];
    dec(f, "{\"id\" \"a\"}");
    assert_string_equal(pipe_decode_describe(f->s, &f->e, err, sizeof err),
                        "malformed_json at byte 6");
}

static void test_schema_errors(void **state)
{
    fx *f = *state;
    char err[128];
    assert_int_equal(dec(f, "{\"email\":\"x\"}"), PIPE_DEC_MISSING_FIELD);
    assert_int_equal(f->e.field, 0);
    assert_string_equal(pipe_decode_describe(f->s, &f->e, err, sizeof err),
                        "field 'id': missing_field at byte 13");
    assert_int_equal(dec(f, "{\"id\":null}"), PIPE_DEC_NULL_FIELD);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"email\":null}"), PIPE_DEC_OK); /* optional null */
    assert_false(f->r->v[1].ptr != NULL);
    assert_int_equal(f->r->v[1].json_type, PIPE_JSON_NULL);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":\"12\"}"), PIPE_DEC_WRONG_TYPE);
    assert_string_equal(pipe_decode_describe(f->s, &f->e, err, sizeof err),
                        "field 'age': expected int, got string at byte 16");
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":1.5}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":2147483648}"), PIPE_DEC_NUMBER_RANGE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":-2147483648}"), PIPE_DEC_OK);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"big\":9223372036854775808}"), PIPE_DEC_NUMBER_RANGE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"score\":true}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"ok\":1}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":[1]}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(f->e.json_type, PIPE_JSON_ARRAY);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"score\":{\"a\":1}}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(f->e.json_type, PIPE_JSON_OBJECT);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":\"123456789\"}"), PIPE_DEC_VALUE_TOO_LARGE);
    assert_string_equal(pipe_decode_describe(f->s, &f->e, err, sizeof err),
                        "field 'note': value over 8 bytes at byte 17");
    /* The limit applies to the unescaped bytes. */
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":\"\\u0041\\u0041\\u0041\\u0041\\u0041\"}"),
                     PIPE_DEC_OK);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}"),
                     PIPE_DEC_VALUE_TOO_LARGE);
}

static void test_error_precedence(void **state)
{
    fx *f = *state;
    /* Syntax errors win over schema errors found earlier in the message. */
    assert_int_equal(dec(f, "{\"age\":\"1\", \"x\":}"), PIPE_DEC_MALFORMED);
    assert_int_equal(dec(f, "{\"age\":\"1\",\"x\":\"\\q\"}"), PIPE_DEC_BAD_ESCAPE);
    /* ... also in a value a string field converts. */
    assert_int_equal(dec(f, "{\"age\":\"1\",\"id\":[1,}"), PIPE_DEC_MALFORMED);
    assert_int_equal(dec(f, "{\"age\":\"1\",\"id\":[\"\\q\"]}"), PIPE_DEC_BAD_ESCAPE);
    /* The first schema error in message order wins; missing fields come last. */
    assert_int_equal(dec(f, "{\"age\":\"x\",\"ok\":3}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(f->e.field, 2);
}

static void test_message_too_large(void **state)
{
    fx *f = *state;
    char *m = malloc(5000);
    memset(m, ' ', 5000);
    memcpy(m, "{\"id\":\"a\"}", 10);
    assert_int_equal(pipe_decode(f->s, m, 4096, f->a, f->r, &f->e), PIPE_DEC_OK);
    assert_int_equal(pipe_decode(f->s, m, 4097, f->a, f->r, &f->e), PIPE_DEC_TOO_LARGE);
    assert_string_equal(pipe_decode_reason(f->e.code), "message_too_large");
    free(m);
}

static void test_no_arena(void **state)
{
    fx *f = *state;
    const char *m = "{\"id\":\"a\\nb\"}";
    assert_int_equal(pipe_decode(f->s, m, strlen(m), NULL, f->r, &f->e), PIPE_DEC_NO_MEMORY);
    /* Escapes in unknown keys need no arena. */
    m = "{\"id\":\"ab\",\"x\\n\":\"\\n\"}";
    assert_int_equal(pipe_decode(f->s, m, strlen(m), NULL, f->r, &f->e), PIPE_DEC_OK);
}

static void test_not_nul_terminated(void **state)
{
    fx *f = *state;
    /* The decoder must never read past len: give it prefixes of a message in a tight buffer. */
    const char *m = "{\"id\":\"a\\u00e9\",\"age\":123,\"ok\":false,\"x\":[{\"y\":null}]}";
    size_t n = strlen(m);
    for (size_t i = 0; i <= n; i++) {
        char *b = malloc(i ? i : 1);
        memcpy(b, m, i);
        pipe_decode_err rc = pipe_decode(f->s, b, i, f->a, f->r, &f->e);
        if (i == n || i == 0)
            assert_int_equal(rc, i == n ? PIPE_DEC_OK : PIPE_DEC_EMPTY);
        else if (rc != PIPE_DEC_MALFORMED)
            assert_int_equal(rc, PIPE_DEC_BAD_ESCAPE); /* in \u */
        free(b);
    }
}

static void test_reasons_distinct(void **state)
{
    (void)state;
    for (int i = 0; i < PIPE_DEC__COUNT; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(pipe_decode_reason(i), pipe_decode_reason(j));
    assert_string_equal(pipe_decode_reason(PIPE_DEC__COUNT), "unknown");
}

static void test_schema_lookup(void **state)
{
    (void)state;
    char err[128];
    enum { N = 300 };
    pipe_field fields[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "f%d_x", i);
        fields[i] = (pipe_field){names[i], PIPE_T_STRING, false, 10, false};
    }
    pipe_schema *s = pipe_schema_new(fields, N, 0, err, sizeof err);
    assert_non_null(s);
    for (int i = 0; i < N; i++)
        assert_int_equal(pipe_schema_find(s, names[i], strlen(names[i])), i);
    assert_int_equal(pipe_schema_find(s, "f1_y", 4), -1);
    assert_int_equal(pipe_schema_find(s, "", 0), -1);
    pipe_schema_free(s);
    fields[1].name = names[0];
    assert_null(pipe_schema_new(fields, 2, 0, err, sizeof err));
    assert_string_equal(err, "field 'f0_x' defined twice");
}

/* The decoder first compares each key with the name of the field after the previous one; a key
 * that only starts like it, an escaped spelling, another order or an unknown key in between
 * must all decode as a full scan and lookup would. */
static void test_key_order_guess(void **state)
{
    fx *f = *state;
    /* "id" then "emailx" (not "email"), "e\u006dail" (is "email"), "age" after "ok". */
    const char *m = "{\"id\":\"u1\",\"emailx\":\"no\",\"e\\u006dail\":\"a@b\",\"ok\":false,"
                    "\"zz\":[1,{\"age\":3}],\"age\":7,\"big\":1}";
    assert_int_equal(dec(f, m), PIPE_DEC_OK);
    assert_value(&f->r->v[0], "u1");
    assert_value(&f->r->v[1], "a@b");
    assert_value(&f->r->v[2], "7");
    assert_value(&f->r->v[3], "1");
    assert_value(&f->r->v[5], "false");
    assert_false(f->r->v[4].present);
    /* A key cut short by the end of the message is malformed, not read past the end. */
    const char *cut = "{\"id\":\"u1\",\"email";
    assert_int_equal(pipe_decode(f->s, cut, strlen(cut), f->a, f->r, &f->e), PIPE_DEC_MALFORMED);
    assert_int_equal(pipe_decode(f->s, cut, strlen(cut) - 1, f->a, f->r, &f->e),
                     PIPE_DEC_MALFORMED);
    /* A name that needs escaping in JSON is never taken by the comparison. */
    static const pipe_field q[] = {{"a\"b", PIPE_T_STRING, false, 64, false},
                                   {"c", PIPE_T_STRING, false, 64, false}};
    char err[128];
    pipe_schema *s = pipe_schema_new(q, 2, 0, err, sizeof err);
    assert_non_null(s);
    pipe_record *r = pipe_record_new(s);
    const char *mq = "{\"a\\\"b\":\"x\",\"c\":\"y\"}";
    assert_int_equal(pipe_decode(s, mq, strlen(mq), f->a, r, &f->e), PIPE_DEC_OK);
    assert_int_equal(r->v[0].len, 1);
    assert_memory_equal(r->v[0].ptr, "x", 1);
    assert_memory_equal(r->v[1].ptr, "y", 1);
    pipe_record_free(r);
    pipe_schema_free(s);
}

static void test_arena(void **state)
{
    (void)state;
    pipe_arena *a = pipe_arena_new(16);
    void *p = pipe_arena_alloc(a, 10);
    assert_non_null(p);
    assert_int_equal(pipe_arena_used(a), 16);
    pipe_arena_trim(a, p, 3);
    assert_int_equal(pipe_arena_used(a), 8);
    for (int i = 0; i < 100; i++) memset(pipe_arena_alloc(a, 100), i, 100);
    size_t used = pipe_arena_used(a);
    assert_true(pipe_arena_capacity(a) >= used);
    pipe_arena_reset(a);
    assert_int_equal(pipe_arena_used(a), 0);
    size_t cap = pipe_arena_capacity(a);
    /* After the reset one chunk holds the whole batch. */
    for (int i = 0; i < 100; i++) assert_non_null(pipe_arena_alloc(a, 100));
    assert_int_equal(pipe_arena_capacity(a), cap);
    pipe_arena_free(a);
}

/* The built-in reference pipeline (12 string fields, id required) and a data file of
 * tests/data/pipeline, for the table-driven tests. */
typedef struct ref_fx {
    pipe_config *c;
    pipe_schema *s;
    pipe_filter *flt;
    pipe_record *r;
    pipe_arena *a;
    FILE *in;
} ref_fx;

static void ref_open(ref_fx *x, const char *data_file)
{
    const char *src = getenv("RTETL_SRC");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/tests/data/pipeline/%s", src ? src : ".", data_file);
    x->in = fopen(path, "rb");
    if (!x->in) fail_msg("%s: cannot open", path);
    x->c = pipe_config_default();
    assert_int_equal(pipe_config_compile(x->c, &x->s, &x->flt, err, sizeof err), 0);
    x->r = pipe_record_new(x->s);
    x->a = pipe_arena_new(0);
}

static void ref_close(ref_fx *x)
{
    fclose(x->in);
    pipe_arena_free(x->a);
    pipe_record_free(x->r);
    pipe_filter_free(x->flt);
    pipe_schema_free(x->s);
    pipe_config_free(x->c);
}

/* tests/data/pipeline/reference_records.tsv: the reference pipeline's verdict per message. */
static void test_reference_records(void **state)
{
    (void)state;
    ref_fx x;
    ref_open(&x, "reference_records.tsv");
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, x.in)) {
        if (line[0] == '#') continue;
        char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        assert_non_null(tab);
        *tab = '\0';
        size_t len = nl ? (size_t)(nl - tab - 1) : strlen(tab + 1);
        pipe_decode_err rc = pipe_decode(x.s, tab + 1, len, x.a, x.r, NULL);
        const char *got = rc != PIPE_DEC_OK              ? pipe_decode_reason(rc)
                          : pipe_filter_eval(x.flt, x.r) ? "written"
                                                         : "filtered";
        if (strcmp(got, line) != 0)
            fail_msg("'%.*s': want %s, got %s", (int)len, tab + 1, line, got);
        n++;
    }
    assert_true(n >= 20);
    ref_close(&x);
}

/* ---- Spark's from_json rules (decode.h) ---------------------------------------------------- */

static void assert_converted(fx *f, const char *json, int field, int json_type, const char *want)
{
    pipe_decode_err rc = dec(f, json);
    if (rc != PIPE_DEC_OK) fail_msg("'%s': %s", json, pipe_decode_reason(rc));
    const pipe_value *v = &f->r->v[field];
    if (v->len != strlen(want) || memcmp(v->ptr, want, v->len) != 0)
        fail_msg("'%s': want '%s', got '%.*s'", json, want, (int)v->len, v->ptr);
    assert_int_equal(v->json_type, json_type);
}

static void test_string_takes_numbers(void **state)
{
    fx *f = *state;
    /* Integers keep their digits and stay slices of the message (no arena). */
    const char *m = "{\"id\":58378,\"email\":-123456789012345678901234567890}";
    assert_converted(f, m, 0, PIPE_JSON_NUMBER, "58378");
    assert_true(f->r->v[0].ptr == m + 6);
    assert_value(&f->r->v[1], "-123456789012345678901234567890");
    assert_int_equal(pipe_arena_used(f->a), 0);
    /* -0 is read as the integer 0: the "0" inside the message. */
    m = "{\"id\":-0}";
    assert_converted(f, m, 0, PIPE_JSON_NUMBER, "0");
    assert_true(f->r->v[0].ptr == m + 7);
    assert_converted(f, "{\"id\":-1}", 0, PIPE_JSON_NUMBER, "-1");
    assert_converted(f, "{\"id\":-10}", 0, PIPE_JSON_NUMBER, "-10");
    /* Floats are read as a double and printed as Java's Double.toString does. */
    static const char *const floats[][2] = {
        {"1.50", "1.5"},
        {"1e3", "1000.0"},
        {"1E10", "1.0E10"},
        {"1e-5", "1.0E-5"},
        {"0.001", "0.001"},
        {"0.0001", "1.0E-4"},
        {"-0.0", "-0.0"},
        {"0e0", "0.0"},
        {"9999999.0", "9999999.0"},
        {"1e7", "1.0E7"},
        {"1e309", "\"Infinity\""},
        {"-1e309", "\"-Infinity\""},
        {"5e-324", "4.9E-324"},
        {"1e-400", "0.0"},
        {"2e23", "2.0E23"},
        {"123456789.123", "1.23456789123E8"},
    };
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"id\":%s}", floats[i][0]);
        assert_converted(f, json, 0, PIPE_JSON_NUMBER, floats[i][1]);
    }
    assert_true(pipe_arena_used(f->a) > 0);
}

static void test_string_takes_literals_and_structures(void **state)
{
    fx *f = *state;
    const char *m = "{\"id\":true,\"email\":false}";
    assert_converted(f, m, 0, PIPE_JSON_BOOL, "true");
    assert_true(f->r->v[0].ptr == m + 6);
    assert_value(&f->r->v[1], "false");
    assert_converted(f, "{\"id\":{\"k\": [1, 2]}}", 0, PIPE_JSON_OBJECT, "{\"k\":[1,2]}");
    assert_converted(f, "{\"id\": [ 1.50 , 1e3, -0, {\"a\" : 1.0} ] }", 0, PIPE_JSON_ARRAY,
                     "[1.5,1000.0,0,{\"a\":1.0}]");
    assert_converted(f, "{\"id\":{}}", 0, PIPE_JSON_OBJECT, "{}");
    assert_converted(f, "{\"id\":[]}", 0, PIPE_JSON_ARRAY, "[]");
    assert_converted(f, "{\"id\":[true,false,null]}", 0, PIPE_JSON_ARRAY, "[true,false,null]");
    /* Nested duplicate keys are kept; strings are re-escaped as Jackson's generator does. */
    assert_converted(f, "{\"id\":{\"a\":1,\"a\":2}}", 0, PIPE_JSON_OBJECT, "{\"a\":1,\"a\":2}");
    assert_converted(f, "{\"id\":[\"a\\\"b\\\\c\\/d\\u0001\\u001f\\u007f\\b\\f\\n\\r\\t\"]}", 0,
                     PIPE_JSON_ARRAY, "[\"a\\\"b\\\\c/d\\u0001\\u001F\x7f\\b\\f\\n\\r\\t\"]");
    assert_converted(f, "{\"id\":[\"\\u00e9 \xc3\xa9 \\u2028 \xf0\x9f\x98\x80 \\ud83d\\ude00\"]}",
                     0, PIPE_JSON_ARRAY,
                     "[\"\xc3\xa9 \xc3\xa9 \xe2\x80\xa8 \\uD83D\\uDE00 \\uD83D\\uDE00\"]");
    assert_converted(f, "{\"id\":{\"a\\nb\\u0000\":\"\\u0000\"}}", 0, PIPE_JSON_OBJECT,
                     "{\"a\\nb\\u0000\":\"\\u0000\"}");
    /* Whitespace of every kind goes, inside strings it stays. */
    assert_converted(f, "{\"id\":\n[\t1\r, \" a b \" ]\n}", 0, PIPE_JSON_ARRAY, "[1,\" a b \"]");
}

static void test_string_conversion_limits(void **state)
{
    fx *f = *state;
    /* max_bytes applies to the stored text, not to the JSON text. */
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":[ 1 , 2 ,  3 ]}"), PIPE_DEC_OK);
    assert_value(&f->r->v[6], "[1,2,3]");
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":1e6}"), PIPE_DEC_VALUE_TOO_LARGE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":[1,2,3,4,5]}"), PIPE_DEC_VALUE_TOO_LARGE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":123456789}"), PIPE_DEC_VALUE_TOO_LARGE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":12345678}"), PIPE_DEC_OK);
    /* Jackson refuses numbers over 1000 characters (Spark nulls the row): dead-lettered. */
    char m[PIPE_JSON_MAX_NUMBER_LEN + 64];
    for (int nested = 0; nested < 2; nested++) {
        for (size_t digits = PIPE_JSON_MAX_NUMBER_LEN; digits <= PIPE_JSON_MAX_NUMBER_LEN + 1;
             digits++) {
            size_t n = (size_t)sprintf(m, "{\"id\":%s-", nested ? "[" : "");
            memset(m + n, '7', digits);
            n += digits;
            n += (size_t)sprintf(m + n, "%s}", nested ? "]" : "");
            pipe_decode_err want =
                digits > PIPE_JSON_MAX_NUMBER_LEN ? PIPE_DEC_NUMBER_RANGE : PIPE_DEC_OK;
            assert_int_equal(pipe_decode(f->s, m, n, f->a, f->r, &f->e), want);
        }
    }
    assert_int_equal(f->e.field, 0);
    /* Nesting in a converted value counts against the same limit as anywhere else. */
    size_t n = (size_t)sprintf(m, "{\"id\":");
    for (int i = 0; i < 20; i++) m[n++] = '[';
    for (int i = 0; i < 20; i++) m[n++] = ']';
    m[n++] = '}';
    assert_int_equal(pipe_decode(f->s, m, n, f->a, f->r, &f->e), PIPE_DEC_OK);
    assert_int_equal(f->r->v[0].len, 40);
}

static void test_string_conversion_needs_arena(void **state)
{
    fx *f = *state;
    const char *ok[] = {"{\"id\":12}", "{\"id\":-0}", "{\"id\":true}"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pipe_decode(f->s, ok[i], strlen(ok[i]), NULL, f->r, &f->e), PIPE_DEC_OK);
    const char *need[] = {"{\"id\":1.5}", "{\"id\":[1]}", "{\"id\":{}}"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pipe_decode(f->s, need[i], strlen(need[i]), NULL, f->r, &f->e),
                         PIPE_DEC_NO_MEMORY);
}

static void test_duplicates_last_wins(void **state)
{
    fx *f = *state;
    assert_converted(f, "{\"id\":\"a\",\"id\":\"b\"}", 0, PIPE_JSON_STRING, "b");
    assert_converted(f, "{\"id\":\"a\",\"email\":\"x\",\"id\":[1, 2]}", 0, PIPE_JSON_ARRAY,
                     "[1,2]");
    assert_converted(f, "{\"id\":\"a\",\"age\":1,\"age\":2}", 2, PIPE_JSON_NUMBER, "2");
    /* The last occurrence decides, null included. */
    assert_int_equal(dec(f, "{\"id\":\"a\",\"email\":\"x\",\"email\":null}"), PIPE_DEC_OK);
    assert_int_equal(f->r->v[1].json_type, PIPE_JSON_NULL);
    assert_null(f->r->v[1].ptr);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"id\":null}"), PIPE_DEC_NULL_FIELD);
    /* Every occurrence is checked: an invalid earlier one still dead-letters the record. */
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":\"x\",\"age\":1}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"note\":\"123456789\",\"note\":\"1\"}"),
                     PIPE_DEC_VALUE_TOO_LARGE);
}

static void test_double_takes_non_finite_strings(void **state)
{
    fx *f = *state;
    static const char *const ok[][2] = {
        {"\"NaN\"", "NaN"},
        {"\"Infinity\"", "Infinity"},
        {"\"+Infinity\"", "Infinity"},
        {"\"+INF\"", "Infinity"},
        {"\"-Infinity\"", "-Infinity"},
        {"\"-INF\"", "-Infinity"},
        {"\"\\u004eaN\"", "NaN"},
        {"-0", "0"},
        {"-1", "-1"},
        {"-0.0", "-0.0"},
        {"1e400", "1e400"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"id\":\"a\",\"score\":%s}", ok[i][0]);
        assert_int_equal(dec(f, json), PIPE_DEC_OK);
        assert_value(&f->r->v[4], ok[i][1]);
    }
    static const char *const bad[] = {"\"Inf\"",  "\"INF\"",
                                      "\"nan\"",  "\"infinity\"",
                                      "\"1.5\"",  "\"\"",
                                      "\"NaN \"", "true",
                                      "[1]",      "\"\\u004eaN\\u0020\\u0020\\u0020\\u0020\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[96];
        snprintf(json, sizeof json, "{\"id\":\"a\",\"score\":%s}", bad[i]);
        if (dec(f, json) != PIPE_DEC_WRONG_TYPE) fail_msg("%s accepted", json);
    }
}

/* Other types take what Spark's converters take, and dead-letter what Spark would null. */
static void test_other_types_spark_rules(void **state)
{
    fx *f = *state;
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":-0,\"big\":9223372036854775807,\"ok\":false}"),
                     PIPE_DEC_OK);
    assert_value(&f->r->v[2], "-0");
    static const char *const bad[] = {
        "\"age\":1.0", "\"age\":\"1\"",   "\"age\":1e2", "\"age\":true", "\"age\":\"\"",
        "\"big\":1.5", "\"ok\":\"true\"", "\"ok\":1",    "\"ok\":[]",    "\"score\":\"\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[96];
        snprintf(json, sizeof json, "{\"id\":\"a\",%s}", bad[i]);
        if (dec(f, json) != PIPE_DEC_WRONG_TYPE) fail_msg("%s accepted", json);
    }
}

/* strict: the rules from before the Spark conversion. */
static void test_strict_fields(void **state)
{
    (void)state;
    static const pipe_field fields[] = {
        {"id", PIPE_T_STRING, true, 1 << 20, true},
        {"loose", PIPE_T_STRING, false, 1 << 20, false},
        {"score", PIPE_T_DOUBLE, false, 64, true},
    };
    char err[128];
    pipe_schema *s = pipe_schema_new(fields, 3, 0, err, sizeof err);
    assert_non_null(s);
    pipe_record *r = pipe_record_new(s);
    pipe_arena *a = pipe_arena_new(0);
    pipe_decode_error e;
    static const struct {
        const char *json;
        pipe_decode_err want;
        int json_type;
    } cases[] = {
        {"{\"id\":12}", PIPE_DEC_WRONG_TYPE, PIPE_JSON_NUMBER},
        {"{\"id\":1.5}", PIPE_DEC_WRONG_TYPE, PIPE_JSON_NUMBER},
        {"{\"id\":true}", PIPE_DEC_WRONG_TYPE, PIPE_JSON_BOOL},
        {"{\"id\":[\"a\"]}", PIPE_DEC_WRONG_TYPE, PIPE_JSON_ARRAY},
        {"{\"id\":{\"a\":1}}", PIPE_DEC_WRONG_TYPE, PIPE_JSON_OBJECT},
        {"{\"id\":\"a\",\"id\":\"b\"}", PIPE_DEC_DUPLICATE_KEY, PIPE_JSON_STRING},
        {"{\"id\":\"a\",\"score\":\"NaN\"}", PIPE_DEC_WRONG_TYPE, PIPE_JSON_STRING},
        {"{\"id\":\"a\",\"score\":1,\"score\":2}", PIPE_DEC_DUPLICATE_KEY, PIPE_JSON_NUMBER},
        {"{\"id\":\"a\",\"loose\":12,\"loose\":[1]}", PIPE_DEC_OK, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *m = cases[i].json;
        pipe_decode_err rc = pipe_decode(s, m, strlen(m), a, r, &e);
        if (rc != cases[i].want) fail_msg("'%s': got %s", m, pipe_decode_reason(rc));
        if (rc != PIPE_DEC_OK) assert_int_equal(e.json_type, cases[i].json_type);
    }
    assert_int_equal(r->v[1].len, 3);
    assert_memory_equal(r->v[1].ptr, "[1]", 3);
    const char *m = "{\"id\":\"a\",\"id\":\"b\"}";
    pipe_decode(s, m, strlen(m), a, r, &e);
    assert_int_equal(e.offset, 15);
    m = "{\"id\":12}";
    pipe_decode(s, m, strlen(m), a, r, &e);
    assert_string_equal(pipe_decode_describe(s, &e, err, sizeof err),
                        "field 'id': expected string, got number at byte 6");
    pipe_arena_free(a);
    pipe_record_free(r);
    pipe_schema_free(s);
}

/* Timestamp, date and uuid fields take the text CQL reads for the column type (and a timestamp
 * epoch milliseconds); list and map fields a JSON array or object, stored with string
 * elements. What cannot convert is invalid_value, with a line naming the field and type. */
static void test_typed_fields(void **state)
{
    (void)state;
    static const pipe_field fields[] = {
        {"ts", PIPE_T_TIMESTAMP, false, 64, false}, {"day", PIPE_T_DATE, false, 64, false},
        {"uid", PIPE_T_UUID, false, 64, false},     {"tags", PIPE_T_LIST, false, 1024, false},
        {"m", PIPE_T_MAP, false, 1024, false},      {"sts", PIPE_T_TIMESTAMP, false, 64, true},
    };
    char err[160];
    pipe_schema *s = pipe_schema_new(fields, 6, 0, err, sizeof err);
    assert_non_null(s);
    pipe_record *r = pipe_record_new(s);
    pipe_arena *a = pipe_arena_new(0);
    pipe_decode_error e;
    static const struct {
        const char *json;
        pipe_decode_err want;
        const char *stored; /* of the first field in the message when OK */
    } cases[] = {
        {"{\"ts\":\"2024-01-02T03:04:05.678Z\"}", PIPE_DEC_OK, "2024-01-02T03:04:05.678Z"},
        {"{\"ts\":\"2024-01-02 03:04\"}", PIPE_DEC_OK, "2024-01-02 03:04"},
        {"{\"ts\":\"2024-01-02T03:04:05+05:30\"}", PIPE_DEC_OK, "2024-01-02T03:04:05+05:30"},
        {"{\"ts\":\"2024-01-02\"}", PIPE_DEC_OK, "2024-01-02"},
        {"{\"ts\":\"\\u0032024-01-02\"}", PIPE_DEC_OK, "2024-01-02"},
        {"{\"ts\":1700000000000}", PIPE_DEC_OK, "1700000000000"},
        {"{\"ts\":\"-42\"}", PIPE_DEC_OK, "-42"},
        {"{\"ts\":\"2024-13-02\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"ts\":\"2023-02-29\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"ts\":\"yesterday\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"ts\":\"\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"ts\":1.5}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"ts\":99999999999999999999}", PIPE_DEC_NUMBER_RANGE, NULL},
        {"{\"ts\":true}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"sts\":1700000000000}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"day\":\"2024-02-29\"}", PIPE_DEC_OK, "2024-02-29"},
        {"{\"day\":\"-0001-01-01\"}", PIPE_DEC_OK, "-0001-01-01"},
        {"{\"day\":\"2024-02-30\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"day\":\"2024-02-29T00:00:00Z\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"day\":19000}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"uid\":\"0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D\"}", PIPE_DEC_OK,
         "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"},
        {"{\"uid\":\"0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"uid\":\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g\"}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"uid\":[]}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"tags\":[\"a\", 1, 1e3, true, {\"k\": [\"x\"]}, [], \"\\\"q\\\"\"]}", PIPE_DEC_OK,
         "[\"a\",\"1\",\"1000.0\",\"true\",\"{\\\"k\\\":[\\\"x\\\"]}\",\"[]\",\"\\\"q\\\"\"]"},
        {"{\"tags\":[]}", PIPE_DEC_OK, "[]"},
        {"{\"tags\":[\"a\",null]}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"tags\":{\"a\":\"b\"}}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"tags\":\"a\"}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"m\":{\"a\":\"b\",\"n\":-0,\"o\":{}}}", PIPE_DEC_OK,
         "{\"a\":\"b\",\"n\":\"0\",\"o\":\"{}\"}"},
        {"{\"m\":{\"a\":null}}", PIPE_DEC_BAD_VALUE, NULL},
        {"{\"m\":[1]}", PIPE_DEC_WRONG_TYPE, NULL},
        {"{\"m\":null,\"tags\":null,\"ts\":null}", PIPE_DEC_OK, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *m = cases[i].json;
        pipe_decode_err rc = pipe_decode(s, m, strlen(m), a, r, &e);
        if (rc != cases[i].want) fail_msg("'%s': got %s", m, pipe_decode_reason(rc));
        if (rc != PIPE_DEC_OK || !cases[i].stored) continue;
        int fi = pipe_schema_find(s, m + 2, strcspn(m + 2, "\""));
        assert_true(fi >= 0);
        if (r->v[fi].len != strlen(cases[i].stored) ||
            memcmp(r->v[fi].ptr, cases[i].stored, r->v[fi].len) != 0)
            fail_msg("'%s': stored '%.*s'", m, (int)r->v[fi].len, r->v[fi].ptr);
    }
    assert_string_equal(pipe_decode_reason(PIPE_DEC_BAD_VALUE), "invalid_value");
    static const struct {
        const char *json, *want;
    } msgs[] = {
        {"{\"ts\":\"x\"}",
         "field 'ts': not a timestamp (ISO-8601 or epoch milliseconds) at byte 6"},
        {"{\"day\":\"x\"}", "field 'day': not a date (yyyy-mm-dd) at byte 7"},
        {"{\"uid\":\"x\"}", "field 'uid': not a UUID at byte 7"},
        {"{\"tags\":[null]}", "field 'tags': a null element (a CQL list holds no nulls) at byte 8"},
        {"{\"m\":{\"a\":null}}", "field 'm': a null value (a CQL map holds no nulls) at byte 5"},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        pipe_decode(s, msgs[i].json, strlen(msgs[i].json), a, r, &e);
        assert_string_equal(pipe_decode_describe(s, &e, err, sizeof err), msgs[i].want);
    }
    pipe_arena_free(a);
    pipe_record_free(r);
    pipe_schema_free(s);
}

/* Type names: the schema's, the CQL spellings of the collections, and the CQL column types. */
static void test_type_names(void **state)
{
    (void)state;
    static const char *const names[] = {"string",    "int",  "bigint", "double", "boolean",
                                        "timestamp", "date", "uuid",   "list",   "map"};
    for (int i = 0; i < PIPE_T__COUNT; i++) {
        pipe_type t;
        assert_int_equal(pipe_type_parse(names[i], &t), 0);
        assert_int_equal(t, i);
        assert_string_equal(pipe_type_name(t), names[i]);
    }
    pipe_type t;
    assert_int_equal(pipe_type_parse("list<text>", &t), 0);
    assert_int_equal(t, PIPE_T_LIST);
    assert_int_equal(pipe_type_parse("map<text, text>", &t), 0);
    assert_int_equal(t, PIPE_T_MAP);
    assert_int_equal(pipe_type_parse("list<int>", &t), -1);
    assert_int_equal(pipe_type_parse("text", &t), -1);
    assert_string_equal(pipe_type_cql(PIPE_T_TIMESTAMP), "timestamp");
    assert_string_equal(pipe_type_cql(PIPE_T_UUID), "uuid");
    assert_string_equal(pipe_type_cql(PIPE_T_MAP), "map<text, text>");
}

/* The collection serializer behind list and map columns: the CQL protocol's encoding. */
static void test_items_cql(void **state)
{
    (void)state;
    unsigned char out[64];
    const char *j = "[\"a\", \"\\u00e3\", 12]";
    size_t n = pipe_json_items_cql(j, strlen(j), NULL, 0);
    assert_int_equal(n, 4 + 5 + 6 + 6);
    assert_int_equal(pipe_json_items_cql(j, strlen(j), out, sizeof out), n);
    assert_memory_equal(out, "\0\0\0\3\0\0\0\1a\0\0\0\2\xc3\xa3\0\0\0\00212", n);
    j = "{\"k\":\"v\"}";
    assert_int_equal(pipe_json_items_cql(j, strlen(j), out, sizeof out), 4 + 5 + 5);
    assert_memory_equal(out, "\0\0\0\1\0\0\0\1k\0\0\0\1v", 14);
    /* A buffer too small is never overrun: the length needed comes back. */
    memset(out, 0xAA, sizeof out);
    assert_int_equal(pipe_json_items_cql(j, strlen(j), out, 6), 14);
    assert_int_equal(out[6], 0xAA);
    assert_int_equal(pipe_json_items_cql("[]", 2, out, sizeof out), 4);
    /* An empty string measured without a buffer (UBSan: no offset applied to NULL). */
    assert_int_equal(pipe_json_items_cql("[\"\"]", 4, NULL, 0), 8);
    static const char *const bad[] = {"",           "[",     "[null]",        "[[1]]",
                                      "{\"a\":{}}", "[1,]",  "[\"a\" \"b\"]", "{\"a\"}",
                                      "[\"\\x\"]",  "[1] x", "\"a\"",         "{1:2}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pipe_json_items_cql(bad[i], strlen(bad[i]), out, sizeof out) != PIPE_JSON_NOT_ITEMS)
            fail_msg("'%s' accepted", bad[i]);
}

static void test_double_text(void **state)
{
    (void)state;
    static const struct {
        double x;
        const char *want;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {1.5, "1.5"},
        {100.0, "100.0"},
        {1e-3, "0.001"},
        {9.99e-4, "9.99E-4"},
        {9999999.0, "9999999.0"},
        {1e7, "1.0E7"},
        {12345678.0, "1.2345678E7"},
        {0.1, "0.1"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.7976931348623157e308, "1.7976931348623157E308"},
        {4.9e-324, "4.9E-324"}, /* one digit would do: Java takes the closer 4.9 */
        {1e23, "1.0E23"},       /* JDK <= 18: 9.999999999999999E22 */
        {2e23, "2.0E23"},       /* JDK <= 18: 1.9999999999999998E23 */
        {8.41e21, "8.41E21"},   /* JDK <= 18: 8.409999999999999E21 */
        {1e-320, "1.0E-320"},   /* subnormal */
        {9007199254740992.0, "9.007199254740992E15"}, /* a power of two */
        {0x1p-1022, "2.2250738585072014E-308"},
        {-1.5e-7, "-1.5E-7"},
        {1.0 / 0.0, "Infinity"},
        {-1.0 / 0.0, "-Infinity"},
        {0.0 / 0.0, "NaN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PIPE_JSON_DOUBLE_TEXT_MAX];
        size_t n = pipe_json_double_text(cases[i].x, out);
        if (n != strlen(cases[i].want) || memcmp(out, cases[i].want, n) != 0)
            fail_msg("%.17g: want %s, got %.*s", cases[i].x, cases[i].want, (int)n, out);
    }
    /* Every power of two reads back from its text (the lopsided rounding interval). */
    for (int e = -1074; e <= 1023; e++) {
        char out[PIPE_JSON_DOUBLE_TEXT_MAX + 1];
        double x = ldexp(1.0, e);
        out[pipe_json_double_text(x, out)] = '\0';
        if (strtod(out, NULL) != x) fail_msg("2^%d printed as %s", e, out);
    }
}

/* Decodes a %HH-escaped column of spark_from_json_string.tsv into out; returns the length. */
static size_t pct_decode(const char *s, char *out)
{
    size_t n = 0;
    for (; *s; s++) {
        unsigned v;
        if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1)
            out[n++] = (char)v, s += 2;
        else
            out[n++] = *s;
    }
    return n;
}

/* tests/data/pipeline/spark_from_json_string.tsv: Spark's from_json output as ground truth. */
static void test_spark_ground_truth(void **state)
{
    (void)state;
    ref_fx x;
    ref_open(&x, "spark_from_json_string.tsv");
    char *line = NULL, *msg = malloc(8192), *want = malloc(8192);
    size_t cap = 0;
    int rows = 0, converted = 0;
    while (getline(&line, &cap, x.in) > 0) {
        if (line[0] == '#') continue;
        line[strcspn(line, "\n")] = '\0';
        char *col[4] = {line};
        for (int i = 1; i < 4; i++) {
            char *tab = strchr(col[i - 1], '\t');
            if (!tab) fail_msg("row %d: want 4 columns", rows + 1);
            *tab = '\0', col[i] = tab + 1;
        }
        size_t len = pct_decode(col[0], msg);
        int field = pipe_schema_find(x.s, col[1], strlen(col[1]));
        assert_true(field >= 0);
        pipe_decode_err rc = pipe_decode(x.s, msg, len, x.a, x.r, NULL);
        const pipe_value *v = &x.r->v[field];
        if (col[3][0] != '=' && col[3][0] != '>') {
            if (strcmp(pipe_decode_reason(rc), col[3]) != 0)
                fail_msg("'%.60s': want %s, got %s", col[0], col[3], pipe_decode_reason(rc));
        } else if (rc != PIPE_DEC_OK) {
            fail_msg("'%.60s': want %s, got %s", col[0], col[2], pipe_decode_reason(rc));
        } else if (col[3][0] == '=' && strcmp(col[2], "%N") == 0) {
            if (v->present && v->json_type != PIPE_JSON_NULL)
                fail_msg("'%.60s': want null, got '%.*s'", col[0], (int)v->len, v->ptr);
        } else {
            size_t wl = pct_decode(col[3][0] == '>' ? col[3] + 1 : col[2], want);
            if (!v->present || v->len != wl || memcmp(v->ptr, want, wl) != 0)
                fail_msg("'%.60s': want '%.*s', got '%.*s'", col[0], (int)wl, want, (int)v->len,
                         v->ptr);
            converted += v->json_type != PIPE_JSON_STRING;
        }
        rows++;
        pipe_arena_reset(x.a);
    }
    assert_true(rows >= 150);
    assert_true(converted >= 90);
    free(line), free(msg), free(want);
    ref_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_zero_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structure_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_arena, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_nul_terminated, setup, teardown),
        cmocka_unit_test(test_reasons_distinct),
        cmocka_unit_test(test_schema_lookup),
        cmocka_unit_test_setup_teardown(test_key_order_guess, setup, teardown),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_reference_records),
        cmocka_unit_test_setup_teardown(test_string_takes_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_takes_literals_and_structures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_conversion_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_conversion_needs_arena, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_last_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_takes_non_finite_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_types_spark_rules, setup, teardown),
        cmocka_unit_test(test_strict_fields),
        cmocka_unit_test(test_double_text),
        cmocka_unit_test(test_typed_fields),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_items_cql),
        cmocka_unit_test(test_spark_ground_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
