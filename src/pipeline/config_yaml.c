/* Loading a pipeline from YAML (libyaml's document API), driven by one table of keys that
 * also holds each key's default and help text.
 *
 * Every error is one line naming the file and the YAML line. Scalar values go through ${VAR}
 * interpolation before they are parsed; keys never do. Cross-reference checks (mapping fields,
 * primary key, filter fields) run in config_check with the line numbers collected here. */
#include "pipeline/config_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/opt.h"

typedef enum {
    K_STR,     /* char * */
    K_MODE,    /* pipe_mode */
    K_SIZE,    /* size_t bytes: 512, 64k, 2MiB */
    K_SECONDS, /* int64_t seconds: 3600, 1h, 90s */
    K_BOOL,    /* bool */
    K_MS,      /* uint64_t milliseconds: 100ms, 2s */
    K_U32,     /* uint32_t */
    K_JITTER,  /* pipe_jitter */
    K_REPL,    /* char *: a CQL map literal, or a YAML mapping rendered as one */
    K_SCHEMA,  /* sequence of fields */
    K_PK,      /* a column name or a sequence of them */
    K_MAPPING, /* mapping column: field */
    K_ACTION,  /* pipe_action */
    K_TOMB,    /* pipe_tombstone */
} kind;

typedef struct key_spec {
    const char *section; /* "" for top-level keys */
    const char *name;
    kind k;
    size_t off;      /* into pipe_config */
    long line_off;   /* into cfg_lines, or -1 */
    const char *def; /* default as text; NULL = none or derived */
    long long min, max;
    const char *help;
} key_spec;

#define OFF(m) offsetof(pipe_config, m)
#define LN(m)  (long)offsetof(cfg_lines, m)

/* The pipeline's keys; defaults reproduce the reference pipeline. */
static const key_spec keys[] = {
    {"source", "topic", K_STR, OFF(topic), LN(topic), "data_kafka_topic", 0, 0,
     "Kafka topic to consume"},
    {"source", "dlq_topic", K_STR, OFF(dlq_topic), LN(dlq), NULL, 0, 0,
     "dead-letter topic (default <topic>.dlq)"},
    {"source", "group", K_STR, OFF(group), LN(group), "rtetl-stream", 0, 0, "consumer group"},
    {"source", "mode", K_MODE, OFF(mode), -1, "initial", 0, 0,
     "initial: start at the earliest offset when the group has none; append: at the latest"},
    {"source", "max_message_bytes", K_SIZE, OFF(max_message_bytes), -1, "4MiB", 1, 1LL << 30,
     "larger messages are dead-lettered"},
    {"", "schema", K_SCHEMA, 0, LN(schema), NULL, 0, 0,
     "a list of fields {name, type: string|int|bigint|double|boolean|timestamp|date|uuid|list|map, "
     "required, max_bytes, "
     "strict}, or {strict: the fields' default, fields: [...]}; strict: only a JSON string in a "
     "string field, duplicate keys are errors [false]"},
    {"", "filter", K_STR, OFF(filter), LN(filter), NULL, 0, 0,
     "records kept (default contains(email, '@') with the built-in schema, else all)"},
    {"target", "name", K_STR, OFF(name), -1, NULL, 0, 0,
     "the target's name in dead letters (header rtetl.target), logs and /metrics (default its "
     "table)"},
    {"target", "when", K_STR, OFF(when), LN(when), "", 0, 0,
     "the target's own filter: it takes the records the pipeline keeps and this matches "
     "(\"\" = all)"},
    {"target", "action", K_ACTION, OFF(action), -1, "upsert", 0, 0,
     "upsert: insert the mapped row; delete: delete the row whose primary key the mapping gives"},
    {"target", "on_tombstone", K_TOMB, OFF(on_tombstone), -1, "dlq", 0, 0,
     "a Kafka record with a key and no value: dlq, skip, or delete the row the key names (a "
     "one-column primary key's value, or a JSON object of the key columns)"},
    {"target", "keyspace", K_STR, OFF(keyspace), LN(keyspace), "dados_usuarios", 0, 0,
     "Cassandra keyspace"},
    {"target", "table", K_STR, OFF(table), LN(table), "tb_usuarios", 0, 0, "Cassandra table"},
    {"target", "replication", K_REPL, OFF(replication), LN(replication), CFG_REFERENCE_REPLICATION,
     0, 0, "replication map for CREATE KEYSPACE"},
    {"target", "ttl", K_SECONDS, OFF(ttl), LN(ttl), "0", 0, 630720000,
     "row time to live in seconds (0 = none)"},
    {"target", "create_if_missing", K_BOOL, OFF(create_if_missing), -1, "true", 0, 0,
     "create the keyspace and table when absent"},
    {"target", "consistency", K_STR, OFF(consistency), LN(consistency), "one", 0, 0,
     "write consistency (the reference used the driver default, one)"},
    {"target", "write_timestamp", K_STR, OFF(write_timestamp), LN(write_timestamp), "kafka", 0, 0,
     "kafka: writes carry a time derived from the Kafka record, so each key ends at its last "
     "record in partition order, even across retries and replays; server: Cassandra's clock"},
    {"target", "primary_key", K_PK, 0, LN(primary_key), NULL, 0, 0,
     "primary key column(s) (default id)"},
    {"target", "mapping", K_MAPPING, 0, LN(mapping), NULL, 0, 0,
     "column: field (default: every field, same name)"},
    {"retry", "base", K_MS, OFF(retry.base_ms), -1, "100ms", 1, 86400000, "first retry delay"},
    {"retry", "max", K_MS, OFF(retry.max_ms), -1, "10s", 1, 86400000, "largest retry delay"},
    {"retry", "max_attempts", K_U32, OFF(retry.max_attempts), -1, "0", 0, 1000000000,
     "retries of a failed write (0 = forever)"},
    {"retry", "jitter", K_JITTER, OFF(retry.jitter), -1, "full", 0, 0,
     "none | full | decorrelated"},
};
#define NKEYS (sizeof keys / sizeof keys[0])

typedef struct loader {
    yaml_document_t doc;
    pipe_config *c;
    cfg_lines lines;
    const char *name;
    char *err;
    size_t errlen;
    int have_schema, have_filter;
    yaml_node_t *targets; /* the `targets:` list, loaded after everything else */
    int targets_line, target_line;
} loader;

static int failf(loader *L, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int failf(loader *L, int line, const char *fmt, ...)
{
    int n = snprintf(L->err, L->errlen, "%s:%d: ", L->name, line);
    if (n >= 0 && (size_t)n < L->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    config_one_line(L->err);
    return -1;
}

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* ---- interpolation ------------------------------------------------------------------------ */

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

static int sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -2; /* out of memory; -1 means an error already reported */
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* Expands one ${...} whose body is s[0..n-1] into b. */
static int expand_var(loader *L, int line, strbuf *b, const char *s, size_t n)
{
    const char *sep = memchr(s, ':', n);
    size_t name_len = sep ? (size_t)(sep - s) : n;
    if (sep && (sep + 1 >= s + n || sep[1] != '-'))
        return failf(L, line, "bad interpolation '${%.*s}' (use ${VAR} or ${VAR:-default})", (int)n,
                     s);
    char name[256];
    int ok = name_len > 0 && name_len < sizeof name && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; i < name_len && ok; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (!ok) return failf(L, line, "bad variable name in '${%.*s}'", (int)n, s);
    memcpy(name, s, name_len);
    name[name_len] = '\0';
    const char *v = getenv(name);
    if (v && *v) return sb_put(b, v, strlen(v));
    if (sep) return sb_put(b, sep + 2, (size_t)(s + n - sep - 2));
    if (v) return 0;
    return failf(L, line, "environment variable '%s' is not set (use ${%s:-default})", name, name);
}

/* Returns a malloc'd copy of s[0..n-1] with ${VAR}, ${VAR:-default} expanded and $${ turned
 * into ${; NULL on error (reported). */
static char *interpolate(loader *L, int line, const char *s, size_t n)
{
    strbuf b = {0};
    int rc = sb_put(&b, "", 0);
    for (size_t i = 0; i < n && rc == 0;) {
        if (s[i] == '$' && i + 2 < n && s[i + 1] == '$' && s[i + 2] == '{') {
            rc = sb_put(&b, "${", 2), i += 3;
        } else if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
            const char *close = memchr(s + i + 2, '}', n - i - 2);
            if (!close) {
                rc = failf(L, line, "unterminated '${' in value");
                break;
            }
            rc = expand_var(L, line, &b, s + i + 2, (size_t)(close - s - i - 2));
            i = (size_t)(close - s) + 1;
        } else {
            rc = sb_put(&b, s + i, 1), i++;
        }
    }
    if (rc) {
        if (rc == -2) failf(L, line, "out of memory");
        free(b.p);
        return NULL;
    }
    if (memchr(b.p, '\0', b.len)) {
        free(b.p);
        failf(L, line, "value contains a NUL byte");
        return NULL;
    }
    return b.p;
}

/* ---- values ------------------------------------------------------------------------------- */

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0;
}

/* The interpolated text of scalar node n, malloc'd; `what` names it in errors. */
static char *scalar(loader *L, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        failf(L, line_of(n), "%s: expected a single value, not a %s", what,
              n->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return NULL;
    }
    return interpolate(L, line_of(n), (const char *)n->data.scalar.value, n->data.scalar.length);
}

/* Parses text for a scalar kind into field; returns 0, or -1 with what was expected. */
static int parse_scalar(const key_spec *k, const char *text, void *field, const char **expected)
{
    long long ll;
    double d;
    bool b;
    switch (k->k) {
    case K_STR:
    case K_REPL: {
        char *copy = strdup(text);
        if (!copy) return *expected = "memory", -1;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case K_MODE:
        *expected = "initial or append";
        if (strcmp(text, "initial") == 0) return *(pipe_mode *)field = PIPE_MODE_INITIAL, 0;
        if (strcmp(text, "append") == 0) return *(pipe_mode *)field = PIPE_MODE_APPEND, 0;
        return -1;
    case K_SIZE:
        *expected = "a size like 64k or 2MiB";
        if (opt_parse_size(text, &ll) || ll < k->min || ll > k->max) return -1;
        return *(size_t *)field = (size_t)ll, 0;
    case K_SECONDS:
        *expected = "a duration like 3600, 90s or 2h";
        if (opt_parse_duration(text, &d) || d < (double)k->min || d > (double)k->max) return -1;
        return *(int64_t *)field = (int64_t)(d + 0.5), 0;
    case K_MS:
        *expected = "a duration like 100ms or 2s";
        if (opt_parse_duration(text, &d) || d * 1000 < (double)k->min || d * 1000 > (double)k->max)
            return -1;
        return *(uint64_t *)field = (uint64_t)(d * 1000 + 0.5), 0;
    case K_BOOL:
        *expected = "true or false";
        if (opt_parse_bool(text, &b)) return -1;
        return *(bool *)field = b, 0;
    case K_U32:
        *expected = "a whole number";
        if (opt_parse_int(text, &ll) || ll < k->min || ll > k->max) return -1;
        return *(uint32_t *)field = (uint32_t)ll, 0;
    case K_JITTER:
        *expected = "none, full or decorrelated";
        return pipe_jitter_parse(text, (pipe_jitter *)field);
    case K_ACTION: {
        *expected = "upsert or delete";
        int a = pipe_action_parse(text);
        return a < 0 ? -1 : (*(pipe_action *)field = (pipe_action)a, 0);
    }
    case K_TOMB: {
        *expected = "dlq, skip or delete";
        int t = pipe_tombstone_parse(text);
        return t < 0 ? -1 : (*(pipe_tombstone *)field = (pipe_tombstone)t, 0);
    }
    default: return *expected = "a value", -1;
    }
}

int config_scalar_defaults(pipe_config *c)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const char *expected;
        if (keys[i].def && parse_scalar(&keys[i], keys[i].def, (char *)c + keys[i].off, &expected))
            return -1;
    }
    return pipe_config_set_str(&c->source_path, "<default>");
}

static void set_line(loader *L, const key_spec *k, int line)
{
    if (k->line_off >= 0) *(int *)((char *)&L->lines + k->line_off) = line;
}

/* ---- structured values -------------------------------------------------------------------- */

static yaml_node_t *node(loader *L, yaml_node_item_t i)
{
    return yaml_document_get_node(&L->doc, i);
}

static int expect_type(loader *L, const yaml_node_t *n, yaml_node_type_t t, const char *what)
{
    if (n->type == t) return 0;
    static const char *const names[] = {"nothing", "a single value", "a list", "a mapping"};
    return failf(L, line_of(n), "%s: expected %s, got %s", what, names[t], names[n->type]);
}

/* Checks key node kn of a mapping: a plain scalar, not seen before in this mapping. */
static int map_key(loader *L, yaml_node_pair_t *pair, yaml_node_pair_t *first, const char *in,
                   const char **key)
{
    yaml_node_t *kn = node(L, pair->key);
    if (kn->type != YAML_SCALAR_NODE)
        return failf(L, line_of(kn), "keys must be plain names%s", in);
    *key = (const char *)kn->data.scalar.value;
    for (yaml_node_pair_t *p = first; p < pair; p++) {
        yaml_node_t *o = node(L, p->key);
        if (o->type == YAML_SCALAR_NODE && strcmp((const char *)o->data.scalar.value, *key) == 0)
            return failf(L, line_of(kn), "duplicate key '%s'%s", *key, in);
    }
    return 0;
}

/* Grows an array of `size`-byte items and its parallel line array by one item. */
static int grow2(void **arr, int **lines, size_t n, size_t size)
{
    void *a = realloc(*arr, (n + 1) * size);
    if (!a) return -1;
    *arr = a;
    int *l = realloc(*lines, (n + 1) * sizeof *l);
    if (!l) return -1;
    *lines = l;
    memset((char *)a + n * size, 0, size);
    return 0;
}

/* One schema field: a name, or a mapping {name, type, required, max_bytes, strict}. */
static int load_field(loader *L, yaml_node_t *n)
{
    pipe_config *c = L->c;
    if (grow2((void **)&c->fields, &L->lines.fields, c->nfields, sizeof *c->fields))
        return failf(L, line_of(n), "out of memory");
    pipe_field *f = &c->fields[c->nfields];
    L->lines.fields[c->nfields++] = line_of(n);
    f->max_bytes = PIPE_DEFAULT_FIELD_MAX_BYTES;
    f->strict = c->schema_strict;
    if (n->type == YAML_SCALAR_NODE) return (f->name = scalar(L, n, "schema field")) ? 0 : -1;
    if (expect_type(L, n, YAML_MAPPING_NODE, "schema field")) return -1;
    yaml_node_pair_t *first = n->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = first; p < n->data.mapping.pairs.top; p++) {
        const char *key;
        if (map_key(L, p, first, " in schema field", &key)) return -1;
        yaml_node_t *v = node(L, p->value);
        char *text = scalar(L, v, key);
        if (!text) return -1;
        int bad = 0;
        long long ll;
        if (strcmp(key, "name") == 0)
            f->name = text, text = NULL;
        else if (strcmp(key, "type") == 0)
            bad = pipe_type_parse(text, &f->type);
        else if (strcmp(key, "required") == 0)
            bad = opt_parse_bool(text, &f->required);
        else if (strcmp(key, "strict") == 0)
            bad = opt_parse_bool(text, &f->strict);
        else if (strcmp(key, "max_bytes") == 0)
            bad = opt_parse_size(text, &ll) || ll < 1 || ll > (1LL << 30) ||
                  !(f->max_bytes = (size_t)ll);
        else
            bad = 2;
        if (bad == 2)
            failf(L, line_of(node(L, p->key)), "unknown key '%s' in schema field", key);
        else if (bad)
            failf(L, line_of(v), "schema field: invalid %s '%s'", key, text);
        free(text);
        if (bad) return -1;
    }
    return f->name ? 0 : failf(L, line_of(n), "missing key 'name' in schema field");
}

static int load_fields(loader *L, yaml_node_t *n, const char *what)
{
    if (expect_type(L, n, YAML_SEQUENCE_NODE, what)) return -1;
    L->have_schema = 1;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
        if (load_field(L, node(L, *i))) return -1;
    return 0;
}

/* The schema: a list of fields, or a mapping {strict, fields}, where strict (read first,
 * wherever it stands) is the default of every field's own strict key. */
static int load_schema(loader *L, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) return load_fields(L, n, "schema");
    yaml_node_pair_t *first = n->data.mapping.pairs.start, *fields = NULL;
    for (yaml_node_pair_t *p = first; p < n->data.mapping.pairs.top; p++) {
        const char *key;
        if (map_key(L, p, first, " in schema", &key)) return -1;
        yaml_node_t *v = node(L, p->value);
        if (strcmp(key, "fields") == 0) {
            fields = p;
        } else if (strcmp(key, "strict") == 0) {
            char *text = scalar(L, v, "schema.strict");
            if (!text) return -1;
            int bad = opt_parse_bool(text, &L->c->schema_strict);
            if (bad) failf(L, line_of(v), "schema.strict: expected true or false, got '%s'", text);
            free(text);
            if (bad) return -1;
        } else {
            return failf(L, line_of(node(L, p->key)), "unknown key '%s' in schema", key);
        }
    }
    if (!fields) return failf(L, line_of(n), "missing key 'fields' in schema");
    return load_fields(L, node(L, fields->value), "schema.fields");
}

static int load_pk(loader *L, yaml_node_t *n)
{
    pipe_config *c = L->c;
    yaml_node_item_t self = (yaml_node_item_t)(n - L->doc.nodes.start) + 1;
    yaml_node_item_t *items = &self, *end = &self + 1;
    if (n->type == YAML_SEQUENCE_NODE)
        items = n->data.sequence.items.start, end = n->data.sequence.items.top;
    for (; items < end; items++) {
        yaml_node_t *v = node(L, *items);
        if (grow2((void **)&c->primary_key, &L->lines.pk, c->nprimary_key, sizeof(char *)))
            return failf(L, line_of(v), "out of memory");
        L->lines.pk[c->nprimary_key] = line_of(v);
        if (!(c->primary_key[c->nprimary_key++] = scalar(L, v, "primary_key"))) return -1;
    }
    return 0;
}

static int load_mapping(loader *L, yaml_node_t *n)
{
    pipe_config *c = L->c;
    if (expect_type(L, n, YAML_MAPPING_NODE, "mapping")) return -1;
    yaml_node_pair_t *first = n->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = first; p < n->data.mapping.pairs.top; p++) {
        const char *key;
        if (map_key(L, p, first, " in mapping", &key)) return -1;
        if (grow2((void **)&c->columns, &L->lines.columns, c->ncolumns, sizeof *c->columns))
            return failf(L, line_of(n), "out of memory");
        pipe_column *col = &c->columns[c->ncolumns];
        L->lines.columns[c->ncolumns++] = line_of(node(L, p->key));
        if (!(col->name = strdup(key))) return failf(L, line_of(n), "out of memory");
        if (!(col->field = scalar(L, node(L, p->value), key))) return -1;
    }
    return 0;
}

/* A YAML mapping {class: X, replication_factor: 1} rendered as the CQL map literal. */
static int load_replication_map(loader *L, yaml_node_t *n)
{
    strbuf b = {0};
    int rc = sb_put(&b, "{", 1);
    yaml_node_pair_t *first = n->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = first; p < n->data.mapping.pairs.top && rc == 0; p++) {
        const char *key;
        char *v = NULL;
        rc = map_key(L, p, first, " in replication", &key);
        if (rc == 0 && !(v = scalar(L, node(L, p->value), key))) rc = -1;
        for (const char *s = key; rc == 0 && *s; s++)
            if (*s == '\'') rc = failf(L, line_of(n), "replication: quote in key");
        for (const char *s = v; rc == 0 && *s; s++)
            if (*s == '\'') rc = failf(L, line_of(n), "replication: quote in value");
        if (rc == 0 && p != first) rc = sb_put(&b, ", ", 2);
        if (rc == 0)
            rc = sb_put(&b, "'", 1) || sb_put(&b, key, strlen(key)) || sb_put(&b, "': '", 4) ||
                 sb_put(&b, v, strlen(v)) || sb_put(&b, "'", 1);
        free(v);
    }
    if (rc == 0) rc = sb_put(&b, "}", 1);
    if (rc == 0) {
        free(L->c->replication);
        L->c->replication = b.p;
        return 0;
    }
    free(b.p);
    return rc == -1 ? -1 : failf(L, line_of(n), "out of memory");
}

/* One key of a section: scalar kinds through parse_scalar, structured ones by hand. */
static int load_key(loader *L, const key_spec *k, yaml_node_t *v)
{
    set_line(L, k, line_of(v));
    char what[64];
    snprintf(what, sizeof what, "%s%s%s", k->section, *k->section ? "." : "", k->name);
    switch (k->k) {
    case K_SCHEMA: return load_schema(L, v);
    case K_PK: return load_pk(L, v);
    case K_MAPPING: return load_mapping(L, v);
    case K_REPL:
        if (v->type == YAML_MAPPING_NODE) return load_replication_map(L, v);
        break;
    default: break;
    }
    if (k->off == OFF(filter)) {
        L->have_filter = 1;
        if (is_null(v)) return pipe_config_set_str(&L->c->filter, "") ? failf(L, 0, "oom") : 0;
    }
    if (is_null(v)) return failf(L, line_of(v), "%s: missing value", what);
    char *text = scalar(L, v, what);
    if (!text) return -1;
    const char *expected = "";
    int rc = parse_scalar(k, text, (char *)L->c + k->off, &expected);
    if (rc) failf(L, line_of(v), "%s: expected %s, got '%s'", what, expected, text);
    free(text);
    return rc;
}

/* The keys of `section` in mapping n ("" = the top level). */
static int load_section(loader *L, const char *section, yaml_node_t *n)
{
    char in[48] = "";
    if (*section) snprintf(in, sizeof in, " in %s", section);
    if (expect_type(L, n, YAML_MAPPING_NODE, *section ? section : "pipeline")) return -1;
    yaml_node_pair_t *first = n->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = first; p < n->data.mapping.pairs.top; p++) {
        const char *key;
        if (map_key(L, p, first, in, &key)) return -1;
        yaml_node_t *v = node(L, p->value);
        if (!*section && !strcmp(key, "targets")) {
            L->targets = v;
            L->targets_line = line_of(node(L, p->key));
            continue;
        }
        if (!*section &&
            (!strcmp(key, "source") || !strcmp(key, "target") || !strcmp(key, "retry"))) {
            if (!strcmp(key, "target")) L->target_line = line_of(node(L, p->key));
            if (load_section(L, key, v)) return -1;
            continue;
        }
        size_t i = 0;
        while (i < NKEYS && (strcmp(keys[i].section, section) || strcmp(keys[i].name, key))) i++;
        if (i == NKEYS) return failf(L, line_of(node(L, p->key)), "unknown key '%s'%s", key, in);
        if (load_key(L, &keys[i], v)) return -1;
    }
    return 0;
}

static int load_document(loader *L, const char *buf, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return failf(L, 0, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int ok = yaml_parser_load(&parser, &L->doc);
    if (!ok) {
        int line =
            (int)(parser.problem_mark.line ? parser.problem_mark.line : parser.context_mark.line) +
            1;
        failf(L, line, "invalid YAML: %s", parser.problem ? parser.problem : "parse error");
    }
    yaml_parser_delete(&parser);
    return ok ? 0 : -1;
}

static void free_lines(cfg_lines *l)
{
    free(l->fields);
    free(l->columns);
    free(l->pk);
}

/* Entry n (past the first) of `targets:`: a config of its own sharing the pipeline's source
 * and schema (config.h), checked with its own line numbers, then added to L->c->more. */
static int load_more_target(loader *L, yaml_node_t *n)
{
    pipe_config *root = L->c, *t = calloc(1, sizeof *t);
    pipe_config **more = realloc(root->more, (root->nmore + 1) * sizeof *more);
    if (more) root->more = more;
    if (!t || !more || config_scalar_defaults(t) || config_copy_for_target(t, root)) {
        pipe_config_free(t);
        return failf(L, line_of(n), "out of memory");
    }
    root->more[root->nmore++] = t;
    cfg_lines saved = L->lines;
    memset(&L->lines, 0, sizeof L->lines);
    L->c = t;
    int rc = load_section(L, "target", n);
    if (rc == 0) rc = config_check(t, &L->lines, L->err, L->errlen);
    free_lines(&L->lines);
    L->lines = saved;
    L->c = root;
    return rc;
}

/* `targets:` (fan-out): its first entry is the pipeline's own target, the others new ones. */
static int load_targets(loader *L)
{
    yaml_node_t *n = L->targets;
    if (L->target_line)
        return failf(L, L->targets_line,
                     "use either target: or targets:, not both (target: at "
                     "line %d)",
                     L->target_line);
    if (expect_type(L, n, YAML_SEQUENCE_NODE, "targets")) return -1;
    yaml_node_item_t *i = n->data.sequence.items.start;
    if (i == n->data.sequence.items.top) return failf(L, line_of(n), "targets: list is empty");
    if (load_section(L, "target", node(L, *i))) return -1;
    for (i++; i < n->data.sequence.items.top; i++) {
        yaml_node_t *t = node(L, *i);
        if (L->c->nmore + 1 >= PIPE_MAX_TARGETS)
            return failf(L, line_of(t), "more than %d targets", PIPE_MAX_TARGETS);
        if (load_more_target(L, t)) return -1;
    }
    return 0;
}

/* Parses the document root into L->c, then completes it. */
static int load_root(loader *L)
{
    yaml_node_t *root = yaml_document_get_root_node(&L->doc);
    if (root && !is_null(root) && load_section(L, "", root)) return -1;
    if (!L->have_schema && config_reference_fields(L->c)) return failf(L, 0, "out of memory");
    if (!L->have_schema && !L->have_filter &&
        pipe_config_set_str(&L->c->filter, CFG_REFERENCE_FILTER))
        return failf(L, 0, "out of memory");
    if (L->targets && load_targets(L)) return -1;
    return config_check(L->c, &L->lines, L->err, L->errlen);
}

pipe_config *pipe_config_load_buffer(const char *buf, size_t len, const char *name, char *err,
                                     size_t errlen)
{
    loader L = {.name = name ? name : "<config>", .err = err, .errlen = errlen};
    if (errlen) err[0] = '\0';
    L.c = calloc(1, sizeof *L.c);
    if (!L.c || config_scalar_defaults(L.c) || pipe_config_set_str(&L.c->source_path, L.name)) {
        snprintf(err, errlen, "%s: out of memory", L.name);
        pipe_config_free(L.c);
        return NULL;
    }
    int rc = load_document(&L, buf, len);
    if (rc == 0) {
        rc = load_root(&L);
        yaml_document_delete(&L.doc);
    }
    free_lines(&L.lines);
    if (rc) {
        pipe_config_free(L.c);
        return NULL;
    }
    return L.c;
}

pipe_config *pipe_config_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    strbuf b = {0};
    char chunk[8192];
    size_t n;
    int rc = sb_put(&b, "", 0);
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0) rc = sb_put(&b, chunk, n);
    int read_err = ferror(f);
    fclose(f);
    if (rc || read_err) {
        snprintf(err, errlen, "%s: %s", path, rc ? "out of memory" : "read error");
        free(b.p);
        return NULL;
    }
    pipe_config *c = pipe_config_load_buffer(b.p, b.len, path, err, errlen);
    free(b.p);
    return c;
}

void pipe_config_help(FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s%s%s", keys[i].section, *keys[i].section ? "." : "",
                 keys[i].name);
        fprintf(out, "  %-26s %s%s%s%s\n", name, keys[i].help, keys[i].def ? " [" : "",
                keys[i].def ? keys[i].def : "", keys[i].def ? "]" : "");
    }
}
