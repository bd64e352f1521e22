/* Tables behind the builtin generator: per nationality, names (with a Latin spelling for email
 * addresses), places, streets and the shapes of postcodes and phone numbers. */
#ifndef RTETL_INGEST_GEN_DATA_H
#define RTETL_INGEST_GEN_DATA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gen_name {
    const char *s;     /* as written in the country's script */
    const char *latin; /* ASCII spelling for emails; NULL when s is already plain ASCII */
    unsigned len;      /* strlen(s), computed at compile time */
} gen_name;

typedef struct gen_place {
    const char *city, *state;
    unsigned city_len, state_len; /* computed at compile time */
} gen_place;

typedef struct gen_str {
    const char *s;
    unsigned len;
} gen_str;

/* Patterns: '#' a digit, 'N' a digit 1-9, 'A' an upper-case letter; other bytes are literal. */
typedef struct gen_nat {
    const char *code, *country;
    unsigned country_len;
    const gen_name *male, *female, *last;
    unsigned nmale, nfemale, nlast;
    const gen_place *places;
    unsigned nplaces;
    const gen_str *streets;
    unsigned nstreets;
    const char *postcode;
    bool postcode_numeric; /* the API sends it as a JSON number */
    const char *phone, *cell;
    const char *tz_offset, *tz_desc;
} gen_nat;

extern const gen_nat gen_nats[];
extern const unsigned gen_nnats;

extern const char *const gen_adjectives[];
extern const unsigned gen_nadjectives;
extern const char *const gen_animals[];
extern const unsigned gen_nanimals;

#endif
