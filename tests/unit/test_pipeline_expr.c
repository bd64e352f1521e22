/* Unit tests for pipeline/expr: literals, fields, Kafka metadata, every function, comparisons
 * and `in` across types, three-valued logic, evaluation errors, compile errors with line and
 * column, canonical printing, and that evaluation uses only the scratch arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/expr.h"
#include "util/isotime.h"

typedef struct fx {
    pipe_schema *s;
    pipe_arena *a, *scratch;
    pipe_record *r;
    pipe_kafka_meta meta;
    char err[200];
} fx;

static bool header(const void *ud, const char *name, const void **val, size_t *len)
{
    (void)ud;
    if (strcmp(name, "source") == 0) return *val = "crm", *len = 3, true;
    if (strcmp(name, "nul") == 0) return *val = NULL, *len = 0, true;
    return false;
}

static int setup(void **state)
{
    static const pipe_field fields[] = {
        {"email", PIPE_T_STRING, false, 1024, false},  {"name", PIPE_T_STRING, false, 1024, false},
        {"last", PIPE_T_STRING, false, 1024, false},   {"age", PIPE_T_INT, false, 64, false},
        {"big", PIPE_T_BIGINT, false, 64, false},      {"score", PIPE_T_DOUBLE, false, 64, false},
        {"ok", PIPE_T_BOOLEAN, false, 64, false},      {"dob", PIPE_T_STRING, false, 64, false},
        {"odd name", PIPE_T_STRING, false, 64, false}, {"ts", PIPE_T_TIMESTAMP, false, 64, false},
        {"day", PIPE_T_DATE, false, 64, false},        {"uid", PIPE_T_UUID, false, 64, false},
        {"loc", PIPE_T_STRING, false, 1024, false},    {"attrs", PIPE_T_MAP, false, 1024, false},
        {"tags", PIPE_T_LIST, false, 1024, false},     {"raw", PIPE_T_STRING, false, 1024, false},
    };
    fx *f = calloc(1, sizeof *f);
    char err[128];
    f->s = pipe_schema_new(fields, sizeof fields / sizeof fields[0], 0, err, sizeof err);
    f->a = pipe_arena_new(0);
    f->scratch = pipe_arena_new(4096);
    f->r = pipe_record_new(f->s);
    f->meta = (pipe_kafka_meta){.topic = "users",
                                .partition = 3,
                                .offset = 42,
                                .timestamp_ms = 1700000000123,
                                .key = "k1",
                                .key_len = 2,
                                .header = header};
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    pipe_record_free(f->r);
    pipe_arena_free(f->a);
    pipe_arena_free(f->scratch);
    pipe_schema_free(f->s);
    free(f);
    return 0;
}

static const char *const J = "{\"email\":\"  Ana@Example.COM \",\"name\":\"Ana\",\"last\":\"Lima\","
                             "\"age\":42,\"big\":-9000000000,\"score\":2.5,\"ok\":true,"
                             "\"dob\":\"1990-05-17T10:20:30.456Z\",\"odd name\":\"x\","
                             "\"ts\":\"2024-02-29 23:59:59+0100\",\"day\":\"2024-02-29\","
                             "\"uid\":\"0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D\","
                             "\"loc\":{\"city\":\"S\\u00e3o \\\"P\\\"\",\"geo\":{\"lat\":-23.5,"
                             "\"up\":null,\"deep\":{\"x\":[1, 2]}},\"zip\":1e3},"
                             "\"attrs\":{\"k\":\"v\",\"n\":1},\"tags\":[\"a\",2,true],"
                             "\"raw\":\"{\\\"a\\\": {\\\"b\\\": \\\"c\\\"}}\"}";

/* Evaluates text for json; returns the value's text ("null", "error: <reason>" or the text
 * with a type prefix for non-strings: "int:42"). */
static const char *run(fx *f, const char *text, const char *json)
{
    static char out[512];
    pipe_expr *x = pipe_expr_compile(text, f->s, NULL, f->err, sizeof f->err);
    if (!x) fail_msg("compile '%s': %s", text, f->err);
    assert_int_equal(pipe_decode(f->s, json, strlen(json), f->a, f->r, NULL), PIPE_DEC_OK);
    pipe_xctx c = {.rec = f->r,
                   .meta = &f->meta,
                   .scratch = f->scratch,
                   .err = f->err,
                   .errlen = sizeof f->err};
    pipe_xval v;
    if (pipe_expr_eval(x, &c, &v)) {
        snprintf(out, sizeof out, "error: %s", f->err);
    } else if (v.type == PIPE_X_NULL) {
        snprintf(out, sizeof out, "null");
    } else {
        char buf[48];
        const char *p;
        size_t n;
        pipe_xval_text(&v, buf, sizeof buf, &p, &n);
        snprintf(out, sizeof out, "%s%s%.*s",
                 v.type == PIPE_X_STRING ? "" : pipe_xtype_name(v.type),
                 v.type == PIPE_X_STRING ? "" : ":", (int)n, p);
    }
    pipe_expr_free(x);
    return out;
}

#define EQ(text, want) assert_string_equal(run(f, text, J), want)

static void expect_error(fx *f, const char *text, bool boolean, const char *want)
{
    pipe_xopts o = {.boolean = boolean};
    pipe_expr *x = pipe_expr_compile(text, f->s, &o, f->err, sizeof f->err);
    if (x) fail_msg("'%s' compiled", text);
    assert_string_equal(f->err, want);
}

static void expect_compile_error(fx *f, const char *text, const char *want)
{
    expect_error(f, text, false, want);
}

static void test_literals_fields(void **state)
{
    fx *f = *state;
    EQ("'it\\'s'", "it's");
    EQ("''", ""); /* regression (fuzz, UBSan): an empty first literal copied from NULL */
    EQ("42", "int:42");
    EQ("-7", "int:-7");
    EQ("2.5e1", "double:25");
    EQ("true", "boolean:true");
    EQ("null", "null");
    EQ("name", "Ana");
    EQ("age", "int:42");
    EQ("big", "int:-9000000000");
    EQ("score", "double:2.5");
    EQ("ok", "boolean:true");
    EQ("`odd name`", "x");
    assert_string_equal(run(f, "name", "{}"), "null");
    assert_string_equal(run(f, "name", "{\"name\":null}"), "null");
    assert_string_equal(run(f, "name", "{\"name\":12}"), "12"); /* a string field's text */
}

static void test_kafka(void **state)
{
    fx *f = *state;
    EQ("kafka.topic", "users");
    EQ("kafka.partition", "int:3");
    EQ("kafka.offset", "int:42");
    EQ("kafka.timestamp", "timestamp:2023-11-14T22:13:20.123Z");
    EQ("kafka.key", "k1");
    EQ("kafka.header('source')", "crm");
    EQ("kafka.header('nul')", "null");
    EQ("kafka.header('none')", "null");
    f->meta.key = NULL;
    f->meta.timestamp_ms = -1;
    EQ("kafka.key", "null");
    EQ("kafka.timestamp", "null");
    EQ("concat(kafka.topic, '/', kafka.partition, '/', kafka.offset)", "users/3/42");
}

static void test_strings(void **state)
{
    fx *f = *state;
    EQ("lower(trim(email))", "ana@example.com");
    EQ("upper(name)", "ANA");
    EQ("trim('\\t x \\n')", "x");
    EQ("concat(name, ' ', last)", "Ana Lima");
    EQ("concat(name, age, ok, score)", "Ana42true2.5");
    EQ("concat(name, null)", "null");
    EQ("substr('hello', 2, 3)", "ell");
    EQ("substr('hello', 0, 2)", "he");
    EQ("substr('hello', -3)", "llo");
    EQ("substr('hello', 4, 100)", "lo");
    EQ("substr('hello', 9)", "");
    EQ("substr('hello', 2, -1)", "");
    /* Regressions (fuzz, UBSan): a start before the beginning with a huge length overflowed. */
    EQ("substr('hello', -3, 9223372036854775807)", "llo");
    EQ("substr('hello', -10, 3)", ""); /* Spark: the end is counted from the unclamped start */
    EQ("substr('hello', -6, 3)", "he");
    EQ("substr('S\xc3\xa3o Paulo', 2, 2)", "\xc3\xa3o"); /* code points, not bytes */
    EQ("coalesce(null, name, 'x')", "Ana");
    assert_string_equal(run(f, "coalesce(name, last, 'none')", "{}"), "none");
    assert_string_equal(run(f, "coalesce(age, 'none')", "{}"), "none");
    EQ("coalesce(age, 'none')", "42");
    EQ("coalesce(age, 1.5)", "double:42");
    EQ("lower(age)", "42");
}

static void test_time(void **state)
{
    fx *f = *state;
    EQ("to_timestamp(dob)", "timestamp:1990-05-17T10:20:30.456Z");
    EQ("to_timestamp('1990-05-17T12:20:30+02:00')", "timestamp:1990-05-17T10:20:30.000Z");
    EQ("to_timestamp('1990-05-17')", "timestamp:1990-05-17T00:00:00.000Z");
    EQ("to_timestamp('1990-05-17 10:20')", "timestamp:1990-05-17T10:20:00.000Z");
    EQ("to_timestamp('-0001-01-01T00:00:00Z')", "timestamp:-0001-01-01T00:00:00.000Z");
    EQ("to_timestamp('1700000000123')", "timestamp:2023-11-14T22:13:20.123Z");
    EQ("to_timestamp(1700000000123)", "timestamp:2023-11-14T22:13:20.123Z");
    EQ("to_timestamp(kafka.timestamp)", "timestamp:2023-11-14T22:13:20.123Z");
    EQ("to_date(dob)", "date:1990-05-17");
    EQ("to_date('1969-12-31T23:59:59.999Z')", "date:1969-12-31");
    EQ("to_date(kafka.timestamp)", "date:2023-11-14");
    EQ("to_timestamp('1990-02-30')",
       "error: to_timestamp: not an ISO-8601 timestamp: '1990-02-30'");
    EQ("to_timestamp(name)", "error: to_timestamp: not an ISO-8601 timestamp: 'Ana'");
    EQ("to_date('nope')", "error: to_date: not an ISO-8601 date: 'nope'");
    EQ("to_timestamp(null)", "null");
    const char *now = run(f, "now()", J);
    assert_true(strncmp(now, "timestamp:20", 12) == 0);
    EQ("now() > to_timestamp('2020-01-01')", "boolean:true");
    /* The formatter reads back to the same instant, also before the epoch. */
    int64_t samples[] = {0, -1, 1, 86399999, -86400001, 253402300799999, -62135596800000};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char buf[48];
        int64_t back;
        size_t n = iso_format_timestamp(samples[i], buf, sizeof buf);
        assert_int_equal(iso_parse_timestamp(buf, n, &back), 0);
        assert_int_equal(back, samples[i]);
    }
}

static void test_uuid(void **state)
{
    fx *f = *state;
    /* RFC 4122 / Python's uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org'). */
    EQ("uuid_v5('dns', 'python.org')", "uuid:886313e1-3b8a-5372-9b90-0c9aee199e5d");
    EQ("uuid_v5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')",
       "uuid:886313e1-3b8a-5372-9b90-0c9aee199e5d");
    EQ("uuid_v5('dns', 'python', '.org')", "uuid:886313e1-3b8a-5372-9b90-0c9aee199e5d");
    /* uuid.uuid5(uuid.NAMESPACE_URL, 'https://example.com/' + 'a' * 100): a multi-block message. */
    char text[300];
    snprintf(text, sizeof text, "uuid_v5('url', 'https://example.com/%0100d')", 0);
    for (char *p = strstr(text, "/0"); *++p == '0';) *p = 'a';
    EQ(text, "uuid:eaca78b0-b79e-5e39-a599-4ec7379ac706");
    EQ("uuid_v5('dns', null)", "null");
    EQ("uuid_v5(name, 'x')", "error: uuid_v5: not a namespace: 'Ana'");
}

/* to_uuid parses either case into lower-case text; a uuid field keeps its text and compares
 * with uuids and strings without case; bad text is an evaluation error. */
static void test_to_uuid(void **state)
{
    fx *f = *state;
    EQ("to_uuid('0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D')",
       "uuid:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    EQ("to_uuid(uid)", "uuid:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    EQ("uid", "uuid:0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D");
    EQ("uid == to_uuid('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')", "boolean:true");
    EQ("uid == '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'", "boolean:true");
    EQ("uid in ('x', '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')", "boolean:true");
    EQ("to_uuid(null)", "null");
    EQ("to_uuid('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4')",
       "error: to_uuid: not a UUID: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4'");
    EQ("to_uuid('0a1b2c3d_4e5f-4a6b-8c7d-9e0f1a2b3c4d')",
       "error: to_uuid: not a UUID: '0a1b2c3d_4e5f-4a6b-8c7d-9e0f1a2b3c4d'");
    EQ("to_uuid(name)", "error: to_uuid: not a UUID: 'Ana'");
    EQ("concat(to_uuid(uid), '!')", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d!");
    EQ("uuid_v5('dns', 'python.org') == to_uuid('886313E1-3B8A-5372-9B90-0C9AEE199E5D')",
       "boolean:true");
}

/* Timestamp and date fields are typed values (read as CQL reads their text); list and map
 * fields are strings holding their elements as JSON strings. */
static void test_typed_fields(void **state)
{
    fx *f = *state;
    EQ("ts", "timestamp:2024-02-29T22:59:59.000Z");
    EQ("ts == to_timestamp('2024-02-29T22:59:59Z')", "boolean:true");
    EQ("ts > '2024-02-29'", "boolean:true");
    EQ("day", "date:2024-02-29");
    EQ("day < to_date('2024-03-01')", "boolean:true");
    EQ("to_date(ts)", "date:2024-02-29");
    EQ("attrs", "{\"k\":\"v\",\"n\":\"1\"}");
    EQ("tags", "[\"a\",\"2\",\"true\"]");
    EQ("attrs.n", "1");
    assert_string_equal(run(f, "ts", "{\"ts\":1700000000123}"),
                        "timestamp:2023-11-14T22:13:20.123Z");
    assert_string_equal(run(f, "ts", "{\"ts\":\"-1\"}"), "timestamp:1969-12-31T23:59:59.999Z");
    expect_compile_error(
        f, "ts.x",
        "expr:1:3: '.' needs a string or map field (a JSON object), not a timestamp field");
    expect_compile_error(f, "to_timestamp(uid)", "expr:1:1: to_timestamp: cannot convert uuid");
    expect_compile_error(f, "to_uuid(age)", "expr:1:1: to_uuid: cannot convert int");
}

/* field.a.b navigates the JSON object a field holds; absent, null or non-object steps are
 * null. */
static void test_paths(void **state)
{
    fx *f = *state;
    EQ("loc.city", "S\xc3\xa3o \"P\"");
    EQ("loc.geo.lat", "-23.5");
    EQ("loc.zip", "1000.0"); /* the decoder's Spark text of the object */
    EQ("loc.geo", "{\"lat\":-23.5,\"up\":null,\"deep\":{\"x\":[1,2]}}");
    EQ("loc.geo.deep.x", "[1,2]");
    EQ("loc.geo.up", "null");
    EQ("loc.nope", "null");
    EQ("loc.city.x", "null");
    EQ("loc.geo.deep.x.y", "null");
    EQ("name.x", "null"); /* a string that is no JSON object */
    EQ("raw.a.b", "c");   /* a string whose text is a JSON object */
    EQ("lower(loc.city) == 's\xc3\xa3o \"p\"'", "boolean:true");
    EQ("loc.`city`", "S\xc3\xa3o \"P\"");
    EQ("is_null(loc.geo.up) and present(loc.geo.lat)", "boolean:true");
    /* Duplicate keys: the last wins, as the decoder does for fields. */
    assert_string_equal(run(f, "raw.a", "{\"raw\":\"{\\\"a\\\":1,\\\"a\\\":2}\"}"), "2");
    /* Text that is not JSON is null, never a crash. */
    static const char *const bad[] = {
        "{",   "{\\\"a\\\"",   "{\\\"a\\\":", "{\\\"a\\\":[}", "{\\\"a\\\":\\\"\\\\u12\\\"}",
        "[1]", "{\\\"a\\\" 1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"raw\":\"%s\"}", bad[i]);
        assert_string_equal(run(f, "raw.a", json), "null");
    }
    expect_compile_error(f, "loc.", "expr:1:5: expected a member name after '.'");
    expect_compile_error(
        f, "age.x", "expr:1:4: '.' needs a string or map field (a JSON object), not a int field");
}

/* `x not in (...)` is SQL's NOT IN: not (x in (...)), unknown with a null and no match. */
static void test_not_in(void **state)
{
    fx *f = *state;
    EQ("name not in ('Bob', 'Eve')", "boolean:true");
    EQ("name not in ('Bob', 'Ana')", "boolean:false");
    EQ("age not in (1, 2, 42)", "boolean:false");
    EQ("name not in ('Bob', null)", "null");
    EQ("name not in ('Ana', null)", "boolean:false");
    EQ("loc.nope not in ('x')", "null");
    EQ("not name not in ('Ana')", "boolean:true");
    EQ("name not in ('Bob') and age not in (1)", "boolean:true");
    expect_compile_error(f, "name not in 'x'", "expr:1:13: expected '('");
    expect_compile_error(f, "age not in ('x', true)", "expr:1:9: cannot compare int with boolean");
    expect_compile_error(f, "name not like 'x'",
                         "expr:1:6: expected 'and', 'or' or the end of the expression");
}

static void test_compare(void **state)
{
    fx *f = *state;
    EQ("age > 40", "boolean:true");
    EQ("age <= 41", "boolean:false");
    EQ("age == 42.0", "boolean:true");
    EQ("age == '42'", "boolean:true"); /* the field's JSON text */
    EQ("score < 3", "boolean:true");
    EQ("big < age", "boolean:true");
    EQ("name < 'Bob'", "boolean:true");
    EQ("name >= 'Ana'", "boolean:true");
    EQ("name > 'Ana'", "boolean:false");
    EQ("'b' > 'abc'", "boolean:true");
    EQ("ok == true", "boolean:true");
    EQ("ok == 'true'", "boolean:true");
    EQ("to_timestamp(dob) > to_timestamp('1990-01-01T00:00:00Z')", "boolean:true");
    EQ("to_timestamp(dob) < '1990-05-17T10:20:31Z'", "boolean:true");
    EQ("to_date(dob) == '1990-05-17'", "boolean:true");
    EQ("to_date(dob) < to_timestamp(dob)", "boolean:true");
    EQ("to_timestamp(dob) == 'x'", "error: cannot read 'x' as a timestamp");
    EQ("lower(name) == 'ana'", "boolean:true");
    EQ("name in ('Bob', 'Ana')", "boolean:true");
    EQ("name in ('Bob', null)", "null");
    EQ("name in ('Bob', 'Eve')", "boolean:false");
    EQ("age in (1, 2, 42)", "boolean:true");
    EQ("null in (1)", "null");
    EQ("matches(email, '^ +[A-Z][a-z]+@')", "boolean:true");
    EQ("matches(email, 'example\\\\.org')", "boolean:false");
    EQ("matches(last, 'i')", "boolean:true");
}

static void test_three_valued(void **state)
{
    fx *f = *state;
    const char *none = "{\"name\":\"n\"}";
    assert_string_equal(run(f, "email == 'x'", none), "null");
    assert_string_equal(run(f, "email < 'x'", none), "null");
    assert_string_equal(run(f, "not email == 'x'", none), "null");
    assert_string_equal(run(f, "email == 'x' or name == 'n'", none), "boolean:true");
    assert_string_equal(run(f, "email == 'x' and name == 'n'", none), "null");
    assert_string_equal(run(f, "email == 'x' and name == 'z'", none), "boolean:false");
    assert_string_equal(run(f, "is_null(email) and present(name)", none), "boolean:true");
    assert_string_equal(run(f, "lower(email)", none), "null");
    assert_string_equal(run(f, "contains(email, '@')", none), "null");
    assert_string_equal(run(f, "not_empty(name)", none), "boolean:true");
    assert_string_equal(run(f, "null and false", none), "boolean:false");
    assert_string_equal(run(f, "null or true", none), "boolean:true");
}

/* The filter's classic tests on a field take a direct path; wrapping the field in coalesce()
 * takes the general one: both agree on every field type, null and absent included. */
static void test_fast_path_agrees(void **state)
{
    fx *f = *state;
    static const char *const tests[] = {
        "%s == 'Ana'",   "%s != 'Ana'",       "%s == '42'",           "%s == 'true'",
        "%s == ''",      "contains(%s, 'n')", "starts_with(%s, '4')", "ends_with(%s, 'e')",
        "not_empty(%s)", "contains(%s, '')",  "%s == '2.5'"};
    static const char *const fields[] = {"name", "age", "ok", "score", "email", "last"};
    static const char *const recs[] = {J, "{}", "{\"name\":null,\"last\":\"\"}",
                                       "{\"name\":\"An\",\"ok\":false,\"age\":-4}"};
    for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++)
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            for (size_t r = 0; r < sizeof recs / sizeof recs[0]; r++) {
                char fast[128], wrapped[128], field[32], want[64];
                snprintf(field, sizeof field, "coalesce(%s)", fields[i]);
                snprintf(fast, sizeof fast, tests[t], fields[i]);
                snprintf(wrapped, sizeof wrapped, tests[t], field);
                snprintf(want, sizeof want, "%s", run(f, wrapped, recs[r]));
                assert_string_equal(run(f, fast, recs[r]), want);
            }
}

/* Evaluation allocates only from the scratch arena, and in steady state not even there. */
static void test_no_allocation(void **state)
{
    fx *f = *state;
    pipe_expr *x = pipe_expr_compile("concat(lower(trim(email)), '/', uuid_v5('dns', name))", f->s,
                                     NULL, f->err, sizeof f->err);
    assert_non_null(x);
    assert_int_equal(pipe_decode(f->s, J, strlen(J), f->a, f->r, NULL), PIPE_DEC_OK);
    pipe_xctx c = {.rec = f->r, .scratch = f->scratch, .err = f->err, .errlen = sizeof f->err};
    pipe_xval v;
    size_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        pipe_arena_reset(f->scratch);
        assert_int_equal(pipe_expr_eval(x, &c, &v), 0);
        if (i == 1) cap = pipe_arena_capacity(f->scratch);
    }
    assert_int_equal(pipe_arena_capacity(f->scratch), cap);
    assert_int_equal(v.n, strlen("ana@example.com/") + 36);
    /* Without scratch, computing text is an error, not a crash. */
    c.scratch = NULL;
    assert_int_equal(pipe_expr_eval(x, &c, &v), -1);
    assert_string_equal(f->err, "no scratch space for computed text");
    pipe_expr_free(x);
}

static void test_errors(void **state)
{
    fx *f = *state;
    expect_error(f, "lower(email", false, "expr:1:12: expected ')'");
    expect_error(f, "lower(email, name)", false, "expr:1:12: expected ')'");
    expect_error(f, "substr(email)", false, "expr:1:13: expected ','");
    expect_error(f, "concat()", false, "expr:1:8: expected an expression");
    expect_error(f, "lowr(email)", false, "expr:1:1: unknown function 'lowr'");
    expect_error(f, "lower(emial)", false, "expr:1:7: unknown field 'emial'");
    expect_error(f, "\n  age < true", false, "expr:2:7: cannot compare int with boolean");
    expect_error(f, "to_timestamp(dob) == ok", false,
                 "expr:1:19: cannot compare timestamp with boolean");
    expect_error(f, "name and true", false, "expr:1:6: 'and' needs a boolean, got string");
    expect_error(f, "not age", false, "expr:1:8: expected '==' or '!='");
    expect_error(f, "email", true, "expr:1:6: expected '==' or '!='");
    expect_error(f, "substr(name, 'x')", false,
                 "expr:1:1: substr: argument 2 must be an int, got string");
    expect_error(f, "to_timestamp(ok)", false, "expr:1:1: to_timestamp: cannot convert boolean");
    expect_error(f, "matches(name, name)", false, "expr:1:15: expected a string literal");
    /* The rest is the C library's regerror text. */
    assert_null(pipe_expr_compile("matches(name, '(')", f->s, NULL, f->err, sizeof f->err));
    assert_true(strncmp(f->err, "expr:1:1: matches: invalid regex: ", 34) == 0);
    expect_error(f, "uuid_v5('nope', name)", false,
                 "expr:1:1: uuid_v5: namespace must be a UUID or dns, url, oid, x500");
    expect_error(f, "kafka.topc", false,
                 "expr:1:7: expected topic, partition, offset, timestamp, key or header('name')");
    expect_error(f, "kafka.header(name)", false, "expr:1:14: expected a string literal");
    expect_error(f, "name in 'x'", false, "expr:1:9: expected '('");
    expect_error(f, "name in ('x' 'y')", false, "expr:1:14: expected ')'");
    expect_error(f, "99999999999999999999", false, "expr:1:1: number out of range");
    expect_error(f, "1e999", false, "expr:1:1: number out of range");
    expect_error(f, "12abc", false, "expr:1:1: invalid number");
    expect_error(f, "name = 'x'", false, "expr:1:6: unexpected character '='");
    expect_error(f, "name 'x'", false,
                 "expr:1:6: expected 'and', 'or' or the end of the expression");
    expect_error(f, "", false, "expr:1:1: expected an expression");
    pipe_xopts o = {.what = "mapping column 'email'"};
    assert_null(pipe_expr_compile("lower(", f->s, &o, f->err, sizeof f->err));
    assert_string_equal(f->err, "mapping column 'email':1:7: expected an expression");
}

static void test_print_roundtrip(void **state)
{
    fx *f = *state;
    static const char *const exprs[] = {
        "lower(trim(email))",
        "concat(name, ' ', last)",
        "not age > 3 and (name in ('a', 'b\\'c') or ok == false)",
        "to_timestamp(dob) >= to_timestamp('1990-01-01T00:00:00Z')",
        "(age == 1) == (name == 'x')",
        "coalesce(null, 1.5, -2, 1e300, 0.1)",
        "kafka.header('x') != kafka.topic or kafka.offset < -1",
        "matches(`odd name`, '^[a-z]+$') and uuid_v5('dns', name) != ''",
        "substr(name, 1, 2)",
        "name not in ('a', 'b') or loc.geo.`odd key`.x == 'y'",
        "to_uuid(uid) == uuid_v5('dns', loc.city)",
    };
    char a[512], b[512];
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        pipe_expr *x1 = pipe_expr_compile(exprs[i], f->s, NULL, f->err, sizeof f->err);
        if (!x1) fail_msg("compile '%s': %s", exprs[i], f->err);
        size_t n = pipe_expr_print(x1, f->s, a, sizeof a);
        assert_int_equal(n, strlen(a));
        pipe_expr *x2 = pipe_expr_compile(a, f->s, NULL, f->err, sizeof f->err);
        if (!x2) fail_msg("reparse '%s': %s", a, f->err);
        pipe_expr_print(x2, f->s, b, sizeof b);
        assert_string_equal(a, b);
        char r1[512];
        snprintf(r1, sizeof r1, "%s", run(f, exprs[i], J));
        assert_string_equal(r1, run(f, a, J));
        pipe_expr_free(x1);
        pipe_expr_free(x2);
    }
    pipe_expr *x = pipe_expr_compile("concat(name,'x')", f->s, NULL, f->err, sizeof f->err);
    pipe_expr_print(x, f->s, a, sizeof a);
    assert_string_equal(a, "concat(name, 'x')");
    assert_int_equal(pipe_expr_type(x), PIPE_X_STRING);
    assert_int_equal(pipe_expr_field(x), -1);
    pipe_expr_free(x);
    x = pipe_expr_compile("`last`", f->s, NULL, f->err, sizeof f->err);
    assert_int_equal(pipe_expr_field(x), 2);
    pipe_expr_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literals_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafka, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_to_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_valued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_path_agrees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_allocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_roundtrip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
