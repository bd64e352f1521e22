/* Prometheus text exposition helpers, and a small HTTP server for /metrics, /healthz, /readyz
 * and the live dashboard at "/" (static files that poll /metrics: util/dashboard.h).
 *
 * The owner thread (the event loop) renders its counters into a strbuf and publishes the text
 * with metrics_server_publish(), e.g. once a second; the server's own thread (libmicrohttpd)
 * serves the last published copy. So the per-record path never takes a lock or an atomic:
 * only publishing does, once per interval. */
#ifndef RTETL_UTIL_METRICS_H
#define RTETL_UTIL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hist.h"

/* A growable text buffer. Owned by its user; free with strbuf_free. */
typedef struct strbuf {
    char *data;
    size_t len, cap;
    const char *family; /* the metric family whose HELP/TYPE lines were written last */
} strbuf;

void strbuf_free(strbuf *b);
void strbuf_reset(strbuf *b);
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends one metric in Prometheus text format. `labels` is "" or like `topic="t"`. Samples of
 * one family (same `name`) must be appended one after the other: HELP and TYPE are written once,
 * before the first (the format allows one TYPE line per family). `name` must stay valid until
 * the buffer is reset. */
void prom_counter(strbuf *b, const char *name, const char *help, const char *labels,
                  uint64_t value);
void prom_gauge(strbuf *b, const char *name, const char *help, const char *labels, double value);
/* A summary with quantiles 0.5, 0.9, 0.95, 0.99, 0.999 plus _sum and _count; `scale` converts the
 * histogram's unit to the metric's (e.g. 1e-6 for microseconds to seconds). */
void prom_summary(strbuf *b, const char *name, const char *help, const hist *h, double scale);

typedef struct metrics_server metrics_server;

/* Starts serving on bind_addr:port (port 0 = pick one; see metrics_server_port). Returns NULL
 * with a message in err on failure. The caller owns the server; stop it with
 * metrics_server_stop, which also frees it. */
metrics_server *metrics_server_start(const char *bind_addr, int port, char *err, size_t errlen);
int metrics_server_port(const metrics_server *s);
/* Replaces the served /metrics text and health state (copied). /healthz answers 200 "ok" when
 * healthy, else 503 with `health_detail`. Safe to call from the owner thread while serving. */
void metrics_server_publish(metrics_server *s, const char *text, size_t len, bool healthy,
                            const char *health_detail);
/* Sets the readiness state: /readyz answers 200 "ok" when ready, else 503 with `detail`
 * (copied). Until the first call it answers 503 "starting". Safe to call like publish. */
void metrics_server_set_ready(metrics_server *s, bool ready, const char *detail);
void metrics_server_stop(metrics_server *s);

#endif
