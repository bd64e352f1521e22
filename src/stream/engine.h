/* Internal state of the stream engine, shared by engine.c (the record path) and run.c (setup,
 * timers, status, shutdown). Not a public API. */
#ifndef RTETL_STREAM_ENGINE_H
#define RTETL_STREAM_ENGINE_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cql/cql.h"
#include "kafka/consumer.h"
#include "pipeline/arena.h"
#include "pipeline/config.h"
#include "pipeline/decode.h"
#include "pipeline/filter.h"
#include "pipeline/offsets.h"
#include "pipeline/retry.h"
#include "stream/dlq.h"
#include "stream/health.h"
#include "stream/stream.h"
#include "util/hist.h"
#include "util/metrics.h"

typedef enum { SLOT_FREE = 0, SLOT_WRITING, SLOT_BLOCKED, SLOT_BACKOFF, SLOT_DLQ } slot_state;

typedef struct stream_engine stream_engine;
typedef struct stream_batch stream_batch; /* sink.c */

/* Intrusive FIFO queues of nodes linked through their `next` member: slots waiting for room on
 * a connection (engine.c), batches waiting for the concurrency limit (sink.c). */
#define STREAM_FIFO_PUSH(head, tail, node) \
    do {                                   \
        (node)->next = NULL;               \
        if (tail)                          \
            (tail)->next = (node);         \
        else                               \
            (head) = (node);               \
        (tail) = (node);                   \
    } while (0)
#define STREAM_FIFO_PUSH_FRONT(head, tail, node) \
    do {                                         \
        (node)->next = (head);                   \
        (head) = (node);                         \
        if (!(tail)) (tail) = (node);            \
    } while (0)
#define STREAM_FIFO_DROP_HEAD(head, tail) \
    do {                                  \
        (head) = (head)->next;            \
        if (!(head)) (tail) = NULL;       \
    } while (0)

/* One write of a record in flight: the record to one of the pipeline's targets. A record the
 * pipeline keeps takes one slot per target (fan-out); its first slot, the lead, owns the Kafka
 * message and counts the record's slots not yet finished, and the record is done (its offset
 * marked, its message freed, the lead freed) when the last one finishes. A record that is
 * filtered out or dead-lettered before the targets takes the lead only. */
typedef struct stream_slot {
    struct stream_slot *next; /* free list */
    stream_engine *engine;
    rd_kafka_message_t *msg;  /* owned by the lead while in flight; borrowed by the others */
    struct stream_slot *lead; /* the record's first slot (itself for the lead) */
    uint8_t left;             /* lead: the record's slots not finished yet, itself included */
    bool given_up;            /* lead: a slot of the record was given up (not done) */
    uint8_t target;           /* index into engine->targets */
    bool tomb;                /* the record is a tombstone (a key, no value) */
    bool in_target;           /* past the pipeline's filter, in its target's write */
    uint32_t generation;      /* of its partition when it entered */
    slot_state state;
    int64_t produced_ms; /* Kafka message timestamp */
    int64_t wts;         /* write timestamp (µs) from the partition's chain, see engine.c */
    uint64_t sent_us;    /* monotonic time of the current write attempt */
    pipe_retry retry;
    uv_timer_t timer;      /* backoff and dead-letter retries */
    const char *reason;    /* dead-letter reason (static string) */
    char *detail;          /* dead-letter detail (owned), NULL otherwise */
    uint8_t dlq_cut;       /* index in engine.c's dlq_cuts: how much of the record goes */
    uint8_t server_errors; /* CQL server errors of this record so far */
    bool solo;             /* written alone, not in a batch (its batch failed; see sink.c) */
} stream_slot;

typedef struct stream_part {
    int32_t id;
    bool assigned;
    bool revoking; /* revoked, waiting for its in-flight records */
    uint32_t generation;
    int64_t next_offset;  /* last stored offset, -1 none */
    int64_t position;     /* offset after the last message consumed, -1 none */
    int64_t wts;          /* write-timestamp chain: the last value given out, 0 none */
    int64_t wts_seed;     /* the chain's value committed with the start offset, 0 none */
    bool stalled;         /* a message could not be taken in: rewound, paused (part_stall) */
    bool held;            /* paused: too many records tracked behind an old one */
    int64_t stall_offset; /* the offset it is read again from */
    int64_t start_offset; /* the group's committed offset at assignment, -1 none */
    pipe_offsets *offs;
    /* --until-caught-up (catchup.c): the high watermark noted at assignment, -1 unknown, and
     * where consumption started; capped: a record at or past the mark came, the partition is
     * paused and takes nothing more. */
    int64_t mark, mark_from;
    bool capped;
    stream_health_watch health; /* the stall check's memory (run.c, once a second) */
} stream_part;

typedef enum { ENGINE_STARTING = 0, ENGINE_RUNNING, ENGINE_DRAINING, ENGINE_DONE } engine_state;

#define STREAM_MAX_COLUMNS 256
/* Server errors of one record before it is dead-lettered instead of retried. */
#define STREAM_SERVER_ERRORS_MAX 10
/* Distinct dead-letter reasons counted apart in /metrics; more go under "other". */
#define STREAM_DLQ_REASONS 24
/* Batches open at once, one per replica set (sink.c). */
#define STREAM_OPEN_BATCHES 16

/* One target of the pipeline (pipe_config_target), compiled. */
typedef struct stream_target {
    const pipe_config *pc;
    pipe_filter *when;        /* NULL: every record the pipeline keeps */
    pipe_expr **col_exprs;    /* per column: its mapping expression, NULL for a plain field */
    const cql_prepared *stmt; /* the INSERT, or the DELETE of an action: delete target */
    const cql_prepared *tomb; /* on_tombstone: delete: DELETE by the Kafka key; else NULL */
    pipe_schema *key_schema;  /* a compound key's columns: the JSON Kafka key decodes by it */
    pipe_record *key_rec;
    cql_consistency consistency;
    bool kafka_wts;                           /* statements carry USING TIMESTAMP ? */
    uint64_t written, skipped, dead_lettered; /* per target, for /metrics */
} stream_target;

typedef struct stream_reason_count {
    const char *reason; /* static string */
    uint64_t n;
} stream_reason_count;

struct stream_engine {
    const stream_opts *o;
    uv_loop_t loop;
    engine_state state;
    bool finishing; /* stream_engine_finish is under way (flushing the dead letters) */
    int exit_code;
    bool security_failed; /* a Kafka authentication/ACL failure stopped the run */
    char *err;
    size_t errlen;

    /* pipeline */
    pipe_schema *schema;
    pipe_filter *filter; /* NULL: keep everything */
    pipe_record *rec;
    pipe_arena *arena;                 /* per consumed batch */
    pipe_arena *retry_arena;           /* per retried record */
    pipe_arena *map_arena;             /* text the filter and the mapping compute, per record */
    const rd_kafka_message_t *rec_msg; /* whose decoded fields `rec` holds */
    stream_target *targets;
    size_t ntargets;
    bool tomb_targets; /* a target takes tombstones (on_tombstone is not dlq) */

    /* kafka */
    kafka_consumer *consumer;
    stream_dlq *dlq;
    stream_part *parts;
    size_t nparts;

    /* cassandra */
    cql_session *session;
    cql_query_opts write_opts;
    cql_value *values; /* a statement's values: the columns and the write timestamp */
    uint8_t (*scratch)[64];
    uint8_t wts_scratch[8];
    char bind_error[200];

    /* the write sink (sink.c): open batches by replica set, full ones waiting for the limit,
     * and the adaptive limit on write requests in flight */
    size_t batch_rows, batch_bytes; /* batch_rows <= 1: no batches, one INSERT per record */
    stream_batch *open[STREAM_OPEN_BATCHES];
    size_t nopen;
    stream_batch *ready_head, *ready_tail, *free_batches, *all_batches;
    uv_prepare_t sink_prepare;
    int requests;           /* write requests in flight (batches and single INSERTs) */
    double limit;           /* on requests; AIMD between 1 and limit_max */
    double limit_max;       /* --max-inflight */
    uint64_t lat_target_us; /* 0: the limit stays at limit_max */
    uint64_t limit_cut_us;  /* when the limit was last cut */
    uint64_t batches, batched_rows, batch_splits, limit_cuts;

    /* slots and the queue of messages waiting for one */
    stream_slot *slots;
    size_t nslots, nfree;
    stream_slot *free_slots;
    stream_slot *blocked_head, *blocked_tail; /* waiting for room on a connection */
    rd_kafka_message_t **pending;
    size_t npending, pending_head, pending_cap;
    bool consumer_dry; /* the consumer was told 0: it gets room back a chunk at a time */

    /* counters (loop thread only) */
    uint64_t consumed, written, filtered, invalid, dead_lettered, retries, write_errors, finished;
    uint64_t abandoned; /* retries given up because their partition was revoked */
    stream_reason_count dlq_reasons[STREAM_DLQ_REASONS]; /* dead letters by reason */
    size_t ndlq_reasons;
    size_t span_limit;     /* records a partition tracks at most before it is held */
    int64_t fail_track_at; /* test-only fault injection (RTETL_TEST_FAIL_TRACK_AT), -1 off */
    uint64_t last_message_us;
    int64_t real_offset_us; /* CLOCK_REALTIME - CLOCK_MONOTONIC, refreshed every 100 ms: one clock
                               read serves both (latencies against Kafka's wall-clock stamps) */
    uint64_t take_real_us;  /* wall clock of the batch of messages being taken */
    uint64_t started_us;
    uint64_t drain_deadline_us;
    hist write_lat, e2e_lat; /* microseconds, since start */
    hist consume_lat;        /* Kafka timestamp -> taken by the engine, µs, since start */
    hist window_lat;         /* write latency since the last status line */
    uint64_t status_written;
    uint64_t status_us;
    char last_error[600];

    /* start-up: schema statements, then the targets' statements (run.c setup_step) */
    size_t setup_next, setup_target;
    bool setup_tomb;
    char setup_what[200];
    char *ddl_stmt;
    const char *ddl_what;
    void (*ddl_next)(stream_engine *e);
    int ddl_attempts;
    uint64_t schema_deadline_us; /* start-up: bound on the wait for schema agreement */
    uv_timer_t ddl_timer;

    /* timers, signals, metrics */
    uv_timer_t store_timer, status_timer, metrics_timer;
    uv_timer_t defer_timer;     /* zero-delay: work a callback must not do itself */
    uint64_t stalled_warned_us; /* --idle-exit: when a stall with lag was last reported */
    uv_signal_t sigint, sigterm;
    int signals;

    /* --until-caught-up (catchup.c) */
    bool catchup_armed;                  /* partitions were assigned at least once */
    int catchup_pct;                     /* progress to the marks, as last computed; -1 unknown */
    int64_t catchup_left, catchup_total; /* records to the marks left, and in all */
    uint64_t catchup_retry_us;           /* when a failed watermark query was last retried */
    metrics_server *metrics;

    /* /healthz and /readyz (run.c with health.c) */
    const char *startup_step; /* what start-up waits for, a static string for /readyz */
    bool ever_assigned;       /* a partition was assigned since the start */
    bool topic_missing;       /* the consumer said the source topic does not exist */
    uint64_t unreachable_since_us, unassigned_since_us; /* see stream_health_since */
};

/* engine.c: the record path and its consumer callbacks. */
void stream_engine_on_messages(void *ud, rd_kafka_message_t **msgs, size_t n);
void stream_engine_on_assign(void *ud, const rd_kafka_topic_partition_list_t *parts);
bool stream_engine_on_revoke(void *ud, const rd_kafka_topic_partition_list_t *parts, bool lost);
void stream_engine_on_error(void *ud, rd_kafka_resp_err_t err, const char *reason, bool fatal);
/* Stores the committable offset of every assigned partition for the next commit. `final`
 * (shutdown): every partition, whatever is due, and nothing else is started. */
void stream_engine_store_all(stream_engine *e, bool final);
/* Tells the consumer how many more messages the engine takes now. */
void stream_engine_update_capacity(stream_engine *e);
void stream_engine_on_defer(uv_timer_t *t);
void stream_engine_unblock(stream_engine *e);
void stream_engine_on_dlq_delivered(void *opaque, rd_kafka_resp_err_t err);
int stream_map_send(stream_engine *e, stream_slot *s);
/* The Kafka metadata expressions see for message m (pipeline/expr.h); meta borrows from m.
 * Shared with the dry run (dryrun.c). */
void stream_record_meta(const rd_kafka_message_t *m, int64_t produced_ms, pipe_kafka_meta *meta);
/* Begins a graceful stop: no more consumption; finish when every slot is free. */
void stream_engine_stop(stream_engine *e, const char *why);

void stream_slot_abandon(stream_engine *e, stream_slot *s);
uint64_t mono_us(void);
/* Re-reads the offset of the wall clock from the monotonic one (after a clock step). */
void stream_engine_sync_clock(stream_engine *e);
/* The wall clock (µs since the epoch) at monotonic time mono. */
uint64_t stream_real_us(const stream_engine *e, uint64_t mono);

/* engine.c, for the sink: a write of s was acknowledged (at wall-clock time real_us); failed
 * for good or for now (err); retry it after backoff; decode and send it again now. */
void stream_write_done(stream_engine *e, stream_slot *s, uint64_t real_us);
void stream_write_failed(stream_engine *e, stream_slot *s, const cql_error *err);
void stream_write_retry(stream_engine *e, stream_slot *s, const char *why);
void stream_write_again(stream_engine *e, stream_slot *s);
/* Keeps a retriable error as the last write error (status line, /healthz detail). */
void stream_note_write_error(stream_engine *e, const cql_error *err);
/* A send of s that could not start: CQL_E_NO_HOST, CQL_E_CLOSED or CQL_E_NOMEM put s in
 * backoff (true); any other code leaves s to the caller (false). */
bool stream_send_unavailable(stream_engine *e, stream_slot *s, int rc);

/* sink.c: batches and the concurrency limit (see its DESIGN). add encodes the statement of s
 * (its n values for prepared p) into the open batch of its replica set and consistency; 0, or
 * CQL_E_NOMEM / CQL_E_INVAL. */
int stream_sink_init(stream_engine *e);
void stream_sink_start(stream_engine *e);
void stream_sink_stop(stream_engine *e);
void stream_sink_free(stream_engine *e);
int stream_sink_add(stream_engine *e, stream_slot *s, const cql_prepared *p, cql_consistency cl,
                    const cql_value *values, size_t n);
void stream_sink_pump(stream_engine *e);
bool stream_sink_has_room(const stream_engine *e);
/* A write request sent at sent_us finished after lat_us (err NULL: acknowledged). */
void stream_sink_feedback(stream_engine *e, const cql_error *err, uint64_t sent_us,
                          uint64_t lat_us);

/* run.c */
void stream_engine_finish(stream_engine *e);
/* From the first stop on, the process ends with an error if it is still running after
 * --drain-timeout plus a grace period (run.c): a stop never hangs. */
void stream_arm_stop_watchdog(const stream_engine *e);

/* catchup.c: --until-caught-up. on_assign notes the partition's mark (a bounded blocking
 * watermark query); admit is false (m destroyed, partition paused) for a message at or past
 * it; check stops the engine once every assigned partition reached its mark, and updates
 * catchup_pct. */
void stream_catchup_on_assign(stream_engine *e, stream_part *sp,
                              const rd_kafka_topic_partition_t *t);
bool stream_catchup_admit(stream_engine *e, stream_part *sp, rd_kafka_message_t *m);
void stream_catchup_check(stream_engine *e);

#endif
