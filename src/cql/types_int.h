/* Internal helpers shared by the type formatters and parsers (types.c, value.c). */
#ifndef RTETL_CQL_TYPES_INT_H
#define RTETL_CQL_TYPES_INT_H

#include "cql/cql.h"

/* An snprintf-like output: counts every byte, writes what fits, keeps buf terminated. */
typedef struct cql_out {
    char *buf;
    size_t size;
    size_t len;
} cql_out;

void cql_out_put(cql_out *o, const char *s, size_t n);
void cql_out_printf(cql_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A two's-complement big-endian integer in decimal, with `scale` digits after the point
 * (decimal) when scale > 0, or an exponent when scale < 0. */
int cql_out_varint(cql_out *o, const uint8_t *p, int32_t n, int32_t scale);
/* A duration (three zig-zag vints: months, days, nanoseconds) as "1mo2d3ns". */
int cql_out_duration(cql_out *o, const uint8_t *p, int32_t n);

#endif
