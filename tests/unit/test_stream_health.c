/* Unit tests for stream/health: the stall watch, the since clock, and the /healthz verdict's
 * three checks (stalled partition, Cassandra unreachable, no assignment), their bounds, the
 * order of reasons, and clearing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "stream/health.h"

#define S 1000000ull /* one second in µs */

static const stream_health_limits limits = {.stall_s = 5, .unreachable_s = 30, .unassigned_s = 60};

static stream_health_verdict eval(const stream_health_snapshot *s, const stream_health_limits *l)
{
    stream_health_verdict v;
    memset(&v, 0x55, sizeof v);
    stream_health_eval(s, l, &v);
    return v;
}

static void test_watch(void **state)
{
    (void)state;
    stream_health_watch w = {0};
    /* No backlog: never stalled, however long the offset stays. */
    assert_int_equal(stream_health_watch_update(&w, 1, 100, 0, 10 * S), 0);
    assert_int_equal(stream_health_watch_update(&w, 1, 100, 0, 90 * S), 0);
    /* A backlog appears: counted from the last time there was none. */
    assert_int_equal(stream_health_watch_update(&w, 1, 100, 40, 91 * S), 1 * S);
    assert_int_equal(stream_health_watch_update(&w, 1, 100, 40, 96 * S), 6 * S);
    /* The offset moves: the clock starts again. */
    assert_int_equal(stream_health_watch_update(&w, 1, 120, 20, 97 * S), 0);
    assert_int_equal(stream_health_watch_update(&w, 1, 120, 20, 99 * S), 2 * S);
    /* Unknown backlog (no watermark yet) is not a stall. */
    assert_int_equal(stream_health_watch_update(&w, 1, 120, -1, 100 * S), 0);
    assert_int_equal(stream_health_watch_update(&w, 1, 120, 20, 101 * S), 1 * S);
    /* A new assignment of the partition starts afresh even at the same offset. */
    assert_int_equal(stream_health_watch_update(&w, 2, 120, 20, 150 * S), 0);
    assert_int_equal(stream_health_watch_update(&w, 2, 120, 20, 151 * S), 1 * S);
}

static void test_since(void **state)
{
    (void)state;
    uint64_t since = 0;
    assert_int_equal(stream_health_since(&since, false, 5 * S), 0);
    assert_int_equal(since, 0);
    assert_int_equal(stream_health_since(&since, true, 6 * S), 0);
    assert_int_equal(stream_health_since(&since, true, 36 * S), 30 * S);
    assert_int_equal(stream_health_since(&since, false, 37 * S), 0);
    assert_int_equal(stream_health_since(&since, true, 38 * S), 0);
    /* A clock that starts at 0 still counts. */
    since = 0;
    assert_int_equal(stream_health_since(&since, true, 0), 0);
    assert_int_equal(stream_health_since(&since, true, 2 * S), 2 * S - 1);
}

static void test_healthy(void **state)
{
    (void)state;
    stream_health_part parts[] = {{.id = 0, .committed = 10, .backlog = 0, .stalled_us = 0},
                                  {.id = 1, .committed = 7, .backlog = 3, .stalled_us = 4 * S}};
    stream_health_snapshot s = {.running = true, .topic = "t", .parts = parts, .nparts = 2};
    stream_health_verdict v = eval(&s, &limits);
    assert_true(v.healthy);
    assert_int_equal(v.failed, STREAM_HEALTH_OK);
    assert_string_equal(v.reason, "ok");
}

static void test_stalled(void **state)
{
    (void)state;
    stream_health_part parts[] = {{.id = 0, .committed = 10, .backlog = 0, .stalled_us = 0},
                                  {.id = 2, .committed = 100, .backlog = 40, .stalled_us = 5 * S}};
    stream_health_snapshot s = {.running = true, .topic = "users", .parts = parts, .nparts = 2};
    stream_health_verdict v = eval(&s, &limits);
    assert_false(v.healthy);
    assert_int_equal(v.failed, STREAM_HEALTH_STALLED);
    assert_string_equal(v.reason, "stalled: topic users partition 2: committed offset 100 has not "
                                  "moved for 5 s with 40 records pending");
    /* Several: the longest is named, the others counted. */
    parts[0] = (stream_health_part){.id = 0, .committed = 9, .backlog = 1, .stalled_us = 8 * S};
    v = eval(&s, &limits);
    assert_string_equal(v.reason, "stalled: topic users partition 0: committed offset 9 has not "
                                  "moved for 8 s with 1 records pending (and 1 more partitions)");
    /* Off at 0. */
    stream_health_limits off = limits;
    off.stall_s = 0;
    assert_true(eval(&s, &off).healthy);
}

static void test_unreachable(void **state)
{
    (void)state;
    stream_health_part part = {.id = 0, .committed = 5, .backlog = 0};
    stream_health_snapshot s = {.running = true,
                                .topic = "t",
                                .parts = &part,
                                .nparts = 1,
                                .unreachable_us = 29 * S,
                                .cassandra_error = "no Cassandra host is up"};
    /* A blip shorter than the bound is healthy. */
    assert_true(eval(&s, &limits).healthy);
    s.unreachable_us = 30 * S;
    stream_health_verdict v = eval(&s, &limits);
    assert_false(v.healthy);
    assert_int_equal(v.failed, STREAM_HEALTH_UNREACHABLE);
    assert_string_equal(v.reason,
                        "cassandra unreachable: no host up for 30 s, last error: no Cassandra "
                        "host is up");
    s.cassandra_error = "";
    assert_string_equal(eval(&s, &limits).reason, "cassandra unreachable: no host up for 30 s");
    /* Back up: healthy again. */
    s.unreachable_us = 0;
    assert_true(eval(&s, &limits).healthy);
}

static void test_unassigned(void **state)
{
    (void)state;
    stream_health_snapshot s = {.running = true, .topic = "t", .unassigned_us = 59 * S};
    assert_true(eval(&s, &limits).healthy);
    s.unassigned_us = 61 * S;
    stream_health_verdict v = eval(&s, &limits);
    assert_false(v.healthy);
    assert_int_equal(v.failed, STREAM_HEALTH_UNASSIGNED);
    assert_string_equal(v.reason, "unassigned: no partition of topic t assigned for 61 s");
    stream_health_limits off = limits;
    off.unassigned_s = 0;
    assert_true(eval(&s, &off).healthy);
}

/* Only a running engine is judged: start-up and draining have bounds of their own. */
static void test_not_running(void **state)
{
    (void)state;
    stream_health_part part = {.id = 0, .committed = 5, .backlog = 9, .stalled_us = 600 * S};
    stream_health_snapshot s = {.running = false,
                                .topic = "t",
                                .parts = &part,
                                .nparts = 1,
                                .unreachable_us = 600 * S,
                                .unassigned_us = 600 * S};
    stream_health_verdict v = eval(&s, &limits);
    assert_true(v.healthy);
    assert_string_equal(v.reason, "ok");
}

static void test_several(void **state)
{
    (void)state;
    stream_health_part part = {.id = 1, .committed = 5, .backlog = 9, .stalled_us = 40 * S};
    stream_health_snapshot s = {
        .running = true, .topic = "t", .parts = &part, .nparts = 1, .unreachable_us = 35 * S};
    stream_health_verdict v = eval(&s, &limits);
    assert_int_equal(v.failed, STREAM_HEALTH_UNREACHABLE);
    assert_string_equal(v.reason, "cassandra unreachable: no host up for 35 s; also stalled: "
                                  "topic t partition 1: committed offset 5 has not moved for "
                                  "40 s with 9 records pending");
}

/* The whole cycle through the watch: healthy, stalled past the bound, and healthy again as
 * soon as the committed offset moves. */
static void test_stall_clears(void **state)
{
    (void)state;
    stream_health_watch w = {0};
    stream_health_part part = {.id = 0, .committed = 50, .backlog = 10};
    stream_health_snapshot s = {.running = true, .topic = "t", .parts = &part, .nparts = 1};
    bool seen_unhealthy = false;
    for (uint64_t t = 0; t <= 6; t++) {
        part.stalled_us = stream_health_watch_update(&w, 1, 50, 10, t * S);
        stream_health_verdict v = eval(&s, &limits);
        assert_int_equal(v.healthy, t < 5);
        seen_unhealthy |= !v.healthy;
    }
    assert_true(seen_unhealthy);
    part.committed = 55;
    part.backlog = 5;
    part.stalled_us = stream_health_watch_update(&w, 1, 55, 5, 7 * S);
    assert_true(eval(&s, &limits).healthy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch),        cmocka_unit_test(test_since),
        cmocka_unit_test(test_healthy),      cmocka_unit_test(test_stalled),
        cmocka_unit_test(test_unreachable),  cmocka_unit_test(test_unassigned),
        cmocka_unit_test(test_not_running),  cmocka_unit_test(test_several),
        cmocka_unit_test(test_stall_clears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
