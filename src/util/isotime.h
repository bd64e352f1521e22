/* ISO-8601 dates and timestamps as Cassandra reads them, shared by the CQL client's text binds
 * (cql/value_parse.c) and the pipeline's to_timestamp/to_date (pipeline/expr), so a value
 * converted in a mapping and the same text bound to a timestamp column agree. */
#ifndef RTETL_UTIL_ISOTIME_H
#define RTETL_UTIL_ISOTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t iso_days_from_civil(int64_t y, int m, int d);
/* The civil date of a day number (the inverse of iso_days_from_civil). */
void iso_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* "[-]yyyy-mm-dd" at *p with a day that exists in its month; advances *p past it. 0 or -1. */
int iso_parse_date(const char **p, int64_t *days);
/* "H[H]:M[M][:S[S][.fffffffff]]" at *p -> nanoseconds since midnight; advances *p. The time
 * type needs the seconds and a digit after a point; a timestamp (timestamp=true) takes neither
 * and also "24:00[:00[.000]]" (the next midnight), as Cassandra does. 0 or -1. */
int iso_parse_clock(const char **p, bool timestamp, int64_t *ns);
/* A timestamp's zone, which must end the NUL-terminated text t: nothing (UTC), "Z", "+hh",
 * "+hhmm", "+hh:mm" (at most 18:00 either way), optionally after one space, or " UTC"/" GMT".
 * Region names ("Europe/Paris") need a zone database and are refused. 0 or -1. */
int iso_parse_zone(const char *t, int64_t *minutes);

/* A whole timestamp s[0..len-1]: "[-]yyyy-mm-dd[(T| )clock][zone]" -> milliseconds since the
 * epoch (sub-millisecond digits are dropped). Integers are not taken here (the caller decides
 * whether digits are epoch milliseconds). Never allocates. 0 or -1. */
int iso_parse_timestamp(const char *s, size_t len, int64_t *ms);

/* Formats ms since the epoch as "yyyy-mm-ddTHH:MM:SS.mmmZ" (the form Cassandra's toJson and
 * Spark print, which iso_parse_timestamp reads back) into buf; returns the length, like
 * snprintf. */
size_t iso_format_timestamp(int64_t ms, char *buf, size_t buflen);
/* Formats a day number as "yyyy-mm-dd" (negative years with a '-'); returns the length. */
size_t iso_format_date(int64_t days, char *buf, size_t buflen);

#endif
