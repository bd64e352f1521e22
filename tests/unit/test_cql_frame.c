/* Unit tests for the CQL frame codec: header, readers, request encoders, ERROR/EVENT/SUPPORTED
 * and RESULT decoders (every prefix of a valid body must be rejected, never overread), lz4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cql/frame.h"

static void put_str(cql_buf *b, const char *s)
{
    cql_buf_string(b, s, strlen(s));
}

static void test_header_roundtrip(void **state)
{
    (void)state;
    uint8_t raw[9];
    cql_frame_hdr h = {0x84, CQL_FLAG_WARNING, -2, CQL_OP_RESULT, 1234}, g;
    cql_frame_hdr_encode(raw, &h);
    assert_int_equal(cql_frame_hdr_decode(raw, 9, &g), 0);
    assert_int_equal(g.version, 0x84);
    assert_int_equal(g.flags, CQL_FLAG_WARNING);
    assert_int_equal(g.stream, -2);
    assert_int_equal(g.opcode, CQL_OP_RESULT);
    assert_int_equal(g.length, 1234);
    assert_int_equal(cql_frame_hdr_decode(raw, 8, &g), 1);
    raw[0] = 0x83;
    assert_int_equal(cql_frame_hdr_decode(raw, 9, &g), CQL_E_PROTOCOL);
    raw[0] = 0x84;
    cql_put_be32(raw + 5, CQL_MAX_FRAME_BODY + 1);
    assert_int_equal(cql_frame_hdr_decode(raw, 9, &g), CQL_E_PROTOCOL);
}

static void test_reader_bounds(void **state)
{
    (void)state;
    const uint8_t s[] = {0x00, 0x05, 'a', 'b'}; /* [string] claims 5, has 2 */
    cql_rd r = cql_rd_make(s, sizeof s);
    size_t n;
    cql_rd_string(&r, &n);
    assert_true(r.err);
    assert_int_equal(n, 0);
    const uint8_t b[] = {0xFF, 0xFF, 0xFF, 0xFE}; /* [bytes] of -2 is not valid in a response */
    r = cql_rd_make(b, sizeof b);
    cql_rd_bytes(&r);
    assert_true(r.err);
    const uint8_t nul[] = {0xFF, 0xFF, 0xFF, 0xFF};
    r = cql_rd_make(nul, sizeof nul);
    assert_int_equal(cql_rd_bytes(&r).len, CQL_NULL);
    assert_false(r.err);
    r = cql_rd_make(nul, 3);
    cql_rd_i32(&r);
    assert_true(r.err);
    assert_int_equal(cql_rd_u8(&r), 0); /* sticky */
    const uint8_t inet[] = {4, 127, 0, 0, 1, 0, 0, 0x23, 0x52};
    char addr[64];
    r = cql_rd_make(inet, sizeof inet);
    cql_rd_inet(&r, addr, sizeof addr);
    assert_false(r.err);
    assert_string_equal(addr, "127.0.0.1:9042");
    const uint8_t badinet[] = {5, 1, 2, 3, 4, 5, 0, 0, 0, 1};
    r = cql_rd_make(badinet, sizeof badinet);
    cql_rd_inet(&r, addr, sizeof addr);
    assert_true(r.err);
    const uint8_t ls[] = {0x80, 0, 0, 0}; /* negative [long string] */
    r = cql_rd_make(ls, sizeof ls);
    cql_rd_long_string(&r, &n);
    assert_true(r.err);
}

/* Reads the body of the single frame in b, checking the header. */
static cql_rd frame_body_of(cql_buf *b, uint8_t opcode, int16_t stream)
{
    cql_frame_hdr h;
    assert_int_equal(cql_frame_hdr_decode(b->data, b->len, &h), 0);
    assert_int_equal(h.version, 4);
    assert_int_equal(h.opcode, opcode);
    assert_int_equal(h.stream, stream);
    assert_int_equal(h.length, b->len - 9);
    return cql_rd_make(b->data + 9, h.length);
}

static void test_encode_startup_auth_register(void **state)
{
    (void)state;
    cql_buf b = {0};
    size_t n;
    assert_int_equal(cql_enc_startup(&b, 0, true), 0);
    cql_rd r = frame_body_of(&b, CQL_OP_STARTUP, 0);
    assert_int_equal(cql_rd_u16(&r), 3);
    const char *k = cql_rd_string(&r, &n);
    assert_true(n == 11 && memcmp(k, "CQL_VERSION", 11) == 0);
    b.len = 0;
    assert_int_equal(cql_enc_auth_plain(&b, 3, "cassandra", "pw"), 0);
    r = frame_body_of(&b, CQL_OP_AUTH_RESPONSE, 3);
    cql_value tok = cql_rd_bytes(&r);
    assert_int_equal(tok.len, 13);
    assert_memory_equal(tok.ptr, "\0cassandra\0pw", 13);
    b.len = 0;
    const char *ev[] = {"SCHEMA_CHANGE", "STATUS_CHANGE"};
    assert_int_equal(cql_enc_register(&b, 7, ev, 2), 0);
    r = frame_body_of(&b, CQL_OP_REGISTER, 7);
    assert_int_equal(cql_rd_u16(&r), 2);
    b.len = 0;
    assert_int_equal(cql_enc_options(&b, 1), 0);
    assert_int_equal(b.len, 9);
    cql_buf_free(&b);
}

static void test_encode_query_params(void **state)
{
    (void)state;
    cql_buf b = {0};
    uint8_t i4[4];
    cql_value vals[3] = {cql_value_int(i4, 42), cql_value_null(), cql_value_unset()};
    cql_query_opts o;
    cql_query_opts_init(&o);
    o.page_size = 100;
    o.paging_state = cql_value_blob("PS", 2);
    o.serial_consistency = CQL_LOCAL_SERIAL;
    o.timestamp = 1234567;
    assert_int_equal(cql_enc_query(&b, 5, "SELECT 1", vals, 3, CQL_QUORUM, &o), 0);
    cql_rd r = frame_body_of(&b, CQL_OP_QUERY, 5);
    size_t n;
    const char *q = cql_rd_long_string(&r, &n);
    assert_true(n == 8 && memcmp(q, "SELECT 1", 8) == 0);
    assert_int_equal(cql_rd_u16(&r), CQL_QUORUM);
    assert_int_equal(cql_rd_u8(&r), 0x01 | 0x04 | 0x08 | 0x10 | 0x20);
    assert_int_equal(cql_rd_u16(&r), 3);
    assert_int_equal(cql_rd_bytes(&r).len, 4);
    assert_int_equal(cql_rd_i32(&r), -1);
    assert_int_equal(cql_rd_i32(&r), -2);
    assert_int_equal(cql_rd_i32(&r), 100);
    assert_int_equal(cql_rd_bytes(&r).len, 2);
    assert_int_equal(cql_rd_u16(&r), CQL_LOCAL_SERIAL);
    assert_int_equal(cql_rd_i64(&r), 1234567);
    assert_int_equal(cql_rd_left(&r), 0);
    assert_false(r.err);
    /* A value with a length below UNSET is refused and leaves the buffer unchanged. */
    b.len = 0;
    cql_value bad = {NULL, -3};
    assert_int_equal(cql_enc_query(&b, 1, "x", &bad, 1, CQL_ONE, NULL), CQL_E_INVAL);
    assert_int_equal(b.len, 0);
    cql_buf_free(&b);
}

static void test_encode_execute_batch(void **state)
{
    (void)state;
    cql_buf b = {0};
    const uint8_t id[16] = {1, 2, 3};
    uint8_t i8[8];
    cql_value v = cql_value_bigint(i8, -1);
    assert_int_equal(cql_enc_execute(&b, 9, id, 16, &v, 1, CQL_ONE, NULL, true), 0);
    cql_rd r = frame_body_of(&b, CQL_OP_EXECUTE, 9);
    cql_value gotid = cql_rd_short_bytes(&r);
    assert_int_equal(gotid.len, 16);
    assert_int_equal(cql_rd_u16(&r), CQL_ONE);
    assert_int_equal(cql_rd_u8(&r), 0x01 | 0x02 | 0x04);
    cql_frame_set_stream(b.data, 300);
    assert_int_equal((int16_t)cql_get_be16(b.data + 2), 300);

    b.len = 0;
    cql_batch_item items[2] = {{id, 16, NULL, &v, 1}, {NULL, 0, "INSERT x", NULL, 0}};
    assert_int_equal(cql_enc_batch(&b, 2, CQL_BATCH_UNLOGGED, items, 2, CQL_QUORUM, NULL), 0);
    r = frame_body_of(&b, CQL_OP_BATCH, 2);
    assert_int_equal(cql_rd_u8(&r), 1);
    assert_int_equal(cql_rd_u16(&r), 2);
    assert_int_equal(cql_rd_u8(&r), 1);
    assert_int_equal(cql_rd_short_bytes(&r).len, 16);
    assert_int_equal(cql_rd_u16(&r), 1);
    assert_int_equal(cql_rd_bytes(&r).len, 8);
    assert_int_equal(cql_rd_u8(&r), 0);
    size_t n;
    cql_rd_long_string(&r, &n);
    assert_int_equal(n, 8);
    assert_int_equal(cql_rd_u16(&r), 0);
    assert_int_equal(cql_rd_u16(&r), CQL_QUORUM);
    assert_int_equal(cql_rd_u8(&r), 0);
    assert_int_equal(cql_rd_left(&r), 0);
    assert_int_equal(cql_enc_batch(&b, 2, 0, items, 0, CQL_ONE, NULL), CQL_E_INVAL);
    cql_buf_free(&b);
}

/* A batch encoded statement by statement ahead (the stream sink's way) is the very frame that
 * cql_enc_batch writes from the items at once, timestamp and serial consistency included. */
static void test_encode_batch_ahead(void **state)
{
    (void)state;
    const uint8_t id[16] = {7, 7, 7};
    uint8_t i8[8], ts[8];
    cql_value v[3] = {cql_value_text("k1"), cql_value_null(), cql_value_bigint(ts, 123456789)};
    cql_value w[3] = {cql_value_text(""), cql_value_bigint(i8, -5), cql_value_unset()};
    cql_batch_item items[2] = {{id, 16, NULL, v, 3}, {id, 16, NULL, w, 3}};
    cql_query_opts o;
    cql_query_opts_init(&o);
    o.timestamp = 42;
    o.serial_consistency = CQL_LOCAL_SERIAL;
    cql_buf whole = {0}, ahead = {0};
    assert_int_equal(cql_enc_batch(&whole, 5, CQL_BATCH_UNLOGGED, items, 2, CQL_ONE, &o), 0);
    /* The statements after the room, then the frame made around them in place. */
    assert_true(cql_buf_reserve(&ahead, CQL_BATCH_HEAD));
    memset(ahead.data, 0xEE, CQL_BATCH_HEAD);
    ahead.len = CQL_BATCH_HEAD;
    for (int i = 0; i < 2; i++) {
        assert_true(cql_batch_item_ok(&items[i]));
        cql_enc_batch_stmt(&ahead, &items[i]);
    }
    size_t stmts_end = ahead.len;
    assert_int_equal(cql_enc_batch_around(&ahead, 5, 1, 0, CQL_ONE, NULL), CQL_E_INVAL);
    assert_int_equal(ahead.len, stmts_end);
    assert_int_equal(cql_enc_batch_around(&ahead, 5, CQL_BATCH_UNLOGGED, 2, CQL_ONE, &o), 0);
    assert_int_equal(ahead.len, whole.len);
    assert_memory_equal(ahead.data, whole.data, whole.len);
    cql_buf none = {0};
    assert_int_equal(cql_enc_batch_around(&none, 5, CQL_BATCH_UNLOGGED, 1, CQL_ONE, NULL),
                     CQL_E_INVAL);
    cql_batch_item bad = {NULL, 0, NULL, v, 3};
    assert_false(cql_batch_item_ok(&bad));
    cql_buf_free(&whole);
    cql_buf_free(&ahead);
}

/* Every strict prefix of a valid ERROR body must decode as a protocol error. */
static void check_error_prefixes(cql_buf *b)
{
    cql_error e;
    for (size_t cut = 0; cut < b->len; cut++) {
        cql_rd r = cql_rd_make(b->data, cut);
        assert_int_equal(cql_dec_error(&r, &e), CQL_E_PROTOCOL);
    }
}

static void test_decode_errors(void **state)
{
    (void)state;
    cql_buf b = {0};
    cql_error e;
    cql_buf_u32(&b, CQL_ERR_WRITE_TIMEOUT);
    put_str(&b, "Operation timed out");
    cql_buf_u16(&b, CQL_LOCAL_QUORUM);
    cql_buf_u32(&b, 1);
    cql_buf_u32(&b, 2);
    put_str(&b, "BATCH_LOG");
    cql_rd r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_error(&r, &e), 0);
    assert_int_equal(e.code, CQL_ERR_WRITE_TIMEOUT);
    assert_string_equal(e.message, "Operation timed out");
    assert_int_equal(e.consistency, CQL_LOCAL_QUORUM);
    assert_int_equal(e.received, 1);
    assert_int_equal(e.required, 2);
    assert_string_equal(e.write_type, "BATCH_LOG");
    assert_true(cql_error_retriable(&e));
    check_error_prefixes(&b);

    b.len = 0;
    cql_buf_u32(&b, CQL_ERR_UNAVAILABLE);
    put_str(&b, "Cannot achieve consistency");
    cql_buf_u16(&b, CQL_ALL);
    cql_buf_u32(&b, 3);
    cql_buf_u32(&b, 1);
    r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_error(&r, &e), 0);
    assert_int_equal(e.required, 3);
    assert_int_equal(e.received, 1);
    check_error_prefixes(&b);

    b.len = 0;
    cql_buf_u32(&b, CQL_ERR_READ_FAILURE);
    put_str(&b, "rf");
    cql_buf_u16(&b, CQL_ONE);
    cql_buf_u32(&b, 0);
    cql_buf_u32(&b, 1);
    cql_buf_u32(&b, 1);
    cql_buf_u8(&b, 1);
    r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_error(&r, &e), 0);
    assert_int_equal(e.numfailures, 1);
    assert_true(e.data_present);
    check_error_prefixes(&b);

    b.len = 0;
    cql_buf_u32(&b, CQL_ERR_ALREADY_EXISTS);
    put_str(&b, "exists");
    put_str(&b, "ks");
    put_str(&b, "t");
    r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_error(&r, &e), 0);
    assert_string_equal(e.keyspace, "ks");
    assert_string_equal(e.table, "t");
    assert_false(cql_error_retriable(&e));
    check_error_prefixes(&b);

    b.len = 0;
    cql_buf_u32(&b, CQL_ERR_UNPREPARED);
    put_str(&b, "unknown id");
    cql_buf_short_bytes(&b, (const uint8_t *)"0123456789abcdef", 16);
    r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_error(&r, &e), 0);
    assert_int_equal(e.unprepared_id_len, 16);
    assert_memory_equal(e.unprepared_id, "0123456789abcdef", 16);
    check_error_prefixes(&b);

    b.len = 0;
    cql_buf_u32(&b, CQL_ERR_SYNTAX);
    put_str(&b, "line 1:0 no viable alternative");
    r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_error(&r, &e), 0);
    assert_false(cql_error_retriable(&e));
    assert_string_equal(cql_strerror(e.code), "syntax error");
    cql_buf_free(&b);
}

static void test_decode_event_supported(void **state)
{
    (void)state;
    cql_buf b = {0};
    cql_event ev;
    put_str(&b, "SCHEMA_CHANGE");
    put_str(&b, "CREATED");
    put_str(&b, "TABLE");
    put_str(&b, "ks1");
    put_str(&b, "tbl");
    cql_rd r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_event(&r, &ev), 0);
    assert_int_equal(ev.type, CQL_EVENT_SCHEMA);
    assert_string_equal(ev.change, "CREATED");
    assert_string_equal(ev.target, "TABLE");
    assert_string_equal(ev.keyspace, "ks1");
    assert_string_equal(ev.name, "tbl");
    for (size_t cut = 0; cut < b.len; cut++) {
        r = cql_rd_make(b.data, cut);
        assert_int_equal(cql_dec_event(&r, &ev), CQL_E_PROTOCOL);
    }
    b.len = 0;
    put_str(&b, "STATUS_CHANGE");
    put_str(&b, "DOWN");
    const uint8_t inet[] = {4, 10, 0, 0, 2, 0, 0, 0x23, 0x52};
    cql_buf_put(&b, inet, sizeof inet);
    r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_event(&r, &ev), 0);
    assert_int_equal(ev.type, CQL_EVENT_STATUS);
    assert_string_equal(ev.host, "10.0.0.2:9042");

    b.len = 0;
    bool lz4;
    cql_buf_u16(&b, 1);
    put_str(&b, "COMPRESSION");
    cql_buf_u16(&b, 2);
    put_str(&b, "snappy");
    put_str(&b, "lz4");
    r = cql_rd_make(b.data, b.len);
    assert_int_equal(cql_dec_supported(&r, &lz4), 0);
    assert_true(lz4);
    r = cql_rd_make(b.data, b.len - 1);
    assert_int_equal(cql_dec_supported(&r, &lz4), CQL_E_PROTOCOL);
    cql_buf_free(&b);
}

static void test_frame_body_flags(void **state)
{
    (void)state;
    cql_buf b = {0};
    uint8_t trace[16] = {9};
    cql_buf_put(&b, trace, 16);
    cql_buf_u16(&b, 1);
    put_str(&b, "Batch too large");
    cql_buf_u32(&b, CQL_RESULT_VOID);
    cql_frame_hdr h = {0x84, CQL_FLAG_TRACING | CQL_FLAG_WARNING, 1, CQL_OP_RESULT, 0};
    cql_rd r = cql_frame_body(&h, b.data, b.len);
    assert_false(r.err);
    assert_int_equal(cql_rd_i32(&r), CQL_RESULT_VOID);
    r = cql_frame_body(&h, b.data, 20);
    assert_true(r.err);
    cql_buf_free(&b);
}

/* A ROWS body: global spec ks.t, columns (id int, tags list<text>), 2 rows, paging state. */
static void build_rows(cql_buf *b)
{
    cql_buf_u32(b, CQL_RESULT_ROWS);
    cql_buf_u32(b, 0x0001 | 0x0002);
    cql_buf_u32(b, 2);
    cql_buf_value(b, cql_value_blob("page", 4));
    put_str(b, "ks");
    put_str(b, "t");
    put_str(b, "id");
    cql_buf_u16(b, CQL_TYPE_INT);
    put_str(b, "tags");
    cql_buf_u16(b, CQL_TYPE_LIST);
    cql_buf_u16(b, CQL_TYPE_VARCHAR);
    cql_buf_u32(b, 2);
    uint8_t i4[4];
    cql_buf_value(b, cql_value_int(i4, 7));
    cql_buf_u32(b, 4 + 4 + 1 + 4 + 3);
    cql_buf_u32(b, 2);
    cql_buf_value(b, cql_value_text("a"));
    cql_buf_value(b, cql_value_text("b'c"));
    cql_buf_value(b, cql_value_int(i4, -1));
    cql_buf_value(b, cql_value_null());
}

static void test_decode_rows(void **state)
{
    (void)state;
    cql_buf b = {0};
    build_rows(&b);
    cql_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), 0);
    assert_int_equal(cql_result_get_kind(&res), CQL_RESULT_ROWS);
    assert_int_equal(cql_result_column_count(&res), 2);
    assert_int_equal(cql_result_row_count(&res), 2);
    assert_string_equal(cql_result_column(&res, 0)->name, "id");
    assert_string_equal(cql_result_column(&res, 1)->keyspace, "ks");
    assert_int_equal(cql_result_column(&res, 1)->type.id, CQL_TYPE_LIST);
    assert_int_equal(cql_result_column(&res, 1)->type.sub[0].id, CQL_TYPE_VARCHAR);
    assert_null(cql_result_column(&res, 2));
    int32_t v;
    assert_int_equal(cql_value_get_int(cql_result_cell(&res, 1, 0), &v), 0);
    assert_int_equal(v, -1);
    assert_int_equal(cql_result_cell(&res, 1, 1).len, CQL_NULL);
    assert_int_equal(cql_result_cell(&res, 5, 0).len, CQL_NULL);
    assert_true(cql_result_has_more_pages(&res));
    assert_int_equal(cql_result_paging_state(&res).len, 4);
    char out[64];
    cql_value c = cql_result_cell(&res, 0, 1);
    cql_value_format(&cql_result_column(&res, 1)->type, c.ptr, c.len, out, sizeof out);
    assert_string_equal(out, "['a', 'b''c']");

    cql_result *copy = cql_result_copy(&res);
    assert_non_null(copy);
    cql_result_release(&res);
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_result_row_count(copy), 2);
    assert_int_equal(cql_value_get_int(cql_result_cell(copy, 0, 0), &v), 0);
    assert_int_equal(v, 7);
    assert_string_equal(cql_result_column(copy, 1)->name, "tags");
    cql_result_free(copy);

    for (size_t cut = 0; cut < b.len; cut++) {
        cql_result_reset(&res);
        assert_int_equal(cql_dec_result(b.data, cut, NULL, 0, &res), CQL_E_PROTOCOL);
        assert_int_equal(cql_result_row_count(&res), 0);
    }
    cql_result_release(&res);
    cql_buf_free(&b);
}

static void test_decode_rows_no_metadata(void **state)
{
    (void)state;
    cql_buf b = {0};
    cql_buf_u32(&b, CQL_RESULT_ROWS);
    cql_buf_u32(&b, 0x0004);
    cql_buf_u32(&b, 1);
    cql_buf_u32(&b, 1);
    cql_buf_value(&b, cql_value_text("x"));
    cql_column known = {"ks", "t", "name", {CQL_TYPE_VARCHAR, 0, NULL, NULL, NULL, NULL}};
    cql_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_dec_result(b.data, b.len, &known, 1, &res), 0);
    assert_string_equal(cql_result_column(&res, 0)->name, "name");
    cql_result_reset(&res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), 0);
    assert_int_equal(cql_result_column(&res, 0)->type.id, CQL_TYPE_BLOB);
    cql_result_release(&res);
    cql_buf_free(&b);
}

static void test_decode_prepared_and_others(void **state)
{
    (void)state;
    cql_buf b = {0};
    cql_buf_u32(&b, CQL_RESULT_PREPARED);
    cql_buf_short_bytes(&b, (const uint8_t *)"IDIDIDIDIDIDIDID", 16);
    cql_buf_u32(&b, 0x0001);
    cql_buf_u32(&b, 3);
    cql_buf_u32(&b, 2);
    cql_buf_u16(&b, 2);
    cql_buf_u16(&b, 0);
    put_str(&b, "ks");
    put_str(&b, "t");
    const char *names[] = {"a", "v", "b"};
    for (int i = 0; i < 3; i++) {
        put_str(&b, names[i]);
        cql_buf_u16(&b, CQL_TYPE_MAP);
        cql_buf_u16(&b, CQL_TYPE_VARCHAR);
        cql_buf_u16(&b, CQL_TYPE_TUPLE);
        cql_buf_u16(&b, 2);
        cql_buf_u16(&b, CQL_TYPE_INT);
        cql_buf_u16(&b, CQL_TYPE_UUID);
    }
    cql_buf_u32(&b, 0x0004);
    cql_buf_u32(&b, 0);
    cql_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), 0);
    assert_int_equal(res.nbind, 3);
    assert_int_equal(res.npk, 2);
    assert_int_equal(res.pk[0], 2);
    assert_int_equal(res.pk[1], 0);
    assert_int_equal(res.prepared_id.len, 16);
    char tn[64];
    cql_type_format(&res.bind[1].type, tn, sizeof tn);
    assert_string_equal(tn, "map<text, tuple<int, uuid>>");
    for (size_t cut = 0; cut < b.len; cut++) {
        cql_result_reset(&res);
        assert_int_equal(cql_dec_result(b.data, cut, NULL, 0, &res), CQL_E_PROTOCOL);
    }
    /* A pk index beyond the bind count is malformed. */
    cql_put_be16(b.data + 4 + 18 + 12, 9);
    cql_result_reset(&res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), CQL_E_PROTOCOL);

    b.len = 0;
    cql_buf_u32(&b, CQL_RESULT_SCHEMA_CHANGE);
    put_str(&b, "CREATED");
    put_str(&b, "TABLE");
    put_str(&b, "ks");
    put_str(&b, "t");
    cql_result_reset(&res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), 0);
    assert_string_equal(cql_result_info(&res), "CREATED TABLE ks.t");
    b.len = 0;
    cql_buf_u32(&b, CQL_RESULT_SET_KEYSPACE);
    put_str(&b, "myks");
    cql_result_reset(&res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), 0);
    assert_string_equal(cql_result_info(&res), "myks");
    b.len = 0;
    cql_buf_u32(&b, 99);
    cql_result_reset(&res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), CQL_E_PROTOCOL);
    cql_result_release(&res);
    cql_buf_free(&b);
}

static void test_deep_type_rejected(void **state)
{
    (void)state;
    cql_buf b = {0};
    cql_buf_u32(&b, CQL_RESULT_ROWS);
    cql_buf_u32(&b, 0x0001);
    cql_buf_u32(&b, 1);
    put_str(&b, "ks");
    put_str(&b, "t");
    put_str(&b, "c");
    for (int i = 0; i < 100; i++) cql_buf_u16(&b, CQL_TYPE_LIST);
    cql_buf_u16(&b, CQL_TYPE_INT);
    cql_buf_u32(&b, 0);
    cql_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), CQL_E_PROTOCOL);
    cql_result_release(&res);
    cql_buf_free(&b);
}

/* v4 describes duration columns as a custom type; they must format as durations. */
static void test_custom_duration(void **state)
{
    (void)state;
    cql_buf b = {0};
    cql_buf_u32(&b, CQL_RESULT_ROWS);
    cql_buf_u32(&b, 0x0001);
    cql_buf_u32(&b, 1);
    put_str(&b, "ks");
    put_str(&b, "t");
    put_str(&b, "du");
    cql_buf_u16(&b, CQL_TYPE_CUSTOM);
    put_str(&b, "org.apache.cassandra.db.marshal.DurationType");
    cql_buf_u32(&b, 1);
    cql_buf_value(&b, cql_value_blob("\x02\x04\x06", 3));
    cql_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), 0);
    assert_int_equal(cql_result_column(&res, 0)->type.id, CQL_TYPE_DURATION);
    char out[32];
    cql_value v = cql_result_cell(&res, 0, 0);
    cql_value_format(&cql_result_column(&res, 0)->type, v.ptr, v.len, out, sizeof out);
    assert_string_equal(out, "1mo2d3ns");
    cql_result_release(&res);
    cql_buf_free(&b);
}

static void test_lz4_roundtrip(void **state)
{
    (void)state;
    cql_buf z = {0}, out = {0};
    char in[5000];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (char)("abcabcabd"[i % 9]);
    assert_int_equal(cql_lz4_compress((const uint8_t *)in, sizeof in, &z), 0);
    assert_true(z.len < sizeof in);
    assert_int_equal(cql_get_be32(z.data), sizeof in);
    assert_int_equal(cql_lz4_decompress(z.data, z.len, &out), 0);
    assert_int_equal(out.len, sizeof in);
    assert_memory_equal(out.data, in, sizeof in);
    out.len = 0;
    assert_int_equal(cql_lz4_decompress(z.data, z.len - 3, &out), CQL_E_PROTOCOL);
    cql_put_be32(z.data, sizeof in + 1);
    out.len = 0;
    assert_int_equal(cql_lz4_decompress(z.data, z.len, &out), CQL_E_PROTOCOL);
    assert_int_equal(cql_lz4_decompress(z.data, 2, &out), CQL_E_PROTOCOL);
    cql_buf_free(&z);
    cql_buf_free(&out);
}

/* A hostile server must not make the client allocate far more than it sent (issue #16). */
static void test_hostile_sizes(void **state)
{
    (void)state;
    /* ROWS without metadata claiming 100,000 columns and no row, in a body just long enough for
     * the old check (count <= body left): 6.4 MB of placeholder columns from 100 kB. */
    cql_buf b = {0};
    cql_buf_u32(&b, CQL_RESULT_ROWS);
    cql_buf_u32(&b, 0x0004);
    cql_buf_u32(&b, 100000);
    cql_buf_u32(&b, 0);
    uint8_t pad[100000] = {0};
    cql_buf_put(&b, pad, sizeof pad);
    cql_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), CQL_E_PROTOCOL);
    cql_result_release(&res);
    /* With metadata every column spec takes at least 4 bytes: a count beyond that is refused. */
    b.len = 0;
    cql_buf_u32(&b, CQL_RESULT_ROWS);
    cql_buf_u32(&b, 0x0001);
    cql_buf_u32(&b, 30000);
    put_str(&b, "ks");
    put_str(&b, "t");
    cql_buf_put(&b, pad, 100000);
    memset(&res, 0, sizeof res);
    assert_int_equal(cql_dec_result(b.data, b.len, NULL, 0, &res), CQL_E_PROTOCOL);
    assert_true(res.arena.size < 1000000);
    cql_result_release(&res);
    /* An lz4 body of a few bytes claiming 200 MiB is refused before anything is reserved. */
    b.len = 0;
    cql_buf_u32(&b, 200u << 20);
    cql_buf_put(&b, pad, 16);
    cql_buf out = {0};
    assert_int_equal(cql_lz4_decompress(b.data, b.len, &out), CQL_E_PROTOCOL);
    assert_true(out.cap < (1u << 20));
    /* ... while a legitimately well-compressed body (LZ4's best ratio is about 255:1) passes. */
    size_t big = 16u << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    b.len = 0;
    assert_int_equal(cql_lz4_compress(zeros, big, &b), 0);
    assert_int_equal(cql_lz4_decompress(b.data, b.len, &out), 0);
    assert_int_equal(out.len, big);
    free(zeros);
    cql_buf_free(&out);
    cql_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_reader_bounds),
        cmocka_unit_test(test_encode_startup_auth_register),
        cmocka_unit_test(test_encode_query_params),
        cmocka_unit_test(test_encode_execute_batch),
        cmocka_unit_test(test_encode_batch_ahead),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_event_supported),
        cmocka_unit_test(test_frame_body_flags),
        cmocka_unit_test(test_decode_rows),
        cmocka_unit_test(test_decode_rows_no_metadata),
        cmocka_unit_test(test_decode_prepared_and_others),
        cmocka_unit_test(test_deep_type_rejected),
        cmocka_unit_test(test_custom_duration),
        cmocka_unit_test(test_lz4_roundtrip),
        cmocka_unit_test(test_hostile_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
