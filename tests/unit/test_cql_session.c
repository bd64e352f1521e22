/* Unit tests for the CQL session: setup and routing that need no server (contact points, many
 * and bracketed IPv6 with a port; replica placement, SimpleStrategy and NetworkTopologyStrategy
 * with racks; data-center-aware routing on a synthetic ring of two data centers whose hosts have
 * fake idle connections), and a runtime USE against a scriptable fake CQL server on 127.0.0.1
 * in the test's own loop, which can hold the USE the session sends to its other connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cql/session.h"
#include "cql_test_conn.h"

static cql_session *session_for(const char *contacts, char *err, size_t errlen)
{
    uv_loop_t *loop = uv_default_loop();
    cql_config c;
    cql_config_init(&c);
    c.contact_points = contacts;
    return cql_session_new(loop, &c, err, errlen);
}

/* More than 8 contact points are all kept (before: the rest were dropped and each leaked its
 * addrinfo, which ASan reports). */
static void test_many_contact_points(void **state)
{
    (void)state;
    char list[400] = "", err[256] = "";
    for (int i = 0; i < 12; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s127.0.0.%d:%d", i ? "," : "",
                 i + 1, 9000 + i);
    cql_session *s = session_for(list, err, sizeof err);
    if (!s) fail_msg("%s", err);
    assert_int_equal(s->ncontacts, 12);
    const struct sockaddr_in *last = (const void *)&s->contacts[11];
    assert_int_equal(ntohs(last->sin_port), 9011);
    assert_string_equal(s->contact_names[11], "127.0.0.12");
    cql_session_free(s);
}

/* "[v6]:port" and "[v6]" are contact points; a bare v6 address takes the default port. */
static void test_ipv6_contact_points(void **state)
{
    (void)state;
    char err[256] = "";
    cql_session *s = session_for("[::1]:9043,[::1],::1", err, sizeof err);
    if (!s) fail_msg("%s", err);
    assert_int_equal(s->ncontacts, 3);
    const struct sockaddr_in6 *a = (const void *)&s->contacts[0];
    assert_int_equal(a->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a->sin6_port), 9043);
    assert_int_equal(ntohs(((const struct sockaddr_in6 *)&s->contacts[1])->sin6_port), 9042);
    assert_int_equal(ntohs(((const struct sockaddr_in6 *)&s->contacts[2])->sin6_port), 9042);
    assert_string_equal(s->contact_names[0], "::1");
    cql_session_free(s);
    assert_null(session_for("[::1]x", err, sizeof err));
    assert_non_null(strstr(err, "bad contact point"));
}

/* ---- a synthetic ring of two data centers ------------------------------------------------ */

/* Adds an up host of dc/rack owning token, with one idle fake connection that has room. */
static cql_host *add_host(cql_session *s, const char *name, const char *dc, const char *rack,
                          int64_t token)
{
    cql_host *h = calloc(1, sizeof *h);
    cql_conn *c = calloc(1, sizeof *c);
    h->tokens = malloc(sizeof *h->tokens);
    h->conns = calloc((size_t)s->cfg.connections_per_host, sizeof *h->conns);
    s->hosts = realloc(s->hosts, sizeof *s->hosts * (size_t)(s->nhosts + 1));
    assert_true(h && c && h->tokens && h->conns && s->hosts);
    h->s = s;
    snprintf(h->addr, sizeof h->addr, "%s", name);
    snprintf(h->dc, sizeof h->dc, "%s", dc);
    snprintf(h->rack, sizeof h->rack, "%s", rack);
    h->tokens[0] = token;
    h->ntokens = 1;
    h->up = true;
    c->state = CONN_READY;
    c->opts.max_user = 100;
    c->nfree = 100;
    c->owner = h;
    h->conns[0] = c;
    s->hosts[s->nhosts++] = h;
    return h;
}

/* dc1: A r1 @0, B r1 @100, C r2 @200; dc2: X r1 @150, Y r2 @250, Z r1 @300. */
static cql_session *two_dc_ring(const char *local_dc)
{
    char err[256] = "";
    cql_config c;
    cql_config_init(&c);
    c.local_dc = local_dc;
    cql_session *s = cql_session_new(uv_default_loop(), &c, err, sizeof err);
    if (!s) fail_msg("%s", err);
    add_host(s, "A", "dc1", "r1", 0);
    add_host(s, "B", "dc1", "r1", 100);
    add_host(s, "X", "dc2", "r1", 150);
    add_host(s, "C", "dc1", "r2", 200);
    add_host(s, "Y", "dc2", "r2", 250);
    add_host(s, "Z", "dc2", "r1", 300);
    cql_ring_build(s);
    return s;
}

static void free_ring(cql_session *s)
{
    for (int i = 0; i < s->nhosts; i++) free(s->hosts[i]->conns[0]);
    cql_session_free(s);
}

static cql_host *host_named(cql_session *s, const char *name)
{
    cql_host *h = cql_host_find(s, name);
    assert_non_null(h);
    return h;
}

/* A replication map<text, text> as system_schema.keyspaces holds it ("k=v,k=v"). */
static void set_replication(cql_session *s, const char *ks, const char *spec)
{
    cql_buf m = {0};
    char copy[256], *save = NULL;
    snprintf(copy, sizeof copy, "%s", spec);
    int n = 0;
    for (const char *p = spec; *p; p++) n += *p == '=';
    cql_buf_u32(&m, (uint32_t)n);
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        cql_buf_value(&m, (cql_value){(const uint8_t *)kv, (int32_t)strlen(kv)});
        cql_buf_value(&m, (cql_value){(const uint8_t *)eq + 1, (int32_t)strlen(eq + 1)});
    }
    s->rfs = realloc(s->rfs, sizeof *s->rfs * (size_t)(s->nrfs + 1));
    ks_rf *k = &s->rfs[s->nrfs++];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", ks);
    cql_replication_parse((cql_value){m.data, (int32_t)m.len}, k);
    cql_buf_free(&m);
}

/* The replicas of token as "A,X,C". */
static void replicas(cql_session *s, int64_t token, const char *ks, char *out, size_t n)
{
    cql_host *reps[16];
    int k = cql_ring_replicas(s, token, ks, reps, 16);
    out[0] = '\0';
    for (int i = 0; i < k; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "," : "", reps[i]->addr);
}

#define NTS "class=org.apache.cassandra.locator.NetworkTopologyStrategy"

/* Issue #16 (12): NetworkTopologyStrategy places rf replicas per data center, preferring racks
 * not used yet (before: the first rf hosts of the ring whatever their data center, with rf the
 * sum of all data centers' or the local one's). */
static void test_nts_replicas(void **state)
{
    (void)state;
    cql_session *s = two_dc_ring(NULL);
    char got[128];
    set_replication(s, "simple",
                    "class=org.apache.cassandra.locator.SimpleStrategy,"
                    "replication_factor=3");
    set_replication(s, "two", NTS ",dc1=2,dc2=2");
    set_replication(s, "one_one", NTS ",dc1=1,dc2=1");
    set_replication(s, "dc1_three", NTS ",dc1=3");
    set_replication(s, "dc2_five", NTS ",dc2=5,dc3=2");
    set_replication(s, "local1", NTS ",dc1=2,dc2=1");
    assert_int_equal(s->rfs[1].rf, 4);
    assert_true(s->rfs[1].nts);
    assert_int_equal(s->rfs[1].ndcs, 2);

    replicas(s, -10, "simple", got, sizeof got);
    assert_string_equal(got, "A,B,X"); /* SimpleStrategy: ring order, data centers ignored */
    /* From A: B shares A's rack while dc1 has as many racks (2) as replicas, so C instead. */
    replicas(s, -10, "two", got, sizeof got);
    assert_string_equal(got, "A,X,C,Y");
    replicas(s, -10, "local1", got, sizeof got);
    assert_string_equal(got, "A,X,C");
    replicas(s, 50, "two", got, sizeof got);
    assert_string_equal(got, "B,X,C,Y");
    replicas(s, 260, "one_one", got, sizeof got);
    assert_string_equal(got, "Z,A"); /* wraps around */
    /* rf 3 on 2 racks: one rack repeat is allowed, taken by the first host that repeats. */
    replicas(s, -10, "dc1_three", got, sizeof got);
    assert_string_equal(got, "A,B,C");
    /* More replicas than hosts: every host of the data center; dc3 has no host. */
    replicas(s, 200, "dc2_five", got, sizeof got);
    assert_string_equal(got, "Y,Z,X");
    free_ring(s);
}

static const cql_host *routed(cql_session *s, int64_t token, const char *ks)
{
    cql_conn *c = cql_route_token(s, token, ks);
    return c ? c->owner : NULL;
}

/* Token-aware routing: the least loaded up replica of the local data center, then another local
 * host, and only while no local host is up a replica of another data center, then any of its
 * hosts (before: the least loaded replica of any data center, and remote hosts never). */
static void test_route_prefers_local_dc(void **state)
{
    (void)state;
    cql_session *s = two_dc_ring("dc1");
    set_replication(s, "ks", NTS ",dc1=2,dc2=1");
    cql_host *a = host_named(s, "A"), *b = host_named(s, "B"), *c = host_named(s, "C");
    cql_host *x = host_named(s, "X");
    /* Replicas of -10: A, X, C. The remote replica is the least loaded. */
    a->conns[0]->user_inflight = 3;
    c->conns[0]->user_inflight = 5;
    b->conns[0]->user_inflight = 4;
    assert_ptr_equal(routed(s, -10, "ks"), a);
    a->up = false;
    assert_ptr_equal(routed(s, -10, "ks"), c);
    c->up = false;
    assert_ptr_equal(routed(s, -10, "ks"), b); /* not a replica, but local */
    b->up = false;
    assert_ptr_equal(routed(s, -10, "ks"), x); /* no local host up: the remote replica */
    x->up = false;
    const cql_host *h = routed(s, -10, "ks");
    assert_non_null(h);
    assert_string_equal(h->dc, "dc2");
    /* A local host that is up but full gives back-pressure, not a remote host. */
    b->up = true;
    b->conns[0]->user_inflight = 100;
    assert_null(routed(s, -10, "ks"));
    free_ring(s);
}

/* Without local_dc, the local data center is that of the first host that answered; pools to
 * hosts of other data centers are a single standby connection. */
static void test_default_local_dc(void **state)
{
    (void)state;
    cql_session *s = two_dc_ring(NULL);
    assert_null(cql_session_local_dc(s));
    assert_true(cql_host_is_local(s, host_named(s, "X"))); /* unknown: everything is local */
    snprintf(s->first_dc, sizeof s->first_dc, "dc2");
    assert_string_equal(cql_session_local_dc(s), "dc2");
    assert_false(cql_host_is_local(s, host_named(s, "A")));
    assert_true(cql_host_is_local(s, host_named(s, "X")));
    free_ring(s);
}

/* ---- a runtime USE against a fake server ---------------------------------------------------- */

/* A plain CQL server on the loop: READY to STARTUP and REGISTER, a system.local row to every
 * QUERY but USE. It answers the first `answer_now` USE statements at once with SET_KEYSPACE (the
 * user's: the session sends its own only after one is answered) and holds the later ones until
 * the test releases them. */
#define FAKE_PEERS 8
#define FAKE_HELD  8

typedef struct fake_peer {
    struct fake *f;
    uv_tcp_t tcp;
    cql_buf rx;
} fake_peer;

typedef struct held_use {
    fake_peer *p;
    int16_t stream;
    char ks[64];
} held_use;

typedef struct fake {
    uv_tcp_t listener;
    struct sockaddr_in sa;
    fake_peer peers[FAKE_PEERS];
    int npeers;
    int answer_now, uses;
    held_use held[FAKE_HELD];
    int nheld;
} fake;

static void fake_set_keyspace(fake_peer *p, int16_t stream, const char *ks)
{
    cql_buf b = {0};
    cql_buf_u32(&b, CQL_RESULT_SET_KEYSPACE);
    cql_buf_string(&b, ks, strlen(ks));
    test_frame_send((uv_stream_t *)&p->tcp, stream, CQL_OP_RESULT, 0, b.data, b.len);
    cql_buf_free(&b);
}

/* A USE "ks" query (body: [long string] query, ...): answered or held. */
static void fake_use(fake_peer *p, int16_t stream, const char *q, size_t len)
{
    fake *f = p->f;
    held_use u = {p, stream, ""};
    const char *open = memchr(q, '"', len),
               *close = open ? memchr(open + 1, '"', len - (size_t)(open + 1 - q)) : NULL;
    assert_non_null(close);
    snprintf(u.ks, sizeof u.ks, "%.*s", (int)(close - open - 1), open + 1);
    if (++f->uses <= f->answer_now) return fake_set_keyspace(p, stream, u.ks);
    assert_true(f->nheld < FAKE_HELD);
    f->held[f->nheld++] = u;
}

/* Answers every held USE: with SET_KEYSPACE, or with a server error when fail. */
static void fake_release(fake *f, bool fail)
{
    for (int i = 0; i < f->nheld; i++) {
        held_use *u = &f->held[i];
        if (!fail) {
            fake_set_keyspace(u->p, u->stream, u->ks);
            continue;
        }
        cql_buf b = {0};
        cql_buf_u32(&b, 0x2200); /* Invalid */
        cql_buf_string(&b, "no such keyspace", 16);
        test_frame_send((uv_stream_t *)&u->p->tcp, u->stream, CQL_OP_ERROR, 0, b.data, b.len);
        cql_buf_free(&b);
    }
    f->nheld = 0;
}

static void fake_frame(uv_stream_t *peer, const cql_frame_hdr *h, const uint8_t *body)
{
    static const uint8_t no_options[] = {0, 0};
    if (h->opcode == CQL_OP_OPTIONS)
        test_frame_send(peer, h->stream, CQL_OP_SUPPORTED, 0, no_options, 2);
    if (h->opcode == CQL_OP_STARTUP || h->opcode == CQL_OP_REGISTER)
        test_frame_send(peer, h->stream, CQL_OP_READY, 0, NULL, 0);
    if (h->opcode != CQL_OP_QUERY) return;
    const char *q = (const char *)body + 4;
    size_t len = cql_get_be32(body);
    if (len >= 4 && memcmp(q, "USE ", 4) == 0) return fake_use(peer->data, h->stream, q, len);
    cql_buf row = {0};
    test_local_row(&row);
    test_frame_send(peer, h->stream, CQL_OP_RESULT, 0, row.data, row.len);
    cql_buf_free(&row);
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fake_peer *p = s->data;
    test_read_frames(s, n, buf, &p->rx, fake_frame);
}

static void fake_accept(uv_stream_t *l, int status)
{
    fake *f = l->data;
    assert_true(f->npeers < FAKE_PEERS);
    fake_peer *p = &f->peers[f->npeers++];
    p->f = f;
    test_accept(l, status, &p->tcp, fake_read);
    p->tcp.data = p;
}

static void fake_close(fake *f)
{
    uv_close((uv_handle_t *)&f->listener, NULL);
    for (int i = 0; i < f->npeers; i++) {
        uv_close((uv_handle_t *)&f->peers[i].tcp, NULL);
        cql_buf_free(&f->peers[i].rx);
    }
}

/* A session with two connections to the fake, and what its callbacks saw. */
typedef struct use_env {
    uv_loop_t loop;
    fake f;
    cql_session *s;
    int connected, closed;
    int fired[2], order[2], nfired, closed_at_fire[2], conns_at_fire[2];
    int err[2];
    char ks[2][64];
} use_env;

/* Runs the loop until *v >= atleast or 10 s have passed (the session's sweep timer wakes it). */
static bool wait_for(use_env *e, const int *v, int atleast)
{
    uint64_t end = uv_now(&e->loop) + 10000;
    while (*v < atleast && uv_now(&e->loop) < end) uv_run(&e->loop, UV_RUN_ONCE);
    return *v >= atleast;
}

static void env_connected(cql_session *s, const cql_error *err, void *ud)
{
    use_env *e = ud;
    if (err) fail_msg("connect: %s", err->message);
    e->connected = 1;
}

static void env_closed(cql_session *s, void *ud)
{
    ((use_env *)ud)->closed = 1;
}

static int ready_conns(use_env *e)
{
    cql_host_info hi = {0};
    assert_int_equal(cql_session_host_info(e->s, 0, &hi), 0);
    return hi.connections;
}

static void env_open(use_env *e, int answer_now)
{
    memset(e, 0, sizeof *e);
    uv_loop_init(&e->loop);
    e->f.answer_now = answer_now;
    test_listen(&e->loop, &e->f.listener, &e->f, 0, fake_accept, &e->f.sa);
    char contact[64], err[256] = "";
    snprintf(contact, sizeof contact, "127.0.0.1:%d", ntohs(e->f.sa.sin_port));
    cql_config cfg;
    cql_config_init(&cfg);
    cfg.contact_points = contact;
    cfg.connections_per_host = 2;
    e->s = cql_session_new(&e->loop, &cfg, err, sizeof err);
    if (!e->s) fail_msg("%s", err);
    assert_int_equal(cql_session_connect(e->s, env_connected, e), 0);
    assert_true(wait_for(e, &e->connected, 1));
    uint64_t end = uv_now(&e->loop) + 10000;
    while (ready_conns(e) < 2 && uv_now(&e->loop) < end) uv_run(&e->loop, UV_RUN_ONCE);
    assert_int_equal(ready_conns(e), 2);
}

static void env_close(use_env *e)
{
    if (e->s->state == SESS_OPEN) assert_int_equal(cql_session_close(e->s, env_closed, e), 0);
    assert_true(wait_for(e, &e->closed, 1));
    cql_session_free(e->s);
    fake_close(&e->f);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
}

static void record(use_env *e, int i, const cql_error *err, const cql_result *res)
{
    e->fired[i]++;
    e->order[e->nfired++ % 2] = i;
    e->closed_at_fire[i] = e->closed;
    e->conns_at_fire[i] = ready_conns(e);
    e->err[i] = err ? err->code : 0;
    if (res) snprintf(e->ks[i], sizeof e->ks[i], "%s", cql_result_info(res));
}

static void on_use0(void *ud, const cql_error *err, const cql_result *res)
{
    record(ud, 0, err, res);
}

static void on_use1(void *ud, const cql_error *err, const cql_result *res)
{
    record(ud, 1, err, res);
}

static void user_use(use_env *e, const char *q, cql_result_cb cb)
{
    assert_int_equal(cql_session_query(e->s, q, NULL, 0, CQL_ONE, NULL, cb, e), 0);
}

/* A user's USE "ks" whose switch of the other connection the fake holds, then answers (with an
 * error when fail): the callback fires only then, once, with the result. */
static void use_held_then_answered(bool fail)
{
    use_env e;
    env_open(&e, 1);
    user_use(&e, "USE \"ks\"", on_use0);
    assert_true(wait_for(&e, &e.f.nheld, 1)); /* the other connection's USE reached the server */
    assert_int_equal(e.f.nheld, 1);
    assert_int_equal(e.fired[0], 0);
    fake_release(&e.f, fail);
    assert_true(wait_for(&e, &e.fired[0], 1));
    assert_int_equal(e.err[0], 0);
    assert_string_equal(e.ks[0], "ks");
    /* One that failed to switch was closed (its replacement's handshake switches). */
    assert_int_equal(e.conns_at_fire[0], fail ? 1 : 2);
    assert_int_equal(e.s->use_pending, 0);
    env_close(&e);
    assert_int_equal(e.fired[0], 1);
}

/* Issue #16 (11): the callback of a runtime USE fires only once every other connection has
 * switched (before: at once, so a statement sent from it to another connection could run in the
 * old keyspace, the server running a connection's requests concurrently). */
static void test_use_waits_for_every_connection(void **state)
{
    (void)state;
    use_held_then_answered(false);
}

/* A USE that fails on another connection does not lose the user's callback: it fires, with the
 * result, once no USE is pending. */
static void test_use_callback_survives_failed_switch(void **state)
{
    (void)state;
    use_held_then_answered(true);
}

/* Closing the session while a USE callback waits fires it once, with CQL_E_CLOSED as every
 * request in flight gets, before the close callback (ASan: the held copy is freed). */
static void test_use_deferred_then_closed(void **state)
{
    (void)state;
    use_env e;
    env_open(&e, 1);
    user_use(&e, "USE \"ks\"", on_use0);
    assert_true(wait_for(&e, &e.f.nheld, 1));
    assert_int_equal(e.fired[0], 0);
    assert_int_equal(cql_session_close(e.s, env_closed, &e), 0);
    assert_int_equal(e.fired[0], 1);
    assert_int_equal(e.err[0], CQL_E_CLOSED);
    assert_false(e.closed_at_fire[0]);
    env_close(&e);
    assert_int_equal(e.fired[0], 1);
}

/* A second USE answered while the first one's callback waits: the first fires then, the second
 * once its own switches are done. */
static void test_use_replaced_while_deferred(void **state)
{
    (void)state;
    use_env e;
    env_open(&e, 2);
    user_use(&e, "USE \"ks1\"", on_use0);
    user_use(&e, "USE \"ks2\"", on_use1);
    assert_true(
        wait_for(&e, &e.f.nheld, 2)); /* each user USE made the session switch the other one */
    assert_int_equal(e.nfired, 1);
    int first = e.order[0];
    assert_int_equal(e.fired[first], 1);
    assert_int_equal(e.fired[!first], 0);
    fake_release(&e.f, false);
    assert_true(wait_for(&e, &e.nfired, 2));
    assert_int_equal(e.fired[0], 1);
    assert_int_equal(e.fired[1], 1);
    assert_int_equal(e.order[1], !first);
    assert_string_equal(e.ks[0], "ks1");
    assert_string_equal(e.ks[1], "ks2");
    env_close(&e);
}

static uint64_t host_requests(use_env *e)
{
    cql_host_info hi = {0};
    assert_int_equal(cql_session_host_info(e->s, 0, &hi), 0);
    return hi.requests;
}

/* The requests sent to a host (rtetl_cassandra_host_requests_total, what shows where writes are
 * routed) count the user's requests only, and keep those of connections since closed. */
static void test_host_requests_counted(void **state)
{
    (void)state;
    use_env e;
    env_open(&e, 8);
    assert_int_equal(host_requests(&e), 0); /* the handshakes and topology queries are not users' */
    user_use(&e, "SELECT 1", on_use0);
    user_use(&e, "SELECT 2", on_use1);
    assert_true(wait_for(&e, &e.nfired, 2));
    assert_int_equal(host_requests(&e), 2);
    cql_host *h = e.s->hosts[0];
    for (int k = 0; k < e.s->cfg.connections_per_host; k++)
        if (h->conns[k]) cql_conn_close(h->conns[k], CQL_E_CONN_LOST, "test");
    uint64_t end = uv_now(&e.loop) + 10000;
    while (h->up && uv_now(&e.loop) < end) uv_run(&e.loop, UV_RUN_ONCE);
    assert_false(h->up);
    assert_int_equal(host_requests(&e), 2);
    env_close(&e);
}

/* ---- TOPOLOGY events against a fake two-node cluster ---------------------------------------- */

/* Node A (the contact point, token 0) and node B (token 100) on two ports of 127.0.0.1. Both
 * answer system.local with their own row; A's system.peers_v2 lists B only while `b_joined`.
 * The test pushes TOPOLOGY_CHANGE events on A's first connection (the control connection). */
typedef struct topo_node {
    struct topo_fake *f;
    uv_tcp_t listener;
    struct sockaddr_in sa;
    const char *token;
    fake_peer peers[FAKE_PEERS];
    int npeers;
} topo_node;

typedef struct topo_fake {
    topo_node node[2];
    bool b_joined;
} topo_fake;

/* A Rows result with columns names/types (type: a [option] id; 0x0022 is set<varchar>) and
 * nrows rows of the cells in vals (NULL: a null cell; for a set, its one text element). */
static void topo_rows(cql_buf *b, int ncols, const char *const *names, const uint16_t *types,
                      int nrows, const char *const *vals, const cql_value *raw)
{
    cql_buf_u32(b, 2);
    cql_buf_u32(b, 0x0001);
    cql_buf_u32(b, (uint32_t)ncols);
    cql_buf_string(b, "system", 6);
    cql_buf_string(b, "t", 1);
    for (int i = 0; i < ncols; i++) {
        cql_buf_string(b, names[i], strlen(names[i]));
        cql_buf_u16(b, types[i]);
        if (types[i] == 0x0022) cql_buf_u16(b, 0x000D);
    }
    cql_buf_u32(b, (uint32_t)nrows);
    for (int r = 0; r < nrows; r++)
        for (int i = 0; i < ncols; i++) {
            const char *v = vals[r * ncols + i];
            if (raw && raw[r * ncols + i].ptr) {
                cql_buf_value(b, raw[r * ncols + i]);
            } else if (types[i] == 0x0022) {
                cql_buf_u32(b, (uint32_t)(4 + 4 + strlen(v)));
                cql_buf_u32(b, 1);
                cql_buf_value(b, (cql_value){(const uint8_t *)v, (int32_t)strlen(v)});
            } else {
                cql_buf_value(b, v ? (cql_value){(const uint8_t *)v, (int32_t)strlen(v)}
                                   : cql_value_null());
            }
        }
}

static void topo_answer(topo_node *n, uv_stream_t *peer, int16_t stream, const char *q, size_t len)
{
    topo_fake *f = n->f;
    cql_buf b = {0};
    if (len > 20 && memmem(q, len, "system.peers_v2", 15)) {
        static const char *const names[] = {"peer",        "native_address", "native_port",
                                            "data_center", "rack",           "tokens"};
        static const uint16_t types[] = {0x0010, 0x0010, 0x0009, 0x000D, 0x000D, 0x0022};
        static const uint8_t lo[4] = {127, 0, 0, 1};
        uint8_t port[4];
        cql_put_be32(port, ntohs(f->node[1].sa.sin_port));
        const char *vals[] = {NULL, NULL, NULL, "dc1", "r1", f->node[1].token};
        const cql_value raw[] = {{lo, 4}, {lo, 4}, {port, 4}, {0}, {0}, {0}};
        topo_rows(&b, 6, names, types, n == &f->node[0] && f->b_joined, vals, raw);
    } else {
        static const char *const names[] = {"data_center", "rack", "tokens"};
        static const uint16_t types[] = {0x000D, 0x000D, 0x0022};
        const char *vals[] = {"dc1", "r1", n->token};
        topo_rows(&b, 3, names, types, memmem(q, len, "system.local", 12) != NULL, vals, NULL);
    }
    test_frame_send(peer, stream, CQL_OP_RESULT, 0, b.data, b.len);
    cql_buf_free(&b);
}

static void topo_frame(uv_stream_t *peer, const cql_frame_hdr *h, const uint8_t *body)
{
    static const uint8_t no_options[] = {0, 0};
    if (h->opcode == CQL_OP_OPTIONS)
        test_frame_send(peer, h->stream, CQL_OP_SUPPORTED, 0, no_options, 2);
    if (h->opcode == CQL_OP_STARTUP || h->opcode == CQL_OP_REGISTER)
        test_frame_send(peer, h->stream, CQL_OP_READY, 0, NULL, 0);
    if (h->opcode == CQL_OP_QUERY)
        topo_answer((topo_node *)((fake_peer *)peer->data)->f, peer, h->stream,
                    (const char *)body + 4, cql_get_be32(body));
}

static void topo_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fake_peer *p = s->data;
    test_read_frames(s, n, buf, &p->rx, topo_frame);
}

static void topo_accept(uv_stream_t *l, int status)
{
    topo_node *n = l->data;
    assert_true(n->npeers < FAKE_PEERS);
    fake_peer *p = &n->peers[n->npeers++];
    p->f = (fake *)n; /* topo_frame reads it back as its node */
    test_accept(l, status, &p->tcp, topo_read);
    p->tcp.data = p;
}

/* Sends TOPOLOGY_CHANGE `change` about node B on A's control connection. */
static void topo_event(topo_fake *f, const char *change)
{
    cql_buf b = {0};
    cql_buf_string(&b, "TOPOLOGY_CHANGE", 15);
    cql_buf_string(&b, change, strlen(change));
    cql_buf_u8(&b, 4);
    cql_buf_put(&b, &f->node[1].sa.sin_addr, 4);
    cql_buf_u32(&b, ntohs(f->node[1].sa.sin_port));
    test_frame_send((uv_stream_t *)&f->node[0].peers[0].tcp, -1, CQL_OP_EVENT, 0, b.data, b.len);
    cql_buf_free(&b);
}

/* The address of the owner of token 50 (the first ring token >= 50). */
static const char *owner_of_50(cql_session *s)
{
    cql_host *reps[4];
    return cql_ring_replicas(s, 50, NULL, reps, 4) == 1 ? reps[0]->addr : "?";
}

static bool topo_wait(uv_loop_t *loop, cql_session *s, const char *owner, bool b_up)
{
    uint64_t end = uv_now(loop) + 10000;
    while (uv_now(loop) < end) {
        cql_host *b = s->nhosts > 1 ? s->hosts[1] : NULL;
        if (strcmp(owner_of_50(s), owner) == 0 && (b && b->up) == b_up) return true;
        uv_run(loop, UV_RUN_ONCE);
    }
    return false;
}

/* A NEW_NODE event makes the session read the peers again: the node joins the token map (it
 * owns the tokens up to its own) and gets a pool; REMOVED_NODE takes it out of the map and closes
 * its connections. */
static void test_topology_events_refresh_ring(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    topo_fake f = {0};
    for (int i = 0; i < 2; i++) {
        f.node[i].f = &f;
        f.node[i].token = i ? "100" : "0";
        test_listen(&loop, &f.node[i].listener, &f.node[i], 0, topo_accept, &f.node[i].sa);
    }
    char a[64], b[64], err[256] = "";
    snprintf(a, sizeof a, "127.0.0.1:%d", ntohs(f.node[0].sa.sin_port));
    snprintf(b, sizeof b, "127.0.0.1:%d", ntohs(f.node[1].sa.sin_port));
    cql_config cfg;
    cql_config_init(&cfg);
    cfg.contact_points = a;
    use_env e = {0}; /* for its connect and close callbacks */
    cql_session *s = cql_session_new(&loop, &cfg, err, sizeof err);
    if (!s) fail_msg("%s", err);
    assert_int_equal(cql_session_connect(s, env_connected, &e), 0);
    uint64_t end = uv_now(&loop) + 10000;
    while (!e.connected && uv_now(&loop) < end) uv_run(&loop, UV_RUN_ONCE);
    assert_true(e.connected);
    assert_string_equal(owner_of_50(s), a); /* alone in the ring: A owns everything */

    f.b_joined = true;
    topo_event(&f, "NEW_NODE");
    assert_true(topo_wait(&loop, s, b, true));
    assert_int_equal(s->nring, 2);

    f.b_joined = false;
    topo_event(&f, "REMOVED_NODE");
    assert_true(topo_wait(&loop, s, a, false));
    assert_int_equal(s->nring, 1);
    for (int k = 0; k < s->cfg.connections_per_host; k++) assert_null(s->hosts[1]->conns[k]);

    assert_int_equal(cql_session_close(s, env_closed, &e), 0);
    end = uv_now(&loop) + 10000;
    while (!e.closed && uv_now(&loop) < end) uv_run(&loop, UV_RUN_ONCE);
    assert_true(e.closed);
    cql_session_free(s);
    for (int i = 0; i < 2; i++) {
        uv_close((uv_handle_t *)&f.node[i].listener, NULL);
        for (int k = 0; k < f.node[i].npeers; k++) {
            uv_close((uv_handle_t *)&f.node[i].peers[k].tcp, NULL);
            cql_buf_free(&f.node[i].peers[k].rx);
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_contact_points),
        cmocka_unit_test(test_ipv6_contact_points),
        cmocka_unit_test(test_nts_replicas),
        cmocka_unit_test(test_route_prefers_local_dc),
        cmocka_unit_test(test_default_local_dc),
        cmocka_unit_test(test_use_waits_for_every_connection),
        cmocka_unit_test(test_use_callback_survives_failed_switch),
        cmocka_unit_test(test_use_deferred_then_closed),
        cmocka_unit_test(test_use_replaced_while_deferred),
        cmocka_unit_test(test_host_requests_counted),
        cmocka_unit_test(test_topology_events_refresh_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
