/* Unit tests for CQL types: printable forms, text-to-value parsing (round trips through the
 * formatter), builders/decoders, error names, consistency names and the Murmur3 token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cql/frame.h"

static cql_type T(cql_type_id id)
{
    cql_type t = {id, 0, NULL, NULL, NULL, NULL};
    return t;
}

/* Parses text for a type, formats the value back and compares with `want`. */
static void roundtrip(cql_type_id id, const char *text, const char *want)
{
    cql_type t = T(id);
    uint8_t buf[64];
    cql_value v;
    char out[128];
    int rc = cql_value_from_text(&t, text, strlen(text), buf, sizeof buf, &v);
    if (rc) fail_msg("parse %s as type %d: %s", text, id, cql_strerror(rc));
    assert_true(cql_value_format(&t, v.ptr, v.len, out, sizeof out) >= 0);
    assert_string_equal(out, want);
}

static void test_scalar_roundtrips(void **state)
{
    (void)state;
    roundtrip(CQL_TYPE_INT, "-2147483648", "-2147483648");
    roundtrip(CQL_TYPE_BIGINT, "9223372036854775807", "9223372036854775807");
    roundtrip(CQL_TYPE_SMALLINT, "-32768", "-32768");
    roundtrip(CQL_TYPE_TINYINT, "127", "127");
    roundtrip(CQL_TYPE_COUNTER, "5", "5");
    roundtrip(CQL_TYPE_BOOLEAN, "true", "True");
    roundtrip(CQL_TYPE_BOOLEAN, "FALSE", "False");
    roundtrip(CQL_TYPE_FLOAT, "1.5", "1.5");
    roundtrip(CQL_TYPE_FLOAT, "0.1", "0.1");
    roundtrip(CQL_TYPE_DOUBLE, "3.141592653589793", "3.141592653589793");
    roundtrip(CQL_TYPE_DOUBLE, "NaN", "NaN");
    roundtrip(CQL_TYPE_DOUBLE, "-Infinity", "-Infinity");
    roundtrip(CQL_TYPE_TIMESTAMP, "0", "1970-01-01 00:00:00.000000+0000");
    roundtrip(CQL_TYPE_TIMESTAMP, "2024-02-29T12:34:56.789Z", "2024-02-29 12:34:56.789000+0000");
    roundtrip(CQL_TYPE_TIMESTAMP, "2024-02-29 12:34:56+02:00", "2024-02-29 10:34:56.000000+0000");
    roundtrip(CQL_TYPE_TIMESTAMP, "1969-12-31T23:59:59.999Z", "1969-12-31 23:59:59.999000+0000");
    roundtrip(CQL_TYPE_DATE, "2000-01-01", "2000-01-01");
    roundtrip(CQL_TYPE_DATE, "1900-03-01", "1900-03-01");
    roundtrip(CQL_TYPE_TIME, "13:45:01.000000123", "13:45:01.000000123");
    roundtrip(CQL_TYPE_UUID, "123e4567-e89b-12d3-a456-426614174000",
              "123e4567-e89b-12d3-a456-426614174000");
    roundtrip(CQL_TYPE_INET, "10.1.2.3", "10.1.2.3");
    roundtrip(CQL_TYPE_INET, "::1", "::1");
    roundtrip(CQL_TYPE_BLOB, "0xdeadBEEF", "0xdeadbeef");
    roundtrip(CQL_TYPE_BLOB, "0x", "0x");
    roundtrip(CQL_TYPE_VARINT, "0", "0");
    roundtrip(CQL_TYPE_VARINT, "-1", "-1");
    roundtrip(CQL_TYPE_VARINT, "128", "128");
    roundtrip(CQL_TYPE_VARINT, "-129", "-129");
    roundtrip(CQL_TYPE_VARINT, "123456789012345678901234567890", "123456789012345678901234567890");
    roundtrip(CQL_TYPE_VARINT, "-123456789012345678901234567890",
              "-123456789012345678901234567890");
    roundtrip(CQL_TYPE_DECIMAL, "3.14159", "3.14159");
    roundtrip(CQL_TYPE_DECIMAL, "-0.001", "-0.001");
    roundtrip(CQL_TYPE_DECIMAL, "1e3", "1E+3");
    roundtrip(CQL_TYPE_DECIMAL, "12.5e-2", "0.125");
}

static void test_varint_encoding(void **state)
{
    (void)state;
    cql_type t = T(CQL_TYPE_VARINT);
    uint8_t buf[16];
    cql_value v;
    assert_int_equal(cql_value_from_text(&t, "128", 3, buf, sizeof buf, &v), 0);
    assert_int_equal(v.len, 2);
    assert_int_equal(v.ptr[0], 0x00);
    assert_int_equal(v.ptr[1], 0x80);
    assert_int_equal(cql_value_from_text(&t, "-128", 4, buf, sizeof buf, &v), 0);
    assert_int_equal(v.len, 1);
    assert_int_equal(v.ptr[0], 0x80);
    assert_int_equal(cql_value_from_text(&t, "-129", 4, buf, sizeof buf, &v), 0);
    assert_int_equal(v.len, 2);
    assert_int_equal(cql_get_be16(v.ptr), 0xFF7F);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    uint8_t buf[64];
    cql_value v;
    struct {
        cql_type_id id;
        const char *text;
    } bad[] = {
        {CQL_TYPE_INT, "2147483648"},
        {CQL_TYPE_INT, "12x"},
        {CQL_TYPE_INT, ""},
        {CQL_TYPE_TINYINT, "128"},
        {CQL_TYPE_BOOLEAN, "yes"},
        {CQL_TYPE_UUID, "123"},
        {CQL_TYPE_INET, "1.2.3"},
        {CQL_TYPE_BLOB, "abc"},
        {CQL_TYPE_BLOB, "0xzz"},
        {CQL_TYPE_DATE, "2020-13-01"},
        {CQL_TYPE_TIME, "25:00:00"},
        {CQL_TYPE_VARINT, "1.5"},
        {CQL_TYPE_DOUBLE, "1.0abc"},
        {CQL_TYPE_LIST, "[1]"},
        {CQL_TYPE_TIMESTAMP, "yesterday"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cql_type t = T(bad[i].id);
        int rc = cql_value_from_text(&t, bad[i].text, strlen(bad[i].text), buf, sizeof buf, &v);
        if (rc != CQL_E_INVAL) fail_msg("'%s' for type %d gave %d", bad[i].text, bad[i].id, rc);
    }
    cql_type t = T(CQL_TYPE_INT);
    assert_int_equal(cql_value_from_text(&t, "1", 1, buf, 3, &v), CQL_E_TOO_LARGE);
    /* Text is borrowed, not copied, and may hold any bytes. */
    t = T(CQL_TYPE_VARCHAR);
    const char hostile[] = "a'\\\0é";
    assert_int_equal(cql_value_from_text(&t, hostile, sizeof hostile - 1, buf, 0, &v), 0);
    assert_ptr_equal(v.ptr, hostile);
    assert_int_equal(v.len, sizeof hostile - 1);
}

/* Serialized int64/int32 of text parsed as `id`; fails the test when parsing fails. */
static int parse_as(cql_type_id id, const char *text, int64_t *out)
{
    cql_type t = T(id);
    uint8_t buf[64];
    cql_value v;
    int rc = cql_value_from_text(&t, text, strlen(text), buf, sizeof buf, &v);
    if (rc) return rc;
    *out = v.len == 8 ? (int64_t)cql_get_be64(v.ptr) : (int64_t)(int32_t)cql_get_be32(v.ptr);
    return 0;
}

/* Timestamp, date and time text forms with the values Cassandra 5.0 stores for the same CQL
 * literals (tests/integration/cql_literals.py checks the same table against the server). */
static void test_time_forms(void **state)
{
    (void)state;
    static const struct {
        cql_type_id id;
        const char *text;
        int64_t want;
    } ok[] = {
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:00+0530", 1704083400000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:00+05:30", 1704083400000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:00+05", 1704085200000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:00-0800", 1704132000000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01", 1704067200000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00", 1704103200000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05.1", 1704103205100},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05.1234", 1704103205123},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05.", 1704103205000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01Z", 1704067200000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01+0100", 1704063600000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 +0100", 1704063600000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05 +0100", 1704099605000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05 UTC", 1704103205000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05+1800", 1704038405000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 1:00", 1704070800000},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 24:00", 1704153600000},
        {CQL_TYPE_TIMESTAMP, "-0001-01-01", -62198755200000},
        {CQL_TYPE_TIMESTAMP, "-5", -5},
        {CQL_TYPE_DATE, "2024-02-29", -2147463866},
        {CQL_TYPE_DATE, "4294967295", -1},
        {CQL_TYPE_DATE, "0", 0},
        {CQL_TYPE_TIME, "1:2:3", 3723000000000},
        {CQL_TYPE_TIME, " 10:00:05.1 ", 36005100000000},
        {CQL_TYPE_TIME, "86399999999999", 86399999999999},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t got = 0;
        int rc = parse_as(ok[i].id, ok[i].text, &got);
        if (rc || got != ok[i].want)
            fail_msg("'%s' (type %d): rc %d, got %lld, want %lld", ok[i].text, ok[i].id, rc,
                     (long long)got, (long long)ok[i].want);
    }
    static const struct {
        cql_type_id id;
        const char *text;
    } bad[] = {
        {CQL_TYPE_TIMESTAMP, "2023-02-30T00:00:00Z"}, /* Cassandra clamps to 02-28; we refuse */
        {CQL_TYPE_TIMESTAMP, "2023-02-29"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:00+0530x"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05z"},
        {CQL_TYPE_TIMESTAMP, "2024-1-1"},
        {CQL_TYPE_TIMESTAMP, "10000-01-01"},
        {CQL_TYPE_TIMESTAMP, "+2024-01-01"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:60:00"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:60"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 24:00:01"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05+1"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05+100"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05+01:0"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05+1801"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05+0060"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 10:00:05.1234567891"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:05UTC"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:05  +0100"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01T10:00:05+0100Z"},
        {CQL_TYPE_TIMESTAMP, "2024-01-01 "},
        {CQL_TYPE_TIMESTAMP, " 2024-01-01"},
        {CQL_TYPE_DATE, "2023-02-29"},
        {CQL_TYPE_DATE, "2024-04-31"},
        {CQL_TYPE_DATE, "2024-01-01Z"},
        {CQL_TYPE_DATE, "-1"},
        {CQL_TYPE_DATE, "4294967296"},
        {CQL_TYPE_TIME, "10:00"},
        {CQL_TYPE_TIME, "24:00:00"},
        {CQL_TYPE_TIME, "23:59:60"},
        {CQL_TYPE_TIME, "10:00:05Z"},
        {CQL_TYPE_TIME, "10:00:05."},
        {CQL_TYPE_TIME, "10:00:05.1234567891"},
        {CQL_TYPE_TIME, "86400000000000"},
        {CQL_TYPE_TIME, "-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = 0;
        int rc = parse_as(bad[i].id, bad[i].text, &got);
        if (rc != CQL_E_INVAL)
            fail_msg("'%s' (type %d) accepted as %lld (rc %d)", bad[i].text, bad[i].id,
                     (long long)got, rc);
    }
}

static void test_format_collections(void **state)
{
    (void)state;
    cql_buf b = {0};
    uint8_t i4[4];
    /* map<text, int> {'k': 1, 'x': null} */
    cql_type mt[2] = {T(CQL_TYPE_VARCHAR), T(CQL_TYPE_INT)};
    cql_type map = {CQL_TYPE_MAP, 2, mt, NULL, NULL, NULL};
    cql_buf_u32(&b, 2);
    cql_buf_value(&b, cql_value_text("k"));
    cql_buf_value(&b, cql_value_int(i4, 1));
    cql_buf_value(&b, cql_value_text("x"));
    cql_buf_value(&b, cql_value_null());
    char out[128];
    assert_int_equal(cql_value_format(&map, b.data, (int32_t)b.len, out, sizeof out), 19);
    assert_string_equal(out, "{'k': 1, 'x': null}");
    /* Truncated output still reports the full length. */
    char small[5];
    assert_int_equal(cql_value_format(&map, b.data, (int32_t)b.len, small, sizeof small), 19);
    assert_string_equal(small, "{'k'");
    /* A malformed collection is a decode error. */
    assert_int_equal(cql_value_format(&map, b.data, (int32_t)b.len - 1, out, sizeof out),
                     CQL_E_DECODE);
    /* UDT {name: 'n', age: 3} with names. */
    b.len = 0;
    cql_buf_value(&b, cql_value_text("n"));
    cql_buf_value(&b, cql_value_int(i4, 3));
    const char *names[] = {"name", "age"};
    cql_type udt = {CQL_TYPE_UDT, 2, mt, "person", "ks", names};
    cql_value_format(&udt, b.data, (int32_t)b.len, out, sizeof out);
    assert_string_equal(out, "{name: 'n', age: 3}");
    cql_type tup = {CQL_TYPE_TUPLE, 2, mt, NULL, NULL, NULL};
    cql_value_format(&tup, b.data, (int32_t)b.len, out, sizeof out);
    assert_string_equal(out, "('n', 3)");
    cql_type_format(&udt, out, sizeof out);
    assert_string_equal(out, "person");
    cql_type t = T(CQL_TYPE_INT);
    assert_int_equal(cql_value_format(&t, b.data, 3, out, sizeof out), CQL_E_DECODE);
    assert_int_equal(cql_value_format(&t, NULL, CQL_NULL, out, sizeof out), 4);
    assert_string_equal(out, "null");
    /* duration 1mo2d3ns: zig-zag vints 2, 4, 6 */
    const uint8_t dur[] = {2, 4, 6};
    t = T(CQL_TYPE_DURATION);
    cql_value_format(&t, dur, 3, out, sizeof out);
    assert_string_equal(out, "1mo2d3ns");
    cql_buf_free(&b);
}

static void test_builders(void **state)
{
    (void)state;
    uint8_t b8[8], b4[4], b1[1];
    int64_t l;
    int32_t i;
    double d;
    bool x;
    assert_int_equal(cql_value_get_bigint(cql_value_bigint(b8, -5), &l), 0);
    assert_int_equal(l, -5);
    assert_int_equal(cql_value_get_int(cql_value_int(b4, 77), &i), 0);
    assert_int_equal(i, 77);
    assert_int_equal(cql_value_get_double(cql_value_double(b8, 2.5), &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(cql_value_get_boolean(cql_value_boolean(b1, true), &x), 0);
    assert_true(x);
    assert_int_equal(cql_value_get_int(cql_value_null(), &i), CQL_E_DECODE);
    assert_int_equal(cql_value_unset().len, CQL_UNSET);
    assert_int_equal(cql_value_text("abc").len, 3);
    cql_value dt = cql_value_date(b4, 0);
    assert_int_equal(cql_get_be32(dt.ptr), 0x80000000u);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(cql_consistency_parse("local_quorum"), CQL_LOCAL_QUORUM);
    assert_int_equal(cql_consistency_parse("LOCAL_ONE"), CQL_LOCAL_ONE);
    assert_int_equal(cql_consistency_parse("any"), CQL_ANY);
    assert_int_equal(cql_consistency_parse("most"), -1);
    assert_string_equal(cql_consistency_name(CQL_EACH_QUORUM), "EACH_QUORUM");
    assert_string_equal(cql_strerror(CQL_E_BACKPRESSURE), "all connections at max in-flight");
    assert_string_equal(cql_strerror(CQL_ERR_INVALID), "invalid query");
    cql_error e;
    cql_error_set(&e, CQL_E_TIMEOUT, "after %d ms", 5);
    assert_string_equal(e.message, "after 5 ms");
    assert_true(cql_error_retriable(&e));
    e.code = CQL_ERR_UNAUTHORIZED;
    assert_false(cql_error_retriable(&e));
    e.code = CQL_ERR_CONFIG;
    assert_false(cql_error_retriable(&e));
    e.code = CQL_ERR_OVERLOADED;
    assert_true(cql_error_retriable(&e));
}

/* Tokens checked against Cassandra 5.0 with SELECT token(k). */
static void test_murmur3(void **state)
{
    (void)state;
    uint8_t k[4];
    cql_value v = cql_value_int(k, 1);
    assert_int_equal(cql_murmur3_token(v.ptr, 4), -4069959284402364209LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_roundtrips), cmocka_unit_test(test_varint_encoding),
        cmocka_unit_test(test_parse_rejects),     cmocka_unit_test(test_format_collections),
        cmocka_unit_test(test_builders),          cmocka_unit_test(test_names),
        cmocka_unit_test(test_murmur3),           cmocka_unit_test(test_time_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
