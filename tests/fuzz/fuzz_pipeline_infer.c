/* Fuzzing of pipeline/infer over arbitrary bytes. The input is split into messages at every
 * 0xFF byte (never part of valid UTF-8 JSON). Properties: no crash or leak; counts add up
 * (accepted + left out = added; per field, present = null + every JSON type, present <=
 * records); whenever there is a field, the YAML loads as a pipeline whose CREATE TABLE
 * builds, with one schema field per inferred field and the key field required; and, for the
 * first message alone, the top-level keys the inference found are exactly the keys jansson
 * sees when both accept it (the lenient key scan against a real parser). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "pipeline/infer.h"

static void check_counts(const pipe_infer *p)
{
    uint64_t left = 0;
    for (int r = 0; r < PIPE_DEC__COUNT; r++) left += pipe_infer_rejected(p, (pipe_decode_err)r);
    if (pipe_infer_records(p) + left != pipe_infer_messages(p)) abort();
    for (size_t i = 0; i < pipe_infer_nfields(p); i++) {
        const pipe_infer_field *f = pipe_infer_field_at(p, i);
        uint64_t typed = f->n_string + f->n_int + f->n_float + f->n_bool + f->n_object + f->n_array;
        if (f->present != f->nulls + typed || f->present > pipe_infer_records(p)) abort();
        if (f->n_timestamp > f->n_string) abort();
    }
}

static void check_yaml(const pipe_infer *p)
{
    char *buf = NULL, err[1024];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) abort();
    pipe_infer_yaml_opts o = {.topic = "fuzz.topic", .origin = "fuzz"};
    int rc = pipe_infer_write_yaml(p, &o, f);
    fclose(f);
    if (rc != (pipe_infer_nfields(p) ? 0 : -1)) abort();
    if (rc == 0) {
        pipe_config *c = pipe_config_load_buffer(buf, len, "gen.yaml", err, sizeof err);
        if (!c) {
            fprintf(stderr, "the inferred YAML does not load: %s\n%s\n", err, buf);
            abort();
        }
        if (c->nfields != pipe_infer_nfields(p)) abort();
        int key = pipe_infer_key(p);
        if (key >= 0 && !c->fields[key].required) abort();
        char *ct = pipe_cql_create_table(c);
        if (!ct) abort();
        free(ct);
        pipe_config_free(c);
    }
    free(buf);
}

/* The keys jansson sees in msg, when it parses it as an object; each must be a field, and
 * every field one of them (keys that cannot be field names excepted: empty, too long, or
 * holding a NUL). */
static void check_keys(const char *msg, size_t len)
{
    pipe_infer *p = pipe_infer_new();
    if (!p) abort();
    if (pipe_infer_add(p, msg, len) == PIPE_DEC_OK) {
        json_error_t e;
        json_t *j = json_loadb(msg, len, JSON_ALLOW_NUL, &e);
        if (j && json_is_object(j)) {
            size_t long_keys = 0;
            for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
                const char *k = json_object_iter_key(it);
                size_t klen = json_object_iter_key_len(it);
                /* Not field names: empty, too long, or with a NUL inside. */
                if (klen == 0 || klen > PIPE_FIELD_NAME_MAX || memchr(k, 0, klen)) {
                    long_keys++;
                    continue;
                }
                size_t i = 0;
                while (i < pipe_infer_nfields(p) && strcmp(pipe_infer_field_at(p, i)->name, k)) i++;
                if (i == pipe_infer_nfields(p)) {
                    fprintf(stderr, "jansson's key '%s' is no field\n", k);
                    abort();
                }
            }
            if (pipe_infer_nfields(p) + long_keys != json_object_size(j)) abort();
        }
        json_decref(j);
    }
    pipe_infer_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pipe_infer *p = pipe_infer_new();
    if (!p) return 0;
    const char *s = (const char *)data, *end = s + size;
    int first = 1;
    while (s <= end) {
        const char *sep = memchr(s, 0xFF, (size_t)(end - s));
        size_t n = (size_t)((sep ? sep : end) - s);
        if (first) check_keys(s, n), first = 0;
        if (pipe_infer_add(p, s, n) == PIPE_DEC_NO_MEMORY) break;
        if (!sep) break;
        s = sep + 1;
    }
    check_counts(p);
    check_yaml(p);
    pipe_infer_free(p);
    return 0;
}
