/* Internal: one CQL connection over libuv TCP (optionally TLS), with preallocated request slots
 * indexed by stream id, a coalescing write queue and in-place response parsing. */
#ifndef RTETL_CQL_CONN_H
#define RTETL_CQL_CONN_H

#include "cql/frame.h"
#include "cql/tls.h"

#include <uv.h>

typedef struct cql_conn cql_conn;
typedef struct cql_req cql_req;

enum { REQ_FREE = 0, REQ_QUEUED, REQ_INFLIGHT, REQ_ORPHAN, REQ_HELD };

/* Stream ids user requests leave free for heartbeats and re-prepares. */
#define CONN_RESERVED_IDS 2

/* Called once per request. With a response (err NULL; h and body parsed in place, ERROR or not)
 * the handler owns the slot and must release it (cql_conn_release) or re-queue it
 * (cql_conn_send). With a client-side failure (err set: timeout, connection lost) the connection
 * keeps the slot (a timed-out stream id stays reserved until its late response arrives) and the
 * handler must not touch it beyond reading r->frame, e.g. to copy it for a retry. */
typedef void (*cql_req_done)(cql_req *r, const cql_error *err, const cql_frame_hdr *h,
                             cql_rd *body);

struct cql_req {
    cql_conn *conn;
    int16_t stream;
    uint8_t state;
    bool user;         /* counts against max_inflight */
    cql_buf frame;     /* the encoded request (header + body), kept for re-sending */
    uint64_t deadline; /* loop ms */
    cql_req *next;     /* write queue */
    cql_req_done done;
    /* Context for the owner (session): user callback and what re-sending needs. */
    cql_result_cb cb;
    void *ud;
    void (*internal)(cql_conn *c, const cql_error *err, const cql_result *res);
    cql_prepare_cb pcb;
    const void *prepared; /* cql_prepared* whose columns decode skip_metadata rows */
    void *ctx;
    void *internal_ctx; /* the cql_prepared a re-prepare refreshes */
    int retries;
    bool idempotent;
    uint32_t timeout_ms;
};

typedef struct cql_conn_cb {
    /* Handshake finished (err NULL) or failed. */
    void (*ready)(cql_conn *c, const cql_error *err);
    /* The connection is gone; every request was failed first. Called once, from the handle's
     * close callback, after which the owner frees c with cql_conn_free. */
    void (*closed)(cql_conn *c, const cql_error *err);
    void (*event)(cql_conn *c, const cql_event *ev);
    /* c has queued writes: the owner calls cql_conn_flush once this loop iteration. */
    void (*dirty)(cql_conn *c);
} cql_conn_cb;

typedef struct cql_conn_opts {
    const char *username, *password, *keyspace;
    bool lz4;
    cql_tls_ctx *tls; /* NULL: plain TCP */
    const char *tls_name;
    int nslots;   /* stream ids 0..nslots-1 */
    int max_user; /* user requests in flight at most */
    int connect_timeout_ms;
    int write_timeout_ms; /* close when a write is pending longer; 0: never */
    bool register_events;
} cql_conn_opts;

typedef enum {
    CONN_CONNECTING,
    CONN_HANDSHAKE,
    CONN_READY,
    CONN_CLOSING,
} cql_conn_state;

struct cql_conn {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_write_t wreq;
    uv_connect_t creq;
    cql_conn_state state;
    const cql_conn_cb *cb;
    void *owner; /* the session's host or control object */
    cql_conn_opts opts;
    char addr[64];
    cql_tls *tls;
    /* Slots and the free stream-id stack. */
    cql_req *slots;
    int16_t *free_ids;
    int nfree;
    int user_inflight;
    int orphans;
    /* Write side: pending FIFO, one uv_write at a time of everything pending. */
    cql_req *wq_head, *wq_tail;
    bool writing, dirty;
    cql_buf wbuf, zbuf;
    /* Read side: frames accumulate in rbuf and are parsed in place. */
    cql_buf rbuf, plain;
    cql_result scratch; /* reused RESULT decoding state */
    uint64_t last_write, last_read, connect_deadline, write_since;
    bool heartbeat_out, lz4_on, lz4_asked, was_ready, tls_done;
    cql_buf tlsin;
    cql_error close_err;
    cql_conn *dirty_next; /* session's flush list */
    bool in_dirty_list;
    uint64_t bytes_in, bytes_out;
    uint64_t user_sent; /* user requests sent (each retry counts on its connection) */
};

/* Allocates a connection (not yet connecting). opts strings are borrowed and must outlive c. */
cql_conn *cql_conn_new(uv_loop_t *loop, const cql_conn_opts *opts, const cql_conn_cb *cb,
                       void *owner);
/* Starts TCP connect + handshake to addr; ready() fires later. Returns 0 or CQL_E_*. */
int cql_conn_connect(cql_conn *c, const struct sockaddr *sa, const char *addr_text);
/* Takes a free slot for a request; NULL when none (or too many user requests in flight). */
cql_req *cql_conn_acquire(cql_conn *c, bool user);
/* Queues r (whose frame is encoded) for the next flush and arms its deadline. */
void cql_conn_send(cql_conn *c, cql_req *r, uint32_t timeout_ms);
void cql_conn_release(cql_req *r);
/* Writes everything queued as one write (called once per loop iteration by the session). */
void cql_conn_flush(cql_conn *c);
/* Times out expired requests, sends heartbeats; now in loop ms. */
void cql_conn_sweep(cql_conn *c, uint64_t now, int heartbeat_s);
/* Fails all requests with err's code and closes; closed() follows. Idempotent. */
void cql_conn_close(cql_conn *c, int code, const char *why);
void cql_conn_free(cql_conn *c);
/* The load figure for choosing a connection: user requests in flight plus timed-out ones whose
 * stream ids are still reserved (a connection that stopped answering is not the least loaded). */
static inline int cql_conn_load(const cql_conn *c)
{
    return c->user_inflight + c->orphans;
}
/* Whether a user request can be queued now. */
static inline bool cql_conn_has_room(const cql_conn *c)
{
    return c->state == CONN_READY && c->user_inflight < c->opts.max_user &&
           c->nfree > CONN_RESERVED_IDS;
}

#endif
