/* One CQL connection: TCP (+TLS), handshake, stream-id slots, coalesced writes, frame parsing.
 *
 * DESIGN. Every request lives in a slot preallocated at connect time and indexed by its stream
 * id, so the hot path allocates nothing once the slot's frame buffer has grown to the usual
 * request size. A request is encoded once into its slot (the bytes stay there for re-sending
 * after UNPREPARED or for a retry) and queued; the owner calls cql_conn_flush once per loop
 * iteration, which hands every queued frame to the kernel with one uv_try_write: on a plain
 * connection straight from the slots (a writev, up to 64 frames), else copied into one write
 * buffer, compressing bodies with lz4 and encrypting with TLS as negotiated. What the kernel
 * does not take is copied and goes with uv_write. Reads accumulate in one buffer in which complete
 * frames are parsed in place; a response is delivered to its slot's handler while its bytes are
 * valid, and the tail of a partial frame is moved to the front afterwards. Timeouts are found by a
 * periodic sweep (cql_conn_sweep): a timed-out stream id stays reserved ("orphan") until the late
 * response arrives, because reusing it could match that response to a newer request. */
#include "cql/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536

static void on_close(uv_handle_t *h);

cql_conn *cql_conn_new(uv_loop_t *loop, const cql_conn_opts *opts, const cql_conn_cb *cb,
                       void *owner)
{
    cql_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    c->opts = *opts;
    c->cb = cb;
    c->owner = owner;
    c->slots = calloc((size_t)opts->nslots, sizeof *c->slots);
    c->free_ids = malloc(sizeof *c->free_ids * (size_t)opts->nslots);
    if (!c->slots || !c->free_ids || uv_tcp_init(loop, &c->tcp) != 0) {
        free(c->slots);
        free(c->free_ids);
        free(c);
        return NULL;
    }
    for (int i = 0; i < opts->nslots; i++) {
        c->slots[i].conn = c;
        c->slots[i].stream = (int16_t)i;
        c->free_ids[i] = (int16_t)(opts->nslots - 1 - i);
    }
    c->nfree = opts->nslots;
    c->tcp.data = c;
    c->state = CONN_CONNECTING;
    memset(&c->scratch, 0, sizeof c->scratch);
    return c;
}

void cql_conn_free(cql_conn *c)
{
    if (!c) return;
    for (int i = 0; i < c->opts.nslots; i++) cql_buf_free(&c->slots[i].frame);
    free(c->slots);
    free(c->free_ids);
    cql_buf_free(&c->wbuf);
    cql_buf_free(&c->zbuf);
    cql_buf_free(&c->rbuf);
    cql_buf_free(&c->plain);
    cql_buf_free(&c->tlsin);
    cql_result_release(&c->scratch);
    cql_tls_free(c->tls);
    free(c);
}

/* ---- slots -------------------------------------------------------------------------------- */

cql_req *cql_conn_acquire(cql_conn *c, bool user)
{
    if (c->state == CONN_CLOSING || c->nfree == 0) return NULL;
    if (user && (c->state != CONN_READY || c->user_inflight >= c->opts.max_user)) return NULL;
    /* Keep a few ids for heartbeats and re-prepares even when users fill the connection. */
    if (user && c->nfree <= CONN_RESERVED_IDS) return NULL;
    cql_req *r = &c->slots[c->free_ids[--c->nfree]];
    r->state = REQ_HELD;
    r->user = user;
    r->frame.len = 0;
    r->next = NULL;
    r->retries = 0;
    r->cb = NULL;
    r->ud = r->ctx = r->internal_ctx = NULL;
    r->prepared = NULL;
    r->pcb = NULL;
    r->internal = NULL;
    r->idempotent = false;
    if (user) c->user_inflight++;
    return r;
}

void cql_conn_release(cql_req *r)
{
    cql_conn *c = r->conn;
    if (r->state == REQ_FREE) return;
    if (r->user && r->state != REQ_ORPHAN) c->user_inflight--;
    if (r->state == REQ_ORPHAN) c->orphans--;
    r->state = REQ_FREE;
    c->free_ids[c->nfree++] = r->stream;
}

void cql_conn_send(cql_conn *c, cql_req *r, uint32_t timeout_ms)
{
    cql_frame_set_stream(r->frame.data, r->stream);
    r->state = REQ_QUEUED;
    if (r->user) c->user_sent++;
    r->timeout_ms = timeout_ms;
    r->deadline = uv_now(c->loop) + timeout_ms;
    r->next = NULL;
    if (c->wq_tail)
        c->wq_tail->next = r;
    else
        c->wq_head = r;
    c->wq_tail = r;
    if (!c->dirty) {
        c->dirty = true;
        c->cb->dirty(c);
    }
}

/* ---- closing ------------------------------------------------------------------------------ */

static void fail_slots(cql_conn *c, const cql_error *err)
{
    c->wq_head = c->wq_tail = NULL;
    for (int i = 0; i < c->opts.nslots; i++) {
        cql_req *r = &c->slots[i];
        uint8_t st = r->state;
        if (st == REQ_FREE || st == REQ_HELD) continue;
        if (st == REQ_ORPHAN) {
            cql_conn_release(r);
            continue;
        }
        cql_conn_release(r);
        r->done(r, err, NULL, NULL);
    }
}

static void close_with(cql_conn *c, const cql_error *err)
{
    if (c->state == CONN_CLOSING) return;
    c->state = CONN_CLOSING;
    c->close_err = *err;
    snprintf(c->close_err.host, sizeof c->close_err.host, "%s", c->addr);
    uv_read_stop((uv_stream_t *)&c->tcp);
    fail_slots(c, &c->close_err);
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

void cql_conn_close(cql_conn *c, int code, const char *why)
{
    cql_error err;
    /* A server that requires client certificates (require_client_auth) drops a client without
     * one, or with one it does not trust, once the TLS handshake is through: the first read or
     * write of the CQL handshake fails (a reset, an alert). Say what is likely wrong. */
    const char *hint = c->tls && c->tls_done && c->state == CONN_HANDSHAKE &&
                               (code == CQL_E_CONN_LOST || code == CQL_E_TLS)
                           ? " (during the CQL handshake, just after TLS: does the server require "
                             "a client certificate that it trusts? see --cert-file)"
                           : "";
    cql_error_set(&err, code, "%s: %s%s", c->addr[0] ? c->addr : "connection", why, hint);
    close_with(c, &err);
}

static void on_close(uv_handle_t *h)
{
    cql_conn *c = h->data;
    c->cb->closed(c, &c->close_err);
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Appends r's frame to out, compressing the body when lz4 was negotiated. */
static int stage_frame(cql_conn *c, cql_req *r, cql_buf *out)
{
    const uint8_t *f = r->frame.data;
    size_t body = r->frame.len - CQL_HEADER_LEN;
    if (!c->lz4_on || body == 0) {
        cql_buf_put(out, f, r->frame.len);
        return out->oom ? CQL_E_NOMEM : 0;
    }
    size_t start = out->len;
    cql_buf_put(out, f, CQL_HEADER_LEN);
    if (out->oom) return CQL_E_NOMEM;
    int rc = cql_lz4_compress(f + CQL_HEADER_LEN, body, out);
    if (rc) return rc;
    out->data[start + 1] |= CQL_FLAG_COMPRESSION;
    cql_put_be32(out->data + start + 5, (uint32_t)(out->len - start - CQL_HEADER_LEN));
    return 0;
}

static void on_write(uv_write_t *w, int status)
{
    cql_conn *c = w->data;
    c->writing = false;
    if (c->state == CONN_CLOSING) return;
    if (status < 0) return cql_conn_close(c, CQL_E_CONN_LOST, uv_strerror(status));
    /* TLS output made while this write was pending (handshake records) waits in the BIO. */
    bool tls_out = c->tls && cql_tls_pending(c->tls);
    if ((c->wq_head || tls_out) && !c->dirty) {
        c->dirty = true;
        c->cb->dirty(c);
    }
}

/* One uv_try_write of bufs; returns the bytes the kernel took, or -1 after closing the
 * connection. */
static ssize_t try_write(cql_conn *c, const uv_buf_t *bufs, unsigned n)
{
    int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (w < 0 && w != UV_EAGAIN) return cql_conn_close(c, CQL_E_CONN_LOST, uv_strerror(w)), -1;
    if (w < 0) w = 0;
    c->bytes_out += (uint64_t)w;
    c->last_write = uv_now(c->loop);
    return w;
}

/* Hands wbuf from byte `from` on to uv_write (what one try_write did not take). */
static void write_rest(cql_conn *c, size_t from)
{
    uv_buf_t b = uv_buf_init((char *)c->wbuf.data + from, (unsigned)(c->wbuf.len - from));
    c->wreq.data = c;
    c->bytes_out += b.len;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc) return cql_conn_close(c, CQL_E_CONN_LOST, uv_strerror(rc));
    c->writing = true;
    c->write_since = c->last_write;
}

/* Sends wbuf: one uv_try_write, then uv_write for any remainder. */
static void write_out(cql_conn *c)
{
    if (c->wbuf.len == 0) return;
    uv_buf_t b = uv_buf_init((char *)c->wbuf.data, (unsigned)c->wbuf.len);
    ssize_t n = try_write(c, &b, 1);
    if (n >= 0 && (size_t)n < c->wbuf.len) write_rest(c, (size_t)n);
}

/* A plain connection (no TLS, no compression) with at most FLUSH_IOV frames queued: they go to
 * the kernel straight from their slots in one writev, and only what it does not take is copied
 * into wbuf for uv_write (a slot may be released before a pending write is done with it).
 * False when there are more frames: the caller stages them all. */
#define FLUSH_IOV 64
static bool flush_direct(cql_conn *c)
{
    uv_buf_t iov[FLUSH_IOV];
    unsigned n = 0;
    size_t total = 0;
    for (cql_req *r = c->wq_head; r; r = r->next) {
        if (n == FLUSH_IOV) return false;
        iov[n++] = uv_buf_init((char *)r->frame.data, (unsigned)r->frame.len);
        total += r->frame.len;
    }
    for (cql_req *r = c->wq_head; r; r = r->next)
        if (r->state == REQ_QUEUED) r->state = REQ_INFLIGHT;
    c->wq_head = c->wq_tail = NULL;
    c->wbuf.len = 0;
    ssize_t w = n ? try_write(c, iov, n) : 0;
    if (w < 0 || (size_t)w == total) return true;
    size_t skip = (size_t)w;
    for (unsigned i = 0; i < n; i++) {
        if (skip >= iov[i].len) {
            skip -= iov[i].len;
            continue;
        }
        cql_buf_put(&c->wbuf, iov[i].base + skip, iov[i].len - skip);
        skip = 0;
    }
    if (c->wbuf.oom) return cql_conn_close(c, CQL_E_NOMEM, "cannot stage a frame"), true;
    write_rest(c, 0);
    return true;
}

void cql_conn_flush(cql_conn *c)
{
    c->dirty = false;
    if (c->writing || c->state == CONN_CLOSING || c->state == CONN_CONNECTING) return;
    if (!c->tls && !c->lz4_on && flush_direct(c)) return;
    cql_buf *stage = c->tls ? &c->zbuf : &c->wbuf;
    c->wbuf.len = 0;
    stage->len = 0;
    for (cql_req *r = c->wq_head; r; r = r->next) {
        if (r->state == REQ_QUEUED) r->state = REQ_INFLIGHT;
        int rc = stage_frame(c, r, stage);
        if (rc) return cql_conn_close(c, rc, "cannot stage a frame");
    }
    c->wq_head = c->wq_tail = NULL;
    if (c->tls) {
        if (stage->len && cql_tls_write(c->tls, stage->data, stage->len))
            return cql_conn_close(c, CQL_E_TLS, cql_tls_message(c->tls));
        cql_tls_drain(c->tls, &c->wbuf);
    }
    write_out(c);
}

/* ---- reading ------------------------------------------------------------------------------ */

static void dispatch(cql_conn *c, const cql_frame_hdr *h, const uint8_t *body, size_t len)
{
    if (h->stream == -1) {
        cql_event ev;
        cql_rd r = cql_frame_body(h, body, len);
        if (h->opcode == CQL_OP_EVENT && cql_dec_event(&r, &ev) == 0 && c->cb->event)
            c->cb->event(c, &ev);
        return;
    }
    if (h->stream < 0 || h->stream >= c->opts.nslots)
        return cql_conn_close(c, CQL_E_PROTOCOL, "response on an unknown stream id");
    cql_req *r = &c->slots[h->stream];
    if (r->state == REQ_ORPHAN) return cql_conn_release(r);
    if (r->state != REQ_INFLIGHT)
        return cql_conn_close(c, CQL_E_PROTOCOL, "response to no request");
    r->state = REQ_HELD;
    cql_rd rd = cql_frame_body(h, body, len);
    r->done(r, NULL, h, &rd);
}

/* Parses every complete frame in rbuf, then keeps the partial tail. */
static void process_frames(cql_conn *c)
{
    size_t off = 0;
    while (c->state != CONN_CLOSING) {
        cql_frame_hdr h;
        int rc = cql_frame_hdr_decode(c->rbuf.data + off, c->rbuf.len - off, &h);
        if (rc == 1) break;
        if (rc < 0) return cql_conn_close(c, CQL_E_PROTOCOL, "bad frame header");
        if (c->rbuf.len - off - CQL_HEADER_LEN < h.length) break;
        const uint8_t *body = c->rbuf.data + off + CQL_HEADER_LEN;
        size_t len = h.length;
        if (h.flags & CQL_FLAG_COMPRESSION) {
            /* Only a compression we asked for in STARTUP is honoured (Cassandra compresses
             * even its READY answer): otherwise a server could make us decompress (and
             * allocate for) whatever it likes. */
            if (!c->lz4_asked)
                return cql_conn_close(c, CQL_E_PROTOCOL, "compressed frame without compression");
            c->plain.len = 0;
            if (cql_lz4_decompress(body, len, &c->plain))
                return cql_conn_close(c, CQL_E_PROTOCOL, "bad lz4 body");
            body = c->plain.data;
            len = c->plain.len;
        }
        off += CQL_HEADER_LEN + h.length;
        dispatch(c, &h, body, len);
    }
    if (c->state == CONN_CLOSING) return;
    memmove(c->rbuf.data, c->rbuf.data + off, c->rbuf.len - off);
    c->rbuf.len -= off;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
    cql_conn *c = h->data;
    cql_buf *b = c->tls ? &c->tlsin : &c->rbuf;
    if (c->tls) b->len = 0;
    if (!cql_buf_reserve(b, READ_CHUNK)) {
        b->oom = false;
        *out = uv_buf_init(NULL, 0);
        return;
    }
    *out = uv_buf_init((char *)b->data + b->len, (unsigned)(b->cap - b->len));
}

static void tls_step(cql_conn *c);

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    cql_conn *c = s->data;
    if (n == 0 || c->state == CONN_CLOSING) return;
    if (n == UV_ENOBUFS) return cql_conn_close(c, CQL_E_NOMEM, "no memory for reading");
    if (n < 0) {
        const char *why = n == UV_EOF ? "connection closed by the server" : uv_strerror((int)n);
        /* A TLS-only port drops a plain client at its first frame: say what is likely wrong. */
        char hint[160];
        if (c->state == CONN_HANDSHAKE && !c->tls) {
            snprintf(hint, sizeof hint, "%s during the handshake (does the server require TLS?)",
                     why);
            why = hint;
        }
        return cql_conn_close(c, CQL_E_CONN_LOST, why);
    }
    c->bytes_in += (uint64_t)n;
    c->last_read = uv_now(c->loop);
    if (!c->tls) {
        c->rbuf.len += (size_t)n;
        return process_frames(c);
    }
    if (cql_tls_feed(c->tls, (const uint8_t *)buf->base, (size_t)n))
        return cql_conn_close(c, CQL_E_TLS, cql_tls_message(c->tls));
    if (c->state == CONN_HANDSHAKE && !c->tls_done) return tls_step(c);
    int rc = cql_tls_read(c->tls, &c->rbuf);
    if (rc && rc != CQL_E_CONN_LOST)
        return cql_conn_close(c, rc, rc == CQL_E_TLS ? cql_tls_message(c->tls) : cql_strerror(rc));
    /* Responses that came in the same read as the server's close_notify are still answers. */
    process_frames(c);
    if (rc && c->state != CONN_CLOSING) cql_conn_close(c, rc, "the server closed the TLS session");
}

/* ---- handshake: [TLS] [OPTIONS] STARTUP [AUTH] [USE ks] [REGISTER] ------------------------ */

static void fail_handshake(cql_conn *c, const cql_error *server, int code, const char *why)
{
    if (server) {
        cql_error e = *server;
        if (code == CQL_E_AUTH && e.code >= 0) e.code = CQL_ERR_BAD_CREDENTIALS;
        return close_with(c, &e);
    }
    cql_conn_close(c, code, why);
}

/* Sends an internal request whose encoder already filled r->frame. */
static cql_req *internal_req(cql_conn *c, cql_req_done done)
{
    cql_req *r = cql_conn_acquire(c, false);
    if (r) r->done = done;
    return r;
}

static void send_internal(cql_conn *c, cql_req *r, int enc_rc)
{
    if (enc_rc) {
        cql_conn_release(r);
        return cql_conn_close(c, enc_rc, "cannot encode a handshake request");
    }
    cql_conn_send(c, r, (uint32_t)c->opts.connect_timeout_ms);
}

/* Common prologue of handshake handlers: returns false (and closes) unless the response has
 * the expected opcode; an ERROR is decoded into *err for the caller's message. */
static bool expect(cql_req *r, const cql_error *cerr, const cql_frame_hdr *h, cql_rd *body,
                   uint8_t op, const char *step)
{
    cql_conn *c = r->conn;
    if (cerr) return false; /* the connection is failing already */
    cql_conn_release(r);
    if (h->opcode == op && !body->err) return true;
    if (h->opcode == CQL_OP_ERROR) {
        cql_error e;
        cql_dec_error(body, &e);
        char msg[CQL_ERROR_MESSAGE_MAX + 64];
        int n = snprintf(msg, sizeof msg, "%s: %s", step, e.message);
        size_t len = n < 0 ? 0 : (size_t)n < sizeof e.message ? (size_t)n : sizeof e.message - 1;
        memcpy(e.message, msg, len);
        e.message[len] = '\0';
        fail_handshake(c, &e, op == CQL_OP_AUTH_SUCCESS ? CQL_E_AUTH : CQL_E_CONNECT, NULL);
        return false;
    }
    fail_handshake(c, NULL, CQL_E_PROTOCOL, step);
    return false;
}

static void become_ready(cql_conn *c)
{
    c->state = CONN_READY;
    c->was_ready = true;
    c->cb->ready(c, NULL);
}

static void on_registered(cql_req *r, const cql_error *e, const cql_frame_hdr *h, cql_rd *b)
{
    if (expect(r, e, h, b, CQL_OP_READY, "REGISTER")) become_ready(r->conn);
}

static void send_register(cql_conn *c)
{
    static const char *const events[] = {"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"};
    cql_req *r = internal_req(c, on_registered);
    send_internal(c, r, cql_enc_register(&r->frame, 0, events, 3));
}

static void after_use(cql_conn *c)
{
    if (c->opts.register_events) return send_register(c);
    become_ready(c);
}

static void on_used(cql_req *r, const cql_error *e, const cql_frame_hdr *h, cql_rd *b)
{
    if (expect(r, e, h, b, CQL_OP_RESULT, "USE keyspace")) after_use(r->conn);
}

static void after_auth(cql_conn *c)
{
    if (!c->opts.keyspace || !*c->opts.keyspace) return after_use(c);
    char q[300];
    snprintf(q, sizeof q, "USE \"%s\"", c->opts.keyspace);
    cql_req *r = internal_req(c, on_used);
    send_internal(c, r, cql_enc_query(&r->frame, 0, q, NULL, 0, CQL_ONE, NULL));
}

static void on_auth(cql_req *r, const cql_error *e, const cql_frame_hdr *h, cql_rd *b)
{
    if (expect(r, e, h, b, CQL_OP_AUTH_SUCCESS, "authentication")) after_auth(r->conn);
}

static void on_startup(cql_req *r, const cql_error *e, const cql_frame_hdr *h, cql_rd *b)
{
    cql_conn *c = r->conn;
    if (!e && h->opcode == CQL_OP_AUTHENTICATE) {
        cql_conn_release(r);
        c->lz4_on = c->opts.lz4;
        if (!c->opts.username || !*c->opts.username)
            return cql_conn_close(c, CQL_E_AUTH,
                                  "the server requires authentication; give a "
                                  "username and password");
        cql_req *a = internal_req(c, on_auth);
        return send_internal(c, a,
                             cql_enc_auth_plain(&a->frame, 0, c->opts.username,
                                                c->opts.password ? c->opts.password : ""));
    }
    if (!expect(r, e, h, b, CQL_OP_READY, "STARTUP")) return;
    c->lz4_on = c->opts.lz4;
    after_auth(c);
}

static void send_startup(cql_conn *c)
{
    cql_req *r = internal_req(c, on_startup);
    c->lz4_asked = c->opts.lz4;
    send_internal(c, r, cql_enc_startup(&r->frame, 0, c->opts.lz4));
}

static void on_supported(cql_req *r, const cql_error *e, const cql_frame_hdr *h, cql_rd *b)
{
    cql_conn *c = r->conn;
    if (!expect(r, e, h, b, CQL_OP_SUPPORTED, "OPTIONS")) return;
    bool lz4 = false;
    if (cql_dec_supported(b, &lz4)) return cql_conn_close(c, CQL_E_PROTOCOL, "bad SUPPORTED");
    c->opts.lz4 = lz4; /* fall back to no compression when the server lacks lz4 */
    send_startup(c);
}

static void start_protocol(cql_conn *c)
{
    c->state = CONN_HANDSHAKE;
    if (!c->opts.lz4) return send_startup(c);
    cql_req *r = internal_req(c, on_supported);
    send_internal(c, r, cql_enc_options(&r->frame, 0));
}

static void tls_step(cql_conn *c)
{
    int rc = cql_tls_handshake(c->tls);
    if (rc < 0) return cql_conn_close(c, CQL_E_TLS, cql_tls_message(c->tls));
    /* While a write is pending, libuv still reads its bytes from wbuf: the handshake's output
     * stays in the BIO, and on_write has the next flush send it. */
    if (!c->writing) {
        c->wbuf.len = 0;
        cql_tls_drain(c->tls, &c->wbuf);
        write_out(c);
    }
    if (c->state == CONN_CLOSING || rc == 0) return;
    c->tls_done = true;
    /* Application data may already follow the handshake's last record. */
    if (cql_tls_read(c->tls, &c->rbuf) < 0)
        return cql_conn_close(c, CQL_E_TLS, cql_tls_message(c->tls));
    start_protocol(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    cql_conn *c = req->data;
    if (c->state == CONN_CLOSING) return;
    if (status < 0) return cql_conn_close(c, CQL_E_CONNECT, uv_strerror(status));
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc) return cql_conn_close(c, CQL_E_CONNECT, uv_strerror(rc));
    if (!c->opts.tls) return start_protocol(c);
    c->tls = cql_tls_new(c->opts.tls, c->opts.tls_name);
    if (!c->tls) return cql_conn_close(c, CQL_E_TLS, "cannot create a TLS session");
    c->state = CONN_HANDSHAKE;
    tls_step(c);
}

int cql_conn_connect(cql_conn *c, const struct sockaddr *sa, const char *addr_text)
{
    snprintf(c->addr, sizeof c->addr, "%s", addr_text);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 30);
    c->connect_deadline = uv_now(c->loop) + (uint64_t)c->opts.connect_timeout_ms;
    c->last_read = c->last_write = uv_now(c->loop);
    c->creq.data = c;
    int rc = uv_tcp_connect(&c->creq, &c->tcp, sa, on_connect);
    if (rc) cql_conn_close(c, CQL_E_CONNECT, uv_strerror(rc));
    return 0;
}

/* ---- sweep: timeouts and heartbeats ------------------------------------------------------- */

static void on_heartbeat(cql_req *r, const cql_error *e, const cql_frame_hdr *h, cql_rd *b)
{
    cql_conn *c = r->conn;
    if (e) {
        if (e->code == CQL_E_TIMEOUT) cql_conn_close(c, CQL_E_CONN_LOST, "heartbeat timed out");
        return;
    }
    cql_conn_release(r);
    c->heartbeat_out = false;
}

static void send_heartbeat(cql_conn *c)
{
    cql_req *r = internal_req(c, on_heartbeat);
    if (!r) return;
    if (cql_enc_options(&r->frame, 0)) return cql_conn_release(r);
    c->heartbeat_out = true;
    cql_conn_send(c, r, (uint32_t)c->opts.connect_timeout_ms);
}

static void expire(cql_conn *c, cql_req *r)
{
    cql_error err;
    cql_error_set(&err, CQL_E_TIMEOUT, "%s: no response within %u ms", c->addr, r->timeout_ms);
    snprintf(err.host, sizeof err.host, "%s", c->addr);
    if (r->user) c->user_inflight--;
    r->state = REQ_ORPHAN;
    c->orphans++;
    r->done(r, &err, NULL, NULL);
}

/* Times out a request still in the write queue: it never left, so its stream id is free again
 * once the handler (which may copy the frame for a retry) has run. */
static void expire_queued(cql_conn *c, cql_req *r)
{
    for (cql_req **pp = &c->wq_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            if (c->wq_tail == r) c->wq_tail = prev;
            break;
        }
    cql_error err;
    cql_error_set(&err, CQL_E_TIMEOUT, "%s: not even sent within %u ms (the connection is stalled)",
                  c->addr, r->timeout_ms);
    snprintf(err.host, sizeof err.host, "%s", c->addr);
    r->state = REQ_HELD;
    r->done(r, &err, NULL, NULL);
    cql_conn_release(r);
}

void cql_conn_sweep(cql_conn *c, uint64_t now, int heartbeat_s)
{
    if (c->state == CONN_CLOSING) return;
    if (c->state != CONN_READY && now >= c->connect_deadline)
        return cql_conn_close(c, CQL_E_CONNECT, "connect timeout");
    /* A server frozen with its TCP stack alive never takes the rest of a write. */
    if (c->writing && c->opts.write_timeout_ms > 0 &&
        now - c->write_since >= (uint64_t)c->opts.write_timeout_ms)
        return cql_conn_close(c, CQL_E_CONN_LOST, "write stalled (the server reads nothing)");
    for (int i = 0; i < c->opts.nslots && c->state != CONN_CLOSING; i++) {
        cql_req *r = &c->slots[i];
        if (r->state == REQ_INFLIGHT && now >= r->deadline) expire(c, r);
        if (r->state == REQ_QUEUED && now >= r->deadline) expire_queued(c, r);
    }
    if (c->state == CONN_CLOSING) return;
    if (c->orphans > c->opts.nslots / 4)
        return cql_conn_close(c, CQL_E_CONN_LOST, "too many requests timed out");
    /* Probe whenever nothing was read for an interval, writing or not: a connection that sends
     * requests and hears nothing back is the one that most needs it. */
    if (c->state == CONN_READY && heartbeat_s > 0 && !c->heartbeat_out &&
        now - c->last_read >= (uint64_t)heartbeat_s * 1000)
        send_heartbeat(c);
}
