/* Shared by the CQL unit tests that drive one cql_conn on their own loop (test_cql_conn.c,
 * test_cql_tls.c): the owner side of a connection (flush once per iteration, record ready and
 * closed); and by those with a fake server (test_cql_session.c too): its frames. A test's own
 * client struct puts a test_conn first, so that the connection's owner pointer is both
 * (C11 6.7.2.1: a struct's address is that of its first member). Include it after cmocka.h: the
 * server-side helpers assert. */
#ifndef RTETL_TEST_CQL_CONN_H
#define RTETL_TEST_CQL_CONN_H

#include "cql/conn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

/* ---- the server side of a fake ------------------------------------------------------------ */

/* Binds l (data: its owner) to 127.0.0.1 on a free port, with a receive buffer of rcvbuf bytes
 * (inherited by accepted sockets; 0: the default), and listens; *sa gets the address. */
static inline void test_listen(uv_loop_t *loop, uv_tcp_t *l, void *data, int rcvbuf,
                               uv_connection_cb cb, struct sockaddr_in *sa)
{
    uv_tcp_init(loop, l);
    l->data = data;
    uv_ip4_addr("127.0.0.1", 0, sa);
    assert_int_equal(uv_tcp_bind(l, (const struct sockaddr *)sa, 0), 0);
    uv_os_fd_t fd;
    assert_int_equal(uv_fileno((uv_handle_t *)l, &fd), 0);
    if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    assert_int_equal(uv_listen((uv_stream_t *)l, 1, cb), 0);
    int len = sizeof *sa;
    uv_tcp_getsockname(l, (struct sockaddr *)sa, &len);
}

/* A read buffer the read callback frees. */
static inline void test_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    *b = uv_buf_init(malloc(hint), (unsigned)hint);
}

/* Accepts the connection waiting on l into peer (same data as l) and reads it with cb. */
static inline void test_accept(uv_stream_t *l, int status, uv_tcp_t *peer, uv_read_cb cb)
{
    assert_int_equal(status, 0);
    uv_tcp_init(l->loop, peer);
    peer->data = l->data;
    assert_int_equal(uv_accept(l, (uv_stream_t *)peer), 0);
    uv_read_start((uv_stream_t *)peer, test_alloc, cb);
}

/* A whole response frame (protocol v4) with body into b (emptied first). */
static inline void test_frame(cql_buf *b, int16_t stream, uint8_t opcode, uint8_t flags,
                              const void *body, size_t len)
{
    cql_frame_hdr h = {0x84, flags, stream, opcode, (uint32_t)len};
    b->len = 0;
    assert_true(cql_buf_reserve(b, CQL_HEADER_LEN + len));
    cql_frame_hdr_encode(b->data, &h);
    b->len = CQL_HEADER_LEN;
    cql_buf_put(b, body, len);
    assert_false(b->oom);
}

/* Writes a response frame to a plain peer at once (test frames are small). */
static inline void test_frame_send(uv_stream_t *peer, int16_t stream, uint8_t opcode, uint8_t flags,
                                   const void *body, size_t len)
{
    cql_buf b = {0};
    test_frame(&b, stream, opcode, flags, body, len);
    uv_buf_t ub = uv_buf_init((char *)b.data, (unsigned)b.len);
    assert_int_equal(uv_try_write(peer, &ub, 1), (int)ub.len);
    cql_buf_free(&b);
}

/* Appends what a plain peer s read (n, buf: freed here) to rx and hands every whole request in it
 * to fn(s, header, body). */
static inline void test_read_frames(uv_stream_t *s, ssize_t n, const uv_buf_t *buf, cql_buf *rx,
                                    void (*fn)(uv_stream_t *, const cql_frame_hdr *,
                                               const uint8_t *))
{
    if (n > 0) cql_buf_put(rx, buf->base, (size_t)n);
    free(buf->base);
    if (n < 0) uv_read_stop(s);
    cql_frame_hdr h;
    size_t off = 0;
    while (cql_frame_hdr_decode(rx->data + off, rx->len - off, &h) == 0 &&
           rx->len - off >= CQL_HEADER_LEN + h.length) {
        fn(s, &h, rx->data + off + CQL_HEADER_LEN);
        off += CQL_HEADER_LEN + h.length;
    }
    memmove(rx->data, rx->data + off, rx->len - off);
    rx->len -= off;
}

/* A system.local row: data_center 'dc1', rack 'r1', tokens {'0'}. All that a session's topology
 * queries need: as a peers or keyspaces row it is skipped. */
static inline void test_local_row(cql_buf *b)
{
    static const char *const names[] = {"data_center", "rack", "tokens"};
    cql_buf_u32(b, 2);      /* Rows */
    cql_buf_u32(b, 0x0001); /* global table spec */
    cql_buf_u32(b, 3);
    cql_buf_string(b, "system", 6);
    cql_buf_string(b, "local", 5);
    for (int i = 0; i < 3; i++) {
        cql_buf_string(b, names[i], strlen(names[i]));
        if (i == 2) cql_buf_u16(b, 0x0022); /* set<varchar> */
        cql_buf_u16(b, 0x000D);
    }
    cql_buf_u32(b, 1);
    cql_buf_value(b, (cql_value){(const uint8_t *)"dc1", 3});
    cql_buf_value(b, (cql_value){(const uint8_t *)"r1", 2});
    cql_buf_u32(b, 4 + 4 + 1); /* the set: count, then one [bytes] */
    cql_buf_u32(b, 1);
    cql_buf_value(b, (cql_value){(const uint8_t *)"0", 1});
}

#endif
