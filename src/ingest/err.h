/* Error codes of the ingest module. */
#ifndef RTETL_INGEST_ERR_H
#define RTETL_INGEST_ERR_H

#include <stdbool.h>

typedef enum ingest_err {
    INGEST_OK = 0,
    INGEST_ERR_NET,        /* connect/transfer failed or timed out (retriable) */
    INGEST_ERR_HTTP_RETRY, /* HTTP 5xx, 429 or 408 (retriable) */
    INGEST_ERR_HTTP,       /* any other HTTP status >= 400: the request itself is wrong */
    INGEST_ERR_BAD_ANSWER, /* the body is not randomuser JSON (retriable: the next may be fine) */
    INGEST_ERR_BAD_RECORD, /* one result lacks a field or has the wrong type */
    INGEST_ERR_STOPPED,    /* interrupted by a stop request */
    INGEST_ERR_CONFIG,     /* bad settings */
    INGEST_ERR_KAFKA,      /* Kafka failed: fatal producer error, undelivered records */
    INGEST_ERR_SYSTEM,     /* out of memory, cannot start a thread */
} ingest_err;

/* A short constant description, e.g. "network error". */
const char *ingest_strerror(ingest_err e);
/* True when repeating the same request may succeed. */
bool ingest_err_retriable(ingest_err e);

#endif
