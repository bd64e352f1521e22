/* Shared by the CQL unit tests that drive one cql_conn on their own loop (test_cql_conn.c,
 * test_cql_tls.c): the owner side of a connection (flush once per iteration, record ready and
 * closed). A test's own client struct puts a test_conn first, so that the connection's owner
 * pointer is both (C11 6.7.2.1: a struct's address is that of its first member). */
#ifndef RTETL_TEST_CQL_CONN_H
#define RTETL_TEST_CQL_CONN_H

#include "cql/conn.h"

typedef struct test_conn {
    uv_prepare_t flusher;
    cql_conn *conn;
    bool ready, closed;
    int close_code;
} test_conn;

static inline void tc_flush(uv_prepare_t *p)
{
    test_conn *tc = p->data;
    uv_prepare_stop(p);
    if (!tc->closed) cql_conn_flush(tc->conn);
}

static inline void tc_ready(cql_conn *c, const cql_error *err)
{
    test_conn *tc = c->owner;
    tc->ready = err == NULL;
}

static inline void tc_closed(cql_conn *c, const cql_error *err)
{
    test_conn *tc = c->owner;
    tc->closed = true;
    tc->close_code = err->code;
}

static inline void tc_event(cql_conn *c, const cql_event *ev)
{
    (void)c;
    (void)ev;
}

static inline void tc_dirty(cql_conn *c)
{
    test_conn *tc = c->owner;
    uv_prepare_start(&tc->flusher, tc_flush);
}

static const cql_conn_cb test_conn_cb = {tc_ready, tc_closed, tc_event, tc_dirty};

/* Initialises tc's flush handle on loop and creates its connection (owner: tc). */
static inline cql_conn *test_conn_new(test_conn *tc, uv_loop_t *loop, const cql_conn_opts *o)
{
    uv_prepare_init(loop, &tc->flusher);
    tc->flusher.data = tc;
    tc->conn = cql_conn_new(loop, o, &test_conn_cb, tc);
    return tc->conn;
}

#endif
