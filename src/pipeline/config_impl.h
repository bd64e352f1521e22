/* Internals shared by config.c, config_yaml.c and config_cql.c; not a public interface. */
#ifndef RTETL_PIPELINE_CONFIG_IMPL_H
#define RTETL_PIPELINE_CONFIG_IMPL_H

#include "pipeline/config.h"

#define CFG_REFERENCE_FILTER      "contains(email, '@')"
#define CFG_REFERENCE_REPLICATION "{'class': 'SimpleStrategy', 'replication_factor': 1}"

/* YAML line numbers (1-based; 0 = unknown) of the config's parts, so that checks which need
 * the whole config (cross references) can still point at a line. */
typedef struct cfg_lines {
    int topic, dlq, group, filter, when, keyspace, table, replication, consistency, write_timestamp,
        ttl;
    int schema, primary_key, mapping;
    int *fields;  /* per field */
    int *columns; /* per column */
    int *pk;      /* per primary key entry */
} cfg_lines;

/* Checks and completes c (see pipe_config_finish); errors name lines from l when given. */
int config_check(pipe_config *c, const cfg_lines *l, char *err, size_t errlen);

/* Appends the reference pipeline's 12 string fields to c; -1 when out of memory. */
int config_reference_fields(pipe_config *c);
/* Sets every scalar default of the reference pipeline (strings, mode, ttl, ...), leaving
 * fields, columns and primary key empty; -1 when out of memory. */
int config_scalar_defaults(pipe_config *c);

/* Makes dst (a new target of src's pipeline, see config.h) share src's source and schema:
 * copies of them, an empty pipeline filter, and src's keyspace, replication, consistency,
 * write_timestamp and create_if_missing as defaults. -1 when out of memory. */
int config_copy_for_target(pipe_config *dst, const pipe_config *src);

/* Replaces control characters (from echoed values) so an error message stays one line. */
void config_one_line(char *msg);

/* Validates a keyspace or table name: 1..48 of [A-Za-z0-9_]. */
int config_valid_cql_name(const char *s);

/* Writes s as a YAML double-quoted scalar that loads back to s: in values (is_key 0; keys are
 * not interpolated) "${" becomes "$${", control characters and YAML's Unicode line breaks are
 * escaped. */
void config_put_quoted(FILE *out, const char *s, int is_key);

#endif
