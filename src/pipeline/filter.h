/* Compiled filter expressions over a decoded record (record path step 4): a boolean
 * expression of pipeline/expr.h, whose header has the grammar, the functions and the types.
 *
 * The filter's own forms are all there: field ('==' | '!=') 'text', contains/starts_with/
 * ends_with(field, 'text'), not_empty/is_null/present(field), not/and/or, true/false and
 * parentheses; to them the expression language adds < <= > >=, `in (...)`, matches(), literals
 * of every type, Kafka metadata and function calls on either side, e.g.
 *   lower(email) == 'x@y' and to_timestamp(dob) > to_timestamp('1990-01-01T00:00:00Z')
 *
 * Semantics follow SQL (and Spark's, which the reference pipeline used): an absent or null
 * field makes a comparison or a contains/starts_with/ends_with/not_empty test unknown; `not`
 * of unknown is unknown; `and`/`or` are Kleene's; a record is kept only when the whole
 * expression is true. So `email != ''` and `not_empty(email)` agree, and both drop a record
 * without an email. is_null(f) is true for absent or null; present(f) is its negation. For a
 * non-string field, comparisons with a string use the value's JSON text ("42", "true"). An
 * evaluation error (to_timestamp of text that is no timestamp) is unknown too, as Spark's
 * to_timestamp gives null. An empty expression keeps every record. */
#ifndef RTETL_PIPELINE_FILTER_H
#define RTETL_PIPELINE_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/decode.h"
#include "pipeline/expr.h"
#include "pipeline/schema.h"

typedef struct pipe_filter pipe_filter;

enum { PIPE_FILTER_MAX_DEPTH = PIPE_EXPR_MAX_DEPTH, PIPE_FILTER_MAX_NODES = PIPE_EXPR_MAX_NODES };

/* Compiles expr (NUL-terminated; NULL or blank keeps everything) against schema s, resolving
 * field names to indexes. On error returns NULL and writes one line into err naming line and
 * column, e.g. "filter:1:10: expected ')'". The caller frees the result with pipe_filter_free;
 * the filter keeps no pointer to expr or s. */
pipe_filter *pipe_filter_compile(const char *expr, const pipe_schema *s, char *err, size_t errlen);
/* Frees f; NULL is allowed. */
void pipe_filter_free(pipe_filter *f);

/* True when record r passes. r must come from the schema f was compiled against. Never
 * allocates; safe to call concurrently on the same filter. Without Kafka metadata (kafka.* are
 * null) and without scratch space (a function computing text, like lower(), is unknown): the
 * stream engine calls pipe_filter_eval_ctx. */
bool pipe_filter_eval(const pipe_filter *f, const pipe_record *r);
/* The same with the metadata and scratch arena of ctx (see pipe_xctx; err may be NULL). */
bool pipe_filter_eval_ctx(const pipe_filter *f, const pipe_xctx *ctx);

/* Writes the canonical text of f into buf (fully parenthesized, fields back-quoted when not
 * plain identifiers); returns the length it needed, like snprintf. Compiling that text gives
 * an equivalent filter. */
size_t pipe_filter_print(const pipe_filter *f, const pipe_schema *s, char *buf, size_t buflen);
/* True when f keeps every record without looking at it (empty expression or `true`). */
bool pipe_filter_is_trivial(const pipe_filter *f);

#endif
