/* Unit tests for the CQL session's setup and routing that need no server: contact points (many,
 * bracketed IPv6 with a port), replica placement (SimpleStrategy, NetworkTopologyStrategy with
 * racks) and data-center-aware routing on a synthetic ring of two data centers whose hosts have
 * fake idle connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cql/session.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_contact_points), cmocka_unit_test(test_ipv6_contact_points),
        cmocka_unit_test(test_nts_replicas),        cmocka_unit_test(test_route_prefers_local_dc),
        cmocka_unit_test(test_default_local_dc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
