/* The stream engine's life: start-up (Kafka, Cassandra, DDL, prepare), timers (offset store,
 * status line, metrics), signals, and the drain-then-close shutdown. The record path itself
 * lives in engine.c. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka/conf.h"
#include "stream/engine.h"
#include "util/log.h"

/* ---- kafka ---------------------------------------------------------------------------- */

/* Notes the first partition assigned (readiness), then hands over to the engine. */
static void on_assign(void *ud, const rd_kafka_topic_partition_list_t *parts)
{
    stream_engine *e = ud;
    if (parts->cnt > 0) e->ever_assigned = true, e->topic_missing = false;
    stream_engine_on_assign(ud, parts);
}

/* Notes a missing source topic (the unassigned check waits for it), then hands over. */
static void on_error(void *ud, rd_kafka_resp_err_t err, const char *reason, bool fatal)
{
    stream_engine *e = ud;
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        e->topic_missing = true;
    stream_engine_on_error(ud, err, reason, fatal);
}

static const kafka_consumer_handler consumer_handler = {
    .on_messages = stream_engine_on_messages,
    .on_assign = on_assign,
    .on_revoke = stream_engine_on_revoke,
    .on_error = on_error,
};

/* Settings of start_kafka that at-least-once delivery relies on, so -X cannot change them. */
static const struct {
    const char *key, *why;
} reserved_props[] = {
    {"enable.auto.offset.store",
     "an offset is stored only once its record is written or dead-lettered"},
    {"enable.auto.commit", "rtetl decides when the offsets it stored are committed"},
    {"acks", "a dead letter counts as done only once every in-sync replica has it"},
    {"request.required.acks",
     "a dead letter counts as done only once every in-sync replica has it"},
};

int stream_check_kafka_props(const opt_list *props, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof reserved_props / sizeof reserved_props[0]; i++) {
        if (!kafka_conf_find(props, reserved_props[i].key)) continue;
        snprintf(err, errlen, "-X %s: set by rtetl and cannot be changed: %s",
                 reserved_props[i].key, reserved_props[i].why);
        return -1;
    }
    return 0;
}

static int start_kafka(stream_engine *e)
{
    const pipe_config *pc = e->o->pipe;
    char maxmsg[64];
    snprintf(maxmsg, sizeof maxmsg, "message.max.bytes=%zu", pc->max_message_bytes + 65536);
    const char *producer_defaults[] = {
        "client.id=rtetl-stream-dlq", maxmsg,        "enable.idempotence=true", "acks=all",
        "message.timeout.ms=0",       "linger.ms=5", "compression.type=lz4",    NULL};
    rd_kafka_conf_t *pconf =
        kafka_conf_new(e->o->brokers, producer_defaults, e->o->kafka_props, e->err, e->errlen);
    if (!pconf) return -1;
    kafka_conf_route_logs(pconf);
    e->dlq = stream_dlq_new(&e->loop, pconf, pc->dlq_topic, stream_engine_on_dlq_delivered, e->err,
                            e->errlen);
    if (!e->dlq) return -1;
    if (stream_dlq_check_brokers(e->dlq, 10000, e->err, e->errlen)) return -1;
    /* Room for the largest record the pipeline accepts, plus the reason headers. */
    long long max_bytes = (long long)pc->max_message_bytes + 65536;
    if (stream_dlq_ensure_topic(e->dlq, 1, max_bytes, 10000, e->err, e->errlen)) return -1;

    char group[512], reset[64];
    snprintf(group, sizeof group, "group.id=%s", pc->group);
    snprintf(reset, sizeof reset, "auto.offset.reset=%s",
             pc->mode == PIPE_MODE_APPEND ? "latest" : "earliest");
    const char *consumer_defaults[] = {
        "client.id=rtetl-stream", group, reset, "enable.auto.commit=false",
        "enable.auto.offset.store=false", "partition.assignment.strategy=cooperative-sticky",
        /* A bounded prefetch keeps memory small; a larger record is still fetched whole. With
         * the consumer's fetch wake-ups a 2 MiB queue keeps the writes fed: on a 300k drain
         * it ran as fast as 4 MiB at an RSS of 27 MB instead of 33 MB. */
        "queued.max.messages.kbytes=2048", "fetch.max.bytes=2097152",
        "max.partition.fetch.bytes=524288", NULL};
    rd_kafka_conf_t *cconf =
        kafka_conf_new(e->o->brokers, consumer_defaults, e->o->kafka_props, e->err, e->errlen);
    if (!cconf) return -1;
    kafka_conf_route_logs(cconf);
    e->consumer =
        kafka_consumer_new(&e->loop, cconf, pc->topic, &consumer_handler, e, e->err, e->errlen);
    return e->consumer ? 0 : -1;
}

/* ---- start-up chain: connect -> keyspace -> table -> prepare -> consume ------------------ */

static void fail_start(stream_engine *e, const char *what, const cql_error *err)
{
    /* A signal already stopped the start-up (closing the session fails what was under way). */
    if (e->state == ENGINE_DONE || e->finishing) return;
    snprintf(e->err, e->errlen, "cassandra: %s: %s%s%s", what, err->message,
             err->host[0] ? " at " : "", err->host);
    e->exit_code = 1;
    stream_engine_finish(e);
}

static void start_consuming(stream_engine *e)
{
    if (kafka_consumer_start(e->consumer, e->err, e->errlen)) {
        e->exit_code = 1;
        stream_engine_finish(e);
        return;
    }
    e->state = ENGINE_RUNNING;
    stream_sink_start(e);
    e->startup_step = "waiting for the first partition assignment";
    /* The consumer's first batch must not exceed the slots (or --max-records). */
    stream_engine_update_capacity(e);
    e->started_us = e->last_message_us = e->status_us = mono_us();
    stream_engine_sync_clock(e);
    log_info("stream", "consuming", "topic=%s group=%s mode=%s dlq=%s table=%s.%s targets=%zu",
             e->o->pipe->topic, e->o->pipe->group, pipe_mode_name(e->o->pipe->mode),
             e->o->pipe->dlq_topic, e->o->pipe->keyspace, e->o->pipe->table, e->ntargets);
}

static void setup_step(stream_engine *e);

/* The target of the start-up step under way, in messages: "" with one target. */
static const char *setup_what(stream_engine *e, const char *what)
{
    if (e->ntargets < 2) return what;
    snprintf(e->setup_what, sizeof e->setup_what, "%s (target %s)", what,
             e->targets[e->setup_target].pc->name);
    return e->setup_what;
}

static void on_prepared(cql_session *s, const cql_error *err, const cql_prepared *p, void *ud)
{
    stream_engine *e = ud;
    stream_target *t = &e->targets[e->setup_target];
    (void)s;
    if (err) return fail_start(e, setup_what(e, "cannot prepare the statement"), err);
    size_t binds = (e->setup_tomb ? t->pc->nprimary_key : t->pc->ncolumns) + (t->kafka_wts ? 1 : 0);
    if ((size_t)cql_prepared_bind_count(p) != binds) {
        snprintf(e->err, e->errlen, "cassandra: %s has %d bind markers, expected %zu",
                 setup_what(e, "a statement"), cql_prepared_bind_count(p), binds);
        e->exit_code = 1;
        return stream_engine_finish(e);
    }
    if (e->setup_tomb)
        t->tomb = p;
    else
        t->stmt = p;
    setup_step(e);
}

static void prepare(stream_engine *e, char *q)
{
    /* kafka write timestamps are bound per statement (USING TIMESTAMP ?): a batch has one
     * protocol-level timestamp only. */
    int rc = q ? cql_session_prepare(e->session, q, on_prepared, e) : CQL_E_NOMEM;
    free(q);
    if (rc) {
        cql_error ce;
        cql_error_set(&ce, rc, "%s", cql_strerror(rc));
        fail_start(e, setup_what(e, "cannot prepare the statement"), &ce);
    }
}

/* Start-up DDL (CREATE ... IF NOT EXISTS) is idempotent, and schema changes can be slow on a
 * loaded node: each statement gets a long timeout and a few retries on retriable errors. */
#define DDL_TIMEOUT_MS 60000
#define DDL_ATTEMPTS   5

/* After a schema change, the next statement may reach a coordinator that has not applied it
 * yet (a keyspace or table unknown there): wait until every up host agrees on the schema
 * version, as the drivers do, polling every 200 ms for at most 10 s, then go on (with a
 * warning when they still disagree: the retries of the next step cover a late node). */
#define SCHEMA_AGREE_MS 10000

static void ddl_send(stream_engine *e);
static void schema_poll(stream_engine *e);

static void on_schema_timer(uv_timer_t *t)
{
    schema_poll(t->data);
}

static void on_schema(void *ud, const cql_error *err, bool agreed)
{
    stream_engine *e = ud;
    if (e->state == ENGINE_DONE) return;
    if (agreed) {
        log_debug("stream", "schema agreement", "after_ms=%" PRIu64,
                  (mono_us() + (uint64_t)SCHEMA_AGREE_MS * 1000 - e->schema_deadline_us) / 1000);
        return e->ddl_next(e);
    }
    if (mono_us() >= e->schema_deadline_us) {
        log_warn("stream", "no schema agreement; going on", "waited_ms=%d error=\"%s\"",
                 SCHEMA_AGREE_MS, err ? err->message : "versions differ");
        return e->ddl_next(e);
    }
    uv_timer_start(&e->ddl_timer, on_schema_timer, 200, 0);
}

static void schema_poll(stream_engine *e)
{
    int rc = cql_session_check_schema(e->session, on_schema, e);
    if (rc) {
        cql_error ce;
        cql_error_set(&ce, rc, "%s", cql_strerror(rc));
        on_schema(e, &ce, false);
    }
}

static void on_ddl_timer(uv_timer_t *t)
{
    ddl_send(t->data);
}

static void on_ddl(void *ud, const cql_error *err, const cql_result *res)
{
    stream_engine *e = ud;
    if (e->state == ENGINE_DONE) return;
    if (!err) {
        free(e->ddl_stmt);
        e->ddl_stmt = NULL;
        e->schema_deadline_us = mono_us() + (uint64_t)SCHEMA_AGREE_MS * 1000;
        return schema_poll(e);
    }
    if (cql_error_retriable(err) && ++e->ddl_attempts < DDL_ATTEMPTS) {
        log_warn("stream", "schema statement failed; retrying", "what=\"%s\" error=\"%s\"",
                 e->ddl_what, err->message);
        uv_timer_start(&e->ddl_timer, on_ddl_timer, 2000, 0);
        return;
    }
    fail_start(e, e->ddl_what, err);
}

static void ddl_send(stream_engine *e)
{
    cql_query_opts opts;
    cql_query_opts_init(&opts);
    opts.timeout_ms = DDL_TIMEOUT_MS;
    int rc = cql_session_query(e->session, e->ddl_stmt, NULL, 0, CQL_ONE, &opts, on_ddl, e);
    if (rc) {
        cql_error ce;
        cql_error_set(&ce, rc, "%s", cql_strerror(rc));
        on_ddl(e, &ce, NULL);
    }
}

/* Runs one schema statement (owned text), then `next`. */
static void ddl(stream_engine *e, char *stmt, const char *what, void (*next)(stream_engine *))
{
    if (!stmt) {
        cql_error ce;
        cql_error_set(&ce, CQL_E_NOMEM, "out of memory");
        return fail_start(e, what, &ce);
    }
    free(e->ddl_stmt);
    e->ddl_stmt = stmt;
    e->ddl_what = what;
    e->ddl_next = next;
    e->ddl_attempts = 0;
    ddl_send(e);
}

/* Start-up after connecting, one step at a time (each waits for the server): first the
 * keyspace and table of every target that creates its own (create_if_missing, and not a delete
 * target: one deletes from a table an upsert target makes, or one that exists), then each
 * target's statement and tombstone DELETE. Steps 0..2n-1 are schema, 2n..4n-1 statements. */
static void setup_step(stream_engine *e)
{
    size_t nt = e->ntargets;
    for (;;) {
        size_t k = e->setup_next++;
        if (k >= 4 * nt) return start_consuming(e);
        size_t j = k < 2 * nt ? k : k - 2 * nt, i = j / 2;
        bool second = j % 2;
        stream_target *t = &e->targets[i];
        const pipe_config *pc = t->pc;
        e->setup_target = i;
        if (k < 2 * nt) {
            if (!pc->create_if_missing || pc->action == PIPE_ACT_DELETE) continue;
            e->startup_step = "creating the keyspaces and tables";
            if (second)
                return ddl(e, pipe_cql_create_table(pc), setup_what(e, "cannot create the table"),
                           setup_step);
            bool seen = false; /* the keyspace of an earlier target is there */
            for (size_t p = 0; p < i && !seen; p++)
                seen = e->targets[p].pc->create_if_missing &&
                       e->targets[p].pc->action == PIPE_ACT_UPSERT &&
                       strcmp(e->targets[p].pc->keyspace, pc->keyspace) == 0;
            if (seen) continue;
            return ddl(e, pipe_cql_create_keyspace(pc), setup_what(e, "cannot create the keyspace"),
                       setup_step);
        }
        e->startup_step = "preparing the statements";
        e->setup_tomb = second;
        if (second) {
            if (pc->on_tombstone != PIPE_TOMB_DELETE) continue;
            return prepare(e, pipe_cql_delete_key(pc, t->kafka_wts));
        }
        if (pc->action == PIPE_ACT_DELETE) return prepare(e, pipe_cql_delete(pc, t->kafka_wts));
        return prepare(e, t->kafka_wts ? pipe_cql_insert_ts(pc) : pipe_cql_insert(pc));
    }
}

static void on_connected(cql_session *s, const cql_error *err, void *ud)
{
    stream_engine *e = ud;
    (void)s;
    if (err) return fail_start(e, "cannot connect", err);
    e->setup_next = 0;
    setup_step(e);
}

/* ---- timers: offsets, status, metrics --------------------------------------------------- */

/* The offset below which every record of sp is done: the tracker's, or before its first
 * record the group's committed offset it started from. */
static int64_t part_committed(const stream_part *sp)
{
    int64_t c = pipe_offsets_committable(sp->offs);
    return c >= 0 ? c : sp->start_offset;
}

/* Consumer lag of one assigned partition from the cached high watermark; -1 when unknown.
 * `app_pos`: measure from librdkafka's application position when it is further, which steps
 * over transaction markers (they are never handed over, yet count in the high watermark). */
static int64_t part_lag(stream_engine *e, stream_part *sp, bool app_pos)
{
    int64_t pos = sp->position >= 0 ? sp->position : part_committed(sp);
    if (app_pos) {
        int64_t ap = kafka_consumer_position(e->consumer, sp->id);
        if (ap > pos) pos = ap;
    }
    return pos < 0 ? -1 : kafka_consumer_lag(e->consumer, sp->id, pos);
}

/* Consumer lag of the assigned partitions; -1 when unknown. */
static int64_t total_lag(stream_engine *e, bool app_pos)
{
    int64_t lag = 0;
    bool known = false;
    for (size_t i = 0; i < e->nparts; i++) {
        if (!e->parts[i].assigned) continue;
        int64_t l = part_lag(e, &e->parts[i], app_pos);
        if (l >= 0) lag += l, known = true;
    }
    return known ? lag : -1;
}

/* How long --idle-exit waits beyond its own bound while the group still has lag before it
 * calls the stream stuck. */
#define IDLE_STALL_US (30 * 1000000ull)

/* --idle-exit: nothing came for the idle bound and nothing is in flight. Stopping is a success
 * only when no lag is left; with lag, the stream keeps going, and if nothing comes for another
 * IDLE_STALL_US it stops with an error instead of pretending it caught up. */
static void idle_check(stream_engine *e, uint64_t idle_us)
{
    int64_t lag = total_lag(e, true);
    if (lag <= 0) return stream_engine_stop(e, "idle");
    if (idle_us < (uint64_t)(e->o->idle_exit_s * 1e6) + IDLE_STALL_US) {
        if (!e->stalled_warned_us)
            log_warn("stream", "idle, but lag is left: not exiting yet", "lag=%" PRId64, lag);
        e->stalled_warned_us = mono_us();
        return;
    }
    snprintf(e->err, e->errlen,
             "--idle-exit: no record came for %.0f s although %" PRId64
             " records of lag are left: the stream is stuck",
             (double)idle_us / 1e6, lag);
    log_error("stream", "stuck with lag; stopping with an error", "lag=%" PRId64, lag);
    e->exit_code = 1;
    stream_engine_stop(e, "stuck with lag");
}

static void on_store_timer(uv_timer_t *t)
{
    stream_engine *e = t->data;
    stream_engine_sync_clock(e);
    if (e->state == ENGINE_RUNNING || e->state == ENGINE_DRAINING)
        stream_engine_store_all(e, false);
    if (e->state == ENGINE_RUNNING) {
        uint64_t now = mono_us();
        bool idle = e->nfree == e->nslots && e->npending == 0;
        if (!idle || now - e->last_message_us <= (uint64_t)(e->o->idle_exit_s * 1e6))
            e->stalled_warned_us = 0;
        stream_catchup_check(e);
        if (e->state != ENGINE_RUNNING) return;
        if (e->o->max_records && e->finished >= e->o->max_records && idle)
            stream_engine_stop(e, "max records reached");
        else if (e->o->idle_exit_s > 0 && idle &&
                 now - e->last_message_us > (uint64_t)(e->o->idle_exit_s * 1e6))
            idle_check(e, now - e->last_message_us);
    } else if (e->state == ENGINE_DRAINING && mono_us() > e->drain_deadline_us) {
        log_warn("stream", "drain timed out; unfinished records will be read again", "inflight=%zu",
                 e->nslots - e->nfree);
        stream_engine_finish(e);
    }
}

/* The CQL session's counters; zero without a session (--sink null needs no Cassandra). */
static void session_stats(const stream_engine *e, cql_stats *st)
{
    if (e->session)
        cql_session_stats(e->session, st);
    else
        memset(st, 0, sizeof *st);
}

static void log_status(stream_engine *e, bool final)
{
    uint64_t now = mono_us();
    double secs = (double)(now - e->status_us) / 1e6;
    double rate = secs > 0 ? (double)(e->written - e->status_written) / secs : 0;
    cql_stats st;
    session_stats(e, &st);
    size_t by_state[SLOT_DLQ + 1] = {0};
    for (size_t i = 0; i < e->nslots; i++) by_state[e->slots[i].state]++;
    char caught[64] = "";
    if (e->o->until_caught_up && e->catchup_pct >= 0) {
        /* ETA from the rate of this status interval; unknown (-1) while nothing is written. */
        double eta = rate > 0 ? (double)e->catchup_left / rate : -1;
        snprintf(caught, sizeof caught, " caught_up=%d%% eta_s=%.0f", e->catchup_pct, eta);
        if (!final && isatty(STDERR_FILENO)) {
            char when[32] = "unknown";
            if (eta >= 0) snprintf(when, sizeof when, "%d:%02d", (int)(eta / 60), (int)eta % 60);
            fprintf(stderr,
                    "catching up: %d%% (%" PRId64 " of %" PRId64 " records left) %.0f/s ETA %s\n",
                    e->catchup_pct, e->catchup_left, e->catchup_total, rate, when);
        }
    } else if (e->o->until_caught_up)
        snprintf(caught, sizeof caught, " caught_up=unknown");
    log_info("stream", final ? "final" : "status",
             "consumed=%" PRIu64 " written=%" PRIu64 " filtered=%" PRIu64 " dead_lettered=%" PRIu64
             " retries=%" PRIu64 " inflight=%zu writing=%zu waiting=%zu backoff=%zu dlq=%zu"
             " lag=%" PRId64 " rate=%.0f/s write_p50_ms=%.2f write_p99_ms=%.2f hosts_up=%d"
             " requests=%d limit=%.0f rows_per_batch=%.1f batch_splits=%" PRIu64 "%s",
             e->consumed, e->written, e->filtered, e->dead_lettered, e->retries,
             e->nslots - e->nfree, by_state[SLOT_WRITING], by_state[SLOT_BLOCKED],
             by_state[SLOT_BACKOFF], by_state[SLOT_DLQ], e->consumer ? total_lag(e, false) : -1,
             rate, (double)hist_quantile(&e->window_lat, 0.5) / 1000.0,
             (double)hist_quantile(&e->window_lat, 0.99) / 1000.0, st.hosts_up, e->requests,
             e->limit, e->batches ? (double)e->batched_rows / (double)e->batches : 0.0,
             e->batch_splits, caught);
    hist_reset(&e->window_lat);
    e->status_us = now;
    e->status_written = e->written;
}

static void on_status_timer(uv_timer_t *t)
{
    stream_engine *e = t->data;
    if (e->state == ENGINE_RUNNING || e->state == ENGINE_DRAINING) log_status(e, false);
}

/* Per assigned partition (those of the health snapshot): lag, the offset below which every
 * record is done (what the next commit carries) and how long that offset has been stalled, one
 * family after the other (HELP/TYPE once per family). */
static void render_partitions(stream_engine *e, const stream_health_snapshot *h, strbuf *b)
{
    char lbl[320];
    for (int fam = 0; fam < 3; fam++) {
        for (size_t i = 0; i < h->nparts; i++) {
            stream_part *sp = &e->parts[h->parts[i].id];
            snprintf(lbl, sizeof lbl, "topic=\"%s\",partition=\"%d\"", e->o->pipe->topic, sp->id);
            if (fam == 0)
                prom_gauge(b, "rtetl_stream_partition_lag",
                           "Consumer lag of a partition (messages).", lbl,
                           (double)part_lag(e, sp, false));
            else if (fam == 1)
                prom_gauge(b, "rtetl_stream_partition_committed_offset",
                           "Offset below which every record of the partition is written, filtered "
                           "or dead-lettered (committed within a second); -1 none yet.",
                           lbl, (double)part_committed(sp));
            else
                prom_gauge(b, "rtetl_stream_partition_stalled_seconds",
                           "How long the committed offset of a partition has not moved although "
                           "records past it exist (0: moving or nothing to do); /healthz fails "
                           "past --stall-timeout.",
                           lbl, (double)h->parts[i].stalled_us / 1e6);
        }
    }
}

/* Per target, with more than one: rows written, records the target's filter (or its
 * on_tombstone: skip) passed over, dead letters. */
static void render_targets(stream_engine *e, strbuf *b)
{
    char lbl[200];
    for (size_t i = 0; i < e->ntargets && e->ntargets > 1; i++) {
        const stream_target *t = &e->targets[i];
        const struct {
            const char *outcome;
            uint64_t n;
        } o[] = {
            {"written", t->written}, {"skipped", t->skipped}, {"dead_lettered", t->dead_lettered}};
        for (size_t k = 0; k < 3; k++) {
            snprintf(lbl, sizeof lbl, "target=\"%s\",outcome=\"%s\"", t->pc->name, o[k].outcome);
            prom_counter(b, "rtetl_stream_target_records_total",
                         "Records of each pipeline target by outcome (fan-out).", lbl, o[k].n);
        }
    }
}

static void render_dead_letters(stream_engine *e, strbuf *b)
{
    char lbl[128];
    for (size_t i = 0; i < e->ndlq_reasons; i++) {
        snprintf(lbl, sizeof lbl, "reason=\"%s\"", e->dlq_reasons[i].reason);
        prom_counter(b, "rtetl_stream_dead_letters_total", "Dead letters by reason.", lbl,
                     e->dlq_reasons[i].n);
    }
}

/* Per Cassandra host: up or not, and the requests rtetl sent it (where writes are routed). */
static void render_hosts(stream_engine *e, strbuf *b)
{
    int n = e->session ? cql_session_host_count(e->session) : 0;
    char lbl[160];
    for (int fam = 0; fam < 2; fam++) {
        for (int i = 0; i < n; i++) {
            cql_host_info hi;
            if (cql_session_host_info(e->session, i, &hi) != 0) continue;
            snprintf(lbl, sizeof lbl, "host=\"%s\",dc=\"%s\"", hi.addr, hi.dc);
            if (fam == 0)
                prom_gauge(b, "rtetl_cassandra_host_up",
                           "1 while rtetl has a ready connection to the host.", lbl, hi.up);
            else
                prom_counter(b, "rtetl_cassandra_host_requests_total",
                             "Requests sent to the host (writes are routed to a replica of "
                             "their partition that is up; retries included).",
                             lbl, hi.requests);
        }
    }
}

static void render_metrics(stream_engine *e, const stream_health_snapshot *h,
                           const stream_health_verdict *v, bool ready, strbuf *b)
{
    static const char *stage_help = "Records by outcome.";
    char lbl[64];
    const struct {
        const char *stage;
        uint64_t v;
    } stages[] = {{"consumed", e->consumed},
                  {"written", e->written},
                  {"filtered", e->filtered},
                  {"invalid", e->invalid},
                  {"dead_lettered", e->dead_lettered}};
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        snprintf(lbl, sizeof lbl, "stage=\"%s\"", stages[i].stage);
        prom_counter(b, "rtetl_stream_records_total", stage_help, lbl, stages[i].v);
    }
    prom_counter(b, "rtetl_stream_write_retries_total", "Write retries.", "", e->retries);
    prom_counter(b, "rtetl_stream_write_errors_total", "Write errors.", "", e->write_errors);
    prom_gauge(b, "rtetl_stream_inflight", "Records in flight.", "",
               (double)(e->nslots - e->nfree));
    prom_gauge(b, "rtetl_stream_lag", "Consumer lag (messages).", "", (double)total_lag(e, false));
    render_partitions(e, h, b);
    prom_gauge(b, "rtetl_stream_healthy",
               "1 while /healthz answers 200: no partition stalled, Cassandra reachable and "
               "partitions assigned within their bounds.",
               "", v->healthy ? 1 : 0);
    prom_gauge(b, "rtetl_stream_ready",
               "1 while /readyz answers 200: started up, a partition assigned, not stopping.", "",
               ready ? 1 : 0);
    render_dead_letters(e, b);
    render_targets(e, b);
    if (e->o->until_caught_up)
        prom_gauge(b, "rtetl_stream_caught_up_ratio",
                   "--until-caught-up: progress to the high watermarks noted at assignment (1: "
                   "caught up; -1 unknown).",
                   "", e->catchup_pct < 0 ? -1.0 : e->catchup_pct / 100.0);
    prom_counter(b, "rtetl_kafka_fetch_wakeups_total",
                 "Fetcher wake-ups after the prefetch queue ran dry.", "",
                 kafka_consumer_wakeups(e->consumer));
    cql_stats st;
    session_stats(e, &st);
    prom_gauge(b, "rtetl_cassandra_hosts_up", "Cassandra hosts up.", "", st.hosts_up);
    prom_counter(b, "rtetl_cassandra_reconnects_total", "CQL reconnects.", "", st.reconnects);
    render_hosts(e, b);
    prom_summary(b, "rtetl_stream_write_seconds",
                 "Write latency (of a request: a batch or an INSERT).", &e->write_lat, 1e-6);
    prom_gauge(b, "rtetl_stream_write_concurrency_limit",
               "Adaptive limit on write requests in flight (batches and single INSERTs).", "",
               e->limit);
    prom_gauge(b, "rtetl_stream_write_requests_inflight", "Write requests in flight.", "",
               e->requests);
    prom_counter(b, "rtetl_stream_write_limit_cuts_total",
                 "Cuts of the concurrency limit (Overloaded, timeouts, latency over target).", "",
                 e->limit_cuts);
    prom_counter(b, "rtetl_stream_batches_total", "Unlogged batches sent.", "", e->batches);
    prom_counter(b, "rtetl_stream_batch_rows_total", "Rows sent in unlogged batches.", "",
                 e->batched_rows);
    prom_counter(b, "rtetl_stream_batch_splits_total",
                 "Batches that failed for a non-retriable reason and were written row by row.", "",
                 e->batch_splits);
    prom_summary(b, "rtetl_stream_consume_delay_seconds",
                 "Latency from the Kafka message timestamp to the message reaching the stream "
                 "(producer linger, broker, fetch).",
                 &e->consume_lat, 1e-6);
    prom_summary(b, "rtetl_stream_end_to_end_seconds",
                 "Latency from the Kafka message timestamp to the write acknowledgement.",
                 &e->e2e_lat, 1e-6);
}

/* The committed offset of sp for the stall check and the records at or past it (-1 unknown).
 * Before its first record a partition without a group offset counts from librdkafka's
 * position; under --until-caught-up the records past the mark are not its work. */
static void health_part(stream_engine *e, stream_part *sp, uint64_t now, stream_health_part *hp)
{
    int64_t c = part_committed(sp);
    if (c < 0) c = kafka_consumer_position(e->consumer, sp->id);
    int64_t backlog = c < 0 ? -1 : kafka_consumer_lag(e->consumer, sp->id, c);
    if (backlog > 0 && e->o->until_caught_up && sp->mark >= 0)
        backlog = sp->mark > c ? sp->mark - c : 0;
    hp->id = sp->id;
    hp->committed = c;
    hp->backlog = backlog;
    hp->stalled_us = stream_health_watch_update(&sp->health, sp->generation, c, backlog, now);
}

/* Fills the health snapshot (parts: room for e->nparts) and updates the bounds' clocks. */
static void health_snapshot(stream_engine *e, stream_health_part *parts, stream_health_snapshot *h)
{
    uint64_t now = mono_us();
    bool running = e->state == ENGINE_RUNNING && !e->finishing;
    cql_stats st;
    session_stats(e, &st);
    *h = (stream_health_snapshot){
        .running = running,
        .topic = e->o->pipe->topic,
        .parts = parts,
        /* last_error holds Kafka's errors too: not named here. */
        .cassandra_error = strncmp(e->last_error, "kafka:", 6) == 0 ? "" : e->last_error};
    for (size_t i = 0; i < e->nparts; i++) {
        stream_part *sp = &e->parts[i];
        if (sp->assigned && sp->offs) health_part(e, sp, now, &parts[h->nparts++]);
    }
    h->unreachable_us = stream_health_since(&e->unreachable_since_us, running && !st.hosts_up, now);
    /* A source topic that does not exist yet is waited for, not a stuck group: the compose
     * stack's stream starts before the first ingest creates it (/readyz tells it apart). */
    h->unassigned_us = stream_health_since(&e->unassigned_since_us,
                                           running && !h->nparts && !e->topic_missing, now);
}

/* /readyz: true once start-up is done and a partition was assigned, until the stop begins;
 * else what it waits for in `why`. */
static bool readiness(stream_engine *e, char *why, size_t len)
{
    if (e->finishing || e->state == ENGINE_DONE)
        snprintf(why, len, "stopping");
    else if (e->state == ENGINE_DRAINING)
        snprintf(why, len, "stopping: draining %zu records in flight", e->nslots - e->nfree);
    else if (e->state == ENGINE_STARTING || !e->ever_assigned)
        snprintf(why, len, "starting: %s%s%s", e->startup_step ? e->startup_step : "",
                 e->topic_missing ? "; the source topic does not exist yet: " : "",
                 e->topic_missing ? e->o->pipe->topic : "");
    else
        return snprintf(why, len, "ok"), true;
    return false;
}

/* Publishes /metrics, /healthz and /readyz. Before the consumer and the session exist (the
 * blocking Kafka checks of start-up) only the probes: alive, not ready. */
static void publish_probes(stream_engine *e)
{
    char why[300];
    bool ready = readiness(e, why, sizeof why);
    metrics_server_set_ready(e->metrics, ready, why);
    if (!e->consumer || (!e->session && e->o->sink != STREAM_SINK_NULL)) {
        metrics_server_publish(e->metrics, "", 0, true, NULL);
        return;
    }
    stream_health_part *parts = calloc(e->nparts ? e->nparts : 1, sizeof *parts);
    if (!parts) return;
    stream_health_snapshot h;
    stream_health_verdict v;
    health_snapshot(e, parts, &h);
    stream_health_eval(&h, &e->o->health, &v);
    strbuf b = {0};
    render_metrics(e, &h, &v, ready, &b);
    metrics_server_publish(e->metrics, b.data ? b.data : "", b.len, v.healthy, v.reason);
    strbuf_free(&b);
    free(parts);
}

static void on_metrics_timer(uv_timer_t *t)
{
    publish_probes(t->data);
}

/* ---- signals and shutdown --------------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
    stream_engine *e = h->data;
    if (++e->signals > 1) {
        log_error("stream", "second signal: exiting without draining", "signal=%d", signum);
        _exit(1);
    }
    if (e->state == ENGINE_RUNNING)
        stream_engine_stop(e, signum == SIGINT ? "SIGINT" : "SIGTERM");
    else if (e->state == ENGINE_STARTING)
        stream_engine_finish(e);
}

/* ---- the stop watchdog ------------------------------------------------------------------ */

/* Every step of a stop is bounded (the drain by --drain-timeout, the dead letters' flush, the
 * offsets' commit and the group close by the consumer, the CQL close by its own timers), but
 * each bound rests on a library keeping its word, and librdkafka 2.0 has broken such words
 * before (see kafka/consumer.c). A stop that still outlives them all by STOP_GRACE_S ends the
 * process with an error line rather than hang: the offsets committed so far are where the next
 * run resumes, so at worst records after them are written twice, never lost. */
#define STOP_GRACE_S 90

static void *stop_watchdog(void *arg)
{
    struct timespec left = {.tv_sec = (time_t)(uintptr_t)arg, .tv_nsec = 0};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    log_error("stream", "the stop did not finish in time; exiting without it", "waited_s=%ld",
              (long)(uintptr_t)arg);
    _exit(1);
}

void stream_arm_stop_watchdog(const stream_engine *e)
{
    static bool armed;
    if (armed) return;
    armed = true;
    pthread_t t;
    uintptr_t secs = (uintptr_t)e->o->drain_timeout_s + STOP_GRACE_S;
    if (pthread_create(&t, NULL, stop_watchdog, (void *)secs) == 0) pthread_detach(t);
}

static void on_session_closed(cql_session *s, void *ud)
{
    (void)s;
    (void)ud;
}

/* Shutdown order: dead letters first (an acknowledgement that comes during the flush still
 * marks its record done, as the engine is not DONE yet), then the final offsets are stored and
 * committed as the consumer closes; records still in flight are abandoned (read again). */
void stream_engine_finish(stream_engine *e)
{
    if (e->state == ENGINE_DONE || e->finishing) return;
    e->finishing = true;
    stream_arm_stop_watchdog(e);
    if (e->metrics) publish_probes(e); /* not ready any more, from now on */
    bool was_running = e->state != ENGINE_STARTING;
    uv_timer_stop(&e->store_timer);
    uv_timer_stop(&e->ddl_timer);
    uv_timer_stop(&e->status_timer);
    uv_timer_stop(&e->metrics_timer);
    uv_signal_stop(&e->sigint);
    uv_signal_stop(&e->sigterm);
    if (e->dlq) stream_dlq_flush(e->dlq, 10000);
    e->state = ENGINE_DONE;
    uv_timer_stop(&e->defer_timer);
    for (size_t i = 0; i < e->nslots; i++) uv_timer_stop(&e->slots[i].timer);
    if (e->consumer) {
        stream_engine_store_all(e, true);
        if (was_running) kafka_consumer_close(e->consumer);
        kafka_consumer_free(e->consumer, NULL, NULL);
        e->consumer = NULL;
    }
    if (e->dlq) {
        stream_dlq_free(e->dlq);
        e->dlq = NULL;
    }
    if (was_running) log_status(e, true);
    stream_sink_stop(e);
    for (size_t i = 0; i < e->nslots; i++) stream_slot_abandon(e, &e->slots[i]);
    if (e->session) cql_session_close(e->session, on_session_closed, e);
}

/* ---- set-up and tear-down --------------------------------------------------------------- */

/* A compound primary key's tombstones: the Kafka key decodes as a JSON object with a required
 * string member per key column (its text is bound as a field's is). */
static int key_schema(stream_target *t, char *err, size_t errlen)
{
    const pipe_config *pc = t->pc;
    pipe_field f[STREAM_MAX_COLUMNS];
    if (pc->nprimary_key > STREAM_MAX_COLUMNS) return snprintf(err, errlen, "key too long"), -1;
    for (size_t i = 0; i < pc->nprimary_key; i++)
        f[i] = (pipe_field){.name = pc->primary_key[i],
                            .type = PIPE_T_STRING,
                            .required = true,
                            .max_bytes = PIPE_DEFAULT_FIELD_MAX_BYTES};
    if (!(t->key_schema = pipe_schema_new(f, pc->nprimary_key, 0, err, errlen))) return -1;
    if (!(t->key_rec = pipe_record_new(t->key_schema)))
        return snprintf(err, errlen, "out of memory"), -1;
    return 0;
}

static int engine_init(stream_engine *e, const stream_opts *o, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->o = o;
    e->err = err;
    e->errlen = errlen;
    /* Test-only: make tracking this offset fail once, as if out of memory. */
    const char *fail_at = getenv("RTETL_TEST_FAIL_TRACK_AT");
    e->fail_track_at = fail_at ? strtoll(fail_at, NULL, 10) : -1;
    e->catchup_pct = -1;
    uv_loop_init(&e->loop);
    const pipe_config *pc = o->pipe;
    if (pipe_config_compile(pc, &e->schema, &e->filter, err, errlen)) return -1;
    if (pipe_filter_is_trivial(e->filter)) {
        pipe_filter_free(e->filter);
        e->filter = NULL;
    }
    e->ntargets = pipe_config_ntargets(pc);
    if (!(e->targets = calloc(e->ntargets, sizeof *e->targets))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t maxcols = 1;
    for (size_t i = 0; i < e->ntargets; i++) {
        stream_target *t = &e->targets[i];
        t->pc = pipe_config_target(pc, i);
        if (t->pc->ncolumns > STREAM_MAX_COLUMNS) {
            snprintf(err, errlen, "too many columns in target %s (%zu > %d)", t->pc->name,
                     t->pc->ncolumns, STREAM_MAX_COLUMNS);
            return -1;
        }
        if (t->pc->ncolumns > maxcols) maxcols = t->pc->ncolumns;
        if (pipe_config_compile_target(t->pc, e->schema, &t->when, &t->col_exprs, err, errlen))
            return -1;
        int cl = pipe_consistency_parse(t->pc->consistency);
        t->consistency = cl < 0 ? CQL_ONE : (cql_consistency)cl;
        t->kafka_wts = pipe_wts_parse(t->pc->write_timestamp) == PIPE_WTS_KAFKA;
        if (t->pc->on_tombstone != PIPE_TOMB_DLQ) e->tomb_targets = true;
        if (t->pc->on_tombstone == PIPE_TOMB_DELETE && t->pc->nprimary_key > 1 &&
            key_schema(t, err, errlen))
            return -1;
        if (t->pc->nprimary_key > maxcols) maxcols = t->pc->nprimary_key;
    }
    cql_query_opts_init(&e->write_opts);
    e->rec = pipe_record_new(e->schema);
    e->arena = pipe_arena_new(0);
    e->retry_arena = pipe_arena_new(0);
    e->map_arena = pipe_arena_new(0);
    e->values = calloc(maxcols + 1, sizeof *e->values);
    e->scratch = calloc(maxcols, sizeof *e->scratch);
    /* --max-inflight counts records; a record takes a slot per target. */
    e->nslots = e->nfree = o->max_inflight * e->ntargets;
    e->span_limit = o->max_inflight * 64 > 1024 ? o->max_inflight * 64 : 1024;
    e->slots = calloc(e->nslots, sizeof *e->slots);
    if (!e->rec || !e->arena || !e->retry_arena || !e->map_arena || !e->values || !e->scratch ||
        !e->slots) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = e->nslots; i-- > 0;) {
        stream_slot *s = &e->slots[i];
        s->engine = e;
        uv_timer_init(&e->loop, &s->timer);
        s->timer.data = s;
        pipe_retry_init(&s->retry, &pc->retry, (uint64_t)mono_us() ^ (i * 0x9E3779B97F4A7C15ull));
        s->next = e->free_slots;
        e->free_slots = s;
    }
    stream_sink_init(e);
    uv_timer_init(&e->loop, &e->store_timer);
    uv_timer_init(&e->loop, &e->ddl_timer);
    e->ddl_timer.data = e;
    uv_timer_init(&e->loop, &e->status_timer);
    uv_timer_init(&e->loop, &e->metrics_timer);
    uv_timer_init(&e->loop, &e->defer_timer);
    e->defer_timer.data = e;
    uv_signal_init(&e->loop, &e->sigint);
    uv_signal_init(&e->loop, &e->sigterm);
    e->store_timer.data = e->status_timer.data = e->metrics_timer.data = e;
    e->sigint.data = e->sigterm.data = e;
    return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void engine_free(stream_engine *e)
{
    /* Close whatever handles remain (timers, signals), then let the loop finish. */
    uv_walk(&e->loop, close_walk, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    if (e->session) cql_session_free(e->session);
    uv_loop_close(&e->loop);
    for (size_t i = 0; i < e->nparts; i++) pipe_offsets_free(e->parts[i].offs);
    free(e->parts);
    free(e->pending);
    stream_sink_free(e);
    free(e->slots);
    free(e->values);
    free(e->scratch);
    free(e->ddl_stmt);
    pipe_arena_free(e->arena);
    pipe_arena_free(e->retry_arena);
    pipe_arena_free(e->map_arena);
    for (size_t i = 0; i < e->ntargets; i++) {
        pipe_config_free_columns(e->targets[i].col_exprs, e->targets[i].pc->ncolumns);
        pipe_filter_free(e->targets[i].when);
        pipe_record_free(e->targets[i].key_rec);
        pipe_schema_free(e->targets[i].key_schema);
    }
    free(e->targets);
    pipe_record_free(e->rec);
    pipe_filter_free(e->filter);
    pipe_schema_free(e->schema);
}

/* Logs what the session learns about the cluster: a host going down or up (source=client: its
 * connections to rtetl failed or one is ready again; source=server: the control connection's
 * STATUS event, from the server's gossip) and the ring's changes (TOPOLOGY events, after which
 * the session refreshes its token map). Schema events are left out: rtetl's own DDL makes some. */
static void on_cql_event(cql_session *s, const cql_event *ev, void *ud)
{
    (void)s;
    (void)ud;
    if (ev->type == CQL_EVENT_STATUS)
        log_info("stream", "cassandra host", "host=%s state=%s source=%s", ev->host, ev->change,
                 ev->local ? "client" : "server");
    else if (ev->type == CQL_EVENT_TOPOLOGY)
        log_info("stream", "cassandra topology change", "host=%s change=%s", ev->host, ev->change);
}

/* Creates the CQL session and starts the chain connect -> ... -> consume; 0, else 1 with err. */
static int start_cassandra(stream_engine *e, char *err, size_t errlen)
{
    e->startup_step = "connecting to Cassandra";
    e->session = cql_session_new(&e->loop, &e->o->cql, err, errlen);
    if (!e->session) return 1;
    cql_session_set_event_cb(e->session, on_cql_event, e);
    int rc = cql_session_connect(e->session, on_connected, e);
    if (rc != 0) {
        snprintf(err, errlen, "cassandra: cannot connect: %s", cql_strerror(rc));
        return 1;
    }
    return 0;
}

int stream_run(const stream_opts *o, char *err, size_t errlen)
{
    stream_engine *e = malloc(sizeof *e);
    if (!e) return snprintf(err, errlen, "out of memory"), 1;
    int rc = 1;
    if (engine_init(e, o, err, errlen)) goto out;
    if (o->metrics_port >= 0) {
        e->metrics = metrics_server_start(o->metrics_bind, o->metrics_port, err, errlen);
        if (!e->metrics) goto out;
        e->startup_step = "connecting to Kafka";
        publish_probes(e);
        log_info("stream", "serving metrics", "addr=%s:%d", o->metrics_bind,
                 metrics_server_port(e->metrics));
        uv_timer_start(&e->metrics_timer, on_metrics_timer, 0, 1000);
    }
    /* From here a signal is a clean stop (exit 0), also during start-up; one that comes while
     * start_kafka blocks is handled as soon as the loop runs. */
    uv_signal_start(&e->sigint, on_signal, SIGINT);
    uv_signal_start(&e->sigterm, on_signal, SIGTERM);
    if (start_kafka(e)) goto out;
    if (o->sink == STREAM_SINK_NULL) {
        /* Decode, validate and filter only: no Cassandra session, no INSERT to bind. */
        start_consuming(e);
    } else if ((rc = start_cassandra(e, err, errlen)) != 0) {
        goto out;
    }
    uv_timer_start(&e->store_timer, on_store_timer, 100, 100);
    if (o->status_interval_s > 0) {
        uint64_t ms = (uint64_t)(o->status_interval_s * 1000);
        uv_timer_start(&e->status_timer, on_status_timer, ms, ms);
    }
    uv_run(&e->loop, UV_RUN_DEFAULT);
    rc = e->exit_code;
    /* A Kafka security failure (engine.c) stopped the run: it is the one error line. */
    if (rc && !err[0] && e->security_failed) snprintf(err, errlen, "%s", e->last_error);
out:
    if (e->state != ENGINE_DONE && e->state != ENGINE_STARTING) stream_engine_finish(e);
    if (e->consumer) kafka_consumer_free(e->consumer, NULL, NULL);
    if (e->dlq) stream_dlq_free(e->dlq);
    e->consumer = NULL;
    e->dlq = NULL;
    if (e->metrics) metrics_server_stop(e->metrics);
    engine_free(e);
    free(e);
    return rc;
}
