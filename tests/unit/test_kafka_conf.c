/* Unit tests for kafka/conf: brokers, defaults and -X properties in order, one clear error line
 * for a bad entry, secrets kept out of errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kafka/conf.h"
#include "kafka/security.h"

static void get(rd_kafka_conf_t *c, const char *key, char *out, size_t len)
{
    size_t n = len;
    assert_int_equal(rd_kafka_conf_get(c, key, out, &n), RD_KAFKA_CONF_OK);
}

static void test_layers_in_order(void **state)
{
    (void)state;
    const char *defaults[] = {"acks=all", "linger.ms=10", "client.id=rtetl-test", NULL};
    const char *items[] = {"linger.ms=50", "bootstrap.servers=other:1"};
    opt_list props = {items, 2};
    char err[256] = "", v[256];
    rd_kafka_conf_t *c = kafka_conf_new("h1:9092,h2:9092", defaults, &props, err, sizeof err);
    assert_non_null(c);
    get(c, "acks", v, sizeof v);
    assert_string_equal(v, "-1"); /* librdkafka's spelling of all */
    get(c, "linger.ms", v, sizeof v);
    assert_string_equal(v, "50"); /* -X wins over a default */
    get(c, "client.id", v, sizeof v);
    assert_string_equal(v, "rtetl-test");
    get(c, "bootstrap.servers", v, sizeof v);
    assert_string_equal(v, "other:1"); /* and over --brokers */
    rd_kafka_conf_destroy(c);
    c = kafka_conf_new("h1:9092", NULL, NULL, err, sizeof err);
    get(c, "bootstrap.servers", v, sizeof v);
    assert_string_equal(v, "h1:9092");
    rd_kafka_conf_destroy(c);
}

static void test_errors(void **state)
{
    (void)state;
    char err[256];
    const char *bad_key[] = {"no.such.property=1"};
    opt_list p1 = {bad_key, 1};
    assert_null(kafka_conf_new("h:1", NULL, &p1, err, sizeof err));
    assert_string_equal(err, "-X no.such.property: No such configuration property: "
                             "\"no.such.property\"");
    const char *no_eq[] = {"acks"};
    opt_list p2 = {no_eq, 1};
    assert_null(kafka_conf_new("h:1", NULL, &p2, err, sizeof err));
    assert_string_equal(err, "-X 'acks': expected key=value");
    const char *empty_key[] = {"=1"};
    opt_list p3 = {empty_key, 1};
    assert_null(kafka_conf_new("h:1", NULL, &p3, err, sizeof err));
    assert_string_equal(err, "-X '=1': expected key=value");
    /* A bad value names the key but does not echo the value (it may be a secret). */
    const char *bad_val[] = {"sasl.mechanisms=hunter2-secret"};
    opt_list p4 = {bad_val, 1};
    rd_kafka_conf_t *c = kafka_conf_new("h:1", NULL, &p4, err, sizeof err);
    if (c) {
        rd_kafka_conf_destroy(c); /* this librdkafka accepts any mechanism name */
    } else {
        assert_null(strstr(err, "hunter2"));
    }
    const char *bad_num[] = {"linger.ms=soon"};
    opt_list p5 = {bad_num, 1};
    assert_null(kafka_conf_new("h:1", NULL, &p5, err, sizeof err));
    assert_true(strncmp(err, "-X linger.ms: ", 14) == 0);
    const char *bad_default[] = {"compression.type=zip", NULL};
    assert_null(kafka_conf_new("h:1", bad_default, NULL, err, sizeof err));
    assert_true(strncmp(err, "default compression.type: ", 26) == 0);
    /* A value may itself contain '='. */
    const char *eq_in_value[] = {"sasl.jaas.config=a=b"};
    opt_list p6 = {eq_in_value, 1};
    c = kafka_conf_new("h:1", NULL, &p6, err, sizeof err);
    if (c) rd_kafka_conf_destroy(c);
}

static void test_set_kv(void **state)
{
    (void)state;
    char err[256], v[64];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    assert_int_equal(
        kafka_conf_set_kv(c, "queue.buffering.max.messages=1234", "test", err, sizeof err), 0);
    get(c, "queue.buffering.max.messages", v, sizeof v);
    assert_string_equal(v, "1234");
    assert_int_equal(kafka_conf_set_kv(c, "x", "test", err, sizeof err), -1);
    assert_string_equal(err, "test 'x': expected key=value");
    kafka_conf_route_logs(c);
    rd_kafka_conf_destroy(c);
}

/* Properties files (--kafka-config): comments, blanks, CRLF, whitespace around '=', a '=' in the
 * value; a bad line reported as PATH:LINE without its content. */
static void test_parse_props(void **state)
{
    (void)state;
    char text[] = "# a comment\n\n  ! another\nsecurity.protocol = SASL_SSL\r\n"
                  "\tsasl.password=s3cret=x  \nlast=1";
    opt_list out = {NULL, 0};
    char err[256] = "";
    assert_int_equal(kafka_conf_parse_props(text, "f.properties", &out, err, sizeof err), 0);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.items[0], "security.protocol=SASL_SSL");
    assert_string_equal(out.items[1], "sasl.password=s3cret=x");
    assert_string_equal(out.items[2], "last=1");
    free(out.items);

    char bad[] = "a=1\n# fine\nsasl.password hunter2\n";
    out = (opt_list){NULL, 0};
    assert_int_equal(kafka_conf_parse_props(bad, "f.properties", &out, err, sizeof err), -1);
    assert_string_equal(err, "f.properties:3: expected key=value");
    free(out.items);
    char nokey[] = "\n = v\n";
    out = (opt_list){NULL, 0};
    assert_int_equal(kafka_conf_parse_props(nokey, "p", &out, err, sizeof err), -1);
    assert_string_equal(err, "p:2: expected key=value (empty key)");
    free(out.items);
}

static const char *write_tmp(const char *content)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/rtetl_test_kconf_%d", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

/* The file's entries go before the -X ones (so -X wins) and reach the librdkafka conf; an unknown
 * property is reported with its line; a missing file is one line. */
static void test_load_file(void **state)
{
    (void)state;
    const char *path = write_tmp("# creds\nclient.id=from-file\nlinger.ms = 7\n");
    opt_list props = {NULL, 0};
    props.items = malloc(sizeof *props.items);
    props.items[0] = "linger.ms=50";
    props.n = 1;
    kafka_conf_text store = {0};
    char err[256] = "", v[256];
    assert_int_equal(kafka_conf_load_file(path, &props, &store, err, sizeof err), 0);
    assert_int_equal(props.n, 3);
    rd_kafka_conf_t *c = kafka_conf_new(NULL, NULL, &props, err, sizeof err);
    assert_non_null(c);
    get(c, "client.id", v, sizeof v);
    assert_string_equal(v, "from-file");
    get(c, "linger.ms", v, sizeof v);
    assert_string_equal(v, "50"); /* -X wins */
    rd_kafka_conf_destroy(c);
    kafka_conf_file_free(&store);
    kafka_conf_file_free(&store); /* twice is harmless */
    free(props.items);

    path = write_tmp("client.id=x\n\nno.such.property=1\n");
    props = (opt_list){NULL, 0};
    assert_int_equal(kafka_conf_load_file(path, &props, &store, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3: no.such.property: No such configuration property"));
    assert_null(store.text);
    assert_int_equal(props.n, 0);
    unlink(path);
    assert_int_equal(kafka_conf_load_file(path, &props, &store, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read --kafka-config"));
    assert_int_equal(kafka_conf_load_file(NULL, &props, &store, err, sizeof err), 0);
}

/* Security failures become one line naming the cause; transient errors are not among them. */
static void test_security_error(void **state)
{
    (void)state;
    char line[512];
    assert_true(kafka_security_error(RD_KAFKA_RESP_ERR__AUTHENTICATION,
                                     "b/bootstrap: SASL authentication error: invalid credentials",
                                     NULL, line, sizeof line));
    assert_non_null(strstr(line, "kafka: SASL authentication failed: b/bootstrap"));
    assert_non_null(strstr(line, "(check sasl.username and sasl.password)"));
    assert_true(kafka_security_error(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, NULL, "g1", line,
                                     sizeof line));
    assert_non_null(strstr(line, "not authorized for consumer group g1"));
    assert_true(kafka_security_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "x", "t", line,
                                     sizeof line));
    assert_string_equal(line, "kafka: not authorized for topic t: x (missing ACL for this user)");
    assert_true(kafka_security_error(RD_KAFKA_RESP_ERR__SSL, "certificate verify failed", NULL,
                                     line, sizeof line));
    assert_false(
        kafka_security_error(RD_KAFKA_RESP_ERR__SSL, "Connection reset", NULL, line, sizeof line));
    assert_false(
        kafka_security_error(RD_KAFKA_RESP_ERR__TRANSPORT, "down", NULL, line, sizeof line));
    assert_false(
        kafka_security_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1", NULL, line, sizeof line));
    assert_true(kafka_security_log_duplicate("[thrd:x]: x: SASL authentication error: y"));
    assert_false(kafka_security_log_duplicate("Connect to ipv4#127.0.0.1:9092 failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_in_order), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_set_kv),          cmocka_unit_test(test_parse_props),
        cmocka_unit_test(test_load_file),       cmocka_unit_test(test_security_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
