/* A per-batch bump allocator: the decoder unescapes JSON strings into it, the caller resets it
 * once every record of the batch has been written or dead-lettered.
 *
 * DESIGN: memory is a list of chunks. Allocation bumps a pointer in the current chunk and moves
 * to a new chunk when it does not fit, so earlier pointers stay valid until the next reset.
 * pipe_arena_reset() keeps a single chunk as large as the batch's total use, so in steady state
 * a batch of the same shape needs no malloc at all. */
#ifndef RTETL_PIPELINE_ARENA_H
#define RTETL_PIPELINE_ARENA_H

#include <stddef.h>

typedef struct pipe_arena pipe_arena;

/* Creates an arena whose first chunk holds `initial` bytes (0 picks 64 KiB); NULL when out of
 * memory. The caller owns it and frees it with pipe_arena_free. */
pipe_arena *pipe_arena_new(size_t initial);
/* Frees the arena and every pointer it handed out; NULL is allowed. */
void pipe_arena_free(pipe_arena *a);
/* Returns n bytes (8-byte aligned; n may be 0) that stay valid until the next reset or free;
 * NULL when out of memory. The arena owns the memory. */
void *pipe_arena_alloc(pipe_arena *a, size_t n);
/* Gives back the tail of the most recent allocation p, keeping its first `used` bytes; does
 * nothing when p is not the most recent allocation. */
void pipe_arena_trim(pipe_arena *a, void *p, size_t used);
/* Invalidates every pointer handed out since the last reset and rewinds to empty. */
void pipe_arena_reset(pipe_arena *a);
/* Bytes handed out since the last reset (including alignment padding). */
size_t pipe_arena_used(const pipe_arena *a);
/* Bytes held from the system (all chunks). */
size_t pipe_arena_capacity(const pipe_arena *a);

#endif
