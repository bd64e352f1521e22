/* `rtetl stream --until-caught-up`: process exactly the records present when each partition was
 * assigned, then stop like a graceful SIGTERM (Spark's availableNow trigger).
 *
 * DESIGN. When a partition is assigned, its high watermark is asked of its leader (a bounded
 * blocking query on the loop thread, as the committed-offset read of the same rebalance is;
 * a failed query is retried from the store timer) and noted as the partition's mark, with the
 * offset consumption starts from. A message at or past the mark is not taken in: it is dropped
 * untracked (so never committed) and the partition is paused for the rest of the run, leaving
 * records produced after the start for the next run. A partition is caught up when its
 * committable offset reached the mark, or when nothing of it is in flight and either a record
 * past the mark came (records come in offset order, so all before it are done) or librdkafka's
 * position passed the mark (it steps over transaction markers, which are never handed over).
 * Once every assigned partition is caught up, the engine stops: drain, commit, exit 0. Partitions
 * assigned later (a rebalance) get their mark when assigned. After a lost assignment (every
 * partition revoked as lost) nothing is decided until the member has rejoined and been assigned
 * again. */
#include <inttypes.h>

#include "stream/engine.h"
#include "util/log.h"

#define MARK_QUERY_MS 5000    /* bound on one watermark query */
#define MARK_RETRY_US 2000000 /* pause between retries of a failed query */

/* Notes the mark of sp; `committed` is the group's offset (< 0: none). 0, or -1 when the
 * query failed (mark stays -1, mark_from keeps `committed` for the retry). */
static int note_mark(stream_engine *e, stream_part *sp, int64_t committed)
{
    int64_t lo, hi;
    sp->mark = -1;
    sp->mark_from = committed;
    if (kafka_consumer_query_watermarks(e->consumer, sp->id, &lo, &hi, MARK_QUERY_MS)) {
        log_warn("stream", "cannot read the high watermark for --until-caught-up; retrying",
                 "partition=%d", sp->id);
        return -1;
    }
    /* Where consumption starts: the committed offset, else (or when retention removed it)
     * what auto.offset.reset picks. */
    int64_t from = committed >= lo ? committed : e->o->pipe->mode == PIPE_MODE_APPEND ? hi : lo;
    sp->mark = hi;
    sp->mark_from = from < hi ? from : hi;
    log_info("stream", "catch-up mark noted", "partition=%d from=%" PRId64 " mark=%" PRId64, sp->id,
             sp->mark_from, sp->mark);
    return 0;
}

void stream_catchup_on_assign(stream_engine *e, stream_part *sp,
                              const rd_kafka_topic_partition_t *t)
{
    sp->mark = sp->mark_from = -1;
    sp->capped = false;
    if (!e->o->until_caught_up) return;
    e->catchup_armed = true;
    (void)note_mark(e, sp, t->offset);
}

bool stream_catchup_admit(stream_engine *e, stream_part *sp, rd_kafka_message_t *m)
{
    if (sp->mark < 0 || m->offset < sp->mark) return true;
    if (!sp->capped) {
        sp->capped = true;
        kafka_consumer_hold(e->consumer, sp->id, true);
        log_info("stream", "partition reached its catch-up mark; pausing it",
                 "partition=%d mark=%" PRId64, sp->id, sp->mark);
    }
    rd_kafka_message_destroy(m);
    return false;
}

static bool part_caught_up(stream_engine *e, stream_part *sp)
{
    if (sp->mark < 0) return false;
    if (sp->mark_from >= sp->mark || pipe_offsets_committable(sp->offs) >= sp->mark) return true;
    if (pipe_offsets_inflight(sp->offs) > 0 || sp->stalled) return false;
    if (sp->capped) return true;
    /* Messages waiting for a slot were handed over (the position counts them) but not taken in. */
    if (e->npending > 0) return false;
    return kafka_consumer_position(e->consumer, sp->id) >= sp->mark;
}

/* Records of sp between where it started and its mark that are done. */
static int64_t part_done(stream_part *sp, bool caught_up)
{
    if (caught_up) return sp->mark - sp->mark_from;
    int64_t c = pipe_offsets_committable(sp->offs);
    if (c < sp->mark_from) c = sp->mark_from;
    return (c < sp->mark ? c : sp->mark) - sp->mark_from;
}

/* Retries the failed watermark queries, at most every MARK_RETRY_US. */
static void retry_marks(stream_engine *e)
{
    uint64_t now = mono_us();
    if (now - e->catchup_retry_us < MARK_RETRY_US) return;
    e->catchup_retry_us = now;
    for (size_t i = 0; i < e->nparts; i++) {
        stream_part *sp = &e->parts[i];
        if (sp->assigned && !sp->revoking && sp->mark < 0) (void)note_mark(e, sp, sp->mark_from);
    }
}

void stream_catchup_check(stream_engine *e)
{
    if (!e->o->until_caught_up || e->state != ENGINE_RUNNING || !e->catchup_armed) return;
    /* Past --max-records, messages handed over are dropped untracked, so the position no longer
     * says they are done; that bound stops the run anyway. */
    if (e->o->max_records && e->consumed >= e->o->max_records) return;
    /* A member whose assignment was lost has no partition until it has rejoined: stopping
     * then would say caught up with its work unfinished and its last progress uncommitted. */
    if (kafka_consumer_rejoining(e->consumer)) return;
    retry_marks(e);
    bool all = true, unknown = false;
    int64_t done = 0, total = 0;
    for (size_t i = 0; i < e->nparts; i++) {
        stream_part *sp = &e->parts[i];
        if (!sp->assigned || sp->revoking) continue;
        if (sp->mark < 0) {
            all = false, unknown = true;
            continue;
        }
        bool c = part_caught_up(e, sp);
        all = all && c;
        total += sp->mark - sp->mark_from;
        done += part_done(sp, c);
    }
    int pct = total > 0 ? (int)(done * 100 / total) : 100;
    if (!all && pct == 100) pct = 99; /* 100 means caught up, nothing less */
    e->catchup_pct = unknown && total == 0 ? -1 : pct;
    e->catchup_left = total - done;
    e->catchup_total = total;
    if (!all) return;
    log_info("stream", "caught up: every assigned partition reached its mark", "records=%" PRId64,
             total);
    stream_engine_stop(e, "caught up");
}
