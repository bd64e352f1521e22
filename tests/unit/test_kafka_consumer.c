/* Unit tests for kafka/consumer on librdkafka's built-in mock cluster: batches reach the
 * handler through the libuv loop, capacity limits delivery, and offsets stored per partition
 * are committed to the right partitions (a regression: a reused list element once sent every
 * partition's offset to the first one). A drain through a tiny prefetch queue must not stall
 * on librdkafka's once-a-second queue re-check: the consumer wakes the fetcher. Offsets are
 * committed with the metadata stored beside them, and a later member of the group is handed
 * both on assign (the stream's write-timestamp chain resumes from that metadata). The high
 * watermark asked at assignment (stream --until-caught-up's mark) is the partition's end, and
 * the application position reaches it once everything is handed over. */
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
    bool stop_on_assign;
    int64_t start[PARTS];
    int64_t hi[PARTS]; /* queried at assignment */
    char meta[PARTS][KAFKA_COMMIT_META_MAX];
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
        char meta[KAFKA_COMMIT_META_MAX];
        snprintf(meta, sizeof meta, "meta-%d-%lld", p, (long long)msgs[i]->offset + 1);
        kafka_consumer_store(x->c, p, msgs[i]->offset + 1, meta);
        rd_kafka_message_destroy(msgs[i]);
    }
    /* Take at most 7 at a time: delivery must resume by itself after each batch. */
    kafka_consumer_set_capacity(x->c, 7);
    if (x->received == PARTS * PER_PART) uv_stop(uv_handle_get_loop((uv_handle_t *)&x->deadline));
}

static void on_assign(void *ud, const rd_kafka_topic_partition_list_t *parts)
{
    ctx *x = ud;
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *t = &parts->elems[i];
        if (t->partition < 0 || t->partition >= PARTS) continue;
        x->start[t->partition] = t->offset;
        int64_t lo = -1;
        assert_int_equal(
            kafka_consumer_query_watermarks(x->c, t->partition, &lo, &x->hi[t->partition], 5000),
            0);
        assert_int_equal(lo, 0);
        size_t n = t->metadata_size < sizeof x->meta[0] - 1 ? t->metadata_size : 0;
        if (t->metadata) memcpy(x->meta[t->partition], t->metadata, n);
        x->meta[t->partition][n] = '\0';
    }
    x->assigned += parts->cnt;
    if (x->stop_on_assign && x->assigned == PARTS)
        uv_stop(uv_handle_get_loop((uv_handle_t *)&x->deadline));
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

/* A one-broker mock cluster (owned by the returned handle) holding `topic`. */
static rd_kafka_t *mock_cluster(const char *topic, int partitions, const char **boot)
{
    char errstr[256];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "test.mock.num.brokers", "1", errstr, sizeof errstr);
    rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, errstr, sizeof errstr);
    assert_non_null(owner);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(owner);
    assert_non_null(mc);
    *boot = rd_kafka_mock_cluster_bootstraps(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, topic, partitions, 1), 0);
    return owner;
}

/* Produces `count` copies of value into each of the first `partitions` partitions. */
static void produce(const char *boot, const char *topic, int partitions, const void *value,
                    size_t len, int count)
{
    rd_kafka_t *prod = new_client(RD_KAFKA_PRODUCER, boot, NULL);
    for (int p = 0; p < partitions; p++)
        for (int i = 0; i < count; i++)
            assert_int_equal(
                rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                                  RD_KAFKA_V_VALUE((void *)value, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                0);
    assert_int_equal(rd_kafka_flush(prod, 10000), 0);
    rd_kafka_destroy(prod);
}

static void test_consume_and_commit_per_partition(void **state)
{
    (void)state;
    char errstr[256];
    const char *boot;
    rd_kafka_t *mock_owner = mock_cluster("t", PARTS, &boot);
    produce(boot, "t", PARTS, "v", 1, PER_PART);

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
    /* The mock group coordinator may wait for a departed member's session to expire before
     * the next member's join completes. */
    rd_kafka_conf_set(cconf, "session.timeout.ms", "6000", errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "heartbeat.interval.ms", "500", errstr, sizeof errstr);
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
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(x.per_part[p], PER_PART);
        assert_int_equal(x.hi[p], PER_PART);
        assert_int_equal(kafka_consumer_position(x.c, p), PER_PART);
    }

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
    for (int p = 0; p < PARTS; p++) {
        char want[KAFKA_COMMIT_META_MAX];
        snprintf(want, sizeof want, "meta-%d-%d", p, PER_PART);
        assert_int_equal(l->elems[p].offset, PER_PART);
        assert_int_equal(l->elems[p].metadata_size, strlen(want));
        assert_memory_equal(l->elems[p].metadata, want, strlen(want));
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(check);
    rd_kafka_destroy(check);

    /* A new member of the group is handed each partition's start offset and metadata. */
    uv_loop_init(&loop);
    ctx y = {.stop_on_assign = true};
    cconf = rd_kafka_conf_new();
    rd_kafka_conf_set(cconf, "bootstrap.servers", boot, errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "group.id", "g", errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "partition.assignment.strategy", "cooperative-sticky", errstr,
                      sizeof errstr);
    y.c = kafka_consumer_new(&loop, cconf, "t", &h, &y, err, sizeof err);
    assert_non_null(y.c);
    uv_timer_init(&loop, &y.deadline);
    y.deadline.data = &y;
    uv_timer_start(&y.deadline, on_deadline, 30000, 0);
    assert_int_equal(kafka_consumer_start(y.c, err, sizeof err), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_false(y.timed_out);
    assert_int_equal(y.assigned, PARTS);
    for (int p = 0; p < PARTS; p++) {
        char want[KAFKA_COMMIT_META_MAX];
        snprintf(want, sizeof want, "meta-%d-%d", p, PER_PART);
        assert_int_equal(y.start[p], PER_PART);
        assert_string_equal(y.meta[p], want);
    }
    kafka_consumer_close(y.c);
    kafka_consumer_free(y.c, NULL, NULL);
    uv_close((uv_handle_t *)&y.deadline, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    rd_kafka_destroy(mock_owner);
}

/* ---- a drain through a prefetch queue much smaller than the topic ---- */

#define DRAIN_MSGS  3000
#define DRAIN_VALUE 1024
#define HOLD        100

typedef struct drain_ctx {
    kafka_consumer *c;
    rd_kafka_message_t *held[HOLD];
    size_t nheld;
    int received;
    int64_t next;
    uv_timer_t release, deadline;
    bool timed_out;
} drain_ctx;

static void drain_messages(void *ud, rd_kafka_message_t **msgs, size_t n)
{
    drain_ctx *x = ud;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(msgs[i]->offset, x->next); /* every message once, in order */
        x->next++;
        x->received++;
        assert_true(x->nheld < HOLD);
        x->held[x->nheld++] = msgs[i];
    }
    kafka_consumer_set_capacity(x->c, HOLD - x->nheld);
}

/* Like a database sink: what was taken is released a little later, all at once. */
static void on_release(uv_timer_t *t)
{
    drain_ctx *x = t->data;
    for (size_t i = 0; i < x->nheld; i++) rd_kafka_message_destroy(x->held[i]);
    x->nheld = 0;
    kafka_consumer_set_capacity(x->c, HOLD);
    if (x->received == DRAIN_MSGS) uv_stop(uv_handle_get_loop((uv_handle_t *)t));
}

static void on_drain_deadline(uv_timer_t *t)
{
    ((drain_ctx *)t->data)->timed_out = true;
    uv_stop(uv_handle_get_loop((uv_handle_t *)t));
}

static void test_small_queue_does_not_stall(void **state)
{
    (void)state;
    char errstr[256];
    const char *boot;
    rd_kafka_t *mock_owner = mock_cluster("d", 1, &boot);
    static char value[DRAIN_VALUE];
    memset(value, 'x', sizeof value);
    produce(boot, "d", 1, value, sizeof value, DRAIN_MSGS);

    uv_loop_t loop;
    uv_loop_init(&loop);
    drain_ctx x = {0};
    rd_kafka_conf_t *cconf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", boot},
                           {"group.id", "gd"},
                           {"auto.offset.reset", "earliest"},
                           {"enable.auto.offset.store", "false"},
                           /* ~3 MB of messages through a 64 KiB queue: about 50 refills, each
                            * of which may wait for the broker thread's next wake-up unless the
                            * consumer wakes it. */
                           {"queued.max.messages.kbytes", "64"},
                           {"message.max.bytes", "65536"},
                           {"fetch.max.bytes", "65536"},
                           {"max.partition.fetch.bytes", "65536"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        assert_int_equal(rd_kafka_conf_set(cconf, kv[i][0], kv[i][1], errstr, sizeof errstr),
                         RD_KAFKA_CONF_OK);
    kafka_consumer_handler h = {drain_messages, NULL, NULL, on_error};
    char err[256];
    x.c = kafka_consumer_new(&loop, cconf, "d", &h, &x, err, sizeof err);
    if (!x.c) fail_msg("%s", err);
    kafka_consumer_set_capacity(x.c, HOLD);
    uv_timer_init(&loop, &x.release);
    uv_timer_init(&loop, &x.deadline);
    x.release.data = x.deadline.data = &x;
    uv_timer_start(&x.release, on_release, 2, 2);
    /* A bound on liveness, not a speed measurement. */
    uv_timer_start(&x.deadline, on_drain_deadline, 25000, 0);
    assert_int_equal(kafka_consumer_start(x.c, err, sizeof err), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_false(x.timed_out);
    assert_int_equal(x.received, DRAIN_MSGS);
    assert_true(kafka_consumer_wakeups(x.c) > 0);

    kafka_consumer_close(x.c);
    kafka_consumer_free(x.c, NULL, NULL);
    uv_close((uv_handle_t *)&x.release, NULL);
    uv_close((uv_handle_t *)&x.deadline, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    rd_kafka_destroy(mock_owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consume_and_commit_per_partition),
        cmocka_unit_test(test_small_queue_does_not_stall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
