/* Per-batch bump allocator (see arena.h for the design). */
#include "pipeline/arena.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    _Alignas(8) unsigned char data[];
} chunk;

struct pipe_arena {
    chunk *head;   /* the chunk allocations come from; older chunks follow via next */
    size_t total;  /* bytes handed out since reset, over all chunks */
    void *last;    /* most recent allocation, for pipe_arena_trim */
    size_t last_n; /* its rounded size */
};

enum { DEFAULT_CHUNK = 64 * 1024 };

static chunk *chunk_new(size_t cap)
{
    if (cap > SIZE_MAX - sizeof(chunk)) return NULL;
    chunk *c = malloc(sizeof(chunk) + cap);
    if (!c) return NULL;
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

pipe_arena *pipe_arena_new(size_t initial)
{
    pipe_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->head = chunk_new(initial ? initial : DEFAULT_CHUNK);
    if (!a->head) {
        free(a);
        return NULL;
    }
    return a;
}

static void free_chain(chunk *c)
{
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
}

void pipe_arena_free(pipe_arena *a)
{
    if (!a) return;
    free_chain(a->head);
    free(a);
}

void *pipe_arena_alloc(pipe_arena *a, size_t n)
{
    if (n > SIZE_MAX - 8) return NULL;
    size_t need = (n + 7) & ~(size_t)7;
    chunk *c = a->head;
    if (c->cap - c->used < need) {
        /* A new chunk at least twice the last one keeps the number of chunks logarithmic. */
        size_t cap = c->cap > SIZE_MAX / 2 ? need : c->cap * 2;
        if (cap < need) cap = need;
        chunk *nc = chunk_new(cap);
        if (!nc) return NULL;
        nc->next = c;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->total += need;
    a->last = p;
    a->last_n = need;
    return p;
}

void pipe_arena_trim(pipe_arena *a, void *p, size_t used)
{
    if (!p || p != a->last) return;
    size_t keep = (used + 7) & ~(size_t)7;
    if (keep >= a->last_n) return;
    a->head->used -= a->last_n - keep;
    a->total -= a->last_n - keep;
    a->last_n = keep;
}

void pipe_arena_reset(pipe_arena *a)
{
    chunk *c = a->head;
    if (c->next) {
        /* Replace the chain by one chunk that holds what the whole chain held, so the next
         * batch of the same shape fits without allocating. Keep the chain if that fails. */
        size_t cap = 0;
        for (chunk *i = c; i; i = i->next) cap += i->cap;
        chunk *nc = chunk_new(cap);
        if (nc) {
            free_chain(c);
            a->head = c = nc;
        }
    }
    for (chunk *i = c; i; i = i->next) i->used = 0;
    a->total = 0;
    a->last = NULL;
    a->last_n = 0;
}

size_t pipe_arena_used(const pipe_arena *a)
{
    return a->total;
}

size_t pipe_arena_capacity(const pipe_arena *a)
{
    size_t cap = 0;
    for (const chunk *c = a->head; c; c = c->next) cap += c->cap;
    return cap;
}
