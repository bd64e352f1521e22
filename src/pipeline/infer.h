/* Schema inference for `rtetl init`: statistics of the top-level fields of sampled JSON
 * messages (how often each is present, null, and of which JSON type), the schema type and
 * primary key they suggest, and a commented pipeline YAML built from them.
 *
 * A message counts when the stream's own decoder (pipeline/decode.h) accepts it as a JSON
 * object; any other message is counted under the decoder's reason and otherwise ignored. Pure:
 * no I/O but the FILE the YAML is written to. */
#ifndef RTETL_PIPELINE_INFER_H
#define RTETL_PIPELINE_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/decode.h"
#include "pipeline/schema.h"

/* What the sample held of one top-level key. Counts are over the accepted messages. */
typedef struct pipe_infer_field {
    char *name;       /* the key, unescaped (owned by the inference) */
    uint64_t present; /* messages where the key occurred (null included) */
    uint64_t nulls;   /* ... with the value null */
    uint64_t n_string, n_int, n_float, n_bool, n_object, n_array;
    uint64_t n_timestamp; /* strings that read as an ISO-8601 timestamp (util/isotime.h) */
    uint64_t n_uuid;      /* strings that read as a UUID (pipe_uuid_parse) */
    bool over_int32;      /* an integer outside int32 */
    bool over_int64;      /* an integer outside int64 */
    size_t longest;       /* bytes of the longest value as the stream stores it */
    bool key_candidate;   /* present, not null, a scalar and unique in every message so far */
} pipe_infer_field;

typedef struct pipe_infer pipe_infer;

/* A new, empty inference; NULL when out of memory. The caller frees it with pipe_infer_free. */
pipe_infer *pipe_infer_new(void);
/* Frees p and everything it holds; NULL is allowed. */
void pipe_infer_free(pipe_infer *p);

/* Adds one message (buf may be NULL when len is 0). Returns PIPE_DEC_OK when it was a JSON
 * object and counted, else the decoder's reason it was left out (counted by reason), or
 * PIPE_DEC_NO_MEMORY (not counted). Keys beyond PIPE_SCHEMA_MAX_FIELDS distinct ones, longer
 * than PIPE_FIELD_NAME_MAX bytes or holding a NUL are not fields; they are counted as skipped. */
pipe_decode_err pipe_infer_add(pipe_infer *p, const char *buf, size_t len);

/* Messages added (all), accepted, and left out for reason r. */
uint64_t pipe_infer_messages(const pipe_infer *p);
uint64_t pipe_infer_records(const pipe_infer *p);
uint64_t pipe_infer_rejected(const pipe_infer *p, pipe_decode_err r);
/* Distinct keys that could not become fields (see pipe_infer_add). */
uint64_t pipe_infer_skipped_keys(const pipe_infer *p);

/* The fields in first-seen order; borrowed, valid until the next add or free. */
size_t pipe_infer_nfields(const pipe_infer *p);
const pipe_infer_field *pipe_infer_field_at(const pipe_infer *p, size_t i);

/* The schema type every non-null value of f fits without a dead letter: boolean when all were
 * booleans; int, bigint (outside int32) or double (a number with a fraction or exponent) when
 * all were numbers; string for strings, objects, arrays, mixed types, integers outside int64
 * and fields that were always null (a string field takes any JSON value, as Spark's StringType
 * does). */
pipe_type pipe_infer_type(const pipe_infer_field *f);
/* True when f's values were strings (only) and at least 95% of them ISO-8601 timestamps. */
bool pipe_infer_timestamp_like(const pipe_infer_field *f);
/* True when f's values were strings (only), every one a UUID: to_uuid would fail on none. */
bool pipe_infer_uuid_like(const pipe_infer_field *f);
/* The suggested primary key field: among the key candidates, one named id (any case), else
 * the first whose name ends in id, else the first; -1 when there is none. */
int pipe_infer_key(const pipe_infer *p);

/* What the YAML says besides the statistics. Strings are borrowed. */
typedef struct pipe_infer_yaml_opts {
    const char *topic;    /* source.topic (required) */
    const char *group;    /* source.group; NULL: "rtetl-<topic>" */
    const char *keyspace; /* NULL: "rtetl" */
    const char *table;    /* NULL: the topic's name made a CQL name */
    const char *origin;   /* one line for the header, e.g. "partitions 0-2 from the beginning";
                             may be NULL */
} pipe_infer_yaml_opts;

/* Writes a commented pipeline YAML that pipe_config_load reads as is: source topic and group,
 * the schema (one field per key with its type and a comment of its statistics; only the key
 * field required), an empty filter, the target (keyspace, table, primary key, mapping one
 * column per field, a timestamp-like field's to_timestamp() as a commented alternative). Without
 * a key candidate the key is a column derived from the Kafka position (partition-offset), so
 * every message is a row. Returns 0, or -1 when there is no field at all or out of memory. */
int pipe_infer_write_yaml(const pipe_infer *p, const pipe_infer_yaml_opts *o, FILE *out);

#endif
