/* The builtin source: a generator of randomuser-shaped users with realistic variety (25
 * nationalities, several scripts, apostrophes and hyphens in names, numeric and alphanumeric
 * postcodes). Seedable: the same seed gives the same users on every run and platform. It is
 * used by `rtetl ingest --source builtin` (as records) and by `rtetl fake-api` (as API JSON). */
#ifndef RTETL_INGEST_GEN_H
#define RTETL_INGEST_GEN_H

#include "ingest/buf.h"
#include "ingest/record.h"
#include "ingest/rng.h"

#include <stdbool.h>
#include <stdint.h>

/* A plain struct so it can live on the stack; no allocation, nothing to free. */
typedef struct ingest_gen {
    ingest_rng rng;
} ingest_gen;

/* One generated user: the record's parts in `user` (borrowing from the tables and from this
 * struct's own buffers, so valid until the struct is reused) plus what only the API shows. */
typedef struct ingest_person {
    ingest_user user;
    const char *nat, *title, *tz_offset, *tz_desc, *cell_pattern;
    bool female, postcode_numeric;
    int dob_age, registered_age, picture_no;
    char street_number[8], postcode[16], email[96], username[40], dob[28], registered[28];
    char phone[24], picture[64];
} ingest_person;

/* Seeds g with *seed, or from the kernel's random source when seed is NULL. */
void ingest_gen_init(ingest_gen *g, const uint64_t *seed);
/* Generates the next user into *p (overwriting it). No allocation. */
void ingest_gen_next(ingest_gen *g, ingest_person *p);
/* Appends p as a randomuser API `results[]` element (full shape: name.title, coordinates,
 * timezone, login.uuid, cell, picture.large ...); postcodes of numeric countries are JSON
 * numbers. Draws from g for the parts that only the API shows. */
void ingest_gen_write_api_user(ingest_gen *g, ingest_buf *b, const ingest_person *p);
/* Formats unix milliseconds as 2006-01-02T15:04:05.000Z into out (25 bytes with the NUL);
 * returns 24. Valid from 1900 to 2199 (other values give the epoch). */
size_t ingest_gen_iso_date(char *out, long long ms);
/* The number of nationalities the generator draws from. */
unsigned ingest_gen_nationalities(void);

#endif
