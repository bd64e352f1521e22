/* The randomuser API: parsing its answers into users (api.c) and fetching them over HTTP with
 * libcurl (http.c). Answer shape: {"results":[{...user...}, ...], "info":{...}}. */
#ifndef RTETL_INGEST_API_H
#define RTETL_INGEST_API_H

#include "ingest/err.h"
#include "ingest/record.h"

#include <signal.h>
#include <stddef.h>

/* One parsed answer. Opaque; users taken from it borrow its strings. */
typedef struct ingest_api_batch ingest_api_batch;

/* Parses an answer body. Returns INGEST_OK and *out (free with ingest_api_batch_free), or
 * INGEST_ERR_BAD_ANSWER with one line in err (not JSON, no "results" array ...). */
ingest_err ingest_api_batch_parse(const char *body, size_t len, ingest_api_batch **out, char *err,
                                  size_t errlen);
size_t ingest_api_batch_size(const ingest_api_batch *b);
/* Fills u from result i. Returns INGEST_OK, or INGEST_ERR_BAD_RECORD with a line naming the
 * missing or mistyped field (e.g. "missing location.street.name"). u borrows from b. */
ingest_err ingest_api_batch_user(const ingest_api_batch *b, size_t i, ingest_user *u, char *err,
                                 size_t errlen);
void ingest_api_batch_free(ingest_api_batch *b);

/* ---- HTTP client ---------------------------------------------------------------------- */

typedef struct ingest_api_opts {
    const char *url;        /* e.g. https://randomuser.me/api/ ; query parameters allowed */
    long results;           /* results asked per request (?results=N) */
    double timeout;         /* whole-request timeout, seconds */
    double connect_timeout; /* connect timeout, seconds */
    int max_retries;        /* retries of one request before giving up */
    double backoff;         /* first retry delay, seconds; doubles each retry (with jitter) */
    double backoff_max;     /* cap on the delay, seconds */
    const char *seed;       /* when set, sent as seed=S&page=P (P = 1, 2 ...) for replayable runs */
    volatile sig_atomic_t *stop; /* when non-NULL and set, transfers and waits end early */
    /* Called to wait between retries instead of sleeping, so the caller can serve its own work
     * (e.g. Kafka delivery reports) meanwhile; may return early. NULL: nanosleep. */
    void (*wait)(void *arg, int ms);
    void *wait_arg;
} ingest_api_opts;

typedef struct ingest_api_stats {
    unsigned long long requests, retries, net_errors, http_errors, bad_answers;
    unsigned long long connects; /* new connections opened (1 while the server keeps it alive) */
} ingest_api_stats;

typedef struct ingest_api ingest_api;

/* Creates a client (one reused connection). opts is copied; its strings are borrowed and must
 * outlive the client. Returns NULL with err filled on failure. */
ingest_api *ingest_api_new(const ingest_api_opts *opts, char *err, size_t errlen);
/* Fetches one answer of up to n users (n <= 0: the configured count), retrying network errors,
 * 5xx/429/408 and bad answers with exponential backoff; each failure is logged (a bad answer
 * with an excerpt of the body). Returns INGEST_OK and *out, or the last error with err filled:
 * INGEST_ERR_HTTP at once for other 4xx, a retriable error after max_retries retries, or
 * INGEST_ERR_STOPPED. */
ingest_err ingest_api_fetch(ingest_api *a, long n, ingest_api_batch **out, char *err,
                            size_t errlen);
void ingest_api_get_stats(const ingest_api *a, ingest_api_stats *st);
void ingest_api_free(ingest_api *a);

#endif
