/* The record schema: field definitions as configured, and their compiled form that the decoder
 * and the filter use to find a field by name in O(1). */
#ifndef RTETL_PIPELINE_SCHEMA_H
#define RTETL_PIPELINE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

/* The type of a field, and the JSON values it takes (as Spark's from_json does with the
 * matching Spark type; decode.h has the details). STRING takes any JSON value: a string as
 * it is, anything else as the JSON text Spark stores for it (unless the field is strict: then
 * only a string). INT and BIGINT take a JSON integer that fits 32 and 64 bits; DOUBLE any JSON
 * number, and the strings "NaN", "Infinity", "+Infinity", "-Infinity", "+INF", "-INF" (not when
 * strict); BOOLEAN true or false. The CQL-typed fields take what CQL reads for the column type
 * (pipe_type_check_text): TIMESTAMP an ISO-8601 string or epoch milliseconds (a JSON integer or
 * a string of digits), DATE a "yyyy-mm-dd" string, UUID a 36-character UUID string; LIST a
 * JSON array and MAP a JSON object whose elements (values) are stored as text, as Spark's
 * ArrayType(StringType) and MapType(StringType, StringType) read them. */
typedef enum {
    PIPE_T_STRING = 0,
    PIPE_T_INT,
    PIPE_T_BIGINT,
    PIPE_T_DOUBLE,
    PIPE_T_BOOLEAN,
    PIPE_T_TIMESTAMP,
    PIPE_T_DATE,
    PIPE_T_UUID,
    PIPE_T_LIST, /* list<text> */
    PIPE_T_MAP,  /* map<text, text> */
    PIPE_T__COUNT
} pipe_type;

/* Returns "string", "int", "bigint", "double", "boolean", "timestamp", "date", "uuid", "list",
 * "map" (static storage). */
const char *pipe_type_name(pipe_type t);
/* Parses a type name as above ("list<text>" and "map<text,text>" are taken for list and map);
 * returns -1 for an unknown name. */
int pipe_type_parse(const char *name, pipe_type *out);
/* The CQL column type a field of type t is written as: "text", "int", "bigint", "double",
 * "boolean", "timestamp", "date", "uuid", "list<text>", "map<text, text>" (static storage). */
const char *pipe_type_cql(pipe_type t);

/* Whether s[0..n-1] is a value of the text-borne type t as CQL parses a literal of the column
 * type (util/isotime.h): a timestamp is "-?digits" (epoch milliseconds) or ISO-8601, a date
 * "[-]yyyy-mm-dd", a uuid 8-4-4-4-12 hex digits (either case). Any text is a string. 0 or -1.
 * Never allocates. */
int pipe_type_check_text(pipe_type t, const char *s, size_t n);
/* Parses a 36-character UUID text (either case) into 16 bytes; 0 or -1. */
int pipe_uuid_parse(const char *s, size_t n, unsigned char out[16]);
/* A timestamp as CQL reads it: "-?digits" are epoch milliseconds, anything else ISO-8601
 * (iso_parse_timestamp). 0 or -1. */
int pipe_timestamp_parse(const char *s, size_t n, long long *ms);

/* One field as configured. name is owned by whoever owns the array (pipe_config). */
typedef struct pipe_field {
    char *name;
    pipe_type type;
    bool required;    /* missing or null -> the record is dead-lettered */
    size_t max_bytes; /* largest accepted value: the bytes stored, after unescaping or
                         converting */
    bool strict;      /* the pre-Spark rules: a string field takes only a JSON string, a
                         double no strings, and a second occurrence of the key is an error
                         (duplicate_field) rather than replacing the first */
} pipe_field;

enum { PIPE_SCHEMA_MAX_FIELDS = 1024, PIPE_FIELD_NAME_MAX = 255 };

typedef struct pipe_schema pipe_schema;

/* Compiles fields[0..n-1] (copied; the caller keeps ownership of its array) into a lookup
 * structure. max_message_bytes bounds a whole message (0 = no limit). On error (duplicate or
 * empty name, too many fields, out of memory) returns NULL and writes one line into err. The
 * caller frees the result with pipe_schema_free. */
pipe_schema *pipe_schema_new(const pipe_field *fields, size_t n, size_t max_message_bytes,
                             char *err, size_t errlen);
/* Frees s and its copies of the field names; NULL is allowed. */
void pipe_schema_free(pipe_schema *s);

/* Index of the field named name[0..len-1], or -1. Never allocates. */
int pipe_schema_find(const pipe_schema *s, const char *name, size_t len);
/* Number of fields (the length of a pipe_record built for s). */
size_t pipe_schema_nfields(const pipe_schema *s);
/* Field i's definition, borrowed from the schema (valid until pipe_schema_free). */
const pipe_field *pipe_schema_field(const pipe_schema *s, size_t i);
/* The message bound given to pipe_schema_new (0 = none). */
size_t pipe_schema_max_message(const pipe_schema *s);

#endif
