/* libFuzzer target for the CQL response decoders: the input is a stream of frames (header +
 * body), each decoded like a connection would (lz4 body, flags, ERROR/RESULT/EVENT/SUPPORTED),
 * and every ROWS cell is formatted with its column type. Hostile sizes (column counts, lz4
 * lengths) must fail without allocating more than the input justifies (ASan's allocation limit
 * catches a blow-up; the seeds hostile_* start there). */
#include "cql/frame.h"

#include <stdlib.h>
#include <string.h>

static void format_rows(const cql_result *res)
{
    char out[256];
    for (int32_t r = 0; r < cql_result_row_count(res) && r < 64; r++)
        for (int c = 0; c < cql_result_column_count(res); c++) {
            cql_value v = cql_result_cell(res, r, c);
            cql_value_format(&cql_result_column(res, c)->type, v.ptr, v.len, out, sizeof out);
        }
}

static const cql_column known[2] = {
    {"ks", "t", "k", {CQL_TYPE_INT, 0, NULL, NULL, NULL, NULL}},
    {"ks", "t", "v", {CQL_TYPE_VARCHAR, 0, NULL, NULL, NULL, NULL}},
};

static void decode_result(const cql_rd *r, const cql_column *cols, int ncols)
{
    cql_result res;
    memset(&res, 0, sizeof res);
    if (cql_dec_result(r->p, cql_rd_left(r), cols, ncols, &res) == 0) {
        format_rows(&res);
        cql_result *copy = cql_result_copy(&res);
        if (copy) format_rows(copy);
        cql_result_free(copy);
    }
    cql_result_release(&res);
}

static void decode_body(const cql_frame_hdr *h, const uint8_t *body, size_t len)
{
    cql_rd r = cql_frame_body(h, body, len);
    if (r.err) return;
    cql_error err;
    cql_event ev;
    bool lz4;
    switch (h->opcode) {
    case CQL_OP_ERROR: cql_dec_error(&r, &err); break;
    case CQL_OP_EVENT: cql_dec_event(&r, &ev); break;
    case CQL_OP_SUPPORTED: cql_dec_supported(&r, &lz4); break;
    case CQL_OP_RESULT:
        /* Rows without metadata take the columns of a prepared statement when the counts agree
         * (as EXECUTE with skip_metadata does), else placeholders. */
        decode_result(&r, NULL, 0);
        decode_result(&r, known, 2);
        break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cql_buf plain = {0};
    while (size >= CQL_HEADER_LEN) {
        cql_frame_hdr h;
        if (cql_frame_hdr_decode(data, size, &h) != 0) break;
        if (h.length > size - CQL_HEADER_LEN) break;
        const uint8_t *body = data + CQL_HEADER_LEN;
        size_t len = h.length;
        if (h.flags & CQL_FLAG_COMPRESSION) {
            plain.len = 0;
            if (cql_lz4_decompress(body, len, &plain) != 0) break;
            body = plain.data;
            len = plain.len;
        }
        decode_body(&h, body, len);
        data += CQL_HEADER_LEN + h.length;
        size -= CQL_HEADER_LEN + h.length;
    }
    cql_buf_free(&plain);
    return 0;
}
