/* Requests: prepare, execute, query and batch; token-aware routing; the response handler with
 * transparent re-prepare on UNPREPARED and retries of idempotent requests. */
#include "cql/session.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REPLICAS 16

/* ---- routing ------------------------------------------------------------------------------ */

/* The connection of h with the most room, or NULL when all are full. */
static cql_conn *host_conn(const cql_session *s, cql_host *h)
{
    cql_conn *best = NULL;
    for (int k = 0; k < s->cfg.connections_per_host; k++) {
        cql_conn *c = h->conns[k];
        if (c && cql_conn_has_room(c) && (!best || cql_conn_load(c) < cql_conn_load(best)))
            best = c;
    }
    return best;
}

/* Whether requests go to other data centers: only while no local host is up. */
static bool remote_only(const cql_session *s)
{
    for (int i = 0; i < s->nhosts; i++)
        if (s->hosts[i]->up && cql_host_is_local(s, s->hosts[i])) return false;
    return true;
}

/* Round-robin over the up hosts of the local data center (of the others when remote), skipping
 * `avoid` when another host has room. */
static cql_conn *any_conn_of(cql_session *s, const cql_host *avoid, bool remote)
{
    cql_conn *fallback = NULL;
    for (int i = 0; i < s->nhosts; i++) {
        cql_host *h = s->hosts[(s->rr + (unsigned)i) % (unsigned)s->nhosts];
        if (!h->up || cql_host_is_local(s, h) == remote) continue;
        cql_conn *c = host_conn(s, h);
        if (!c) continue;
        if (h != avoid) {
            s->rr++;
            return c;
        }
        fallback = c;
    }
    return fallback;
}

static cql_conn *any_conn(cql_session *s, const cql_host *avoid)
{
    return any_conn_of(s, avoid, remote_only(s));
}

/* Serialized partition key of a prepared statement's values into s->keybuf; false when some
 * component is null or unset (no routing then). */
static bool routing_key(cql_session *s, const cql_prepared *p, const cql_value *values)
{
    const cql_result *m = p->meta;
    s->keybuf.len = 0;
    if (m->npk == 0) return false;
    if (m->npk == 1) {
        cql_value v = values[m->pk[0]];
        if (v.len < 0) return false;
        cql_buf_put(&s->keybuf, v.ptr, (size_t)v.len);
        return !s->keybuf.oom || (s->keybuf.oom = false);
    }
    for (int i = 0; i < m->npk; i++) {
        cql_value v = values[m->pk[i]];
        if (v.len < 0 || v.len > 0xFFFF) return false;
        cql_buf_u16(&s->keybuf, (uint16_t)v.len);
        cql_buf_put(&s->keybuf, v.ptr, (size_t)v.len);
        cql_buf_u8(&s->keybuf, 0);
    }
    if (s->keybuf.oom) return s->keybuf.oom = false;
    return true;
}

/* An up replica of the local data center (the least loaded), else another local host; only
 * when no local host is up, a replica of another data center, else any of its hosts. */
cql_conn *cql_route_token(cql_session *s, int64_t token, const char *ks)
{
    cql_host *reps[MAX_REPLICAS];
    int n = cql_ring_replicas(s, token, ks, reps, MAX_REPLICAS);
    bool remote = remote_only(s);
    cql_conn *best = NULL;
    for (int i = 0; i < n; i++) {
        if (!reps[i]->up || cql_host_is_local(s, reps[i]) == remote) continue;
        cql_conn *c = host_conn(s, reps[i]);
        if (c && (!best || cql_conn_load(c) < cql_conn_load(best))) best = c;
    }
    return best ? best : any_conn_of(s, NULL, remote);
}

static cql_conn *route(cql_session *s, const cql_prepared *p, const cql_value *values)
{
    if (!s->cfg.token_aware || !p || !routing_key(s, p, values)) return any_conn(s, NULL);
    const cql_result *m = p->meta;
    return cql_route_token(s, cql_murmur3_token(s->keybuf.data, s->keybuf.len),
                           m->bind[m->pk[0]].keyspace);
}

static int no_conn_code(const cql_session *s)
{
    if (s->state == SESS_CLOSING || s->state == SESS_CLOSED) return CQL_E_CLOSED;
    for (int i = 0; i < s->nhosts; i++)
        if (s->hosts[i]->up) return CQL_E_BACKPRESSURE;
    return CQL_E_NO_HOST;
}

/* ---- completion --------------------------------------------------------------------------- */

static void finish(cql_session *s, cql_result_cb cb, void *ud, const cql_error *err,
                   const cql_result *res)
{
    if (err) {
        s->stats.errors++;
        if (err->code == CQL_E_TIMEOUT) s->stats.timeouts++;
    }
    if (cb) cb(ud, err, res);
}

/* Re-sends r's frame on another connection (preferably another host); true when queued. */
static bool retry(cql_session *s, cql_req *r, const cql_error *err)
{
    if (!r->idempotent || r->retries >= s->cfg.max_retries || !cql_error_retriable(err) ||
        err->code == CQL_E_CLOSED || s->state != SESS_OPEN)
        return false;
    cql_conn *c = any_conn(s, cql_host_of(r->conn));
    cql_req *n = c ? cql_conn_acquire(c, true) : NULL;
    if (!n) return false;
    cql_buf_put(&n->frame, r->frame.data, r->frame.len);
    if (n->frame.oom) {
        n->frame.oom = false;
        cql_conn_release(n);
        return false;
    }
    n->done = r->done;
    n->cb = r->cb;
    n->ud = r->ud;
    n->prepared = r->prepared;
    n->ctx = r->ctx;
    n->idempotent = true;
    n->retries = r->retries + 1;
    s->stats.retries++;
    cql_conn_send(c, n, r->timeout_ms);
    return true;
}

static cql_prepared *find_by_id(cql_session *s, const uint8_t *id, uint16_t len)
{
    for (cql_prepared *p = s->prepared; p; p = p->next)
        if (p->idlen == len && memcmp(p->id, id, len) == 0) return p;
    return NULL;
}

static bool same_meta(const cql_result *a, const cql_result *b)
{
    return a->nbind == b->nbind && a->ncols == b->ncols && a->npk == b->npk &&
           (a->npk == 0 || memcmp(a->pk, b->pk, sizeof *a->pk * (size_t)a->npk) == 0) &&
           cql_columns_equal(a->bind, b->bind, a->nbind) &&
           cql_columns_equal(a->cols, b->cols, a->ncols);
}

/* Takes the metadata of a new PREPARED result for p when it differs (after ALTER TABLE the id,
 * a digest of query and keyspace, stays the same while the columns change); 0 or CQL_E_NOMEM. */
static int refresh_meta(cql_prepared *p, const cql_result *res)
{
    if (p->meta && same_meta(p->meta, res)) return 0;
    cql_result *meta = cql_result_copy(res);
    if (!meta) return CQL_E_NOMEM;
    if (p->meta) {
        cql_result **retired = realloc(p->retired, sizeof *retired * (size_t)(p->nretired + 1));
        if (!retired) return cql_result_free(meta), CQL_E_NOMEM;
        p->retired = retired;
        p->retired[p->nretired++] = p->meta;
    }
    p->meta = meta;
    return 0;
}

static void on_reprepared(cql_req *pr, const cql_error *err, const cql_frame_hdr *h, cql_rd *b)
{
    cql_conn *c = pr->conn;
    cql_session *s = cql_session_of(c);
    cql_req *orig = pr->ctx;
    cql_prepared *p = pr->internal_ctx;
    cql_error e;
    if (!err) {
        cql_conn_release(pr);
        if (h->opcode == CQL_OP_ERROR) {
            cql_dec_error(b, &e);
            err = &e;
        } else {
            /* The id is a digest of the query and keyspace, so the original frame stays valid;
             * the columns it returns may not be: keep the new ones (skip_metadata rows are
             * decoded with them). Should they not decode, the old ones serve as before. */
            cql_result_reset(&c->scratch);
            if (h->opcode == CQL_OP_RESULT && !b->err &&
                cql_dec_result(b->p, cql_rd_left(b), NULL, 0, &c->scratch) == 0 &&
                c->scratch.kind == CQL_RESULT_PREPARED)
                refresh_meta(p, &c->scratch);
            cql_conn_send(c, orig, orig->timeout_ms);
            return;
        }
    }
    cql_result_cb cb = orig->cb;
    void *ud = orig->ud;
    cql_conn_release(orig);
    finish(s, cb, ud, err, NULL);
}

/* Handles UNPREPARED by preparing again on this connection and re-sending r; true if started. */
static bool reprepare(cql_session *s, cql_req *r, const cql_error *e)
{
    cql_prepared *p = find_by_id(s, e->unprepared_id, e->unprepared_id_len);
    if (!p || r->retries > s->cfg.max_retries + 2) return false;
    cql_req *pr = cql_conn_acquire(r->conn, false);
    if (!pr) return false;
    if (cql_enc_prepare(&pr->frame, 0, p->query)) {
        cql_conn_release(pr);
        return false;
    }
    pr->done = on_reprepared;
    pr->ctx = r;
    pr->internal_ctx = p;
    r->retries++;
    s->stats.reprepares++;
    cql_conn_send(r->conn, pr, r->timeout_ms);
    return true;
}

static void on_result(cql_session *s, cql_req *r, cql_rd *body)
{
    cql_conn *c = r->conn;
    const cql_prepared *p = r->prepared;
    const cql_result *m = p ? p->meta : NULL;
    cql_result_cb cb = r->cb;
    void *ud = r->ud;
    cql_conn_release(r);
    cql_result_reset(&c->scratch);
    if (body->err || cql_dec_result(body->p, cql_rd_left(body), m ? m->cols : NULL,
                                    m ? m->ncols : 0, &c->scratch)) {
        cql_error e;
        cql_error_set(&e, CQL_E_PROTOCOL, "%s: malformed RESULT", c->addr);
        return finish(s, cb, ud, &e, NULL);
    }
    if (c->scratch.kind == CQL_RESULT_SET_KEYSPACE &&
        cql_session_defer_use(s, c, cb, ud, &c->scratch))
        return;
    finish(s, cb, ud, NULL, c->scratch.kind == CQL_RESULT_VOID ? NULL : &c->scratch);
}

void cql_request_done(cql_req *r, const cql_error *err, const cql_frame_hdr *h, cql_rd *body)
{
    cql_session *s = cql_session_of(r->conn);
    if (err) {
        if (retry(s, r, err)) return;
        return finish(s, r->cb, r->ud, err, NULL);
    }
    if (h->opcode == CQL_OP_RESULT) return on_result(s, r, body);
    cql_error e;
    if (h->opcode != CQL_OP_ERROR || cql_dec_error(body, &e))
        cql_error_set(&e, CQL_E_PROTOCOL, "unexpected response opcode %d", h->opcode);
    snprintf(e.host, sizeof e.host, "%s", r->conn->addr);
    if (e.code == CQL_ERR_UNPREPARED && reprepare(s, r, &e)) return;
    if (retry(s, r, &e)) return cql_conn_release(r);
    cql_result_cb cb = r->cb;
    void *ud = r->ud;
    cql_conn_release(r);
    finish(s, cb, ud, &e, NULL);
}

/* ---- prepare ------------------------------------------------------------------------------ */

static cql_prepared *find_by_query(cql_session *s, const char *q, size_t len)
{
    for (cql_prepared *p = s->prepared; p; p = p->next)
        if (strlen(p->query) == len && memcmp(p->query, q, len) == 0) return p;
    return NULL;
}

/* Records a PREPARED result for the query held in r's frame ([long string] after the header). */
static cql_prepared *remember(cql_session *s, cql_req *r, const cql_result *res, cql_error *e)
{
    const char *q = (const char *)r->frame.data + CQL_HEADER_LEN + 4;
    size_t qlen = cql_get_be32(r->frame.data + CQL_HEADER_LEN);
    if (res->prepared_id.len <= 0 || res->prepared_id.len > 32) {
        cql_error_set(e, CQL_E_PROTOCOL, "prepared id of %d bytes", res->prepared_id.len);
        return NULL;
    }
    cql_prepared *p = find_by_query(s, q, qlen);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (p) p->query = strndup(q, qlen);
        if (!p || !p->query || refresh_meta(p, res)) {
            if (p) free(p->query);
            free(p);
            return cql_error_set(e, CQL_E_NOMEM, "out of memory"), NULL;
        }
        p->next = s->prepared;
        s->prepared = p;
    } else if (refresh_meta(p, res)) {
        return cql_error_set(e, CQL_E_NOMEM, "out of memory"), NULL;
    }
    p->idlen = (uint16_t)res->prepared_id.len;
    memcpy(p->id, res->prepared_id.ptr, p->idlen);
    return p;
}

static void on_prepared(cql_req *r, const cql_error *err, const cql_frame_hdr *h, cql_rd *body)
{
    cql_conn *c = r->conn;
    cql_session *s = cql_session_of(c);
    cql_prepare_cb cb = r->pcb;
    void *ud = r->ud;
    cql_error e;
    if (err) return s->stats.errors++, cb(s, err, NULL, ud);
    const cql_prepared *p = NULL;
    if (h->opcode == CQL_OP_ERROR) {
        cql_dec_error(body, &e);
        snprintf(e.host, sizeof e.host, "%s", c->addr);
    } else {
        cql_result_reset(&c->scratch);
        if (h->opcode != CQL_OP_RESULT ||
            cql_dec_result(body->p, cql_rd_left(body), NULL, 0, &c->scratch) ||
            c->scratch.kind != CQL_RESULT_PREPARED)
            cql_error_set(&e, CQL_E_PROTOCOL, "%s: malformed PREPARED result", c->addr);
        else
            p = remember(s, r, &c->scratch, &e);
    }
    cql_conn_release(r);
    if (!p) s->stats.errors++;
    cb(s, p ? NULL : &e, p, ud);
}

static bool usable(const cql_session *s)
{
    return s->state == SESS_OPEN || s->state == SESS_CONNECTING;
}

int cql_session_prepare(cql_session *s, const char *query, cql_prepare_cb cb, void *ud)
{
    if (!query || !cb) return CQL_E_INVAL;
    if (!usable(s)) return CQL_E_CLOSED;
    cql_conn *c = any_conn(s, NULL);
    cql_req *r = c ? cql_conn_acquire(c, true) : NULL;
    if (!r) return no_conn_code(s);
    int rc = cql_enc_prepare(&r->frame, 0, query);
    if (rc) return cql_conn_release(r), rc;
    r->done = on_prepared;
    r->pcb = cb;
    r->ud = ud;
    s->stats.requests++;
    cql_conn_send(c, r, (uint32_t)s->cfg.request_timeout_ms);
    return 0;
}

/* ---- execute, query, batch ---------------------------------------------------------------- */

static void arm(cql_session *s, cql_conn *c, cql_req *r, const cql_query_opts *o, cql_result_cb cb,
                void *ud)
{
    r->done = cql_request_done;
    r->cb = cb;
    r->ud = ud;
    r->idempotent = o && o->idempotent;
    s->stats.requests++;
    uint32_t t = o && o->timeout_ms ? o->timeout_ms : (uint32_t)s->cfg.request_timeout_ms;
    cql_conn_send(c, r, t);
}

int cql_session_execute_opts(cql_session *s, const cql_prepared *p, const cql_value *values,
                             size_t n, cql_consistency cl, const cql_query_opts *opts,
                             cql_result_cb cb, void *ud)
{
    if (!p || (n && !values)) return CQL_E_INVAL;
    if ((int)n != p->meta->nbind) return CQL_E_INVAL;
    if (!usable(s)) return CQL_E_CLOSED;
    cql_conn *c = route(s, p, values);
    cql_req *r = c ? cql_conn_acquire(c, true) : NULL;
    if (!r) return no_conn_code(s);
    int rc =
        cql_enc_execute(&r->frame, 0, p->id, p->idlen, values, n, cl, opts, p->meta->ncols > 0);
    if (rc) return cql_conn_release(r), rc;
    r->prepared = p;
    arm(s, c, r, opts, cb, ud);
    return 0;
}

int cql_session_execute(cql_session *s, const cql_prepared *p, const cql_value *values, size_t n,
                        cql_consistency cl, cql_result_cb cb, void *ud)
{
    return cql_session_execute_opts(s, p, values, n, cl, NULL, cb, ud);
}

int cql_session_query(cql_session *s, const char *cql, const cql_value *values, size_t n,
                      cql_consistency cl, const cql_query_opts *opts, cql_result_cb cb, void *ud)
{
    if (!cql) return CQL_E_INVAL;
    if (!usable(s)) return CQL_E_CLOSED;
    cql_conn *c = any_conn(s, NULL);
    cql_req *r = c ? cql_conn_acquire(c, true) : NULL;
    if (!r) return no_conn_code(s);
    int rc = cql_enc_query(&r->frame, 0, cql, values, n, cl, opts);
    if (rc) return cql_conn_release(r), rc;
    arm(s, c, r, opts, cb, ud);
    return 0;
}

int cql_session_batch(cql_session *s, cql_batch_type type, const cql_batch_stmt *stmts, size_t n,
                      cql_consistency cl, const cql_query_opts *opts, cql_result_cb cb, void *ud)
{
    if (!stmts || n == 0 || n > 0xFFFF) return CQL_E_INVAL;
    if (!usable(s)) return CQL_E_CLOSED;
    for (size_t i = 0; i < n; i++)
        if (!stmts[i].prepared || (int)stmts[i].n != stmts[i].prepared->meta->nbind)
            return CQL_E_INVAL;
    cql_batch_item stack[32], *items = n <= 32 ? stack : calloc(n, sizeof *items);
    if (!items) return CQL_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = (cql_batch_item){stmts[i].prepared->id, stmts[i].prepared->idlen, NULL,
                                    stmts[i].values, stmts[i].n};
    cql_conn *c = route(s, stmts[0].prepared, stmts[0].values);
    cql_req *r = c ? cql_conn_acquire(c, true) : NULL;
    int rc = r ? cql_enc_batch(&r->frame, 0, (int)type, items, n, cl, opts) : no_conn_code(s);
    if (items != stack) free(items);
    if (rc) {
        if (r) cql_conn_release(r);
        return rc;
    }
    arm(s, c, r, opts, cb, ud);
    return 0;
}

/* ---- batches built ahead ------------------------------------------------------------------ */

/* The statements are encoded after CQL_BATCH_HEAD bytes of room, so that sending makes the
 * frame around them in place and hands the buffer to the request (whose own buffer comes back
 * for the next batch): each statement is written once, into the buffer that goes out. */
struct cql_batch {
    cql_buf stmts; /* empty, or the room and the statements */
    size_t n;
    bool routed; /* token and ks are set (from the first statement) */
    int64_t token;
    const char *ks; /* of the first statement's prepared metadata (lives as long as it) */
};

cql_batch *cql_batch_new(void)
{
    return calloc(1, sizeof(cql_batch));
}

void cql_batch_free(cql_batch *b)
{
    if (!b) return;
    cql_buf_free(&b->stmts);
    free(b);
}

void cql_batch_clear(cql_batch *b)
{
    b->stmts.len = 0;
    b->stmts.oom = false;
    b->n = 0;
    b->routed = false;
}

size_t cql_batch_count(const cql_batch *b)
{
    return b->n;
}

/* The token of p's partition key for values; false when unknown. */
static bool stmt_token(cql_session *s, const cql_prepared *p, const cql_value *values, int64_t *tok)
{
    if (!s->cfg.token_aware || !routing_key(s, p, values)) return false;
    *tok = cql_murmur3_token(s->keybuf.data, s->keybuf.len);
    return true;
}

int cql_batch_add(cql_session *s, cql_batch *b, const cql_prepared *p, const cql_value *values,
                  size_t n, const cql_token *tok)
{
    if (!p || (int)n != p->meta->nbind || b->n >= 0xFFFF) return CQL_E_INVAL;
    cql_batch_item it = {p->id, p->idlen, NULL, values, n};
    if (!cql_batch_item_ok(&it)) return CQL_E_INVAL;
    if (b->stmts.len == 0) {
        if (!cql_buf_reserve(&b->stmts, CQL_BATCH_HEAD)) {
            b->stmts.oom = false;
            return CQL_E_NOMEM;
        }
        b->stmts.len = CQL_BATCH_HEAD;
    }
    size_t mark = b->stmts.len;
    cql_enc_batch_stmt(&b->stmts, &it);
    if (b->stmts.oom) {
        b->stmts.oom = false;
        b->stmts.len = mark;
        return CQL_E_NOMEM;
    }
    if (b->n++ == 0) {
        if (tok) {
            b->routed = tok->known;
            b->token = tok->value;
        } else {
            b->routed = stmt_token(s, p, values, &b->token);
        }
        if (b->routed) b->ks = p->meta->bind[p->meta->pk[0]].keyspace;
    }
    return 0;
}

int cql_session_send_batch(cql_session *s, cql_batch *b, cql_batch_type type, cql_consistency cl,
                           const cql_query_opts *opts, cql_result_cb cb, void *ud)
{
    if (!b || b->n == 0) return CQL_E_INVAL;
    if (!usable(s)) return CQL_E_CLOSED;
    cql_conn *c = b->routed ? cql_route_token(s, b->token, b->ks) : any_conn(s, NULL);
    cql_req *r = c ? cql_conn_acquire(c, true) : NULL;
    if (!r) return no_conn_code(s);
    int rc = cql_enc_batch_around(&b->stmts, 0, (int)type, b->n, cl, opts);
    if (rc) return cql_conn_release(r), rc;
    cql_buf spare = r->frame;
    r->frame = b->stmts;
    b->stmts = spare;
    cql_batch_clear(b);
    arm(s, c, r, opts, cb, ud);
    return 0;
}

uint64_t cql_session_replicas_key(cql_session *s, const cql_prepared *p, const cql_value *values,
                                  cql_token *tok)
{
    int64_t t = 0;
    bool known = p && stmt_token(s, p, values, &t);
    if (tok) *tok = (cql_token){known, t};
    if (!known) return 0;
    const cql_result *m = p->meta;
    cql_host *reps[MAX_REPLICAS];
    int n = cql_ring_replicas(s, t, m->bind[m->pk[0]].keyspace, reps, MAX_REPLICAS);
    uint64_t key = 0;
    for (int i = 0; i < n; i++)
        for (int h = 0; h < s->nhosts; h++)
            if (s->hosts[h] == reps[i]) key |= 1ull << (h % 64);
    return key;
}

/* ---- prepared accessors ------------------------------------------------------------------- */

const char *cql_prepared_query(const cql_prepared *p)
{
    return p->query;
}

int cql_prepared_bind_count(const cql_prepared *p)
{
    return p->meta->nbind;
}

const cql_column *cql_prepared_bind_column(const cql_prepared *p, int i)
{
    return i >= 0 && i < p->meta->nbind ? &p->meta->bind[i] : NULL;
}

int cql_prepared_pk_count(const cql_prepared *p)
{
    return p->meta->npk;
}

const uint16_t *cql_prepared_pk_indexes(const cql_prepared *p)
{
    return p->meta->pk;
}

int cql_prepared_result_column_count(const cql_prepared *p)
{
    return p->meta->ncols;
}

const cql_column *cql_prepared_result_column(const cql_prepared *p, int i)
{
    return cql_result_column(p->meta, i);
}
