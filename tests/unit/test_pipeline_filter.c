/* Unit tests for pipeline/filter: grammar, precedence, three-valued logic, errors with
 * columns, canonical printing, and the operators of the expression language. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/filter.h"

typedef struct fx {
    pipe_schema *s;
    pipe_arena *a;
    pipe_record *r;
} fx;

static int setup(void **state)
{
    static const pipe_field fields[] = {
        {"email", PIPE_T_STRING, false, 1024, false},  {"name", PIPE_T_STRING, false, 1024, false},
        {"age", PIPE_T_INT, false, 64, false},         {"and", PIPE_T_STRING, false, 64, false},
        {"odd name", PIPE_T_STRING, false, 64, false},
    };
    fx *f = calloc(1, sizeof *f);
    char err[128];
    f->s = pipe_schema_new(fields, sizeof fields / sizeof fields[0], 0, err, sizeof err);
    f->a = pipe_arena_new(0);
    f->r = pipe_record_new(f->s);
    assert_non_null(f->s);
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

/* Compiles expr, decodes json, returns the verdict. */
static bool keep(fx *f, const char *expr, const char *json)
{
    char err[160];
    pipe_filter *flt = pipe_filter_compile(expr, f->s, err, sizeof err);
    if (!flt) fail_msg("compile '%s': %s", expr, err);
    assert_int_equal(pipe_decode(f->s, json, strlen(json), f->a, f->r, NULL), PIPE_DEC_OK);
    bool k = pipe_filter_eval(flt, f->r);
    pipe_filter_free(flt);
    return k;
}

static void test_reference_filter(void **state)
{
    fx *f = *state;
    const char *e = "contains(email, '@')";
    assert_true(keep(f, e, "{\"email\":\"a@b\"}"));
    assert_false(keep(f, e, "{\"email\":\"ab\"}"));
    assert_false(keep(f, e, "{\"email\":null}"));
    assert_false(keep(f, e, "{}"));
    assert_true(keep(f, "contains(email,\"@\")", "{\"email\":\"\\u0040\"}"));
    assert_true(keep(f, "contains(email, '')", "{\"email\":\"\"}"));
}

/* A string field whose JSON was a number, boolean, object or array is tested as the text it
 * is stored as (decode.h), never as an error or an unknown. */
static void test_converted_values(void **state)
{
    fx *f = *state;
    const char *e = "contains(email, '@')";
    assert_false(keep(f, e, "{\"email\":12345}"));
    assert_false(keep(f, e, "{\"email\":true}"));
    assert_false(keep(f, e, "{\"email\":{\"a\":1}}"));
    assert_true(keep(f, e, "{\"email\":[\"a@b\"]}"));
    assert_true(keep(f, e, "{\"email\":{\"a@b\": null}}"));
    assert_true(keep(f, "email == '1000.0'", "{\"email\":1e3}"));
    assert_true(keep(f, "email == '0'", "{\"email\":-0}"));
    assert_true(keep(f, "email == '{\"k\":[1,2]}'", "{\"email\":{ \"k\" : [1, 2] }}"));
    assert_true(keep(f, "starts_with(name, '[') and not_empty(name)", "{\"name\":[]}"));
    assert_true(keep(f, "name == 'false'", "{\"name\":false}"));
    /* Last one wins for duplicates, in the filter too. */
    assert_true(keep(f, e, "{\"email\":\"x\",\"email\":\"a@b\"}"));
    assert_false(keep(f, e, "{\"email\":\"a@b\",\"email\":7}"));
}

static void test_predicates(void **state)
{
    fx *f = *state;
    const char *j = "{\"email\":\"ana@example.com\",\"name\":\"\",\"age\":42}";
    assert_true(keep(f, "email == 'ana@example.com'", j));
    assert_false(keep(f, "email == 'ana@example.co'", j));
    assert_true(keep(f, "email != 'x'", j));
    assert_true(keep(f, "starts_with(email, 'ana@')", j));
    assert_false(keep(f, "starts_with(email, 'ana@example.com!')", j));
    assert_true(keep(f, "ends_with(email, '.com')", j));
    assert_false(keep(f, "ends_with(email, 'x.com')", j));
    assert_true(keep(f, "not_empty(email)", j));
    assert_false(keep(f, "not_empty(name)", j));
    assert_false(keep(f, "name != ''", j));
    assert_true(keep(f, "age == '42'", j)); /* numbers compare by their JSON text */
    assert_true(keep(f, "present(age) and is_null(`and`) and is_null(`odd name`)", j));
    assert_true(keep(f, "`and` == 'x'", "{\"and\":\"x\"}"));
    assert_true(keep(f, "`odd name` == 'y'", "{\"odd name\":\"y\"}"));
    assert_true(keep(f, "email == 'it\\'s \"q\" \\\\'", "{\"email\":\"it's \\\"q\\\" \\\\\"}"));
    assert_true(keep(f, "email == \"tab\\there\"", "{\"email\":\"tab\\there\"}"));
}

static void test_three_valued(void **state)
{
    fx *f = *state;
    const char *none = "{\"name\":\"n\"}";
    /* Unknown (absent email) is neither kept nor flipped by not. */
    assert_false(keep(f, "email == 'x'", none));
    assert_false(keep(f, "email != 'x'", none));
    assert_false(keep(f, "not email == 'x'", none));
    assert_false(keep(f, "not_empty(email)", none));
    assert_false(keep(f, "email != ''", none));
    assert_true(keep(f, "is_null(email)", none));
    assert_false(keep(f, "present(email)", none));
    /* Kleene: unknown or true = true; unknown and false = false. */
    assert_true(keep(f, "email == 'x' or name == 'n'", none));
    assert_false(keep(f, "email == 'x' and name == 'n'", none));
    assert_true(keep(f, "not (email == 'x' and name == 'z')", none));
    assert_false(keep(f, "email == 'x' or name == 'z'", none));
}

static void test_precedence(void **state)
{
    fx *f = *state;
    const char *j = "{\"email\":\"e\",\"name\":\"n\"}";
    /* and binds tighter than or; not tighter than and. */
    assert_true(keep(f, "true or false and false", j));
    assert_false(keep(f, "(true or false) and false", j));
    assert_false(keep(f, "not true and false", j));
    assert_true(keep(f, "not (true and false)", j));
    assert_true(keep(f, "not not true", j));
    assert_true(keep(f, "email == 'e' and name == 'n' or false", j));
    assert_true(keep(f, "false or email == 'e' and not name == 'x'", j));
    assert_true(keep(f, "", j));
    assert_true(keep(f, "  \n ", j));
}

static void expect_error(fx *f, const char *expr, const char *want)
{
    char err[160];
    pipe_filter *flt = pipe_filter_compile(expr, f->s, err, sizeof err);
    if (flt) fail_msg("'%s' compiled", expr);
    assert_string_equal(err, want);
}

static void test_errors(void **state)
{
    fx *f = *state;
    expect_error(f, "contains(email, '@'", "filter:1:20: expected ')'");
    expect_error(f, "contains(emial, '@')", "filter:1:10: unknown field 'emial'");
    expect_error(f, "contains(email '@')", "filter:1:16: expected ','");
    expect_error(f, "contains(email, @)", "filter:1:17: unexpected character '@'");
    expect_error(f, "contains(email, name)", "filter:1:17: expected a string literal");
    expect_error(f, "contain(email, 'x')", "filter:1:1: unknown function 'contain'");
    expect_error(f, "email = 'x'", "filter:1:7: unexpected character '='");
    expect_error(f, "email 'x'", "filter:1:7: expected '==' or '!='");
    expect_error(f, "email == 'x", "filter:1:10: unterminated string");
    expect_error(f, "email == 'x' extra",
                 "filter:1:14: expected 'and', 'or' or the end of the "
                 "expression");
    expect_error(f, "(true))", "filter:1:7: unbalanced ')'");
    expect_error(f, "true and", "filter:1:9: expected an expression");
    expect_error(f, "not", "filter:1:4: expected an expression");
    expect_error(f, "email == 'a\\q'", "filter:1:12: unknown escape in string");
    expect_error(f, "true and\n  (email == 'x'", "filter:2:16: expected ')'");
    expect_error(f, "`odd", "filter:1:1: unterminated name");
    expect_error(f, "\x01", "filter:1:1: unexpected byte 0x01");
    char deep[512] = "";
    for (int i = 0; i < PIPE_FILTER_MAX_DEPTH + 1; i++) strcat(deep, "(");
    expect_error(f, deep, "filter:1:65: expression nested too deeply");
}

static void test_print_roundtrip(void **state)
{
    fx *f = *state;
    static const char *const exprs[] = {
        "contains(email, '@')",
        "a",
        "not email == 'x' or (name != 'it\\'s' and not_empty(`and`)) or true",
        "starts_with(`odd name`, '\\n\\t\\\\') and ends_with(email, \"\\\"\") and present(age)",
        "is_null(email) or false",
    };
    char err[160], a[512], b[512];
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        pipe_filter *f1 = pipe_filter_compile(exprs[i], f->s, err, sizeof err);
        if (i == 1) {
            assert_null(f1); /* a bare field is not an expression */
            continue;
        }
        assert_non_null(f1);
        size_t n = pipe_filter_print(f1, f->s, a, sizeof a);
        assert_int_equal(n, strlen(a));
        pipe_filter *f2 = pipe_filter_compile(a, f->s, err, sizeof err);
        if (!f2) fail_msg("reparse '%s': %s", a, err);
        pipe_filter_print(f2, f->s, b, sizeof b);
        assert_string_equal(a, b);
        pipe_filter_free(f1);
        pipe_filter_free(f2);
    }
    pipe_filter *t = pipe_filter_compile("", f->s, err, sizeof err);
    assert_true(pipe_filter_is_trivial(t));
    assert_int_equal(pipe_filter_print(t, f->s, a, 3), 4);
    assert_string_equal(a, "tr");
    pipe_filter_free(t);
    t = pipe_filter_compile("contains(email, '@')", f->s, err, sizeof err);
    assert_false(pipe_filter_is_trivial(t));
    pipe_filter_print(t, f->s, a, sizeof a);
    assert_string_equal(a, "contains(email, '@')");
    pipe_filter_free(t);
}

/* The expression language's operators and functions in filters (pipeline/expr.h). */
static void test_new_operators(void **state)
{
    fx *f = *state;
    const char *j = "{\"email\":\" X@Y \",\"name\":\"1985-03-01T00:00:00Z\",\"age\":42}";
    assert_true(keep(f, "age > 40 and age <= 42 and not age < 42 and age >= 42", j));
    assert_false(keep(f, "age > 42", j));
    assert_true(keep(f, "age in (1, 42)", j));
    assert_false(keep(f, "email in ('a', null)", j)); /* unknown */
    assert_true(keep(f, "matches(email, '^ X@')", j));
    assert_true(keep(f, "name < '1990'", j));
    assert_true(keep(f, "to_timestamp(name) < to_timestamp('1990-01-01T00:00:00Z')", j));
    assert_true(keep(f, "to_date(name) == '1985-03-01'", j));
    /* An evaluation error (no timestamp) is unknown: not kept, and not kept negated either. */
    assert_false(keep(f, "to_timestamp(email) < '1990-01-01'", j));
    assert_false(keep(f, "not to_timestamp(email) < '1990-01-01'", j));
    /* A function computing text needs scratch space: pipe_filter_eval_ctx. */
    char err[160];
    pipe_filter *flt = pipe_filter_compile("lower(trim(email)) == 'x@y' and kafka.partition == 7",
                                           f->s, err, sizeof err);
    assert_non_null(flt);
    assert_int_equal(pipe_decode(f->s, j, strlen(j), f->a, f->r, NULL), PIPE_DEC_OK);
    assert_false(pipe_filter_eval(flt, f->r));
    pipe_arena *scratch = pipe_arena_new(0);
    pipe_kafka_meta meta = {.topic = "t", .partition = 7, .timestamp_ms = -1};
    pipe_xctx ctx = {.rec = f->r, .meta = &meta, .scratch = scratch};
    assert_true(pipe_filter_eval_ctx(flt, &ctx));
    meta.partition = 8;
    assert_false(pipe_filter_eval_ctx(flt, &ctx));
    pipe_arena_free(scratch);
    pipe_filter_free(flt);
    expect_error(f, "lower(email)", "filter:1:13: expected '==' or '!='");
    expect_error(f, "age < true", "filter:1:5: cannot compare int with boolean");
    expect_error(f, "contains(email, 'x') < 3", "filter:1:22: cannot compare boolean with int");
    expect_error(f, "name and true", "filter:1:6: expected '==' or '!='");
}

static void test_long_chain(void **state)
{
    fx *f = *state;
    /* A long or-chain is one n-ary node: evaluation does not recurse per term. */
    size_t cap = 40 * 1000;
    char *e = malloc(cap);
    e[0] = '\0';
    for (int i = 0; i < 1000; i++) strcat(e, i ? " or name == 'x'" : "name == 'x'");
    strcat(e, " or name == 'n'");
    assert_true(keep(f, e, "{\"name\":\"n\"}"));
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reference_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_predicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_converted_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_valued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
