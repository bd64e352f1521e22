/* The liveness verdict of `rtetl stream` (see health.h).
 *
 * DESIGN. A stream is alive when it makes progress on the work it has, not merely when its
 * process answers. Three checks, each with a bound, tell a stuck stream from a busy or idle
 * one: (1) stalled: an assigned partition whose committed offset (what the tracker in
 * pipeline/offsets.c lets the stream commit) has not moved for the bound although records at or
 * past it exist. The backlog is measured from the committed offset, not from the consumer's
 * position: while Cassandra hangs every record may already be consumed and waiting in flight, so
 * the consumer lag is 0 although nothing is done. An idle partition (no backlog) is never
 * stalled. (2) unreachable: no Cassandra host up for the bound; a shorter outage is a blip that
 * retries absorb, so it stays healthy. (3) unassigned: the member has had no partition for the
 * bound while running (a group with more members than partitions, a rebalance that does not
 * end, a coordinator that does not answer); run.c does not count the time the source topic is
 * missing, which is waited for (the compose stack's stream starts before the first ingest
 * creates the topic) and shown by /readyz. Everything is computed by the 1 s metrics timer from a
 * snapshot, so the record path does no extra work; these functions keep no state of their own. */
#include "stream/health.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t stream_health_watch_update(stream_health_watch *w, uint32_t generation, int64_t committed,
                                    int64_t backlog, uint64_t now_us)
{
    if (!w->armed || w->generation != generation || w->committed != committed || backlog <= 0) {
        w->armed = true;
        w->generation = generation;
        w->committed = committed;
        w->since_us = now_us;
        return 0;
    }
    return now_us > w->since_us ? now_us - w->since_us : 0;
}

uint64_t stream_health_since(uint64_t *since, bool condition, uint64_t now_us)
{
    if (!condition) {
        *since = 0;
        return 0;
    }
    /* 0 means "not holding", so a clock at 0 starts the count at 1 µs. */
    if (*since == 0 || *since > now_us) *since = now_us ? now_us : 1;
    return now_us > *since ? now_us - *since : 0;
}

static bool over(uint64_t us, double limit_s)
{
    return limit_s > 0 && (double)us >= limit_s * 1e6;
}

/* The longest stalled partition past the bound (NULL when none) and how many are. */
static const stream_health_part *worst_stall(const stream_health_snapshot *s, double limit_s,
                                             size_t *n)
{
    const stream_health_part *worst = NULL;
    *n = 0;
    for (size_t i = 0; i < s->nparts; i++) {
        const stream_health_part *p = &s->parts[i];
        if (!over(p->stalled_us, limit_s)) continue;
        (*n)++;
        if (!worst || p->stalled_us > worst->stalled_us) worst = p;
    }
    return worst;
}

/* Appends one failed check to the reason: the first as it is, the others after "; also ". */
static void add(stream_health_verdict *v, stream_health_check c, const char *text)
{
    size_t len = strlen(v->reason);
    if (v->healthy) {
        v->healthy = false;
        v->failed = c;
        len = 0;
    }
    snprintf(v->reason + len, sizeof v->reason - len, "%s%s", len ? "; also " : "", text);
}

void stream_health_eval(const stream_health_snapshot *s, const stream_health_limits *l,
                        stream_health_verdict *v)
{
    char text[400];
    v->healthy = true;
    v->failed = STREAM_HEALTH_OK;
    snprintf(v->reason, sizeof v->reason, "ok");
    if (!s->running) return;
    if (over(s->unassigned_us, l->unassigned_s)) {
        snprintf(text, sizeof text, "unassigned: no partition of topic %s assigned for %.0f s",
                 s->topic, (double)s->unassigned_us / 1e6);
        add(v, STREAM_HEALTH_UNASSIGNED, text);
    }
    if (over(s->unreachable_us, l->unreachable_s)) {
        bool err = s->cassandra_error && *s->cassandra_error;
        snprintf(text, sizeof text, "cassandra unreachable: no host up for %.0f s%s%s",
                 (double)s->unreachable_us / 1e6, err ? ", last error: " : "",
                 err ? s->cassandra_error : "");
        add(v, STREAM_HEALTH_UNREACHABLE, text);
    }
    size_t n;
    const stream_health_part *p = worst_stall(s, l->stall_s, &n);
    if (p) {
        char more[64] = "";
        if (n > 1) snprintf(more, sizeof more, " (and %zu more partitions)", n - 1);
        snprintf(text, sizeof text,
                 "stalled: topic %s partition %" PRId32 ": committed offset %" PRId64
                 " has not moved for %.0f s with %" PRId64 " records pending%s",
                 s->topic, p->id, p->committed, (double)p->stalled_us / 1e6, p->backlog, more);
        add(v, STREAM_HEALTH_STALLED, text);
    }
}
