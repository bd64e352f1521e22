/* Unit tests for ingest/record and ingest/api parsing: records from randomuser fixtures
 * (numeric and string postcodes, unicode, escapes), exact output, clear errors for missing or
 * mistyped parts, and answers that are not randomuser JSON. jansson is the reference parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "ingest/api.h"
#include "ingest/record.h"
#include "test_files.h"

static const char id[INGEST_ID_LEN + 1] = "0123456789abcdef4123856789abcdef";

/* Reads tests/data/randomuser/<name>; the caller frees it. */
static char *fixture(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/data/randomuser/%s", name);
    return test_read_source(rel, len);
}

static ingest_api_batch *load(const char *name)
{
    size_t len;
    char *body = fixture(name, &len), err[256] = "";
    ingest_api_batch *b = NULL;
    ingest_err e = ingest_api_batch_parse(body, len, &b, err, sizeof err);
    if (e) fail_msg("%s: %s", name, err);
    free(body);
    return b;
}

/* Formats result i of b into a NUL-terminated record. */
static char *record_of(ingest_api_batch *b, size_t i)
{
    ingest_user u;
    char err[256];
    ingest_err e = ingest_api_batch_user(b, i, &u, err, sizeof err);
    if (e) fail_msg("result %zu: %s", i, err);
    ingest_buf out;
    ingest_buf_init(&out);
    ingest_record_write(&out, id, &u);
    char *s = strdup(ingest_buf_cstr(&out));
    ingest_buf_free(&out);
    return s;
}

/* Parses a record with jansson and checks the 12 string fields in order; returns the object. */
static json_t *check_shape(const char *rec)
{
    json_error_t je;
    json_t *o = json_loads(rec, JSON_REJECT_DUPLICATES, &je);
    if (!o) fail_msg("record is not JSON (%s): %s", je.text, rec);
    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), INGEST_RECORD_FIELDS);
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(o, key, v)
    {
        assert_string_equal(key, ingest_record_fields[i]);
        assert_true(json_is_string(v));
        i++;
    }
    return o;
}

static const char *field(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_numeric_postcode_exact(void **state)
{
    (void)state;
    ingest_api_batch *b = load("numeric_postcode.json");
    assert_int_equal(ingest_api_batch_size(b), 1);
    char *rec = record_of(b, 0);
    assert_string_equal(
        rec, "{\"id\":\"0123456789abcdef4123856789abcdef\",\"first_name\":\"Jennie\","
             "\"last_name\":\"Nichols\",\"gender\":\"female\",\"address\":\"8929 Valwood Pkwy, "
             "Billings, Michigan, United States\",\"post_code\":\"63104\",\"email\":"
             "\"jennie.nichols@example.com\",\"username\":\"yellowpeacock117\",\"dob\":"
             "\"1992-03-08T15:13:16.688Z\",\"registered_date\":\"2007-07-09T05:51:59.390Z\","
             "\"phone\":\"(272) 790-0888\",\"picture\":"
             "\"https://randomuser.me/api/portraits/med/men/75.jpg\"}");
    json_decref(check_shape(rec));
    free(rec);
    ingest_api_batch_free(b);
}

static void test_string_postcode(void **state)
{
    (void)state;
    ingest_api_batch *b = load("string_postcode.json");
    assert_int_equal(ingest_api_batch_size(b), 2);
    char *rec = record_of(b, 0);
    json_t *o = check_shape(rec);
    assert_string_equal(field(o, "post_code"), "CM23 2AB");
    assert_string_equal(field(o, "last_name"), "Smith-Jones");
    assert_string_equal(field(o, "address"),
                        "12 Bishop's Road, Bishop's Stortford, Hertfordshire, United Kingdom");
    json_decref(o);
    free(rec);
    /* A string street number and a numeric-looking string postcode stay as given. */
    rec = record_of(b, 1);
    o = check_shape(rec);
    assert_string_equal(field(o, "post_code"), "1204");
    assert_string_equal(field(o, "first_name"), "Anaïs");
    assert_string_equal(field(o, "address"), "3bis Rue du Rhône, Genève, Genève, Switzerland");
    json_decref(o);
    free(rec);
    ingest_api_batch_free(b);
}

static void test_unicode_and_escapes(void **state)
{
    (void)state;
    ingest_api_batch *b = load("unicode.json");
    assert_int_equal(ingest_api_batch_size(b), 3);
    char *rec = record_of(b, 0);
    json_t *o = check_shape(rec);
    assert_string_equal(field(o, "first_name"), "آرمین");
    assert_string_equal(field(o, "address"), "4071 شهید بهشتی, تهران, تهران, Iran");
    assert_string_equal(field(o, "post_code"), "38145");
    json_decref(o);
    free(rec);
    rec = record_of(b, 1);
    o = check_shape(rec);
    assert_string_equal(field(o, "first_name"), "В'ячеслав");
    assert_string_equal(field(o, "post_code"), "01001"); /* a string keeps its leading zero */
    json_decref(o);
    free(rec);
    rec = record_of(b, 2);
    /* Quotes, backslash, tab, newline and U+0001 are escaped; the emoji passes through. */
    assert_non_null(strstr(rec, "\"first_name\":\"Zoë \\\"Z\\\" 🦊\""));
    assert_non_null(strstr(rec, "\"last_name\":\"O'Brien\\\\Tab\\there\""));
    assert_non_null(strstr(rec, "\"address\":\"1 Line\\nBreak \\u0001 St, 東京, 東京都, Japan\""));
    o = check_shape(rec);
    assert_string_equal(field(o, "first_name"), "Zoë \"Z\" 🦊");
    assert_string_equal(field(o, "last_name"), "O'Brien\\Tab\there");
    assert_string_equal(field(o, "address"), "1 Line\nBreak \x01 St, 東京, 東京都, Japan");
    json_decref(o);
    free(rec);
    ingest_api_batch_free(b);
}

static void test_missing_parts_errors(void **state)
{
    (void)state;
    ingest_api_batch *b = load("missing_parts.json");
    static const char *const expected[] = {
        "missing location.street.number",
        "location.postcode is an object, expected a string or a number",
        "missing email",
        "missing picture.medium",
        "result 4 is a string, expected an object",
    };
    ingest_user u;
    char err[256];
    for (size_t i = 0; i < 5; i++) {
        err[0] = '\0';
        assert_int_equal(ingest_api_batch_user(b, i, &u, err, sizeof err), INGEST_ERR_BAD_RECORD);
        assert_string_equal(err, expected[i]);
    }
    /* The good one after the bad ones still works; a real-number postcode becomes text. */
    char *rec = record_of(b, 5);
    json_t *o = check_shape(rec);
    assert_string_equal(field(o, "post_code"), "12.5");
    json_decref(o);
    free(rec);
    assert_int_equal(ingest_api_batch_user(b, 6, &u, err, sizeof err), INGEST_ERR_BAD_RECORD);
    ingest_api_batch_free(b);
}

static void test_bad_answers(void **state)
{
    (void)state;
    ingest_api_batch *b = NULL;
    char err[256];
    size_t len;
    char *html = fixture("not_json.html", &len);
    assert_int_equal(ingest_api_batch_parse(html, len, &b, err, sizeof err), INGEST_ERR_BAD_ANSWER);
    assert_null(b);
    assert_non_null(strstr(err, "not JSON"));
    free(html);
    char *apierr = fixture("api_error.json", &len);
    assert_int_equal(ingest_api_batch_parse(apierr, len, &b, err, sizeof err),
                     INGEST_ERR_BAD_ANSWER);
    assert_non_null(strstr(err, "API error: Uh oh"));
    free(apierr);
    const char *cases[] = {"", "[]", "{\"results\":{}}", "{\"results\":[1,2", "null"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(ingest_api_batch_parse(cases[i], strlen(cases[i]), &b, err, sizeof err),
                         INGEST_ERR_BAD_ANSWER);
    const char ok[] = "{\"results\":[]}";
    assert_int_equal(ingest_api_batch_parse(ok, sizeof ok - 1, &b, err, sizeof err), INGEST_OK);
    assert_int_equal(ingest_api_batch_size(b), 0);
    ingest_api_batch_free(b);
}

static void test_err_strings(void **state)
{
    (void)state;
    assert_string_equal(ingest_strerror(INGEST_ERR_BAD_ANSWER), "unexpected answer");
    assert_true(ingest_err_retriable(INGEST_ERR_NET));
    assert_true(ingest_err_retriable(INGEST_ERR_HTTP_RETRY));
    assert_true(ingest_err_retriable(INGEST_ERR_BAD_ANSWER));
    assert_false(ingest_err_retriable(INGEST_ERR_HTTP));
    assert_false(ingest_err_retriable(INGEST_ERR_BAD_RECORD));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_postcode_exact),
        cmocka_unit_test(test_string_postcode),
        cmocka_unit_test(test_unicode_and_escapes),
        cmocka_unit_test(test_missing_parts_errors),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_err_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
