/* Splitting CQL text into statements at ';' outside string literals ('..', "..", $$..$$) and
 * comments (--, //, block comments), for shells and script runners. */
#ifndef RTETL_CQL_SPLIT_H
#define RTETL_CQL_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cql_splitter {
    char *buf;
    size_t len, cap;
} cql_splitter;

/* Appends text; returns false when out of memory. */
bool cql_splitter_feed(cql_splitter *sp, const char *text, size_t n);
/* The next complete statement without its ';', trimmed, malloc'd (caller frees); NULL when none
 * is complete. Statements made only of comments and blanks are skipped. */
char *cql_splitter_next(cql_splitter *sp);
/* At end of input: what is left, trimmed and malloc'd, or NULL when only blanks/comments. */
char *cql_splitter_rest(cql_splitter *sp);
/* True when text other than blanks and comments waits for its ';'. */
bool cql_splitter_pending(const cql_splitter *sp);
void cql_splitter_free(cql_splitter *sp);

#endif
