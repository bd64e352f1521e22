/* Unit tests for pipeline/config: defaults equal the reference pipeline, YAML parsing,
 * interpolation, every error with its line, the dump round trip, CQL text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/config.h"
#include "pipeline/decode.h"

static pipe_config *load(const char *yaml, char *err)
{
    return pipe_config_load_buffer(yaml, strlen(yaml), "p.yaml", err, 256);
}

/* The dump of c as a malloc'd string. */
static char *dump(const pipe_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pipe_config_dump(c, f);
    fclose(f);
    return buf;
}

static void expect_error(const char *yaml, const char *want)
{
    char err[256];
    pipe_config *c = load(yaml, err);
    if (c) {
        pipe_config_free(c);
        fail_msg("loaded: %s", yaml);
    }
    assert_string_equal(err, want);
}

static void test_defaults_are_reference(void **state)
{
    (void)state;
    static const char *const names[] = {"id",      "first_name",      "last_name", "gender",
                                        "address", "post_code",       "email",     "username",
                                        "dob",     "registered_date", "phone",     "picture"};
    pipe_config *c = pipe_config_default();
    assert_non_null(c);
    assert_string_equal(c->topic, "data_kafka_topic");
    assert_string_equal(c->dlq_topic, "data_kafka_topic.dlq");
    assert_string_equal(c->group, "rtetl-stream");
    assert_int_equal(c->mode, PIPE_MODE_INITIAL);
    assert_int_equal(c->nfields, 12);
    for (size_t i = 0; i < 12; i++) {
        assert_string_equal(c->fields[i].name, names[i]);
        assert_int_equal(c->fields[i].type, PIPE_T_STRING);
        assert_int_equal(c->fields[i].required, i == 0);
        assert_string_equal(c->columns[i].name, names[i]);
        assert_string_equal(c->columns[i].field, names[i]);
        assert_int_equal(c->columns[i].field_index, i);
    }
    assert_string_equal(c->filter, "contains(email, '@')");
    assert_string_equal(c->keyspace, "dados_usuarios");
    assert_string_equal(c->table, "tb_usuarios");
    assert_string_equal(c->consistency, "one");
    assert_int_equal(c->ttl, 0);
    assert_true(c->create_if_missing);
    assert_int_equal(c->nprimary_key, 1);
    assert_string_equal(c->primary_key[0], "id");
    assert_int_equal(c->retry.max_attempts, 0);

    char *ks = pipe_cql_create_keyspace(c), *tb = pipe_cql_create_table(c),
         *ins = pipe_cql_insert(c);
    assert_string_equal(ks, "CREATE KEYSPACE IF NOT EXISTS dados_usuarios WITH replication = "
                            "{'class': 'SimpleStrategy', 'replication_factor': 1}");
    assert_string_equal(tb, "CREATE TABLE IF NOT EXISTS dados_usuarios.tb_usuarios (id text, "
                            "first_name text, last_name text, gender text, address text, "
                            "post_code text, email text, username text, dob text, "
                            "registered_date text, phone text, picture text, PRIMARY KEY (id))");
    assert_string_equal(ins, "INSERT INTO dados_usuarios.tb_usuarios (id, first_name, last_name, "
                             "gender, address, post_code, email, username, dob, "
                             "registered_date, phone, picture) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                             "?, ?, ?, ?)");
    free(ks), free(tb), free(ins);
    pipe_config_free(c);
}

static void test_empty_yaml_is_default(void **state)
{
    (void)state;
    char err[256];
    pipe_config *d = pipe_config_default(), *c = load("# nothing here\n", err);
    assert_non_null(c);
    pipe_config_set_str(&c->source_path, "<default>");
    char *a = dump(d), *b = dump(c);
    assert_string_equal(a, b);
    free(a), free(b);
    pipe_config_free(c);
    pipe_config_free(d);
}

static void test_example_file_is_default(void **state)
{
    (void)state;
    const char *src = getenv("RTETL_SRC");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/examples/usuarios.yaml", src ? src : ".");
    pipe_config *c = pipe_config_load(path, err, sizeof err);
    if (!c) fail_msg("%s", err);
    pipe_config *d = pipe_config_default();
    pipe_config_set_str(&c->source_path, "<default>");
    char *a = dump(d), *b = dump(c);
    assert_string_equal(a, b);
    free(a), free(b);
    pipe_config_free(c);
    pipe_config_free(d);
}

static const char custom[] =
    "source:\n"
    "  topic: events\n"
    "  group: g1\n"
    "  mode: append\n"
    "  max_message_bytes: 64k\n"
    "schema:\n"
    "  - {name: UserId, type: bigint, required: true}\n"
    "  - name: score\n"
    "    type: double\n"
    "    max_bytes: 32\n"
    "  - active\n"
    "  - {name: day, type: string, required: yes}\n"
    "filter: present(score) and day != ''\n"
    "target:\n"
    "  keyspace: Analytics\n"
    "  table: t1\n"
    "  replication: {class: NetworkTopologyStrategy, dc1: 3}\n"
    "  ttl: 2h\n"
    "  create_if_missing: false\n"
    "  consistency: LOCAL_QUORUM\n"
    "  primary_key: [day, user]\n"
    "  mapping:\n"
    "    user: UserId\n"
    "    day: day\n"
    "    \"select\": score\n"
    "    Active: active\n"
    "retry: {base: 50ms, max: 2s, max_attempts: 5, jitter: decorrelated}\n";

static void test_custom(void **state)
{
    (void)state;
    char err[256];
    pipe_config *c = load(custom, err);
    if (!c) fail_msg("%s", err);
    assert_string_equal(c->topic, "events");
    assert_string_equal(c->dlq_topic, "events.dlq");
    assert_int_equal(c->mode, PIPE_MODE_APPEND);
    assert_int_equal(c->max_message_bytes, 65536);
    assert_int_equal(c->nfields, 4);
    assert_int_equal(c->fields[0].type, PIPE_T_BIGINT);
    assert_true(c->fields[0].required);
    assert_int_equal(c->fields[1].max_bytes, 32);
    assert_int_equal(c->fields[2].type, PIPE_T_STRING);
    assert_false(c->fields[2].required);
    assert_string_equal(c->filter, "present(score) and day != ''");
    assert_string_equal(c->replication, "{'class': 'NetworkTopologyStrategy', 'dc1': '3'}");
    assert_int_equal(c->ttl, 7200);
    assert_false(c->create_if_missing);
    assert_string_equal(c->consistency, "local_quorum");
    assert_int_equal(pipe_consistency_parse(c->consistency), 6);
    assert_int_equal(c->retry.base_ms, 50);
    assert_int_equal(c->retry.max_ms, 2000);
    assert_int_equal(c->retry.max_attempts, 5);
    assert_int_equal(c->retry.jitter, PIPE_JITTER_DECORRELATED);
    assert_int_equal(c->columns[0].field_index, 0);
    assert_int_equal(c->columns[2].field_index, 1);

    char *tb = pipe_cql_create_table(c), *ins = pipe_cql_insert(c);
    assert_string_equal(tb, "CREATE TABLE IF NOT EXISTS \"Analytics\".t1 (user bigint, day text, "
                            "\"select\" double, \"Active\" text, PRIMARY KEY (day, user)) WITH "
                            "default_time_to_live = 7200");
    assert_string_equal(ins, "INSERT INTO \"Analytics\".t1 (user, day, \"select\", \"Active\") "
                             "VALUES (?, ?, ?, ?) USING TTL 7200");
    free(ins);
    ins = pipe_cql_insert_ts(c);
    assert_string_equal(ins, "INSERT INTO \"Analytics\".t1 (user, day, \"select\", \"Active\") "
                             "VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL 7200");
    free(tb), free(ins);

    pipe_schema *s;
    pipe_filter *f;
    assert_int_equal(pipe_config_compile(c, &s, &f, err, sizeof err), 0);
    assert_int_equal(pipe_schema_nfields(s), 4);
    assert_int_equal(pipe_schema_max_message(s), 65536);
    pipe_filter_free(f);
    pipe_schema_free(s);
    pipe_config_free(c);
}

static void test_dump_roundtrip(void **state)
{
    (void)state;
    char err[256];
    pipe_config *c = load(custom, err);
    pipe_config_set_str(&c->filter, "contains(day, '${x} $${y} \"q\" \\\\ \t')");
    char *a = dump(c);
    pipe_config *c2 = pipe_config_load_buffer(a, strlen(a), "p.yaml", err, sizeof err);
    if (!c2) fail_msg("%s\n%s", err, a);
    assert_string_equal(c2->filter, c->filter);
    char *b = dump(c2);
    assert_string_equal(a, b);
    free(a), free(b);
    pipe_config_free(c);
    pipe_config_free(c2);
}

/* Regression (fuzz): mapping keys are not interpolated, so their dump must not escape ${. */
static void test_dump_key_not_escaped(void **state)
{
    (void)state;
    char err[256];
    pipe_config *c = load("target:\n  mapping:\n    id: id\n    \"a${X}b$${Y}\": email\n", err);
    if (!c) fail_msg("%s", err);
    assert_string_equal(c->columns[1].name, "a${X}b$${Y}");
    char *a = dump(c);
    pipe_config *c2 = pipe_config_load_buffer(a, strlen(a), "p.yaml", err, sizeof err);
    if (!c2) fail_msg("%s", err);
    assert_string_equal(c2->columns[1].name, "a${X}b$${Y}");
    free(a);
    pipe_config_free(c);
    pipe_config_free(c2);
}

/* schema: {strict, fields}: strict is the default of every field's own strict key. */
static void test_schema_strict(void **state)
{
    (void)state;
    char err[256];
    static const char *const yaml[] = {
        "schema:\n  strict: true\n  fields:\n    - {name: id, required: true}\n"
        "    - {name: a, strict: false}\n    - b\n",
        /* strict applies wherever it stands in the mapping */
        "schema:\n  fields:\n    - {name: id, required: true}\n    - {name: a, strict: no}\n"
        "    - b\n  strict: yes\n",
    };
    for (int i = 0; i < 2; i++) {
        pipe_config *c = load(yaml[i], err);
        if (!c) fail_msg("%s", err);
        assert_true(c->schema_strict);
        assert_true(c->fields[0].strict);
        assert_false(c->fields[1].strict);
        assert_true(c->fields[2].strict);
        /* --print-config says so, and reads back to the same config. */
        char *a = dump(c);
        assert_non_null(strstr(a, "schema:\n  strict: true\n  fields:\n    - {name: \"id\", type: "
                                  "string, required: true, max_bytes: 1048576, strict: true}\n"
                                  "    - {name: \"a\", type: string, required: false, max_bytes: "
                                  "1048576, strict: false}\n"));
        pipe_config *c2 = pipe_config_load_buffer(a, strlen(a), "p.yaml", err, sizeof err);
        if (!c2) fail_msg("%s\n%s", err, a);
        char *b = dump(c2);
        assert_string_equal(a, b);
        free(a), free(b);
        pipe_config_free(c2);

        /* The compiled schema decodes by those rules. */
        pipe_schema *s;
        pipe_filter *f;
        assert_int_equal(pipe_config_compile(c, &s, &f, err, sizeof err), 0);
        pipe_record *r = pipe_record_new(s);
        const char *m = "{\"id\":\"x\",\"a\":12,\"b\":\"y\"}";
        assert_int_equal(pipe_decode(s, m, strlen(m), NULL, r, NULL), PIPE_DEC_OK);
        m = "{\"id\":\"x\",\"b\":12}";
        assert_int_equal(pipe_decode(s, m, strlen(m), NULL, r, NULL), PIPE_DEC_WRONG_TYPE);
        m = "{\"id\":\"x\",\"id\":\"y\"}";
        assert_int_equal(pipe_decode(s, m, strlen(m), NULL, r, NULL), PIPE_DEC_DUPLICATE_KEY);
        pipe_record_free(r);
        pipe_filter_free(f);
        pipe_schema_free(s);
        pipe_config_free(c);
    }
    /* The default and a plain list of fields are not strict. */
    pipe_config *d = pipe_config_default();
    assert_false(d->schema_strict);
    for (size_t i = 0; i < d->nfields; i++) assert_false(d->fields[i].strict);
    char *a = dump(d);
    assert_non_null(strstr(a, "schema:\n  strict: false\n  fields:\n"));
    free(a);
    pipe_config_free(d);
    pipe_config *c = load("schema:\n  - {name: id, required: true, strict: true}\n  - b\n", err);
    if (!c) fail_msg("%s", err);
    assert_false(c->schema_strict);
    assert_true(c->fields[0].strict);
    assert_false(c->fields[1].strict);
    pipe_config_free(c);

    expect_error("schema:\n  strict: maybe\n  fields: [id]\n",
                 "p.yaml:2: schema.strict: expected true or false, got 'maybe'");
    expect_error("schema:\n  strict: true\n", "p.yaml:2: missing key 'fields' in schema");
    expect_error("schema:\n  fieldz: [id]\n", "p.yaml:2: unknown key 'fieldz' in schema");
    expect_error("schema:\n  fields: {id: 1}\n",
                 "p.yaml:2: schema.fields: expected a list, got a mapping");
    expect_error("schema:\n  strict: true\n  strict: false\n  fields: [id]\n",
                 "p.yaml:3: duplicate key 'strict' in schema");
    expect_error("schema:\n  - {name: id, required: true, strict: sometimes}\n",
                 "p.yaml:2: schema field: invalid strict 'sometimes'");
}

static void test_interpolation(void **state)
{
    (void)state;
    char err[256];
    setenv("PIPE_T_TOPIC", "from_env", 1);
    setenv("PIPE_T_EMPTY", "", 1);
    unsetenv("PIPE_T_UNSET");
    pipe_config *c = load("source:\n"
                          "  topic: ${PIPE_T_TOPIC}\n"
                          "  group: g-${PIPE_T_UNSET:-dflt}-${PIPE_T_EMPTY:-e}\n"
                          "  dlq_topic: \"$${NOT_A_VAR}x${PIPE_T_EMPTY}\"\n"
                          "target: {ttl: '${PIPE_T_UNSET:-90s}'}\n",
                          err);
    if (!c) fail_msg("%s", err);
    assert_string_equal(c->topic, "from_env");
    assert_string_equal(c->group, "g-dflt-e");
    assert_string_equal(c->dlq_topic, "${NOT_A_VAR}x");
    assert_int_equal(c->ttl, 90);
    pipe_config_free(c);
    expect_error("source:\n  topic: ${PIPE_T_UNSET}\n",
                 "p.yaml:2: environment variable 'PIPE_T_UNSET' is not set (use "
                 "${PIPE_T_UNSET:-default})");
    expect_error("source:\n  topic: ${PIPE_T_TOPIC\n", "p.yaml:2: unterminated '${' in value");
    expect_error("source:\n  topic: ${PIPE_T_TOPIC:x}\n",
                 "p.yaml:2: bad interpolation '${PIPE_T_TOPIC:x}' (use ${VAR} or "
                 "${VAR:-default})");
    expect_error("source:\n  topic: ${}\n", "p.yaml:2: bad variable name in '${}'");
    unsetenv("PIPE_T_TOPIC");
    unsetenv("PIPE_T_EMPTY");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("target:\n  keyspace: k\n  tabel: t\n", "p.yaml:3: unknown key 'tabel' in target");
    expect_error("sources: {}\n", "p.yaml:1: unknown key 'sources'");
    expect_error("source:\n  topic: a\n  topic: b\n", "p.yaml:3: duplicate key 'topic' in source");
    expect_error("source: [1]\n", "p.yaml:1: source: expected a mapping, got a list");
    expect_error("source:\n  topic: [a]\n",
                 "p.yaml:2: source.topic: expected a single value, not a list");
    expect_error("source:\n  topic:\n", "p.yaml:2: source.topic: missing value");
    expect_error("source:\n  mode: later\n",
                 "p.yaml:2: source.mode: expected initial or append, got 'later'");
    expect_error("source:\n  max_message_bytes: lots\n",
                 "p.yaml:2: source.max_message_bytes: expected a size like 64k or 2MiB, got "
                 "'lots'");
    expect_error("target:\n  keyspace: k\n  write_timestamp: client\n",
                 "p.yaml:3: target.write_timestamp must be kafka or server, not 'client'");
    expect_error("target:\n  ttl: -5\n",
                 "p.yaml:2: target.ttl: expected a duration like 3600, 90s or 2h, got '-5'");
    expect_error("target:\n  create_if_missing: maybe\n",
                 "p.yaml:2: target.create_if_missing: expected true or false, got 'maybe'");
    expect_error("retry:\n  jitter: some\n",
                 "p.yaml:2: retry.jitter: expected none, full or decorrelated, got 'some'");
    expect_error("schema:\n  - {name: a, typ: string}\n",
                 "p.yaml:2: unknown key 'typ' in schema field");
    expect_error("schema:\n  - {type: string}\n", "p.yaml:2: missing key 'name' in schema field");
    expect_error("schema:\n  - {name: a, type: text}\n",
                 "p.yaml:2: schema field: invalid type 'text'");
    expect_error("schema:\n  - {name: id, required: true}\n  - id\n",
                 "p.yaml:3: field 'id' defined twice");
    expect_error("schema: []\n", "p.yaml:1: schema must list at least one field");
    expect_error("schema:\n  - {name: id, required: true}\n  - b\n"
                 "target:\n  mapping:\n    id: id\n    c: bogus\n",
                 "p.yaml:7: unknown field 'bogus' in mapping (column 'c')");
    expect_error("schema:\n  - id\n", "p.yaml:2: primary key column 'id' is bound to field 'id', "
                                      "which must be required: true");
    expect_error("schema:\n  - a\n", "p.yaml:2: target.primary_key is required when there is no "
                                     "column 'id'");
    expect_error("target:\n  primary_key: [id, nope]\n",
                 "p.yaml:2: primary key column 'nope' is not a mapped column");
    expect_error("filter: contains(emial, '@')\n", "p.yaml:1: filter:1:10: unknown field 'emial'");
    expect_error("target:\n  keyspace: my-ks\n",
                 "p.yaml:2: target.keyspace 'my-ks' must be 1 to 48 letters, digits or '_'");
    expect_error("target:\n  consistency: most\n", "p.yaml:2: unknown consistency 'most'");
    expect_error("target:\n  replication: simple\n",
                 "p.yaml:2: target.replication must be a CQL map like {'class': "
                 "'SimpleStrategy', 'replication_factor': 1}");
    expect_error("source:\n  topic: a\n  dlq_topic: a\n",
                 "p.yaml:3: source.dlq_topic must differ from source.topic");
    expect_error("source: {topic: a\n", "p.yaml:2: invalid YAML: did not find expected ',' or '}'");
    expect_error("a: *x\n", "p.yaml:1: invalid YAML: found undefined alias");
}

static void test_custom_schema_defaults(void **state)
{
    (void)state;
    char err[256];
    /* A custom schema without a filter keeps everything (the default filter names email). */
    pipe_config *c = load("schema:\n  - {name: id, required: true}\n  - b\n", err);
    if (!c) fail_msg("%s", err);
    assert_string_equal(c->filter, "");
    assert_int_equal(c->ncolumns, 2);
    pipe_config_free(c);
    /* filter: with no value is explicit: keep everything. */
    c = load("filter:\n", err);
    assert_non_null(c);
    assert_string_equal(c->filter, "");
    pipe_config_free(c);
}

static void test_overrides_then_finish(void **state)
{
    (void)state;
    char err[256];
    pipe_config *c = pipe_config_default();
    pipe_config_set_str(&c->topic, "other");
    pipe_config_set_str(&c->dlq_topic, NULL);
    pipe_config_set_str(&c->filter, "starts_with(id, 'x')");
    assert_int_equal(pipe_config_finish(c, err, sizeof err), 0);
    assert_string_equal(c->dlq_topic, "other.dlq");
    pipe_config_set_str(&c->filter, "bogus(");
    assert_int_equal(pipe_config_finish(c, err, sizeof err), -1);
    assert_string_equal(err, "<default>: filter:1:1: unknown function 'bogus'");
    pipe_config_set_str(&c->filter, "");
    pipe_config_set_str(&c->consistency, "three");
    assert_int_equal(pipe_config_finish(c, err, sizeof err), 0);
    pipe_config_free(c);
}

static void test_cql_ident(void **state)
{
    (void)state;
    char b[64];
    static const char *const cases[][2] = {
        {"plain_1", "plain_1"}, {"Upper", "\"Upper\""}, {"table", "\"table\""},
        {"1abc", "\"1abc\""},   {"a b", "\"a b\""},     {"q\"uote", "\"q\"\"uote\""},
        {"_x", "\"_x\""},       {"token", "\"token\""}, {"email", "email"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = pipe_cql_ident(cases[i][0], b, sizeof b);
        assert_string_equal(b, cases[i][1]);
        assert_int_equal(n, strlen(cases[i][1]));
    }
    assert_int_equal(pipe_cql_ident("Upper", b, 3), 7);
    assert_string_equal(b, "\"U");
}

static void test_write_timestamp(void **state)
{
    (void)state;
    char err[256];
    pipe_config *c = pipe_config_default();
    assert_string_equal(c->write_timestamp, "kafka");
    assert_int_equal(pipe_wts_parse(c->write_timestamp), PIPE_WTS_KAFKA);
    pipe_config_free(c);
    c = load("target:\n  write_timestamp: Server\n", err);
    assert_non_null(c);
    assert_string_equal(c->write_timestamp, "server");
    char *d = dump(c);
    assert_non_null(strstr(d, "\n  write_timestamp: server\n"));
    free(d);
    pipe_config_free(c);
    assert_int_equal(pipe_wts_parse("kafka"), PIPE_WTS_KAFKA);
    assert_int_equal(pipe_wts_parse(NULL), -1);
    assert_int_equal(pipe_wts_parse(""), -1);
}

/* Auto-created tables use the CQL type the mapping produces: a field's type, or the
 * expression's result type. */
static void test_typed_columns(void **state)
{
    (void)state;
    static const char yaml[] =
        "schema:\n  - {name: id, type: uuid, required: true}\n  - {name: at, type: timestamp}\n"
        "  - {name: day, type: date}\n  - {name: tags, type: list}\n"
        "  - {name: attrs, type: \"map<text, text>\"}\n  - {name: n, type: int}\n  - s\n"
        "target:\n  primary_key: [id]\n  mapping:\n    id: id\n    at: at\n    day: day\n"
        "    tags: tags\n    attrs: attrs\n    n: n\n    d2: to_date(s)\n"
        "    u2: to_uuid(s)\n    u3: uuid_v5('dns', s)\n    big: n == 1\n"
        "    dbl: coalesce(1.5, n)\n    txt: attrs.k\n    t2: to_timestamp(s)\n"
        "    nn: coalesce(null)\n";
    char err[256];
    pipe_config *c = load(yaml, err);
    if (!c) fail_msg("%s", err);
    char *tb = pipe_cql_create_table(c);
    assert_string_equal(tb, "CREATE TABLE IF NOT EXISTS dados_usuarios.tb_usuarios (id uuid, at "
                            "timestamp, day date, tags list<text>, attrs map<text, text>, n int, "
                            "d2 date, u2 uuid, u3 uuid, big boolean, dbl double, txt text, "
                            "t2 timestamp, nn text, PRIMARY KEY (id))");
    free(tb);
    pipe_config_free(c);
}

/* Mapping values are field names (bound as decoded) or expressions (compiled per pipeline). */
static void test_mapping_expressions(void **state)
{
    (void)state;
    static const char yaml[] = "schema:\n  - {name: id, required: true}\n  - email\n  - first\n"
                               "  - last\n  - dob\n"
                               "target:\n  mapping:\n    id: id\n    email: lower(trim(email))\n"
                               "    name: concat(first, ' ', last)\n    dob: to_timestamp(dob)\n"
                               "    src: \"`last`\"\n    part: kafka.partition\n";
    char err[256];
    pipe_config *c = load(yaml, err);
    if (!c) fail_msg("%s", err);
    assert_int_equal(c->ncolumns, 6);
    assert_int_equal(c->columns[0].field_index, 0);
    assert_int_equal(c->columns[1].field_index, -1);
    assert_string_equal(c->columns[1].field, "lower(trim(email))");
    assert_int_equal(c->columns[4].field_index, 3); /* a back-quoted name is the field */
    char *tb = pipe_cql_create_table(c);
    /* Expression columns get their result's CQL type. */
    assert_string_equal(tb, "CREATE TABLE IF NOT EXISTS dados_usuarios.tb_usuarios (id text, email "
                            "text, name text, dob timestamp, src text, part bigint, PRIMARY KEY "
                            "(id))");
    free(tb);
    pipe_schema *s;
    pipe_filter *f;
    assert_int_equal(pipe_config_compile(c, &s, &f, err, sizeof err), 0);
    pipe_expr **cols = pipe_config_compile_columns(c, s, err, sizeof err);
    assert_non_null(cols);
    assert_null(cols[0]);
    assert_non_null(cols[1]);
    assert_null(cols[4]);
    assert_int_equal(pipe_expr_type(cols[3]), PIPE_X_TIMESTAMP);
    pipe_config_free_columns(cols, c->ncolumns);
    pipe_filter_free(f);
    pipe_schema_free(s);
    /* --print-config prints each mapping as written, and it loads back the same. */
    char *a = dump(c);
    assert_non_null(strstr(a, "\"name\": \"concat(first, ' ', last)\"\n"));
    pipe_config *c2 = pipe_config_load_buffer(a, strlen(a), "p.yaml", err, sizeof err);
    if (!c2) fail_msg("%s", err);
    char *b = dump(c2);
    assert_string_equal(a, b);
    free(a), free(b);
    pipe_config_free(c2);
    pipe_config_free(c);

    expect_error("target:\n  mapping:\n    id: id\n    e: lower(emial)\n",
                 "p.yaml:4: mapping 'e':1:7: unknown field 'emial'");
    expect_error("target:\n  mapping:\n    id: id\n    e: concat(email,\n",
                 "p.yaml:4: mapping 'e':1:14: expected an expression");
    expect_error("target:\n  mapping:\n    id: id\n    e: emial\n",
                 "p.yaml:4: unknown field 'emial' in mapping (column 'e')");
    expect_error("target:\n  mapping:\n    id: id\n    e: email == 1 +\n",
                 "p.yaml:4: mapping 'e':1:12: unexpected character '+'");
}

static void test_load_missing_file(void **state)
{
    (void)state;
    char err[256];
    assert_null(pipe_config_load("/nonexistent/p.yaml", err, sizeof err));
    assert_string_equal(err, "/nonexistent/p.yaml: No such file or directory");
}

/* Fan-out: `targets:`, the first entry is the pipeline's own target, later ones inherit its
 * keyspace and consistency and have their own table, mapping, key and filter. */
static const char *const fanout_yaml = "schema: [{name: id, required: true}, email, dob, op]\n"
                                       "filter: \"\"\n"
                                       "targets:\n"
                                       "  - name: by_id\n"
                                       "    keyspace: ks\n"
                                       "    consistency: quorum\n"
                                       "    table: users\n"
                                       "    on_tombstone: delete\n"
                                       "  - table: users_by_email\n"
                                       "    primary_key: email\n"
                                       "    when: \"contains(email, '@')\"\n"
                                       "    ttl: 60\n"
                                       "    mapping: {email: lower(email), id: id}\n"
                                       "  - name: gone\n"
                                       "    table: users\n"
                                       "    action: delete\n"
                                       "    when: \"op == 'delete'\"\n";

static void test_targets(void **state)
{
    (void)state;
    char err[256];
    pipe_config *c = load(fanout_yaml, err);
    if (!c) fail_msg("%s", err);
    assert_int_equal(pipe_config_ntargets(c), 3);
    const pipe_config *a = pipe_config_target(c, 0), *b = pipe_config_target(c, 1),
                      *d = pipe_config_target(c, 2);
    assert_ptr_equal(a, c);
    assert_string_equal(a->name, "by_id");
    assert_int_equal(a->on_tombstone, PIPE_TOMB_DELETE);
    assert_int_equal(a->ncolumns, 4);               /* the identity mapping */
    assert_string_equal(b->name, "users_by_email"); /* default: the table */
    assert_string_equal(b->keyspace, "ks");         /* inherited from the first */
    assert_string_equal(b->consistency, "quorum");
    assert_string_equal(b->when, "contains(email, '@')");
    assert_string_equal(b->filter, ""); /* the pipeline's filter runs once, before */
    assert_int_equal(b->ttl, 60);
    assert_string_equal(b->primary_key[0], "email");
    assert_int_equal(b->nfields, 4); /* a copy of the schema */
    assert_int_equal(d->action, PIPE_ACT_DELETE);
    assert_int_equal(d->ncolumns, 1); /* a delete target maps its key only: id by default */
    assert_string_equal(d->columns[0].name, "id");

    char *q = pipe_cql_delete(d, true);
    assert_string_equal(q, "DELETE FROM ks.users USING TIMESTAMP ? WHERE id = ?");
    free(q);
    q = pipe_cql_delete_key(a, false);
    assert_string_equal(q, "DELETE FROM ks.users WHERE id = ?");
    free(q);
    q = pipe_cql_insert_ts(b);
    assert_string_equal(q, "INSERT INTO ks.users_by_email (email, id) VALUES (?, ?) USING "
                           "TIMESTAMP ? AND TTL 60");
    free(q);

    /* The dump lists the targets and loads back to the same dump. */
    char *d1 = dump(c);
    assert_non_null(strstr(d1, "targets:\n  - name: \"by_id\"\n"));
    pipe_config *c2 = pipe_config_load_buffer(d1, strlen(d1), "dump.yaml", err, sizeof err);
    if (!c2) fail_msg("%s\n%s", err, d1);
    char *d2 = dump(c2);
    assert_string_equal(strchr(d1, '\n'), strchr(d2, '\n')); /* past "(from <file>)" */
    free(d1);
    free(d2);
    pipe_config_free(c2);
    pipe_config_free(c);
}

static void test_target_errors(void **state)
{
    (void)state;
    expect_error("target: {table: a}\ntargets: [{table: b}]\n",
                 "p.yaml:2: use either target: or targets:, not both (target: at line 1)");
    expect_error("targets: []\n", "p.yaml:1: targets: list is empty");
    expect_error("targets: [{table: a}, {table: a}]\n",
                 "p.yaml: two targets are named 'a' (set name: on one of them)");
    expect_error("targets: [{table: a}, {table: b, action: remove}]\n",
                 "p.yaml:1: target.action: expected upsert or delete, got 'remove'");
    expect_error("targets:\n  - table: a\n  - table: b\n    when: \"nope(\"\n",
                 "p.yaml:4: target 'b': when: filter:1:1: unknown function 'nope'");
    expect_error("targets:\n  - table: a\n  - table: b\n    action: delete\n"
                 "    mapping: {id: id, email: email}\n",
                 "p.yaml:5: target 'b' (action: delete) maps column 'email', which is not in its "
                 "primary key: a delete target maps only its primary key columns");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_reference),
        cmocka_unit_test(test_empty_yaml_is_default),
        cmocka_unit_test(test_example_file_is_default),
        cmocka_unit_test(test_custom),
        cmocka_unit_test(test_dump_roundtrip),
        cmocka_unit_test(test_mapping_expressions),
        cmocka_unit_test(test_typed_columns),
        cmocka_unit_test(test_dump_key_not_escaped),
        cmocka_unit_test(test_schema_strict),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_custom_schema_defaults),
        cmocka_unit_test(test_overrides_then_finish),
        cmocka_unit_test(test_cql_ident),
        cmocka_unit_test(test_write_timestamp),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_target_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
