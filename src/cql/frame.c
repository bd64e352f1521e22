/* CQL v4 frame codec: the 9-byte header, request encoders and the ERROR/SUPPORTED/EVENT
 * decoders. Requests are appended to a cql_buf as whole frames so a connection can keep the bytes
 * of a request for re-sending (re-prepare, retry) without encoding it again. */
#include "cql/frame.h"

#include <string.h>

void cql_frame_hdr_encode(uint8_t out[CQL_HEADER_LEN], const cql_frame_hdr *h)
{
    out[0] = h->version;
    out[1] = h->flags;
    cql_put_be16(out + 2, (uint16_t)h->stream);
    out[4] = h->opcode;
    cql_put_be32(out + 5, h->length);
}

int cql_frame_hdr_decode(const uint8_t *p, size_t n, cql_frame_hdr *h)
{
    if (n < CQL_HEADER_LEN) return 1;
    h->version = p[0];
    h->flags = p[1];
    h->stream = (int16_t)cql_get_be16(p + 2);
    h->opcode = p[4];
    h->length = cql_get_be32(p + 5);
    if ((h->version & 0x7F) != CQL_PROTO_VERSION) return CQL_E_PROTOCOL;
    if (h->length > CQL_MAX_FRAME_BODY) return CQL_E_PROTOCOL;
    return 0;
}

void cql_frame_set_stream(uint8_t *frame, int16_t stream)
{
    cql_put_be16(frame + 2, (uint16_t)stream);
}

/* Appends a header with a zero length; returns the frame's start offset. */
static size_t frame_begin(cql_buf *b, uint8_t opcode, int16_t stream)
{
    size_t start = b->len;
    cql_frame_hdr h = {CQL_PROTO_VERSION, 0, stream, opcode, 0};
    if (cql_buf_reserve(b, CQL_HEADER_LEN)) {
        cql_frame_hdr_encode(b->data + b->len, &h);
        b->len += CQL_HEADER_LEN;
    }
    return start;
}

/* Patches the body length; on failure rewinds b to the frame's start. */
static int frame_end(cql_buf *b, size_t start)
{
    if (b->oom) {
        b->oom = false;
        b->len = start;
        return CQL_E_NOMEM;
    }
    size_t body = b->len - start - CQL_HEADER_LEN;
    if (body > CQL_MAX_FRAME_BODY) {
        b->len = start;
        return CQL_E_TOO_LARGE;
    }
    cql_put_be32(b->data + start + 5, (uint32_t)body);
    return 0;
}

int cql_enc_options(cql_buf *b, int16_t stream)
{
    return frame_end(b, frame_begin(b, CQL_OP_OPTIONS, stream));
}

int cql_enc_startup(cql_buf *b, int16_t stream, bool lz4)
{
    size_t start = frame_begin(b, CQL_OP_STARTUP, stream);
    cql_buf_u16(b, lz4 ? 3 : 2);
    cql_buf_string(b, "CQL_VERSION", 11);
    cql_buf_string(b, "3.0.0", 5);
    cql_buf_string(b, "DRIVER_NAME", 11);
    cql_buf_string(b, "rtetl", 5);
    if (lz4) {
        cql_buf_string(b, "COMPRESSION", 11);
        cql_buf_string(b, "lz4", 3);
    }
    return frame_end(b, start);
}

int cql_enc_auth_plain(cql_buf *b, int16_t stream, const char *user, const char *pass)
{
    size_t ul = strlen(user), pl = strlen(pass);
    size_t start = frame_begin(b, CQL_OP_AUTH_RESPONSE, stream);
    cql_buf_u32(b, (uint32_t)(ul + pl + 2));
    cql_buf_u8(b, 0);
    cql_buf_put(b, user, ul);
    cql_buf_u8(b, 0);
    cql_buf_put(b, pass, pl);
    return frame_end(b, start);
}

int cql_enc_register(cql_buf *b, int16_t stream, const char *const *events, size_t n)
{
    size_t start = frame_begin(b, CQL_OP_REGISTER, stream);
    cql_buf_u16(b, (uint16_t)n);
    for (size_t i = 0; i < n; i++) cql_buf_string(b, events[i], strlen(events[i]));
    return frame_end(b, start);
}

int cql_enc_prepare(cql_buf *b, int16_t stream, const char *query)
{
    size_t start = frame_begin(b, CQL_OP_PREPARE, stream);
    cql_buf_long_string(b, query, strlen(query));
    return frame_end(b, start);
}

static bool values_ok(const cql_value *values, size_t n)
{
    if (n > 0xFFFF || (n && !values)) return false;
    for (size_t i = 0; i < n; i++)
        if (values[i].len < CQL_UNSET || (values[i].len > 0 && !values[i].ptr)) return false;
    return true;
}

/* <consistency><flags>[values][page_size][paging_state][serial][timestamp] */
static void put_params(cql_buf *b, const cql_value *values, size_t n, int cl,
                       const cql_query_opts *o, bool skip_metadata)
{
    uint8_t flags = 0;
    if (n) flags |= 0x01;
    if (skip_metadata) flags |= 0x02;
    if (o->page_size > 0) flags |= 0x04;
    if (o->paging_state.len >= 0 && o->paging_state.ptr) flags |= 0x08;
    if (o->serial_consistency) flags |= 0x10;
    if (o->timestamp != CQL_NO_TIMESTAMP) flags |= 0x20;
    cql_buf_u16(b, (uint16_t)cl);
    cql_buf_u8(b, flags);
    if (n) {
        cql_buf_u16(b, (uint16_t)n);
        cql_buf_values(b, values, n);
    }
    if (flags & 0x04) cql_buf_u32(b, (uint32_t)o->page_size);
    if (flags & 0x08) cql_buf_value(b, o->paging_state);
    if (flags & 0x10) cql_buf_u16(b, (uint16_t)o->serial_consistency);
    if (flags & 0x20) cql_buf_u64(b, (uint64_t)o->timestamp);
}

static const cql_query_opts *opts_or_default(const cql_query_opts *o, cql_query_opts *tmp)
{
    if (o) return o;
    cql_query_opts_init(tmp);
    return tmp;
}

int cql_enc_query(cql_buf *b, int16_t stream, const char *query, const cql_value *values, size_t n,
                  int cl, const cql_query_opts *opts)
{
    cql_query_opts tmp;
    if (!values_ok(values, n)) return CQL_E_INVAL;
    size_t start = frame_begin(b, CQL_OP_QUERY, stream);
    cql_buf_long_string(b, query, strlen(query));
    put_params(b, values, n, cl, opts_or_default(opts, &tmp), false);
    return frame_end(b, start);
}

int cql_enc_execute(cql_buf *b, int16_t stream, const uint8_t *id, size_t idlen,
                    const cql_value *values, size_t n, int cl, const cql_query_opts *opts,
                    bool skip_metadata)
{
    cql_query_opts tmp;
    if (!values_ok(values, n) || idlen > 0xFFFF) return CQL_E_INVAL;
    size_t start = frame_begin(b, CQL_OP_EXECUTE, stream);
    cql_buf_short_bytes(b, id, idlen);
    put_params(b, values, n, cl, opts_or_default(opts, &tmp), skip_metadata);
    return frame_end(b, start);
}

void cql_enc_batch_stmt(cql_buf *b, const cql_batch_item *it)
{
    cql_buf_u8(b, it->id ? 1 : 0);
    if (it->id)
        cql_buf_short_bytes(b, it->id, it->idlen);
    else
        cql_buf_long_string(b, it->query, strlen(it->query));
    cql_buf_u16(b, (uint16_t)it->n);
    cql_buf_values(b, it->values, it->n);
}

/* <consistency><flags>[<serial_consistency>][<timestamp>] after a batch's statements. */
static void put_batch_tail(cql_buf *b, int cl, const cql_query_opts *o)
{
    uint8_t flags =
        (o->serial_consistency ? 0x10 : 0) | (o->timestamp != CQL_NO_TIMESTAMP ? 0x20 : 0);
    cql_buf_u16(b, (uint16_t)cl);
    cql_buf_u8(b, flags);
    if (flags & 0x10) cql_buf_u16(b, (uint16_t)o->serial_consistency);
    if (flags & 0x20) cql_buf_u64(b, (uint64_t)o->timestamp);
}

int cql_enc_batch(cql_buf *b, int16_t stream, int type, const cql_batch_item *items, size_t n,
                  int cl, const cql_query_opts *opts)
{
    cql_query_opts tmp;
    const cql_query_opts *o = opts_or_default(opts, &tmp);
    if (n == 0 || n > 0xFFFF) return CQL_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if (!values_ok(items[i].values, items[i].n) || (!items[i].id && !items[i].query))
            return CQL_E_INVAL;
    size_t start = frame_begin(b, CQL_OP_BATCH, stream);
    cql_buf_u8(b, (uint8_t)type);
    cql_buf_u16(b, (uint16_t)n);
    for (size_t i = 0; i < n; i++) cql_enc_batch_stmt(b, &items[i]);
    put_batch_tail(b, cl, o);
    return frame_end(b, start);
}

int cql_enc_batch_around(cql_buf *b, int16_t stream, int type, size_t n, int cl,
                         const cql_query_opts *opts)
{
    cql_query_opts tmp;
    const cql_query_opts *o = opts_or_default(opts, &tmp);
    if (n == 0 || n > 0xFFFF || b->len < CQL_BATCH_HEAD) return CQL_E_INVAL;
    size_t mark = b->len;
    cql_frame_hdr h = {CQL_PROTO_VERSION, 0, stream, CQL_OP_BATCH, 0};
    cql_frame_hdr_encode(b->data, &h);
    b->data[CQL_HEADER_LEN] = (uint8_t)type;
    cql_put_be16(b->data + CQL_HEADER_LEN + 1, (uint16_t)n);
    put_batch_tail(b, cl, o);
    int rc = frame_end(b, 0);
    if (rc) b->len = mark;
    return rc;
}

bool cql_batch_item_ok(const cql_batch_item *it)
{
    return values_ok(it->values, it->n) && (it->id || it->query) && it->n <= 0xFFFF;
}

cql_rd cql_frame_body(const cql_frame_hdr *h, const uint8_t *body, size_t len)
{
    cql_rd r = cql_rd_make(body, len);
    if (h->flags & CQL_FLAG_TRACING) cql_rd_raw(&r, 16);
    if (h->flags & CQL_FLAG_WARNING) cql_rd_skip_string_list(&r);
    if (h->flags & CQL_FLAG_CUSTOM_PAYLOAD) cql_rd_skip_bytes_map(&r);
    return r;
}

/* Reads <cl><received><blockfor> shared by the timeout and failure errors. */
static void dec_cl_counts(cql_rd *r, cql_error *e)
{
    e->consistency = cql_rd_u16(r);
    e->received = cql_rd_i32(r);
    e->required = cql_rd_i32(r);
}

static void dec_error_extra(cql_rd *r, cql_error *e)
{
    size_t n;
    switch (e->code) {
    case CQL_ERR_UNAVAILABLE:
        e->consistency = cql_rd_u16(r);
        e->required = cql_rd_i32(r);
        e->received = cql_rd_i32(r);
        break;
    case CQL_ERR_WRITE_TIMEOUT:
        dec_cl_counts(r, e);
        cql_rd_string_to(r, e->write_type, sizeof e->write_type);
        break;
    case CQL_ERR_READ_TIMEOUT:
        dec_cl_counts(r, e);
        e->data_present = cql_rd_u8(r) != 0;
        break;
    case CQL_ERR_READ_FAILURE:
        dec_cl_counts(r, e);
        e->numfailures = cql_rd_i32(r);
        e->data_present = cql_rd_u8(r) != 0;
        break;
    case CQL_ERR_WRITE_FAILURE:
        dec_cl_counts(r, e);
        e->numfailures = cql_rd_i32(r);
        cql_rd_string_to(r, e->write_type, sizeof e->write_type);
        break;
    case CQL_ERR_FUNCTION_FAILURE:
        cql_rd_string_to(r, e->keyspace, sizeof e->keyspace);
        cql_rd_string_to(r, e->table, sizeof e->table);
        cql_rd_skip_string_list(r);
        break;
    case CQL_ERR_ALREADY_EXISTS:
        cql_rd_string_to(r, e->keyspace, sizeof e->keyspace);
        cql_rd_string_to(r, e->table, sizeof e->table);
        break;
    case CQL_ERR_UNPREPARED: {
        cql_value id = cql_rd_short_bytes(r);
        n = id.len > 0 ? (size_t)id.len : 0;
        if (n > sizeof e->unprepared_id) n = sizeof e->unprepared_id;
        if (n) memcpy(e->unprepared_id, id.ptr, n);
        e->unprepared_id_len = (uint16_t)n;
        break;
    }
    default: break;
    }
}

int cql_dec_error(cql_rd *r, cql_error *err)
{
    memset(err, 0, sizeof *err);
    err->code = cql_rd_i32(r);
    cql_rd_string_to(r, err->message, sizeof err->message);
    if (!r->err) dec_error_extra(r, err);
    if (r->err) {
        err->code = CQL_E_PROTOCOL;
        strcpy(err->message, "malformed ERROR frame");
        return CQL_E_PROTOCOL;
    }
    return 0;
}

int cql_dec_supported(cql_rd *r, bool *lz4)
{
    *lz4 = false;
    for (uint16_t n = cql_rd_u16(r); n > 0 && !r->err; n--) {
        size_t klen, vlen;
        const char *k = cql_rd_string(r, &klen);
        bool comp = klen == 11 && memcmp(k, "COMPRESSION", 11) == 0;
        for (uint16_t m = cql_rd_u16(r); m > 0 && !r->err; m--) {
            const char *v = cql_rd_string(r, &vlen);
            if (comp && vlen == 3 && memcmp(v, "lz4", 3) == 0) *lz4 = true;
        }
    }
    return r->err ? CQL_E_PROTOCOL : 0;
}

static void dec_schema_change(cql_rd *r, cql_event *ev)
{
    cql_rd_string_to(r, ev->change, sizeof ev->change);
    cql_rd_string_to(r, ev->target, sizeof ev->target);
    cql_rd_string_to(r, ev->keyspace, sizeof ev->keyspace);
    if (strcmp(ev->target, "KEYSPACE") == 0) return;
    cql_rd_string_to(r, ev->name, sizeof ev->name);
    if (strcmp(ev->target, "FUNCTION") == 0 || strcmp(ev->target, "AGGREGATE") == 0)
        cql_rd_skip_string_list(r);
}

int cql_dec_event(cql_rd *r, cql_event *ev)
{
    char type[32];
    memset(ev, 0, sizeof *ev);
    cql_rd_string_to(r, type, sizeof type);
    if (strcmp(type, "SCHEMA_CHANGE") == 0) {
        ev->type = CQL_EVENT_SCHEMA;
        dec_schema_change(r, ev);
    } else if (strcmp(type, "TOPOLOGY_CHANGE") == 0 || strcmp(type, "STATUS_CHANGE") == 0) {
        ev->type = type[0] == 'T' ? CQL_EVENT_TOPOLOGY : CQL_EVENT_STATUS;
        cql_rd_string_to(r, ev->change, sizeof ev->change);
        cql_rd_inet(r, ev->host, sizeof ev->host);
    } else {
        return CQL_E_PROTOCOL;
    }
    return r->err ? CQL_E_PROTOCOL : 0;
}
