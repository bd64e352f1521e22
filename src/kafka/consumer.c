/* Kafka group consumer on a libuv loop (see consumer.h).
 *
 * DESIGN: librdkafka forwards everything (messages, rebalances, errors) to the consumer queue,
 * and writes one byte into a pipe when that queue goes from empty to non-empty. The loop polls
 * the pipe; on wake-up, and whenever the handler says it has room again, `pump` takes batches
 * off the queue until it is empty or the handler's capacity is used up. Because the wake-up
 * only fires on the empty -> non-empty edge, a pump that stops early (capacity 0) must be
 * restarted explicitly, which set_capacity does through an idle handle. While the handler is
 * full, messages simply wait in librdkafka's bounded prefetch queue; only when it stays full for
 * PAUSE_AFTER_MS are the partitions paused, so that a timer can serve the queue every 100 ms
 * (rebalances, errors) and the consumer keeps its place in the group (max.poll.interval.ms).
 *
 * Revocation: the handler may ask to finish in-flight work first. The revoked partitions are
 * then paused and the unassign call is deferred until the handler is ready or the drain bound
 * passes; offsets stored before that are committed (synchronously) just before the unassign.
 *
 * Commits: the handler stores an offset with a metadata string per partition, and the consumer
 * commits them itself (with each statistics event while the group is steady, see on_stats; on
 * revoke; at close) with rd_kafka_commit and an
 * explicit list, because librdkafka up to 2.0 drops the metadata of stored offsets. On assign,
 * the committed offsets and their metadata are read (rd_kafka_committed) and handed to the
 * handler, and the partitions are assigned at exactly those offsets.
 *
 * Lost partitions: a revocation with the assignment lost commits nothing (another member may
 * own them already), so the group's offset can lag what this member had finished. librdkafka
 * up to 2.9 declares the assignment lost whenever a commit comes back ILLEGAL_GENERATION, and
 * the periodic commit does when it is queued behind this member's JoinGroup at the start of a
 * rebalance (the statistics' "steady" is as old as the queue in front of them; librdkafka
 * issue #4059, fixed in 2.10), after which every partition restarted from the previous periodic
 * commit (measured: 2,899 records read twice when the other member had just left). So the
 * offset stored for a lost partition is kept (`orphan`): everything below it is finished. When
 * the partition is assigned to this member again with an older committed offset, it resumes
 * from there, with that offset's metadata, and commits it (kafka_consumer_store semantics).
 *
 * Fetch wake-up: once the prefetch queue passes queued.max.messages.kbytes, librdkafka up to
 * 2.0 decides to fetch again only when its broker thread next wakes up, which without other
 * traffic is once a second (librdkafka issue #2879; 2.1 added fetch.queue.backoff.ms). A
 * handler that empties the queue in less than that then sits idle, and a drain ran at a
 * fraction of the database's speed. So when the queue runs dry while the handler has room and
 * the broker is known to hold more (cached high watermark past our position), `maybe_wake`
 * asks the partition leader for its watermarks from a thread of its own: the request wakes
 * that broker thread, which re-checks its queue and fetches.
 *
 * Stopping never waits for ever on librdkafka: the group close is bounded (kafka_consumer_close;
 * rd_kafka_consumer_close never returns while the coordinator is unreachable) and so is the
 * wait for a wake-up query at destroy (rd_kafka_query_watermark_offsets up to 2.2 can block
 * past its timeout). */
#include "kafka/consumer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define BATCH           512
#define DRAIN_BOUND_MS  10000
#define PAUSE_AFTER_MS  2000
#define WAKE_FAST_MS    5      /* least gap between wake-ups while a batch or more is waiting */
#define WAKE_SLOW_MS    200    /* ... while fewer messages are (a fetch is usually under way) */
#define WAKE_WAIT_MS    5000   /* bound on one watermark query (librdkafka may overrun it) */
#define WAKER_JOIN_S    6      /* wait for a running wake-up query at destroy */
#define COMMIT_MS_STR   "1000" /* statistics.interval.ms: the periodic commit's pace */
#define SYNC_COMMIT_MS  10000  /* bound on a synchronous commit or committed-offset fetch */
#define CLOSE_BOUND_MS  20000  /* bound on kafka_consumer_close, its commits included */
#define REJOIN_BOUND_MS 8000   /* ... of which the final commit may wait for a rejoin */

typedef struct consumer_part {
    int64_t next;   /* offset after the last message handed over; -1 when not consuming it */
    int64_t commit; /* offset stored for the next commit, -1 none */
    bool dirty;     /* commit/meta not committed yet */
    bool held;      /* paused by kafka_consumer_hold: a general resume leaves it paused */
    char meta[KAFKA_COMMIT_META_MAX];
    int64_t orphan; /* offset stored when the partition was lost, -1 none (see the header) */
    char orphan_meta[KAFKA_COMMIT_META_MAX];
} consumer_part;

struct kafka_consumer {
    uv_loop_t *loop;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    char *topic;
    kafka_consumer_handler h;
    void *ud;
    int pipefd[2];
    uv_poll_t poll;
    uv_idle_t kick;
    uv_timer_t tick;
    size_t capacity;
    uint64_t full_since; /* loop time when capacity last dropped to 0 */
    bool paused;
    bool cooperative;
    rd_kafka_topic_partition_list_t *pending_revoke; /* deferred unassign, or NULL */
    bool revoke_lost;                                /* ... of partitions already lost */
    bool rejoining; /* the assignment was lost; librdkafka rejoins, no assign callback yet */
    uint64_t revoke_deadline;
    consumer_part *parts; /* indexed by partition number */
    size_t nparts;
    /* The wake-up thread (see maybe_wake): started on first use, joined by destroy. */
    pthread_t waker;
    bool waker_started;
    pthread_mutex_t wake_mu; /* guards wake_req and wake_quit */
    pthread_cond_t wake_cv;
    int32_t wake_req; /* partition to query, -1 none; the thread resets it when done */
    bool wake_quit;   /* set by kafka_consumer_free: the thread ends, wake_async is closing */
    uv_async_t wake_async;
    bool waking;             /* a wake-up query is asked for or running */
    bool closed;             /* kafka_consumer_close was called: no more wake-ups */
    uint64_t close_deadline; /* uv_hrtime() in ms past which the close stops waiting, 0 none */
    bool close_abandoned;    /* the group close did not finish in time: destroy skips it */
    uint64_t assigns;        /* assignment callbacks served so far */
    uint64_t wake_last;
    size_t wake_from; /* round-robin start of the lagging-partition search */
    uint64_t wakeups;
    int closing_handles;
    void (*freed)(void *);
    void *freed_ud;
};

/* The state of a partition, grown on first sight (allocation only then); NULL on failure. */
static consumer_part *part_at(kafka_consumer *c, int32_t partition)
{
    if (partition < 0) return NULL;
    if ((size_t)partition >= c->nparts) {
        size_t n = (size_t)partition + 1;
        consumer_part *np = realloc(c->parts, n * sizeof *np);
        if (!np) return NULL;
        for (size_t i = c->nparts; i < n; i++)
            np[i] = (consumer_part){.next = -1,
                                    .commit = -1,
                                    .dirty = false,
                                    .held = false,
                                    .meta = "",
                                    .orphan = -1,
                                    .orphan_meta = ""};
        c->parts = np;
        c->nparts = n;
    }
    return &c->parts[partition];
}

static void destroy(kafka_consumer *c);

/* The wake-up queries run on a thread of their own, not in libuv's pool: librdkafka up to 2.2
 * can block in rd_kafka_query_watermark_offsets far past its timeout, for ever when the broker
 * stops answering (librdkafka issue #2588), and a pool request still running keeps uv_run from
 * returning, so a stop hung with it. A thread that does not end in time is left behind at
 * destroy (see there). */
static void *waker_main(void *arg)
{
    kafka_consumer *c = arg;
    pthread_mutex_lock(&c->wake_mu);
    for (;;) {
        while (c->wake_req < 0 && !c->wake_quit) pthread_cond_wait(&c->wake_cv, &c->wake_mu);
        if (c->wake_quit) break;
        int32_t part = c->wake_req;
        pthread_mutex_unlock(&c->wake_mu);
        int64_t lo, hi;
        /* Only the request matters (its answer also refreshes the cached watermarks). */
        (void)rd_kafka_query_watermark_offsets(c->rk, c->topic, part, &lo, &hi, WAKE_WAIT_MS);
        pthread_mutex_lock(&c->wake_mu);
        c->wake_req = -1;
        if (c->wake_quit) break; /* wake_async is being closed */
        uv_async_send(&c->wake_async);
    }
    pthread_mutex_unlock(&c->wake_mu);
    return NULL;
}

static void on_wake_done(uv_async_t *a)
{
    kafka_consumer *c = a->data;
    c->waking = false;
}

/* Hands partition `part` to the wake-up thread (started on first use); false if it cannot. */
static bool wake_ask(kafka_consumer *c, int32_t part)
{
    if (!c->waker_started) {
        if (pthread_create(&c->waker, NULL, waker_main, c) != 0) return false;
        c->waker_started = true;
    }
    pthread_mutex_lock(&c->wake_mu);
    c->wake_req = part;
    pthread_cond_signal(&c->wake_cv);
    pthread_mutex_unlock(&c->wake_mu);
    return true;
}

/* The queue ran dry with room left: wake the fetcher if the broker holds more for us. */
static void maybe_wake(kafka_consumer *c)
{
    if (c->waking || c->closed || c->paused || c->nparts == 0) return;
    uint64_t now = uv_now(c->loop);
    if (now - c->wake_last < WAKE_FAST_MS) return;
    for (size_t k = 0; k < c->nparts; k++) {
        size_t i = (c->wake_from + k) % c->nparts;
        int64_t next = c->parts[i].next;
        if (c->parts[i].held) continue; /* paused on purpose: no fetch is wanted */
        int64_t lag = next < 0 ? 0 : kafka_consumer_lag(c, (int32_t)i, next);
        if (lag <= 0) continue;
        if (lag < BATCH && now - c->wake_last < WAKE_SLOW_MS) continue;
        c->wake_from = i + 1;
        c->wake_last = now;
        if (wake_ask(c, (int32_t)i)) c->waking = true, c->wakeups++;
        return;
    }
}

static void set_paused(kafka_consumer *c, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts) return;
    if (!pause) { /* held partitions stay paused */
        int kept = 0;
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p >= 0 && (size_t)p < c->nparts && c->parts[p].held) continue;
            parts->elems[kept++] = parts->elems[i];
        }
        parts->cnt = kept;
    }
    if (parts->cnt > 0) {
        if (pause)
            rd_kafka_pause_partitions(c->rk, parts);
        else
            rd_kafka_resume_partitions(c->rk, parts);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    c->paused = pause;
    log_debug("consumer", pause ? "paused" : "resumed");
}

/* The wait allowed now: at most `ms`, and while closing no later than the close deadline. */
static int close_wait_ms(const kafka_consumer *c, int ms)
{
    if (!c->close_deadline) return ms;
    uint64_t now = uv_hrtime() / 1000000;
    uint64_t left = c->close_deadline > now ? c->close_deadline - now : 0;
    return left < (uint64_t)ms ? (int)left : ms;
}

/* The coordinator refuses a commit from a generation that is over: another member joined or
 * left, and this one has not rejoined yet. */
static bool generation_moved(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
           e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS || e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

typedef enum {
    COMMIT_ASYNC, /* the periodic kind */
    COMMIT_SYNC,  /* waits for the broker */
    COMMIT_FINAL, /* the close's: COMMIT_SYNC, and a refused generation keeps it pending */
} commit_mode;

/* Commits the stored offsets (with their metadata) of the partitions marked dirty, only those
 * in `only` when it is not NULL. Synchronous commits wait for the broker (a revoke or a close
 * must not release a partition before its offset is committed); asynchronous ones are the
 * periodic kind, and a failure there is retried with the next progress or at the revoke. The
 * close's commit (final_commit) keeps its offsets dirty when the generation moved on, to send
 * them again after the rejoin. */
static rd_kafka_resp_err_t
commit_dirty(kafka_consumer *c, const rd_kafka_topic_partition_list_t *only, commit_mode mode)
{
    bool sync = mode != COMMIT_ASYNC;
    rd_kafka_topic_partition_list_t *l = NULL;
    for (size_t i = 0; i < c->nparts; i++) {
        consumer_part *cp = &c->parts[i];
        if (!cp->dirty || cp->commit < 0) continue;
        if (only && !rd_kafka_topic_partition_list_find(only, c->topic, (int32_t)i)) continue;
        if (!l) l = rd_kafka_topic_partition_list_new(4);
        rd_kafka_topic_partition_t *t = rd_kafka_topic_partition_list_add(l, c->topic, (int32_t)i);
        t->offset = cp->commit;
        size_t ml = strlen(cp->meta);
        if (ml) {
            t->metadata = malloc(ml);
            if (t->metadata) memcpy(t->metadata, cp->meta, ml), t->metadata_size = ml;
        }
        cp->dirty = false;
    }
    if (!l) return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t e;
    if (sync) {
        /* rd_kafka_commit(sync) waits without bound while the coordinator is away; a stop
         * during a Kafka outage must not hang, so the wait is ours and bounded. */
        rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
        e = rd_kafka_commit_queue(c->rk, l, q, NULL, NULL);
        if (!e) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, close_wait_ms(c, SYNC_COMMIT_MS));
            e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
            if (ev) rd_kafka_event_destroy(ev);
        }
        rd_kafka_queue_destroy(q);
    } else {
        e = rd_kafka_commit(c->rk, l, 1);
    }
    if (e == RD_KAFKA_RESP_ERR__NO_OFFSET) e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (e && mode == COMMIT_FINAL && generation_moved(e)) {
        /* The close commits again once this member has rejoined (kafka_consumer_close). */
        for (int i = 0; i < l->cnt; i++) part_at(c, l->elems[i].partition)->dirty = true;
        log_info("consumer", "the final commit met a rebalance; it is sent again after the rejoin",
                 "error=\"%s\"", rd_kafka_err2str(e));
    } else if (e && sync) {
        log_warn("consumer", "commit failed; the records after the last commit will be read again",
                 "error=\"%s\"", rd_kafka_err2str(e));
    } else if (e) {
        log_debug("consumer", "commit", "error=\"%s\"", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
    return e;
}

static void finish_revoke(kafka_consumer *c)
{
    rd_kafka_topic_partition_list_t *parts = c->pending_revoke;
    c->pending_revoke = NULL;
    if (!c->revoke_lost) commit_dirty(c, parts, COMMIT_SYNC);
    if (c->revoke_lost) c->rejoining = true;
    for (int i = 0; i < parts->cnt; i++) {
        consumer_part *cp = part_at(c, parts->elems[i].partition);
        if (!cp) continue;
        if (c->revoke_lost && cp->commit >= 0) {
            cp->orphan = cp->commit;
            memcpy(cp->orphan_meta, cp->meta, sizeof cp->meta);
        }
        cp->dirty = false, cp->commit = -1, cp->meta[0] = '\0';
    }
    if (c->cooperative) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(c->rk, parts);
        if (e) {
            log_warn("consumer", "incremental unassign failed", "error=\"%s\"",
                     rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(c->rk, NULL);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    log_info("consumer", "partitions released");
}

/* Partitions this member lost and now gets back resume from what it had finished when that
 * is past the group's committed offset (see the header): t's offset and metadata become the
 * orphan's, which is stored to be committed. Every orphan of `parts` is used up. */
static void adopt_orphans(kafka_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *t = &parts->elems[i];
        consumer_part *cp = part_at(c, t->partition);
        if (!cp || cp->orphan < 0) continue;
        int64_t orphan = cp->orphan;
        cp->orphan = -1;
        if (t->offset >= orphan) continue; /* someone went further (or as far) */
        log_info("consumer", "partition lost earlier resumes from this member's own progress",
                 "partition=%d committed=%lld from=%lld", t->partition, (long long)t->offset,
                 (long long)orphan);
        free(t->metadata);
        t->metadata = NULL;
        t->metadata_size = 0;
        size_t ml = strlen(cp->orphan_meta);
        if (ml && (t->metadata = malloc(ml))) memcpy(t->metadata, cp->orphan_meta, ml);
        if (t->metadata) t->metadata_size = ml;
        t->offset = orphan;
        kafka_consumer_store(c, t->partition, orphan, cp->orphan_meta);
    }
}

/* Takes `parts` on, as the group's protocol asks (incrementally when cooperative). */
static void assign(kafka_consumer *c, const rd_kafka_topic_partition_list_t *parts)
{
    if (c->cooperative) {
        rd_kafka_error_t *e = rd_kafka_incremental_assign(c->rk, parts);
        if (e) rd_kafka_error_destroy(e);
    } else {
        rd_kafka_assign(c->rk, parts);
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kafka_consumer *c = opaque;
    c->cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    char list[512] = "";
    size_t o = 0;
    for (int i = 0; i < parts->cnt && o + 12 < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%d", i ? "," : "",
                              parts->elems[i].partition);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) c->assigns++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && c->closed) {
        /* An assignment that comes while closing is taken as it is (the close revokes it next):
         * the handler is done, and nothing may block here. */
        log_info("consumer", "partitions assigned while closing", "partitions=%s",
                 *list ? list : "none");
        assign(c, parts);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        c->rejoining = false;
        log_info("consumer", "partitions assigned", "partitions=%s protocol=%s",
                 *list ? list : "none", rd_kafka_rebalance_protocol(rk));
        /* The committed offsets and their metadata, so the handler learns where each
         * partition resumes and what was committed with it; consumption starts exactly there. */
        rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resp_err_t ce = rd_kafka_committed(rk, start, SYNC_COMMIT_MS);
        if (ce) {
            log_warn("consumer",
                     "cannot read the committed offsets; the group's are used without metadata",
                     "error=\"%s\"", rd_kafka_err2str(ce));
            rd_kafka_topic_partition_list_destroy(start);
            start = rd_kafka_topic_partition_list_copy(parts);
        }
        adopt_orphans(c, start);
        if (c->h.on_assign) c->h.on_assign(c->ud, start);
        assign(c, start);
        /* A partition keeps librdkafka's pause flag across assignments: one paused while its
         * revoke drained and then assigned back would never be fetched again. */
        if (start->cnt > 0) {
            if (c->paused)
                rd_kafka_pause_partitions(rk, start);
            else
                rd_kafka_resume_partitions(rk, start);
        }
        rd_kafka_topic_partition_list_destroy(start);
        return;
    }
    bool lost = rd_kafka_assignment_lost(rk) || err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS;
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p >= 0 && (size_t)p < c->nparts) c->parts[p].next = -1, c->parts[p].held = false;
    }
    log_info("consumer", "partitions revoked", "partitions=%s lost=%d", *list ? list : "none",
             lost);
    if (c->pending_revoke) finish_revoke(c); /* a new revoke supersedes an unfinished one */
    c->pending_revoke = rd_kafka_topic_partition_list_copy(parts);
    c->revoke_lost = lost;
    bool ready = c->h.on_revoke ? c->h.on_revoke(c->ud, parts, lost) : true;
    /* While closing, nothing would complete a deferred revoke: rd_kafka_consumer_close would
     * wait for it for ever. */
    if (ready || lost || c->closed) {
        finish_revoke(c);
        return;
    }
    if (parts->cnt > 0) rd_kafka_pause_partitions(rk, parts);
    c->revoke_deadline = uv_now(c->loop) + DRAIN_BOUND_MS;
}

/* librdkafka's statistics, every statistics.interval.ms, served from the consumer queue on
 * the loop thread: the periodic commit rides on them because they tell the group's join
 * state. A manual commit sent while this member's JoinGroup is outstanding waits behind it on
 * the coordinator connection, comes back ILLEGAL_GENERATION once the new generation forms, and
 * librdkafka then declares the whole assignment lost (the auto-commit timer skips itself in
 * that state for this reason, but it cannot carry metadata). So commit only when steady. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    (void)len;
    kafka_consumer *c = opaque;
    if (c->closed) return 0;
    if (strstr(json, "\"join_state\": \"steady\"")) commit_dirty(c, NULL, COMMIT_ASYNC);
    return 0; /* librdkafka frees json */
}

static void handle_error(kafka_consumer *c, rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL;
    char reason[512];
    if (fatal) {
        rd_kafka_fatal_error(c->rk, reason, sizeof reason);
    } else {
        snprintf(reason, sizeof reason, "%s", rd_kafka_message_errstr(m));
    }
    if (c->h.on_error) c->h.on_error(c->ud, m->err, reason, fatal);
}

/* Takes batches off the queue while the handler has room (or serves events while paused). */
static void pump(kafka_consumer *c)
{
    rd_kafka_message_t *msgs[BATCH];
    for (;;) {
        size_t want = c->capacity < BATCH ? c->capacity : BATCH;
        if (want == 0 && !c->paused) return; /* full: messages wait in librdkafka's queue */
        if (want == 0) want = 8; /* paused: serve events; stray messages still go through */
        ssize_t n = rd_kafka_consume_batch_queue(c->queue, 0, msgs, want);
        if (n <= 0) {
            if (c->capacity > 0) maybe_wake(c);
            return;
        }
        size_t good = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (msgs[i]->err) {
                handle_error(c, msgs[i]);
                rd_kafka_message_destroy(msgs[i]);
            } else {
                consumer_part *cp = part_at(c, msgs[i]->partition);
                if (cp) cp->next = msgs[i]->offset + 1;
                msgs[good++] = msgs[i];
            }
        }
        if (good) {
            /* The handler will report its real room; until then assume it is used up. The
             * moment it filled up starts the full spell (an older stamp would pause at once). */
            if (c->capacity > 0 && c->capacity <= good) c->full_since = uv_now(c->loop);
            c->capacity = c->capacity > good ? c->capacity - good : 0;
            c->h.on_messages(c->ud, msgs, good);
        }
        if (c->capacity == 0) return;
        if ((size_t)n < want) {
            maybe_wake(c);
            return;
        }
    }
}

static void on_pipe(uv_poll_t *p, int status, int events)
{
    kafka_consumer *c = p->data;
    char buf[64];
    while (read(c->pipefd[0], buf, sizeof buf) > 0) {
    }
    pump(c);
}

static void on_kick(uv_idle_t *i)
{
    kafka_consumer *c = i->data;
    uv_idle_stop(i);
    pump(c);
}

static void on_tick(uv_timer_t *t)
{
    kafka_consumer *c = t->data;
    /* A handler that stays full (e.g. its database is away) gets its partitions paused, so
     * the tick can keep serving the queue without taking in more messages. Short full spells
     * are normal under load and do not pause: a resume restarts fetching from scratch. */
    if (c->capacity == 0 && !c->paused && uv_now(c->loop) - c->full_since >= PAUSE_AFTER_MS)
        set_paused(c, true);
    if (c->pending_revoke && uv_now(c->loop) >= c->revoke_deadline) {
        log_warn("consumer", "revoked partitions did not drain in time; releasing them",
                 "bound_ms=%d", DRAIN_BOUND_MS);
        /* The handler must know they are gone: its records of them are now someone else's. */
        if (c->h.on_revoke) c->h.on_revoke(c->ud, c->pending_revoke, true);
        finish_revoke(c);
    }
    pump(c);
}

kafka_consumer *kafka_consumer_new(uv_loop_t *loop, rd_kafka_conf_t *conf, const char *topic,
                                   const kafka_consumer_handler *h, void *ud, char *err,
                                   size_t errlen)
{
    kafka_consumer *c = calloc(1, sizeof *c);
    if (!c || !(c->topic = strdup(topic))) {
        free(c);
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->h = *h;
    c->ud = ud;
    c->capacity = BATCH;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    char interval[32];
    size_t ilen = sizeof interval;
    if (rd_kafka_conf_get(conf, "statistics.interval.ms", interval, &ilen) != RD_KAFKA_CONF_OK ||
        strcmp(interval, "0") == 0)
        rd_kafka_conf_set(conf, "statistics.interval.ms", COMMIT_MS_STR, NULL, 0);
    char errstr[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka consumer: %s", errstr);
        free(c->topic);
        free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    if (pipe2(c->pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        rd_kafka_queue_destroy(c->queue);
        rd_kafka_destroy(c->rk);
        free(c->topic);
        free(c);
        return NULL;
    }
    rd_kafka_queue_io_event_enable(c->queue, c->pipefd[1], "1", 1);
    uv_poll_init(loop, &c->poll, c->pipefd[0]);
    uv_idle_init(loop, &c->kick);
    uv_timer_init(loop, &c->tick);
    uv_async_init(loop, &c->wake_async, on_wake_done);
    uv_unref((uv_handle_t *)&c->wake_async); /* only wake-ups come through it */
    c->poll.data = c->kick.data = c->tick.data = c->wake_async.data = c;
    pthread_mutex_init(&c->wake_mu, NULL);
    pthread_cond_init(&c->wake_cv, NULL);
    c->wake_req = -1;
    return c;
}

int kafka_consumer_start(kafka_consumer *c, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(err, errlen, "kafka subscribe to '%s': %s", c->topic, rd_kafka_err2str(e));
        return -1;
    }
    uv_poll_start(&c->poll, UV_READABLE, on_pipe);
    uv_timer_start(&c->tick, on_tick, 100, 100);
    uv_idle_start(&c->kick, on_kick);
    return 0;
}

void kafka_consumer_set_capacity(kafka_consumer *c, size_t capacity)
{
    size_t before = c->capacity;
    c->capacity = capacity;
    if (capacity == 0 && before > 0) {
        c->full_since = uv_now(c->loop);
    } else if (capacity > 0) {
        if (c->paused) set_paused(c, false);
        if (before == 0 && !uv_is_active((uv_handle_t *)&c->kick)) uv_idle_start(&c->kick, on_kick);
    }
}

void kafka_consumer_seek(kafka_consumer *c, int32_t partition, int64_t offset, bool pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset = offset;
    if (pause) rd_kafka_pause_partitions(c->rk, l);
    /* Asynchronous, but the queue drops what was fetched before it at once (version barrier). */
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, 0);
    if (e) {
        log_warn("consumer", "seek failed", "partition=%d offset=%lld error=\"%s\"", partition,
                 (long long)offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    consumer_part *cp = part_at(c, partition);
    if (!pause && !c->paused && !(cp && cp->held)) rd_kafka_resume_partitions(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (cp) cp->next = offset;
}

void kafka_consumer_hold(kafka_consumer *c, int32_t partition, bool hold)
{
    consumer_part *cp = part_at(c, partition);
    if (!cp) return;
    cp->held = hold;
    if (!hold && c->paused) return; /* the general resume will do it */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, partition);
    if (hold)
        rd_kafka_pause_partitions(c->rk, l);
    else
        rd_kafka_resume_partitions(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

bool kafka_consumer_rejoining(const kafka_consumer *c)
{
    return c->rejoining;
}

void kafka_consumer_revoke_ready(kafka_consumer *c)
{
    if (c->pending_revoke) finish_revoke(c);
}

void kafka_consumer_store(kafka_consumer *c, int32_t partition, int64_t offset,
                          const char *metadata)
{
    consumer_part *cp = part_at(c, partition);
    if (!cp) return;
    cp->commit = offset;
    snprintf(cp->meta, sizeof cp->meta, "%s", metadata ? metadata : "");
    cp->dirty = true;
}

void kafka_consumer_commit(kafka_consumer *c, bool sync)
{
    commit_dirty(c, NULL, sync ? COMMIT_SYNC : COMMIT_ASYNC);
}

int64_t kafka_consumer_lag(kafka_consumer *c, int32_t partition, int64_t next_offset)
{
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(c->rk, c->topic, partition, &lo, &hi) != 0 || hi < 0)
        return -1;
    return hi > next_offset ? hi - next_offset : 0;
}

int kafka_consumer_query_watermarks(kafka_consumer *c, int32_t partition, int64_t *lo, int64_t *hi,
                                    int timeout_ms)
{
    int64_t l = -1, h = -1;
    if (rd_kafka_query_watermark_offsets(c->rk, c->topic, partition, &l, &h, timeout_ms) != 0 ||
        h < 0)
        return -1;
    *lo = l;
    *hi = h;
    return 0;
}

int64_t kafka_consumer_position(kafka_consumer *c, int32_t partition)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, partition);
    int64_t pos = -1;
    if (rd_kafka_position(c->rk, l) == 0 && l->elems[0].offset >= 0) pos = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return pos;
}

/* Serves the consumer queue (rebalance callbacks; records are dropped: nothing takes them any
 * more, and they were never stored) until an assignment callback was served or `until` (ms). */
static bool wait_rejoin(kafka_consumer *c, uint64_t until)
{
    uint64_t seen = c->assigns;
    for (;;) {
        uint64_t now = uv_hrtime() / 1000000;
        uint64_t left = until > now ? until - now : 0;
        int w = close_wait_ms(c, left < 100 ? (int)left : 100);
        if (w == 0) return false;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, w);
        if (m) rd_kafka_message_destroy(m);
        if (c->assigns != seen) return true;
    }
}

/* The stop's commit. It can meet a rebalance that another member's leave or join has just
 * begun (one member of a --until-caught-up group finishing before the other): the coordinator
 * refuses commits from the old generation until this member has rejoined, and the group's
 * offsets stayed where the last periodic commit left them, short of what was written. So on
 * such a refusal the member serves the rebalance and commits again in the new generation, what
 * it still owns: offsets still stored, or kept for partitions that librdkafka declared lost on
 * that refusal (see the header), within REJOIN_BOUND_MS of the close's bound. */
static void final_commit(kafka_consumer *c)
{
    uint64_t until = uv_hrtime() / 1000000 + REJOIN_BOUND_MS;
    rd_kafka_resp_err_t e = commit_dirty(c, NULL, COMMIT_FINAL);
    while (generation_moved(e) && wait_rejoin(c, until)) {
        rd_kafka_topic_partition_list_t *own = NULL;
        if (rd_kafka_assignment(c->rk, &own) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
        for (size_t i = 0; i < c->nparts; i++) {
            consumer_part *cp = &c->parts[i];
            bool mine = rd_kafka_topic_partition_list_find(own, c->topic, (int32_t)i) != NULL;
            if (!mine) {
                cp->dirty = false;
            } else if (!cp->dirty && cp->orphan >= 0) {
                cp->commit = cp->orphan, cp->dirty = true;
                memcpy(cp->meta, cp->orphan_meta, sizeof cp->meta);
                cp->orphan = -1;
            }
        }
        rd_kafka_topic_partition_list_destroy(own);
        e = commit_dirty(c, NULL, COMMIT_FINAL);
        if (!e) log_info("consumer", "committed after the rejoin");
    }
    if (generation_moved(e)) {
        for (size_t i = 0; i < c->nparts; i++) c->parts[i].dirty = false;
        log_warn("consumer", "commit failed; the records after the last commit will be read again",
                 "error=\"%s\"", rd_kafka_err2str(e));
    }
}

/* rd_kafka_consumer_close waits without bound for the group coordinator: with the broker
 * unreachable it never returns (librdkafka issue #3740), and a stop hung for ever. So the close
 * runs asynchronously on a queue of ours, served here (rebalance events go to on_rebalance as
 * the callback would), until it is over or CLOSE_BOUND_MS after the close began. The offsets
 * are committed first (bounded too); what a close that gives up skips is the LeaveGroup, so the
 * group reassigns this member's partitions once its session times out. */
void kafka_consumer_close(kafka_consumer *c)
{
    c->closed = true;
    c->close_deadline = uv_hrtime() / 1000000 + CLOSE_BOUND_MS;
    uv_timer_stop(&c->tick);
    uv_idle_stop(&c->kick);
    uv_poll_stop(&c->poll);
    final_commit(c);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, q);
    if (error) {
        log_warn("consumer", "close", "error=\"%s\"", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        c->close_abandoned = true; /* destroy must not try the close again, unbounded */
    }
    while (!c->close_abandoned && !rd_kafka_consumer_closed(c->rk)) {
        int wait = close_wait_ms(c, 100);
        if (wait == 0) {
            log_warn("consumer",
                     "the group close did not finish in time; leaving without it (the group "
                     "reassigns the partitions when this member's session times out)",
                     "bound_ms=%d", CLOSE_BOUND_MS);
            c->close_abandoned = true;
            break;
        }
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, wait);
        if (!ev) continue;
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
            on_rebalance(c->rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev),
                         c);
        else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR)
            log_debug("consumer", "while closing", "error=\"%s\"", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    if (c->pending_revoke) {
        rd_kafka_topic_partition_list_destroy(c->pending_revoke);
        c->pending_revoke = NULL;
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    kafka_consumer *c = h->data;
    if (--c->closing_handles > 0) return;
    destroy(c);
}

/* Consumers whose wake-up thread did not end in time: the thread still uses the Kafka handle,
 * so neither is freed (the process is about to exit). Kept referenced here, so that the leak
 * checker does not report them. */
static kafka_consumer *left_behind[4];

/* Ends the wake-up thread: true once it has ended, false if it is still blocked after
 * WAKER_JOIN_S (it is then detached and left running). */
static bool waker_join(kafka_consumer *c)
{
    if (!c->waker_started) return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAKER_JOIN_S;
    if (pthread_timedjoin_np(c->waker, NULL, &until) == 0) return true;
    pthread_detach(c->waker);
    return false;
}

static void destroy(kafka_consumer *c)
{
    void (*done)(void *) = c->freed;
    void *ud = c->freed_ud;
    rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
    if (!waker_join(c)) {
        log_warn("consumer",
                 "a watermark query is still blocked in librdkafka; exiting without releasing "
                 "the Kafka handle",
                 "waited_s=%d", WAKER_JOIN_S);
        for (size_t i = 0; i < sizeof left_behind / sizeof *left_behind; i++)
            if (!left_behind[i]) {
                left_behind[i] = c;
                break;
            }
        if (done) done(ud);
        return;
    }
    pthread_mutex_destroy(&c->wake_mu);
    pthread_cond_destroy(&c->wake_cv);
    rd_kafka_queue_destroy(c->queue);
    free(c->parts);
    rd_kafka_destroy_flags(c->rk, c->close_abandoned ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    close(c->pipefd[0]);
    close(c->pipefd[1]);
    free(c->topic);
    free(c);
    if (done) done(ud);
}

void kafka_consumer_free(kafka_consumer *c, void (*done)(void *ud), void *ud)
{
    c->closed = true;
    c->freed = done;
    c->freed_ud = ud;
    pthread_mutex_lock(&c->wake_mu);
    c->wake_quit = true; /* from now on the thread leaves wake_async alone */
    pthread_cond_signal(&c->wake_cv);
    pthread_mutex_unlock(&c->wake_mu);
    c->closing_handles = 4;
    uv_close((uv_handle_t *)&c->wake_async, on_handle_closed);
    uv_close((uv_handle_t *)&c->poll, on_handle_closed);
    uv_close((uv_handle_t *)&c->kick, on_handle_closed);
    uv_close((uv_handle_t *)&c->tick, on_handle_closed);
}

uint64_t kafka_consumer_wakeups(const kafka_consumer *c)
{
    return c->wakeups;
}

rd_kafka_t *kafka_consumer_handle(kafka_consumer *c)
{
    return c->rk;
}

const char *kafka_consumer_topic(const kafka_consumer *c)
{
    return c->topic;
}
