/* `rtetl ingest` as a library: produce randomuser records (from the builtin generator or an
 * HTTP API) to a Kafka topic, with rate and count/duration limits, progress and a summary. */
#ifndef RTETL_INGEST_INGEST_H
#define RTETL_INGEST_INGEST_H

#include "ingest/err.h"
#include "util/opt.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ingest_config {
    /* Source: the builtin generator, or the randomuser-compatible API at api_url. */
    const char *api_url; /* NULL: builtin */
    long results;        /* results per API request */
    double http_timeout; /* seconds per request */
    int max_retries;     /* retries of one API request */
    bool has_seed;       /* reproducible users and ids */
    uint64_t seed;
    const char *seed_text; /* the seed as given, sent to the API as seed= */
    /* Kafka. */
    const char *brokers, *topic;
    const opt_list *props; /* -X key=value pass-through, applied after rtetl's defaults */
    bool create_topic;
    int partitions, replication;
    /* Limits: stop at whichever comes first; 0 means none. */
    unsigned long long count;
    double duration; /* seconds */
    double rate;     /* records per second */
    /* Reporting. */
    bool quiet;               /* no progress lines */
    double progress_interval; /* seconds */
    double flush_timeout;     /* seconds to wait for deliveries at the end */
    /* Incremented by signal handlers: 1 stops producing (then flush), 2 abandons the flush. */
    volatile sig_atomic_t *stop;
} ingest_config;

typedef struct ingest_result {
    unsigned long long sent;        /* records handed to the producer */
    unsigned long long delivered;   /* acknowledged by Kafka */
    unsigned long long undelivered; /* failed or still unacknowledged at exit */
    unsigned long long bad_records; /* API results skipped (missing or mistyped fields) */
    unsigned long long api_errors;  /* failed API requests (each retried) */
    unsigned long long queue_full;  /* times the source waited for room in Kafka's queue */
    double elapsed, cpu;            /* seconds of wall clock and of CPU (user+system) */
} ingest_result;

/* The librdkafka properties ingest sets before the user's -X ones (NULL-terminated), besides
 * linger.ms (ingest_linger_ms). */
extern const char *const ingest_producer_defaults[];

/* linger.ms for a run paced at `rate` records/s (0: unpaced). Lingering fills batches, which
 * spares the broker a request per record, and delays every record by up to the linger.
 * Measured on 2 cores with the stream running (records' Kafka timestamp -> Cassandra ack,
 * p50/p99 ms): at 1,000/s, 10 ms gave 8.7/13.3 and 0 gave 1.2-1.7/3-15, the broker using 16%
 * of a core with 10 ms and 36-49% with 0 (a request per record); at 12,000/s, 10 ms gave
 * 9.2/78 (Kafka 18% of a core), 1 ms 4.6/238 (Kafka 41%) and 0 fell behind (Kafka 62%, ingest
 * 52%). Unpaced, 0, 1 and 10 ms ran equally fast (the backlog fills the batches). So: 0 up to
 * 1,000/s, then 1 ms more per 1,000/s, at most 10; unpaced 10. -X linger.ms overrides it. */
int ingest_linger_ms(double rate);

/* Runs until a limit is reached, a stop is requested or a fatal error, then flushes. Writes
 * progress lines (unless quiet) and a summary line to the log. Returns INGEST_OK when every
 * record sent was delivered; INGEST_ERR_CONFIG for bad settings; another error when the run
 * failed or records were not delivered (err says what, res has the counts). */
ingest_err ingest_run(const ingest_config *c, ingest_result *res, char *err, size_t errlen);

#endif
