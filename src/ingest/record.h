/* The record that ingest sends to Kafka: one randomuser result flattened to a JSON object of
 * exactly 12 string fields, in this order:
 *   id, first_name, last_name, gender, address, post_code, email, username, dob,
 *   registered_date, phone, picture
 * where address = "{street.number} {street.name}, {city}, {state}, {country}" and post_code is
 * always a string (the API gives a number for some countries and a string for others). */
#ifndef RTETL_INGEST_RECORD_H
#define RTETL_INGEST_RECORD_H

#include "ingest/buf.h"
#include "ingest/id.h"

#include <stdbool.h>
#include <stddef.h>

enum { INGEST_RECORD_FIELDS = 12 };

/* A borrowed string slice (not NUL-terminated in general). */
typedef struct ingest_str {
    const char *p;
    size_t n;
} ingest_str;

/* The parts of one user that the record needs. Every slice is borrowed: from the generator's
 * tables and its per-user scratch, or from a parsed API answer; it lives as long as that. */
typedef struct ingest_user {
    ingest_str first, last, gender;
    ingest_str street_number, street_name, city, state, country, postcode;
    ingest_str email, username, dob, registered, phone, picture;
    char scratch[64]; /* numbers the API sent as JSON numbers, formatted as text */
    /* Set by a producer of users that guarantees every slice is valid UTF-8 without '"', '\\'
     * or control characters (the builtin generator; checked by its unit tests), so the
     * record writer can copy instead of escaping. Anything else must leave it false. */
    bool plain;
} ingest_user;

/* The names of the 12 fields in record order (for tests and validators). */
extern const char *const ingest_record_fields[INGEST_RECORD_FIELDS];

/* Appends the record for user u with the given id to b (a JSON object, no newline). */
void ingest_record_write(ingest_buf *b, const char id[INGEST_ID_LEN], const ingest_user *u);

#endif
