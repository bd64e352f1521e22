/* Unit tests for kafka/consumer on librdkafka's built-in mock cluster: batches reach the
 * handler through the libuv loop, capacity limits delivery, and offsets stored per partition
 * are committed to the right partitions (a regression: a reused list element once sent every
 * partition's offset to the first one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kafka/consumer.h"

#include <librdkafka/rdkafka_mock.h>

#define PARTS    3
#define PER_PART 20

typedef struct ctx {
    kafka_consumer *c;
    int received;
    int per_part[PARTS];
    int64_t next[PARTS];
    size_t max_batch;
    int assigned;
    uv_timer_t deadline;
    bool timed_out;
} ctx;

static void on_messages(void *ud, rd_kafka_message_t **msgs, size_t n)
{
    ctx *x = ud;
    if (n > x->max_batch) x->max_batch = n;
    for (size_t i = 0; i < n; i++) {
        int p = msgs[i]->partition;
        assert_in_range(p, 0, PARTS - 1);
        /* Offsets arrive in order within a partition. */
        assert_true(msgs[i]->offset >= x->next[p]);
        x->next[p] = msgs[i]->offset + 1;
        x->per_part[p]++;
        x->received++;
        kafka_consumer_store(x->c, p, msgs[i]->offset + 1);
        rd_kafka_message_destroy(msgs[i]);
    }
    /* Take at most 7 at a time: delivery must resume by itself after each batch. */
    kafka_consumer_set_capacity(x->c, 7);
    if (x->received == PARTS * PER_PART) uv_stop(uv_handle_get_loop((uv_handle_t *)&x->deadline));
}

static void on_assign(void *ud, const rd_kafka_topic_partition_list_t *parts)
{
    ((ctx *)ud)->assigned += parts->cnt;
}

static bool on_revoke(void *ud, const rd_kafka_topic_partition_list_t *parts, bool lost)
{
    return true;
}

static void on_error(void *ud, rd_kafka_resp_err_t err, const char *reason, bool fatal)
{
    (void)ud;
    (void)err;
    (void)reason;
    assert_false(fatal);
}

static void on_deadline(uv_timer_t *t)
{
    ((ctx *)t->data)->timed_out = true;
    uv_stop(uv_handle_get_loop((uv_handle_t *)t));
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstraps, const char *group)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof errstr),
        RD_KAFKA_CONF_OK);
    if (group) {
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr);
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr);
        rd_kafka_conf_set(conf, "enable.auto.commit", "true", errstr, sizeof errstr);
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof errstr);
        rd_kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", errstr,
                          sizeof errstr);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    assert_non_null(rk);
    return rk;
}

static void test_consume_and_commit_per_partition(void **state)
{
    (void)state;
    char errstr[256];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "test.mock.num.brokers", "1", errstr, sizeof errstr);
    rd_kafka_t *mock_owner = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, errstr, sizeof errstr);
    assert_non_null(mock_owner);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(mock_owner);
    assert_non_null(mc);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "t", PARTS, 1), 0);

    rd_kafka_t *prod = new_client(RD_KAFKA_PRODUCER, boot, NULL);
    for (int p = 0; p < PARTS; p++)
        for (int i = 0; i < PER_PART; i++)
            assert_int_equal(rd_kafka_producev(prod, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(p),
                                               RD_KAFKA_V_VALUE("v", 1),
                                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                               RD_KAFKA_V_END),
                             0);
    assert_int_equal(rd_kafka_flush(prod, 10000), 0);
    rd_kafka_destroy(prod);

    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx x = {0};
    rd_kafka_conf_t *cconf = rd_kafka_conf_new();
    rd_kafka_conf_set(cconf, "bootstrap.servers", boot, errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "group.id", "g", errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "auto.offset.reset", "earliest", errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "enable.auto.offset.store", "false", errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "partition.assignment.strategy", "cooperative-sticky", errstr,
                      sizeof errstr);
    kafka_consumer_handler h = {on_messages, on_assign, on_revoke, on_error};
    char err[256];
    x.c = kafka_consumer_new(&loop, cconf, "t", &h, &x, err, sizeof err);
    assert_non_null(x.c);
    kafka_consumer_set_capacity(x.c, 7);
    uv_timer_init(&loop, &x.deadline);
    x.deadline.data = &x;
    uv_timer_start(&x.deadline, on_deadline, 30000, 0);
    assert_int_equal(kafka_consumer_start(x.c, err, sizeof err), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_false(x.timed_out);
    assert_int_equal(x.received, PARTS * PER_PART);
    assert_int_equal(x.assigned, PARTS);
    assert_true(x.max_batch <= 7);
    for (int p = 0; p < PARTS; p++) assert_int_equal(x.per_part[p], PER_PART);

    kafka_consumer_close(x.c); /* commits the stored offsets */
    kafka_consumer_free(x.c, NULL, NULL);
    uv_close((uv_handle_t *)&x.deadline, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* Read the group's committed offsets back: every partition at its end. */
    rd_kafka_t *check = new_client(RD_KAFKA_CONSUMER, boot, "g");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int p = 0; p < PARTS; p++) rd_kafka_topic_partition_list_add(l, "t", p);
    assert_int_equal(rd_kafka_committed(check, l, 10000), 0);
    for (int p = 0; p < PARTS; p++) assert_int_equal(l->elems[p].offset, PER_PART);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(check);
    rd_kafka_destroy(check);
    rd_kafka_destroy(mock_owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consume_and_commit_per_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
