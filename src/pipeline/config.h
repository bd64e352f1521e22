/* The pipeline definition of `rtetl stream`: source topic, record schema, filter, target table
 * and mapping, loaded from YAML or built in (the reference pipeline), plus the CQL text it
 * implies. The lifecycle is: load (or default) -> caller overrides fields from CLI flags ->
 * pipe_config_finish (derive defaults, validate) -> pipe_config_compile (schema, filter). */
#ifndef RTETL_PIPELINE_CONFIG_H
#define RTETL_PIPELINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/expr.h"
#include "pipeline/filter.h"
#include "pipeline/retry.h"
#include "pipeline/schema.h"

/* Where a consumer group without a committed offset starts. */
typedef enum {
    PIPE_MODE_INITIAL = 0, /* from the earliest offset: load what the topic holds, then follow
                              (the reference job's startingOffsets=earliest) */
    PIPE_MODE_APPEND,      /* from the latest offset: only messages produced from now on */
} pipe_mode;

/* One target column and what it is bound from: a schema field, or an expression over the
 * record (pipeline/expr.h), e.g. `email: lower(trim(email))`. */
typedef struct pipe_column {
    char *name;      /* CQL column name (owned) */
    char *field;     /* the mapping's text as written (owned): a schema field name, or an
                        expression; printed back as it is */
    int field_index; /* set by pipe_config_finish: index into fields, or -1 for an expression
                        (a back-quoted `name` alone is the field, not an expression) */
} pipe_column;

/* What a target does with a record it takes. */
typedef enum {
    PIPE_ACT_UPSERT = 0, /* INSERT the mapped row (default) */
    PIPE_ACT_DELETE,     /* DELETE the row whose primary key the mapping gives */
} pipe_action;

/* What a target does with a Kafka tombstone (a record with a key and no value). */
typedef enum {
    PIPE_TOMB_DLQ = 0, /* dead-letter it, as any record that is not a JSON object (default) */
    PIPE_TOMB_SKIP,    /* nothing: its offset is done */
    PIPE_TOMB_DELETE,  /* DELETE the row the Kafka key names: a one-column primary key's value
                          as it is, a compound key as a JSON object {column: value, ...} */
} pipe_tombstone;

/* Every string is owned by the config (malloc'd; replace with pipe_config_set_str). NULL
 * strings after loading mean "derive the default" and are filled in by pipe_config_finish.
 *
 * Fan-out: a pipeline writes one or more targets. The config itself describes the first (its
 * target keys); `more` holds the others (YAML `targets:` past its first entry), each a config
 * of its own whose source and schema are copies of this one's, whose `filter` is empty (the
 * pipeline's filter runs once, before any target) and whose `more` is empty. So every function
 * on a target (checks, CQL text, mapping compile) takes the pipe_config of that target. */
typedef struct pipe_config {
    char *source_path; /* file name used in error messages ("<default>" when built in) */

    /* source */
    char *topic;              /* default "data_kafka_topic" */
    char *dlq_topic;          /* default "<topic>.dlq" */
    char *group;              /* default "rtetl-stream" */
    pipe_mode mode;           /* default initial */
    size_t max_message_bytes; /* default 4 MiB */

    /* schema */
    pipe_field *fields;
    size_t nfields;
    bool schema_strict; /* schema.strict: the default of each field's strict (the loader applies
                           it); false = Spark's from_json rules, see decode.h */

    /* filter: "" keeps everything; default "contains(email, '@')" */
    char *filter;

    /* target */
    char *name;                  /* names the target in dead letters (header rtetl.target), logs
                                    and /metrics; default its table's name */
    char *when;                  /* the target's own filter: "" (default) takes every record the
                                    pipeline's filter keeps */
    pipe_action action;          /* default upsert */
    pipe_tombstone on_tombstone; /* default dlq */
    char *keyspace;              /* default "dados_usuarios" */
    char *table;                 /* default "tb_usuarios" */
    char *replication;           /* CQL map literal; default SimpleStrategy, factor 1 */
    int64_t ttl;                 /* seconds; 0 = none */
    bool create_if_missing;      /* default true */
    char *consistency;           /* lower case: one, quorum, local_quorum, ...; default "one" (the
                                    reference used the driver's default, ONE) */
    char *write_timestamp;       /* "kafka" (default): each write carries a timestamp derived from
                                    its Kafka record, so a key ends at its last record in partition
                                    order whatever the concurrency, retries or replays; "server":
                                    Cassandra assigns the write time (the reference job's way) */
    char **primary_key;          /* column names; default {"id"} */
    size_t nprimary_key;
    pipe_column *columns; /* default: one text column per field, same name */
    size_t ncolumns;

    /* writes */
    pipe_retry_policy retry; /* default PIPE_RETRY_POLICY_DEFAULT */

    /* fan-out: the targets after this one (owned), see above */
    struct pipe_config **more;
    size_t nmore;
} pipe_config;

/* Targets of a pipeline: 1 + c->nmore; target 0 is c itself. */
size_t pipe_config_ntargets(const pipe_config *c);
const pipe_config *pipe_config_target(const pipe_config *c, size_t i);

enum {
    PIPE_DEFAULT_FIELD_MAX_BYTES = 1 << 20,
    PIPE_DEFAULT_MESSAGE_MAX_BYTES = 4 << 20,
    PIPE_MAX_TARGETS = 16,
};

/* Returns the built-in reference pipeline (12 string fields of randomuser records, id
 * required, contains(email, '@'), dados_usuarios.tb_usuarios), already finished; NULL when out
 * of memory. The caller frees it with pipe_config_free. */
pipe_config *pipe_config_default(void);

/* Loads a pipeline from a YAML file. ${VAR} and ${VAR:-default} in scalar values are replaced
 * from the environment ($${ is a literal ${). Keys left out take the defaults above. On error
 * returns NULL and writes one line into err, e.g. "p.yaml:12: unknown key 'tabel' in target".
 * The result is finished (pipe_config_finish has run); the caller frees it. */
pipe_config *pipe_config_load(const char *path, char *err, size_t errlen);
/* The same from a memory buffer; `name` stands for the file name in messages. */
pipe_config *pipe_config_load_buffer(const char *buf, size_t len, const char *name, char *err,
                                     size_t errlen);
/* Frees c and every string it owns; NULL is allowed. */
void pipe_config_free(pipe_config *c);

/* Replaces the owned string *slot with a copy of v (NULL allowed); -1 when out of memory. For
 * callers overriding fields from CLI flags. */
int pipe_config_set_str(char **slot, const char *v);

/* Fills derived defaults (dlq_topic from topic, identity mapping, ...) and checks the whole
 * config: names, types, primary key columns mapped from required fields, mapping fields known,
 * consistency valid, the filter compiling against the schema. Call again after overriding
 * fields. Returns 0, or -1 with one line in err. */
int pipe_config_finish(pipe_config *c, char *err, size_t errlen);

/* Builds the compiled schema and filter of a finished config. Returns 0, or -1 with one line
 * in err; on success the caller owns *schema and *filter (pipe_schema_free,
 * pipe_filter_free). */
int pipe_config_compile(const pipe_config *c, pipe_schema **schema, pipe_filter **filter, char *err,
                        size_t errlen);

/* Compiles the expression columns of a finished config against schema s (from
 * pipe_config_compile): returns an array of c->ncolumns entries, NULL for a column bound from
 * a plain field, which the caller frees with pipe_config_free_columns. NULL with one line in err
 * on error (or out of memory). */
pipe_expr **pipe_config_compile_columns(const pipe_config *c, const pipe_schema *s, char *err,
                                        size_t errlen);
/* Compiles what target t (pipe_config_target) adds per record, against schema s: its own
 * filter into *when (NULL when it takes every record the pipeline keeps) and its expression
 * columns into *cols (as pipe_config_compile_columns). Returns 0, or -1 with one line in err
 * and nothing to free. */
int pipe_config_compile_target(const pipe_config *t, const pipe_schema *s, pipe_filter **when,
                               pipe_expr ***cols, char *err, size_t errlen);
/* Frees what pipe_config_compile_columns returned (n = the config's ncolumns); NULL is allowed. */
void pipe_config_free_columns(pipe_expr **cols, size_t n);

/* Prints one line per YAML key: name, description, default (for --help). */
void pipe_config_help(FILE *out);

/* Writes the effective config as YAML that pipe_config_load reads back to the same config
 * (for `rtetl stream --print-config`). */
void pipe_config_dump(const pipe_config *c, FILE *out);

/* CQL text for the target. Each returns a malloc'd NUL-terminated statement (no trailing ';')
 * that the caller frees, or NULL when out of memory. Identifiers are double-quoted when they
 * are not plain lower-case names or are reserved words.
 *   CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {...}
 *   CREATE TABLE IF NOT EXISTS ks.tb (col type, ..., PRIMARY KEY (pk...))
 *       [WITH default_time_to_live = ttl]
 *     where a column bound from a field has the field's CQL type (pipe_type_cql) and an
 *     expression column its result's (pipe_xtype_cql: timestamp, date, uuid, bigint, double,
 *     boolean, else text)
 *   INSERT INTO ks.tb (col, ...) VALUES (?, ...) [USING TTL ttl]
 * The INSERT's bind markers follow columns[] order. pipe_cql_insert_ts adds a last bind marker
 * for the write timestamp: ... USING TIMESTAMP ? [AND TTL ttl].
 *   DELETE FROM ks.tb [USING TIMESTAMP ?] WHERE col = ? AND ...
 * pipe_cql_delete: the statement of an action: delete target, one condition per mapped column
 * (every one a primary key column) in columns[] order, after the timestamp's marker when ts.
 * pipe_cql_delete_key: the tombstone delete of a target, one condition per primary key column
 * in primary_key order. */
char *pipe_cql_create_keyspace(const pipe_config *c);
char *pipe_cql_create_table(const pipe_config *c);
char *pipe_cql_insert(const pipe_config *c);
char *pipe_cql_insert_ts(const pipe_config *c);
char *pipe_cql_delete(const pipe_config *c, bool ts);
char *pipe_cql_delete_key(const pipe_config *c, bool ts);
/* Writes name as a CQL identifier (quoted when needed) into buf; returns the length needed,
 * like snprintf. */
size_t pipe_cql_ident(const char *name, char *buf, size_t buflen);

/* Parses a consistency name (case-insensitive: any, one, two, three, quorum, all,
 * local_quorum, each_quorum, local_one, serial, local_serial); returns the CQL protocol code
 * (0x0000..0x000A), or -1. */
int pipe_consistency_parse(const char *name);
/* Write-time sources of target.write_timestamp. */
typedef enum { PIPE_WTS_KAFKA = 0, PIPE_WTS_SERVER } pipe_wts;
/* Parses "kafka" or "server" (case-insensitive); -1 for anything else. */
int pipe_wts_parse(const char *name);
/* "upsert" / "delete"; "dlq" / "skip" / "delete" (static storage); the parsers return -1 for
 * an unknown name. */
const char *pipe_action_name(pipe_action a);
const char *pipe_tombstone_name(pipe_tombstone t);
int pipe_action_parse(const char *name);
int pipe_tombstone_parse(const char *name);
/* "initial" or "append" (static storage). */
const char *pipe_mode_name(pipe_mode m);

#endif
