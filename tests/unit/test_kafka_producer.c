/* Unit tests for kafka/producer on librdkafka's mock cluster: delivery callbacks with the
 * per-message opaque and headers, counters, queue-full back-pressure without loss, failures
 * counted when the brokers are gone, purge at free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kafka/conf.h"
#include "kafka/producer.h"

typedef struct seen {
    int calls, ok, failed;
    int opaque_sum;
    int headers_ok;
} seen;

static void on_delivery(void *arg, void *opaque, rd_kafka_resp_err_t err,
                        const rd_kafka_message_t *m)
{
    seen *s = arg;
    s->calls++;
    if (err) {
        s->failed++;
        return;
    }
    s->ok++;
    if (opaque) s->opaque_sum += *(int *)opaque;
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &h) == 0 &&
        rd_kafka_header_get_last(h, "rtetl.error", &v, &len) == 0 && len == 6 &&
        memcmp(v, "reason", 6) == 0)
        s->headers_ok++;
}

static kafka_producer *mock_producer(seen *s, const char *extra)
{
    const char *items[2] = {"test.mock.num.brokers=1", extra};
    opt_list props = {items, extra ? 2 : 1};
    const char *defaults[] = {"enable.idempotence=true", "acks=all", "compression.type=lz4",
                              "linger.ms=5", NULL};
    char err[256];
    rd_kafka_conf_t *c = kafka_conf_new("127.0.0.1:1", defaults, &props, err, sizeof err);
    assert_non_null(c);
    kafka_producer *p = kafka_producer_new(c, on_delivery, s, err, sizeof err);
    assert_non_null(p);
    return p;
}

static void test_send_with_headers_and_opaque(void **state)
{
    (void)state;
    seen s = {0};
    kafka_producer *p = mock_producer(&s, NULL);
    rd_kafka_topic_t *t = kafka_producer_topic(p, "t1");
    assert_ptr_equal(t, kafka_producer_topic(p, "t1"));
    static int values[100];
    kafka_header h[2] = {{"rtetl.error", "reason", 6}, {"rtetl.null", NULL, 0}};
    for (int i = 0; i < 100; i++) {
        values[i] = i;
        char key[16];
        int kl = snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(kafka_producer_send(p, t, RD_KAFKA_PARTITION_UA, key, (size_t)kl, "v", 1,
                                             i % 2 ? h : NULL, i % 2 ? 2 : 0, &values[i]),
                         0);
    }
    assert_int_equal(kafka_producer_flush(p, 10000), 0);
    kafka_producer_stats st;
    kafka_producer_get_stats(p, &st);
    assert_int_equal(st.sent, 100);
    assert_int_equal(st.delivered, 100);
    assert_int_equal(st.failed, 0);
    assert_int_equal(s.calls, 100);
    assert_int_equal(s.opaque_sum, 4950);
    assert_int_equal(s.headers_ok, 50);
    char err[64];
    assert_false(kafka_producer_fatal(p, err, sizeof err));
    assert_non_null(kafka_producer_handle(p));
    kafka_producer_free(p);
    assert_int_equal(s.calls, 100); /* nothing left to purge */
}

static void test_queue_full_never_drops(void **state)
{
    (void)state;
    seen s = {0};
    kafka_producer *p = mock_producer(&s, "queue.buffering.max.messages=10");
    rd_kafka_topic_t *t = kafka_producer_topic(p, "t2");
    for (int i = 0; i < 3000; i++)
        assert_int_equal(
            kafka_producer_send(p, t, RD_KAFKA_PARTITION_UA, "k", 1, "value", 5, NULL, 0, NULL), 0);
    assert_int_equal(kafka_producer_flush(p, 20000), 0);
    kafka_producer_stats st;
    kafka_producer_get_stats(p, &st);
    assert_int_equal(st.delivered, 3000);
    assert_true(st.queue_full > 0);
    assert_int_equal(s.ok, 3000);
    kafka_producer_free(p);
}

/* With the abort flag raised, a send that finds the queue full returns instead of waiting. */
static void test_abort_queue_full_wait(void **state)
{
    (void)state;
    seen s = {0};
    const char *items[] = {"queue.buffering.max.messages=5", "message.timeout.ms=60000"};
    opt_list props = {items, 2};
    char err[256];
    rd_kafka_conf_t *c = kafka_conf_new("127.0.0.1:1", NULL, &props, err, sizeof err);
    kafka_producer *p = kafka_producer_new(c, on_delivery, &s, err, sizeof err);
    assert_non_null(p);
    volatile sig_atomic_t flag = 1;
    kafka_producer_set_abort(p, &flag);
    rd_kafka_topic_t *t = kafka_producer_topic(p, "t4");
    int accepted = 0;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < 10 && !e; i++) {
        e = kafka_producer_send(p, t, 0, "k", 1, "v", 1, NULL, 0, NULL);
        accepted += e == 0;
    }
    assert_int_equal(e, RD_KAFKA_RESP_ERR__QUEUE_FULL); /* returned instead of waiting 60 s */
    assert_int_equal(accepted, 5);
    kafka_producer_free(p); /* the 5 queued are purged: failed reports */
    assert_int_equal(s.failed, 5);
}

static void test_failures_counted(void **state)
{
    (void)state;
    /* No brokers at all: messages time out and are reported as failed. */
    seen s = {0};
    const char *items[] = {"message.timeout.ms=300", "socket.connection.setup.timeout.ms=1000"};
    opt_list props = {items, 2};
    char err[256];
    rd_kafka_conf_t *c = kafka_conf_new("127.0.0.1:1", NULL, &props, err, sizeof err);
    assert_non_null(c);
    kafka_producer *p = kafka_producer_new(c, on_delivery, &s, err, sizeof err);
    assert_non_null(p);
    rd_kafka_topic_t *t = kafka_producer_topic(p, "t3");
    for (int i = 0; i < 10; i++)
        assert_int_equal(kafka_producer_send(p, t, 0, "k", 1, "v", 1, NULL, 0, NULL), 0);
    assert_int_equal(kafka_producer_flush(p, 10000), 0);
    kafka_producer_stats st;
    kafka_producer_get_stats(p, &st);
    assert_int_equal(st.failed, 10);
    assert_int_equal(s.failed, 10);
    /* Queued at free: purged and reported as failed. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(kafka_producer_send(p, t, 0, "k", 1, "v", 1, NULL, 0, NULL), 0);
    kafka_producer_free(p);
    assert_int_equal(s.failed, 15);
    assert_int_equal(s.calls, 15);
}

static void test_bad_conf(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    /* A transactional producer without idempotence is refused by rd_kafka_new. */
    char e2[128];
    rd_kafka_conf_set(c, "transactional.id", "x", e2, sizeof e2);
    rd_kafka_conf_set(c, "enable.idempotence", "false", e2, sizeof e2);
    assert_null(kafka_producer_new(c, NULL, NULL, err, sizeof err));
    assert_true(strncmp(err, "cannot create the Kafka producer: ", 34) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_with_headers_and_opaque),
        cmocka_unit_test(test_queue_full_never_drops),
        cmocka_unit_test(test_abort_queue_full_wait),
        cmocka_unit_test(test_failures_counted),
        cmocka_unit_test(test_bad_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
