/* The `rtetl stream` engine: the record path from Kafka to Cassandra (see stream.h).
 *
 * DESIGN. One libuv loop runs the consumer (kafka/consumer.c), the CQL session, the
 * dead-letter producer, timers and signals; nothing on the record path takes a lock or calls
 * malloc. Every record in flight owns a slot from a fixed pool sized --max-inflight; the slot
 * keeps the Kafka message (so a retry can decode it again), the partition generation, the retry
 * state and a retry timer. The consumer is told how many free slots there are, and pauses its
 * partitions when there are none: that is the backpressure, and it is also what happens while
 * Cassandra is down (every slot waits in backoff).
 *
 * A record leaves its slot when it is written, filtered out, or dead-lettered and the
 * dead-letter write was acknowledged; only then is its offset marked done in the partition's
 * watermark tracker (pipeline/offsets.c), and the tracker's committable offset is stored for
 * librdkafka's commit every 100 ms. So a committed offset never passes a record that is not
 * safely somewhere: at least once. Retriable write errors (timeouts, unavailable, overloaded,
 * lost connections, no host) are retried forever with jittered exponential backoff; the
 * others dead-letter the record with the server's message.
 *
 * Write timestamps (target.write_timestamp: kafka). Writes of one key overlap in flight, are
 * retried, and are replayed after a crash or by a new group, so the order in which Cassandra
 * applies them is not Kafka's. Each write therefore carries its own timestamp, and the cell
 * with the highest one wins. Per partition the timestamps form a chain over the records in
 * offset order: ts = max(previous ts + 1 µs, Kafka timestamp in µs). It is strictly increasing
 * along the partition, so ties (a millisecond holds many records) and a producer clock that
 * runs backwards cannot reorder a key, and it follows the record's own time otherwise. The
 * chain's value at the committed offset is committed with it (offset metadata "rtetl.wts=N"),
 * and whoever resumes the partition continues the chain from there: a resumed or re-assigned
 * partition gives every record the very timestamp of its first pass, so rewriting it changes
 * nothing. A replay with no metadata (a new group) starts the chain lower, and a max-plus chain
 * started lower stays lower: replayed records never win over what the first pass wrote. */
#include "stream/engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka/security.h"
#include "pipeline/json_text.h"
#include "stream/dlq_meta.h"
#include "util/log.h"

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void stream_engine_sync_clock(stream_engine *e)
{
    e->real_offset_us = (int64_t)now_us() - (int64_t)mono_us();
}

uint64_t stream_real_us(const stream_engine *e, uint64_t mono)
{
    return (uint64_t)((int64_t)mono + e->real_offset_us);
}

/* ---- partitions ------------------------------------------------------------------------- */

static stream_part *part_get(stream_engine *e, int32_t p, bool create)
{
    if (p < 0) return NULL;
    if ((size_t)p >= e->nparts) {
        if (!create) return NULL;
        size_t n = (size_t)p + 1;
        stream_part *np = realloc(e->parts, n * sizeof *np);
        if (!np) return NULL;
        memset(np + e->nparts, 0, (n - e->nparts) * sizeof *np);
        e->parts = np;
        e->nparts = n;
    }
    stream_part *sp = &e->parts[p];
    if (!sp->offs && create) {
        /* Small at first: it grows with the records in flight, up to about span_limit. */
        sp->offs = pipe_offsets_new(64);
        if (!sp->offs) return NULL;
        sp->id = p;
    }
    return sp;
}

#define WTS_META "rtetl.wts="

/* The offset metadata committed with a partition's offset: the write-timestamp chain's value
 * for the last record the offset covers. */
static const char *wts_meta(const stream_part *sp, char *buf, size_t len)
{
    int64_t v = pipe_offsets_committable_stamp(sp->offs);
    if (v <= 0) v = sp->wts_seed;
    if (v <= 0) return NULL;
    snprintf(buf, len, WTS_META "%" PRId64, v);
    return buf;
}

static void part_store(stream_engine *e, stream_part *sp, bool force)
{
    int64_t off;
    char meta[KAFKA_COMMIT_META_MAX];
    if (!sp->assigned) return;
    if (pipe_offsets_commit_due(sp->offs, &off)) {
        sp->next_offset = off;
        kafka_consumer_store(e->consumer, sp->id, off, wts_meta(sp, meta, sizeof meta));
    } else if (force && (off = pipe_offsets_committable(sp->offs)) >= 0) {
        kafka_consumer_store(e->consumer, sp->id, off, wts_meta(sp, meta, sizeof meta));
    }
}

/* The chain's seed from the metadata committed with the start offset; 0 when there is none
 * (a new group, or offsets committed by another program). */
static int64_t wts_parse(const rd_kafka_topic_partition_t *t)
{
    size_t n = strlen(WTS_META);
    if (!t->metadata || t->metadata_size <= n || t->metadata_size > 40) return 0;
    char buf[48];
    memcpy(buf, t->metadata, t->metadata_size);
    buf[t->metadata_size] = '\0';
    if (strncmp(buf, WTS_META, n) != 0) return 0;
    char *end;
    long long v = strtoll(buf + n, &end, 10);
    return *end == '\0' && v > 0 ? (int64_t)v : 0;
}

/* The next link of the partition's write-timestamp chain for a record stamped kafka_ms. */
static int64_t wts_next(stream_part *sp, int64_t kafka_ms)
{
    /* Timestamps beyond year ~2262 in µs do not fit; such a record follows the chain. */
    int64_t own = kafka_ms > 0 && kafka_ms < INT64_MAX / 1000 ? kafka_ms * 1000 : 0;
    if (own <= 0 && sp->wts <= 0) own = (int64_t)now_us(); /* no time at all: today's */
    int64_t ts = sp->wts > 0 && sp->wts + 1 > own ? sp->wts + 1 : own;
    sp->wts = ts;
    return ts;
}

/* The partition is no longer ours (revoked or lost): records still in flight are abandoned by
 * the generation change, and its tracker's memory goes. */
static void part_unassign(stream_part *sp)
{
    sp->assigned = false;
    sp->revoking = false;
    sp->stalled = false;
    sp->held = false;
    sp->generation++;
    pipe_offsets_free(sp->offs);
    sp->offs = NULL;
}

/* Bounds a partition's tracker while one record does not finish: the records after it are done
 * but stay tracked behind it, so past span_limit the partition stops taking records (held) until
 * the span is back under half of it. Checked by the store timer. */
static void part_bound_span(stream_engine *e, stream_part *sp)
{
    size_t span = pipe_offsets_inflight(sp->offs);
    if (!sp->held && span >= e->span_limit) {
        sp->held = true;
        log_warn("stream", "partition held: an old record is still in flight",
                 "partition=%d tracked=%zu oldest_offset=%" PRId64, sp->id, span,
                 pipe_offsets_committable(sp->offs));
        kafka_consumer_hold(e->consumer, sp->id, true);
    } else if (sp->held && span < e->span_limit / 2) {
        sp->held = false;
        log_info("stream", "partition resumed", "partition=%d tracked=%zu", sp->id, span);
        /* One past its catch-up mark stays paused. */
        if (!sp->capped) kafka_consumer_hold(e->consumer, sp->id, false);
    }
}

/* ---- slots ------------------------------------------------------------------------------ */

static stream_slot *slot_take(stream_engine *e)
{
    stream_slot *s = e->free_slots;
    if (!s) return NULL;
    e->free_slots = s->next;
    e->nfree--;
    return s;
}

/* Records --max-records still allows, counting those waiting for a slot; UINT64_MAX: no limit. */
static uint64_t records_left(const stream_engine *e)
{
    if (!e->o->max_records) return UINT64_MAX;
    uint64_t taken = e->consumed + e->npending;
    return e->o->max_records > taken ? e->o->max_records - taken : 0;
}

/* Tells the consumer how many messages the engine takes now: free slots not claimed by a
 * waiting message, and no more than --max-records leaves. Called whenever either changes, so
 * the consumer never sits at 0 while slots are free (it pauses its partitions after a while
 * at 0, and only a capacity above 0 resumes them). */
void stream_engine_update_capacity(stream_engine *e)
{
    /* A record takes a slot per target. */
    size_t free_records = e->nfree / e->ntargets;
    size_t cap = free_records > e->npending ? free_records - e->npending : 0;
    uint64_t left = records_left(e);
    if (cap > left) cap = (size_t)left;
    if (e->state != ENGINE_RUNNING) cap = 0;
    /* Under backpressure every answer frees a batch's worth of slots. Handing each such handful
     * to the consumer at once costs a wake-up and a queue round per handful; a consumer that
     * ran dry gets room back once an eighth of the slots (at most 256) is free, or all that is
     * left to read. Enough written records wait in sealed batches meanwhile. */
    size_t chunk = e->nslots / e->ntargets / 8;
    if (chunk > 256) chunk = 256;
    if (e->consumer_dry && cap < chunk && cap < left) cap = 0;
    e->consumer_dry = cap == 0;
    kafka_consumer_set_capacity(e->consumer, cap);
}

static void maybe_finish(stream_engine *e);

/* Releases the revoked partitions once none has a record in flight: their final offsets are
 * stored (librdkafka commits them as it unassigns) and the consumer completes the revoke. */
static void revoke_progress(stream_engine *e)
{
    bool any = false;
    for (size_t i = 0; i < e->nparts; i++) {
        stream_part *sp = &e->parts[i];
        if (!sp->revoking) continue;
        if (pipe_offsets_inflight(sp->offs) > 0) return;
        any = true;
    }
    if (!any) return;
    for (size_t i = 0; i < e->nparts; i++) {
        stream_part *sp = &e->parts[i];
        if (!sp->revoking) continue;
        part_store(e, sp, true);
        part_unassign(sp);
    }
    kafka_consumer_revoke_ready(e->consumer);
}

/* Puts slot s back on the free list. */
static void slot_put(stream_engine *e, stream_slot *s)
{
    s->msg = NULL;
    s->state = SLOT_FREE;
    s->next = e->free_slots;
    e->free_slots = s;
    e->nfree++;
}

/* Releases slot s. `done`: its write is safely somewhere; else it is given up. Its record is
 * finished when the last of its slots is released: its partition advances when every one was
 * done; a record with a slot given up is not marked done, so it is read again. */
static void slot_release(stream_engine *e, stream_slot *s, bool done)
{
    stream_slot *lead = s->lead;
    free(s->detail);
    s->detail = NULL;
    if (!done) lead->given_up = true;
    if (s != lead)
        slot_put(e, s);
    else
        s->state = SLOT_FREE; /* its own write is over; it holds the record for the others */
    if (--lead->left == 0) {
        stream_part *sp = part_get(e, lead->msg->partition, false);
        if (!lead->given_up && sp && sp->generation == lead->generation) {
            pipe_offsets_done(sp->offs, lead->msg->offset);
            if (sp->revoking && pipe_offsets_inflight(sp->offs) == 0) revoke_progress(e);
        }
        if (e->rec_msg == lead->msg) e->rec_msg = NULL;
        rd_kafka_message_destroy(lead->msg);
        slot_put(e, lead);
        e->finished++;
    }
    if (e->state == ENGINE_RUNNING) {
        /* Waiting messages take the slot first, from the loop (not from inside this completion). */
        if (e->npending > 0) uv_timer_start(&e->defer_timer, stream_engine_on_defer, 0, 0);
        stream_engine_update_capacity(e);
    } else {
        maybe_finish(e);
    }
}

static void slot_done(stream_engine *e, stream_slot *s)
{
    slot_release(e, s, true);
}

/* True when the partition of slot s was revoked (or lost, or revoked and assigned again) since
 * its record entered: another consumer may own it and write newer records of the same keys. */
static bool slot_stale(stream_engine *e, const stream_slot *s)
{
    const stream_part *sp = part_get(e, s->msg->partition, false);
    return !sp || !sp->assigned || sp->generation != s->generation;
}

/* After shutdown gave up on a record: release it without marking its offset done, so it is
 * read again by whoever consumes the partition next. Only the lead frees the message. */
void stream_slot_abandon(stream_engine *e, stream_slot *s)
{
    (void)e;
    if (!s->msg) return;
    if (s->lead == s) rd_kafka_message_destroy(s->msg);
    s->msg = NULL;
    free(s->detail);
    s->detail = NULL;
    s->state = SLOT_FREE;
}

/* ---- dead letters ----------------------------------------------------------------------- */

static void dlq_send(stream_engine *e, stream_slot *s);

/* The target a dead letter names: none for a record that failed before the targets (one that
 * did not decode), and none when the pipeline has one target (as before fan-out). */
static const char *slot_target_name(const stream_engine *e, const stream_slot *s)
{
    return e->ntargets > 1 && s->in_target ? e->targets[s->target].pc->name : NULL;
}

/* The successive sizes a dead letter is cut to when it is too large (SIZE_MAX: whole). */
static const struct dlq_cut {
    size_t value, key;
} dlq_cuts[] = {
    {SIZE_MAX, SIZE_MAX}, {256 * 1024, SIZE_MAX}, {16 * 1024, SIZE_MAX}, {16 * 1024, 1024}, {0, 0}};
#define DLQ_LAST_CUT (sizeof dlq_cuts / sizeof dlq_cuts[0] - 1)

static void on_dlq_retry(uv_timer_t *t)
{
    stream_slot *s = t->data;
    dlq_send(s->engine, s);
}

static void dlq_send(stream_engine *e, stream_slot *s)
{
    s->state = SLOT_DLQ;
    /* A record too large for the dead-letter topic goes with its value cut to a size that
     * fits, then its key too, then with neither (headers rtetl.truncated and
     * rtetl.key.truncated say so): a smaller copy beats a partition stuck forever. */
    const struct dlq_cut *cut = &dlq_cuts[s->dlq_cut];
    rd_kafka_resp_err_t err =
        stream_dlq_send(e->dlq, s->msg, e->o->pipe->topic, slot_target_name(e, s), s->reason,
                        s->detail ? s->detail : "(out of memory)", cut->value, cut->key, s);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && s->dlq_cut < DLQ_LAST_CUT) {
        s->dlq_cut++;
        dlq_send(e, s);
    } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
        /* The idempotent producer cannot go on (e.g. the broker lost its state). Stop without
         * committing this record: a restarted process reads it again. */
        stream_engine_on_error(e, err, "dead-letter producer hit a fatal error", true);
        uv_timer_start(&s->timer, on_dlq_retry, 1000, 0);
    } else if (err) {
        /* The producer's queue is full or the broker is away: try again shortly. */
        uv_timer_start(&s->timer, on_dlq_retry, 100, 0);
    }
}

static void dead_letter(stream_engine *e, stream_slot *s, const char *reason, const char *detail)
{
    /* reason is always a static string; the detail is copied (the rare path may allocate). */
    s->reason = reason;
    free(s->detail);
    s->detail = strdup(detail);
    log_debug("stream", "dead-lettering record", "partition=%d offset=%" PRId64 " reason=%s",
              s->msg->partition, s->msg->offset, reason);
    dlq_send(e, s);
}

/* Counts a dead letter under its reason (a static string) for /metrics; past
 * STREAM_DLQ_REASONS distinct reasons, under "other". */
static void count_reason(stream_engine *e, const char *reason)
{
    for (size_t i = 0; i < e->ndlq_reasons; i++) {
        stream_reason_count *r = &e->dlq_reasons[i];
        if (r->reason == reason || strcmp(r->reason, reason) == 0) {
            r->n++;
            return;
        }
    }
    if (e->ndlq_reasons >= STREAM_DLQ_REASONS - 1 && strcmp(reason, "other") != 0)
        return count_reason(e, "other");
    e->dlq_reasons[e->ndlq_reasons++] = (stream_reason_count){reason, 1};
}

void stream_engine_on_dlq_delivered(void *opaque, rd_kafka_resp_err_t err)
{
    stream_slot *s = opaque;
    stream_engine *e = s->engine;
    if (e->state == ENGINE_DONE) return stream_slot_abandon(e, s);
    if (err) {
        if ((err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
             err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE) &&
            s->dlq_cut < DLQ_LAST_CUT)
            s->dlq_cut++;
        if (err == RD_KAFKA_RESP_ERR__FATAL)
            stream_engine_on_error(e, err, "dead-letter producer hit a fatal error", true);
        uv_timer_start(&s->timer, on_dlq_retry, 500, 0);
        return;
    }
    e->dead_lettered++;
    if (s->in_target) e->targets[s->target].dead_lettered++;
    count_reason(e, s->reason);
    slot_done(e, s);
}

/* ---- writes ----------------------------------------------------------------------------- */

static void write_slot(stream_engine *e, stream_slot *s);

void stream_write_again(stream_engine *e, stream_slot *s)
{
    write_slot(e, s);
}

static void on_retry_timer(uv_timer_t *t)
{
    stream_slot *s = t->data;
    write_slot(s->engine, s);
}

static void schedule_retry(stream_engine *e, stream_slot *s, const char *why)
{
    uint64_t delay;
    if (!pipe_retry_next(&s->retry, &delay)) {
        char detail[600];
        snprintf(detail, sizeof detail, "gave up after %u retries: %s", s->retry.attempt, why);
        dead_letter(e, s, "write_retries_exhausted", detail);
        return;
    }
    e->retries++;
    log_debug("stream", "write retry scheduled", "delay_ms=%" PRIu64 " reason=\"%s\"", delay, why);
    s->state = SLOT_BACKOFF;
    uv_timer_start(&s->timer, on_retry_timer, delay, 0);
}

/* A write finished, so a connection has room: resend the records waiting for one. */
void stream_engine_unblock(stream_engine *e)
{
    while (e->blocked_head && e->state != ENGINE_DONE) {
        stream_slot *s = e->blocked_head;
        STREAM_FIFO_DROP_HEAD(e->blocked_head, e->blocked_tail);
        write_slot(e, s);
        if (s->state == SLOT_BLOCKED) break; /* still full: it went back in line */
    }
}

void stream_write_done(stream_engine *e, stream_slot *s, uint64_t t)
{
    if (s->produced_ms > 0 && t / 1000 >= (uint64_t)s->produced_ms)
        hist_record(&e->e2e_lat, t - (uint64_t)s->produced_ms * 1000);
    e->written++;
    e->targets[s->target].written++;
    slot_done(e, s);
}

void stream_write_retry(stream_engine *e, stream_slot *s, const char *why)
{
    schedule_retry(e, s, why);
}

void stream_note_write_error(stream_engine *e, const cql_error *err)
{
    snprintf(e->last_error, sizeof e->last_error, "%s: %s", cql_strerror(err->code), err->message);
}

bool stream_send_unavailable(stream_engine *e, stream_slot *s, int rc)
{
    if (rc != CQL_E_NO_HOST && rc != CQL_E_CLOSED && rc != CQL_E_NOMEM) return false;
    if (rc == CQL_E_NO_HOST)
        snprintf(e->last_error, sizeof e->last_error, "no Cassandra host is up");
    schedule_retry(e, s, cql_strerror(rc));
    return true;
}

void stream_write_failed(stream_engine *e, stream_slot *s, const cql_error *err)
{
    e->write_errors++;
    /* A server error is retriable (a node may fail transiently), but a record the server fails
     * on every time would hold its partition for ever: after a few, it is dead-lettered. */
    bool poison = err->code == CQL_ERR_SERVER && ++s->server_errors >= STREAM_SERVER_ERRORS_MAX;
    if (cql_error_retriable(err) && !poison) {
        stream_note_write_error(e, err);
        schedule_retry(e, s, err->message);
        return;
    }
    char detail[700];
    if (poison) {
        snprintf(detail, sizeof detail, "cassandra %s %u times: %s", cql_strerror(err->code),
                 (unsigned)s->server_errors, err->message);
        return dead_letter(e, s, "write_server_error", detail);
    }
    snprintf(detail, sizeof detail, "cassandra %s: %s", cql_strerror(err->code), err->message);
    dead_letter(e, s, "write_rejected", detail);
}

/* A single INSERT finished. */
static void on_write(void *ud, const cql_error *err, const cql_result *res)
{
    stream_slot *s = ud;
    stream_engine *e = s->engine;
    (void)res;
    e->requests--;
    if (e->state == ENGINE_DONE) return stream_slot_abandon(e, s);
    uint64_t mono = mono_us(), lat = mono - s->sent_us;
    stream_sink_feedback(e, err, s->sent_us, lat);
    if (!err) {
        hist_record(&e->write_lat, lat);
        hist_record(&e->window_lat, lat);
        stream_write_done(e, s, stream_real_us(e, mono));
    } else {
        stream_write_failed(e, s, err);
    }
    stream_engine_unblock(e);
}

/* stream_map_send's code for a mapping expression that failed (no CQL code): the record is
 * dead-lettered as expr_failed, with the column, the expression and the reason in bind_error. */
enum { STREAM_E_EXPR = -1000 };

/* Sends the decoded record of slot s; a send that cannot start waits in backoff, a record that
 * cannot be bound is dead-lettered. */
static void send_record(stream_engine *e, stream_slot *s)
{
    int rc = stream_map_send(e, s);
    if (rc == CQL_E_BACKPRESSURE) {
        /* Every connection is full: wait in line for the next completed write, no backoff. */
        s->state = SLOT_BLOCKED;
        STREAM_FIFO_PUSH(e->blocked_head, e->blocked_tail, s);
    } else if (rc == STREAM_E_EXPR) {
        dead_letter(e, s, "expr_failed", e->bind_error);
    } else if (rc != 0 && !stream_send_unavailable(e, s, rc)) {
        char detail[600];
        snprintf(detail, sizeof detail, "cannot bind record: %s (%s)", cql_strerror(rc),
                 e->bind_error);
        dead_letter(e, s, "bind_failed", detail);
    }
}

/* Decodes the message of slot s into e->rec unless it holds it already; false when out of
 * memory (it decoded when it entered, so only memory can make it fail now). */
static bool slot_decode(stream_engine *e, const stream_slot *s)
{
    const rd_kafka_message_t *m = s->msg;
    pipe_decode_error derr;
    if (s->tomb || e->rec_msg == m) return true;
    pipe_arena_reset(e->retry_arena);
    e->rec_msg = NULL;
    if (pipe_decode(e->schema, m->payload, m->len, e->retry_arena, e->rec, &derr) != PIPE_DEC_OK)
        return false;
    e->rec_msg = m;
    return true;
}

/* Decodes the message of slot s again (its first decode's values are gone) and resends it. */
static void write_slot(stream_engine *e, stream_slot *s)
{
    const rd_kafka_message_t *m = s->msg;
    if (slot_stale(e, s)) {
        /* A late retry would overwrite what the partition's new owner wrote since. */
        log_debug("stream", "abandoning the retry of a record of a revoked partition",
                  "partition=%d offset=%" PRId64, m->partition, m->offset);
        e->abandoned++;
        slot_release(e, s, false);
        return;
    }
    if (!slot_decode(e, s)) {
        schedule_retry(e, s, "out of memory decoding");
        return;
    }
    send_record(e, s);
}

/* kafka.header('x') of a mapping or filter: the last header x of message ud. */
static bool meta_header(const void *ud, const char *name, const void **val, size_t *len)
{
    rd_kafka_headers_t *hdrs;
    rd_kafka_message_t *m = (rd_kafka_message_t *)ud;
    return rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           rd_kafka_header_get_last(hdrs, name, val, len) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void stream_record_meta(const rd_kafka_message_t *m, int64_t produced_ms, pipe_kafka_meta *meta)
{
    *meta = (pipe_kafka_meta){.topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL,
                              .partition = m->partition,
                              .offset = m->offset,
                              .timestamp_ms = produced_ms,
                              .key = m->key,
                              .key_len = m->key_len,
                              .header = meta_header,
                              .header_ud = m};
}

/* Binds text to column c of type ty into *out: a scalar into the column's scratch
 * (cql_value_from_text), a list or set of text, or a map of text to text, from its JSON array
 * or object text into the per-record map arena (pipe_json_items_cql). */
static int bind_text(stream_engine *e, const cql_type *ty, const char *text, size_t len, size_t c,
                     cql_value *out)
{
    if (ty->id != CQL_TYPE_LIST && ty->id != CQL_TYPE_SET && ty->id != CQL_TYPE_MAP)
        return cql_value_from_text(ty, text, len, e->scratch[c], sizeof e->scratch[c], out);
    for (uint16_t i = 0; i < ty->nsub; i++)
        if (ty->sub[i].id != CQL_TYPE_VARCHAR && ty->sub[i].id != CQL_TYPE_ASCII)
            return CQL_E_INVAL;
    size_t n = pipe_json_items_cql(text, len, NULL, 0);
    if (n == PIPE_JSON_NOT_ITEMS || n > INT32_MAX) return CQL_E_INVAL;
    uint8_t *buf = pipe_arena_alloc(e->map_arena, n);
    if (!buf) return CQL_E_NOMEM;
    pipe_json_items_cql(text, len, buf, n);
    *out = (cql_value){buf, (int32_t)n};
    return 0;
}

/* Binds column c of target t into *out (bind marker `marker` of its statement) from its
 * mapping expression: a timestamp or date into a column of that type as is, anything else as
 * its text, parsed for the column's type as a field's text is. An expression that fails (a bad
 * to_timestamp) returns STREAM_E_EXPR with the reason in bind_error. */
static int map_expr(stream_engine *e, const stream_target *t, const pipe_xctx *ctx, size_t c,
                    int marker, cql_value *out)
{
    const pipe_config *pc = t->pc;
    const cql_column *col = cql_prepared_bind_column(t->stmt, marker);
    pipe_xval v;
    if (pipe_expr_eval(t->col_exprs[c], ctx, &v) != 0) {
        char why[160];
        snprintf(why, sizeof why, "%s", ctx->err);
        snprintf(e->bind_error, sizeof e->bind_error, "column %s = %s: %s", pc->columns[c].name,
                 pc->columns[c].field, why);
        return STREAM_E_EXPR;
    }
    if (v.type == PIPE_X_NULL) return *out = cql_value_null(), 0;
    if (v.type == PIPE_X_TIMESTAMP && col->type.id == CQL_TYPE_TIMESTAMP)
        return *out = cql_value_bigint(e->scratch[c], v.i), 0;
    if (v.type == PIPE_X_DATE && col->type.id == CQL_TYPE_DATE && v.i >= INT32_MIN &&
        v.i <= INT32_MAX)
        return *out = cql_value_date(e->scratch[c], (int32_t)v.i), 0;
    const char *text = v.s;
    size_t len = v.n;
    if (v.type != PIPE_X_STRING && !v.text_ok) {
        /* The bound value may borrow its text: format it where it outlives this call. */
        char *buf = pipe_arena_alloc(e->map_arena, 48);
        if (!buf) return CQL_E_NOMEM;
        pipe_xval_text(&v, buf, 48, &text, &len);
    }
    int rc = bind_text(e, &col->type, text ? text : "", len, c, out);
    if (rc != 0)
        snprintf(e->bind_error, sizeof e->bind_error, "column %s = %s", pc->columns[c].name,
                 pc->columns[c].field);
    return rc;
}

/* Binds the mapped columns of target t for the decoded record of s into vals (bind markers
 * from `first` on). */
static int map_columns(stream_engine *e, const stream_target *t, const stream_slot *s,
                       cql_value *vals, int first)
{
    const pipe_config *pc = t->pc;
    pipe_kafka_meta meta;
    char why[160];
    pipe_xctx ctx = {
        .rec = e->rec, .meta = &meta, .scratch = e->map_arena, .err = why, .errlen = sizeof why};
    bool have_meta = false;
    pipe_arena_reset(e->map_arena);
    for (size_t c = 0; c < pc->ncolumns; c++) {
        int marker = first + (int)c;
        if (t->col_exprs[c]) {
            if (!have_meta) stream_record_meta(s->msg, s->produced_ms, &meta), have_meta = true;
            int rc = map_expr(e, t, &ctx, c, marker, &vals[c]);
            if (rc != 0) return rc;
            continue;
        }
        const pipe_value *v = &e->rec->v[pc->columns[c].field_index];
        if (!v->present || v->json_type == PIPE_JSON_NULL) {
            vals[c] = cql_value_null();
            continue;
        }
        const cql_column *col = cql_prepared_bind_column(t->stmt, marker);
        int rc = bind_text(e, &col->type, v->ptr, v->len, c, &vals[c]);
        if (rc != 0) {
            snprintf(e->bind_error, sizeof e->bind_error, "column %s from field %s",
                     pc->columns[c].name, pc->columns[c].field);
            return rc;
        }
    }
    return 0;
}

/* Binds the primary key of t's tombstone DELETE from the Kafka key of s into vals (markers
 * from `first` on): a one-column key is the Kafka key's text; a compound key's Kafka key is a
 * JSON object with a member per key column. */
static int map_key(stream_engine *e, const stream_target *t, const stream_slot *s, cql_value *vals,
                   int first)
{
    const pipe_config *pc = t->pc;
    const rd_kafka_message_t *m = s->msg;
    pipe_decode_error derr;
    pipe_arena_reset(e->map_arena);
    if (t->key_schema && pipe_decode(t->key_schema, m->key, m->key_len, e->map_arena, t->key_rec,
                                     &derr) != PIPE_DEC_OK) {
        char why[100];
        pipe_decode_describe(t->key_schema, &derr, why, sizeof why);
        snprintf(e->bind_error, sizeof e->bind_error,
                 "tombstone key: not a JSON object of the primary key columns: %s", why);
        return CQL_E_INVAL;
    }
    for (size_t i = 0; i < pc->nprimary_key; i++) {
        /* One column: the key as it is; a compound key: its decoded members. */
        const pipe_value *v = t->key_schema ? &t->key_rec->v[i] : NULL;
        const cql_column *col = cql_prepared_bind_column(t->tomb, first + (int)i);
        int rc =
            bind_text(e, &col->type, v ? v->ptr : m->key, v ? v->len : m->key_len, i, &vals[i]);
        if (rc != 0) {
            snprintf(e->bind_error, sizeof e->bind_error, "primary key %s from the Kafka key",
                     pc->primary_key[i]);
            return rc;
        }
    }
    return 0;
}

int stream_map_send(stream_engine *e, stream_slot *s)
{
    stream_target *t = &e->targets[s->target];
    if (!t->stmt) { /* --sink null without Cassandra: no column types to bind into */
        e->written++;
        t->written++;
        slot_done(e, s);
        return 0;
    }
    /* A DELETE's timestamp marker comes first (USING TIMESTAMP ? WHERE ...), an INSERT's last. */
    const cql_prepared *p = s->tomb ? t->tomb : t->stmt;
    bool ts_first = t->kafka_wts && (s->tomb || t->pc->action == PIPE_ACT_DELETE);
    int first = ts_first ? 1 : 0, rc;
    size_t n;
    if (s->tomb) {
        rc = map_key(e, t, s, e->values + first, first);
        n = t->pc->nprimary_key;
    } else {
        rc = map_columns(e, t, s, e->values + first, first);
        n = t->pc->ncolumns;
    }
    if (rc != 0) return rc;
    if (e->o->sink == STREAM_SINK_NULL) {
        e->written++;
        t->written++;
        slot_done(e, s);
        return 0;
    }
    if (t->kafka_wts) e->values[ts_first ? 0 : n] = cql_value_bigint(e->wts_scratch, s->wts);
    n += t->kafka_wts ? 1 : 0;
    if (e->batch_rows > 1 && !s->solo)
        return stream_sink_add(e, s, p, t->consistency, e->values, n);
    if (!stream_sink_has_room(e)) return CQL_E_BACKPRESSURE;
    s->state = SLOT_WRITING;
    s->sent_us = mono_us();
    rc = cql_session_execute_opts(e->session, p, e->values, n, t->consistency, &e->write_opts,
                                  on_write, s);
    if (rc == 0) e->requests++;
    return rc;
}

/* ---- the record path -------------------------------------------------------------------- */

/* Test-only fault injection: RTETL_TEST_FAIL_TRACK_AT=OFFSET makes the first track of that
 * offset fail as if out of memory (see engine_init). */
static pipe_off_err track(stream_engine *e, stream_part *sp, int64_t offset)
{
    if (e->fail_track_at >= 0 && offset == e->fail_track_at) {
        e->fail_track_at = -1;
        return PIPE_OFF_NO_MEMORY;
    }
    return pipe_offsets_track(sp->offs, offset);
}

/* Drops the waiting messages of partition p, keeping the others in order; returns the lowest
 * offset dropped, or `lowest` when that is lower. */
static int64_t purge_pending(stream_engine *e, int32_t p, int64_t lowest)
{
    size_t kept = 0;
    for (size_t i = 0; i < e->npending; i++) {
        rd_kafka_message_t *m = e->pending[(e->pending_head + i) % e->pending_cap];
        if (m->partition == p) {
            if (m->offset < lowest) lowest = m->offset;
            rd_kafka_message_destroy(m);
        } else {
            e->pending[(e->pending_head + kept++) % e->pending_cap] = m;
        }
    }
    e->npending = kept;
    return lowest;
}

/* Message m could not be taken in (no memory to track or queue it). Untracked, it would let the
 * watermark pass it while later records of its partition are committed, so the partition stops
 * here: rewound to m and paused, everything of it after m dropped (waiting messages too) until
 * the store timer rewinds it again and resumes it (part_unstall). */
static void part_stall(stream_engine *e, stream_part *sp, rd_kafka_message_t *m)
{
    if (!sp->stalled) {
        sp->stalled = true;
        /* Waiting messages of the partition are not tracked yet either: read again too. */
        sp->stall_offset = purge_pending(e, sp->id, m->offset);
        log_warn("stream", "out of memory taking a record in; reading its partition again",
                 "partition=%d offset=%" PRId64, m->partition, sp->stall_offset);
        kafka_consumer_seek(e->consumer, sp->id, sp->stall_offset, true);
    }
    rd_kafka_message_destroy(m);
}

static void part_unstall(stream_engine *e, stream_part *sp)
{
    sp->stalled = false;
    if (sp->assigned && !sp->revoking)
        kafka_consumer_seek(e->consumer, sp->id, sp->stall_offset, false);
}

/* Filter f's verdict on the decoded record of s, with its Kafka metadata. */
static bool filter_keeps(stream_engine *e, const pipe_filter *f, const stream_slot *s)
{
    pipe_kafka_meta meta;
    stream_record_meta(s->msg, s->produced_ms, &meta);
    pipe_arena_reset(e->map_arena);
    pipe_xctx ctx = {.rec = e->rec, .meta = &meta, .scratch = e->map_arena};
    return pipe_filter_eval_ctx(f, &ctx);
}

/* Starts the write of slot s to its target: skipped when the target's own filter does not take
 * it, and for a tombstone what the target's on_tombstone says. */
static void target_start(stream_engine *e, stream_slot *s, int only)
{
    stream_target *t = &e->targets[s->target];
    s->in_target = true;
    if (only >= 0 && only != s->target) { /* a replay for another target */
        t->skipped++;
        return slot_done(e, s);
    }
    if (s->tomb) {
        if (t->pc->on_tombstone == PIPE_TOMB_DELETE) return send_record(e, s);
        if (t->pc->on_tombstone == PIPE_TOMB_DLQ) {
            char detail[300];
            snprintf(detail, sizeof detail,
                     "a tombstone (a key and no value); target %s has on_tombstone: dlq",
                     t->pc->name);
            e->invalid++;
            return dead_letter(e, s, pipe_decode_reason(PIPE_DEC_EMPTY), detail);
        }
        t->skipped++;
        return slot_done(e, s);
    }
    if (t->when && !filter_keeps(e, t->when, s)) {
        t->skipped++;
        return slot_done(e, s);
    }
    send_record(e, s);
}

/* Readies slot c for the write of lead's record to target k: a fresh retry and dead-letter
 * state; the record's own state (message, partition generation, times, tombstone) is the
 * lead's. */
static void write_begin(stream_engine *e, stream_slot *c, stream_slot *lead, size_t k)
{
    if (c != lead) {
        c->msg = lead->msg;
        c->generation = lead->generation;
        c->produced_ms = lead->produced_ms;
        c->wts = lead->wts;
        c->tomb = lead->tomb;
    }
    c->engine = e;
    c->lead = lead;
    c->target = (uint8_t)k;
    c->in_target = false;
    pipe_retry_reset(&c->retry);
    c->dlq_cut = 0;
    c->server_errors = 0;
    c->solo = false;
}

/* The target a replayed dead letter is for (header rtetl.replay.target, see dlq_meta.h), or
 * -1: every target. */
static int replay_target(const stream_engine *e, const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h;
    const void *v;
    size_t n;
    if (e->ntargets < 2 || rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, STREAM_DLQ_REPLAY_TARGET, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    for (size_t k = 0; k < e->ntargets; k++) {
        const char *name = e->targets[k].pc->name;
        if (v && strlen(name) == n && memcmp(name, v, n) == 0) return (int)k;
    }
    return -1; /* a target since renamed or removed: every target, as any record */
}

/* Fans the record of lead slot s out to every target: one slot each (the lead writes the
 * first). The record's slots are all counted before the first write starts, since a write
 * may finish at once. Each write after the first checks that e->rec still holds this record
 * (a send can complete and resend other records, which decode theirs). */
static void fan_out(stream_engine *e, stream_slot *s)
{
    int only = replay_target(e, s->msg);
    stream_slot *subs[PIPE_MAX_TARGETS];
    subs[0] = s;
    for (size_t k = 1; k < e->ntargets; k++) write_begin(e, subs[k] = slot_take(e), s, k);
    s->left = (uint8_t)e->ntargets;
    for (size_t k = 0; k < e->ntargets; k++) {
        if (k > 0 && !slot_decode(e, subs[k])) {
            subs[k]->in_target = true;
            schedule_retry(e, subs[k], "out of memory decoding");
            continue;
        }
        target_start(e, subs[k], only);
    }
}

/* Takes one message through decode, validate and filter into its targets' writes, a dead
 * letter or done. */
static void process(stream_engine *e, rd_kafka_message_t *m)
{
    stream_part *sp = part_get(e, m->partition, false);
    if (!sp || !sp->assigned || sp->revoking) {
        /* Not ours any more: whoever owns the partition now reads it again. */
        rd_kafka_message_destroy(m);
        return;
    }
    if (!sp->stalled && !stream_catchup_admit(e, sp, m)) return;
    if (sp->stalled || track(e, sp, m->offset) != PIPE_OFF_OK) return part_stall(e, sp, m);
    stream_slot *s = slot_take(e);
    write_begin(e, s, s, 0);
    s->msg = m;
    s->left = 1;
    s->given_up = false;
    s->generation = sp->generation;
    rd_kafka_timestamp_type_t tstype;
    s->produced_ms = rd_kafka_message_timestamp(m, &tstype);
    uint64_t now = e->take_real_us;
    if (s->produced_ms > 0 && now / 1000 >= (uint64_t)s->produced_ms)
        hist_record(&e->consume_lat, now - (uint64_t)s->produced_ms * 1000);
    s->wts = wts_next(sp, s->produced_ms);
    pipe_offsets_stamp_last(sp->offs, s->wts);
    sp->position = m->offset + 1;
    e->consumed++;

    /* A tombstone goes to the targets that take one; with none, it fails to decode as before. */
    s->tomb = !m->payload && m->key && e->tomb_targets;
    if (s->tomb) return fan_out(e, s);
    pipe_decode_error derr;
    e->rec_msg = NULL;
    pipe_decode_err rc = pipe_decode(e->schema, m->payload, m->len, e->arena, e->rec, &derr);
    if (rc != PIPE_DEC_OK) {
        char detail[512];
        pipe_decode_describe(e->schema, &derr, detail, sizeof detail);
        e->invalid++;
        dead_letter(e, s, pipe_decode_reason(rc), detail);
        return;
    }
    e->rec_msg = m;
    if (e->filter && !filter_keeps(e, e->filter, s)) {
        e->filtered++;
        slot_done(e, s);
        return;
    }
    fan_out(e, s);
}

/* Notes the time of a batch of messages taken now (one clock read for all of them). */
static void taking(stream_engine *e)
{
    e->last_message_us = mono_us();
    e->take_real_us = stream_real_us(e, e->last_message_us);
}

static void drain_pending(stream_engine *e)
{
    if (e->npending == 0) return;
    taking(e);
    while (e->npending > 0 && e->nfree >= e->ntargets && e->state == ENGINE_RUNNING) {
        rd_kafka_message_t *m = e->pending[e->pending_head];
        e->pending_head = (e->pending_head + 1) % e->pending_cap;
        e->npending--;
        process(e, m);
    }
    stream_engine_update_capacity(e);
}

/* Work deferred to the loop from a completion callback: taking waiting messages, and
 * finishing once the drain is over (finishing flushes and destroys the dead-letter producer,
 * which must never happen inside that producer's own delivery callback). */
void stream_engine_on_defer(uv_timer_t *t)
{
    stream_engine *e = t->data;
    if (e->state == ENGINE_RUNNING) drain_pending(e);
    if (e->state == ENGINE_DRAINING && e->nfree == e->nslots) stream_engine_finish(e);
}

/* No memory to queue m: stall its partition, or drop m when the partition is not ours. */
static void pending_failed(stream_engine *e, stream_part *sp, rd_kafka_message_t *m)
{
    if (sp && sp->assigned && !sp->revoking)
        part_stall(e, sp, m);
    else
        rd_kafka_message_destroy(m);
}

static int pending_push(stream_engine *e, rd_kafka_message_t *m)
{
    if (e->npending == e->pending_cap) {
        size_t cap = e->pending_cap ? e->pending_cap * 2 : 256;
        rd_kafka_message_t **np = malloc(cap * sizeof *np);
        if (!np) return -1;
        for (size_t i = 0; i < e->npending; i++)
            np[i] = e->pending[(e->pending_head + i) % e->pending_cap];
        free(e->pending);
        e->pending = np;
        e->pending_cap = cap;
        e->pending_head = 0;
    }
    e->pending[(e->pending_head + e->npending) % e->pending_cap] = m;
    e->npending++;
    return 0;
}

void stream_engine_on_messages(void *ud, rd_kafka_message_t **msgs, size_t n)
{
    stream_engine *e = ud;
    pipe_arena_reset(e->arena);
    e->rec_msg = NULL; /* what rec held pointed into the arena */
    taking(e);
    for (size_t i = 0; i < n; i++) {
        if (records_left(e) == 0) {
            /* Past --max-records (the first batch can be larger than the capacity asked for):
             * not tracked, and nothing after it is taken either, so read again later. */
            rd_kafka_message_destroy(msgs[i]);
        } else if (e->npending == 0 && e->nfree >= e->ntargets && e->state == ENGINE_RUNNING) {
            process(e, msgs[i]);
        } else if (e->state != ENGINE_RUNNING) {
            /* Shutting down: not tracked, so not committed; read again later. */
            rd_kafka_message_destroy(msgs[i]);
        } else {
            stream_part *sp = part_get(e, msgs[i]->partition, false);
            if (sp && sp->stalled)
                rd_kafka_message_destroy(msgs[i]); /* read again from where it stalled */
            else if (pending_push(e, msgs[i]) != 0)
                pending_failed(e, sp, msgs[i]);
        }
    }
    stream_engine_update_capacity(e);
}

void stream_engine_on_assign(void *ud, const rd_kafka_topic_partition_list_t *parts)
{
    stream_engine *e = ud;
    for (int i = 0; i < parts->cnt; i++) {
        stream_part *sp = part_get(e, parts->elems[i].partition, true);
        if (!sp) continue;
        pipe_offsets_reset(sp->offs);
        sp->wts = sp->wts_seed = wts_parse(&parts->elems[i]);
        sp->generation++;
        sp->assigned = true;
        sp->revoking = false;
        sp->stalled = false;
        sp->held = false;
        sp->next_offset = -1;
        sp->position = -1;
        sp->start_offset = parts->elems[i].offset >= 0 ? parts->elems[i].offset : -1;
        stream_catchup_on_assign(e, sp, &parts->elems[i]);
    }
}

bool stream_engine_on_revoke(void *ud, const rd_kafka_topic_partition_list_t *parts, bool lost)
{
    stream_engine *e = ud;
    size_t busy = 0;
    /* Once finishing, nothing will complete a deferred revoke (and closing the consumer waits
     * for it): release at once. Records still in flight are abandoned, their offsets not
     * committed, so they are read again. */
    bool now = e->state == ENGINE_DONE;
    for (int i = 0; i < parts->cnt; i++) {
        stream_part *sp = part_get(e, parts->elems[i].partition, false);
        if (!sp || !sp->assigned) continue;
        /* Also when lost: nothing is committed then, but the consumer keeps the offset in case
         * the partition comes back to this member (kafka/consumer.c, lost partitions). */
        part_store(e, sp, true);
        if (lost || now || pipe_offsets_inflight(sp->offs) == 0) {
            part_unassign(sp);
            continue;
        }
        sp->revoking = true;
        busy++;
    }
    if (busy) {
        log_info("stream", "draining revoked partitions before releasing them", "partitions=%zu",
                 busy);
        return false;
    }
    return true;
}

void stream_engine_on_error(void *ud, rd_kafka_resp_err_t err, const char *reason, bool fatal)
{
    stream_engine *e = ud;
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
        log_warn("stream", "source topic does not exist yet; waiting for it", "topic=%s",
                 e->o->pipe->topic);
        return;
    }
    char line[512];
    if (kafka_security_error(err, reason,
                             err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED
                                 ? e->o->pipe->group
                                 : e->o->pipe->topic,
                             line, sizeof line)) {
        /* Permanent until the user or the ACLs change: stop with this one line. */
        if (!e->security_failed) snprintf(e->last_error, sizeof e->last_error, "%s", line);
        log_debug("stream", "kafka security failure", "error=\"%s\"", reason);
        e->security_failed = true;
        e->exit_code = 1;
        stream_engine_stop(e, "kafka security failure");
        return;
    }
    snprintf(e->last_error, sizeof e->last_error, "kafka: %s", reason);
    if (fatal) {
        log_error("stream", "fatal kafka error", "error=\"%s\"", reason);
        e->exit_code = 1;
        stream_engine_stop(e, "fatal kafka error");
    } else {
        log_warn("stream", "kafka error", "error=\"%s\"", reason);
    }
}

/* Called after revocations finish and on the periodic store timer. */
void stream_engine_store_all(stream_engine *e, bool final)
{
    /* Normally completions unblock waiting records; this catches a connection that had room
     * again without completing anything (e.g. it reconnected). */
    if (!final) stream_engine_unblock(e);
    for (size_t i = 0; i < e->nparts; i++) {
        stream_part *sp = &e->parts[i];
        if (sp->offs && sp->assigned && (final || !sp->revoking)) part_store(e, sp, final);
        if (final || !sp->assigned || e->state != ENGINE_RUNNING) continue;
        if (sp->stalled) part_unstall(e, sp);
        part_bound_span(e, sp);
    }
    if (!final && e->state == ENGINE_RUNNING) drain_pending(e);
}

/* ---- shutdown --------------------------------------------------------------------------- */

/* The drain is over when every slot is free; finish from the loop, not from the completion
 * (a write or dead-letter callback) that freed the last slot. */
static void maybe_finish(stream_engine *e)
{
    if (e->state != ENGINE_DRAINING) return;
    if (e->nfree < e->nslots) return;
    uv_timer_start(&e->defer_timer, stream_engine_on_defer, 0, 0);
}

void stream_engine_stop(stream_engine *e, const char *why)
{
    if (e->state != ENGINE_RUNNING) return;
    log_info("stream", "stopping: draining in-flight records", "reason=\"%s\" inflight=%zu", why,
             e->nslots - e->nfree);
    e->state = ENGINE_DRAINING;
    stream_arm_stop_watchdog(e);
    kafka_consumer_set_capacity(e->consumer, 0);
    /* Records waiting for a slot were never tracked: drop them, they are read again later. */
    while (e->npending > 0) {
        rd_kafka_message_destroy(e->pending[e->pending_head]);
        e->pending_head = (e->pending_head + 1) % e->pending_cap;
        e->npending--;
    }
    e->drain_deadline_us = mono_us() + (uint64_t)(e->o->drain_timeout_s * 1e6);
    maybe_finish(e);
}
