/* The stream's write sink: replica-grouped unlogged batches and the adaptive concurrency limit.
 *
 * DESIGN. Every request costs the node a frame, a parse, a dispatch and a response, whatever
 * it carries; a batch of rows that one replica set owns pays that once and, sent to one of
 * those replicas (token-aware), needs no coordinator hop. So a record that is ready to write
 * is encoded at once into the open batch of its replica set (cql_session_replicas_key: with
 * one node, or RF = nodes, all rows share one), and the batch is sent:
 *  - when it is full (--batch-rows statements, or --batch-bytes of batch size as the server
 *    counts it, estimated by stmt_size: by default 5 KiB, Cassandra's
 *    batch_size_warn_threshold, past which it logs a WARN line for every batch, and far under
 *    batch_size_fail_threshold, 50 KiB; 9 rows of the built-in generator's. Budgeting encoded
 *    bytes instead (4 KiB of them, 11.7 such rows) passed the threshold with nearly every
 *    batch: the server counted 5.25-6 KiB and wrote 30 MB of warnings a minute), or
 *  - before the loop next waits for I/O (a uv_prepare handle), when the concurrency limit has
 *    room; what it sends is written to the sockets at once (cql_session_flush).
 * No timer waits for a batch to fill: a trickle goes out at once, one record per batch, and
 * batches grow only while the writes ahead of them are in flight (self-clocking). The
 * statements carry their own write timestamp (`USING TIMESTAMP ?`, the chain of engine.c),
 * so records of one key keep Kafka's order inside a batch and across batches.
 *
 * At least once stays exact: a batch's records are done only when the batch is acknowledged.
 * A retriable failure (timeout, overloaded, unavailable, lost connection) sends each record
 * back through the engine's backoff, and it joins a new batch when it is due. Any other
 * failure may be one record's fault (an empty key, a value the server refuses): the batch is
 * split down to the record, each written alone (slot->solo), so only the bad one is
 * dead-lettered, with the server's message.
 *
 * Concurrency (AIMD): write requests in flight (batches and single writes) are bounded by a
 * limit that grows by one per round trip while the node answers within --write-latency-target,
 * and shrinks by 30% on Overloaded, on a timeout or on a slower answer, at most once per round
 * trip (answers to requests sent before the last cut do not cut again). It stays between 1 and
 * --max-inflight. Records beyond the limit wait in their batches, then hold their slots, and
 * then the consumer pauses: the backlog stays in Kafka, not in memory. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "stream/engine.h"
#include "util/log.h"

struct stream_batch {
    stream_batch *next;     /* free list or ready queue */
    stream_batch *all_next; /* every batch allocated, for sink_free */
    stream_engine *e;
    cql_batch *stmts;
    uint64_t key; /* replica set and consistency */
    cql_consistency cl;
    uint64_t sent_us;
    size_t n;
    size_t size;          /* the server's count of the batch's size, estimated (stmt_size) */
    stream_slot *slots[]; /* batch_rows entries */
};

#define LIMIT_START 32.0
#define LIMIT_CUT   0.7

static stream_batch *batch_get(stream_engine *e)
{
    stream_batch *b = e->free_batches;
    if (b) {
        e->free_batches = b->next;
    } else {
        b = calloc(1, sizeof *b + e->batch_rows * sizeof b->slots[0]);
        if (!b) return NULL;
        b->stmts = cql_batch_new();
        if (!b->stmts) {
            free(b);
            return NULL;
        }
        b->e = e;
        b->all_next = e->all_batches;
        e->all_batches = b;
    }
    b->next = NULL;
    b->n = 0;
    b->size = 0;
    cql_batch_clear(b->stmts);
    return b;
}

static void batch_put(stream_engine *e, stream_batch *b)
{
    b->n = 0;
    b->next = e->free_batches;
    e->free_batches = b;
}

int stream_sink_init(stream_engine *e)
{
    const stream_opts *o = e->o;
    e->batch_rows = o->batch_rows > 0xFFFF ? 0xFFFF : o->batch_rows;
    e->batch_bytes = o->batch_bytes;
    e->limit_max = (double)o->max_inflight;
    e->lat_target_us = (uint64_t)(o->write_latency_target_s * 1e6);
    e->limit = e->lat_target_us == 0 || LIMIT_START > e->limit_max ? e->limit_max : LIMIT_START;
    uv_prepare_init(&e->loop, &e->sink_prepare);
    e->sink_prepare.data = e;
    return 0;
}

void stream_sink_free(stream_engine *e)
{
    for (stream_batch *b = e->all_batches, *next; b; b = next) {
        next = b->all_next;
        cql_batch_free(b->stmts);
        free(b);
    }
    e->all_batches = e->free_batches = e->ready_head = e->ready_tail = NULL;
    e->nopen = 0;
}

/* Stops sending; the records of unsent batches are abandoned with every slot by the caller. */
void stream_sink_stop(stream_engine *e)
{
    uv_prepare_stop(&e->sink_prepare);
    for (size_t i = 0; i < e->nopen; i++) batch_put(e, e->open[i]);
    e->nopen = 0;
    while (e->ready_head) {
        stream_batch *b = e->ready_head;
        STREAM_FIFO_DROP_HEAD(e->ready_head, e->ready_tail);
        batch_put(e, b);
    }
}

bool stream_sink_has_room(const stream_engine *e)
{
    return e->requests < (int)e->limit;
}

/* ---- the limit -------------------------------------------------------------------------- */

void stream_sink_feedback(stream_engine *e, const cql_error *err, uint64_t sent_us, uint64_t lat_us)
{
    if (e->lat_target_us == 0) return; /* adaptive limit off: --max-inflight only */
    bool congested = err ? err->code == CQL_ERR_OVERLOADED || err->code == CQL_ERR_WRITE_TIMEOUT ||
                               err->code == CQL_E_TIMEOUT
                         : lat_us > e->lat_target_us;
    if (congested) {
        /* One cut per round trip: what was sent before the last cut shows the old limit. */
        if (sent_us <= e->limit_cut_us) return;
        e->limit = e->limit * LIMIT_CUT < 1.0 ? 1.0 : e->limit * LIMIT_CUT;
        e->limit_cut_us = mono_us();
        e->limit_cuts++;
    } else if (!err && e->requests + 1 >= (int)e->limit) {
        /* Grow only a limit in use (+1 per limit's worth of answers: one per round trip). */
        e->limit += 1.0 / e->limit;
        if (e->limit > e->limit_max) e->limit = e->limit_max;
    }
}

/* ---- batches ---------------------------------------------------------------------------- */

static void on_batch(void *ud, const cql_error *err, const cql_result *res)
{
    stream_batch *b = ud;
    stream_engine *e = b->e;
    (void)res;
    e->requests--;
    if (e->state == ENGINE_DONE) {
        for (size_t i = 0; i < b->n; i++) stream_slot_abandon(e, b->slots[i]);
        return batch_put(e, b);
    }
    uint64_t mono = mono_us(), lat = mono - b->sent_us;
    stream_sink_feedback(e, err, b->sent_us, lat);
    if (!err) {
        hist_record(&e->write_lat, lat);
        hist_record(&e->window_lat, lat);
        uint64_t real = stream_real_us(e, mono);
        for (size_t i = 0; i < b->n; i++) stream_write_done(e, b->slots[i], real);
    } else if (cql_error_retriable(err) && err->code != CQL_ERR_SERVER) {
        e->write_errors++;
        stream_note_write_error(e, err);
        for (size_t i = 0; i < b->n; i++) stream_write_retry(e, b->slots[i], err->message);
    } else {
        /* Maybe one record's fault: each goes again alone (as a plain INSERT, which a batch of
         * one row too large for the batch limit also needs), so only a bad one is
         * dead-lettered. */
        e->write_errors++;
        e->batch_splits++;
        log_debug("stream", "batch failed, writing its records one by one",
                  "rows=%zu error=\"%s: %s\"", b->n, cql_strerror(err->code), err->message);
        for (size_t i = 0; i < b->n; i++) {
            b->slots[i]->solo = true;
            stream_write_again(e, b->slots[i]);
        }
    }
    batch_put(e, b);
    stream_engine_unblock(e);
}

/* Sends b; false when no connection has room (b is left to the caller). */
static bool batch_send(stream_engine *e, stream_batch *b)
{
    b->sent_us = mono_us();
    int rc =
        cql_session_send_batch(e->session, b->stmts, CQL_BATCH_UNLOGGED, b->cl, NULL, on_batch, b);
    if (rc == 0) {
        e->requests++;
        e->batches++;
        e->batched_rows += b->n;
        return true;
    }
    if (rc == CQL_E_BACKPRESSURE) return false;
    for (size_t i = 0; i < b->n; i++) {
        stream_slot *s = b->slots[i];
        if (!stream_send_unavailable(e, s, rc)) {
            s->solo = true; /* e.g. too large as one frame: alone, each fits */
            stream_write_again(e, s);
        }
    }
    batch_put(e, b);
    return true;
}

/* Closes open batch i: sent now when the limit has room and nothing waits ahead, else queued. */
static void seal(stream_engine *e, size_t i)
{
    stream_batch *b = e->open[i];
    e->open[i] = e->open[--e->nopen];
    if (!e->ready_head && stream_sink_has_room(e) && batch_send(e, b)) return;
    STREAM_FIFO_PUSH(e->ready_head, e->ready_tail, b);
}

/* Sends what the limit allows: queued full batches first, then the open ones. */
void stream_sink_pump(stream_engine *e)
{
    while (e->ready_head && stream_sink_has_room(e)) {
        stream_batch *b = e->ready_head;
        STREAM_FIFO_DROP_HEAD(e->ready_head, e->ready_tail);
        if (!batch_send(e, b)) {
            STREAM_FIFO_PUSH_FRONT(e->ready_head, e->ready_tail, b);
            return;
        }
    }
    if (e->ready_head) return;
    while (e->nopen > 0 && stream_sink_has_room(e)) {
        stream_batch *b = e->open[e->nopen - 1];
        e->nopen--;
        if (!batch_send(e, b)) {
            STREAM_FIFO_PUSH(e->ready_head, e->ready_tail, b);
            return;
        }
    }
}

static void on_flush(uv_prepare_t *h)
{
    stream_engine *e = h->data;
    if (e->state == ENGINE_DONE || (e->nopen == 0 && !e->ready_head)) return;
    uint64_t before = e->batches;
    stream_sink_pump(e);
    if (e->batches != before) cql_session_flush(e->session);
}

void stream_sink_start(stream_engine *e)
{
    uv_prepare_start(&e->sink_prepare, on_flush);
}

/* What Cassandra counts for one INSERT against batch_size_warn_threshold (BatchStatement sums
 * the mutations' data size): per cell its value plus a timestamp, a TTL and a local deletion
 * time (AbstractCell.dataSize: 8 + 4 + 8 bytes in 5.0), and the row's own timestamp. Every
 * bound value is counted as a cell (the key and the USING TIMESTAMP value are not, which keeps
 * the estimate above the server's: 545 against the 490 it logs for a reference row). */
static size_t stmt_size(const cql_value *values, size_t n)
{
    size_t size = 8;
    for (size_t i = 0; i < n; i++) size += 20 + (values[i].len > 0 ? (size_t)values[i].len : 0);
    return size;
}

int stream_sink_add(stream_engine *e, stream_slot *s, const cql_prepared *p, cql_consistency cl,
                    const cql_value *values, size_t n)
{
    cql_token tok;
    /* A batch has one consistency: targets that differ in it batch apart. */
    uint64_t key = cql_session_replicas_key(e->session, p, values, &tok) * 31 + (uint64_t)cl;
    size_t i = 0;
    while (i < e->nopen && e->open[i]->key != key) i++;
    if (i == e->nopen) {
        /* More replica sets than open batches (a large cluster): the fullest goes first. */
        if (e->nopen == STREAM_OPEN_BATCHES) {
            size_t big = 0;
            for (size_t k = 1; k < e->nopen; k++)
                if (e->open[k]->n > e->open[big]->n) big = k;
            seal(e, big);
        }
        stream_batch *b = batch_get(e);
        if (!b) return CQL_E_NOMEM;
        b->key = key;
        b->cl = cl;
        i = e->nopen++;
        e->open[i] = b;
    }
    stream_batch *b = e->open[i];
    int rc = cql_batch_add(e->session, b->stmts, p, values, n, &tok);
    if (rc) {
        if (b->n == 0) {
            e->open[i] = e->open[--e->nopen];
            batch_put(e, b);
        }
        return rc;
    }
    s->state = SLOT_WRITING;
    b->slots[b->n++] = s;
    b->size += stmt_size(values, n);
    /* Full, or the next row of the average size would pass the size budget. */
    if (b->n >= e->batch_rows || b->size + b->size / b->n > e->batch_bytes) seal(e, i);
    return 0;
}
