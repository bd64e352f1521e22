/* Helpers shared by the CQL integration drivers (cql_driver.c, cql_auth_tls_driver.c): a
 * counter of asynchronous requests for their callbacks, and a fail-fast check of sync calls. */
#ifndef RTETL_TESTS_CQL_DRIVER_UTIL_H
#define RTETL_TESTS_CQL_DRIVER_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cql/cql.h"

typedef struct async_state {
    long pending, ok, failed;
    bool stop;
    cql_error last;
} async_state;

/* A cql_result_cb counting outcomes into the async_state in ud; sets stop when none is left. */
static inline void on_done(void *ud, const cql_error *err, const cql_result *res)
{
    async_state *st = ud;
    (void)res;
    st->pending--;
    if (err)
        st->failed++, st->last = *err;
    else
        st->ok++;
    if (st->pending == 0) st->stop = true;
}

/* Exits the driver with the error when a sync call failed. */
static inline void must(int rc, const cql_error *e, const char *what)
{
    if (rc == 0) return;
    fprintf(stderr, "%s: %s (%s)\n", what, e->message, cql_strerror(e->code));
    exit(1);
}

#endif
