/* Cluster topology from the control connection: system.local and system.peers_v2 (falling back
 * to system.peers), replication from system_schema.keyspaces, the Murmur3 token ring with
 * SimpleStrategy and NetworkTopologyStrategy (rack-aware) replica placement, and reactions to
 * TOPOLOGY/STATUS/SCHEMA events. */
#include "cql/session.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- internal queries --------------------------------------------------------------------- */

static void internal_done(cql_req *r, const cql_error *err, const cql_frame_hdr *h, cql_rd *body)
{
    cql_conn *c = r->conn;
    void (*fn)(cql_conn *, const cql_error *, const cql_result *) = r->internal;
    if (err) return fn(c, err, NULL);
    cql_conn_release(r);
    cql_error e;
    if (h->opcode == CQL_OP_ERROR) {
        cql_dec_error(body, &e);
        return fn(c, &e, NULL);
    }
    cql_result_reset(&c->scratch);
    if (h->opcode != CQL_OP_RESULT || body->err ||
        cql_dec_result(body->p, cql_rd_left(body), NULL, 0, &c->scratch)) {
        cql_error_set(&e, CQL_E_PROTOCOL, "%s: malformed response to an internal query", c->addr);
        return fn(c, &e, NULL);
    }
    fn(c, NULL, &c->scratch);
}

int cql_internal_query(cql_conn *c, const char *q,
                       void (*done)(cql_conn *c, const cql_error *err, const cql_result *res))
{
    cql_req *r = cql_conn_acquire(c, false);
    if (!r) return CQL_E_BACKPRESSURE;
    int rc = cql_enc_query(&r->frame, 0, q, NULL, 0, CQL_ONE, NULL);
    if (rc) {
        cql_conn_release(r);
        return rc;
    }
    r->done = internal_done;
    r->internal = done;
    cql_conn_send(c, r, (uint32_t)cql_session_of(c)->cfg.request_timeout_ms);
    return 0;
}

/* ---- reading rows ------------------------------------------------------------------------- */

static int col_index(const cql_result *res, const char *name)
{
    for (int i = 0; i < res->ncols; i++)
        if (strcmp(res->cols[i].name, name) == 0) return i;
    return -1;
}

static void cell_text(const cql_result *res, int row, const char *col, char *out, size_t n)
{
    out[0] = '\0';
    int i = col_index(res, col);
    cql_value v = i < 0 ? cql_value_null() : cql_result_cell(res, row, i);
    if (v.len < 0) return;
    size_t len = (size_t)v.len < n - 1 ? (size_t)v.len : n - 1;
    memcpy(out, v.ptr, len);
    out[len] = '\0';
}

/* An inet cell as "ip" (empty when null or 0.0.0.0). */
static void cell_ip(const cql_result *res, int row, const char *col, char *out, size_t n)
{
    out[0] = '\0';
    int i = col_index(res, col);
    cql_value v = i < 0 ? cql_value_null() : cql_result_cell(res, row, i);
    if (v.len != 4 && v.len != 16) return;
    static const uint8_t zero[16];
    if (memcmp(v.ptr, zero, (size_t)v.len) == 0) return;
    inet_ntop(v.len == 4 ? AF_INET : AF_INET6, v.ptr, out, (socklen_t)n);
}

static void format_addr(char *out, size_t n, const char *ip, int port)
{
    snprintf(out, n, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
}

cql_host *cql_host_find(cql_session *s, const char *addr)
{
    for (int i = 0; i < s->nhosts; i++)
        if (strcmp(s->hosts[i]->addr, addr) == 0) return s->hosts[i];
    return NULL;
}

static cql_host *host_add(cql_session *s, const char *ip, int port)
{
    char addr[64];
    format_addr(addr, sizeof addr, ip, port);
    cql_host *h = cql_host_find(s, addr);
    if (h) return h;
    cql_host **hosts = realloc(s->hosts, sizeof *hosts * (size_t)(s->nhosts + 1));
    if (!hosts) return NULL;
    s->hosts = hosts;
    h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->conns = calloc((size_t)s->cfg.connections_per_host, sizeof *h->conns);
    if (!h->conns || (uv_ip4_addr(ip, port, (struct sockaddr_in *)&h->sa) != 0 &&
                      uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&h->sa) != 0)) {
        free(h->conns);
        free(h);
        return NULL;
    }
    h->s = s;
    snprintf(h->addr, sizeof h->addr, "%s", addr);
    snprintf(h->ip, sizeof h->ip, "%s", ip);
    h->port = port;
    h->removed = true; /* until a scan confirms it */
    s->hosts[s->nhosts++] = h;
    return h;
}

/* Fills h's dc, rack and tokens from row `row` of a system.local/peers result. */
static void host_fill(cql_host *h, const cql_result *res, int row)
{
    cell_text(res, row, "data_center", h->dc, sizeof h->dc);
    cell_text(res, row, "rack", h->rack, sizeof h->rack);
    int i = col_index(res, "tokens");
    cql_value v = i < 0 ? cql_value_null() : cql_result_cell(res, row, i);
    free(h->tokens);
    h->tokens = NULL;
    h->ntokens = 0;
    cql_rd r = cql_rd_make(v.ptr, v.len > 0 ? (size_t)v.len : 0);
    int32_t n = v.len > 0 ? cql_rd_i32(&r) : 0;
    if (n <= 0 || (size_t)n > cql_rd_left(&r) / 4) return;
    h->tokens = calloc((size_t)n, sizeof *h->tokens);
    for (int32_t k = 0; h->tokens && k < n && !r.err; k++) {
        cql_value t = cql_rd_bytes(&r);
        char tmp[32];
        if (t.len <= 0 || t.len >= (int32_t)sizeof tmp) continue;
        memcpy(tmp, t.ptr, (size_t)t.len);
        tmp[t.len] = '\0';
        h->tokens[h->ntokens++] = strtoll(tmp, NULL, 10);
    }
    h->removed = false;
}

/* ---- replication factors and the ring ----------------------------------------------------- */

void cql_replication_parse(cql_value map, ks_rf *out)
{
    cql_rd r = cql_rd_make(map.ptr, map.len > 0 ? (size_t)map.len : 0);
    int32_t n = map.len > 0 ? cql_rd_i32(&r) : 0;
    int simple = 0;
    if (n < 0 || (size_t)n > cql_rd_left(&r) / 8) n = 0; /* two [bytes] lengths per entry */
    ks_dc_rf *dcs = n ? calloc((size_t)n, sizeof *dcs) : NULL;
    out->nts = false;
    out->ndcs = 0;
    for (int32_t i = 0; i < n && !r.err; i++) {
        cql_value k = cql_rd_bytes(&r), v = cql_rd_bytes(&r);
        if (r.err || k.len < 0 || v.len < 0) break;
        char key[64], val[160];
        snprintf(key, sizeof key, "%.*s", (int)(k.len < 63 ? k.len : 63), (const char *)k.ptr);
        snprintf(val, sizeof val, "%.*s", (int)(v.len < 159 ? v.len : 159), (const char *)v.ptr);
        if (strcmp(key, "class") == 0) {
            out->nts = strstr(val, "NetworkTopologyStrategy") != NULL;
        } else if (strcmp(key, "replication_factor") == 0) {
            simple = atoi(val);
        } else if (dcs) { /* a data center; "3/1" (transient replicas) counts 3 */
            snprintf(dcs[out->ndcs].dc, sizeof dcs->dc, "%s", key);
            dcs[out->ndcs++].rf = atoi(val);
        }
    }
    free(out->dcs);
    out->dcs = NULL;
    out->rf = simple > 0 ? simple : 1;
    if (!out->nts || out->ndcs == 0) {
        out->ndcs = 0;
        free(dcs);
        return;
    }
    out->dcs = dcs;
    out->rf = 0;
    for (int i = 0; i < out->ndcs; i++) out->rf += dcs[i].rf > 0 ? dcs[i].rf : 0;
}

void cql_rfs_free(ks_rf *rfs, int n)
{
    for (int i = 0; rfs && i < n; i++) free(rfs[i].dcs);
    free(rfs);
}

static void rfs_update(cql_session *s, const cql_result *res)
{
    int ki = col_index(res, "keyspace_name"), ri = col_index(res, "replication");
    if (ki < 0 || ri < 0) return;
    ks_rf *rfs = calloc((size_t)res->nrows + 1, sizeof *rfs);
    if (!rfs) return;
    for (int32_t i = 0; i < res->nrows; i++) {
        cell_text(res, i, "keyspace_name", rfs[i].name, sizeof rfs[i].name);
        cql_replication_parse(cql_result_cell(res, i, ri), &rfs[i]);
    }
    cql_rfs_free(s->rfs, s->nrfs);
    s->rfs = rfs;
    s->nrfs = res->nrows;
}

static int cmp_ring(const void *a, const void *b)
{
    int64_t x = ((const ring_entry *)a)->token, y = ((const ring_entry *)b)->token;
    return x < y ? -1 : x > y;
}

static dc_stat *dc_stat_of(const cql_session *s, const char *dc)
{
    for (int i = 0; i < s->ndcs; i++)
        if (strcmp(s->dcs[i].dc, dc) == 0) return &s->dcs[i];
    return NULL;
}

/* Counts the hosts and distinct racks of each data center among the ring's hosts. */
static void dcs_build(cql_session *s)
{
    dc_stat *dcs = calloc((size_t)s->nhosts + 1, sizeof *dcs);
    if (!dcs) return;
    free(s->dcs);
    s->dcs = dcs;
    s->ndcs = 0;
    for (int i = 0; i < s->nhosts; i++) {
        const cql_host *h = s->hosts[i];
        if (h->removed || h->ntokens == 0) continue;
        dc_stat *d = dc_stat_of(s, h->dc);
        if (!d) {
            d = &s->dcs[s->ndcs++];
            snprintf(d->dc, sizeof d->dc, "%s", h->dc);
        }
        d->nodes++;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) {
            const cql_host *o = s->hosts[j];
            seen = !o->removed && o->ntokens > 0 && strcmp(o->dc, h->dc) == 0 &&
                   strcmp(o->rack, h->rack) == 0;
        }
        d->racks += !seen;
    }
}

void cql_ring_build(cql_session *s)
{
    int n = 0;
    for (int i = 0; i < s->nhosts; i++) n += s->hosts[i]->removed ? 0 : s->hosts[i]->ntokens;
    ring_entry *ring = calloc((size_t)n + 1, sizeof *ring);
    if (!ring) return;
    n = 0;
    for (int i = 0; i < s->nhosts; i++) {
        if (s->hosts[i]->removed) continue;
        for (int k = 0; k < s->hosts[i]->ntokens; k++)
            ring[n++] = (ring_entry){s->hosts[i]->tokens[k], i};
    }
    qsort(ring, (size_t)n, sizeof *ring, cmp_ring);
    free(s->ring);
    s->ring = ring;
    s->nring = n;
    dcs_build(s);
}

/* The index of the first ring token >= token (the owner), wrapping around. */
static int ring_start(const cql_session *s, int64_t token)
{
    int lo = 0, hi = s->nring;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->ring[mid].token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool chosen(cql_host *const *out, int n, const cql_host *h, bool same_rack)
{
    for (int j = 0; j < n; j++)
        if (same_rack ? strcmp(out[j]->dc, h->dc) == 0 && strcmp(out[j]->rack, h->rack) == 0
                      : out[j] == h)
            return true;
    return false;
}

/* What NetworkTopologyStrategy still wants from one data center. */
typedef struct dc_fill {
    const char *dc;
    int left;    /* replicas still to place: min(rf, hosts of the data center) */
    int repeats; /* replicas that may share a rack already used: rf - racks */
} dc_fill;

#define MAX_DCS 16

/* NetworkTopologyStrategy as Cassandra (4.0 on) places replicas: walking the ring from the
 * token's owner, each data center takes hosts of its own until it has its rf (or all its
 * hosts), a host on a rack that data center has not used yet always, a host on a used rack only
 * while rf exceeds the data center's rack count by more than the repeats taken so far. */
static int nts_replicas(const cql_session *s, const ks_rf *k, int lo, cql_host **out, int max)
{
    dc_fill f[MAX_DCS];
    int nf = 0, open = 0, n = 0;
    for (int i = 0; i < k->ndcs && nf < MAX_DCS; i++) {
        const dc_stat *st = dc_stat_of(s, k->dcs[i].dc);
        int rf = k->dcs[i].rf, nodes = st ? st->nodes : 0;
        f[nf] = (dc_fill){k->dcs[i].dc, rf < nodes ? rf : nodes, rf - (st ? st->racks : 0)};
        open += f[nf++].left > 0;
    }
    for (int j = 0; j < s->nring && open > 0 && n < max; j++) {
        cql_host *h = s->hosts[s->ring[(lo + j) % s->nring].host];
        dc_fill *d = NULL;
        for (int i = 0; i < nf && !d; i++)
            if (strcmp(f[i].dc, h->dc) == 0) d = &f[i];
        if (!d || d->left <= 0 || chosen(out, n, h, false)) continue;
        if (chosen(out, n, h, true)) {
            if (d->repeats <= 0) continue;
            d->repeats--;
        }
        out[n++] = h;
        if (--d->left == 0) open--;
    }
    return n;
}

int cql_ring_replicas(cql_session *s, int64_t token, const char *ks, cql_host **out, int max)
{
    if (s->nring == 0 || max <= 0) return 0;
    /* A session on a shared cluster may see hundreds of keyspaces; rows of one statement ask
     * for the same one, so the last match is tried first. */
    const ks_rf *k = NULL;
    if (ks && s->rf_hint < s->nrfs && strcmp(s->rfs[s->rf_hint].name, ks) == 0)
        k = &s->rfs[s->rf_hint];
    for (int i = 0; ks && i < s->nrfs && !k; i++)
        if (strcmp(s->rfs[i].name, ks) == 0) {
            k = &s->rfs[i];
            s->rf_hint = i;
        }
    int lo = ring_start(s, token);
    if (k && k->nts) return nts_replicas(s, k, lo, out, max);
    int rf = k ? k->rf : 1, n = 0;
    if (rf > max) rf = max;
    for (int j = 0; j < s->nring && n < rf; j++) {
        cql_host *h = s->hosts[s->ring[(lo + j) % s->nring].host];
        if (!chosen(out, n, h, false)) out[n++] = h;
    }
    return n;
}

/* ---- the refresh chain: local -> peers_v2 | peers -> keyspaces -> apply ------------------- */

static void refresh_fail(cql_conn *c, const cql_error *err)
{
    cql_session *s = cql_session_of(c);
    s->topology_busy = false;
    s->last_error = *err;
    if (c->state != CONN_CLOSING) cql_conn_close(c, CQL_E_CONNECT, err->message);
}

static void refresh_finish(cql_session *s)
{
    s->topology_busy = false;
    for (int i = 0; i < s->nhosts; i++) {
        cql_host *h = s->hosts[i];
        if (!h->removed) continue;
        for (int k = 0; k < s->cfg.connections_per_host; k++)
            if (h->conns[k]) cql_conn_close(h->conns[k], CQL_E_CONN_LOST, "host left the ring");
    }
    cql_ring_build(s);
    cql_session_ensure_pools(s);
    cql_session_check_connected(s);
    if (s->topology_again) {
        s->topology_again = false;
        cql_topology_refresh(s);
    }
}

static void on_keyspaces(cql_conn *c, const cql_error *err, const cql_result *res)
{
    cql_session *s = cql_session_of(c);
    if (err) return refresh_fail(c, err);
    rfs_update(s, res);
    refresh_finish(s);
}

static void after_peers(cql_conn *c)
{
    cql_error e;
    int rc = cql_internal_query(c, "SELECT keyspace_name, replication FROM system_schema.keyspaces",
                                on_keyspaces);
    if (rc) refresh_fail(c, (cql_error_set(&e, rc, "cannot query keyspaces"), &e));
}

static void add_peers(cql_session *s, const cql_result *res, bool v2)
{
    for (int32_t i = 0; i < res->nrows; i++) {
        char ip[48], port_text[8];
        int port = s->cfg.port;
        cell_ip(res, i, v2 ? "native_address" : "rpc_address", ip, sizeof ip);
        if (!ip[0]) cell_ip(res, i, "peer", ip, sizeof ip);
        if (!ip[0]) continue;
        int pi = v2 ? col_index(res, "native_port") : -1;
        int32_t p;
        if (pi >= 0 && cql_value_get_int(cql_result_cell(res, i, pi), &p) == 0 && p > 0) port = p;
        (void)port_text;
        cql_host *h = host_add(s, ip, port);
        if (h) host_fill(h, res, i);
    }
}

static void on_peers(cql_conn *c, const cql_error *err, const cql_result *res)
{
    if (err) return refresh_fail(c, err);
    add_peers(cql_session_of(c), res, false);
    after_peers(c);
}

static void on_peers_v2(cql_conn *c, const cql_error *err, const cql_result *res)
{
    cql_error e;
    if (err && err->code == CQL_ERR_INVALID) { /* before Cassandra 4.0: no peers_v2 */
        int rc = cql_internal_query(c,
                                    "SELECT peer, rpc_address, data_center, rack, tokens "
                                    "FROM system.peers",
                                    on_peers);
        if (rc) refresh_fail(c, (cql_error_set(&e, rc, "cannot query peers"), &e));
        return;
    }
    if (err) return refresh_fail(c, err);
    add_peers(cql_session_of(c), res, true);
    after_peers(c);
}

static void on_local(cql_conn *c, const cql_error *err, const cql_result *res)
{
    cql_session *s = cql_session_of(c);
    cql_error e;
    if (err) return refresh_fail(c, err);
    if (res->nrows < 1)
        return refresh_fail(c, (cql_error_set(&e, CQL_E_PROTOCOL, "empty system.local"), &e));
    for (int i = 0; i < s->nhosts; i++) s->hosts[i]->removed = true;
    /* The local row's address is the one we reached, whatever rpc_address says. */
    char ip[48] = "";
    uv_ip_name((const struct sockaddr *)&s->control_sa, ip, sizeof ip);
    const struct sockaddr_in *in4 = (const void *)&s->control_sa;
    const struct sockaddr_in6 *in6 = (const void *)&s->control_sa;
    int port = ntohs(s->control_sa.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port);
    cql_host *h = host_add(s, ip, port);
    if (h) host_fill(h, res, 0);
    if (h && !s->first_dc[0]) snprintf(s->first_dc, sizeof s->first_dc, "%s", h->dc);
    int rc = cql_internal_query(c,
                                "SELECT peer, native_address, native_port, data_center, rack, "
                                "tokens FROM system.peers_v2",
                                on_peers_v2);
    if (rc) refresh_fail(c, (cql_error_set(&e, rc, "cannot query peers"), &e));
}

void cql_topology_refresh(cql_session *s)
{
    cql_error e;
    if (!s->control || s->control->state != CONN_READY) return;
    if (s->topology_busy) {
        s->topology_again = true;
        return;
    }
    s->topology_busy = true;
    int rc = cql_internal_query(s->control,
                                "SELECT data_center, rack, tokens FROM system.local "
                                "WHERE key = 'local'",
                                on_local);
    if (rc) refresh_fail(s->control, (cql_error_set(&e, rc, "cannot query system.local"), &e));
}

/* ---- schema agreement --------------------------------------------------------------------- */

/* Each host is asked for its own schema version (system.local on a connection to it): asking
 * one node for its peers' versions can report agreement on the version from before the change,
 * while that node's gossip has not heard of it yet. The node that ran the change has the new
 * version, so equal versions everywhere mean every node has it. */

static void schema_done(cql_session *s, const cql_error *err, bool agreed)
{
    cql_schema_cb cb = s->schema_cb;
    s->schema_cb = NULL;
    if (cb) cb(s->schema_ud, err, agreed);
}

static void on_schema_version(cql_conn *c, const cql_error *err, const cql_result *res)
{
    cql_session *s = cql_session_of(c);
    if (err) {
        if (!s->schema_failed) s->schema_err = *err;
        s->schema_failed = true;
    } else {
        int vi = col_index(res, "schema_version");
        cql_value v = vi >= 0 && res->nrows > 0 ? cql_result_cell(res, 0, vi) : cql_value_null();
        if (v.len != 16) {
            s->schema_differs = true;
        } else if (s->schema_local_len == 0) {
            memcpy(s->schema_local, v.ptr, 16);
            s->schema_local_len = 16;
        } else if (memcmp(s->schema_local, v.ptr, 16) != 0) {
            s->schema_differs = true;
        }
    }
    if (--s->schema_pending > 0) return;
    if (s->schema_failed) return schema_done(s, &s->schema_err, false);
    schema_done(s, NULL, !s->schema_differs);
}

int cql_session_check_schema(cql_session *s, cql_schema_cb cb, void *ud)
{
    if (!cb || s->schema_cb) return CQL_E_INVAL;
    s->schema_local_len = 0;
    s->schema_pending = 0;
    s->schema_differs = s->schema_failed = false;
    /* One ready connection per up host; the queries are counted before any can answer. */
    cql_conn *ask[256];
    int n = 0;
    for (int i = 0; i < s->nhosts && n < (int)(sizeof ask / sizeof ask[0]); i++) {
        cql_host *h = s->hosts[i];
        if (!h->up || h->removed || !h->conns) continue;
        for (int k = 0; k < s->cfg.connections_per_host; k++)
            if (h->conns[k] && h->conns[k]->state == CONN_READY) {
                ask[n++] = h->conns[k];
                break;
            }
    }
    if (n == 0) return CQL_E_NO_HOST;
    s->schema_cb = cb;
    s->schema_ud = ud;
    s->schema_pending = n;
    for (int i = 0; i < n; i++) {
        int rc = cql_internal_query(ask[i],
                                    "SELECT schema_version FROM system.local WHERE key = 'local'",
                                    on_schema_version);
        if (rc) { /* counts as a failed answer; the last answer reports */
            cql_error e;
            cql_error_set(&e, rc, "%s: cannot ask for the schema version", ask[i]->addr);
            on_schema_version(ask[i], &e, NULL);
        }
    }
    return 0;
}

/* ---- events ------------------------------------------------------------------------------- */

void cql_topology_event(cql_session *s, const cql_event *ev)
{
    cql_session_emit(s, ev);
    if (ev->type == CQL_EVENT_STATUS && strcmp(ev->change, "UP") == 0) {
        cql_host *h = cql_host_find(s, ev->host);
        if (h) {
            h->failures = 0;
            h->next_attempt = 0;
            cql_session_ensure_pools(s);
        }
    } else if (ev->type == CQL_EVENT_TOPOLOGY ||
               (ev->type == CQL_EVENT_SCHEMA && strcmp(ev->target, "KEYSPACE") == 0)) {
        cql_topology_refresh(s);
    }
}
