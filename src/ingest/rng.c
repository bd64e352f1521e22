/* Seeding for the generator's PRNG (see rng.h). */
#include "ingest/rng.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void ingest_rng_seed(ingest_rng *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++) r->s[i] = ingest_splitmix64(&st);
}

int ingest_rng_seed_random(ingest_rng *r)
{
    if (getrandom(r->s, sizeof r->s, 0) == (ssize_t)sizeof r->s &&
        (r->s[0] | r->s[1] | r->s[2] | r->s[3]) != 0)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ingest_rng_seed(r, (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                           ((uint64_t)getpid() << 40));
    return -1;
}

uint64_t ingest_seed_from_string(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return ingest_splitmix64(&h);
}
