/* Fuzzes the randomuser answer parser and the record writer: any body either is rejected with
 * an error, or each of its results is rejected with an error or becomes a record that jansson
 * parses as an object of exactly 12 strings whose id is the one given. The first input byte
 * also feeds ingest_json_str directly with the raw bytes (invalid UTF-8 included). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/api.h"
#include "ingest/json.h"
#include "ingest/record.h"

static void check_record(const ingest_buf *b)
{
    json_t *o = json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, NULL);
    if (!o || json_object_size(o) != INGEST_RECORD_FIELDS) abort();
    for (int i = 0; i < INGEST_RECORD_FIELDS; i++)
        if (!json_is_string(json_object_get(o, ingest_record_fields[i]))) abort();
    if (strcmp(json_string_value(json_object_get(o, "id")), "0123456789abcdef4123856789abcdef"))
        abort();
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char id[INGEST_ID_LEN + 1] = "0123456789abcdef4123856789abcdef";
    ingest_buf b;
    ingest_buf_init(&b);
    /* Raw bytes as a JSON string: always valid JSON. */
    ingest_json_str(&b, (const char *)data, size);
    json_t *s = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!json_is_string(s)) abort();
    json_decref(s);
    ingest_api_batch *batch = NULL;
    char err[256];
    if (ingest_api_batch_parse((const char *)data, size, &batch, err, sizeof err) == INGEST_OK) {
        size_t n = ingest_api_batch_size(batch);
        for (size_t i = 0; i < n && i < 64; i++) {
            ingest_user u;
            if (ingest_api_batch_user(batch, i, &u, err, sizeof err) != INGEST_OK) continue;
            b.len = 0;
            ingest_record_write(&b, id, &u);
            check_record(&b);
        }
        ingest_api_batch_free(batch);
    }
    ingest_buf_free(&b);
    return 0;
}
