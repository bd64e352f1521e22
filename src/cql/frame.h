/* Internal frame codec of the CQL native protocol v4: header, request encoders and response
 * decoders. Pure functions over memory; no I/O (see conn.c for the transport). */
#ifndef RTETL_CQL_FRAME_H
#define RTETL_CQL_FRAME_H

#include "cql/cql.h"
#include "cql/wire.h"

#define CQL_PROTO_VERSION  4
#define CQL_HEADER_LEN     9
#define CQL_MAX_FRAME_BODY (256u * 1024 * 1024)
#define CQL_MAX_TYPE_DEPTH 16
#define CQL_MAX_COLUMNS    65535 /* columns of a result, bind markers of a statement */

enum {
    CQL_OP_ERROR = 0x00,
    CQL_OP_STARTUP = 0x01,
    CQL_OP_READY = 0x02,
    CQL_OP_AUTHENTICATE = 0x03,
    CQL_OP_OPTIONS = 0x05,
    CQL_OP_SUPPORTED = 0x06,
    CQL_OP_QUERY = 0x07,
    CQL_OP_RESULT = 0x08,
    CQL_OP_PREPARE = 0x09,
    CQL_OP_EXECUTE = 0x0A,
    CQL_OP_REGISTER = 0x0B,
    CQL_OP_EVENT = 0x0C,
    CQL_OP_BATCH = 0x0D,
    CQL_OP_AUTH_CHALLENGE = 0x0E,
    CQL_OP_AUTH_RESPONSE = 0x0F,
    CQL_OP_AUTH_SUCCESS = 0x10,
};

enum {
    CQL_FLAG_COMPRESSION = 0x01,
    CQL_FLAG_TRACING = 0x02,
    CQL_FLAG_CUSTOM_PAYLOAD = 0x04,
    CQL_FLAG_WARNING = 0x08,
};

typedef struct cql_frame_hdr {
    uint8_t version; /* 0x04 request, 0x84 response */
    uint8_t flags;
    int16_t stream;
    uint8_t opcode;
    uint32_t length;
} cql_frame_hdr;

void cql_frame_hdr_encode(uint8_t out[CQL_HEADER_LEN], const cql_frame_hdr *h);
/* Returns 0 with *h filled, 1 when fewer than 9 bytes are available, or CQL_E_PROTOCOL for a
 * version other than v4 or a body over CQL_MAX_FRAME_BODY. */
int cql_frame_hdr_decode(const uint8_t *p, size_t n, cql_frame_hdr *h);

/* Request encoders append a whole frame (header + body) for stream `stream` to b; they return
 * 0, CQL_E_NOMEM, CQL_E_TOO_LARGE or CQL_E_INVAL. */
int cql_enc_options(cql_buf *b, int16_t stream);
int cql_enc_startup(cql_buf *b, int16_t stream, bool lz4);
/* SASL PLAIN token "\0user\0pass". */
int cql_enc_auth_plain(cql_buf *b, int16_t stream, const char *user, const char *pass);
int cql_enc_register(cql_buf *b, int16_t stream, const char *const *events, size_t n);
int cql_enc_prepare(cql_buf *b, int16_t stream, const char *query);
int cql_enc_query(cql_buf *b, int16_t stream, const char *query, const cql_value *values, size_t n,
                  int cl, const cql_query_opts *opts);
int cql_enc_execute(cql_buf *b, int16_t stream, const uint8_t *id, size_t idlen,
                    const cql_value *values, size_t n, int cl, const cql_query_opts *opts,
                    bool skip_metadata);
/* A batch statement for the encoder: a prepared id, or a query string when id is NULL. */
typedef struct cql_batch_item {
    const uint8_t *id;
    size_t idlen;
    const char *query;
    const cql_value *values;
    size_t n;
} cql_batch_item;
int cql_enc_batch(cql_buf *b, int16_t stream, int type, const cql_batch_item *items, size_t n,
                  int cl, const cql_query_opts *opts);
/* One batch <query> entry (kind, id or query, values), appended to b; no checks (see
 * cql_batch_item_ok). */
void cql_enc_batch_stmt(cql_buf *b, const cql_batch_item *it);
bool cql_batch_item_ok(const cql_batch_item *it);
/* Room that a buffer of batch statements keeps in front of them for the BATCH frame's header,
 * type and statement count, so that the frame is made around them without a copy. */
#define CQL_BATCH_HEAD (CQL_HEADER_LEN + 3)
/* Makes b a BATCH frame in place: b holds CQL_BATCH_HEAD bytes of room, then n statements
 * encoded back to back by cql_enc_batch_stmt. Writes the header, type and count into the room
 * and appends the tail. On error b is as it was. */
int cql_enc_batch_around(cql_buf *b, int16_t stream, int type, size_t n, int cl,
                         const cql_query_opts *opts);
/* Sets the stream id of an encoded frame in place. */
void cql_frame_set_stream(uint8_t *frame, int16_t stream);

/* Strips the tracing id, warnings and custom payload a response body may start with (per the
 * header flags) and returns a reader over the rest; r.err set when malformed. */
cql_rd cql_frame_body(const cql_frame_hdr *h, const uint8_t *body, size_t len);

/* ERROR body -> err (all code-specific fields). Returns 0 or CQL_E_PROTOCOL. */
int cql_dec_error(cql_rd *r, cql_error *err);
/* SUPPORTED: sets *lz4 when COMPRESSION lists lz4. */
int cql_dec_supported(cql_rd *r, bool *lz4);
/* EVENT body -> ev. */
int cql_dec_event(cql_rd *r, cql_event *ev);

/* The RESULT object; rows are parsed in place: `cells` indexes the offset (from `body`) of every
 * cell's [bytes] so cell access is O(1). Fields marked owned are freed by cql_result_free. */
struct cql_result {
    cql_result_kind kind;
    int ncols;
    const cql_column *cols;
    int32_t nrows;
    const uint8_t *body; /* the RESULT body (after the kind) */
    size_t body_len;
    uint32_t *cells; /* nrows * ncols offsets into body */
    size_t cells_cap;
    bool has_more;
    cql_value paging_state;
    char info[256];
    /* PREPARED results only (internal use by the session). */
    cql_value prepared_id;
    int nbind;
    const cql_column *bind;
    int npk;
    const uint16_t *pk;
    /* Ownership: arena for metadata; owned_body when this is a copy. */
    cql_arena arena;
    uint8_t *owned_body;
    bool heap; /* the struct itself was malloc'd */
};

/* Decodes a RESULT body into res (which the caller zeroed or reused). Metadata goes into
 * res->arena, the cell index into res->cells (grown as needed and kept for reuse). When the rows
 * carry no metadata (skip_metadata), `known`/`nknown` supply the columns. Returns 0,
 * CQL_E_PROTOCOL (malformed) or CQL_E_NOMEM. */
int cql_dec_result(const uint8_t *body, size_t len, const cql_column *known, int nknown,
                   cql_result *res);
/* Resets a reusable result between decodes (keeps cells and the first arena block). */
void cql_result_reset(cql_result *res);
/* Releases what a stack/embedded result owns (not the struct). */
void cql_result_release(cql_result *res);

/* Deep-copies a type into arena a; returns 0 or CQL_E_NOMEM. */
int cql_type_copy(cql_arena *a, cql_type *dst, const cql_type *src);
int cql_columns_copy(cql_arena *a, const cql_column *src, int n, cql_column **out);
/* Whether two arrays of n columns have the same names, tables and types. */
bool cql_columns_equal(const cql_column *a, const cql_column *b, int n);

/* LZ4 body compression as Cassandra frames it: [4-byte BE uncompressed length][LZ4 block]. */
int cql_lz4_compress(const uint8_t *in, size_t n, cql_buf *out);
int cql_lz4_decompress(const uint8_t *in, size_t n, cql_buf *out);

#endif
