/* Latency histogram: log-linear buckets (16 per power of two, ~6% precision) over unsigned
 * 64-bit values, recorded in O(1) with no allocation, so it can sit on the per-record path.
 * Values are usually microseconds. Not thread-safe: one owner thread records and reads. */
#ifndef RTETL_UTIL_HIST_H
#define RTETL_UTIL_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 4
#define HIST_BUCKETS  (64 * (1 << HIST_SUB_BITS))

typedef struct hist {
    uint64_t count;
    uint64_t sum;
    uint64_t max;
    uint64_t buckets[HIST_BUCKETS];
} hist;

void hist_reset(hist *h);
void hist_record(hist *h, uint64_t v);
/* Adds every sample of src into dst. */
void hist_merge(hist *dst, const hist *src);
/* The value at quantile q (0..1), reported as the upper bound of its bucket (capped at max);
 * 0 for an empty histogram. */
uint64_t hist_quantile(const hist *h, double q);

#endif
