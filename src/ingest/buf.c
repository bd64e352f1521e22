/* Growable byte buffer (see buf.h). */
#include "ingest/buf.h"

#include <stdio.h>
#include <stdlib.h>

void ingest_buf_init(ingest_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void ingest_buf_free(ingest_buf *b)
{
    free(b->p);
    ingest_buf_init(b);
}

void ingest_buf_grow(ingest_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < need) {
        if (cap > (size_t)-1 / 2)
            cap = (size_t)-1;
        else
            cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "rtetl: out of memory (buffer of %zu bytes)\n", cap);
        abort();
    }
    b->p = p;
    b->cap = cap;
}

void ingest_buf_putu(ingest_buf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    ingest_buf_put(b, tmp + i, sizeof tmp - i);
}

const char *ingest_buf_cstr(ingest_buf *b)
{
    ingest_buf_reserve(b, 1);
    b->p[b->len] = '\0';
    return b->p;
}
