/* A randomuser-compatible HTTP server fed by the builtin generator, for local runs, tests and
 * demos: GET /api/?results=N&seed=S&page=P answers {"results":[...],"info":{...}} like
 * randomuser.me. It can inject failures (5xx, 429, truncated JSON, HTML) at a given rate. */
#ifndef RTETL_INGEST_FAKEAPI_H
#define RTETL_INGEST_FAKEAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ingest_fakeapi_opts {
    const char *bind; /* IPv4 address to listen on, e.g. "127.0.0.1" or "0.0.0.0" */
    int port;         /* 0 picks a free port (see ingest_fakeapi_port) */
    double fail_rate; /* probability in [0, 1] that an answer is a failure */
    unsigned threads; /* worker threads */
    long max_results; /* upper bound of ?results= */
    bool has_seed;    /* when no seed= is given, derive users from seed and a counter */
    uint64_t seed;
} ingest_fakeapi_opts;

typedef struct ingest_fakeapi_stats {
    unsigned long long requests, users, failures;
} ingest_fakeapi_stats;

typedef struct ingest_fakeapi ingest_fakeapi;

/* Starts serving on background threads. Returns NULL with err filled when the address cannot be
 * bound. opts is copied. */
ingest_fakeapi *ingest_fakeapi_start(const ingest_fakeapi_opts *opts, char *err, size_t errlen);
/* The port actually bound. */
int ingest_fakeapi_port(const ingest_fakeapi *f);
void ingest_fakeapi_get_stats(const ingest_fakeapi *f, ingest_fakeapi_stats *st);
/* Stops serving (waits for requests in progress) and frees f. */
void ingest_fakeapi_stop(ingest_fakeapi *f);

#endif
