/* Unit tests for pipeline/retry: backoff bounds, growth, jitter ranges, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pipeline/retry.h"

static void test_retry_none(void **state)
{
    (void)state;
    pipe_retry_policy p = {
        .base_ms = 100, .max_ms = 1000, .max_attempts = 6, .jitter = PIPE_JITTER_NONE};
    pipe_retry r;
    pipe_retry_init(&r, &p, 1);
    static const uint64_t want[] = {100, 200, 400, 800, 1000, 1000};
    uint64_t d;
    for (int i = 0; i < 6; i++) {
        assert_true(pipe_retry_next(&r, &d));
        assert_int_equal(d, want[i]);
    }
    assert_false(pipe_retry_next(&r, &d));
    pipe_retry_reset(&r);
    assert_true(pipe_retry_next(&r, &d));
    assert_int_equal(d, 100);
}

static void test_retry_full_jitter(void **state)
{
    (void)state;
    pipe_retry_policy p = {
        .base_ms = 10, .max_ms = 5000, .max_attempts = 0, .jitter = PIPE_JITTER_FULL};
    pipe_retry r;
    pipe_retry_init(&r, &p, 7);
    uint64_t d, max_seen = 0, sum = 0;
    for (int i = 0; i < 10000; i++) {
        assert_true(pipe_retry_next(&r, &d)); /* max_attempts 0: forever */
        uint64_t cap = i < 9 ? 10ull << i : 5000;
        if (cap > 5000) cap = 5000;
        assert_true(d <= cap);
        if (d > max_seen) max_seen = d;
        if (i >= 20) sum += d;
    }
    /* Late delays spread over [0, 5000]: mean near 2500, the maximum near the cap. */
    assert_true(max_seen > 4900);
    uint64_t mean = sum / (10000 - 20);
    assert_in_range(mean, 2300, 2700);
    /* The same seed gives the same sequence. */
    pipe_retry a, b;
    pipe_retry_init(&a, &p, 99);
    pipe_retry_init(&b, &p, 99);
    for (int i = 0; i < 50; i++) {
        uint64_t x, y;
        pipe_retry_next(&a, &x);
        pipe_retry_next(&b, &y);
        assert_int_equal(x, y);
    }
}

static void test_retry_decorrelated(void **state)
{
    (void)state;
    pipe_retry_policy p = {
        .base_ms = 50, .max_ms = 2000, .max_attempts = 1000, .jitter = PIPE_JITTER_DECORRELATED};
    pipe_retry r;
    pipe_retry_init(&r, &p, 3);
    uint64_t d, prev = 50, max_seen = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(pipe_retry_next(&r, &d));
        assert_true(d >= 50 && d <= 2000);
        assert_true(d <= prev * 3);
        prev = d;
        if (d > max_seen) max_seen = d;
    }
    assert_false(pipe_retry_next(&r, &d));
    assert_true(max_seen > 1500);
}

static void test_retry_edges(void **state)
{
    (void)state;
    pipe_retry_policy p = {
        .base_ms = 0, .max_ms = 0, .max_attempts = 0, .jitter = PIPE_JITTER_NONE};
    pipe_retry r;
    pipe_retry_init(&r, &p, 0);
    uint64_t d;
    assert_true(pipe_retry_next(&r, &d));
    assert_int_equal(d, 1);
    p = (pipe_retry_policy){
        .base_ms = UINT64_MAX / 2, .max_ms = UINT64_MAX, .jitter = PIPE_JITTER_DECORRELATED};
    pipe_retry_init(&r, &p, 5);
    for (int i = 0; i < 100; i++) assert_true(pipe_retry_next(&r, &d) && d >= UINT64_MAX / 2);
    p.jitter = PIPE_JITTER_NONE;
    pipe_retry_init(&r, &p, 5);
    for (int i = 0; i < 100; i++) assert_true(pipe_retry_next(&r, &d) && d >= UINT64_MAX / 2);
    pipe_jitter j;
    assert_int_equal(pipe_jitter_parse("decorrelated", &j), 0);
    assert_int_equal(j, PIPE_JITTER_DECORRELATED);
    assert_int_equal(pipe_jitter_parse("bogus", &j), -1);
    assert_string_equal(pipe_jitter_name(PIPE_JITTER_FULL), "full");
    pipe_retry_policy def = PIPE_RETRY_POLICY_DEFAULT;
    assert_int_equal(def.max_attempts, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_none),
        cmocka_unit_test(test_retry_full_jitter),
        cmocka_unit_test(test_retry_decorrelated),
        cmocka_unit_test(test_retry_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
