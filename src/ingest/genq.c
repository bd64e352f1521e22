/* The builtin source's generator thread and its ring (see genq.h).
 *
 * DESIGN: measured with callgrind, generating a record costs about as many instructions as
 * librdkafka's own work to enqueue it on the producing thread, and that thread is what limits
 * `rtetl ingest` (the local queue never fills). Generating on a second thread halves its work;
 * on a busy machine it also stops the producing thread from losing CPU share to the generator.
 * The ring is single-producer single-consumer with C11 acquire/release counters, so the fast
 * path takes no lock; the rare waits (ring full: the generator is ahead; ring empty: Kafka is
 * ahead) sleep for a millisecond instead of using condition variables, which keeps it simple and
 * free of lost wake-ups. Records are generated in order by one thread, so seeded runs stay
 * reproducible. This is the one exception to rtetl's one-thread design, for the reason above. */
#include "ingest/genq.h"

#include "ingest/gen.h"
#include "ingest/record.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A power of two: 8 MB, 10-40 ms of records at the rates seen, so that a generator napping
 * 1 ms while the ring is full never lets it run dry (shorter naps cost measurable CPU in
 * wake-ups). */
#define SLOTS  4096
#define NAP_NS 1000000

struct ingest_genq {
    _Alignas(64) atomic_ullong head; /* records written (generator) */
    _Alignas(64) atomic_ullong tail; /* records taken (producer) */
    _Alignas(64) atomic_bool stop;
    atomic_bool finished; /* the generator made its count */
    unsigned long long count;
    bool has_seed;
    uint64_t seed;
    pthread_t thread;
    ingest_genq_rec *slots;
};

static void nap(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static void *generate(void *arg)
{
    ingest_genq *q = arg;
    ingest_gen g;
    ingest_idgen ids;
    ingest_person p;
    ingest_buf b;
    ingest_gen_init(&g, q->has_seed ? &q->seed : NULL);
    ingest_idgen_init(&ids, q->has_seed ? &q->seed : NULL);
    ingest_buf_init(&b);
    unsigned long long head = 0;
    while (!atomic_load_explicit(&q->stop, memory_order_relaxed)) {
        if (q->count && head >= q->count) {
            atomic_store_explicit(&q->finished, true, memory_order_release);
            break;
        }
        if (head - atomic_load_explicit(&q->tail, memory_order_acquire) >= SLOTS) {
            nap(NAP_NS); /* full: the producer is behind */
            continue;
        }
        ingest_genq_rec *r = &q->slots[head & (SLOTS - 1)];
        ingest_gen_next(&g, &p);
        ingest_id_next(&ids, r->id);
        b.len = 0;
        ingest_record_write(&b, r->id, &p.user);
        if (b.len > INGEST_GENQ_MAX_RECORD) {
            /* The tables make records far shorter; a test checks the longest. */
            fprintf(stderr, "rtetl: internal error: generated record of %zu bytes\n", b.len);
            abort();
        }
        memcpy(r->data, b.p, b.len);
        r->len = (uint32_t)b.len;
        atomic_store_explicit(&q->head, ++head, memory_order_release);
    }
    ingest_buf_free(&b);
    return NULL;
}

ingest_genq *ingest_genq_start(const uint64_t *seed, unsigned long long count, char *err,
                               size_t errlen)
{
    ingest_genq *q = aligned_alloc(64, sizeof *q);
    if (!q || !(q->slots = malloc(sizeof *q->slots * SLOTS))) {
        free(q);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->stop, false);
    atomic_init(&q->finished, false);
    q->count = count;
    q->has_seed = seed != NULL;
    q->seed = seed ? *seed : 0;
    int rc = pthread_create(&q->thread, NULL, generate, q);
    if (rc) {
        snprintf(err, errlen, "cannot start the generator thread: %s", strerror(rc));
        free(q->slots);
        free(q);
        return NULL;
    }
    return q;
}

const ingest_genq_rec *ingest_genq_peek(ingest_genq *q, bool *done)
{
    unsigned long long tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    *done = false;
    if (atomic_load_explicit(&q->head, memory_order_acquire) > tail)
        return &q->slots[tail & (SLOTS - 1)];
    /* Empty: finished only if the generator is done and nothing was written since. */
    if (atomic_load_explicit(&q->finished, memory_order_acquire) &&
        atomic_load_explicit(&q->head, memory_order_acquire) == tail)
        *done = true;
    return NULL;
}

void ingest_genq_pop(ingest_genq *q)
{
    atomic_fetch_add_explicit(&q->tail, 1, memory_order_release);
}

void ingest_genq_stop(ingest_genq *q)
{
    if (!q) return;
    atomic_store(&q->stop, true);
    pthread_join(q->thread, NULL);
    free(q->slots);
    free(q);
}
