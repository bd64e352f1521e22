/* Unit tests for util/hist (quantiles, precision, merge) and util/metrics (text, HTTP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "util/hist.h"
#include "util/metrics.h"

static hist h1, h2;

static void test_quantiles(void **state)
{
    (void)state;
    hist_reset(&h1);
    assert_int_equal(hist_quantile(&h1, 0.5), 0);
    for (uint64_t v = 1; v <= 10000; v++) hist_record(&h1, v);
    assert_int_equal(h1.count, 10000);
    assert_int_equal(h1.max, 10000);
    uint64_t p50 = hist_quantile(&h1, 0.5), p99 = hist_quantile(&h1, 0.99);
    /* Buckets are 1/16 of a power of two wide: within 6.25% above the true value. */
    assert_in_range(p50, 5000, 5000 + 5000 / 16 + 1);
    assert_in_range(p99, 9900, 9900 + 9900 / 16 + 1);
    assert_int_equal(hist_quantile(&h1, 1.0), 10000);
    assert_int_equal(hist_quantile(&h1, 0.0), 1);
}

static void test_small_values_exact_and_merge(void **state)
{
    (void)state;
    hist_reset(&h1);
    hist_reset(&h2);
    for (int i = 0; i < 10; i++) hist_record(&h1, 3);
    for (int i = 0; i < 10; i++) hist_record(&h2, 7);
    hist_record(&h2, UINT64_MAX);
    hist_merge(&h1, &h2);
    assert_int_equal(h1.count, 21);
    assert_int_equal(hist_quantile(&h1, 0.25), 3);
    assert_int_equal(hist_quantile(&h1, 0.75), 7);
    assert_true(hist_quantile(&h1, 1.0) == UINT64_MAX);
}

static void test_prom_text(void **state)
{
    (void)state;
    strbuf b = {0};
    prom_counter(&b, "rtetl_records_total", "Records.", "stage=\"written\"", 42);
    prom_counter(&b, "rtetl_records_total", "Records.", "stage=\"filtered\"", 7);
    prom_gauge(&b, "rtetl_lag", "Lag.", "", 1.5);
    hist_reset(&h1);
    hist_record(&h1, 1000);
    prom_summary(&b, "rtetl_write_seconds", "Write latency.", &h1, 1e-6);
    assert_non_null(strstr(b.data, "# TYPE rtetl_records_total counter\n"
                                   "rtetl_records_total{stage=\"written\"} 42\n"));
    assert_non_null(strstr(b.data, "rtetl_lag 1.5\n"));
    /* One HELP/TYPE pair per family, the samples right after it. */
    assert_non_null(strstr(b.data, "rtetl_records_total{stage=\"written\"} 42\n"
                                   "rtetl_records_total{stage=\"filtered\"} 7\n"
                                   "# HELP rtetl_lag Lag.\n"));
    assert_int_equal(strstr(strstr(b.data, "# TYPE rtetl_records_total") + 1,
                            "# TYPE rtetl_records_total") == NULL,
                     1);
    assert_non_null(strstr(b.data, "rtetl_write_seconds_count 1\n"));
    assert_non_null(strstr(b.data, "rtetl_write_seconds{quantile=\"0.5\"} 0.001"));
    strbuf_free(&b);
}

/* Sends a GET and returns the response (status line first). */
static void http_get(int port, const char *path, char *out, size_t outlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < outlen && (r = read(fd, out + got, outlen - 1 - got)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fd);
}

static void test_server(void **state)
{
    (void)state;
    char err[256], resp[4096];
    metrics_server *s = metrics_server_start("127.0.0.1", 0, err, sizeof err);
    assert_non_null(s);
    int port = metrics_server_port(s);
    assert_true(port > 0);
    http_get(port, "/healthz", resp, sizeof resp);
    assert_non_null(strstr(resp, " 503 "));
    assert_non_null(strstr(resp, "starting"));
    metrics_server_publish(s, "m 1\n", 4, true, NULL);
    http_get(port, "/healthz", resp, sizeof resp);
    assert_non_null(strstr(resp, " 200 "));
    http_get(port, "/metrics", resp, sizeof resp);
    assert_non_null(strstr(resp, "\r\n\r\nm 1\n"));
    http_get(port, "/nope", resp, sizeof resp);
    assert_non_null(strstr(resp, " 404 "));
    metrics_server_publish(s, "", 0, false, "cassandra unreachable");
    http_get(port, "/healthz", resp, sizeof resp);
    assert_non_null(strstr(resp, "cassandra unreachable"));
    /* /readyz is apart from /healthz: 503 "starting" until set, then what was set. */
    http_get(port, "/readyz", resp, sizeof resp);
    assert_non_null(strstr(resp, " 503 "));
    assert_non_null(strstr(resp, "\r\n\r\nstarting\n"));
    metrics_server_set_ready(s, true, "ok");
    http_get(port, "/readyz", resp, sizeof resp);
    assert_non_null(strstr(resp, " 200 "));
    assert_non_null(strstr(resp, "\r\n\r\nok\n"));
    http_get(port, "/healthz", resp, sizeof resp);
    assert_non_null(strstr(resp, " 503 "));
    metrics_server_set_ready(s, false, "stopping: draining 3 records in flight");
    http_get(port, "/readyz", resp, sizeof resp);
    assert_non_null(strstr(resp, " 503 "));
    assert_non_null(strstr(resp, "stopping: draining 3 records in flight\n"));
    assert_null(metrics_server_start("not-an-ip", 0, err, sizeof err));
    assert_string_equal(err, "metrics: invalid bind address 'not-an-ip' (IPv4 expected)");
    metrics_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_small_values_exact_and_merge),
        cmocka_unit_test(test_prom_text),
        cmocka_unit_test(test_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
