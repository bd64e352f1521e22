/* Per-partition offset watermark for at-least-once commits (record path step 7). See
 * offsets.c for the mechanism. */
#ifndef RTETL_PIPELINE_OFFSETS_H
#define RTETL_PIPELINE_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pipe_offsets pipe_offsets;

typedef enum {
    PIPE_OFF_OK = 0,
    PIPE_OFF_ORDER,     /* track(): offset not greater than the last tracked one */
    PIPE_OFF_UNKNOWN,   /* done(): offset not in flight (never tracked, or before a reset) */
    PIPE_OFF_DUPLICATE, /* done(): offset already done */
    PIPE_OFF_NO_MEMORY, /* track(): the ring could not grow */
} pipe_off_err;

/* Returns a tracker whose ring starts with room for `initial` in-flight messages (0 picks
 * 1024) and doubles when full; NULL when out of memory. Freed with pipe_offsets_free. */
pipe_offsets *pipe_offsets_new(size_t initial);
/* Frees o; NULL is allowed. */
void pipe_offsets_free(pipe_offsets *o);

/* Records that the message at `offset` entered the pipeline. Offsets must increase (gaps are
 * fine: compaction, transaction markers). O(1) amortized. */
pipe_off_err pipe_offsets_track(pipe_offsets *o, int64_t offset);
/* Records that the message at `offset` was written or dead-lettered, in any order. O(1) when
 * the tracked offsets are contiguous, O(log inflight) across gaps. */
pipe_off_err pipe_offsets_done(pipe_offsets *o, int64_t offset);

/* The offset to commit (Kafka's "next offset to consume"): the offset of the oldest message
 * not yet done, or the last tracked offset + 1 when all are done; -1 when nothing was tracked
 * since the last reset. */
int64_t pipe_offsets_committable(const pipe_offsets *o);
/* True, with *offset set, when committable() moved past the value the last true call
 * reported, or past the first offset tracked since the reset; lets the caller commit only on
 * progress. */
bool pipe_offsets_commit_due(pipe_offsets *o, int64_t *offset);
/* Attaches `stamp` to the message tracked last (call right after pipe_offsets_track). */
void pipe_offsets_stamp_last(pipe_offsets *o, int64_t stamp);
/* The stamp of the newest message below committable(), i.e. of the last message a commit of
 * committable() covers; 0 when no message was done since the reset. The stream commits it with
 * the offset, so the next owner of the partition continues the write-timestamp chain. */
int64_t pipe_offsets_committable_stamp(const pipe_offsets *o);
/* Messages tracked and not yet done. */
size_t pipe_offsets_inflight(const pipe_offsets *o);
/* Forgets everything (partition revoked or assigned); keeps the ring's memory. */
void pipe_offsets_reset(pipe_offsets *o);

/* A static description of e. */
const char *pipe_off_strerror(pipe_off_err e);

#endif
