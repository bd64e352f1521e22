/* Unit tests for util/dashboard: the embedded files are the source files byte for byte, each is
 * served by the metrics server with its content type, the page refers only to files it serves
 * (no CDN), and /metrics and /healthz are unchanged beside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "util/dashboard.h"
#include "util/metrics.h"
#include "test_files.h"

static char *read_source(const char *name, size_t *len)
{
    char rel[300];
    snprintf(rel, sizeof rel, "src/util/dashboard/%s", name);
    return test_read_source(rel, len);
}

static void test_lookup(void **state)
{
    (void)state;
    const char *type = NULL;
    const dashboard_asset *index = dashboard_find("/", &type);
    assert_non_null(index);
    assert_string_equal(index->path, "/index.html");
    assert_string_equal(type, "text/html; charset=utf-8");
    assert_ptr_equal(dashboard_find("/index.html", &type), index);
    assert_non_null(dashboard_find("/dashboard.js", &type));
    assert_string_equal(type, "text/javascript; charset=utf-8");
    assert_non_null(dashboard_find("/dashboard.css", &type));
    assert_string_equal(type, "text/css; charset=utf-8");
    assert_null(dashboard_find("/index.htm", &type));
    assert_null(dashboard_find("/metrics", &type));
    assert_null(dashboard_find("", &type));
    assert_null(dashboard_find("/../dashboard.js", &type));
}

/* Every file of the folder is embedded, byte for byte. */
static void test_embedded_equals_sources(void **state)
{
    (void)state;
    char dir[1100];
    test_source_path("src/util/dashboard", dir, sizeof dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        files++;
        char url[300];
        snprintf(url, sizeof url, "/%s", de->d_name);
        const char *type;
        const dashboard_asset *a = dashboard_find(url, &type);
        if (!a) fail_msg("%s is not embedded", url);
        size_t len;
        char *want = read_source(de->d_name, &len);
        assert_int_equal(a->len, len);
        assert_memory_equal(a->data, want, len);
        free(want);
    }
    closedir(d);
    assert_int_equal(files, dashboard_nassets);
}

/* The page loads nothing from elsewhere: every src= and href= is a path this server answers. */
static void test_page_is_self_contained(void **state)
{
    (void)state;
    size_t len;
    char *html = read_source("index.html", &len);
    int refs = 0;
    for (char *p = html; (p = strpbrk(p, "sh"));) {
        const char *attr = strncmp(p, "src=\"", 5) == 0    ? p + 5
                           : strncmp(p, "href=\"", 6) == 0 ? p + 6
                                                           : NULL;
        p++;
        if (!attr) continue;
        char url[256];
        size_t n = strcspn(attr, "\"");
        assert_true(n < sizeof url);
        memcpy(url, attr, n);
        url[n] = '\0';
        const char *type;
        if (strcmp(url, "/metrics") != 0 && !dashboard_find(url, &type))
            fail_msg("index.html refers to %s, which is not served", url);
        refs++;
    }
    assert_true(refs >= 3); /* the stylesheet, the script, the link to /metrics */
    free(html);
}

/* Sends a request and returns the whole response (status line, headers, body); free it. */
static char *http(int port, const char *method, const char *path, size_t *len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0, cap = 1 << 16;
    char *out = malloc(cap);
    ssize_t r;
    while ((r = read(fd, out + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        if (got + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[got] = '\0';
    close(fd);
    *len = got;
    return out;
}

static void expect_file(int port, const char *path, const char *file, const char *type)
{
    size_t len, want_len;
    char *resp = http(port, "GET", path, &len);
    char *want = read_source(file, &want_len);
    char header[128];
    snprintf(header, sizeof header, "\r\nContent-Type: %s\r\n", type);
    assert_memory_equal(resp + 8, " 200 OK\r\n", 9);
    assert_non_null(strstr(resp, header));
    char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    assert_int_equal(len - (size_t)(body - resp), want_len);
    assert_memory_equal(body, want, want_len);
    free(want);
    free(resp);
}

static void test_served(void **state)
{
    (void)state;
    char err[256];
    metrics_server *s = metrics_server_start("127.0.0.1", 0, err, sizeof err);
    assert_non_null(s);
    int port = metrics_server_port(s);
    metrics_server_publish(s, "m 1\n", 4, true, NULL);
    expect_file(port, "/", "index.html", "text/html; charset=utf-8");
    expect_file(port, "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8");
    expect_file(port, "/dashboard.css", "dashboard.css", "text/css; charset=utf-8");
    size_t len;
    char *resp = http(port, "HEAD", "/", &len);
    assert_memory_equal(resp + 8, " 200 OK\r\n", 9);
    assert_string_equal(strstr(resp, "\r\n\r\n"), "\r\n\r\n");
    free(resp);
    resp = http(port, "GET", "/metrics", &len);
    assert_non_null(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4\r\n"));
    assert_non_null(strstr(resp, "\r\n\r\nm 1\n"));
    free(resp);
    resp = http(port, "GET", "/healthz", &len);
    assert_non_null(strstr(resp, " 200 OK\r\n"));
    free(resp);
    resp = http(port, "POST", "/", &len);
    assert_non_null(strstr(resp, " 405 "));
    free(resp);
    resp = http(port, "GET", "/dashboard", &len);
    assert_non_null(strstr(resp, " 404 "));
    free(resp);
    metrics_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_embedded_equals_sources),
        cmocka_unit_test(test_page_is_self_contained),
        cmocka_unit_test(test_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
