/* Unit tests for pipeline/offsets: watermark semantics in order, out of order, across gaps,
 * with growth and reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pipeline/offsets.h"

static void test_empty(void **state)
{
    (void)state;
    pipe_offsets *o = pipe_offsets_new(0);
    int64_t off;
    assert_int_equal(pipe_offsets_committable(o), -1);
    assert_false(pipe_offsets_commit_due(o, &off));
    assert_int_equal(pipe_offsets_done(o, 5), PIPE_OFF_UNKNOWN);
    assert_int_equal(pipe_offsets_inflight(o), 0);
    pipe_offsets_free(o);
}

static void test_in_order(void **state)
{
    (void)state;
    pipe_offsets *o = pipe_offsets_new(4);
    int64_t off;
    for (int64_t i = 100; i < 110; i++) assert_int_equal(pipe_offsets_track(o, i), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_inflight(o), 10);
    assert_int_equal(pipe_offsets_committable(o), 100);
    assert_false(pipe_offsets_commit_due(o, &off)); /* nothing done: 100 is where we began */
    for (int64_t i = 100; i < 110; i++) {
        assert_int_equal(pipe_offsets_done(o, i), PIPE_OFF_OK);
        assert_int_equal(pipe_offsets_committable(o), i + 1);
    }
    assert_true(pipe_offsets_commit_due(o, &off));
    assert_int_equal(off, 110);
    assert_false(pipe_offsets_commit_due(o, &off));
    assert_int_equal(pipe_offsets_inflight(o), 0);
    assert_int_equal(pipe_offsets_done(o, 105), PIPE_OFF_UNKNOWN);
    assert_int_equal(pipe_offsets_track(o, 109), PIPE_OFF_ORDER);
    assert_int_equal(pipe_offsets_track(o, -1), PIPE_OFF_ORDER);
    pipe_offsets_free(o);
}

static void test_out_of_order(void **state)
{
    (void)state;
    pipe_offsets *o = pipe_offsets_new(16);
    int64_t off;
    for (int64_t i = 0; i < 5; i++) pipe_offsets_track(o, i);
    assert_int_equal(pipe_offsets_done(o, 3), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_done(o, 1), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_done(o, 3), PIPE_OFF_DUPLICATE);
    assert_int_equal(pipe_offsets_committable(o), 0);
    assert_int_equal(pipe_offsets_inflight(o), 5);
    assert_int_equal(pipe_offsets_done(o, 0), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 2);
    assert_true(pipe_offsets_commit_due(o, &off));
    assert_int_equal(off, 2);
    assert_int_equal(pipe_offsets_inflight(o), 3);
    assert_int_equal(pipe_offsets_done(o, 4), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 2);
    assert_int_equal(pipe_offsets_done(o, 2), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 5);
    pipe_offsets_free(o);
}

static void test_gaps(void **state)
{
    (void)state;
    pipe_offsets *o = pipe_offsets_new(16);
    static const int64_t offs[] = {10, 11, 15, 20, 21, 40};
    for (size_t i = 0; i < 6; i++) assert_int_equal(pipe_offsets_track(o, offs[i]), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_done(o, 12), PIPE_OFF_UNKNOWN); /* in a gap */
    assert_int_equal(pipe_offsets_done(o, 41), PIPE_OFF_UNKNOWN);
    assert_int_equal(pipe_offsets_done(o, 9), PIPE_OFF_UNKNOWN);
    assert_int_equal(pipe_offsets_done(o, 21), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_done(o, 10), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 11);
    assert_int_equal(pipe_offsets_done(o, 11), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 15); /* the first not-done message */
    assert_int_equal(pipe_offsets_done(o, 15), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_done(o, 20), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 40);
    assert_int_equal(pipe_offsets_done(o, 40), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 41); /* last tracked + 1 */
    pipe_offsets_free(o);
}

static void test_reset(void **state)
{
    (void)state;
    pipe_offsets *o = pipe_offsets_new(16);
    int64_t off;
    for (int64_t i = 50; i < 60; i++) pipe_offsets_track(o, i);
    pipe_offsets_done(o, 50);
    pipe_offsets_reset(o);
    assert_int_equal(pipe_offsets_inflight(o), 0);
    assert_int_equal(pipe_offsets_committable(o), -1);
    assert_int_equal(pipe_offsets_done(o, 51), PIPE_OFF_UNKNOWN);
    /* After a re-assignment the partition may restart below where it was. */
    assert_int_equal(pipe_offsets_track(o, 20), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_done(o, 20), PIPE_OFF_OK);
    assert_true(pipe_offsets_commit_due(o, &off));
    assert_int_equal(off, 21);
    pipe_offsets_free(o);
}

/* Large counts with a sliding window of in-flight messages completed in scrambled order, with
 * gaps; checks the watermark against a brute-force model. */
static void test_large_random(void **state)
{
    (void)state;
    enum { N = 200000, WINDOW = 3000 };
    pipe_offsets *o = pipe_offsets_new(16);
    int64_t *offs = malloc(N * sizeof *offs);
    char *done = calloc(N, 1);
    uint64_t rng = 42;
    int64_t next = 1000;
    for (int i = 0; i < N; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        next += (rng >> 60) == 0 ? 2 + (int64_t)(rng >> 58 & 7) : 1; /* occasional gaps */
        offs[i] = next;
        assert_int_equal(pipe_offsets_track(o, next), PIPE_OFF_OK);
    }
    size_t lowest = 0; /* index of the oldest not-done */
    for (size_t base = 0; base < N; base += WINDOW) {
        size_t end = base + WINDOW < N ? base + WINDOW : N;
        for (size_t k = 0; k < end - base; k++) {
            /* A permutation of the window: stride coprime with most window sizes. */
            size_t i = base + (k * 7919) % (end - base);
            if (done[i]) continue;
            assert_int_equal(pipe_offsets_done(o, offs[i]), PIPE_OFF_OK);
            done[i] = 1;
            while (lowest < N && done[lowest]) lowest++;
            int64_t want = lowest < N ? offs[lowest] : offs[N - 1] + 1;
            assert_int_equal(pipe_offsets_committable(o), want);
        }
        for (size_t i = base; i < end; i++)
            if (!done[i]) assert_int_equal(pipe_offsets_done(o, offs[i]), PIPE_OFF_OK), done[i] = 1;
        while (lowest < N && done[lowest]) lowest++;
    }
    assert_int_equal(pipe_offsets_inflight(o), 0);
    assert_int_equal(pipe_offsets_committable(o), offs[N - 1] + 1);
    free(offs);
    free(done);
    pipe_offsets_free(o);
}

/* The stamp committed with an offset is the one of the newest message below it, whatever order
 * the messages finish in, and across gaps and growth. */
static void test_committable_stamp(void **state)
{
    (void)state;
    pipe_offsets *o = pipe_offsets_new(2);
    assert_int_equal(pipe_offsets_committable_stamp(o), 0);
    int64_t offs[] = {10, 11, 13, 20, 21};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pipe_offsets_track(o, offs[i]), PIPE_OFF_OK);
        pipe_offsets_stamp_last(o, 1000 + offs[i]);
    }
    assert_int_equal(pipe_offsets_done(o, 13), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable_stamp(o), 0); /* 10 still open */
    assert_int_equal(pipe_offsets_done(o, 10), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 11);
    assert_int_equal(pipe_offsets_committable_stamp(o), 1010);
    assert_int_equal(pipe_offsets_done(o, 11), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 20);
    assert_int_equal(pipe_offsets_committable_stamp(o), 1013);
    assert_int_equal(pipe_offsets_done(o, 21), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_done(o, 20), PIPE_OFF_OK);
    assert_int_equal(pipe_offsets_committable(o), 22);
    assert_int_equal(pipe_offsets_committable_stamp(o), 1021);
    pipe_offsets_reset(o);
    assert_int_equal(pipe_offsets_committable_stamp(o), 0);
    pipe_offsets_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),        cmocka_unit_test(test_committable_stamp),
        cmocka_unit_test(test_in_order),     cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_gaps),         cmocka_unit_test(test_reset),
        cmocka_unit_test(test_large_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
