/* The blocking API: a session on a private loop, each call running the loop until its callback
 * fires. For tools and tests; the stream engine uses the async API on its own loop. */
#include "cql/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cql_sync {
    uv_loop_t loop;
    cql_session *s;
};

typedef struct waiter {
    bool done;
    bool failed;
    bool want_result;
    cql_error err;
    cql_result *res;
    const cql_prepared *prepared;
} waiter;

static void run_until(cql_sync *c, const bool *done)
{
    while (!*done) uv_run(&c->loop, UV_RUN_ONCE);
}

static void on_connect(cql_session *s, const cql_error *err, void *ud)
{
    waiter *w = ud;
    w->done = true;
    if (err) w->failed = true, w->err = *err;
}

static void on_closed(cql_session *s, void *ud)
{
    *(bool *)ud = true;
}

static void destroy(cql_sync *c)
{
    if (c->s) {
        bool closed = false;
        if (cql_session_close(c->s, on_closed, &closed) == 0) run_until(c, &closed);
        cql_session_free(c->s);
    }
    uv_run(&c->loop, UV_RUN_DEFAULT);
    uv_loop_close(&c->loop);
    free(c);
}

cql_sync *cql_sync_connect(const cql_config *cfg, char *err, size_t errlen)
{
    cql_sync *c = calloc(1, sizeof *c);
    if (!c || uv_loop_init(&c->loop) != 0) {
        free(c);
        snprintf(err, errlen, "cannot create an event loop");
        return NULL;
    }
    c->s = cql_session_new(&c->loop, cfg, err, errlen);
    if (!c->s) return destroy(c), NULL;
    waiter w = {0};
    cql_session_connect(c->s, on_connect, &w);
    run_until(c, &w.done);
    if (w.failed) {
        snprintf(err, errlen, "%s", w.err.message[0] ? w.err.message : cql_strerror(w.err.code));
        destroy(c);
        return NULL;
    }
    return c;
}

void cql_sync_close(cql_sync *c)
{
    if (c) destroy(c);
}

cql_session *cql_sync_session(cql_sync *c)
{
    return c->s;
}

static void on_result(void *ud, const cql_error *err, const cql_result *res)
{
    waiter *w = ud;
    w->done = true;
    if (err) {
        w->failed = true;
        w->err = *err;
    } else if (res && w->want_result) {
        w->res = cql_result_copy(res);
        if (!w->res) w->failed = true, cql_error_set(&w->err, CQL_E_NOMEM, "out of memory");
    }
}

/* Waits for w, then for USE statements the session sends to its other connections. */
static int finish_wait(cql_sync *c, waiter *w, int rc, cql_result **out, cql_error *err)
{
    if (out) *out = NULL;
    if (rc) return cql_error_set(err, rc, "%s", cql_strerror(rc));
    run_until(c, &w->done);
    while (c->s->use_pending > 0) uv_run(&c->loop, UV_RUN_ONCE);
    if (w->failed) {
        cql_result_free(w->res);
        if (err) *err = w->err;
        return w->err.code >= 0 ? CQL_E_SERVER_ERROR : w->err.code;
    }
    if (out)
        *out = w->res;
    else
        cql_result_free(w->res);
    return 0;
}

int cql_sync_query(cql_sync *c, const char *cql, const cql_value *values, size_t n,
                   cql_consistency cl, const cql_query_opts *opts, cql_result **out, cql_error *err)
{
    waiter w = {.want_result = out != NULL};
    int rc = cql_session_query(c->s, cql, values, n, cl, opts, on_result, &w);
    return finish_wait(c, &w, rc, out, err);
}

int cql_sync_execute(cql_sync *c, const cql_prepared *p, const cql_value *values, size_t n,
                     cql_consistency cl, const cql_query_opts *opts, cql_result **out,
                     cql_error *err)
{
    waiter w = {.want_result = out != NULL};
    int rc = cql_session_execute_opts(c->s, p, values, n, cl, opts, on_result, &w);
    return finish_wait(c, &w, rc, out, err);
}

int cql_sync_batch(cql_sync *c, cql_batch_type type, const cql_batch_stmt *stmts, size_t n,
                   cql_consistency cl, cql_error *err)
{
    waiter w = {0};
    int rc = cql_session_batch(c->s, type, stmts, n, cl, NULL, on_result, &w);
    return finish_wait(c, &w, rc, NULL, err);
}

static void on_prepared(cql_session *s, const cql_error *err, const cql_prepared *p, void *ud)
{
    waiter *w = ud;
    w->done = true;
    w->prepared = p;
    if (err) w->failed = true, w->err = *err;
}

int cql_sync_prepare(cql_sync *c, const char *query, const cql_prepared **out, cql_error *err)
{
    waiter w = {0};
    *out = NULL;
    int rc = cql_session_prepare(c->s, query, on_prepared, &w);
    rc = finish_wait(c, &w, rc, NULL, err);
    if (rc == 0) *out = w.prepared;
    return rc;
}

static void on_run_timer(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static void on_timer_closed(uv_handle_t *h)
{
}

void cql_sync_run(cql_sync *c, int timeout_ms, const volatile bool *stop)
{
    uv_timer_t t;
    bool fired = false;
    uv_timer_init(&c->loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_run_timer, (uint64_t)(timeout_ms > 0 ? timeout_ms : 0), 0);
    while (!fired && !(stop && *stop)) uv_run(&c->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, on_timer_closed);
    uv_run(&c->loop, UV_RUN_NOWAIT);
}
