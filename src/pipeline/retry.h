/* Retry policy for retriable writes: exponential backoff with full or decorrelated jitter. */
#ifndef RTETL_PIPELINE_RETRY_H
#define RTETL_PIPELINE_RETRY_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    PIPE_JITTER_NONE = 0,     /* base * 2^n, capped: deterministic (tests, debugging) */
    PIPE_JITTER_FULL,         /* uniform in [0, min(max, base * 2^n)] */
    PIPE_JITTER_DECORRELATED, /* uniform in [base, min(max, 3 * previous delay)] */
} pipe_jitter;

/* A plain value; the defaults are PIPE_RETRY_POLICY_DEFAULT. */
typedef struct pipe_retry_policy {
    uint64_t base_ms;      /* first delay (before jitter); 0 is treated as 1 */
    uint64_t max_ms;       /* cap on any delay; raised to base_ms when smaller */
    uint32_t max_attempts; /* retries allowed after the first try; 0 = forever */
    pipe_jitter jitter;
} pipe_retry_policy;

#define PIPE_RETRY_POLICY_DEFAULT \
    ((pipe_retry_policy){         \
        .base_ms = 100, .max_ms = 10000, .max_attempts = 0, .jitter = PIPE_JITTER_FULL})

/* Per-operation retry state; embed it in the operation (no allocation). */
typedef struct pipe_retry {
    pipe_retry_policy policy; /* copied at init */
    uint32_t attempt;         /* retries handed out so far */
    uint64_t prev_ms;         /* last delay, for decorrelated jitter */
    uint64_t rng;             /* PRNG state */
} pipe_retry;

/* Starts a retry sequence under policy p (copied). seed fixes the jitter sequence; production
 * callers pass something varying (time, a counter) so that processes do not retry in step. */
void pipe_retry_init(pipe_retry *r, const pipe_retry_policy *p, uint64_t seed);
/* Returns true with the delay before the next attempt in *delay_ms, or false when max_attempts
 * retries have been handed out. */
bool pipe_retry_next(pipe_retry *r, uint64_t *delay_ms);
/* Starts over after a success, keeping the policy and the PRNG stream. */
void pipe_retry_reset(pipe_retry *r);

/* Parses "none", "full", "decorrelated"; -1 for anything else. */
int pipe_jitter_parse(const char *s, pipe_jitter *out);
/* "none", "full" or "decorrelated" (static storage). */
const char *pipe_jitter_name(pipe_jitter j);

#endif
