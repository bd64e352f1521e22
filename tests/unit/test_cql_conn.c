/* Unit tests for one CQL connection (src/cql/conn.c) against a small scriptable fake CQL server
 * on 127.0.0.1 in the same loop: frames a hostile server may send (compressed without
 * negotiation), a server that stops reading with its TCP stack alive (queued requests and the
 * stalled write must time out), the load figure after timeouts, and heartbeats on a connection
 * that writes but never hears back. Every wait has a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cql/conn.h"
#include "cql_test_conn.h"

/* ---- the fake server ---------------------------------------------------------------------- */

typedef struct fake {
    uv_tcp_t listener, peer;
    bool have_peer;
    cql_buf rx;
    struct sockaddr_in sa;
    /* Script. */
    bool stall_after_startup; /* stop reading once STARTUP is answered */
    bool answer_queries;      /* RESULT Void to each QUERY */
    bool compress_answers;    /* ... with the compression flag and an lz4 body */
    bool offer_lz4;           /* SUPPORTED lists lz4 */
    /* What it saw. */
    int queries, options;
} fake;

static void fake_send(fake *f, int16_t stream, uint8_t opcode, uint8_t flags, const uint8_t *body,
                      size_t len)
{
    test_frame_send((uv_stream_t *)&f->peer, stream, opcode, flags, body, len);
}

static void fake_frame(fake *f, const cql_frame_hdr *h)
{
    static const uint8_t void_result[] = {0, 0, 0, 1}, no_options[] = {0, 0};
    switch (h->opcode) {
    case CQL_OP_OPTIONS:
        f->options++;
        if (!f->offer_lz4) {
            fake_send(f, h->stream, CQL_OP_SUPPORTED, 0, no_options, 2);
            break;
        }
        cql_buf m = {0};
        cql_buf_u16(&m, 1);
        cql_buf_string(&m, "COMPRESSION", 11);
        cql_buf_u16(&m, 1);
        cql_buf_string(&m, "lz4", 3);
        fake_send(f, h->stream, CQL_OP_SUPPORTED, 0, m.data, m.len);
        cql_buf_free(&m);
        break;
    case CQL_OP_STARTUP:
        if (f->offer_lz4 && f->compress_answers) { /* as Cassandra 5 does, READY too */
            cql_buf z = {0};
            assert_int_equal(cql_lz4_compress(NULL, 0, &z), 0);
            fake_send(f, h->stream, CQL_OP_READY, CQL_FLAG_COMPRESSION, z.data, z.len);
            cql_buf_free(&z);
        } else {
            fake_send(f, h->stream, CQL_OP_READY, 0, NULL, 0);
        }
        if (f->stall_after_startup) uv_read_stop((uv_stream_t *)&f->peer);
        break;
    case CQL_OP_QUERY:
        f->queries++;
        if (!f->answer_queries) break;
        if (!f->compress_answers) {
            fake_send(f, h->stream, CQL_OP_RESULT, 0, void_result, 4);
            break;
        }
        cql_buf z = {0};
        assert_int_equal(cql_lz4_compress(void_result, 4, &z), 0);
        fake_send(f, h->stream, CQL_OP_RESULT, CQL_FLAG_COMPRESSION, z.data, z.len);
        cql_buf_free(&z);
        break;
    default: break;
    }
}

static void fake_request(uv_stream_t *s, const cql_frame_hdr *h, const uint8_t *body)
{
    (void)body;
    fake_frame(s->data, h);
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fake *f = s->data;
    test_read_frames(s, n, buf, &f->rx, fake_request);
}

static void fake_accept(uv_stream_t *l, int status)
{
    fake *f = l->data;
    test_accept(l, status, &f->peer, fake_read);
    f->have_peer = true;
}

static void fake_start(uv_loop_t *loop, fake *f)
{
    /* A small receive window (inherited by the accepted socket) so a stall fills it quickly. */
    test_listen(loop, &f->listener, f, 16384, fake_accept, &f->sa);
}

/* ---- the client side ---------------------------------------------------------------------- */

typedef struct client {
    test_conn tc; /* first: the connection's owner */
    uv_loop_t loop;
    uv_timer_t sweeper;
    int heartbeat_s;
    fake f;
    int done, answered, failed, last_err;
} client;

static void cl_sweep(uv_timer_t *t)
{
    client *cl = t->data;
    if (!cl->tc.closed) cql_conn_sweep(cl->tc.conn, uv_now(&cl->loop), cl->heartbeat_s);
}

static void cl_done(cql_req *r, const cql_error *err, const cql_frame_hdr *h, cql_rd *body)
{
    (void)body;
    (void)h;
    client *cl = r->conn->owner;
    cl->done++;
    if (err) {
        cl->failed++;
        cl->last_err = err->code;
        return;
    }
    cl->answered++;
    cql_conn_release(r);
}

/* Runs the loop until *flag or the deadline; returns *flag. */
static bool run_until(client *cl, const bool *flag, uint64_t ms)
{
    uint64_t end = uv_now(&cl->loop) + ms;
    while (!*flag && uv_now(&cl->loop) < end) uv_run(&cl->loop, UV_RUN_ONCE);
    return *flag;
}

static bool done_count_reached(client *cl, int n, uint64_t ms)
{
    uint64_t end = uv_now(&cl->loop) + ms;
    while (cl->done < n && uv_now(&cl->loop) < end) uv_run(&cl->loop, UV_RUN_ONCE);
    return cl->done >= n;
}

static void cl_open(client *cl, const cql_conn_opts *extra)
{
    assert_int_equal(uv_loop_init(&cl->loop), 0);
    fake_start(&cl->loop, &cl->f);
    cql_conn_opts o = {.nslots = 64, .max_user = 56, .connect_timeout_ms = 2000};
    if (extra) o = *extra;
    uv_timer_init(&cl->loop, &cl->sweeper);
    cl->sweeper.data = cl;
    uv_timer_start(&cl->sweeper, cl_sweep, 20, 20);
    assert_non_null(test_conn_new(&cl->tc, &cl->loop, &o));
    cql_conn_connect(cl->tc.conn, (const struct sockaddr *)&cl->f.sa, "127.0.0.1:fake");
    assert_true(run_until(cl, &cl->tc.ready, 5000));
}

/* Closes everything and asserts no handle is left open. */
static void cl_finish(client *cl)
{
    if (!cl->tc.closed) cql_conn_close(cl->tc.conn, CQL_E_CLOSED, "test done");
    assert_true(run_until(cl, &cl->tc.closed, 5000));
    cql_conn_free(cl->tc.conn);
    uv_close((uv_handle_t *)&cl->tc.flusher, NULL);
    uv_close((uv_handle_t *)&cl->sweeper, NULL);
    uv_close((uv_handle_t *)&cl->f.listener, NULL);
    if (cl->f.have_peer) uv_close((uv_handle_t *)&cl->f.peer, NULL);
    uv_run(&cl->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&cl->loop), 0);
    cql_buf_free(&cl->f.rx);
}

static cql_req *query(client *cl, const char *q, uint32_t timeout_ms)
{
    cql_req *r = cql_conn_acquire(cl->tc.conn, true);
    assert_non_null(r);
    r->done = cl_done;
    assert_int_equal(cql_enc_query(&r->frame, 0, q, NULL, 0, CQL_ONE, NULL), 0);
    cql_conn_send(cl->tc.conn, r, timeout_ms);
    return r;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* A compressed frame on a connection that negotiated no compression is a protocol error, not
 * something to decompress (issue #16: it let a server pick a 256 MiB allocation). */
static void test_compressed_without_negotiation(void **state)
{
    (void)state;
    client *cl = calloc(1, sizeof *cl);
    cl->f.answer_queries = cl->f.compress_answers = true;
    cl_open(cl, NULL);
    query(cl, "SELECT 1", 2000);
    assert_true(done_count_reached(cl, 1, 3000));
    assert_int_equal(cl->answered, 0);
    assert_int_equal(cl->last_err, CQL_E_PROTOCOL);
    assert_true(run_until(cl, &cl->tc.closed, 3000));
    assert_int_equal(cl->tc.close_code, CQL_E_PROTOCOL);
    cl_finish(cl);
    free(cl);
}

/* Compression asked for in STARTUP is honoured from the READY answer on. */
static void test_compressed_when_asked(void **state)
{
    (void)state;
    client *cl = calloc(1, sizeof *cl);
    cl->f.answer_queries = cl->f.compress_answers = cl->f.offer_lz4 = true;
    cql_conn_opts o = {.nslots = 64, .max_user = 56, .connect_timeout_ms = 2000, .lz4 = true};
    cl_open(cl, &o);
    query(cl, "SELECT 1", 2000);
    assert_true(done_count_reached(cl, 1, 3000));
    assert_int_equal(cl->answered, 1);
    assert_false(cl->tc.closed);
    cl_finish(cl);
    free(cl);
}

/* A server that stops reading with its TCP stack alive: the write never completes. Requests
 * queued behind it must time out, and the connection must close once the write has been pending
 * longer than the request timeout (before: queued requests waited forever). */
static void test_stalled_write_times_out(void **state)
{
    (void)state;
    client *cl = calloc(1, sizeof *cl);
    cl->f.stall_after_startup = true;
    cql_conn_opts o = {
        .nslots = 64, .max_user = 56, .connect_timeout_ms = 2000, .write_timeout_ms = 300};
    cl_open(cl, &o);
    uv_os_fd_t fd;
    int small = 16384;
    assert_int_equal(uv_fileno((uv_handle_t *)&cl->tc.conn->tcp, &fd), 0);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    size_t big = 4u << 20;
    char *q = malloc(big + 1);
    memset(q, 'x', big);
    q[big] = '\0';
    query(cl, q, 300);
    free(q);
    bool writing = false;
    for (int i = 0; i < 100 && !writing; i++) {
        uv_run(&cl->loop, UV_RUN_NOWAIT);
        writing = cl->tc.conn->writing;
    }
    assert_true(writing);
    query(cl, "SELECT 1", 200);
    query(cl, "SELECT 2", 200);
    assert_true(done_count_reached(cl, 3, 3000));
    assert_int_equal(cl->failed, 3);
    assert_true(run_until(cl, &cl->tc.closed, 3000));
    assert_int_equal(cl->tc.close_code, CQL_E_CONN_LOST);
    cl_finish(cl);
    free(cl);
}

/* A timed-out request keeps its stream id until the late answer: it still loads the connection,
 * or a half-dead connection would look the least loaded and attract more requests. */
static void test_load_counts_timed_out(void **state)
{
    (void)state;
    client *cl = calloc(1, sizeof *cl);
    cl_open(cl, NULL);
    query(cl, "SELECT 1", 100);
    assert_true(done_count_reached(cl, 1, 3000));
    assert_int_equal(cl->last_err, CQL_E_TIMEOUT);
    assert_int_equal(cl->tc.conn->user_inflight, 0);
    assert_int_equal(cql_conn_load(cl->tc.conn), 1);
    cl_finish(cl);
    free(cl);
}

/* A connection that keeps writing but hears nothing back must still send heartbeats (before:
 * only a connection idle both ways did, so this one was never probed). */
static void test_heartbeat_while_writing(void **state)
{
    (void)state;
    client *cl = calloc(1, sizeof *cl);
    cl->heartbeat_s = 1;
    cl_open(cl, NULL);
    uint64_t end = uv_now(&cl->loop) + 3000;
    while (cl->f.options == 0 && uv_now(&cl->loop) < end) {
        query(cl, "SELECT 1", 10000);
        uint64_t next = uv_now(&cl->loop) + 100;
        while (cl->f.options == 0 && uv_now(&cl->loop) < next) uv_run(&cl->loop, UV_RUN_ONCE);
    }
    assert_true(cl->f.options >= 1);
    cl_finish(cl);
    free(cl);
}

/* Whenever the connection says it has room for a user request, acquiring one must succeed
 * (before: has_room wanted one free stream id, acquire three, and callers got NULL). */
static void test_room_matches_acquire(void **state)
{
    (void)state;
    client *cl = calloc(1, sizeof *cl);
    cql_conn_opts o = {.nslots = 6, .max_user = 6, .connect_timeout_ms = 2000};
    cl_open(cl, &o);
    int got = 0;
    while (cql_conn_has_room(cl->tc.conn)) {
        cql_req *r = cql_conn_acquire(cl->tc.conn, true);
        assert_non_null(r);
        got++;
    }
    assert_int_equal(got, 6 - CONN_RESERVED_IDS);
    assert_null(cql_conn_acquire(cl->tc.conn, true));
    assert_non_null(cql_conn_acquire(cl->tc.conn, false)); /* internal ids stay available */
    cl_finish(cl);
    free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compressed_without_negotiation),
        cmocka_unit_test(test_compressed_when_asked),
        cmocka_unit_test(test_stalled_write_times_out),
        cmocka_unit_test(test_load_counts_timed_out),
        cmocka_unit_test(test_heartbeat_while_writing),
        cmocka_unit_test(test_room_matches_acquire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
