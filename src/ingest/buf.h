/* A growable byte buffer that records are written into. It is reused from record to record, so
 * once it has grown to its working size the hot path does not allocate. */
#ifndef RTETL_INGEST_BUF_H
#define RTETL_INGEST_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct ingest_buf {
    char *p;    /* owned; not NUL-terminated unless ingest_buf_cstr was called */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
} ingest_buf;

/* Starts an empty buffer (no allocation until the first write). */
void ingest_buf_init(ingest_buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void ingest_buf_free(ingest_buf *b);
/* Makes room for at least `need` more bytes. Aborts the process when memory runs out: a record
 * builder has no useful way to go on without memory. */
void ingest_buf_grow(ingest_buf *b, size_t need);
/* Appends the decimal form of v. */
void ingest_buf_putu(ingest_buf *b, unsigned long long v);
/* NUL-terminates the contents (not counted in len) and returns them; valid until the next
 * write or free. */
const char *ingest_buf_cstr(ingest_buf *b);

static inline void ingest_buf_reserve(ingest_buf *b, size_t n)
{
    if (b->cap - b->len < n) ingest_buf_grow(b, n);
}

static inline void ingest_buf_put(ingest_buf *b, const void *s, size_t n)
{
    ingest_buf_reserve(b, n);
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void ingest_buf_putc(ingest_buf *b, char c)
{
    ingest_buf_reserve(b, 1);
    b->p[b->len++] = c;
}

static inline void ingest_buf_puts(ingest_buf *b, const char *s)
{
    ingest_buf_put(b, s, strlen(s));
}

/* Appends a string literal without a strlen at run time. */
#define ingest_buf_lit(b, s) ingest_buf_put((b), (s), sizeof(s) - 1)

#endif
