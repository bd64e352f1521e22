/* Unit tests for kafka/conf: brokers, defaults and -X properties in order, one clear error line
 * for a bad entry, secrets kept out of errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "kafka/conf.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_in_order),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_set_kv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
