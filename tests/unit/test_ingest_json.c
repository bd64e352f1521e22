/* Unit tests for ingest/json: escaping round-trips through jansson (the reference parser) for
 * every control character, quotes, backslashes, all UTF-8 lengths, and invalid UTF-8 (which
 * must become U+FFFD); random inputs always give valid JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "ingest/json.h"
#include "ingest/rng.h"

/* Escapes s, checks that jansson parses the result, and returns the decoded string (owned). */
static char *round_trip(const char *s, size_t n, size_t *outlen)
{
    ingest_buf b;
    ingest_buf_init(&b);
    ingest_buf_lit(&b, "[");
    ingest_json_str(&b, s, n);
    ingest_buf_lit(&b, "]");
    json_error_t je;
    json_t *v = json_loadb(b.p, b.len, JSON_ALLOW_NUL, &je);
    if (!v) fail_msg("not valid JSON (%s): %.*s", je.text, (int)b.len, b.p);
    json_t *str = json_array_get(v, 0);
    assert_true(json_is_string(str));
    *outlen = json_string_length(str);
    char *out = malloc(*outlen + 1);
    memcpy(out, json_string_value(str), *outlen + 1);
    json_decref(v);
    ingest_buf_free(&b);
    return out;
}

static void expect_same(const char *s, size_t n)
{
    size_t m;
    char *back = round_trip(s, n, &m);
    assert_int_equal(m, n);
    assert_memory_equal(back, s, n);
    free(back);
}

static void expect_escaped(const char *s, const char *json)
{
    ingest_buf b;
    ingest_buf_init(&b);
    ingest_json_str(&b, s, strlen(s));
    assert_string_equal(ingest_buf_cstr(&b), json);
    ingest_buf_free(&b);
}

static void test_exact_escapes(void **state)
{
    (void)state;
    expect_escaped("", "\"\"");
    expect_escaped("plain ascii", "\"plain ascii\"");
    expect_escaped("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
    expect_escaped("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    expect_escaped("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
    expect_escaped("O'Brien", "\"O'Brien\"");
    expect_escaped("Zoë Олег 東京 🦊", "\"Zoë Олег 東京 🦊\"");
}

static void test_all_control_chars_round_trip(void **state)
{
    (void)state;
    char s[40];
    for (int c = 0; c < 0x20; c++) {
        /* At every offset of an 8-byte block, so the 8-at-a-time path is exercised too. */
        for (int at = 0; at < 20; at++) {
            memset(s, 'x', sizeof s);
            s[at] = (char)c;
            expect_same(s, 24);
        }
    }
    for (int at = 0; at < 20; at++) {
        memset(s, 'y', sizeof s);
        s[at] = '"';
        s[at + 1] = '\\';
        expect_same(s, 30);
    }
}

static void test_utf8_lengths(void **state)
{
    (void)state;
    const char *ok[] = {"\xC2\x80",     "\xDF\xBF",         "\xE0\xA0\x80",     "\xED\x9F\xBF",
                        "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "ascii then é ok"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) expect_same(ok[i], strlen(ok[i]));
}

static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    const char *bad[] = {
        "\x80",             /* stray continuation */
        "\xC0\xAF",         /* overlong '/' */
        "\xC2",             /* truncated */
        "\xE0\x80\xAF",     /* overlong */
        "\xED\xA0\x80",     /* surrogate */
        "\xF4\x90\x80\x80", /* above U+10FFFF */
        "\xFF\xFE",         /* never valid */
        "ab\xE2\x82",       /* truncated at the end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t m;
        char *back = round_trip(bad[i], strlen(bad[i]), &m);
        assert_non_null(strstr(back, "\xEF\xBF\xBD"));
        free(back);
    }
    expect_escaped("a\x80z", "\"a\xEF\xBF\xBDz\"");
    assert_int_equal(ingest_utf8_seq((const unsigned char *)"\xF0\x9F\xA6\x8A", 4), 4);
    assert_int_equal(ingest_utf8_seq((const unsigned char *)"\xF0\x9F\xA6\x8A", 3), 0);
}

/* Random byte strings (biased towards interesting bytes) always give valid JSON; when the input
 * is valid UTF-8 (jansson's own check), the decoded string equals the input. */
static void test_random_inputs(void **state)
{
    (void)state;
    static const unsigned char pick[] = {'a',  'Z',  ' ',  '"',  '\\', 0,    0x1f, 0x7f, 0x80,
                                         0xBF, 0xC3, 0xA9, 0xE6, 0x97, 0xF0, 0x9F, 0xFF};
    ingest_rng r;
    ingest_rng_seed(&r, 7);
    char s[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = ingest_rng_below(&r, sizeof s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(ingest_rng_below(&r, 4) ? pick[ingest_rng_below(&r, sizeof pick)]
                                                  : ingest_rng_below(&r, 256));
        size_t m;
        char *back = round_trip(s, n, &m);
        json_t *valid = json_stringn(s, n); /* NULL when s is not valid UTF-8 */
        if (valid) {
            assert_int_equal(m, n);
            assert_memory_equal(back, s, n);
        }
        json_decref(valid);
        free(back);
    }
}

static void test_chars_without_quotes(void **state)
{
    (void)state;
    ingest_buf b;
    ingest_buf_init(&b);
    ingest_json_chars(&b, "a\"b", 3);
    ingest_json_str_cstr(&b, "c");
    assert_string_equal(ingest_buf_cstr(&b), "a\\\"b\"c\"");
    ingest_buf_putu(&b, 0);
    ingest_buf_putu(&b, 18446744073709551615ULL);
    assert_string_equal(ingest_buf_cstr(&b), "a\\\"b\"c\"018446744073709551615");
    ingest_buf_free(&b);
    assert_null(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_escapes), cmocka_unit_test(test_all_control_chars_round_trip),
        cmocka_unit_test(test_utf8_lengths),  cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_random_inputs), cmocka_unit_test(test_chars_without_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
