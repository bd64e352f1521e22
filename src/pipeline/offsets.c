/* Per-partition offset watermark tracker for at-least-once commits.
 *
 * DESIGN: the offsets in flight live in a ring, oldest first, in the order they were tracked
 * (which is increasing offset order). Each slot holds an offset and a done flag. done() finds
 * the slot by position when the tracked offsets are contiguous (slot = offset - oldest) and by
 * binary search otherwise, marks it, and then pops done slots off the head; the committable
 * offset is the head's offset, or last tracked + 1 when the ring is empty. Every slot is pushed
 * and popped once, so both calls are O(1) amortized. The ring doubles when full and never
 * shrinks: its size is bounded by the stream's in-flight limit. */
#include "pipeline/offsets.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    int64_t offset;
    int64_t stamp; /* caller's value for the message (the stream's write timestamp) */
    int done;
} slot;

struct pipe_offsets {
    slot *ring;
    size_t cap;           /* power of two */
    size_t head, count;   /* oldest slot and number of slots in flight */
    int64_t last;         /* last tracked offset, -1 before the first */
    int64_t reported;     /* last value commit_due() returned true for, or the first tracked
                             offset; -1 before the first track */
    size_t done_pending;  /* slots done but not yet popped (behind an older one) */
    int64_t popped_stamp; /* stamp of the newest slot popped since the reset, 0 before any */
};

pipe_offsets *pipe_offsets_new(size_t initial)
{
    size_t cap = 16;
    if (!initial) initial = 1024;
    while (cap < initial && cap < ((size_t)1 << 40)) cap <<= 1;
    pipe_offsets *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->ring = malloc(cap * sizeof *o->ring);
    if (!o->ring) {
        free(o);
        return NULL;
    }
    o->cap = cap;
    pipe_offsets_reset(o);
    return o;
}

void pipe_offsets_free(pipe_offsets *o)
{
    if (!o) return;
    free(o->ring);
    free(o);
}

void pipe_offsets_reset(pipe_offsets *o)
{
    o->head = o->count = o->done_pending = 0;
    o->last = -1;
    o->reported = -1;
    o->popped_stamp = 0;
}

static inline slot *at(const pipe_offsets *o, size_t i)
{
    return &o->ring[(o->head + i) & (o->cap - 1)];
}

/* Doubles the ring, unwrapping it so the head is at 0. */
static int grow(pipe_offsets *o)
{
    if (o->cap > SIZE_MAX / 2 / sizeof(slot)) return -1;
    slot *r = malloc(o->cap * 2 * sizeof *r);
    if (!r) return -1;
    for (size_t i = 0; i < o->count; i++) r[i] = *at(o, i);
    free(o->ring);
    o->ring = r;
    o->cap *= 2;
    o->head = 0;
    return 0;
}

pipe_off_err pipe_offsets_track(pipe_offsets *o, int64_t offset)
{
    if (offset < 0 || offset <= o->last) return PIPE_OFF_ORDER;
    if (o->count == o->cap && grow(o)) return PIPE_OFF_NO_MEMORY;
    /* Committing the first tracked offset itself would say nothing new: the consumer began
     * there. So progress is measured from it. */
    if (o->reported < 0) o->reported = offset;
    slot *s = at(o, o->count++);
    s->offset = offset;
    s->stamp = 0;
    s->done = 0;
    o->last = offset;
    return PIPE_OFF_OK;
}

/* Position of offset in the ring, or -1. */
static long long find(const pipe_offsets *o, int64_t offset)
{
    if (!o->count) return -1;
    int64_t first = at(o, 0)->offset;
    if (offset < first || offset > o->last) return -1;
    uint64_t guess = (uint64_t)(offset - first);
    if (guess < o->count && at(o, guess)->offset == offset) return (long long)guess;
    /* A gap lies between the head and offset: the slot is before its contiguous position. */
    size_t lo = 0, hi = guess < o->count ? guess : o->count - 1;
    while (lo <= hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = at(o, mid)->offset;
        if (v == offset) return (long long)mid;
        if (v < offset)
            lo = mid + 1;
        else if (mid == 0)
            break;
        else
            hi = mid - 1;
    }
    return -1;
}

pipe_off_err pipe_offsets_done(pipe_offsets *o, int64_t offset)
{
    long long i = find(o, offset);
    if (i < 0) return PIPE_OFF_UNKNOWN;
    slot *s = at(o, (size_t)i);
    if (s->done) return PIPE_OFF_DUPLICATE;
    s->done = 1;
    o->done_pending++;
    while (o->count && at(o, 0)->done) {
        o->popped_stamp = at(o, 0)->stamp;
        o->head = (o->head + 1) & (o->cap - 1);
        o->count--;
        o->done_pending--;
    }
    return PIPE_OFF_OK;
}

int64_t pipe_offsets_committable(const pipe_offsets *o)
{
    if (o->count) return at(o, 0)->offset;
    return o->last < 0 ? -1 : o->last + 1;
}

bool pipe_offsets_commit_due(pipe_offsets *o, int64_t *offset)
{
    int64_t c = pipe_offsets_committable(o);
    if (c < 0 || c <= o->reported) return false;
    o->reported = c;
    *offset = c;
    return true;
}

void pipe_offsets_stamp_last(pipe_offsets *o, int64_t stamp)
{
    if (o->count) at(o, o->count - 1)->stamp = stamp;
}

int64_t pipe_offsets_committable_stamp(const pipe_offsets *o)
{
    return o->popped_stamp;
}

size_t pipe_offsets_inflight(const pipe_offsets *o)
{
    return o->count;
}

const char *pipe_off_strerror(pipe_off_err e)
{
    switch (e) {
    case PIPE_OFF_OK: return "ok";
    case PIPE_OFF_ORDER: return "offset not greater than the last tracked one";
    case PIPE_OFF_UNKNOWN: return "offset not in flight";
    case PIPE_OFF_DUPLICATE: return "offset already done";
    case PIPE_OFF_NO_MEMORY: return "out of memory";
    }
    return "unknown error";
}
