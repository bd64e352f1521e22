/* Fuzzing of expression compile and eval. Input: an expression, optionally followed by a NUL
 * byte and a JSON record. Each input is compiled as a value expression and as a boolean one
 * (a filter). Properties: no crash, no leak; a compile error names the prefix; a compiled
 * expression prints to text that compiles to one printing the same text (a canonical form) and
 * giving the same value or the same evaluation error on every record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/expr.h"

static const pipe_field fields[] = {
    {"email", PIPE_T_STRING, false, 1024, false},  {"name", PIPE_T_STRING, false, 1024, false},
    {"age", PIPE_T_INT, false, 64, false},         {"score", PIPE_T_DOUBLE, false, 64, false},
    {"ok", PIPE_T_BOOLEAN, false, 64, false},      {"and", PIPE_T_STRING, false, 64, false},
    {"odd name", PIPE_T_STRING, false, 64, false}, {"kafka", PIPE_T_STRING, false, 64, false},
    {"ts", PIPE_T_TIMESTAMP, false, 64, false},    {"day", PIPE_T_DATE, false, 64, false},
    {"uid", PIPE_T_UUID, false, 64, false},        {"tags", PIPE_T_LIST, false, 1024, false},
    {"m", PIPE_T_MAP, false, 1024, false},         {"loc", PIPE_T_STRING, false, 1024, false},
};
static const char *const records[] = {
    "{}",
    "{\"email\":\" A@b.C \",\"name\":\"\",\"age\":42,\"score\":-0.5,\"ok\":false}",
    "{\"email\":null,\"name\":\"2020-01-02T03:04:05Z\",\"and\":\"x\",\"odd name\":\"it's\"}",
    "{\"email\":\"S\\u00e3o\",\"name\":\"1990-02-28\",\"score\":\"NaN\",\"kafka\":\"k\"}",
    /* Parenthesized: one literal over several lines. */
    ("{\"ts\":\"2024-02-29 10:00 -03\",\"day\":\"-0001-01-01\",\"uid\":"
     "\"0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D\",\"tags\":[\"a\",1,{\"b\":[2]}],\"m\":{\"k\":"
     "\"v\",\"o\":{\"p\":\"q\"}},\"loc\":{\"city\":\"S\\u00e3o\",\"a\":{\"b\":{\"c\":null}}},"
     "\"name\":\"{\\\"x\\\": {\\\"y\\\": \\\"\\\\u00e3\\\"}}\"}"),
    "{\"ts\":-1,\"uid\":\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\",\"loc\":\"x\",\"m\":{}}",
};
#define NREC (sizeof records / sizeof records[0])

static pipe_schema *schema;
static pipe_record *rec[NREC + 1];
static pipe_arena *arena;

static bool header(const void *ud, const char *name, const void **val, size_t *len)
{
    (void)ud;
    *val = name[0] == 'a' ? "v" : NULL, *len = 1;
    return name[0] != 'z';
}

static const pipe_kafka_meta meta = {"topic", 1, 2, 3, "key", 3, header, NULL};

static void init(void)
{
    char err[128];
    schema = pipe_schema_new(fields, sizeof fields / sizeof fields[0], 0, err, sizeof err);
    arena = pipe_arena_new(0);
    for (size_t i = 0; i <= NREC; i++) rec[i] = pipe_record_new(schema);
    for (size_t i = 0; i < NREC; i++)
        if (pipe_decode(schema, records[i], strlen(records[i]), arena, rec[i], NULL)) abort();
}

static char *print(const pipe_expr *x)
{
    size_t n = pipe_expr_print(x, schema, NULL, 0);
    char *b = malloc(n + 1);
    if (!b || pipe_expr_print(x, schema, b, n + 1) != n || strlen(b) != n) abort();
    return b;
}

/* The outcome of x on r as text: "E:<reason>", "null" or "<type>:<text>". */
static void outcome(const pipe_expr *x, const pipe_record *r, pipe_arena *scratch, char *out,
                    size_t len)
{
    char err[200], buf[48];
    pipe_xctx c = {.rec = r, .meta = &meta, .scratch = scratch, .err = err, .errlen = sizeof err};
    pipe_xval v;
    const char *p;
    size_t n;
    if (pipe_expr_eval(x, &c, &v)) {
        snprintf(out, len, "E:%s", err);
    } else if (v.type == PIPE_X_NULL) {
        snprintf(out, len, "null");
    } else {
        pipe_xval_text(&v, buf, sizeof buf, &p, &n);
        snprintf(out, len, "%d:%.*s", v.type, (int)(n > 200 ? 200 : n), p ? p : "");
    }
}

static void check(const char *text, bool boolean, size_t nrec, pipe_arena *scratch)
{
    char err[256];
    pipe_xopts o = {.what = "x", .boolean = boolean};
    pipe_expr *x1 = pipe_expr_compile(text, schema, &o, err, sizeof err);
    if (!x1) {
        if (strncmp(err, "x:", 2) != 0) abort();
        return;
    }
    char *t1 = print(x1);
    pipe_expr *x2 = pipe_expr_compile(t1, schema, &o, err, sizeof err);
    if (!x2) {
        fprintf(stderr, "canonical text does not compile: %s\n%s\n", err, t1);
        abort();
    }
    char *t2 = print(x2);
    if (strcmp(t1, t2) != 0) {
        fprintf(stderr, "print not canonical:\n%s\n%s\n", t1, t2);
        abort();
    }
    if (pipe_expr_type(x1) != pipe_expr_type(x2)) abort();
    bool clock = strstr(t1, "now()") != NULL;
    for (size_t i = 0; i < nrec && !clock; i++) {
        char a[300], b[300];
        outcome(x1, rec[i], scratch, a, sizeof a);
        outcome(x2, rec[i], scratch, b, sizeof b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "%s\n%s\ngive %s and %s\n", text, t1, a, b);
            abort();
        }
        pipe_arena_reset(scratch);
    }
    free(t1);
    free(t2);
    pipe_expr_free(x2);
    pipe_expr_free(x1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema) init();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t tlen = strlen(text), nrec = NREC;
    pipe_arena *scratch = pipe_arena_new(0);
    if (tlen < size && pipe_decode(schema, (const char *)data + tlen + 1, size - tlen - 1, scratch,
                                   rec[NREC], NULL) == PIPE_DEC_OK)
        nrec++;
    pipe_arena *eval_scratch = pipe_arena_new(0);
    check(text, false, nrec, eval_scratch);
    check(text, true, nrec, eval_scratch);
    pipe_arena_free(eval_scratch);
    pipe_arena_free(scratch);
    free(text);
    return 0;
}
