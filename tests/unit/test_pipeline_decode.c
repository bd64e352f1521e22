/* Unit tests for pipeline/decode (and the schema and arena it uses): every error kind, escapes,
 * Unicode, nested skipping, zero copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/config.h"
#include "pipeline/decode.h"

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
        {"id", PIPE_T_STRING, true, 1 << 20}, {"email", PIPE_T_STRING, false, 1 << 20},
        {"age", PIPE_T_INT, false, 64},       {"big", PIPE_T_BIGINT, false, 64},
        {"score", PIPE_T_DOUBLE, false, 64},  {"ok", PIPE_T_BOOLEAN, false, 64},
        {"note", PIPE_T_STRING, false, 8},
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
    assert_int_equal(dec(f, "{\"id\":12}"), PIPE_DEC_WRONG_TYPE);
    assert_string_equal(pipe_decode_describe(f->s, &f->e, err, sizeof err),
                        "field 'id': expected string, got number at byte 6");
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":\"12\"}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":1.5}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":2147483648}"), PIPE_DEC_NUMBER_RANGE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"age\":-2147483648}"), PIPE_DEC_OK);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"big\":9223372036854775808}"), PIPE_DEC_NUMBER_RANGE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"score\":true}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"ok\":1}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":[\"a\"]}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(f->e.json_type, PIPE_JSON_ARRAY);
    assert_int_equal(dec(f, "{\"id\":{\"a\":1}}"), PIPE_DEC_WRONG_TYPE);
    assert_int_equal(dec(f, "{\"id\":\"a\",\"id\":\"b\"}"), PIPE_DEC_DUPLICATE_KEY);
    assert_int_equal(f->e.offset, 15);
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
    assert_int_equal(dec(f, "{\"id\":1, \"x\":}"), PIPE_DEC_MALFORMED);
    assert_int_equal(dec(f, "{\"id\":1,\"x\":\"\\q\"}"), PIPE_DEC_BAD_ESCAPE);
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
        fields[i] = (pipe_field){names[i], PIPE_T_STRING, false, 10};
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

/* tests/data/pipeline/reference_records.tsv: the reference pipeline's verdict per message. */
static void test_reference_records(void **state)
{
    (void)state;
    const char *src = getenv("RTETL_SRC");
    char path[1024], err[256], line[4096];
    snprintf(path, sizeof path, "%s/tests/data/pipeline/reference_records.tsv", src ? src : ".");
    FILE *in = fopen(path, "rb");
    if (!in) fail_msg("%s: cannot open", path);
    pipe_config *c = pipe_config_default();
    pipe_schema *s;
    pipe_filter *flt;
    assert_int_equal(pipe_config_compile(c, &s, &flt, err, sizeof err), 0);
    pipe_record *r = pipe_record_new(s);
    pipe_arena *a = pipe_arena_new(0);
    int n = 0;
    while (fgets(line, sizeof line, in)) {
        if (line[0] == '#') continue;
        char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        assert_non_null(tab);
        *tab = '\0';
        size_t len = nl ? (size_t)(nl - tab - 1) : strlen(tab + 1);
        pipe_decode_err rc = pipe_decode(s, tab + 1, len, a, r, NULL);
        const char *got = rc != PIPE_DEC_OK          ? pipe_decode_reason(rc)
                          : pipe_filter_eval(flt, r) ? "written"
                                                     : "filtered";
        if (strcmp(got, line) != 0)
            fail_msg("'%.*s': want %s, got %s", (int)len, tab + 1, line, got);
        n++;
    }
    assert_true(n >= 20);
    fclose(in);
    pipe_arena_free(a);
    pipe_record_free(r);
    pipe_filter_free(flt);
    pipe_schema_free(s);
    pipe_config_free(c);
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
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_reference_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
