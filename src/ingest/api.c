/* Parsing randomuser answers into users (see api.h). jansson validates the JSON and its UTF-8;
 * users borrow its strings, so a batch costs one parse and no copies. */
#include "ingest/api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ingest_api_batch {
    json_t *root;
    json_t *results; /* borrowed from root */
};

ingest_err ingest_api_batch_parse(const char *body, size_t len, ingest_api_batch **out, char *err,
                                  size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    *out = NULL;
    if (!root) {
        snprintf(err, errlen, "not JSON: %s at line %d column %d", je.text, je.line, je.column);
        return INGEST_ERR_BAD_ANSWER;
    }
    json_t *results = json_is_object(root) ? json_object_get(root, "results") : NULL;
    if (!json_is_array(results)) {
        const char *e =
            json_is_object(root) ? json_string_value(json_object_get(root, "error")) : NULL;
        if (e)
            snprintf(err, errlen, "API error: %s", e);
        else
            snprintf(err, errlen, "no \"results\" array in the answer");
        json_decref(root);
        return INGEST_ERR_BAD_ANSWER;
    }
    ingest_api_batch *b = malloc(sizeof *b);
    if (!b) {
        json_decref(root);
        snprintf(err, errlen, "out of memory");
        return INGEST_ERR_BAD_ANSWER;
    }
    b->root = root;
    b->results = results;
    *out = b;
    return INGEST_OK;
}

size_t ingest_api_batch_size(const ingest_api_batch *b)
{
    return json_array_size(b->results);
}

void ingest_api_batch_free(ingest_api_batch *b)
{
    if (!b) return;
    json_decref(b->root);
    free(b);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Follows a dotted path ("location.street.name") through nested objects. */
static const json_t *lookup(const json_t *obj, const char *path)
{
    char key[64];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key || !json_is_object(obj)) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

typedef struct extract {
    const json_t *user;
    char *err;
    size_t errlen;
    int failed;
} extract;

/* Sets *out to the string at path; with numbers_ok, a number is formatted into scratch. */
static void get(extract *x, const char *path, ingest_str *out, char *scratch, size_t scratch_len)
{
    out->p = "";
    out->n = 0;
    if (x->failed) return;
    const json_t *v = lookup(x->user, path);
    if (json_is_string(v)) {
        out->p = json_string_value(v);
        out->n = json_string_length(v);
        return;
    }
    if (scratch && json_is_integer(v)) {
        int k = snprintf(scratch, scratch_len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        out->p = scratch;
        out->n = (size_t)k;
        return;
    }
    if (scratch && json_is_real(v)) {
        int k = snprintf(scratch, scratch_len, "%.15g", json_real_value(v));
        out->p = scratch;
        out->n = (size_t)k;
        return;
    }
    x->failed = 1;
    if (!v || json_is_null(v))
        snprintf(x->err, x->errlen, "missing %s", path);
    else
        snprintf(x->err, x->errlen, "%s is %s, expected a string%s", path, type_name(v),
                 scratch ? " or a number" : "");
}

ingest_err ingest_api_batch_user(const ingest_api_batch *b, size_t i, ingest_user *u, char *err,
                                 size_t errlen)
{
    const json_t *user = json_array_get(b->results, i);
    if (!json_is_object(user)) {
        snprintf(err, errlen, "result %zu is %s, expected an object", i,
                 user ? type_name(user) : "missing");
        return INGEST_ERR_BAD_RECORD;
    }
    extract x = {user, err, errlen, 0};
    u->plain = false; /* API text is escaped on output */
    char *num = u->scratch, *post = u->scratch + sizeof u->scratch / 2;
    size_t half = sizeof u->scratch / 2;
    get(&x, "name.first", &u->first, NULL, 0);
    get(&x, "name.last", &u->last, NULL, 0);
    get(&x, "gender", &u->gender, NULL, 0);
    get(&x, "location.street.number", &u->street_number, num, half);
    get(&x, "location.street.name", &u->street_name, NULL, 0);
    get(&x, "location.city", &u->city, NULL, 0);
    get(&x, "location.state", &u->state, NULL, 0);
    get(&x, "location.country", &u->country, NULL, 0);
    get(&x, "location.postcode", &u->postcode, post, half);
    get(&x, "email", &u->email, NULL, 0);
    get(&x, "login.username", &u->username, NULL, 0);
    get(&x, "dob.date", &u->dob, NULL, 0);
    get(&x, "registered.date", &u->registered, NULL, 0);
    get(&x, "phone", &u->phone, NULL, 0);
    get(&x, "picture.medium", &u->picture, NULL, 0);
    return x.failed ? INGEST_ERR_BAD_RECORD : INGEST_OK;
}
