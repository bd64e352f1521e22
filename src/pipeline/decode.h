/* Zero-copy decoding of one JSON object message against a compiled schema (record path step 2
 * and 3: decode and validate). See decode.c for the mechanism. */
#ifndef RTETL_PIPELINE_DECODE_H
#define RTETL_PIPELINE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/arena.h"
#include "pipeline/schema.h"

/* The JSON type a value had in the message. */
typedef enum {
    PIPE_JSON_NONE = 0, /* the key was absent */
    PIPE_JSON_NULL,
    PIPE_JSON_BOOL,
    PIPE_JSON_NUMBER,
    PIPE_JSON_STRING,
    PIPE_JSON_OBJECT,
    PIPE_JSON_ARRAY,
} pipe_json_type;

/* One field's value: ptr/len is the text to store (what the filter tests and the stream
 * engine binds), json_type what the JSON had.
 * - A JSON string: the unescaped UTF-8 (may contain NUL bytes; not NUL-terminated), a slice of
 *   the message when it had no escapes, else bytes in the arena. In a double field, one of the
 *   six non-finite spellings is stored as "NaN", "Infinity" or "-Infinity" (static text).
 * - A number, boolean, object or array in a string field (not strict) is converted to the text
 *   Spark's from_json stores (json_text.h): json_type stays NUMBER, BOOL, OBJECT or ARRAY and
 *   ptr/len is the converted text. An integer ("58378") and true/false are slices of the
 *   message; a float ("1e3" -> "1000.0"), an object or an array ({"k": [1]} -> {"k":[1]}) is
 *   written into the arena.
 * - A number in an int, bigint or double field: its JSON text, a slice ("-0" in a double field
 *   is stored as "0", as Spark reads it); true/false in a boolean field likewise.
 * - An absent key or null: present/json_type say so and ptr is NULL, len 0. */
typedef struct pipe_value {
    const char *ptr;
    size_t len;
    uint8_t present;   /* 1 when the key occurred, even with a null value */
    uint8_t json_type; /* pipe_json_type */
} pipe_value;

/* One decoded record: v[i] belongs to schema field i. */
typedef struct pipe_record {
    size_t nfields;
    pipe_value v[];
} pipe_record;

/* Allocates a record sized for schema s; the caller frees it with pipe_record_free. A record
 * may be reused for any number of pipe_decode calls. */
pipe_record *pipe_record_new(const pipe_schema *s);
/* Frees r (not what its values point to: the message and the arena); NULL is allowed. */
void pipe_record_free(pipe_record *r);

/* Decode outcomes. The reason strings (pipe_decode_reason) are stable: they go into the
 * dead-letter header and metrics labels. */
typedef enum {
    PIPE_DEC_OK = 0,
    PIPE_DEC_EMPTY,           /* "empty": zero bytes or whitespace only */
    PIPE_DEC_TOO_LARGE,       /* "message_too_large": over the schema's message bound */
    PIPE_DEC_MALFORMED,       /* "malformed_json": not JSON (offset says where) */
    PIPE_DEC_NOT_OBJECT,      /* "not_object": valid JSON but not an object */
    PIPE_DEC_TRAILING,        /* "trailing_data": bytes after the object */
    PIPE_DEC_BAD_UTF8,        /* "invalid_utf8": a string with invalid UTF-8 */
    PIPE_DEC_BAD_ESCAPE,      /* "invalid_escape": unknown escape, bad \u, lone surrogate */
    PIPE_DEC_TOO_DEEP,        /* "too_deep": nesting beyond PIPE_DECODE_MAX_DEPTH */
    PIPE_DEC_DUPLICATE_KEY,   /* "duplicate_field": a strict schema field occurs twice */
    PIPE_DEC_MISSING_FIELD,   /* "missing_field": a required field is absent */
    PIPE_DEC_NULL_FIELD,      /* "null_field": a required field is null */
    PIPE_DEC_WRONG_TYPE,      /* "wrong_type": e.g. a string where an int is due, or a
                                 number where a strict string is due */
    PIPE_DEC_VALUE_TOO_LARGE, /* "value_too_large": a field over its max_bytes */
    PIPE_DEC_NUMBER_RANGE,    /* "number_out_of_range": an int/bigint that does not fit, a
                                 number too long to convert into a string field */
    PIPE_DEC_BAD_VALUE,       /* "invalid_value": text a timestamp, date or uuid field cannot
                                 convert (not ISO-8601, not a UUID), or a null in a list or
                                 map (CQL collections hold no nulls) */
    PIPE_DEC_NO_MEMORY,       /* "no_memory": the arena could not grow (not the record's
                                 fault: the caller should not dead-letter it) */
    PIPE_DEC__COUNT
} pipe_decode_err;

enum { PIPE_DECODE_MAX_DEPTH = 512 };

/* Where and why decoding failed; filled by pipe_decode on error. */
typedef struct pipe_decode_error {
    pipe_decode_err code;
    size_t offset;     /* byte offset into the message */
    int field;         /* schema field index, or -1 */
    uint8_t json_type; /* for WRONG_TYPE: the pipe_json_type found */
} pipe_decode_error;

/* Decodes buf[0..len-1] into out. Values borrow from buf and from arena: they stay valid while
 * buf is alive and until the arena is reset. Never calls malloc; arena may be NULL when the
 * caller accepts PIPE_DEC_NO_MEMORY for any value that needs it (a string with escapes, a
 * converted float, object or array). On error, out is unspecified and err (may be NULL) says
 * why.
 *
 * Semantics (Spark's from_json with the matching Spark types is the reference; where Spark
 * would silently null a field or a whole row, rtetl dead-letters the record instead):
 * - A duplicate key of a schema field: the last occurrence wins, as in Spark (row.update);
 *   with a strict field it is duplicate_field. Every occurrence is checked, so an invalid
 *   earlier one still dead-letters the record. Duplicate unknown keys are skipped like any
 *   unknown key, and duplicates inside a converted object are kept as they are.
 * - string: any JSON value, converted as described at pipe_value (strict: a string only, else
 *   wrong_type). A number longer than PIPE_JSON_MAX_NUMBER_LEN, which Jackson refuses, is
 *   number_out_of_range.
 * - int, bigint: an integer that fits (else number_out_of_range); anything else is wrong_type,
 *   where Spark would null the field ("1.0", "1" and true included).
 * - double: any number (Spark's getDoubleValue: the CQL side parses the same text to the same
 *   double) and the strings "NaN", "Infinity", "+Infinity", "-Infinity", "+INF", "-INF"
 *   (case-sensitive, as Spark's allowNonNumericNumbers); other strings, booleans, objects and
 *   arrays are wrong_type.
 * - boolean: true or false only.
 * - timestamp, date, uuid: a string CQL reads as a literal of the column type
 *   (pipe_type_check_text; else invalid_value), kept as its text; a timestamp also takes a
 *   JSON integer (epoch milliseconds, as CQL does; not when strict). Other JSON types are
 *   wrong_type (Spark would null the field).
 * - list: a JSON array; map: a JSON object. Stored as compact JSON whose elements (map values)
 *   are all strings: a string as it is, anything else as the text a string field would store
 *   (1e3 -> "1000.0", {"a": 1} -> "{\"a\":1}"), e.g. ["a",1] -> ["a","1"]. A null element
 *   or value is invalid_value, since CQL collections cannot hold one. Other JSON types are
 *   wrong_type.
 * - null or absent: a null column; null_field or missing_field when the field is required.
 * - Not JSON, invalid UTF-8, bad escapes (lone surrogates included), a BOM, trailing data,
 *   nesting beyond PIPE_DECODE_MAX_DEPTH, a top level that is not an object: the record is
 *   dead-lettered with its reason. Spark would yield an all-null row (or repair the text:
 *   invalid UTF-8 becomes U+FFFD), which the reference's filter then drops silently. JSON
 *   extensions Spark's parser allows (single quotes, unquoted NaN/Infinity, "\'") are
 *   malformed_json or invalid_escape here. */
pipe_decode_err pipe_decode(const pipe_schema *s, const char *buf, size_t len, pipe_arena *arena,
                            pipe_record *out, pipe_decode_error *err);

/* The stable short reason for code (static storage), e.g. "missing_field". */
const char *pipe_decode_reason(pipe_decode_err code);
/* Writes a one-line detail for e into buf, e.g. "field 'email': expected string, got number at
 * byte 42"; returns buf. Not for the hot path. */
const char *pipe_decode_describe(const pipe_schema *s, const pipe_decode_error *e, char *buf,
                                 size_t buflen);

#endif
