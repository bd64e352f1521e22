/* The builtin source on its own thread: a generator thread writes finished records into a
 * single-producer single-consumer ring that the producing thread drains. */
#ifndef RTETL_INGEST_GENQ_H
#define RTETL_INGEST_GENQ_H

#include "ingest/id.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { INGEST_GENQ_MAX_RECORD = 2000 }; /* bytes; builtin records are about 400-900 */

typedef struct ingest_genq_rec {
    uint32_t len;                      /* bytes in data */
    char id[INGEST_ID_LEN];            /* the record id (the message key) */
    char data[INGEST_GENQ_MAX_RECORD]; /* the record (the message value) */
} ingest_genq_rec;

typedef struct ingest_genq ingest_genq;

/* Starts a generator thread making `count` records (0: until stopped); ids and users are
 * seeded as ingest_gen/ingest_idgen do (seed NULL: random). Returns NULL with err filled when
 * the thread cannot start. */
ingest_genq *ingest_genq_start(const uint64_t *seed, unsigned long long count, char *err,
                               size_t errlen);
/* The oldest ready record, or NULL when none is ready now; *done is set when the generator has
 * finished its count and everything was taken. The record stays valid until ingest_genq_pop. */
const ingest_genq_rec *ingest_genq_peek(ingest_genq *q, bool *done);
/* Releases the record returned by the last peek. */
void ingest_genq_pop(ingest_genq *q);
/* Stops the generator thread, waits for it, frees q. Records not taken are discarded. */
void ingest_genq_stop(ingest_genq *q);

#endif
