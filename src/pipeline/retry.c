/* Exponential backoff with jitter for retriable writes (see retry.h). */
#include "pipeline/retry.h"

#include <string.h>

/* splitmix64: tiny, seedable, good enough to spread retries. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (inclusive). */
static uint64_t uniform(uint64_t *state, uint64_t lo, uint64_t hi)
{
    if (hi <= lo) return lo;
    uint64_t span = hi - lo;
    if (span == UINT64_MAX) return next_u64(state);
    return lo + next_u64(state) % (span + 1);
}

void pipe_retry_init(pipe_retry *r, const pipe_retry_policy *p, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->policy = *p;
    if (r->policy.base_ms == 0) r->policy.base_ms = 1;
    if (r->policy.max_ms < r->policy.base_ms) r->policy.max_ms = r->policy.base_ms;
    r->rng = seed;
}

void pipe_retry_reset(pipe_retry *r)
{
    r->attempt = 0;
    r->prev_ms = 0;
}

/* min(max, base * 2^n) without overflow. */
static uint64_t exp_cap(const pipe_retry_policy *p, uint32_t n)
{
    uint64_t d = p->base_ms;
    for (uint32_t i = 0; i < n && d < p->max_ms; i++) d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    return d < p->max_ms ? d : p->max_ms;
}

bool pipe_retry_next(pipe_retry *r, uint64_t *delay_ms)
{
    const pipe_retry_policy *p = &r->policy;
    if (p->max_attempts && r->attempt >= p->max_attempts) return false;
    uint64_t d;
    switch (p->jitter) {
    case PIPE_JITTER_FULL: d = uniform(&r->rng, 0, exp_cap(p, r->attempt)); break;
    case PIPE_JITTER_DECORRELATED: {
        uint64_t prev = r->prev_ms ? r->prev_ms : p->base_ms;
        uint64_t hi = prev > UINT64_MAX / 3 ? UINT64_MAX : prev * 3;
        d = uniform(&r->rng, p->base_ms, hi < p->max_ms ? hi : p->max_ms);
        break;
    }
    default: d = exp_cap(p, r->attempt); break;
    }
    if (r->attempt < UINT32_MAX) r->attempt++;
    r->prev_ms = d;
    *delay_ms = d;
    return true;
}

static const char *const jitter_names[] = {"none", "full", "decorrelated"};

int pipe_jitter_parse(const char *s, pipe_jitter *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, jitter_names[i]) == 0) return *out = (pipe_jitter)i, 0;
    return -1;
}

const char *pipe_jitter_name(pipe_jitter j)
{
    return (unsigned)j < 3 ? jitter_names[j] : "?";
}
