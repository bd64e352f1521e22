/* CQL statement text implied by a pipeline's target: keyspace, table and the INSERT. */
#include "pipeline/config_impl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reserved CQL keywords (Cassandra 5.0 reference, appendix A): unquoted, these are not
 * identifiers. Quoting a lower-case name that is not reserved changes nothing, so the list may
 * err on the side of length. */
static const char *const reserved[] = {
    "add",    "allow",       "alter",  "and",          "apply",    "asc",      "authorize",
    "batch",  "begin",       "by",     "columnfamily", "create",   "default",  "delete",
    "desc",   "describe",    "drop",   "entries",      "execute",  "from",     "full",
    "grant",  "if",          "in",     "index",        "infinity", "insert",   "into",
    "is",     "keyspace",    "limit",  "materialized", "mbean",    "mbeans",   "modify",
    "nan",    "norecursive", "not",    "null",         "of",       "on",       "or",
    "order",  "primary",     "rename", "replace",      "revoke",   "schema",   "select",
    "set",    "table",       "to",     "token",        "truncate", "unlogged", "unset",
    "update", "use",         "using",  "view",         "where",    "with",
};

static int needs_quotes(const char *name)
{
    if (!(name[0] >= 'a' && name[0] <= 'z')) return 1;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return 1;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0) return 1;
    return 0;
}

size_t pipe_cql_ident(const char *name, char *buf, size_t buflen)
{
    size_t n = 0;
#define PUT(ch)                            \
    do {                                   \
        if (n + 1 < buflen) buf[n] = (ch); \
        n++;                               \
    } while (0)
    int q = needs_quotes(name);
    if (q) PUT('"');
    for (const char *p = name; *p; p++) {
        PUT(*p);
        if (*p == '"') PUT('"'); /* a quote inside a quoted identifier is doubled */
    }
    if (q) PUT('"');
#undef PUT
    if (buflen) buf[n < buflen ? n : buflen - 1] = '\0';
    return n;
}

/* A growing string for statement text. */
typedef struct text {
    char *p;
    size_t len, cap;
    int oom;
} text;

static void add(text *t, const char *s, size_t n)
{
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p, t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void adds(text *t, const char *s)
{
    add(t, s, strlen(s));
}

static void addf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void addf(text *t, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) add(t, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void add_ident(text *t, const char *name)
{
    size_t n = pipe_cql_ident(name, NULL, 0);
    char *tmp = malloc(n + 1);
    if (!tmp) {
        t->oom = 1;
        return;
    }
    pipe_cql_ident(name, tmp, n + 1);
    add(t, tmp, n);
    free(tmp);
}

static void add_table(text *t, const pipe_config *c)
{
    add_ident(t, c->keyspace);
    adds(t, ".");
    add_ident(t, c->table);
}

static char *finish(text *t)
{
    if (!t->oom) return t->p;
    free(t->p);
    return NULL;
}

char *pipe_cql_create_keyspace(const pipe_config *c)
{
    text t = {0};
    adds(&t, "CREATE KEYSPACE IF NOT EXISTS ");
    add_ident(&t, c->keyspace);
    adds(&t, " WITH replication = ");
    adds(&t, c->replication);
    return finish(&t);
}

/* The CQL type of column i: its field's, or its expression's result type (pipe_xtype_cql); an
 * expression that does not compile (the config was not finished) is text. */
static const char *column_type(const pipe_config *c, const pipe_schema *s, size_t i)
{
    int fi = c->columns[i].field_index;
    if (fi >= 0) return pipe_type_cql(c->fields[fi].type);
    char err[256];
    pipe_expr *x = s ? pipe_expr_compile(c->columns[i].field, s, NULL, err, sizeof err) : NULL;
    const char *type = pipe_xtype_cql(x ? pipe_expr_type(x) : PIPE_X__ANY);
    pipe_expr_free(x);
    return type;
}

char *pipe_cql_create_table(const pipe_config *c)
{
    text t = {0};
    char err[256];
    pipe_schema *s = pipe_schema_new(c->fields, c->nfields, 0, err, sizeof err);
    adds(&t, "CREATE TABLE IF NOT EXISTS ");
    add_table(&t, c);
    adds(&t, " (");
    for (size_t i = 0; i < c->ncolumns; i++) {
        add_ident(&t, c->columns[i].name);
        adds(&t, " ");
        adds(&t, column_type(c, s, i));
        adds(&t, ", ");
    }
    pipe_schema_free(s);
    adds(&t, "PRIMARY KEY (");
    for (size_t i = 0; i < c->nprimary_key; i++) {
        if (i) adds(&t, ", ");
        add_ident(&t, c->primary_key[i]);
    }
    adds(&t, "))");
    if (c->ttl > 0) addf(&t, " WITH default_time_to_live = %lld", (long long)c->ttl);
    return finish(&t);
}

static char *insert(const pipe_config *c, bool timestamp)
{
    text t = {0};
    adds(&t, "INSERT INTO ");
    add_table(&t, c);
    adds(&t, " (");
    for (size_t i = 0; i < c->ncolumns; i++) {
        if (i) adds(&t, ", ");
        add_ident(&t, c->columns[i].name);
    }
    adds(&t, ") VALUES (");
    for (size_t i = 0; i < c->ncolumns; i++) adds(&t, i ? ", ?" : "?");
    adds(&t, ")");
    if (timestamp) adds(&t, " USING TIMESTAMP ?");
    if (c->ttl > 0) addf(&t, timestamp ? " AND TTL %lld" : " USING TTL %lld", (long long)c->ttl);
    return finish(&t);
}

char *pipe_cql_insert(const pipe_config *c)
{
    return insert(c, false);
}

char *pipe_cql_insert_ts(const pipe_config *c)
{
    return insert(c, true);
}

/* DELETE FROM ks.tb [USING TIMESTAMP ?] WHERE c1 = ? AND ... for the n names in cols. */
static char *delete_where(const pipe_config *c, bool ts, const char *const *cols, size_t n)
{
    text t = {0};
    adds(&t, "DELETE FROM ");
    add_table(&t, c);
    if (ts) adds(&t, " USING TIMESTAMP ?");
    adds(&t, " WHERE ");
    for (size_t i = 0; i < n; i++) {
        if (i) adds(&t, " AND ");
        add_ident(&t, cols[i]);
        adds(&t, " = ?");
    }
    return finish(&t);
}

char *pipe_cql_delete(const pipe_config *c, bool ts)
{
    const char **cols = malloc((c->ncolumns ? c->ncolumns : 1) * sizeof *cols);
    if (!cols) return NULL;
    for (size_t i = 0; i < c->ncolumns; i++) cols[i] = c->columns[i].name;
    char *q = delete_where(c, ts, cols, c->ncolumns);
    free(cols);
    return q;
}

char *pipe_cql_delete_key(const pipe_config *c, bool ts)
{
    return delete_where(c, ts, (const char *const *)c->primary_key, c->nprimary_key);
}
