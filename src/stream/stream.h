/* The `rtetl stream` engine: Kafka -> decode -> validate -> filter -> map -> Cassandra, at least
 * once, with a dead-letter topic. One libuv loop on one thread owns everything (DESIGN.md). */
#ifndef RTETL_STREAM_STREAM_H
#define RTETL_STREAM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cql/cql.h"
#include "pipeline/config.h"
#include "stream/health.h"
#include "util/opt.h"

typedef enum {
    STREAM_SINK_CASSANDRA = 0,
    STREAM_SINK_NULL, /* decode and filter, write nothing: the Kafka-bound ceiling */
} stream_sink;

/* Everything the engine needs; all pointers are borrowed for the duration of stream_run. */
typedef struct stream_opts {
    const pipe_config *pipe;     /* finished (pipe_config_finish) */
    const char *brokers;         /* bootstrap servers */
    const opt_list *kafka_props; /* -X key=value for consumer and dead-letter producer */
    cql_config cql;              /* contact points, auth, TLS ... */
    stream_sink sink;
    size_t max_inflight;           /* records between consume and done (writes, retries, DLQ) */
    size_t batch_rows;             /* rows per unlogged batch at most (<= 1: no batches) */
    size_t batch_bytes;            /* batch size as the server counts it, at most (estimated) */
    double write_latency_target_s; /* AIMD: cut the request limit above this (0: fixed) */
    uint64_t max_records;          /* stop after this many records (0: no limit) */
    bool until_caught_up;          /* stop once the records present at assignment are done */
    double idle_exit_s;            /* stop after this long without messages and work (0: never) */
    double status_interval_s;      /* status line period (0: none) */
    double drain_timeout_s;        /* bound on draining in-flight work at shutdown */
    const char *metrics_bind;      /* address for /metrics, /healthz and /readyz */
    int metrics_port;              /* -1: no server; 0: any port */

    stream_health_limits health; /* the bounds of /healthz's checks (health.h) */
} stream_opts;

/* Checks the -X properties: 0, or -1 with one line in err when one overrides a setting that
 * at-least-once delivery relies on (enable.auto.offset.store, enable.auto.commit, acks). */
int stream_check_kafka_props(const opt_list *props, char *err, size_t errlen);

/* Runs until a signal, max_records, until_caught_up or idle_exit. Returns a process exit code: 0
 * after a clean drain, 1 on a runtime failure (with one line in err), e.g. Cassandra unreachable at
 * start. */
int stream_run(const stream_opts *o, char *err, size_t errlen);

/* `rtetl stream --dry-run`: reads up to `sample` records of pipe's topic (each partition from
 * the group's committed offset, else the beginning, up to its end at start), takes each through
 * decode, filter and mapping as the engine does, and prints one line per record to out: the
 * row it would write (columns in mapping order, values as CQL literals) or why it would be
 * filtered out or dead-lettered (the engine's reason and detail), then a summary line. Commits
 * nothing, contacts no Cassandra, produces nothing. Returns 0, or 1 with one line in err
 * (Kafka unreachable, the topic missing). */
int stream_dry_run(const pipe_config *pipe, const char *brokers, const opt_list *kafka_props,
                   uint64_t sample, FILE *out, char *err, size_t errlen);

#endif
