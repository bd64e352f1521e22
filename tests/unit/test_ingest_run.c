/* Unit tests for the ingest loop (ingest/run.c) on librdkafka's mock cluster: counts, the API
 * source with injected failures, queue-full back-pressure, undelivered records making the run
 * fail, duration and rate limits, stop requests, configuration errors. The real-broker tests are
 * tests/integration/ingest_*_test.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ingest/fakeapi.h"
#include "ingest/ingest.h"
#include "util/log.h"

static volatile sig_atomic_t stop;

static ingest_config base(opt_list *props, const char **items, size_t n)
{
    props->items = items;
    props->n = n;
    stop = 0;
    ingest_config c = {
        .results = 100,
        .http_timeout = 5,
        .max_retries = 30,
        .brokers = "127.0.0.1:1",
        .topic = "ingest-unit",
        .props = props,
        .create_topic = false, /* the mock cluster of librdkafka 2.0 has no CreateTopics */
        .partitions = 3,
        .replication = -1,
        .quiet = true,
        .progress_interval = 5,
        .flush_timeout = 20,
        .stop = &stop,
    };
    return c;
}

static const char *mock[] = {"test.mock.num.brokers=1"};

static void test_builtin_count(void **state)
{
    (void)state;
    opt_list props;
    ingest_config c = base(&props, mock, 1);
    c.count = 2000;
    c.has_seed = true;
    c.seed = 42;
    ingest_result r;
    char err[256] = "";
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_OK);
    assert_int_equal(r.sent, 2000);
    assert_int_equal(r.delivered, 2000);
    assert_int_equal(r.undelivered, 0);
    assert_true(r.cpu > 0);
}

static void test_api_with_failures(void **state)
{
    (void)state;
    ingest_fakeapi_opts fo = {.bind = "127.0.0.1", .fail_rate = 0.3, .threads = 2};
    char err[256] = "", url[96];
    ingest_fakeapi *f = ingest_fakeapi_start(&fo, err, sizeof err);
    assert_non_null(f);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/", ingest_fakeapi_port(f));
    opt_list props;
    ingest_config c = base(&props, mock, 1);
    c.api_url = url;
    c.count = 1234; /* not a multiple of results: the last request asks for 34 */
    ingest_result r;
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_OK);
    assert_int_equal(r.delivered, 1234);
    assert_int_equal(r.bad_records, 0);
    ingest_fakeapi_stats fs;
    ingest_fakeapi_get_stats(f, &fs);
    assert_int_equal(fs.users, 1234); /* nothing fetched beyond the count */
    assert_true(fs.failures > 0);
    assert_int_equal(r.api_errors, fs.failures);
    ingest_fakeapi_stop(f);
}

static void test_api_4xx_stops(void **state)
{
    (void)state;
    ingest_fakeapi_opts fo = {.bind = "127.0.0.1", .threads = 1, .max_results = 10};
    char err[256] = "", url[96];
    ingest_fakeapi *f = ingest_fakeapi_start(&fo, err, sizeof err);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/", ingest_fakeapi_port(f));
    opt_list props;
    ingest_config c = base(&props, mock, 1);
    c.api_url = url;
    c.count = 100; /* asks results=100 > 10: HTTP 400 */
    ingest_result r;
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_ERR_HTTP);
    assert_non_null(strstr(err, "HTTP 400"));
    assert_int_equal(r.sent, 0);
    ingest_fakeapi_stop(f);
}

static void test_queue_full_back_pressure(void **state)
{
    (void)state;
    const char *items[] = {"test.mock.num.brokers=1", "queue.buffering.max.messages=50"};
    opt_list props;
    ingest_config c = base(&props, items, 2);
    c.count = 5000;
    ingest_result r;
    char err[256] = "";
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_OK);
    assert_int_equal(r.delivered, 5000);
    assert_true(r.queue_full > 0);
}

static void test_undelivered_fails(void **state)
{
    (void)state;
    const char *items[] = {"message.timeout.ms=300"};
    opt_list props;
    ingest_config c = base(&props, items, 1); /* no mock: brokers unreachable */
    c.count = 20;
    ingest_result r;
    char err[256] = "";
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_ERR_KAFKA);
    assert_string_equal(err, "20 of 20 records not delivered");
    assert_int_equal(r.undelivered, 20);
}

static void test_duration_and_rate(void **state)
{
    (void)state;
    opt_list props;
    ingest_config c = base(&props, mock, 1);
    c.duration = 0.5;
    c.rate = 200;
    ingest_result r;
    char err[256] = "";
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_OK);
    assert_true(r.sent >= 80 && r.sent <= 110);
    assert_true(r.elapsed >= 0.5 && r.elapsed < 2.0);
    assert_int_equal(r.delivered, r.sent);
}

static void test_stop_requested(void **state)
{
    (void)state;
    opt_list props;
    ingest_config c = base(&props, mock, 1);
    stop = 1;
    ingest_result r;
    char err[256] = "";
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_OK);
    assert_int_equal(r.sent, 0);
}

/* linger.ms from the pace: none up to 1,000/s, then 1 ms per 1,000/s more, capped at 10;
 * unpaced runs linger 10 ms. */
static void test_linger_follows_rate(void **state)
{
    (void)state;
    assert_int_equal(ingest_linger_ms(0), 10);
    assert_int_equal(ingest_linger_ms(1), 0);
    assert_int_equal(ingest_linger_ms(1000), 0);
    assert_int_equal(ingest_linger_ms(1999), 0);
    assert_int_equal(ingest_linger_ms(2000), 1);
    assert_int_equal(ingest_linger_ms(5000), 4);
    assert_int_equal(ingest_linger_ms(11000), 10);
    assert_int_equal(ingest_linger_ms(1e9), 10);
}

static void test_config_errors(void **state)
{
    (void)state;
    const char *items[] = {"not.a.property=1"};
    opt_list props;
    ingest_config c = base(&props, items, 1);
    c.count = 1;
    ingest_result r;
    char err[256] = "";
    assert_int_equal(ingest_run(&c, &r, err, sizeof err), INGEST_ERR_CONFIG);
    assert_string_equal(err, "-X not.a.property: No such configuration property: "
                             "\"not.a.property\"");
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_count),       cmocka_unit_test(test_api_with_failures),
        cmocka_unit_test(test_api_4xx_stops),       cmocka_unit_test(test_queue_full_back_pressure),
        cmocka_unit_test(test_undelivered_fails),   cmocka_unit_test(test_duration_and_rate),
        cmocka_unit_test(test_stop_requested),      cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_linger_follows_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
