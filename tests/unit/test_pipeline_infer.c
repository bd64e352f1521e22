/* Unit tests for pipeline/infer: statistics per field, the inferred types, the primary key
 * choice, messages left out, odd keys, and the YAML (exact text, loads, its CREATE TABLE). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/config.h"
#include "pipeline/infer.h"

static pipe_infer *infer_of(const char *const *msgs, size_t n)
{
    pipe_infer *p = pipe_infer_new();
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) pipe_infer_add(p, msgs[i], strlen(msgs[i]));
    return p;
}

static const pipe_infer_field *field(const pipe_infer *p, const char *name)
{
    for (size_t i = 0; i < pipe_infer_nfields(p); i++)
        if (strcmp(pipe_infer_field_at(p, i)->name, name) == 0) return pipe_infer_field_at(p, i);
    fail_msg("no field %s", name);
    return NULL;
}

static char *yaml_of(const pipe_infer *p, const pipe_infer_yaml_opts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(pipe_infer_write_yaml(p, o, f), 0);
    fclose(f);
    return buf;
}

static void test_types(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        "{\"s\": \"a\", \"i\": 1, \"b\": 2147483647, \"d\": 1, \"t\": true, \"m\": 1, \"h\": 1,"
        " \"o\": {\"x\": 1}, \"a\": [1], \"z\": null, \"mb\": true}",
        "{\"s\": \"b\", \"i\": -2147483648, \"b\": 2147483648, \"d\": 2.5, \"t\": false,"
        " \"m\": \"x\", \"h\": 9223372036854775808, \"o\": null, \"a\": [], \"z\": null,"
        " \"mb\": 1}",
    };
    pipe_infer *p = infer_of(msgs, 2);
    assert_int_equal(pipe_infer_records(p), 2);
    assert_int_equal(pipe_infer_nfields(p), 11);
    assert_int_equal(pipe_infer_type(field(p, "s")), PIPE_T_STRING);
    assert_int_equal(pipe_infer_type(field(p, "i")), PIPE_T_INT);
    assert_int_equal(pipe_infer_type(field(p, "b")), PIPE_T_BIGINT);
    assert_int_equal(pipe_infer_type(field(p, "d")), PIPE_T_DOUBLE);
    assert_int_equal(pipe_infer_type(field(p, "t")), PIPE_T_BOOLEAN);
    assert_int_equal(pipe_infer_type(field(p, "m")), PIPE_T_STRING);  /* number and string */
    assert_int_equal(pipe_infer_type(field(p, "h")), PIPE_T_STRING);  /* beyond 64 bits */
    assert_int_equal(pipe_infer_type(field(p, "o")), PIPE_T_STRING);  /* object */
    assert_int_equal(pipe_infer_type(field(p, "a")), PIPE_T_STRING);  /* array */
    assert_int_equal(pipe_infer_type(field(p, "z")), PIPE_T_STRING);  /* always null */
    assert_int_equal(pipe_infer_type(field(p, "mb")), PIPE_T_STRING); /* boolean and number */
    const pipe_infer_field *o = field(p, "o");
    assert_int_equal(o->present, 2);
    assert_int_equal(o->nulls, 1);
    assert_int_equal(o->n_object, 1);
    assert_int_equal(o->longest, strlen("{\"x\":1}")); /* as the stream stores it */
    const pipe_infer_field *d = field(p, "d");
    assert_int_equal(d->n_int, 1);
    assert_int_equal(d->n_float, 1);
    assert_true(field(p, "b")->over_int32);
    assert_false(field(p, "b")->over_int64);
    assert_false(field(p, "i")->over_int32);
    assert_true(field(p, "h")->over_int64);
    pipe_infer_free(p);
}

static void test_absent_and_null(void **state)
{
    (void)state;
    static const char *const msgs[] = {"{\"a\": 1}", "{\"a\": null, \"b\": \"x\"}",
                                       "{\"b\": \"y\"}", "{\"a\": 2, \"b\": null}"};
    pipe_infer *p = infer_of(msgs, 4);
    const pipe_infer_field *a = field(p, "a"), *b = field(p, "b");
    assert_int_equal(a->present, 3);
    assert_int_equal(a->nulls, 1);
    assert_int_equal(a->n_int, 2);
    assert_int_equal(b->present, 3); /* first seen in the second record */
    assert_int_equal(b->nulls, 1);
    assert_int_equal(b->n_string, 2);
    assert_false(a->key_candidate);
    assert_false(b->key_candidate);
    assert_int_equal(pipe_infer_key(p), -1);
    pipe_infer_free(p);
}

static void test_key_choice(void **state)
{
    (void)state;
    /* id preferred over an earlier unique field; dup not unique; late first seen later. */
    static const char *const m1[] = {"{\"seq\": 1, \"dup\": 1, \"ID\": \"a\"}",
                                     "{\"seq\": 2, \"dup\": 1, \"ID\": \"b\", \"late\": 1}"};
    pipe_infer *p = infer_of(m1, 2);
    assert_string_equal(pipe_infer_field_at(p, (size_t)pipe_infer_key(p))->name, "ID");
    assert_true(field(p, "seq")->key_candidate);
    assert_false(field(p, "dup")->key_candidate);
    assert_false(field(p, "late")->key_candidate);
    pipe_infer_free(p);
    /* Without id: a name ending in id, else the first candidate. */
    static const char *const m2[] = {"{\"seq\": 1, \"user_id\": \"a\"}",
                                     "{\"seq\": 2, \"user_id\": \"b\"}"};
    p = infer_of(m2, 2);
    assert_string_equal(pipe_infer_field_at(p, (size_t)pipe_infer_key(p))->name, "user_id");
    pipe_infer_free(p);
    static const char *const m3[] = {"{\"seq\": 1, \"k\": \"a\"}", "{\"seq\": 2, \"k\": \"b\"}"};
    p = infer_of(m3, 2);
    assert_string_equal(pipe_infer_field_at(p, (size_t)pipe_infer_key(p))->name, "seq");
    pipe_infer_free(p);
    /* Objects and arrays are no keys; a value repeated as another JSON type is a repeat. */
    static const char *const m4[] = {"{\"o\": {}, \"n\": 1}", "{\"o\": [], \"n\": \"1\"}"};
    p = infer_of(m4, 2);
    assert_false(field(p, "o")->key_candidate);
    assert_false(field(p, "n")->key_candidate);
    assert_int_equal(pipe_infer_key(p), -1);
    pipe_infer_free(p);
}

static void test_left_out(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        "not json",
        "[1, 2]",
        "",
        "{\"new\": 1",
        "{\"a\": \"\\x\"}",
        "{\"id\": \"1\"}",
        "{\"id\": \"2\"} trailing",
    };
    pipe_infer *p = infer_of(msgs, sizeof msgs / sizeof msgs[0]);
    assert_int_equal(pipe_infer_messages(p), 7);
    assert_int_equal(pipe_infer_records(p), 1);
    assert_int_equal(pipe_infer_rejected(p, PIPE_DEC_MALFORMED), 2);
    assert_int_equal(pipe_infer_rejected(p, PIPE_DEC_NOT_OBJECT), 1);
    assert_int_equal(pipe_infer_rejected(p, PIPE_DEC_EMPTY), 1);
    assert_int_equal(pipe_infer_rejected(p, PIPE_DEC_BAD_ESCAPE), 1);
    assert_int_equal(pipe_infer_rejected(p, PIPE_DEC_TRAILING), 1);
    /* Keys of messages the decoder refused are not fields. */
    assert_int_equal(pipe_infer_nfields(p), 1);
    assert_string_equal(pipe_infer_field_at(p, 0)->name, "id");
    assert_int_equal(pipe_infer_add(p, NULL, 0), PIPE_DEC_EMPTY);
    pipe_infer_free(p);
}

static void test_odd_keys(void **state)
{
    (void)state;
    char longkey[600], ks[301];
    memset(ks, 'k', 300);
    ks[300] = '\0';
    snprintf(longkey, sizeof longkey, "{\"%s\": 1, \"ok\": 2}", ks);
    const char *msgs[] = {
        "{\"\\u0041b\\n\": 1, \"x\": {\"inner\": 1, \"ok\": [\"a,\\\"b\"]}, \"y\": 2, \"y\": "
        "\"s\"}",
        "{\"nul\\u0000\": 1, \"\\ud83d\\ude00\": true}",
        longkey,
    };
    pipe_infer *p = infer_of(msgs, 3);
    assert_int_equal(pipe_infer_records(p), 3);
    assert_string_equal(pipe_infer_field_at(p, 0)->name, "Ab\n");
    assert_string_equal(pipe_infer_field_at(p, 1)->name, "x");
    assert_string_equal(pipe_infer_field_at(p, 2)->name, "y");
    assert_string_equal(pipe_infer_field_at(p, 3)->name, "\xF0\x9F\x98\x80");
    assert_string_equal(pipe_infer_field_at(p, 4)->name, "ok");
    assert_int_equal(pipe_infer_nfields(p), 5); /* no "inner": nested keys are not fields */
    /* A repeated key: the last occurrence is the value, as in the stream. */
    assert_int_equal(field(p, "y")->n_string, 1);
    assert_int_equal(field(p, "y")->n_int, 0);
    assert_int_equal(pipe_infer_skipped_keys(p), 2); /* the NUL and the 300-byte key */
    /* The YAML loads whatever the names. */
    pipe_infer_yaml_opts o = {.topic = "odd"};
    char *y = yaml_of(p, &o), err[256];
    pipe_config *c = pipe_config_load_buffer(y, strlen(y), "gen.yaml", err, sizeof err);
    if (!c) fail_msg("%s\n%s", err, y);
    assert_int_equal(c->nfields, 5);
    assert_string_equal(c->fields[0].name, "Ab\n");
    assert_string_equal(c->columns[1].name, "ab_");
    assert_string_equal(c->columns[4].name, "f_____");
    /* the emoji key */                                       /* column names made CQL names */
    assert_string_equal(c->primary_key[0], "kafka_position"); /* no field is a key */
    pipe_config_free(c);
    free(y);
    pipe_infer_free(p);
}

static void test_timestamp_like(void **state)
{
    (void)state;
    char buf[64];
    pipe_infer *p = pipe_infer_new();
    for (int i = 0; i < 20; i++) {
        /* ts: 19 of 20 are timestamps (95%); ts2: 18 of 20 (90%). */
        snprintf(buf, sizeof buf, "{\"ts\": \"%s\", \"ts2\": \"%s\"}",
                 i == 0 ? "soon" : "2020-01-02T03:04:05Z", i < 2 ? "x" : "2020-01-02");
        assert_int_equal(pipe_infer_add(p, buf, strlen(buf)), PIPE_DEC_OK);
    }
    assert_true(pipe_infer_timestamp_like(field(p, "ts")));
    assert_false(pipe_infer_timestamp_like(field(p, "ts2")));
    assert_int_equal(field(p, "ts")->n_timestamp, 19);
    pipe_infer_free(p);
}

/* A field whose every string is a UUID gets a commented to_uuid alternative; one bad value is
 * enough to leave it out (to_uuid would dead-letter that record). */
static void test_uuid_like(void **state)
{
    (void)state;
    char buf[160];
    pipe_infer *p = pipe_infer_new();
    for (int i = 0; i < 20; i++) {
        snprintf(buf, sizeof buf,
                 "{\"id\": \"%08X-9dad-11d1-80b4-00c04fd430c8\", \"ref\": \"%s\", \"n\": %d}", i,
                 i == 7 ? "none" : "6ba7b810-9dad-11d1-80b4-00c04fd430c8", i);
        assert_int_equal(pipe_infer_add(p, buf, strlen(buf)), PIPE_DEC_OK);
    }
    assert_true(pipe_infer_uuid_like(field(p, "id")));
    assert_false(pipe_infer_uuid_like(field(p, "ref")));
    assert_false(pipe_infer_uuid_like(field(p, "n")));
    assert_int_equal(field(p, "ref")->n_uuid, 19);
    pipe_infer_yaml_opts o = {.topic = "t"};
    char *y = yaml_of(p, &o);
    assert_non_null(strstr(y, "types: string 20; UUIDs 100%; longest 36 bytes; unique: the "
                              "primary key\n"));
    assert_non_null(strstr(y, "    \"id\": \"id\"\n"
                              "    # or, as a CQL uuid (into a uuid column), instead of the line "
                              "above:\n"
                              "    # \"id\": \"to_uuid(id)\"\n"
                              "    \"ref\": \"ref\"\n"
                              "    \"n\": \"n\"\n"));
    /* The alternative, uncommented, creates a uuid column. */
    char *alt = strstr(y, "    # \"id\": \"to_uuid(id)\"");
    memmove(alt + 4, alt + 6, strlen(alt + 6) + 1);
    char *orig = strstr(y, "    \"id\": \"id\"\n");
    memmove(orig, orig + 15, strlen(orig + 15) + 1);
    char err[256];
    pipe_config *c = pipe_config_load_buffer(y, strlen(y), "gen.yaml", err, sizeof err);
    if (!c) fail_msg("%s\n%s", err, y);
    char *ct = pipe_cql_create_table(c);
    assert_non_null(strstr(ct, "(id uuid, "));
    free(ct);
    pipe_config_free(c);
    free(y);
    pipe_infer_free(p);
}

/* The whole YAML of a small sample, exactly; it loads, and its CREATE TABLE is the one wanted. */
static void test_yaml_text(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        "{\"id\": \"u1\", \"post_code\": 12345, \"dob\": \"1990-01-02T03:04:05.678Z\", "
        "\"n\": 1, \"First Name\": \"A\"}",
        "{\"id\": \"u2\", \"post_code\": \"AB1\", \"dob\": \"1991-01-02T03:04:05.678Z\", "
        "\"n\": 2, \"First Name\": null}",
        "oops",
    };
    pipe_infer *p = infer_of(msgs, 3);
    pipe_infer_yaml_opts o = {.topic = "users", .origin = "3 messages"};
    char *y = yaml_of(p, &o);
    const char *want =
        "# rtetl init: a pipeline inferred from 2 JSON records of topic \"users\".\n"
        "# Sample: 3 messages.\n"
        "# Review it, then run it with: rtetl stream --config FILE\n"
        "#\n"
        "# A field's type is one every sampled value fits; a later value of another type is\n"
        "# dead-lettered (wrong_type), so a field whose type varied is a string, which takes any\n"
        "# JSON value as its text (as Spark's StringType). Only the primary key is required: a\n"
        "# record without another field is written with null there. Statistics per field: of\n"
        "# the sampled records, how many had the key (present) and a null value (null), the JSON\n"
        "# types of its other values, and its longest value.\n"
        "# 1 of 3 messages were left out, not being JSON objects: malformed_json 1 (the stream "
        "dead-letters such messages).\n"
        "source:\n"
        "  topic: \"users\"\n"
        "  group: \"rtetl-users\"\n"
        "  mode: initial   # a new group starts at the earliest offset\n"
        "schema:\n"
        "  strict: false\n"
        "  fields:\n"
        "    # present 100%, null 0%, types: string 2; longest 2 bytes; unique: the primary key\n"
        "    - {name: \"id\", type: string, required: true}\n"
        "    # present 100%, null 0%, types: string 1, int 1; longest 5 bytes; unique\n"
        "    - {name: \"post_code\", type: string, required: false}\n"
        "    # present 100%, null 0%, types: string 2; ISO-8601 timestamps 100%; longest 24 bytes; "
        "unique\n"
        "    - {name: \"dob\", type: string, required: false}\n"
        "    # present 100%, null 0%, types: int 2; longest 1 byte; unique\n"
        "    - {name: \"n\", type: int, required: false}\n"
        "    # present 100%, null 50%, types: string 1; longest 1 byte\n"
        "    - {name: \"First Name\", type: string, required: false}\n"
        "# Records for which this expression is true are written (src/pipeline/expr.h), e.g.\n"
        "# \"not_empty(email)\"; \"\" keeps every record.\n"
        "filter: \"\"\n"
        "target:\n"
        "  keyspace: \"rtetl\"\n"
        "  table: \"users\"\n"
        "  create_if_missing: true\n"
        "  primary_key: [\"id\"]\n"
        "  mapping:\n"
        "    \"id\": \"id\"\n"
        "    \"post_code\": \"post_code\"\n"
        "    \"dob\": \"dob\"\n"
        "    # or, as a CQL timestamp (into a timestamp column), instead of the line above:\n"
        "    # \"dob\": \"to_timestamp(dob)\"\n"
        "    \"n\": \"n\"\n"
        "    \"first_name\": \"First Name\"\n";
    assert_string_equal(y, want);
    char err[256];
    pipe_config *c = pipe_config_load_buffer(y, strlen(y), "gen.yaml", err, sizeof err);
    if (!c) fail_msg("%s", err);
    char *ct = pipe_cql_create_table(c);
    assert_string_equal(ct, "CREATE TABLE IF NOT EXISTS rtetl.users (id text, post_code text, "
                            "dob text, n int, first_name text, PRIMARY KEY (id))");
    assert_string_equal(c->group, "rtetl-users");
    assert_true(c->fields[0].required);
    assert_false(c->fields[1].required);
    assert_string_equal(c->filter, "");
    free(ct);
    pipe_config_free(c);
    free(y);
    pipe_infer_free(p);
}

static void test_yaml_options_and_names(void **state)
{
    (void)state;
    static const char *const msgs[] = {"{\"a\": 1}", "{\"a\": 1}"};
    pipe_infer *p = infer_of(msgs, 2);
    pipe_infer_yaml_opts o = {.topic = "9 events.${X}", .keyspace = "ks", .table = "tb"};
    char *y = yaml_of(p, &o), err[256];
    pipe_config *c = pipe_config_load_buffer(y, strlen(y), "gen.yaml", err, sizeof err);
    if (!c) fail_msg("%s\n%s", err, y);
    assert_string_equal(c->topic, "9 events.${X}"); /* not interpolated */
    assert_string_equal(c->keyspace, "ks");
    assert_string_equal(c->table, "tb");
    assert_string_equal(c->columns[0].name, "kafka_position");
    assert_string_equal(c->columns[0].field, "concat(kafka.partition, '-', kafka.offset)");
    pipe_config_free(c);
    free(y);
    o = (pipe_infer_yaml_opts){.topic = "9 events.x"};
    y = yaml_of(p, &o);
    c = pipe_config_load_buffer(y, strlen(y), "gen.yaml", err, sizeof err);
    if (!c) fail_msg("%s\n%s", err, y);
    assert_string_equal(c->table, "t_9_events_x");
    pipe_config_free(c);
    free(y);
    pipe_infer_free(p);
    /* Nothing to write without a field. */
    p = pipe_infer_new();
    FILE *f = fopen("/dev/null", "w");
    assert_int_equal(pipe_infer_write_yaml(p, &o, f), -1);
    fclose(f);
    pipe_infer_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_absent_and_null),
        cmocka_unit_test(test_key_choice),
        cmocka_unit_test(test_left_out),
        cmocka_unit_test(test_odd_keys),
        cmocka_unit_test(test_timestamp_like),
        cmocka_unit_test(test_uuid_like),
        cmocka_unit_test(test_yaml_text),
        cmocka_unit_test(test_yaml_options_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
