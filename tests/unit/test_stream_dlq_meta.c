/* Unit tests for stream/dlq_meta: reading the reason headers, the header copy rules of the
 * stream and of a replay (rtetl.replay.count), and the replay filters and their parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "stream/dlq_meta.h"

/* The value of the only (or last) header `name` as a string, or NULL when absent. */
static const char *hval(const rd_kafka_headers_t *h, const char *name, char *buf, size_t len)
{
    const void *v;
    size_t n;
    if (rd_kafka_header_get_last(h, name, &v, &n)) return NULL;
    snprintf(buf, len, "%.*s", (int)n, v ? (const char *)v : "");
    return buf;
}

/* A dead letter's headers: an original "trace", a null-valued "empty", the reason headers. */
static rd_kafka_headers_t *dead_letter(const char *count)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(12);
    rd_kafka_header_add(h, "trace", -1, "t-1", -1);
    rd_kafka_header_add(h, "empty", -1, NULL, 0);
    if (count) rd_kafka_header_add(h, STREAM_DLQ_REPLAY_COUNT, -1, count, -1);
    rd_kafka_header_add(h, "rtetl.error", -1, "wrong_type", -1);
    rd_kafka_header_add(h, "rtetl.error.detail", -1, "field post_code: expected int", -1);
    rd_kafka_header_add(h, "rtetl.source.topic", -1, "users", -1);
    rd_kafka_header_add(h, "rtetl.source.partition", -1, "3", -1);
    rd_kafka_header_add(h, "rtetl.source.offset", -1, "1234", -1);
    rd_kafka_header_add(h, "rtetl.source.timestamp", -1, "1700000000000", -1);
    return h;
}

static void test_info_parse(void **state)
{
    (void)state;
    rd_kafka_headers_t *h = dead_letter("2");
    stream_dlq_info d;
    stream_dlq_info_parse(h, &d);
    assert_string_equal(d.reason, "wrong_type");
    assert_string_equal(d.detail, "field post_code: expected int");
    assert_string_equal(d.source_topic, "users");
    assert_int_equal(d.source_partition, 3);
    assert_int_equal(d.source_offset, 1234);
    assert_int_equal(d.source_timestamp, 1700000000000LL);
    assert_false(d.truncated);
    assert_int_equal(d.replay_count, 2);
    rd_kafka_header_add(h, "rtetl.truncated", -1, "5000000", -1);
    rd_kafka_header_add(h, "rtetl.source.partition", -1, "x", -1); /* the last one counts */
    stream_dlq_info_parse(h, &d);
    assert_true(d.truncated);
    assert_int_equal(d.source_partition, -1);
    rd_kafka_headers_destroy(h);
    stream_dlq_info_parse(NULL, &d); /* a message without headers */
    assert_string_equal(d.reason, "?");
    assert_int_equal(d.source_offset, -1);
    assert_int_equal(d.replay_count, 0);
}

static void test_replay_headers(void **state)
{
    (void)state;
    char b[64];
    rd_kafka_headers_t *dl = dead_letter(NULL);
    rd_kafka_headers_t *h = stream_dlq_replay_headers(dl);
    /* The originals, in order, a null value kept null; no rtetl.* but the new count. */
    assert_int_equal(rd_kafka_header_cnt(h), 3);
    const char *name;
    const void *v;
    size_t n;
    assert_int_equal(rd_kafka_header_get_all(h, 0, &name, &v, &n), 0);
    assert_string_equal(name, "trace");
    assert_int_equal(rd_kafka_header_get_all(h, 1, &name, &v, &n), 0);
    assert_string_equal(name, "empty");
    assert_null(v);
    assert_string_equal(hval(h, STREAM_DLQ_REPLAY_COUNT, b, sizeof b), "1");
    assert_null(hval(h, "rtetl.error", b, sizeof b));
    rd_kafka_headers_destroy(h);
    rd_kafka_headers_destroy(dl);
    dl = dead_letter("2");
    h = stream_dlq_replay_headers(dl);
    assert_int_equal(rd_kafka_header_cnt(h), 3); /* the old count replaced, not added */
    assert_string_equal(hval(h, STREAM_DLQ_REPLAY_COUNT, b, sizeof b), "3");
    rd_kafka_headers_destroy(h);
    rd_kafka_headers_destroy(dl);
    h = stream_dlq_replay_headers(NULL);
    assert_string_equal(hval(h, STREAM_DLQ_REPLAY_COUNT, b, sizeof b), "1");
    rd_kafka_headers_destroy(h);
}

/* What the stream copies into a new dead letter from a replayed record that failed again:
 * the original headers and the count; the reason headers of an earlier dead-lettering (a
 * dead letter fed back raw) are dropped, since the stream adds its own. */
static void test_stream_copy_keeps_count(void **state)
{
    (void)state;
    char b[64];
    rd_kafka_headers_t *src = dead_letter("1");
    rd_kafka_headers_t *dst = rd_kafka_headers_new(4);
    stream_dlq_copy_headers(dst, src, true);
    assert_int_equal(rd_kafka_header_cnt(dst), 3);
    assert_string_equal(hval(dst, STREAM_DLQ_REPLAY_COUNT, b, sizeof b), "1");
    assert_string_equal(hval(dst, "trace", b, sizeof b), "t-1");
    assert_null(hval(dst, "rtetl.source.offset", b, sizeof b));
    stream_dlq_copy_headers(dst, NULL, true); /* no headers: nothing added */
    assert_int_equal(rd_kafka_header_cnt(dst), 3);
    rd_kafka_headers_destroy(dst);
    rd_kafka_headers_destroy(src);
}

static void test_reasons_parse(void **state)
{
    (void)state;
    char err[256];
    stream_dlq_filter f;
    stream_dlq_filter_init(&f);
    assert_int_equal(
        stream_dlq_filter_add_reasons(&f, "wrong_type,malformed_json", err, sizeof err), 0);
    assert_int_equal(stream_dlq_filter_add_reasons(&f, "write_rejected", err, sizeof err), 0);
    assert_int_equal(f.nreasons, 3);
    assert_string_equal(f.reasons[1], "malformed_json");
    assert_int_equal(stream_dlq_filter_add_reasons(&f, "a,,b", err, sizeof err), -1);
    assert_string_equal(err, "reason list 'a,,b': empty item");
    assert_int_equal(stream_dlq_filter_add_reasons(&f, "wrong_type,Bad Name", err, sizeof err), -1);
    assert_string_equal(err, "reason 'Bad Name': expected lower-case letters, digits, _ . -");
    assert_int_equal(stream_dlq_filter_add_reasons(&f, "", err, sizeof err), -1);
    stream_dlq_filter_free(&f);
    assert_int_equal(f.nreasons, 0);
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t t = 0, now = 1800000000000LL;
    assert_int_equal(stream_dlq_parse_time("2h", now, &t), 0);
    assert_int_equal(t, now - 7200000);
    assert_int_equal(stream_dlq_parse_time("90s", now, &t), 0);
    assert_int_equal(t, now - 90000);
    assert_int_equal(stream_dlq_parse_time("2026-11-26T13:00:00Z", now, &t), 0);
    assert_int_equal(t, 1795698000000LL);
    assert_int_equal(stream_dlq_parse_time("2026-11-26T13:00:00.250Z", now, &t), 0);
    assert_int_equal(t, 1795698000250LL);
    assert_int_equal(stream_dlq_parse_time("1795698000250", now, &t), 0);
    assert_int_equal(t, 1795698000250LL);
    assert_int_equal(stream_dlq_parse_time("2026-11-26T13:00:00+02:00", now, &t), -1);
    assert_int_equal(stream_dlq_parse_time("yesterday", now, &t), -1);
    assert_int_equal(stream_dlq_parse_time("", now, &t), -1);
    char buf[40];
    stream_dlq_format_time(1795698000250LL, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-26T13:00:00.250Z");
    stream_dlq_format_time(-1, buf, sizeof buf);
    assert_string_equal(buf, "-");
}

static void test_filter_match(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_headers_t *h = dead_letter(NULL);
    stream_dlq_info d;
    stream_dlq_info_parse(h, &d);
    rd_kafka_headers_destroy(h);
    stream_dlq_filter f;
    stream_dlq_filter_init(&f);
    assert_true(stream_dlq_filter_match(&f, &d, -1)); /* empty filter: everything */
    assert_int_equal(stream_dlq_filter_add_reasons(&f, "malformed_json", err, sizeof err), 0);
    assert_false(stream_dlq_filter_match(&f, &d, 5));
    assert_int_equal(stream_dlq_filter_add_reasons(&f, "wrong_type", err, sizeof err), 0);
    assert_true(stream_dlq_filter_match(&f, &d, 5));
    f.partition = 2;
    assert_false(stream_dlq_filter_match(&f, &d, 5));
    f.partition = 3;
    f.from_offset = 1234;
    f.to_offset = 1234; /* inclusive bounds */
    assert_true(stream_dlq_filter_match(&f, &d, 5));
    f.from_offset = 1235;
    assert_false(stream_dlq_filter_match(&f, &d, 5));
    f.from_offset = -1;
    f.to_offset = 1233;
    assert_false(stream_dlq_filter_match(&f, &d, 5));
    f.to_offset = -1;
    f.since_ms = 100;
    f.until_ms = 200;
    assert_true(stream_dlq_filter_match(&f, &d, 100));
    assert_true(stream_dlq_filter_match(&f, &d, 200));
    assert_false(stream_dlq_filter_match(&f, &d, 99));
    assert_false(stream_dlq_filter_match(&f, &d, 201));
    assert_false(stream_dlq_filter_match(&f, &d, -1)); /* unknown time, bounded: no */
    d.source_offset = -1;
    f.since_ms = f.until_ms = -1;
    f.from_offset = 0;
    assert_false(stream_dlq_filter_match(&f, &d, 150)); /* unknown offset, bounded: no */
    stream_dlq_filter_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_parse),
        cmocka_unit_test(test_replay_headers),
        cmocka_unit_test(test_stream_copy_keeps_count),
        cmocka_unit_test(test_reasons_parse),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_filter_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
