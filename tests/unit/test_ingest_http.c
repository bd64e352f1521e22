/* Unit tests for the randomuser HTTP client (ingest/http.c) against the in-process fake API
 * (ingest/fakeapi.c): batches, seeded replay, connection reuse, retries of injected failures,
 * immediate 4xx errors, network errors, timeouts and stop requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/api.h"
#include "ingest/fakeapi.h"

static ingest_fakeapi *start(double fail_rate, long max_results)
{
    ingest_fakeapi_opts o = {.bind = "127.0.0.1",
                             .port = 0,
                             .fail_rate = fail_rate,
                             .threads = 2,
                             .max_results = max_results};
    char err[256];
    ingest_fakeapi *f = ingest_fakeapi_start(&o, err, sizeof err);
    if (!f) fail_msg("fake api: %s", err);
    assert_true(ingest_fakeapi_port(f) > 0);
    return f;
}

static ingest_api *client(char *url, size_t urllen, int port, const char *path, int retries,
                          const char *seed)
{
    snprintf(url, urllen, "http://127.0.0.1:%d%s", port, path);
    ingest_api_opts o = {.url = url,
                         .results = 50,
                         .timeout = 5,
                         .connect_timeout = 2,
                         .max_retries = retries,
                         .backoff = 0.001,
                         .backoff_max = 0.01,
                         .seed = seed};
    char err[256];
    ingest_api *a = ingest_api_new(&o, err, sizeof err);
    if (!a) fail_msg("client: %s", err);
    return a;
}

static void test_fetch_batches(void **state)
{
    (void)state;
    ingest_fakeapi *f = start(0, 5000);
    char url[128], err[512];
    ingest_api *a = client(url, sizeof url, ingest_fakeapi_port(f), "/api/", 0, NULL);
    ingest_api_batch *b;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ingest_api_fetch(a, 0, &b, err, sizeof err), INGEST_OK);
        assert_int_equal(ingest_api_batch_size(b), 50);
        ingest_api_batch_free(b);
    }
    assert_int_equal(ingest_api_fetch(a, 7, &b, err, sizeof err), INGEST_OK);
    assert_int_equal(ingest_api_batch_size(b), 7);
    ingest_api_batch_free(b);
    ingest_api_stats st;
    ingest_api_get_stats(a, &st);
    assert_int_equal(st.requests, 6);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.connects, 1); /* one kept-alive connection for all six requests */
    ingest_fakeapi_stats fs;
    ingest_fakeapi_get_stats(f, &fs);
    assert_int_equal(fs.requests, 6);
    assert_int_equal(fs.users, 257);
    ingest_api_free(a);
    ingest_fakeapi_stop(f);
}

/* With a seed the client sends seed=S&page=P: two clients see the same users, page by page. */
static void test_seeded_pages_replay(void **state)
{
    (void)state;
    ingest_fakeapi *f = start(0, 5000);
    char u1[128], u2[128], err[512];
    ingest_api *a = client(u1, sizeof u1, ingest_fakeapi_port(f), "/api/?nat=ignored", 0, "s1");
    ingest_api *b = client(u2, sizeof u2, ingest_fakeapi_port(f), "/api", 0, "s1");
    ingest_api_batch *x, *y;
    for (int page = 0; page < 3; page++) {
        assert_int_equal(ingest_api_fetch(a, 0, &x, err, sizeof err), INGEST_OK);
        assert_int_equal(ingest_api_fetch(b, 0, &y, err, sizeof err), INGEST_OK);
        ingest_user ux, uy;
        for (size_t i = 0; i < 50; i++) {
            assert_int_equal(ingest_api_batch_user(x, i, &ux, err, sizeof err), INGEST_OK);
            assert_int_equal(ingest_api_batch_user(y, i, &uy, err, sizeof err), INGEST_OK);
            assert_int_equal(ux.email.n, uy.email.n);
            assert_memory_equal(ux.email.p, uy.email.p, ux.email.n);
            assert_memory_equal(ux.dob.p, uy.dob.p, ux.dob.n);
        }
        ingest_api_batch_free(x);
        ingest_api_batch_free(y);
    }
    ingest_api_free(a);
    ingest_api_free(b);
    ingest_fakeapi_stop(f);
}

static void test_injected_failures_are_retried(void **state)
{
    (void)state;
    ingest_fakeapi *f = start(0.5, 5000);
    char url[128], err[512];
    ingest_api *a = client(url, sizeof url, ingest_fakeapi_port(f), "/api/", 30, NULL);
    ingest_api_batch *b;
    for (int i = 0; i < 40; i++) {
        ingest_err e = ingest_api_fetch(a, 0, &b, err, sizeof err);
        if (e) fail_msg("fetch %d: %s", i, err);
        assert_int_equal(ingest_api_batch_size(b), 50);
        ingest_api_batch_free(b);
    }
    ingest_api_stats st;
    ingest_api_get_stats(a, &st);
    assert_true(st.retries > 5);
    assert_true(st.http_errors > 0);
    assert_true(st.bad_answers > 0); /* HTML pages and JSON cut short */
    assert_int_equal(st.requests, 40 + st.retries);
    ingest_api_free(a);
    ingest_fakeapi_stop(f);
}

static void test_retries_run_out(void **state)
{
    (void)state;
    ingest_fakeapi *f = start(1.0, 5000);
    char url[128], err[512];
    ingest_api *a = client(url, sizeof url, ingest_fakeapi_port(f), "/api/", 3, NULL);
    ingest_api_batch *b;
    ingest_err e = ingest_api_fetch(a, 0, &b, err, sizeof err);
    assert_true(ingest_err_retriable(e));
    assert_null(b);
    assert_non_null(strstr(err, "(gave up after 3 retries)"));
    ingest_api_stats st;
    ingest_api_get_stats(a, &st);
    assert_int_equal(st.requests, 4);
    ingest_api_free(a);
    ingest_fakeapi_stop(f);
}

static void test_4xx_is_not_retried(void **state)
{
    (void)state;
    ingest_fakeapi *f = start(0, 10);
    char url[128], err[512];
    ingest_api *a = client(url, sizeof url, ingest_fakeapi_port(f), "/nope/", 5, NULL);
    ingest_api_batch *b;
    assert_int_equal(ingest_api_fetch(a, 0, &b, err, sizeof err), INGEST_ERR_HTTP);
    assert_non_null(strstr(err, "HTTP 404"));
    ingest_api_free(a);
    /* results above the server's maximum: 400, with the server's message in the error. */
    a = client(url, sizeof url, ingest_fakeapi_port(f), "/api/", 5, NULL);
    assert_int_equal(ingest_api_fetch(a, 0, &b, err, sizeof err), INGEST_ERR_HTTP);
    assert_non_null(strstr(err, "HTTP 400"));
    assert_non_null(strstr(err, "results must be"));
    ingest_api_stats st;
    ingest_api_get_stats(a, &st);
    assert_int_equal(st.requests, 1);
    ingest_api_free(a);
    ingest_fakeapi_stop(f);
}

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_network_errors_and_timeouts(void **state)
{
    (void)state;
    char url[128], err[512];
    /* Connection refused: a port that was just free. */
    int port, fd = listener(&port);
    close(fd);
    ingest_api *a = client(url, sizeof url, port, "/api/", 2, NULL);
    ingest_api_batch *b;
    assert_int_equal(ingest_api_fetch(a, 0, &b, err, sizeof err), INGEST_ERR_NET);
    ingest_api_stats st;
    ingest_api_get_stats(a, &st);
    assert_int_equal(st.net_errors, 3);
    ingest_api_free(a);
    /* A server that accepts connections (the kernel does) but never answers: timeout. */
    fd = listener(&port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/", port);
    ingest_api_opts o = {.url = url,
                         .results = 5,
                         .timeout = 0.2,
                         .connect_timeout = 0.2,
                         .max_retries = 1,
                         .backoff = 0.001,
                         .backoff_max = 0.001};
    a = ingest_api_new(&o, err, sizeof err);
    assert_int_equal(ingest_api_fetch(a, 0, &b, err, sizeof err), INGEST_ERR_NET);
    assert_non_null(strstr(err, "timed out"));
    ingest_api_free(a);
    /* A stop request ends a fetch at once. */
    volatile sig_atomic_t stop = 1;
    o.stop = &stop;
    o.timeout = 10;
    a = ingest_api_new(&o, err, sizeof err);
    assert_int_equal(ingest_api_fetch(a, 0, &b, err, sizeof err), INGEST_ERR_STOPPED);
    ingest_api_free(a);
    close(fd);
}

static void test_bad_settings(void **state)
{
    (void)state;
    char err[256];
    ingest_api_opts o = {.url = ""};
    assert_null(ingest_api_new(&o, err, sizeof err));
    assert_string_equal(err, "no API URL");
    ingest_fakeapi_opts fo = {.bind = "localhost-ish", .port = 0};
    assert_null(ingest_fakeapi_start(&fo, err, sizeof err));
    assert_non_null(strstr(err, "invalid bind address"));
    /* The same port twice: the second cannot listen. */
    ingest_fakeapi *f = start(0, 10);
    fo.bind = "127.0.0.1";
    fo.port = ingest_fakeapi_port(f);
    ingest_fakeapi *g = ingest_fakeapi_start(&fo, err, sizeof err);
    if (g)
        ingest_fakeapi_stop(g); /* SO_REUSEADDR semantics may allow it on some kernels */
    else
        assert_non_null(strstr(err, "cannot listen"));
    ingest_fakeapi_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_batches),
        cmocka_unit_test(test_seeded_pages_replay),
        cmocka_unit_test(test_injected_failures_are_retried),
        cmocka_unit_test(test_retries_run_out),
        cmocka_unit_test(test_4xx_is_not_retried),
        cmocka_unit_test(test_network_errors_and_timeouts),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
