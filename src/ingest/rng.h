/* A small, fast, seedable PRNG for the record generator: xoshiro256** seeded through splitmix64
 * (both public-domain algorithms by Blackman and Vigna, written here from their descriptions).
 * Not for cryptography; ids made from it are unique in practice but predictable by design when
 * a seed is given (reproducible benchmark runs). */
#ifndef RTETL_INGEST_RNG_H
#define RTETL_INGEST_RNG_H

#include <stdint.h>

typedef struct ingest_rng {
    uint64_t s[4];
} ingest_rng;

/* One step of splitmix64: advances *state and returns a well-mixed value. */
static inline uint64_t ingest_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds deterministically: the same seed gives the same sequence on every platform. */
void ingest_rng_seed(ingest_rng *r, uint64_t seed);
/* Seeds from the kernel's random source (getrandom); returns 0, or -1 when it is unavailable
 * (then the state is seeded from the clock and the pid, which is still fine for test data). */
int ingest_rng_seed_random(ingest_rng *r);
/* Hashes a string (e.g. randomuser's `seed=` parameter) to a 64-bit seed (FNV-1a + mixing). */
uint64_t ingest_seed_from_string(const char *s);

static inline uint64_t ingest_rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t ingest_rng_next(ingest_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = ingest_rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ingest_rotl64(s[3], 45);
    return result;
}

/* A uniform integer in [0, n) for n > 0 (Lemire's multiply-shift; the bias for the small n used
 * here is below 2^-32 and irrelevant for test data). */
static inline uint32_t ingest_rng_below(ingest_rng *r, uint32_t n)
{
    return (uint32_t)(((ingest_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* A uniform double in [0, 1). */
static inline double ingest_rng_unit(ingest_rng *r)
{
    return (double)(ingest_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
