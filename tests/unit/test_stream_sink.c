/* The sink's adaptive concurrency limit (AIMD, stream/sink.c): grows by about one per round
 * trip while answers are fast and the limit is in use, is cut by 30% on Overloaded, timeouts or
 * slow answers, at most once per round trip, and stays between 1 and --max-inflight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stream/engine.h"

static stream_engine *engine(double limit, double max, uint64_t target_us)
{
    static stream_engine e;
    memset(&e, 0, sizeof e);
    e.limit = limit;
    e.limit_max = max;
    e.lat_target_us = target_us;
    return &e;
}

static void test_grows_one_per_round_trip_when_used(void **state)
{
    (void)state;
    stream_engine *e = engine(10, 100, 100000);
    e->requests = 9; /* the limit is in use: this answer's request was one of 10 */
    for (int i = 0; i < 10; i++) stream_sink_feedback(e, NULL, mono_us(), 5000);
    assert_true(e->limit > 10.9 && e->limit < 11.1);
    /* Not in use (few requests in flight): no growth, or an idle pipeline would grow forever. */
    e->requests = 0;
    double before = e->limit;
    for (int i = 0; i < 100; i++) stream_sink_feedback(e, NULL, mono_us(), 5000);
    assert_true(e->limit == before);
    /* Never past the bound. */
    e = engine(99.95, 100, 100000);
    e->requests = 200;
    for (int i = 0; i < 1000; i++) stream_sink_feedback(e, NULL, mono_us(), 5000);
    assert_true(e->limit == 100);
}

static void test_cut_once_per_round_trip(void **state)
{
    (void)state;
    stream_engine *e = engine(100, 1000, 100000);
    uint64_t sent = mono_us();
    cql_error over = {.code = CQL_ERR_OVERLOADED};
    stream_sink_feedback(e, &over, sent + 1, 1000);
    assert_true(e->limit > 69.9 && e->limit < 70.1);
    assert_int_equal(e->limit_cuts, 1);
    /* Answers to requests sent before that cut do not cut again. */
    cql_error timeout = {.code = CQL_E_TIMEOUT};
    stream_sink_feedback(e, &timeout, sent, 1000);
    stream_sink_feedback(e, NULL, sent, 500000); /* slow */
    assert_int_equal(e->limit_cuts, 1);
    /* One sent after it does: a slow answer counts like an error. */
    stream_sink_feedback(e, NULL, mono_us() + 1, 500000);
    assert_int_equal(e->limit_cuts, 2);
    assert_true(e->limit > 48.9 && e->limit < 49.1);
    /* Other errors (a rejected record) say nothing about load. */
    cql_error invalid = {.code = CQL_ERR_INVALID};
    stream_sink_feedback(e, &invalid, mono_us() + 10, 1000);
    assert_int_equal(e->limit_cuts, 2);
    /* The floor is 1. */
    for (int i = 0; i < 50; i++) stream_sink_feedback(e, &over, mono_us() + 1000 + (uint64_t)i, 1);
    assert_true(e->limit == 1.0);
}

static void test_target_zero_is_fixed(void **state)
{
    (void)state;
    stream_engine *e = engine(64, 64, 0);
    cql_error over = {.code = CQL_ERR_OVERLOADED};
    stream_sink_feedback(e, &over, mono_us() + 1, 1);
    stream_sink_feedback(e, NULL, mono_us() + 1, 10000000);
    assert_true(e->limit == 64);
    assert_int_equal(e->limit_cuts, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_one_per_round_trip_when_used),
        cmocka_unit_test(test_cut_once_per_round_trip),
        cmocka_unit_test(test_target_zero_is_fixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
