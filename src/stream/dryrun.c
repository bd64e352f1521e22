/* `rtetl stream --dry-run` (stream_dry_run, see stream.h): the record path's decode, filter and
 * mapping over a sample of the topic, printed instead of written.
 *
 * DESIGN: kept out of the engine so the hot path carries no dry-run test per record. It uses
 * the same compiled pieces (schema, filter, mapping expressions) and the engine's Kafka
 * metadata, and gives the same reasons and details the engine would: a decode error's reason,
 * a failing mapping expression as expr_failed. What it cannot see without Cassandra is a value
 * an existing table's column type refuses (the engine binds text into the prepared column
 * types); rtetl's own tables have the types the schema implies. The topic is read with the
 * bounded reader of batch tools (kafka/reader.h): assigned partitions, never committed. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conf.h"
#include "kafka/reader.h"
#include "pipeline/arena.h"
#include "stream/engine.h"
#include "stream/stream.h"

typedef struct dry {
    const pipe_config *pc;
    pipe_schema *schema;
    pipe_filter *filter;
    size_t ntargets;
    pipe_expr **cols[PIPE_MAX_TARGETS];  /* per target */
    pipe_filter *when[PIPE_MAX_TARGETS]; /* per target */
    bool tomb_targets;                   /* a target takes tombstones (engine.h's twin) */
    pipe_record *rec;
    pipe_arena *arena, *scratch;
    FILE *out;
    uint64_t records, written, filtered, dead;
} dry;

/* Text as a CQL string literal: quoted, a quote doubled; control characters are shown as
 * \n, \t, \r or \xNN so that a record stays on one line (the "-ish" of the output). */
static void put_quoted(FILE *out, const char *p, size_t n)
{
    fputc('\'', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\'')
            fputs("''", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 0x20 || c == 0x7F)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('\'', out);
}

static void put_field(FILE *out, const pipe_field *f, const pipe_value *v)
{
    if (!v->present || v->json_type == PIPE_JSON_NULL)
        fputs("null", out);
    else if (f->type == PIPE_T_STRING || f->type == PIPE_T_TIMESTAMP || f->type == PIPE_T_DATE)
        put_quoted(out, v->ptr, v->len);
    else /* a JSON number or boolean, a uuid: a CQL literal as it is; a list or map as JSON */
        fwrite(v->ptr, 1, v->len, out);
}

static void put_xval(FILE *out, const pipe_xval *v)
{
    char buf[48];
    const char *p;
    size_t n;
    if (v->type == PIPE_X_NULL) return (void)fputs("null", out);
    pipe_xval_text(v, buf, sizeof buf, &p, &n);
    if (v->type == PIPE_X_STRING || v->type == PIPE_X_TIMESTAMP || v->type == PIPE_X_DATE)
        put_quoted(out, p, n);
    else
        fwrite(p, 1, n, out);
}

/* The line's head: where the record is from and, with several targets, which one. */
static void head(dry *d, const rd_kafka_message_t *m, const pipe_config *tc)
{
    fprintf(d->out, "[%" PRId32 ":%" PRId64 "] ", m->partition, m->offset);
    if (d->ntargets > 1) fprintf(d->out, "%s: ", tc->name);
}

/* Evaluates every expression column of target i first (a failure dead-letters the record
 * before anything is printed), then prints the row: what the INSERT writes, or the key a
 * delete target deletes. */
static void map_row(dry *d, size_t i, const rd_kafka_message_t *m, const pipe_xctx *ctx)
{
    const pipe_config *pc = pipe_config_target(d->pc, i);
    pipe_expr **cols = d->cols[i];
    pipe_xval *vals = pipe_arena_alloc(d->arena, (pc->ncolumns + 1) * sizeof *vals);
    for (size_t c = 0; vals && c < pc->ncolumns; c++) {
        if (!cols[c] || pipe_expr_eval(cols[c], ctx, &vals[c]) == 0) continue;
        d->dead++;
        head(d, m, pc);
        fprintf(d->out, "dead-letter expr_failed: column %s = %s: %s\n", pc->columns[c].name,
                pc->columns[c].field, ctx->err);
        return;
    }
    head(d, m, pc);
    if (!vals) {
        fprintf(d->out, "not mapped: out of memory\n");
        return;
    }
    d->written++;
    fputs(pc->action == PIPE_ACT_DELETE ? "delete " : "write ", d->out);
    for (size_t c = 0; c < pc->ncolumns; c++) {
        fprintf(d->out, "%s%s=", c ? ", " : "", pc->columns[c].name);
        int fi = pc->columns[c].field_index;
        if (cols[c])
            put_xval(d->out, &vals[c]);
        else
            put_field(d->out, &pc->fields[fi], &d->rec->v[fi]);
    }
    fputc('\n', d->out);
}

/* A tombstone (a key and no value) when some target takes one: each target's on_tombstone. */
static void tombstone(dry *d, const rd_kafka_message_t *m)
{
    for (size_t i = 0; i < d->ntargets; i++) {
        const pipe_config *pc = pipe_config_target(d->pc, i);
        head(d, m, pc);
        if (pc->on_tombstone == PIPE_TOMB_DELETE) {
            d->written++;
            fprintf(d->out, "delete %s=", pc->primary_key[0]);
            put_quoted(d->out, m->key, m->key_len);
            fputc('\n', d->out);
        } else if (pc->on_tombstone == PIPE_TOMB_SKIP) {
            d->filtered++;
            fputs("skip tombstone (on_tombstone: skip)\n", d->out);
        } else {
            d->dead++;
            fprintf(d->out, "dead-letter %s: a tombstone (a key and no value)\n",
                    pipe_decode_reason(PIPE_DEC_EMPTY));
        }
    }
}

/* One message through decode, filter and mapping, as engine.c's process() and map do. */
static void take(dry *d, const rd_kafka_message_t *m)
{
    pipe_decode_error derr;
    char why[160] = "";
    pipe_arena_reset(d->arena);
    pipe_arena_reset(d->scratch);
    d->records++;
    if (!m->payload && m->key && d->tomb_targets) return tombstone(d, m);
    pipe_decode_err rc = pipe_decode(d->schema, m->payload, m->len, d->arena, d->rec, &derr);
    if (rc != PIPE_DEC_OK) {
        char detail[512];
        pipe_decode_describe(d->schema, &derr, detail, sizeof detail);
        d->dead++;
        fprintf(d->out, "[%" PRId32 ":%" PRId64 "] dead-letter %s: %s\n", m->partition, m->offset,
                pipe_decode_reason(rc), detail);
        return;
    }
    rd_kafka_timestamp_type_t tstype;
    pipe_kafka_meta meta;
    stream_record_meta(m, rd_kafka_message_timestamp(m, &tstype), &meta);
    pipe_xctx ctx = {
        .rec = d->rec, .meta = &meta, .scratch = d->scratch, .err = why, .errlen = sizeof why};
    if (!pipe_filter_eval_ctx(d->filter, &ctx)) {
        d->filtered++;
        fprintf(d->out, "[%" PRId32 ":%" PRId64 "] skip filtered: not true: %s\n", m->partition,
                m->offset, d->pc->filter);
        return;
    }
    for (size_t i = 0; i < d->ntargets; i++) {
        const pipe_config *pc = pipe_config_target(d->pc, i);
        if (d->when[i] && !pipe_filter_eval_ctx(d->when[i], &ctx)) {
            head(d, m, pc);
            fprintf(d->out, "skip when: not true: %s\n", pc->when);
            continue;
        }
        map_row(d, i, m, &ctx);
    }
}

static int compile(dry *d, char *err, size_t errlen)
{
    if (pipe_config_compile(d->pc, &d->schema, &d->filter, err, errlen)) return -1;
    d->ntargets = pipe_config_ntargets(d->pc);
    for (size_t i = 0; i < d->ntargets; i++) {
        const pipe_config *pc = pipe_config_target(d->pc, i);
        if (pipe_config_compile_target(pc, d->schema, &d->when[i], &d->cols[i], err, errlen))
            return -1;
        if (pc->on_tombstone != PIPE_TOMB_DLQ) d->tomb_targets = true;
    }
    d->rec = pipe_record_new(d->schema);
    d->arena = pipe_arena_new(0);
    d->scratch = pipe_arena_new(0);
    if (!d->rec || !d->arena || !d->scratch) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void release(dry *d)
{
    for (size_t i = 0; i < d->ntargets; i++) {
        pipe_config_free_columns(d->cols[i], pipe_config_target(d->pc, i)->ncolumns);
        pipe_filter_free(d->when[i]);
    }
    pipe_filter_free(d->filter);
    pipe_record_free(d->rec);
    pipe_schema_free(d->schema);
    pipe_arena_free(d->arena);
    pipe_arena_free(d->scratch);
}

int stream_dry_run(const pipe_config *pipe, const char *brokers, const opt_list *kafka_props,
                   uint64_t sample, FILE *out, char *err, size_t errlen)
{
    static const char *const defaults[] = {"client.id=rtetl-dry-run", NULL};
    dry d = {.pc = pipe, .out = out};
    kafka_reader *r = NULL;
    int code = 1;
    rd_kafka_conf_t *conf = NULL;
    if (compile(&d, err, errlen) ||
        !(conf = kafka_conf_new(brokers, defaults, kafka_props, err, errlen)))
        goto out;
    kafka_conf_route_logs(conf);
    /* The group only says where each partition starts; the reader never commits to it. */
    if (!(r = kafka_reader_new(conf, pipe->topic, pipe->group, 30000, err, errlen))) goto out;
    bool failed = false;
    while (!kafka_reader_done(r) && d.records < sample) {
        rd_kafka_message_t *m = kafka_reader_next(r, 1000, &failed, err, errlen);
        if (failed) goto out;
        if (!m) continue;
        take(&d, m);
        rd_kafka_message_destroy(m);
    }
    fprintf(out,
            "# dry run of %s: %" PRIu64 " records: %" PRIu64 " would be written, %" PRIu64
            " filtered out, %" PRIu64 " dead-lettered; nothing was written or committed\n",
            pipe->topic, d.records, d.written, d.filtered, d.dead);
    code = fflush(out) == 0 ? 0 : 1;
    if (code) snprintf(err, errlen, "cannot write the output");
out:
    kafka_reader_free(r);
    release(&d);
    return code;
}
