/* Log-linear latency histogram (see hist.h).
 *
 * DESIGN: a value v below 2^SUB_BITS has its own bucket; above, its bucket is chosen by the
 * position of its highest set bit (the "magnitude") and the SUB_BITS bits below it, so every
 * power-of-two range is split in 16 equal slices. Recording is a count-leading-zeros, two
 * shifts and an increment; quantiles walk the 1024 buckets, which only status and metrics
 * rendering do, once a second at most. */
#include "util/hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS)) return (unsigned)v;
    unsigned mag = 63u - (unsigned)__builtin_clzll(v);
    unsigned sub = (unsigned)(v >> (mag - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1);
    return ((mag - HIST_SUB_BITS + 1) << HIST_SUB_BITS) + sub;
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_upper(unsigned b)
{
    if (b < (1u << HIST_SUB_BITS)) return b;
    unsigned mag = (b >> HIST_SUB_BITS) + HIST_SUB_BITS - 1;
    uint64_t sub = b & ((1u << HIST_SUB_BITS) - 1);
    uint64_t low = (1ull << mag) | (sub << (mag - HIST_SUB_BITS));
    return low + (1ull << (mag - HIST_SUB_BITS)) - 1;
}

void hist_reset(hist *h)
{
    memset(h, 0, sizeof *h);
}

void hist_record(hist *h, uint64_t v)
{
    h->buckets[bucket_of(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max) h->max = v;
}

void hist_merge(hist *dst, const hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++) dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max) dst->max = src->max;
}

uint64_t hist_quantile(const hist *h, double q)
{
    if (h->count == 0) return 0;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            uint64_t up = bucket_upper(b);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}
