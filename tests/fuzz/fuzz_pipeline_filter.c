/* Fuzzing of filter compile and eval. Input: an expression, optionally followed by a NUL byte
 * and a JSON record. Properties: no crash; a compiled filter prints to text that compiles to
 * a filter printing the same text (a canonical form) and giving the same verdicts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/filter.h"

static const pipe_field fields[] = {
    {"email", PIPE_T_STRING, false, 1024, false},  {"name", PIPE_T_STRING, false, 1024, false},
    {"age", PIPE_T_INT, false, 64, false},         {"and", PIPE_T_STRING, false, 64, false},
    {"odd name", PIPE_T_STRING, false, 64, false}, {"x`y", PIPE_T_STRING, false, 64, false},
};
static const char *const records[] = {
    "{}",
    "{\"email\":\"a@b.c\",\"name\":\"\",\"age\":42}",
    "{\"email\":null,\"name\":\"n\",\"and\":\"x\",\"odd name\":\"it's\",\"x`y\":\"\\\\\"}",
    "{\"email\":\"@\",\"name\":\"'\\\"\\n\\t\\r\",\"age\":-1}",
};
#define NREC (sizeof records / sizeof records[0])

static pipe_schema *schema;
static pipe_record *rec[NREC + 1];
static pipe_arena *arena;

static void init(void)
{
    char err[128];
    schema = pipe_schema_new(fields, sizeof fields / sizeof fields[0], 0, err, sizeof err);
    arena = pipe_arena_new(0);
    for (size_t i = 0; i <= NREC; i++) rec[i] = pipe_record_new(schema);
    for (size_t i = 0; i < NREC; i++)
        if (pipe_decode(schema, records[i], strlen(records[i]), arena, rec[i], NULL)) abort();
}

static char *print(const pipe_filter *f)
{
    size_t n = pipe_filter_print(f, schema, NULL, 0);
    char *b = malloc(n + 1);
    if (!b || pipe_filter_print(f, schema, b, n + 1) != n || strlen(b) != n) abort();
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema) init();
    char *expr = malloc(size + 1);
    memcpy(expr, data, size);
    expr[size] = '\0';
    size_t elen = strlen(expr), nrec = NREC;
    pipe_arena *scratch = pipe_arena_new(0);
    if (elen < size && pipe_decode(schema, (const char *)data + elen + 1, size - elen - 1, scratch,
                                   rec[NREC], NULL) == PIPE_DEC_OK)
        nrec++;
    char err[256];
    pipe_filter *f1 = pipe_filter_compile(expr, schema, err, sizeof err);
    if (!f1) {
        if (strncmp(err, "filter:", 7) != 0) abort();
    } else {
        char *t1 = print(f1);
        pipe_filter *f2 = pipe_filter_compile(t1, schema, err, sizeof err);
        if (!f2) {
            fprintf(stderr, "canonical text does not compile: %s\n%s\n", err, t1);
            abort();
        }
        char *t2 = print(f2);
        if (strcmp(t1, t2) != 0) {
            fprintf(stderr, "print not canonical:\n%s\n%s\n", t1, t2);
            abort();
        }
        for (size_t i = 0; i < nrec; i++)
            if (pipe_filter_eval(f1, rec[i]) != pipe_filter_eval(f2, rec[i])) abort();
        free(t1);
        free(t2);
        pipe_filter_free(f2);
        pipe_filter_free(f1);
    }
    pipe_arena_free(scratch);
    free(expr);
    return 0;
}
