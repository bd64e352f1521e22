/* The commented pipeline YAML of an inference (pipe_infer_write_yaml, see infer.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config_impl.h"
#include "pipeline/expr.h"
#include "pipeline/infer.h"

/* The derived key's column when no field can be the key: one row per Kafka message. */
#define POSITION_COLUMN "kafka_position"
#define POSITION_EXPR   "concat(kafka.partition, '-', kafka.offset)"

/* "100%", "0%", else one decimal ("99.9%", "0.1%"), never rounded to 0 or 100. */
static void put_pct(FILE *out, uint64_t n, uint64_t total)
{
    if (total == 0 || n == 0) return (void)fputs("0%", out);
    if (n >= total) return (void)fputs("100%", out);
    uint64_t permille = (uint64_t)((double)n * 1000.0 / (double)total);
    if (permille < 1) permille = 1;
    if (permille > 999) permille = 999;
    if (permille % 10)
        fprintf(out, "%" PRIu64 ".%" PRIu64 "%%", permille / 10, permille % 10);
    else
        fprintf(out, "%" PRIu64 "%%", permille / 10);
}

static void put_stats(FILE *out, const pipe_infer_field *f, uint64_t records, bool key)
{
    static const char *const names[] = {"string", "int", "float", "boolean", "object", "array"};
    const uint64_t counts[] = {f->n_string, f->n_int,    f->n_float,
                               f->n_bool,   f->n_object, f->n_array};
    fputs("    # present ", out);
    put_pct(out, f->present, records);
    fputs(", null ", out);
    put_pct(out, f->nulls, records);
    fputs(", types:", out);
    int any = 0;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (counts[i]) fprintf(out, "%s %s %" PRIu64, any++ ? "," : "", names[i], counts[i]);
    if (!any) fputs(" none", out);
    if (f->n_timestamp) {
        fputs("; ISO-8601 timestamps ", out);
        put_pct(out, f->n_timestamp, f->n_string);
    }
    if (f->n_uuid) {
        fputs("; UUIDs ", out);
        put_pct(out, f->n_uuid, f->n_string);
    }
    if (f->over_int64)
        fputs("; integers beyond 64 bits", out);
    else if (f->over_int32)
        fputs("; integers beyond 32 bits", out);
    fprintf(out, "; longest %zu byte%s", f->longest, f->longest == 1 ? "" : "s");
    if (f->key_candidate) fputs(key ? "; unique: the primary key" : "; unique", out);
    fputc('\n', out);
}

/* A CQL column name for a field: lower-case letters, digits and '_' (others become '_'),
 * starting with a letter, distinct from the columns before it (a _2, _3 ... suffix). */
static char *column_name(const char *field, char *const *taken, size_t ntaken)
{
    size_t n = strlen(field);
    char *s = malloc(n + 16);
    if (!s) return NULL;
    size_t o = 0;
    if (!((field[0] >= 'a' && field[0] <= 'z') || (field[0] >= 'A' && field[0] <= 'Z')))
        s[o++] = 'f', s[o++] = '_';
    for (size_t i = 0; i < n; i++) {
        char c = field[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        s[o++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
    }
    s[o] = '\0';
    for (unsigned k = 2;; k++) {
        size_t i = 0;
        while (i < ntaken && strcmp(taken[i], s) != 0) i++;
        if (i == ntaken) return s;
        snprintf(s + o, 16, "_%u", k);
    }
}

/* Names the columns of p's fields into cols (n entries, NULL-initialized): fields whose name
 * is a column name as it is keep it first, so `first_name` stays first_name even after a
 * `First Name`. -1 when out of memory. */
static int name_columns(const pipe_infer *p, char **cols)
{
    size_t n = pipe_infer_nfields(p), ntaken = 0;
    char **taken = calloc(n ? n : 1, sizeof *taken);
    if (!taken) return -1;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const char *name = pipe_infer_field_at(p, i)->name;
            if (cols[i]) continue;
            char *c = column_name(name, taken, ntaken);
            if (!c) goto fail;
            if (pass == 0 && strcmp(c, name) != 0) {
                free(c);
                continue;
            }
            cols[i] = taken[ntaken++] = c;
        }
    free(taken);
    return 0;
fail:
    free(taken);
    return -1;
}

/* fn(field) in canonical expression text (the field back-quoted when it must be). */
static char *call_expr(const char *fn, const char *field)
{
    pipe_field def = {.name = (char *)field, .type = PIPE_T_STRING, .max_bytes = SIZE_MAX};
    char err[256], *text = NULL, *out = NULL;
    size_t n = strlen(field), o = 0;
    pipe_schema *s = pipe_schema_new(&def, 1, 0, err, sizeof err);
    if (s && (text = malloc(2 * n + strlen(fn) + 8))) {
        o += (size_t)sprintf(text, "%s(`", fn);
        for (size_t i = 0; i < n; i++) {
            if (field[i] == '`') text[o++] = '`';
            text[o++] = field[i];
        }
        strcpy(text + o, "`)");
    }
    pipe_expr *x = text ? pipe_expr_compile(text, s, NULL, err, sizeof err) : NULL;
    size_t len = x ? pipe_expr_print(x, s, NULL, 0) : 0;
    if (x && (out = malloc(len + 1))) pipe_expr_print(x, s, out, len + 1);
    pipe_expr_free(x);
    pipe_schema_free(s);
    free(text);
    return out;
}

/* The topic's name as a CQL table name: 1 to 48 of [a-z0-9_], starting with a letter. */
static void table_name(const char *topic, char *out)
{
    size_t o = 0;
    if (!((topic[0] >= 'a' && topic[0] <= 'z') || (topic[0] >= 'A' && topic[0] <= 'Z')))
        out[o++] = 't', out[o++] = '_';
    for (const char *p = topic; *p && o < 48; p++) {
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        out[o++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
    }
    out[o] = '\0';
}

static void put_header(FILE *out, const pipe_infer *p, const pipe_infer_yaml_opts *o)
{
    uint64_t left = pipe_infer_messages(p) - pipe_infer_records(p);
    fprintf(out, "# rtetl init: a pipeline inferred from %" PRIu64 " JSON records of topic ",
            pipe_infer_records(p));
    config_put_quoted(out, o->topic, 1);
    fputs(".\n", out);
    if (o->origin) fprintf(out, "# Sample: %s.\n", o->origin);
    fputs(
        "# Review it, then run it with: rtetl stream --config FILE\n"
        "#\n"
        "# A field's type is one every sampled value fits; a later value of another type is\n"
        "# dead-lettered (wrong_type), so a field whose type varied is a string, which takes any\n"
        "# JSON value as its text (as Spark's StringType). Only the primary key is required: a\n"
        "# record without another field is written with null there. Statistics per field: of\n"
        "# the sampled records, how many had the key (present) and a null value (null), the JSON\n"
        "# types of its other values, and its longest value.\n",
        out);
    if (left) {
        int comma = 0;
        fprintf(out, "# %" PRIu64 " of %" PRIu64 " messages were left out, not being JSON objects:",
                left, pipe_infer_messages(p));
        for (int r = 1; r < PIPE_DEC__COUNT; r++)
            if (pipe_infer_rejected(p, (pipe_decode_err)r))
                fprintf(out, "%s %s %" PRIu64, comma++ ? "," : "",
                        pipe_decode_reason((pipe_decode_err)r),
                        pipe_infer_rejected(p, (pipe_decode_err)r));
        fputs(" (the stream dead-letters such messages).\n", out);
    }
    if (pipe_infer_skipped_keys(p))
        fprintf(out,
                "# %" PRIu64 " keys are not fields (over %d bytes, holding a NUL, or past %d "
                "fields).\n",
                pipe_infer_skipped_keys(p), PIPE_FIELD_NAME_MAX, PIPE_SCHEMA_MAX_FIELDS);
}

static void put_source(FILE *out, const pipe_infer_yaml_opts *o)
{
    fputs("source:\n  topic: ", out);
    config_put_quoted(out, o->topic, 0);
    fputs("\n  group: ", out);
    if (o->group) {
        config_put_quoted(out, o->group, 0);
    } else {
        char *g = malloc(strlen(o->topic) + 8);
        if (g) sprintf(g, "rtetl-%s", o->topic);
        config_put_quoted(out, g ? g : "rtetl-stream", 0);
        free(g);
    }
    fputs("\n  mode: initial   # a new group starts at the earliest offset\n", out);
}

static void put_schema(FILE *out, const pipe_infer *p, int key)
{
    fputs("schema:\n  strict: false\n  fields:\n", out);
    for (size_t i = 0; i < pipe_infer_nfields(p); i++) {
        const pipe_infer_field *f = pipe_infer_field_at(p, i);
        put_stats(out, f, pipe_infer_records(p), (int)i == key);
        fputs("    - {name: ", out);
        config_put_quoted(out, f->name, 0);
        fprintf(out, ", type: %s, required: %s", pipe_type_name(pipe_infer_type(f)),
                (int)i == key ? "true" : "false");
        if (f->longest > PIPE_DEFAULT_FIELD_MAX_BYTES)
            fprintf(out, ", max_bytes: %zuMiB", (f->longest >> 20) + 1);
        fputs("}\n", out);
    }
    fputs("# Records for which this expression is true are written (src/pipeline/expr.h), e.g.\n"
          "# \"not_empty(email)\"; \"\" keeps every record.\n"
          "filter: \"\"\n",
          out);
}

static void put_column(FILE *out, const char *column, const char *text)
{
    fputs("    ", out);
    config_put_quoted(out, column, 1);
    fputs(": ", out);
    config_put_quoted(out, text, 0);
    fputc('\n', out);
}

/* A commented alternative mapping: the column as fn(field), a typed CQL column. */
static void put_alternative(FILE *out, const char *column, const char *fn, const char *field,
                            const char *type)
{
    char *x = call_expr(fn, field);
    if (!x) return;
    fprintf(out,
            "    # or, as a CQL %s (into a %s column), instead of the line above:\n"
            "    # ",
            type, type);
    config_put_quoted(out, column, 1);
    fputs(": ", out);
    config_put_quoted(out, x, 0);
    fputc('\n', out);
    free(x);
}

static int put_target(FILE *out, const pipe_infer *p, const pipe_infer_yaml_opts *o, int key)
{
    size_t n = pipe_infer_nfields(p);
    char **cols = calloc(n + 1, sizeof *cols), table[64];
    int rc = cols && name_columns(p, cols) == 0 ? 0 : -1;
    if (rc == 0 && key < 0 && !(cols[n] = column_name(POSITION_COLUMN, cols, n))) rc = -1;
    if (rc == 0) {
        table_name(o->topic, table);
        fputs("target:\n  keyspace: ", out);
        config_put_quoted(out, o->keyspace ? o->keyspace : "rtetl", 0);
        fputs("\n  table: ", out);
        config_put_quoted(out, o->table ? o->table : table, 0);
        fputs("\n  create_if_missing: true\n", out);
        if (key < 0)
            fputs("  # No field was present, not null and unique in every sampled record: each\n"
                  "  # message is its own row, keyed by its Kafka partition and offset.\n",
                  out);
        fputs("  primary_key: [", out);
        config_put_quoted(out, cols[key >= 0 ? (size_t)key : n], 0);
        fputs("]\n  mapping:\n", out);
        if (key < 0) put_column(out, cols[n], POSITION_EXPR);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const pipe_infer_field *f = pipe_infer_field_at(p, i);
        put_column(out, cols[i], f->name);
        if (pipe_infer_timestamp_like(f))
            put_alternative(out, cols[i], "to_timestamp", f->name, "timestamp");
        else if (pipe_infer_uuid_like(f))
            put_alternative(out, cols[i], "to_uuid", f->name, "uuid");
    }
    for (size_t i = 0; cols && i <= n; i++) free(cols[i]);
    free(cols);
    return rc;
}

int pipe_infer_write_yaml(const pipe_infer *p, const pipe_infer_yaml_opts *o, FILE *out)
{
    if (!pipe_infer_nfields(p) || !o->topic || !*o->topic) return -1;
    int key = pipe_infer_key(p);
    put_header(out, p, o);
    put_source(out, o);
    put_schema(out, p, key);
    return put_target(out, p, o, key);
}
