/* The pipeline's expression language: compiled once per pipeline, evaluated per record by the
 * filter (step 4 of the record path) and by mapping columns (step 5).
 *
 * Grammar (keywords are lower case; a field is an identifier or a `back-quoted` name):
 *   expr     := or
 *   or       := and ('or' and)*
 *   and      := unary ('and' unary)*
 *   unary    := 'not' unary | compare
 *   compare  := value [('==' | '!=' | '<' | '<=' | '>' | '>=') value
 *                      | ['not'] 'in' '(' value (',' value)* ')']
 *   value    := '(' expr ')' | literal | field ('.' name)* | kafka
 *               | name '(' [expr (',' expr)*] ')'
 *   literal  := 'text' | "text" (escapes \\ \' \" \n \t \r) | integer | decimal | true | false
 *               | null
 *   kafka    := kafka.topic | kafka.partition | kafka.offset | kafka.timestamp | kafka.key
 *               | kafka.header('name')
 *
 * `x not in (a, b)` is `not (x in (a, b))`, SQL's NOT IN (unknown when x or one of them is
 * null and none equals x).
 *
 * A path `field.a.b` navigates the JSON object text a field holds (an object in a string or
 * map field, which the decoder keeps as its compact JSON, or a string whose text is a JSON
 * object, as Spark's get_json_object reads it): member a, then its member b. A string member
 * is its unescaped text, any other value its JSON text; an absent member, a null, or a value
 * that is no object on the way is null. A path is a string.
 *
 * Types: string, int (64-bit), double, boolean, timestamp (ms since the epoch, CQL's), date
 * (days since the epoch), uuid (its text) and null. A field has its schema type (string,
 * int/bigint -> int, double, boolean, timestamp, date, uuid; a list or map field is a string
 * holding its JSON text). A uuid compares with a uuid or a string as text, case-insensitively.
 * Compiling checks types: `and`/`or`/`not` take booleans, comparisons take two numbers, two
 * strings, two booleans, a timestamp (or date) and a timestamp (or date) or a string (read as
 * ISO-8601), or a number and a string (the number's text is compared, as the filter always did:
 * `age == '42'`).
 *
 * Functions:
 *   lower(s) upper(s)       ASCII case mapping (other bytes are kept)
 *   trim(s)                 without leading and trailing blanks (space, \t, \r, \n)
 *   concat(a, b, ...)       the texts joined; null when any is null (Spark's concat)
 *   substr(s, start[, n])   n characters (UTF-8 code points) from 1-based start; a start <= 0
 *                           counts from the end (Spark's substr)
 *   coalesce(a, b, ...)     the first that is not null
 *   to_timestamp(s)         ISO-8601 text as CQL reads it (util/isotime.h) -> timestamp; an
 *                           int is taken as epoch milliseconds; other text is an error
 *   to_date(s)              "yyyy-mm-dd" text or a timestamp -> date
 *   to_uuid(s)              a UUID's text (8-4-4-4-12 hex digits, either case) -> uuid (lower
 *                           case); other text is an error
 *   now()                   the wall clock, a timestamp
 *   uuid_v5(ns, a, ...)     RFC 4122 name-based UUID (SHA-1) of the texts joined, in the
 *                           namespace ns: a UUID text or one of 'dns', 'url', 'oid', 'x500';
 *                           a uuid
 *   matches(s, 'regex')     POSIX extended regex search (compiled once: the regex must be a
 *                           literal)
 *   contains(s, 'x') starts_with(s, 'x') ends_with(s, 'x')   substring tests (literal x)
 *   not_empty(s)            s is not ''
 *   is_null(x) present(x)   x is null or absent / is not
 * A string-taking function converts a number, boolean, timestamp or date argument to its text
 * (timestamps as "yyyy-mm-ddTHH:MM:SS.mmmZ").
 *
 * Null follows SQL: a null or absent operand makes a comparison, an `in` or a function result
 * null (unknown), except coalesce, is_null and present; `not` of unknown is unknown; `and`/`or`
 * are Kleene's (false and unknown = false, true or unknown = true). `x in (a, b)` is true when x
 * equals one of them, else unknown when x or one of them is null, else false.
 *
 * Evaluation errors (to_timestamp of text that is no timestamp, to_uuid of text that is no
 * UUID, no scratch space left) are not
 * values: the evaluator returns -1 with a one-line reason. The mapping dead-letters the record
 * with that reason; the filter (filter.h) takes an error as unknown, as Spark's to_timestamp
 * returns null for text it cannot read. */
#ifndef RTETL_PIPELINE_EXPR_H
#define RTETL_PIPELINE_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/arena.h"
#include "pipeline/decode.h"
#include "pipeline/schema.h"

typedef enum {
    PIPE_X_NULL = 0,
    PIPE_X_BOOL,
    PIPE_X_INT,
    PIPE_X_DOUBLE,
    PIPE_X_STRING,
    PIPE_X_TIMESTAMP, /* i: milliseconds since the epoch */
    PIPE_X_DATE,      /* i: days since the epoch */
    PIPE_X_UUID,      /* s/n: its 36-character text (text_ok is set) */
    PIPE_X__ANY,      /* compile-time only: not known before evaluation */
} pipe_xtype;

/* A value. Strings are (s, n), not NUL-terminated, borrowed from the record, the expression's
 * literals or the scratch arena. A number read from a field also keeps its JSON text in (s, n)
 * (text_ok), so comparing it with a string compares the text the record had. */
typedef struct pipe_xval {
    uint8_t type;    /* pipe_xtype */
    uint8_t text_ok; /* numbers: s/n hold their text */
    bool b;
    int64_t i;
    double d;
    const char *s;
    size_t n;
} pipe_xval;

/* Kafka metadata of the record being evaluated, filled by the caller (the stream engine from
 * its rd_kafka_message_t). topic is NUL-terminated; key NULL means a null key; timestamp_ms < 0
 * means none. header() (NULL: no headers) finds the last header called name and sets its value
 * (*val NULL for a null value); it returns false when there is none. */
typedef struct pipe_kafka_meta {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    const char *key;
    size_t key_len;
    bool (*header)(const void *ud, const char *name, const void **val, size_t *len);
    const void *header_ud;
} pipe_kafka_meta;

/* What one evaluation reads and writes. meta may be NULL (kafka.* are then null). Computed
 * strings go into scratch (valid until the caller resets it); with scratch NULL, a function
 * that needs space fails. err receives the reason of a failed evaluation. */
typedef struct pipe_xctx {
    const pipe_record *rec;
    const pipe_kafka_meta *meta;
    pipe_arena *scratch;
    char *err;
    size_t errlen;
} pipe_xctx;

typedef struct pipe_expr pipe_expr;

enum { PIPE_EXPR_MAX_DEPTH = 64, PIPE_EXPR_MAX_NODES = 4096 };

/* How pipe_expr_compile reads its text. */
typedef struct pipe_xopts {
    const char *what; /* error prefix: "expr" (default), "filter", a column name ... */
    bool boolean;     /* the result must be a boolean (a filter); an empty text is `true` */
} pipe_xopts;

/* Compiles text (NUL-terminated) against schema s. On error returns NULL and writes one line
 * into err naming line and column, e.g. "expr:1:10: expected ')'". The result owns copies of
 * everything it needs (not text, not s); the caller frees it with pipe_expr_free. opts may be
 * NULL. */
pipe_expr *pipe_expr_compile(const char *text, const pipe_schema *s, const pipe_xopts *opts,
                             char *err, size_t errlen);
/* Frees x; NULL is allowed. */
void pipe_expr_free(pipe_expr *x);

/* Evaluates x for ctx->rec (decoded with the schema x was compiled against) into *out. Returns
 * 0, or -1 with the reason in ctx->err. Allocates nothing but from ctx->scratch (matches()
 * runs the C library's regexec, which may allocate internally). Safe to call concurrently on
 * the same x. */
int pipe_expr_eval(const pipe_expr *x, const pipe_xctx *ctx, pipe_xval *out);

/* The static type of x's result (PIPE_X__ANY when it depends on the record). */
pipe_xtype pipe_expr_type(const pipe_expr *x);
/* The schema field index when x is nothing but a field reference, else -1. */
int pipe_expr_field(const pipe_expr *x);
/* True when x is the literal `true`. */
bool pipe_expr_is_true(const pipe_expr *x);

/* Writes the canonical text of x (and/or chains parenthesized, fields back-quoted when they
 * are not plain identifiers, literals re-escaped) into buf; returns the length needed, like
 * snprintf. Compiling it gives an equivalent expression that prints the same. */
size_t pipe_expr_print(const pipe_expr *x, const pipe_schema *s, char *buf, size_t buflen);

/* The text of a non-null value v (a string as it is, numbers in decimal, booleans as
 * true/false, timestamps as "yyyy-mm-ddTHH:MM:SS.mmmZ", dates as "yyyy-mm-dd"): (p, n) point at
 * v's own bytes or at buf (at least 40 bytes). */
void pipe_xval_text(const pipe_xval *v, char *buf, size_t buflen, const char **p, size_t *n);
/* "string", "int", ... (static storage). */
const char *pipe_xtype_name(pipe_xtype t);
/* The CQL column type a value of static type t is written as when a table is created:
 * "timestamp", "date", "uuid", "bigint" (int), "double", "boolean", else "text". */
const char *pipe_xtype_cql(pipe_xtype t);

#endif
