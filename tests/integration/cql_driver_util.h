/* Helpers shared by the CQL integration drivers (cql_driver.c, cql_auth_tls_driver.c): a
 * PASS/FAIL check counting failures, a counter of asynchronous requests for their callbacks,
 * and a fail-fast check of sync calls. Each driver is one translation unit including this. */
#ifndef RTETL_TESTS_CQL_DRIVER_UTIL_H
#define RTETL_TESTS_CQL_DRIVER_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cql/cql.h"

/* Failed CHECKs so far; a driver exits non-zero when any failed. */
static int failures;

/* Prints PASS or FAIL with the condition's text (and the printf-style detail on failure). */
#define CHECK(cond, ...)                \
    do {                                \
        if (cond) {                     \
            printf("PASS %s\n", #cond); \
        } else {                        \
            printf("FAIL %s: ", #cond); \
            printf(__VA_ARGS__);        \
            printf("\n");               \
            failures++;                 \
        }                               \
    } while (0)

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
