/* Prometheus text helpers and the /metrics, /healthz and /readyz server (see metrics.h). */
#include "util/metrics.h"

#include "util/dashboard.h"
#include "util/mhd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void strbuf_free(strbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void strbuf_reset(strbuf *b)
{
    b->len = 0;
    b->family = NULL;
    if (b->data) b->data[0] = '\0';
}

void strbuf_printf(strbuf *b, const char *fmt, ...)
{
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap - b->len <= (size_t)n) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return;
        b->data = d;
        b->cap = cap;
    }
}

static void header(strbuf *b, const char *name, const char *help, const char *type)
{
    if (b->family && strcmp(b->family, name) == 0) return;
    b->family = name;
    strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_counter(strbuf *b, const char *name, const char *help, const char *labels, uint64_t value)
{
    header(b, name, help, "counter");
    strbuf_printf(b, "%s%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
                  (unsigned long long)value);
}

void prom_gauge(strbuf *b, const char *name, const char *help, const char *labels, double value)
{
    header(b, name, help, "gauge");
    strbuf_printf(b, "%s%s%s%s %.17g\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
                  value);
}

void prom_summary(strbuf *b, const char *name, const char *help, const hist *h, double scale)
{
    static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
    header(b, name, help, "summary");
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        strbuf_printf(b, "%s{quantile=\"%g\"} %.9g\n", name, qs[i],
                      (double)hist_quantile(h, qs[i]) * scale);
    strbuf_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, (double)h->sum * scale, name,
                  (unsigned long long)h->count);
}

struct metrics_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    char *text;
    size_t len;
    bool healthy, ready;
    char detail[512], ready_detail[512];
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                             const char *body, size_t len)
{
    struct MHD_Response *r =
        rt_mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    rt_mhd.add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = rt_mhd.queue_response(c, status, r);
    rt_mhd.destroy_response(r);
    return ret;
}

/* The dashboard's files are static and immutable: served from the binary without a copy or the
 * lock; no-cache makes a browser revalidate them after an upgrade. */
static enum MHD_Result reply_asset(struct MHD_Connection *c, const dashboard_asset *a,
                                   const char *ctype)
{
    struct MHD_Response *r =
        rt_mhd.create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    rt_mhd.add_response_header(r, "Content-Type", ctype);
    rt_mhd.add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ret = rt_mhd.queue_response(c, 200, r);
    rt_mhd.destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    metrics_server *s = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n", 19);
    const char *asset_type;
    const dashboard_asset *asset = dashboard_find(url, &asset_type);
    if (asset) return reply_asset(c, asset, asset_type);
    enum MHD_Result ret;
    pthread_mutex_lock(&s->lock);
    if (strcmp(url, "/metrics") == 0) {
        ret = reply(c, 200, "text/plain; version=0.0.4", s->text ? s->text : "", s->len);
    } else if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) {
        bool ready = url[1] == 'r';
        bool ok = ready ? s->ready : s->healthy;
        char body[600];
        int n = snprintf(body, sizeof body, "%s\n",
                         ok      ? "ok"
                         : ready ? s->ready_detail
                                 : s->detail);
        ret = reply(c, ok ? 200 : 503, "text/plain", body, (size_t)n);
    } else {
        ret = reply(c, 404, "text/plain", "not found\n", 10);
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

metrics_server *metrics_server_start(const char *bind_addr, int port, char *err, size_t errlen)
{
    char why[256];
    if (!rt_mhd_load(why, sizeof why)) return snprintf(err, errlen, "metrics: %s", why), NULL;
    metrics_server *s = calloc(1, sizeof *s);
    if (!s) return snprintf(err, errlen, "out of memory"), NULL;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->detail, sizeof s->detail, "starting");
    snprintf(s->ready_detail, sizeof s->ready_detail, "starting");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "metrics: invalid bind address '%s' (IPv4 expected)", bind_addr);
        free(s);
        return NULL;
    }
    s->daemon = rt_mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                    NULL, handle, s, MHD_OPTION_SOCK_ADDR, &sa,
                                    MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "metrics: cannot listen on %s:%d (port in use?)", bind_addr, port);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = rt_mhd.get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    return s;
}

int metrics_server_port(const metrics_server *s)
{
    return s->port;
}

void metrics_server_publish(metrics_server *s, const char *text, size_t len, bool healthy,
                            const char *health_detail)
{
    char *copy = malloc(len + 1);
    if (!copy) return;
    memcpy(copy, text, len);
    copy[len] = '\0';
    pthread_mutex_lock(&s->lock);
    char *old = s->text;
    s->text = copy;
    s->len = len;
    s->healthy = healthy;
    snprintf(s->detail, sizeof s->detail, "%s", health_detail ? health_detail : "unhealthy");
    pthread_mutex_unlock(&s->lock);
    free(old);
}

void metrics_server_set_ready(metrics_server *s, bool ready, const char *detail)
{
    pthread_mutex_lock(&s->lock);
    s->ready = ready;
    snprintf(s->ready_detail, sizeof s->ready_detail, "%s", detail ? detail : "not ready");
    pthread_mutex_unlock(&s->lock);
}

void metrics_server_stop(metrics_server *s)
{
    if (!s) return;
    rt_mhd.stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->lock);
    free(s->text);
    free(s);
}
