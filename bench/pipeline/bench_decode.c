/* Micro-benchmark of the record path's pure stages: decode + filter of reference-shaped
 * records (the 12 randomuser string fields), as `rtetl stream` runs them per message.
 * Usage: bench_pipeline [records] [rounds] [plain|numeric]. Prints ns/record and MB/s. Not a
 * test.
 * By default every record has a \u escape (Python's json.dumps escapes non-ASCII) so the arena
 * path is measured; "plain" makes every record escape-free (pure zero copy); "numeric" writes
 * post_code as a JSON number, as the reference producer does for many countries (stored as its
 * text, still zero copy), with the same random draws as the default; "expr" adds, per kept
 * record, the evaluation of four mapping expressions (lower(trim(email)), a concat, to_timestamp
 * and uuid_v5) as `rtetl stream` evaluates expression columns; "fanout" runs the pipeline of
 * examples/fanout-users.yaml (path in $FANOUT, default from the current directory) instead of
 * the reference one: decode, then per target its `when` filter and its expression columns, as
 * the engine does for each target of a record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/config.h"
#include "pipeline/decode.h"
#include "pipeline/expr.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static int plain;   /* no escapes at all: the zero-copy best case */
static int numeric; /* post_code as a JSON number */
static int exprs;   /* evaluate mapping expressions too */
static int fanout;  /* the fan-out example's targets */

/* The fan-out example, compiled: per target its when filter and expression columns. */
typedef struct fan {
    pipe_config *c;
    size_t n;
    pipe_filter *when[PIPE_MAX_TARGETS];
    pipe_expr **cols[PIPE_MAX_TARGETS];
} fan;

/* Loads the example and compiles its schema (*s, *f) and targets. */
static int fan_load(fan *fo, pipe_schema **s, pipe_filter **f, char *err, size_t errlen)
{
    const char *path = getenv("FANOUT") ? getenv("FANOUT") : "examples/fanout-users.yaml";
    if (!(fo->c = pipe_config_load(path, err, errlen))) return -1;
    if (pipe_config_compile(fo->c, s, f, err, errlen)) return -1;
    fo->n = pipe_config_ntargets(fo->c);
    for (size_t t = 0; t < fo->n; t++) {
        const pipe_config *tc = pipe_config_target(fo->c, t);
        if (pipe_config_compile_target(tc, *s, &fo->when[t], &fo->cols[t], err, errlen)) return -1;
    }
    return 0;
}

/* One decoded record through every target; counts the values computed. */
static size_t fan_record(fan *fo, pipe_xctx *ctx, pipe_arena *scratch, size_t *bad)
{
    size_t vals = 0;
    for (size_t t = 0; t < fo->n; t++) {
        pipe_arena_reset(scratch);
        if (fo->when[t] && !pipe_filter_eval_ctx(fo->when[t], ctx)) continue;
        const pipe_config *tc = pipe_config_target(fo->c, t);
        for (size_t k = 0; k < tc->ncolumns; k++) {
            pipe_xval v;
            if (fo->cols[t][k] && pipe_expr_eval(fo->cols[t][k], ctx, &v)) ++*bad;
            vals++;
        }
    }
    return vals;
}

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *const first[] = {"Ana",     "Bruno",      "Carla",     "Diego",
                                    "Elena",   "Felipe",     "Gabriela",  "Hugo",
                                    "Isabela", "Jo\\u00e3o", "Lu\\u00eds"};
static const char *const last[] = {"Silva",    "Santos", "Oliveira",     "Souza",
                                   "Pereira",  "Lima",   "Ara\\u00fajo", "Gon\\u00e7alves",
                                   "Ferreira", "Costa"};

/* One record the way the ingest side (and the reference Python producer) writes it: compact
 * JSON, non-ASCII escaped as \uXXXX, '/' unescaped. About 1 in 5 records has an escape. */
static int make_record(char *out, size_t cap, unsigned i)
{
    const char *fn = first[rnd(plain ? 9 : 11)], *ln = last[rnd(plain ? 6 : 10)];
    int female = rnd(2);
#define RECORD(post_code)                                                                       \
    "{\"id\":\"%08x-%04x-4%03x-a%03x-%012x\",\"first_name\":\"%s\",\"last_name\":\"%s\","       \
    "\"gender\":\"%s\",\"address\":\"%u Rua %s, %s, SP, Brazil\",\"post_code\":" post_code ","  \
    "\"email\":\"%s.%s@example.com\",\"username\":\"%s%u\",\"dob\":\"19%02u-%02u-%02uT10:%02u:" \
    "00.000Z\",\"registered_date\":\"20%02u-%02u-%02uT08:%02u:00.000Z\",\"phone\":\"(%02u) "    \
    "%04u-%04u\",\"picture\":\"https://randomuser.me/api/portraits/med/%s/%u.jpg\"}"
    return snprintf(out, cap, numeric ? RECORD("%u") : RECORD("\"%05u\""), rnd(0xFFFFFFFF),
                    rnd(0xFFFF), rnd(0xFFF), rnd(0xFFF), i, fn, ln, female ? "female" : "male",
                    rnd(9999), ln, plain ? "Sao Paulo" : "S\\u00e3o Paulo", rnd(99999), fn, ln,
                    "bluefish", rnd(999), 50 + rnd(49), 1 + rnd(12), 1 + rnd(28), rnd(60),
                    10 + rnd(14), 1 + rnd(12), 1 + rnd(28), rnd(60), 11 + rnd(88), rnd(9999),
                    rnd(9999), female ? "women" : "men", rnd(99));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    plain = argc > 3 && strcmp(argv[3], "plain") == 0;
    numeric = argc > 3 && strcmp(argv[3], "numeric") == 0;
    exprs = argc > 3 && strcmp(argv[3], "expr") == 0;
    fanout = argc > 3 && strcmp(argv[3], "fanout") == 0;
    char **msgs = malloc(n * sizeof *msgs);
    size_t *lens = malloc(n * sizeof *lens), total = 0;
    for (size_t i = 0; i < n; i++) {
        char buf[1024];
        int len = make_record(buf, sizeof buf, (unsigned)i);
        msgs[i] = malloc((size_t)len);
        memcpy(msgs[i], buf, (size_t)len); /* not NUL-terminated, as a Kafka payload */
        lens[i] = (size_t)len;
        total += (size_t)len;
    }
    pipe_config *c = pipe_config_default();
    pipe_schema *s;
    pipe_filter *f;
    char err[256];
    fan fo = {0};
    if (!c || pipe_config_compile(c, &s, &f, err, sizeof err))
        return fprintf(stderr, "%s\n", err), 1;
    if (fanout) {
        pipe_schema_free(s), pipe_filter_free(f);
        if (fan_load(&fo, &s, &f, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
    }
    pipe_record *r = pipe_record_new(s);
    pipe_arena *a = pipe_arena_new(0), *scratch = pipe_arena_new(0);
    static const char *const texts[] = {"lower(trim(email))", "concat(first_name, ' ', last_name)",
                                        "to_timestamp(dob)", "uuid_v5('dns', id)"};
    pipe_expr *x[4];
    for (int i = 0; i < 4; i++)
        if (!(x[i] = pipe_expr_compile(texts[i], s, NULL, err, sizeof err)))
            return fprintf(stderr, "%s\n", err), 1;
    pipe_xctx ctx = {.rec = r, .scratch = scratch, .err = err, .errlen = sizeof err};
    size_t kept = 0, bad = 0, batch = 500, vals = 0;
    double best = 1e9;
    for (int round = 0; round < rounds; round++) {
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            if (i % batch == 0) pipe_arena_reset(a); /* per consumer batch */
            if (pipe_decode(s, msgs[i], lens[i], a, r, NULL) != PIPE_DEC_OK)
                bad++;
            else if (fanout && ++kept)
                vals += fan_record(&fo, &ctx, scratch, &bad);
            else if (pipe_filter_eval(f, r) && ++kept && exprs) {
                pipe_arena_reset(scratch); /* per record, as the engine's mapping does */
                for (int k = 0; k < 4; k++) {
                    pipe_xval v;
                    if (pipe_expr_eval(x[k], &ctx, &v)) bad++;
                }
            }
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    printf("records=%zu avg_bytes=%.0f rounds=%d kept=%zu bad=%zu escapes=%s\n", n,
           (double)total / n, rounds, kept / (size_t)rounds, bad, plain ? "none" : "every record");
    if (fanout)
        printf("fan-out %zu targets: %.1f values/record\n", fo.n, (double)vals / (double)kept);
    printf("decode+filter%s: %.1f ns/record, %.0f MB/s, %.2f M records/s (best round)\n",
           fanout  ? "+fan-out targets (when + expressions)"
           : exprs ? "+4 mapping expressions"
                   : "",
           best * 1e9 / (double)n, (double)total / best / 1e6, (double)n / best / 1e6);
    for (size_t i = 0; i < n; i++) free(msgs[i]);
    free(msgs), free(lens);
    for (int i = 0; i < 4; i++) pipe_expr_free(x[i]);
    pipe_arena_free(scratch);
    pipe_record_free(r), pipe_arena_free(a), pipe_filter_free(f), pipe_schema_free(s);
    for (size_t t = 0; t < fo.n; t++) {
        pipe_config_free_columns(fo.cols[t], pipe_config_target(fo.c, t)->ncolumns);
        pipe_filter_free(fo.when[t]);
    }
    pipe_config_free(fo.c);
    pipe_config_free(c);
    return 0;
}
