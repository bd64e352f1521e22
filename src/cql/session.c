/* The session: lifecycle, per-host connection pools with reconnection, the flush and sweep
 * handles, events and counters.
 *
 * DESIGN. The session owns two loop handles besides its connections: a uv_prepare that flushes
 * every connection with queued frames once per loop iteration (so many requests issued in one
 * iteration leave in one write), and a periodic sweep timer that times out requests, sends
 * heartbeats and (re)opens pool connections whose back-off has expired. A host is down while it
 * has no ready connection; failures double its back-off from reconnect_base_ms up to
 * reconnect_max_ms, and an UP or NEW_NODE event from the control connection resets it. Hosts of
 * the local data center get connections_per_host connections, the others one standby each, so
 * that requests can move to them at once when no local host is up. */
#include "cql/session.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_MS 100

static const cql_conn_cb pool_cb;
static const cql_conn_cb control_cb;
static void open_control(cql_session *s);
static void on_flush(uv_prepare_t *p);
static void fire_deferred_use(cql_session *s, const cql_error *err);

cql_session *cql_session_of(cql_conn *c)
{
    if (c->cb == &control_cb) return c->owner;
    return ((cql_host *)c->owner)->s;
}

cql_host *cql_host_of(cql_conn *c)
{
    return c->cb == &pool_cb ? c->owner : NULL;
}

void cql_session_emit(cql_session *s, const cql_event *ev)
{
    if (s->event_cb) s->event_cb(s, ev, s->event_ud);
}

static void emit_local_status(cql_session *s, cql_host *h, bool up)
{
    cql_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CQL_EVENT_STATUS;
    ev.local = true;
    snprintf(ev.change, sizeof ev.change, "%s", up ? "UP" : "DOWN");
    snprintf(ev.host, sizeof ev.host, "%s", h->addr);
    cql_session_emit(s, &ev);
}

/* ---- creation ----------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* Splits one contact point "host", "host:port", "[v6]" or "[v6]:port" (a bare IPv6 address
 * has several colons and no port) into host and port; false when malformed. */
static bool split_contact(char *tok, char *host, size_t hostlen, char *port, size_t portlen)
{
    char *colon = strrchr(tok, ':');
    if (tok[0] == '[') {
        char *end = strchr(tok, ']');
        if (!end || (end[1] && (end[1] != ':' || !end[2]))) return false;
        if (end[1]) snprintf(port, portlen, "%s", end + 2);
        *end = '\0';
        tok++;
    } else if (colon && strchr(tok, ':') == colon) {
        snprintf(port, portlen, "%s", colon + 1);
        *colon = '\0';
    }
    snprintf(host, hostlen, "%s", tok);
    return host[0] != '\0';
}

static bool same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family) return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return a->sa_family == AF_INET6 &&
           memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* The name a host's certificate is verified against: the host name of a contact point that
 * resolved to the host's address, else (peers found in system.peers) the IP. */
static const char *tls_name_of(const cql_session *s, const struct sockaddr *sa, const char *ip)
{
    for (int i = 0; i < s->ncontacts; i++)
        if (same_ip((const struct sockaddr *)&s->contacts[i], sa) &&
            !cql_tls_name_is_ip(s->contact_names[i]))
            return s->contact_names[i];
    return ip;
}

/* Adds a resolved contact point, growing the arrays; false when out of memory. */
static bool add_contact(cql_session *s, const struct addrinfo *ai, const char *host, int *cap)
{
    if (s->ncontacts == *cap) {
        int n = *cap * 2;
        struct sockaddr_storage *c = realloc(s->contacts, sizeof *c * (size_t)n);
        if (c) s->contacts = c;
        char(*names)[CONTACT_NAME_MAX] = realloc(s->contact_names, sizeof *names * (size_t)n);
        if (names) s->contact_names = names;
        if (!c || !names) return false;
        *cap = n;
    }
    memcpy(&s->contacts[s->ncontacts], ai->ai_addr, ai->ai_addrlen);
    snprintf(s->contact_names[s->ncontacts], CONTACT_NAME_MAX, "%s", host);
    s->ncontacts++;
    return true;
}

/* Splits "host[:port],..." and resolves each name (blocking; setup time only). */
static int resolve_contacts(cql_session *s, char *err, size_t errlen)
{
    char *list = strdup(s->contact_points), *save = NULL;
    int cap = 8;
    s->contacts = calloc((size_t)cap, sizeof *s->contacts);
    s->contact_names = calloc((size_t)cap, sizeof *s->contact_names);
    if (!list || !s->contacts || !s->contact_names) return free(list), -1;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char host[256], port[16], orig[300];
        snprintf(orig, sizeof orig, "%s", tok);
        snprintf(port, sizeof port, "%d", s->cfg.port);
        if (!split_contact(tok, host, sizeof host, port, sizeof port)) {
            snprintf(err, errlen, "bad contact point '%s' (host, host:port or [ipv6]:port)", orig);
            return free(list), -1;
        }
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
        int rc = getaddrinfo(host, port, &hints, &ai);
        if (rc) {
            snprintf(err, errlen, "cannot resolve contact point '%s': %s", orig, gai_strerror(rc));
            return free(list), -1;
        }
        /* Every address of a name is a contact point (and is verified against that name). */
        bool ok = true;
        for (const struct addrinfo *a = ai; a && ok; a = a->ai_next)
            ok = add_contact(s, a, host, &cap);
        freeaddrinfo(ai);
        if (!ok) return snprintf(err, errlen, "out of memory"), free(list), -1;
    }
    free(list);
    if (s->ncontacts == 0) snprintf(err, errlen, "no contact points given");
    return s->ncontacts ? 0 : -1;
}

static bool check_config(const cql_config *c, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (c->port <= 0 || c->port > 65535)
        bad = "port must be 1..65535";
    else if (c->connections_per_host < 1 || c->connections_per_host > 64)
        bad = "connections_per_host must be 1..64";
    else if (c->max_inflight < 1 || c->max_inflight > 32000)
        bad = "max_inflight must be 1..32000";
    else if (c->request_timeout_ms < 1 || c->connect_timeout_ms < 1)
        bad = "timeouts must be > 0";
    else if (c->reconnect_base_ms < 1 || c->reconnect_max_ms < c->reconnect_base_ms)
        bad = "reconnect back-off must satisfy 0 < base <= max";
    if (bad) snprintf(err, errlen, "%s", bad);
    return !bad;
}

cql_session *cql_session_new(uv_loop_t *loop, const cql_config *cfg, char *err, size_t errlen)
{
    if (!check_config(cfg, err, errlen)) return NULL;
    cql_session *s = calloc(1, sizeof *s);
    if (!s) return snprintf(err, errlen, "out of memory"), NULL;
    s->loop = loop;
    s->cfg = *cfg;
    s->contact_points = strdup(cfg->contact_points ? cfg->contact_points : "127.0.0.1");
    s->username = dup_or_null(cfg->username);
    s->password = dup_or_null(cfg->password);
    s->local_dc = dup_or_null(cfg->local_dc);
    s->ca_file = dup_or_null(cfg->tls_ca_file);
    snprintf(s->keyspace, sizeof s->keyspace, "%s", cfg->keyspace ? cfg->keyspace : "");
    s->cfg.contact_points = s->contact_points;
    s->cfg.username = s->username;
    s->cfg.password = s->password;
    s->cfg.local_dc = s->local_dc;
    s->cfg.tls_ca_file = s->ca_file;
    s->cfg.keyspace = s->keyspace;
    if (!s->contact_points || resolve_contacts(s, err, errlen)) goto fail;
    if (cfg->tls && !(s->tls = cql_tls_ctx_new(s->ca_file, cfg->tls_cert_file, cfg->tls_key_file,
                                               cfg->tls_verify, err, errlen)))
        goto fail;
    s->cfg.tls_cert_file = s->cfg.tls_key_file = NULL; /* used above only; borrowed */
    return s;
fail:
    cql_session_free(s);
    return NULL;
}

static void free_host(cql_host *h)
{
    free(h->conns);
    free(h->tokens);
    free(h);
}

void cql_session_free(cql_session *s)
{
    if (!s) return;
    for (int i = 0; i < s->nhosts; i++) free_host(s->hosts[i]);
    for (cql_prepared *p = s->prepared, *next; p; p = next) {
        next = p->next;
        free(p->query);
        cql_result_free(p->meta);
        for (int i = 0; i < p->nretired; i++) cql_result_free(p->retired[i]);
        free(p->retired);
        free(p);
    }
    free(s->hosts);
    free(s->ring);
    cql_rfs_free(s->rfs, s->nrfs);
    free(s->dcs);
    free(s->contacts);
    free(s->contact_names);
    free(s->contact_points);
    free(s->username);
    free(s->password);
    free(s->local_dc);
    free(s->ca_file);
    cql_tls_ctx_free(s->tls);
    cql_buf_free(&s->keybuf);
    cql_result_free(s->use_res); /* NULL once closed: the close fired it */
    free(s);
}

/* ---- connections -------------------------------------------------------------------------- */

cql_conn *cql_session_new_conn(cql_session *s, cql_host *h, bool control)
{
    cql_conn_opts o = {
        .username = s->username,
        .password = s->password,
        .keyspace = control ? NULL : s->keyspace,
        .lz4 = s->cfg.compression_lz4 && !control,
        .tls = s->tls,
        .nslots = control ? 16 : s->cfg.max_inflight + 8,
        .max_user = control ? 8 : s->cfg.max_inflight,
        .connect_timeout_ms = s->cfg.connect_timeout_ms,
        .write_timeout_ms = s->cfg.request_timeout_ms,
        .register_events = control,
    };
    cql_conn *c = cql_conn_new(s->loop, &o, control ? &control_cb : &pool_cb,
                               control ? (void *)s : (void *)h);
    if (c) s->open_handles++;
    return c;
}

static void host_connect_one(cql_session *s, cql_host *h, int slot)
{
    cql_conn *c = cql_session_new_conn(s, h, false);
    if (!c) return;
    c->opts.tls_name = tls_name_of(s, (const struct sockaddr *)&h->sa, h->ip);
    h->conns[slot] = c;
    h->connecting++;
    cql_conn_connect(c, (const struct sockaddr *)&h->sa, h->addr);
}

const char *cql_session_local_dc(const cql_session *s)
{
    return s->local_dc ? s->local_dc : s->first_dc[0] ? s->first_dc : NULL;
}

bool cql_host_is_local(const cql_session *s, const cql_host *h)
{
    const char *dc = cql_session_local_dc(s);
    return !dc || !h->dc[0] || strcmp(h->dc, dc) == 0;
}

/* Connections wanted to h: connections_per_host in the local data center, one to a host of
 * another (a standby, so that it can take requests at once when no local host is up). */
static int host_pool_size(const cql_session *s, const cql_host *h)
{
    if (h->removed) return 0;
    return cql_host_is_local(s, h) ? s->cfg.connections_per_host : 1;
}

void cql_session_ensure_pools(cql_session *s)
{
    if (s->state != SESS_CONNECTING && s->state != SESS_OPEN) return;
    uint64_t now = uv_now(s->loop);
    for (int i = 0; i < s->nhosts; i++) {
        cql_host *h = s->hosts[i];
        if (now < h->next_attempt) continue;
        for (int k = 0; k < host_pool_size(s, h); k++) {
            /* While a host is down, probe with one connection before opening the rest. */
            if (!h->up && h->connecting > 0) break;
            if (!h->conns[k]) host_connect_one(s, h, k);
        }
    }
}

static int host_ready_conns(const cql_host *h, int n)
{
    int ready = 0;
    for (int k = 0; k < n; k++) ready += h->conns[k] && h->conns[k]->state == CONN_READY;
    return ready;
}

/* The connect callback fires once every wanted host has settled (a ready connection, or its
 * first attempt failed). */
void cql_session_check_connected(cql_session *s)
{
    if (s->state != SESS_CONNECTING || s->topology_busy || !s->nhosts) return;
    /* The local data center's hosts, or all when it has none (a local_dc of no host). */
    bool any_local = false;
    for (int i = 0; i < s->nhosts; i++)
        any_local |= !s->hosts[i]->removed && cql_host_is_local(s, s->hosts[i]);
    int up = 0;
    for (int i = 0; i < s->nhosts; i++) {
        cql_host *h = s->hosts[i];
        if (h->removed || (any_local && !cql_host_is_local(s, h))) continue;
        if (!h->up && h->connecting > 0 && h->failures == 0) return;
        up += h->up;
    }
    cql_connect_cb cb = s->connect_cb;
    s->connect_cb = NULL;
    s->state = up ? SESS_OPEN : SESS_CONNECTING;
    if (!cb) return;
    if (up) return cb(s, NULL, s->connect_ud);
    cql_error e = s->last_error;
    if (!e.message[0]) cql_error_set(&e, CQL_E_NO_HOST, "no host could be connected");
    cb(s, &e, s->connect_ud);
}

static void pool_ready(cql_conn *c, const cql_error *err)
{
    cql_host *h = c->owner;
    cql_session *s = h->s;
    h->connecting--;
    h->failures = 0;
    if (h->ever_up && !h->up) s->stats.reconnects++;
    if (!h->up) {
        h->up = h->ever_up = true;
        emit_local_status(s, h, true);
    }
    cql_session_check_connected(s);
}

static void unlink_dirty(cql_session *s, cql_conn *c)
{
    if (!c->in_dirty_list) return;
    for (cql_conn **pp = &s->dirty_head; *pp; pp = &(*pp)->dirty_next)
        if (*pp == c) {
            *pp = c->dirty_next;
            break;
        }
    c->in_dirty_list = false;
}

static void conn_gone(cql_session *s, cql_conn *c)
{
    unlink_dirty(s, c);
    s->closed_bytes_in += c->bytes_in;
    s->closed_bytes_out += c->bytes_out;
    cql_conn_free(c);
    if (--s->open_handles == 0 && s->state == SESS_CLOSING) {
        s->state = SESS_CLOSED;
        if (s->close_cb) s->close_cb(s, s->close_ud);
    }
}

static uint64_t backoff_ms(const cql_config *cfg, int failures)
{
    uint64_t d = (uint64_t)cfg->reconnect_base_ms;
    for (int i = 1; i < failures && d < (uint64_t)cfg->reconnect_max_ms; i++) d *= 2;
    return d < (uint64_t)cfg->reconnect_max_ms ? d : (uint64_t)cfg->reconnect_max_ms;
}

static void pool_closed(cql_conn *c, const cql_error *err)
{
    cql_host *h = c->owner;
    cql_session *s = h->s;
    int n = s->cfg.connections_per_host;
    for (int k = 0; k < n; k++)
        if (h->conns[k] == c) h->conns[k] = NULL;
    h->closed_sent += c->user_sent;
    if (!c->was_ready) {
        h->connecting--;
        h->failures++;
        h->next_attempt = uv_now(s->loop) + backoff_ms(&s->cfg, h->failures);
        if (err->code != CQL_E_CLOSED) s->last_error = *err;
    } else {
        h->next_attempt = uv_now(s->loop) + (uint64_t)s->cfg.reconnect_base_ms / 4;
    }
    if (h->up && host_ready_conns(h, n) == 0) {
        h->up = false;
        if (s->state != SESS_CLOSING) emit_local_status(s, h, false);
    }
    conn_gone(s, c);
    cql_session_check_connected(s);
}

static void pool_event(cql_conn *c, const cql_event *ev)
{
    /* Only the control connection registers for events. */
}

static void mark_dirty(cql_conn *c)
{
    cql_session *s = cql_session_of(c);
    if (c->in_dirty_list) return;
    c->in_dirty_list = true;
    c->dirty_next = s->dirty_head;
    s->dirty_head = c;
    if (!uv_is_active((uv_handle_t *)&s->flusher)) uv_prepare_start(&s->flusher, on_flush);
}

static const cql_conn_cb pool_cb = {pool_ready, pool_closed, pool_event, mark_dirty};

/* ---- control connection ------------------------------------------------------------------- */

static void control_ready(cql_conn *c, const cql_error *err)
{
    cql_session *s = c->owner;
    s->control_failures = 0;
    cql_topology_refresh(s);
}

static void control_closed(cql_conn *c, const cql_error *err)
{
    cql_session *s = c->owner;
    s->control = NULL;
    s->topology_busy = false;
    if (!c->was_ready) {
        s->control_failures++;
        if (err->code != CQL_E_CLOSED) s->last_error = *err;
    }
    s->control_next_attempt = uv_now(s->loop) + backoff_ms(&s->cfg, s->control_failures);
    conn_gone(s, c);
    /* During the first connect, walk the contact points; fail once all have been tried. The
     * session then stays open without hosts and keeps retrying with back-off. */
    if (s->state != SESS_CONNECTING || s->nhosts > 0) return;
    if (s->control_failures < s->ncontacts) return open_control(s);
    s->state = SESS_OPEN;
    cql_connect_cb cb = s->connect_cb;
    s->connect_cb = NULL;
    cql_error e = s->last_error;
    if (cb) cb(s, &e, s->connect_ud);
}

static void control_event(cql_conn *c, const cql_event *ev)
{
    cql_topology_event(c->owner, ev);
}

static const cql_conn_cb control_cb = {control_ready, control_closed, control_event, mark_dirty};

/* Opens the control connection to the next contact point, or to an up host once known. */
static void open_control(cql_session *s)
{
    const struct sockaddr *sa = NULL;
    char addr[64], name[CONTACT_NAME_MAX];
    for (int i = 0; i < s->nhosts && !sa; i++)
        if (s->hosts[i]->up) {
            sa = (const struct sockaddr *)&s->hosts[i]->sa;
            snprintf(addr, sizeof addr, "%s", s->hosts[i]->addr);
            snprintf(name, sizeof name, "%s", tls_name_of(s, sa, s->hosts[i]->ip));
        }
    if (!sa) {
        int i = s->contact_next++ % s->ncontacts;
        sa = (const struct sockaddr *)&s->contacts[i];
        char ip[48] = "?";
        const struct sockaddr_in *in4 = (const void *)sa;
        const struct sockaddr_in6 *in6 = (const void *)sa;
        uv_ip_name(sa, ip, sizeof ip);
        snprintf(addr, sizeof addr, sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip,
                 ntohs(sa->sa_family == AF_INET6 ? in6->sin6_port : in4->sin_port));
        snprintf(name, sizeof name, "%s", s->contact_names[i]);
    }
    s->control = cql_session_new_conn(s, NULL, true);
    if (!s->control) return;
    memcpy(&s->control_sa, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    snprintf(s->control_name, sizeof s->control_name, "%s", name);
    s->control->opts.tls_name = s->control_name;
    cql_conn_connect(s->control, sa, addr);
}

/* ---- loop handles ------------------------------------------------------------------------- */

void cql_session_flush(cql_session *s)
{
    cql_conn *list = s->dirty_head;
    s->dirty_head = NULL;
    while (list) {
        cql_conn *c = list;
        list = c->dirty_next;
        c->in_dirty_list = false;
        cql_conn_flush(c);
    }
    if (!s->dirty_head) uv_prepare_stop(&s->flusher);
}

static void on_flush(uv_prepare_t *p)
{
    cql_session_flush(p->data);
}

static void on_sweep(uv_timer_t *t)
{
    cql_session *s = t->data;
    uint64_t now = uv_now(s->loop);
    for (int i = 0; i < s->nhosts; i++)
        for (int k = 0; k < s->cfg.connections_per_host; k++)
            if (s->hosts[i]->conns[k])
                cql_conn_sweep(s->hosts[i]->conns[k], now, s->cfg.heartbeat_interval_s);
    if (s->control) cql_conn_sweep(s->control, now, s->cfg.heartbeat_interval_s);
    if (s->state != SESS_CONNECTING && s->state != SESS_OPEN) return;
    if (s->state == SESS_OPEN && !s->control && now >= s->control_next_attempt) open_control(s);
    cql_session_ensure_pools(s);
}

static void handle_closed(uv_handle_t *h)
{
    cql_session *s = h->data;
    if (--s->open_handles == 0 && s->state == SESS_CLOSING) {
        s->state = SESS_CLOSED;
        if (s->close_cb) s->close_cb(s, s->close_ud);
    }
}

int cql_session_connect(cql_session *s, cql_connect_cb cb, void *ud)
{
    if (s->state != SESS_IDLE) return CQL_E_INVAL;
    uv_timer_init(s->loop, &s->sweep);
    uv_prepare_init(s->loop, &s->flusher);
    s->sweep.data = s->flusher.data = s;
    s->open_handles += 2;
    s->state = SESS_CONNECTING;
    s->connect_cb = cb;
    s->connect_ud = ud;
    uint64_t every = SWEEP_MS;
    if ((uint64_t)s->cfg.request_timeout_ms / 4 < every)
        every = (uint64_t)s->cfg.request_timeout_ms / 4 + 1;
    uv_timer_start(&s->sweep, on_sweep, every, every);
    open_control(s);
    return 0;
}

int cql_session_close(cql_session *s, cql_close_cb cb, void *ud)
{
    if (s->state == SESS_CLOSING || s->state == SESS_CLOSED) return CQL_E_CLOSED;
    bool idle = s->state == SESS_IDLE;
    s->state = SESS_CLOSING;
    s->close_cb = cb;
    s->close_ud = ud;
    if (s->connect_cb) {
        cql_connect_cb ccb = s->connect_cb;
        s->connect_cb = NULL;
        cql_error e;
        cql_error_set(&e, CQL_E_CLOSED, "session closed while connecting");
        ccb(s, &e, s->connect_ud);
    }
    cql_error closed;
    cql_error_set(&closed, CQL_E_CLOSED,
                  "session closed before every connection switched keyspace");
    fire_deferred_use(s, &closed);
    if (idle) {
        s->state = SESS_CLOSED;
        if (cb) cb(s, ud); /* nothing was started: no handle to wait for */
        return 0;
    }
    for (int i = 0; i < s->nhosts; i++)
        for (int k = 0; k < s->cfg.connections_per_host; k++)
            if (s->hosts[i]->conns[k])
                cql_conn_close(s->hosts[i]->conns[k], CQL_E_CLOSED, "session closed");
    if (s->control) cql_conn_close(s->control, CQL_E_CLOSED, "session closed");
    uv_close((uv_handle_t *)&s->sweep, handle_closed);
    uv_close((uv_handle_t *)&s->flusher, handle_closed);
    return 0;
}

/* ---- keyspace, events, introspection ------------------------------------------------------ */

/* Fires the held USE callback, if any, with its result or (the session closing) with err. */
static void fire_deferred_use(cql_session *s, const cql_error *err)
{
    cql_result *res = s->use_res;
    if (!res) return;
    cql_result_cb cb = s->use_cb;
    void *ud = s->use_ud;
    s->use_res = NULL;
    s->use_cb = NULL;
    if (err) s->stats.errors++;
    cb(ud, err, err ? NULL : res);
    cql_result_free(res);
}

static void on_use_done(cql_conn *c, const cql_error *err, const cql_result *res)
{
    cql_session *s = cql_session_of(c);
    s->use_pending--;
    /* A connection left in the old keyspace would run later statements there: close it, and
     * its replacement's handshake switches to the session's keyspace. */
    if (err && c->state != CONN_CLOSING)
        cql_conn_close(c, CQL_E_CONN_LOST, "USE of the new keyspace failed");
    if (s->use_pending == 0) fire_deferred_use(s, NULL);
}

void cql_session_apply_keyspace(cql_session *s, const char *ks, cql_conn *except)
{
    if (ks != s->keyspace) snprintf(s->keyspace, sizeof s->keyspace, "%s", ks);
    s->cfg.keyspace = s->keyspace;
    char q[300];
    snprintf(q, sizeof q, "USE \"%s\"", s->keyspace);
    for (int i = 0; i < s->nhosts; i++)
        for (int k = 0; k < s->cfg.connections_per_host; k++) {
            cql_conn *c = s->hosts[i]->conns[k];
            if (!c || c == except || c->state != CONN_READY) continue;
            c->opts.keyspace = s->keyspace;
            if (cql_internal_query(c, q, on_use_done) == 0)
                s->use_pending++;
            else
                cql_conn_close(c, CQL_E_CONN_LOST, "no room to switch keyspace");
        }
}

/* The server runs the requests of one connection concurrently, so a statement sent from the
 * USE callback to another connection could overtake that connection's USE: the callback waits
 * for every switch. A second USE answered meanwhile fires the first one's callback then. */
bool cql_session_defer_use(cql_session *s, cql_conn *c, cql_result_cb cb, void *ud,
                           const cql_result *res)
{
    fire_deferred_use(s, NULL);
    cql_session_apply_keyspace(s, res->info, c);
    if (!cb || s->use_pending == 0 || s->state == SESS_CLOSING || s->state == SESS_CLOSED)
        return false;
    if (!(s->use_res = cql_result_copy(res))) return false;
    s->use_cb = cb;
    s->use_ud = ud;
    return true;
}

void cql_session_set_event_cb(cql_session *s, void (*cb)(cql_session *, const cql_event *, void *),
                              void *ud)
{
    s->event_cb = cb;
    s->event_ud = ud;
}

int cql_session_host_count(const cql_session *s)
{
    return s->nhosts;
}

int cql_session_host_info(const cql_session *s, int i, cql_host_info *out)
{
    if (i < 0 || i >= s->nhosts) return CQL_E_INVAL;
    const cql_host *h = s->hosts[i];
    memset(out, 0, sizeof *out);
    snprintf(out->addr, sizeof out->addr, "%s", h->addr);
    snprintf(out->dc, sizeof out->dc, "%s", h->dc);
    snprintf(out->rack, sizeof out->rack, "%s", h->rack);
    out->up = h->up;
    out->requests = h->closed_sent;
    for (int k = 0; k < s->cfg.connections_per_host; k++) {
        const cql_conn *c = h->conns[k];
        if (c) out->requests += c->user_sent;
        if (!c || c->state != CONN_READY) continue;
        out->connections++;
        out->inflight += c->user_inflight;
    }
    return 0;
}

int cql_session_inflight(const cql_session *s)
{
    int n = 0;
    for (int i = 0; i < s->nhosts; i++)
        for (int k = 0; k < s->cfg.connections_per_host; k++)
            if (s->hosts[i]->conns[k]) n += s->hosts[i]->conns[k]->user_inflight;
    return n;
}

void cql_session_stats(const cql_session *s, cql_stats *out)
{
    *out = s->stats;
    out->bytes_in = s->closed_bytes_in;
    out->bytes_out = s->closed_bytes_out;
    out->hosts_total = s->nhosts;
    for (int i = 0; i < s->nhosts; i++) {
        cql_host_info hi;
        cql_session_host_info(s, i, &hi);
        out->hosts_up += hi.up;
        out->inflight += hi.inflight;
        out->capacity += hi.connections * s->cfg.max_inflight;
        for (int k = 0; k < s->cfg.connections_per_host; k++) {
            const cql_conn *c = s->hosts[i]->conns[k];
            if (c) out->bytes_in += c->bytes_in, out->bytes_out += c->bytes_out;
        }
    }
}
