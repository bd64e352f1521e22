/* Fuzzing of pipeline config loading from a YAML buffer. Properties: no crash or leak; a
 * loaded config dumps to YAML that loads back to a config with the same dump; its CQL text
 * and compiled schema and filter build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"

static char *dump(const pipe_config *c, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) abort();
    pipe_config_dump(c, f);
    fclose(f);
    return buf;
}

static void roundtrip(const pipe_config *c)
{
    size_t n1, n2;
    char err[512];
    char *d1 = dump(c, &n1);
    pipe_config *c2 = pipe_config_load_buffer(d1, n1, c->source_path, err, sizeof err);
    if (!c2) {
        fprintf(stderr, "dump does not load back: %s\n%s\n", err, d1);
        abort();
    }
    char *d2 = dump(c2, &n2);
    if (n1 != n2 || memcmp(d1, d2, n1) != 0) {
        fprintf(stderr, "dump changed on reload:\n%s\n---\n%s\n", d1, d2);
        abort();
    }
    free(d1);
    free(d2);
    pipe_config_free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        setenv("FUZZ_TOPIC", "t_from_env", 1);
        setenv("FUZZ_EMPTY", "", 1);
    }
    char err[512];
    pipe_config *c = pipe_config_load_buffer((const char *)data, size, "f.yaml", err, sizeof err);
    if (!c) {
        if (strncmp(err, "f.yaml", 6) != 0 || memchr(err, '\n', strlen(err))) abort();
        return 0;
    }
    roundtrip(c);
    char *a = pipe_cql_create_keyspace(c), *b = pipe_cql_create_table(c), *d = pipe_cql_insert(c);
    if (!a || !b || !d) abort();
    free(a), free(b), free(d);
    pipe_schema *s;
    pipe_filter *f;
    if (pipe_config_compile(c, &s, &f, err, sizeof err)) abort(); /* finished configs compile */
    pipe_filter_free(f);
    pipe_schema_free(s);
    pipe_config_free(c);
    return 0;
}
