/* Pipeline config: the built-in reference pipeline, checks that need the whole config, and the
 * effective-config dump. YAML loading is in config_yaml.c, CQL text in config_cql.c. */
#include "pipeline/config_impl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The reference pipeline: randomuser records as the ingest side formats them. */
static const char *const reference_fields[] = {
    "id",    "first_name", "last_name", "gender",          "address", "post_code",
    "email", "username",   "dob",       "registered_date", "phone",   "picture",
};

int pipe_config_set_str(char **slot, const char *v)
{
    char *copy = NULL;
    if (v && !(copy = strdup(v))) return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

int config_reference_fields(pipe_config *c)
{
    size_t n = sizeof reference_fields / sizeof reference_fields[0];
    pipe_field *f = realloc(c->fields, (c->nfields + n) * sizeof *f);
    if (!f) return -1;
    c->fields = f;
    for (size_t i = 0; i < n; i++) {
        pipe_field *d = &c->fields[c->nfields];
        memset(d, 0, sizeof *d);
        if (!(d->name = strdup(reference_fields[i]))) return -1;
        d->type = PIPE_T_STRING;
        /* Only the primary key is required, as in the reference job, where a missing field
         * became a null column and a missing id failed the write. */
        d->required = strcmp(reference_fields[i], "id") == 0;
        d->max_bytes = PIPE_DEFAULT_FIELD_MAX_BYTES;
        c->nfields++;
    }
    return 0;
}

int config_copy_for_target(pipe_config *dst, const pipe_config *src)
{
    if (pipe_config_set_str(&dst->source_path, src->source_path) ||
        pipe_config_set_str(&dst->topic, src->topic) ||
        pipe_config_set_str(&dst->dlq_topic, src->dlq_topic) ||
        pipe_config_set_str(&dst->group, src->group) || pipe_config_set_str(&dst->filter, "") ||
        pipe_config_set_str(&dst->keyspace, src->keyspace) ||
        pipe_config_set_str(&dst->replication, src->replication) ||
        pipe_config_set_str(&dst->consistency, src->consistency) ||
        pipe_config_set_str(&dst->write_timestamp, src->write_timestamp))
        return -1;
    dst->mode = src->mode;
    dst->max_message_bytes = src->max_message_bytes;
    dst->schema_strict = src->schema_strict;
    dst->create_if_missing = src->create_if_missing;
    dst->retry = src->retry;
    if (src->nfields && !(dst->fields = calloc(src->nfields, sizeof *dst->fields))) return -1;
    for (size_t i = 0; i < src->nfields; i++) {
        dst->fields[i] = src->fields[i];
        dst->fields[i].name = NULL;
        dst->nfields++;
        if (!(dst->fields[i].name = strdup(src->fields[i].name))) return -1;
    }
    return 0;
}

pipe_config *pipe_config_default(void)
{
    pipe_config *c = calloc(1, sizeof *c);
    char err[256];
    if (!c || config_scalar_defaults(c) || config_reference_fields(c) ||
        pipe_config_set_str(&c->filter, CFG_REFERENCE_FILTER) ||
        pipe_config_finish(c, err, sizeof err)) {
        pipe_config_free(c);
        return NULL;
    }
    return c;
}

void pipe_config_free(pipe_config *c)
{
    if (!c) return;
    free(c->source_path);
    free(c->topic);
    free(c->dlq_topic);
    free(c->group);
    for (size_t i = 0; i < c->nfields; i++) free(c->fields[i].name);
    free(c->fields);
    free(c->filter);
    free(c->name);
    free(c->when);
    free(c->keyspace);
    free(c->table);
    free(c->replication);
    free(c->consistency);
    free(c->write_timestamp);
    for (size_t i = 0; i < c->nprimary_key; i++) free(c->primary_key[i]);
    free(c->primary_key);
    for (size_t i = 0; i < c->ncolumns; i++) free(c->columns[i].name), free(c->columns[i].field);
    free(c->columns);
    for (size_t i = 0; i < c->nmore; i++) pipe_config_free(c->more[i]);
    free(c->more);
    free(c);
}

size_t pipe_config_ntargets(const pipe_config *c)
{
    return 1 + c->nmore;
}

const pipe_config *pipe_config_target(const pipe_config *c, size_t i)
{
    return i == 0 ? c : c->more[i - 1];
}

/* ---- checks ------------------------------------------------------------------------------- */

typedef struct checker {
    pipe_config *c;
    const cfg_lines *l;
    char *err;
    size_t errlen;
} checker;

static int failf(checker *k, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes "path:line: msg" (or "path: msg" without a line) into the error buffer. */
static int failf(checker *k, int line, const char *fmt, ...)
{
    const char *path = k->c->source_path ? k->c->source_path : "<config>";
    int n = line > 0 ? snprintf(k->err, k->errlen, "%s:%d: ", path, line)
                     : snprintf(k->err, k->errlen, "%s: ", path);
    if (n >= 0 && (size_t)n < k->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(k->err + n, k->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    config_one_line(k->err);
    return -1;
}

#define LINE(k, member)    ((k)->l ? (k)->l->member : 0)
#define LINE_AT(k, arr, i) ((k)->l && (k)->l->arr ? (k)->l->arr[i] : 0)

void config_one_line(char *msg)
{
    for (; *msg; msg++)
        if ((unsigned char)*msg < 0x20 || *msg == 0x7F) *msg = '?';
}

int config_valid_cql_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 48) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static int check_source(checker *k)
{
    pipe_config *c = k->c;
    if (!c->topic || !*c->topic) return failf(k, LINE(k, topic), "source.topic must not be empty");
    if (!c->group || !*c->group) return failf(k, LINE(k, group), "source.group must not be empty");
    if (!c->dlq_topic || !*c->dlq_topic) {
        size_t n = strlen(c->topic) + 5;
        char *d = malloc(n);
        if (!d) return failf(k, 0, "out of memory");
        snprintf(d, n, "%s.dlq", c->topic);
        free(c->dlq_topic);
        c->dlq_topic = d;
    }
    if (strcmp(c->dlq_topic, c->topic) == 0)
        return failf(k, LINE(k, dlq), "source.dlq_topic must differ from source.topic");
    if (c->max_message_bytes == 0)
        return failf(k, 0, "source.max_message_bytes must be greater than 0");
    return 0;
}

static int check_fields(checker *k)
{
    pipe_config *c = k->c;
    if (c->nfields == 0) return failf(k, LINE(k, schema), "schema must list at least one field");
    if (c->nfields > PIPE_SCHEMA_MAX_FIELDS)
        return failf(k, LINE(k, schema), "schema has more than %d fields", PIPE_SCHEMA_MAX_FIELDS);
    for (size_t i = 0; i < c->nfields; i++) {
        const pipe_field *f = &c->fields[i];
        if (!f->name || !*f->name || strlen(f->name) > PIPE_FIELD_NAME_MAX)
            return failf(k, LINE_AT(k, fields, i), "field name must be 1 to %d bytes",
                         PIPE_FIELD_NAME_MAX);
        if ((unsigned)f->type >= PIPE_T__COUNT)
            return failf(k, LINE_AT(k, fields, i), "field '%s' has an invalid type", f->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->fields[j].name, f->name) == 0)
                return failf(k, LINE_AT(k, fields, i), "field '%s' defined twice", f->name);
    }
    return 0;
}

static int field_index(const pipe_config *c, const char *name)
{
    for (size_t i = 0; i < c->nfields; i++)
        if (strcmp(c->fields[i].name, name) == 0) return (int)i;
    return -1;
}

/* With no mapping, every field becomes a column of the same name. */
static int identity_mapping(pipe_config *c)
{
    c->columns = calloc(c->nfields, sizeof *c->columns);
    if (!c->columns) return -1;
    for (size_t i = 0; i < c->nfields; i++) {
        c->ncolumns++;
        c->columns[i].name = strdup(c->fields[i].name);
        c->columns[i].field = strdup(c->fields[i].name);
        if (!c->columns[i].name || !c->columns[i].field) return -1;
    }
    return 0;
}

/* A mapping's text: the name of a field (the fast path, bound as decoded), an identifier that
 * names no field (an error, as before expressions), or an expression compiled against s. */
static int check_column(checker *k, const pipe_schema *s, pipe_column *col, int line)
{
    pipe_config *c = k->c;
    const char *t = col->field ? col->field : "";
    if ((col->field_index = field_index(c, t)) >= 0) return 0;
    int ident = (*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || *t == '_';
    for (const char *p = t; *p && ident; p++)
        ident = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                (*p >= '0' && *p <= '9');
    if (ident || !*t)
        return failf(k, line, "unknown field '%s' in mapping (column '%s')", t, col->name);
    char what[300], msg[512];
    snprintf(what, sizeof what, "mapping '%s'", col->name);
    pipe_xopts o = {.what = what};
    pipe_expr *x = pipe_expr_compile(t, s, &o, msg, sizeof msg);
    if (!x) return failf(k, line, "%s", msg);
    col->field_index = pipe_expr_field(x); /* `name` back-quoted is still the field */
    pipe_expr_free(x);
    return 0;
}

/* A delete target without a mapping binds each primary key column (default id) from the field
 * of the same name. */
static int key_mapping(pipe_config *c)
{
    if (c->nprimary_key == 0) {
        if (!(c->primary_key = malloc(sizeof *c->primary_key)) ||
            !(c->primary_key[0] = strdup("id")))
            return -1;
        c->nprimary_key = 1;
    }
    if (!(c->columns = calloc(c->nprimary_key, sizeof *c->columns))) return -1;
    for (size_t i = 0; i < c->nprimary_key; i++) {
        c->ncolumns++;
        c->columns[i].name = strdup(c->primary_key[i]);
        c->columns[i].field = strdup(c->primary_key[i]);
        if (!c->columns[i].name || !c->columns[i].field) return -1;
    }
    return 0;
}

static int check_columns(checker *k)
{
    pipe_config *c = k->c;
    char msg[256];
    if (c->ncolumns == 0 && (c->action == PIPE_ACT_DELETE ? key_mapping(c) : identity_mapping(c)))
        return failf(k, 0, "out of memory");
    pipe_schema *s = pipe_schema_new(c->fields, c->nfields, c->max_message_bytes, msg, sizeof msg);
    if (!s) return failf(k, LINE(k, schema), "%s", msg);
    int rc = 0;
    for (size_t i = 0; i < c->ncolumns && rc == 0; i++) {
        pipe_column *col = &c->columns[i];
        int line = LINE_AT(k, columns, i);
        if (!col->name || !*col->name) {
            rc = failf(k, line, "empty column name in mapping");
            break;
        }
        rc = check_column(k, s, col, line);
        for (size_t j = 0; j < i && rc == 0; j++)
            if (strcmp(c->columns[j].name, col->name) == 0)
                rc = failf(k, line, "column '%s' mapped twice", col->name);
    }
    pipe_schema_free(s);
    return rc;
}

static int check_primary_key(checker *k)
{
    pipe_config *c = k->c;
    if (c->nprimary_key == 0) {
        for (size_t i = 0; i < c->ncolumns && !c->nprimary_key; i++) {
            if (strcmp(c->columns[i].name, "id") != 0) continue;
            if (!(c->primary_key = malloc(sizeof *c->primary_key)) ||
                !(c->primary_key[0] = strdup("id")))
                return failf(k, 0, "out of memory");
            c->nprimary_key = 1;
        }
        if (!c->nprimary_key)
            return failf(k, LINE(k, mapping) ? LINE(k, mapping) : LINE(k, schema),
                         "target.primary_key is required when there is no "
                         "column 'id'");
    }
    for (size_t i = 0; i < c->nprimary_key; i++) {
        int line = LINE_AT(k, pk, i), found = -1;
        for (size_t j = 0; j < c->ncolumns && found < 0; j++)
            if (strcmp(c->columns[j].name, c->primary_key[i]) == 0) found = (int)j;
        if (found < 0)
            return failf(k, line, "primary key column '%s' is not a mapped column",
                         c->primary_key[i]);
        /* An expression column may be a key (a derived key); a null key is the server's to
         * refuse, and the record is dead-lettered with its message. */
        int fi = c->columns[found].field_index;
        const pipe_field *f = fi >= 0 ? &c->fields[fi] : NULL;
        if (!line && f) line = LINE_AT(k, fields, fi);
        if (f && !f->required)
            return failf(k, line,
                         "primary key column '%s' is bound to field '%s', which must be "
                         "required: true",
                         c->primary_key[i], f->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->primary_key[j], c->primary_key[i]) == 0)
                return failf(k, line, "primary key column '%s' listed twice", c->primary_key[i]);
    }
    /* A DELETE names the row by its whole primary key and nothing else. */
    for (size_t j = 0; j < c->ncolumns && c->action == PIPE_ACT_DELETE; j++) {
        size_t i = 0;
        while (i < c->nprimary_key && strcmp(c->primary_key[i], c->columns[j].name) != 0) i++;
        if (i == c->nprimary_key)
            return failf(k, LINE_AT(k, columns, j),
                         "target '%s' (action: delete) maps column '%s', which is not in its "
                         "primary key: a delete target maps only its primary key columns",
                         c->name ? c->name : c->table, c->columns[j].name);
    }
    return 0;
}

static int check_target(checker *k)
{
    pipe_config *c = k->c;
    if (!config_valid_cql_name(c->keyspace))
        return failf(k, LINE(k, keyspace),
                     "target.keyspace '%s' must be 1 to 48 letters, digits "
                     "or '_'",
                     c->keyspace ? c->keyspace : "");
    if (!config_valid_cql_name(c->table))
        return failf(k, LINE(k, table), "target.table '%s' must be 1 to 48 letters, digits or '_'",
                     c->table ? c->table : "");
    size_t rl = c->replication ? strlen(c->replication) : 0;
    if (rl < 2 || c->replication[0] != '{' || c->replication[rl - 1] != '}')
        return failf(k, LINE(k, replication), "target.replication must be a CQL map like %s",
                     CFG_REFERENCE_REPLICATION);
    if (c->ttl < 0 || c->ttl > 630720000)
        return failf(k, LINE(k, ttl), "target.ttl must be 0 to 630720000 seconds (20 years)");
    if (!c->consistency || pipe_consistency_parse(c->consistency) < 0)
        return failf(k, LINE(k, consistency), "unknown consistency '%s'",
                     c->consistency ? c->consistency : "");
    for (char *p = c->consistency; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    if (!c->write_timestamp || pipe_wts_parse(c->write_timestamp) < 0)
        return failf(k, LINE(k, write_timestamp),
                     "target.write_timestamp must be kafka or server, not '%s'",
                     c->write_timestamp ? c->write_timestamp : "");
    for (char *p = c->write_timestamp; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    if ((!c->name || !*c->name) && pipe_config_set_str(&c->name, c->table))
        return failf(k, 0, "out of memory");
    if ((unsigned)c->action > PIPE_ACT_DELETE || (unsigned)c->on_tombstone > PIPE_TOMB_DELETE)
        return failf(k, 0, "target '%s': invalid action or on_tombstone", c->name);
    return 0;
}

static int check_filter(checker *k)
{
    pipe_config *c = k->c;
    char msg[256];
    if (!c->filter && pipe_config_set_str(&c->filter, "")) return failf(k, 0, "out of memory");
    pipe_schema *s = pipe_schema_new(c->fields, c->nfields, c->max_message_bytes, msg, sizeof msg);
    if (!s) return failf(k, LINE(k, schema), "%s", msg);
    pipe_filter *f = pipe_filter_compile(c->filter, s, msg, sizeof msg);
    if (!f) {
        pipe_schema_free(s);
        return failf(k, LINE(k, filter), "%s", msg);
    }
    pipe_filter_free(f);
    if (!c->when && pipe_config_set_str(&c->when, "")) {
        pipe_schema_free(s);
        return failf(k, 0, "out of memory");
    }
    f = pipe_filter_compile(c->when, s, msg, sizeof msg);
    pipe_schema_free(s);
    if (!f) return failf(k, LINE(k, when), "target '%s': when: %s", c->name, msg);
    pipe_filter_free(f);
    return 0;
}

/* Across targets: distinct names. (Each target was checked on its own already.) */
static int check_targets(checker *k)
{
    pipe_config *c = k->c;
    for (size_t i = 0; i < pipe_config_ntargets(c); i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(pipe_config_target(c, i)->name, pipe_config_target(c, j)->name) == 0)
                return failf(k, 0, "two targets are named '%s' (set name: on one of them)",
                             pipe_config_target(c, i)->name);
    return 0;
}

int config_check(pipe_config *c, const cfg_lines *l, char *err, size_t errlen)
{
    checker k = {c, l, err, errlen};
    if (check_source(&k) || check_fields(&k) || check_columns(&k) || check_primary_key(&k) ||
        check_target(&k) || check_filter(&k))
        return -1;
    for (size_t i = 0; i < c->nmore; i++) {
        char sub[512];
        if (config_check(c->more[i], NULL, sub, sizeof sub)) {
            snprintf(err, errlen, "%s", sub);
            return -1;
        }
    }
    return check_targets(&k);
}

int pipe_config_finish(pipe_config *c, char *err, size_t errlen)
{
    return config_check(c, NULL, err, errlen);
}

int pipe_config_compile(const pipe_config *c, pipe_schema **schema, pipe_filter **filter, char *err,
                        size_t errlen)
{
    *schema = pipe_schema_new(c->fields, c->nfields, c->max_message_bytes, err, errlen);
    if (!*schema) return -1;
    *filter = pipe_filter_compile(c->filter, *schema, err, errlen);
    if (!*filter) {
        pipe_schema_free(*schema);
        *schema = NULL;
        return -1;
    }
    return 0;
}

pipe_expr **pipe_config_compile_columns(const pipe_config *c, const pipe_schema *s, char *err,
                                        size_t errlen)
{
    pipe_expr **cols = calloc(c->ncolumns ? c->ncolumns : 1, sizeof *cols);
    if (!cols) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < c->ncolumns; i++) {
        if (c->columns[i].field_index >= 0) continue;
        char what[300];
        snprintf(what, sizeof what, "mapping '%s'", c->columns[i].name);
        pipe_xopts o = {.what = what};
        if (!(cols[i] = pipe_expr_compile(c->columns[i].field, s, &o, err, errlen))) {
            pipe_config_free_columns(cols, c->ncolumns);
            return NULL;
        }
    }
    return cols;
}

int pipe_config_compile_target(const pipe_config *t, const pipe_schema *s, pipe_filter **when,
                               pipe_expr ***cols, char *err, size_t errlen)
{
    *when = NULL;
    if (t->when && *t->when) {
        if (!(*when = pipe_filter_compile(t->when, s, err, errlen))) return -1;
        if (pipe_filter_is_trivial(*when)) {
            pipe_filter_free(*when);
            *when = NULL;
        }
    }
    if (!(*cols = pipe_config_compile_columns(t, s, err, errlen))) {
        pipe_filter_free(*when);
        *when = NULL;
        return -1;
    }
    return 0;
}

void pipe_config_free_columns(pipe_expr **cols, size_t n)
{
    if (!cols) return;
    for (size_t i = 0; i < n; i++) pipe_expr_free(cols[i]);
    free(cols);
}

/* ---- names -------------------------------------------------------------------------------- */

static const char *const consistency_names[] = {
    "any",          "one",         "two",    "three",        "quorum",    "all",
    "local_quorum", "each_quorum", "serial", "local_serial", "local_one",
};

const char *pipe_action_name(pipe_action a)
{
    return a == PIPE_ACT_DELETE ? "delete" : "upsert";
}

const char *pipe_tombstone_name(pipe_tombstone t)
{
    return t == PIPE_TOMB_DELETE ? "delete" : t == PIPE_TOMB_SKIP ? "skip" : "dlq";
}

int pipe_action_parse(const char *name)
{
    if (strcasecmp(name, "upsert") == 0) return PIPE_ACT_UPSERT;
    if (strcasecmp(name, "delete") == 0) return PIPE_ACT_DELETE;
    return -1;
}

int pipe_tombstone_parse(const char *name)
{
    if (strcasecmp(name, "dlq") == 0) return PIPE_TOMB_DLQ;
    if (strcasecmp(name, "skip") == 0) return PIPE_TOMB_SKIP;
    if (strcasecmp(name, "delete") == 0) return PIPE_TOMB_DELETE;
    return -1;
}

int pipe_wts_parse(const char *name)
{
    if (!name) return -1;
    if (strcasecmp(name, "kafka") == 0) return PIPE_WTS_KAFKA;
    if (strcasecmp(name, "server") == 0) return PIPE_WTS_SERVER;
    return -1;
}

int pipe_consistency_parse(const char *name)
{
    for (int i = 0; i < 11; i++)
        if (strcasecmp(name, consistency_names[i]) == 0) return i;
    return -1;
}

const char *pipe_mode_name(pipe_mode m)
{
    return m == PIPE_MODE_APPEND ? "append" : "initial";
}

/* ---- dump --------------------------------------------------------------------------------- */

/* Writes s as a YAML double-quoted scalar that loads back to s: in values (not keys, which
 * are not interpolated) "${" becomes "$${", control characters and YAML's Unicode line breaks are
 * escaped. */
void config_put_quoted(FILE *out, const char *s, int is_key)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '$' && p[1] == '{' && !is_key)
            fputs("$$", out);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\x%02x", *p);
        else if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            fprintf(out, "\\x%02x", p[1]), p++;
        else if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
            fputs(p[2] == 0xA8 ? "\\L" : "\\P", out), p += 2;
        else if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            fputs("\\uFEFF", out), p += 2;
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void put_quoted(FILE *out, const char *s)
{
    config_put_quoted(out, s, 0);
}

static void dump_source(const pipe_config *c, FILE *out)
{
    fputs("source:\n  topic: ", out);
    put_quoted(out, c->topic);
    fputs("\n  dlq_topic: ", out);
    put_quoted(out, c->dlq_topic);
    fputs("\n  group: ", out);
    put_quoted(out, c->group);
    fprintf(out, "\n  mode: %s\n  max_message_bytes: %zu\n", pipe_mode_name(c->mode),
            c->max_message_bytes);
}

static void dump_schema(const pipe_config *c, FILE *out)
{
    fprintf(out, "schema:\n  strict: %s\n  fields:\n", c->schema_strict ? "true" : "false");
    for (size_t i = 0; i < c->nfields; i++) {
        const pipe_field *f = &c->fields[i];
        fputs("    - {name: ", out);
        put_quoted(out, f->name);
        fprintf(out, ", type: %s, required: %s, max_bytes: %zu, strict: %s}\n",
                pipe_type_name(f->type), f->required ? "true" : "false", f->max_bytes,
                f->strict ? "true" : "false");
    }
    fputs("filter: ", out);
    put_quoted(out, c->filter);
    fputc('\n', out);
}

/* One target's keys; `in` is the indentation of its first line ("target:\n  " or "  - "),
 * `ind` of the others. */
static void dump_target(const pipe_config *c, FILE *out, const char *in, const char *ind)
{
    fprintf(out, "%sname: ", in);
    put_quoted(out, c->name);
    fprintf(out, "\n%swhen: ", ind);
    put_quoted(out, c->when);
    fprintf(out, "\n%saction: %s\n%son_tombstone: %s\n%skeyspace: ", ind,
            pipe_action_name(c->action), ind, pipe_tombstone_name(c->on_tombstone), ind);
    put_quoted(out, c->keyspace);
    fprintf(out, "\n%stable: ", ind);
    put_quoted(out, c->table);
    fprintf(out, "\n%sreplication: ", ind);
    put_quoted(out, c->replication);
    fprintf(out,
            "\n%sttl: %lld\n%screate_if_missing: %s\n%sconsistency: %s\n%swrite_timestamp: %s\n"
            "%sprimary_key: [",
            ind, (long long)c->ttl, ind, c->create_if_missing ? "true" : "false", ind,
            c->consistency, ind, c->write_timestamp, ind);
    for (size_t i = 0; i < c->nprimary_key; i++) {
        if (i) fputs(", ", out);
        put_quoted(out, c->primary_key[i]);
    }
    fprintf(out, "]\n%smapping:\n", ind);
    for (size_t i = 0; i < c->ncolumns; i++) {
        fprintf(out, "%s  ", ind);
        config_put_quoted(out, c->columns[i].name, 1); /* keys are not interpolated */
        fputs(": ", out);
        put_quoted(out, c->columns[i].field);
        fputc('\n', out);
    }
}

void pipe_config_dump(const pipe_config *c, FILE *out)
{
    fprintf(out, "# rtetl stream: effective pipeline (from %s)\n",
            c->source_path ? c->source_path : "<default>");
    dump_source(c, out);
    dump_schema(c, out);
    if (c->nmore == 0) {
        dump_target(c, out, "target:\n  ", "  ");
    } else {
        fputs("targets:\n", out);
        for (size_t i = 0; i < pipe_config_ntargets(c); i++)
            dump_target(pipe_config_target(c, i), out, "  - ", "    ");
    }
    fprintf(out, "retry:\n  base: %llums\n  max: %llums\n  max_attempts: %u\n  jitter: %s\n",
            (unsigned long long)c->retry.base_ms, (unsigned long long)c->retry.max_ms,
            c->retry.max_attempts, pipe_jitter_name(c->retry.jitter));
}
