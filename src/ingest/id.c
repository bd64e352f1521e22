/* Record ids (see id.h). */
#include "ingest/id.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static void refill(ingest_idgen *g)
{
    size_t got = 0;
    while (got < sizeof g->pool) {
        ssize_t k = getrandom(g->pool + got, sizeof g->pool - got, 0);
        if (k <= 0) break;
        got += (size_t)k;
    }
    if (got < sizeof g->pool) {
        /* No kernel randomness (very old kernel or seccomp): fall back to a randomly seeded
         * PRNG rather than failing; ids stay unique in practice. */
        ingest_rng r;
        ingest_rng_seed_random(&r);
        for (size_t i = got; i < sizeof g->pool; i++)
            g->pool[i] = (unsigned char)ingest_rng_next(&r);
    }
    g->pos = 0;
}

void ingest_idgen_init(ingest_idgen *g, const uint64_t *seed)
{
    g->seeded = seed != NULL;
    if (seed) ingest_rng_seed(&g->rng, *seed ^ 0x1d5eed1d5eed1d5eULL);
    g->pos = sizeof g->pool;
}

/* "000102...fefdff": the two hex digits of every byte value. */
static char hex_pairs[512];
static pthread_once_t hex_once = PTHREAD_ONCE_INIT;

static void hex_init(void)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 256; i++) {
        hex_pairs[2 * i] = hex[i >> 4];
        hex_pairs[2 * i + 1] = hex[i & 15];
    }
}

void ingest_id_format(const unsigned char bytes[16], char out[INGEST_ID_LEN])
{
    pthread_once(&hex_once, hex_init);
    for (int i = 0; i < 16; i++) {
        unsigned c = bytes[i];
        if (i == 6) c = (c & 0x0F) | 0x40; /* version 4 */
        if (i == 8) c = (c & 0x3F) | 0x80; /* variant 10xx */
        memcpy(out + 2 * i, hex_pairs + 2 * c, 2);
    }
}

void ingest_id_next(ingest_idgen *g, char out[INGEST_ID_LEN])
{
    unsigned char bytes[16];
    if (g->seeded) {
        uint64_t a = ingest_rng_next(&g->rng), b = ingest_rng_next(&g->rng);
        memcpy(bytes, &a, 8);
        memcpy(bytes + 8, &b, 8);
    } else {
        if (g->pos + 16 > sizeof g->pool) refill(g);
        memcpy(bytes, g->pool + g->pos, 16);
        g->pos += 16;
    }
    ingest_id_format(bytes, out);
}
