/* Record ids: random (version 4) UUIDs written as 32 lowercase hex digits without dashes. */
#ifndef RTETL_INGEST_ID_H
#define RTETL_INGEST_ID_H

#include "ingest/rng.h"

#include <stdbool.h>
#include <stddef.h>

enum { INGEST_ID_LEN = 32 };

typedef struct ingest_idgen {
    bool seeded;              /* ids come from rng (reproducible) rather than the kernel */
    ingest_rng rng;           /* used when seeded */
    size_t pos;               /* next unused byte of pool */
    unsigned char pool[4096]; /* kernel random bytes, refilled when used up */
} ingest_idgen;

/* With seed != NULL the ids are derived from a PRNG seeded with *seed (the same ids on every
 * run); otherwise from the kernel's random source (getrandom), read 4 KiB at a time so an id
 * costs no system call. */
void ingest_idgen_init(ingest_idgen *g, const uint64_t *seed);
/* Writes the next id into out[0..31] (no terminating NUL). */
void ingest_id_next(ingest_idgen *g, char out[INGEST_ID_LEN]);
/* Formats 16 bytes as a v4 UUID id: sets the version (4) and variant (10xx) bits. */
void ingest_id_format(const unsigned char bytes[16], char out[INGEST_ID_LEN]);

#endif
