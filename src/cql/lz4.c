/* LZ4 frame-body compression as Cassandra's protocol v4 uses it: a 4-byte big-endian
 * uncompressed length followed by one raw LZ4 block. */
#include "cql/frame.h"

#include <lz4.h>

#define LZ4_MAX_RATIO 255

int cql_lz4_compress(const uint8_t *in, size_t n, cql_buf *out)
{
    if (n > (size_t)LZ4_MAX_INPUT_SIZE) return CQL_E_TOO_LARGE;
    int bound = LZ4_compressBound((int)n);
    if (!cql_buf_reserve(out, 4 + (size_t)bound)) {
        out->oom = false;
        return CQL_E_NOMEM;
    }
    cql_put_be32(out->data + out->len, (uint32_t)n);
    int z = LZ4_compress_default((const char *)in, (char *)out->data + out->len + 4, (int)n, bound);
    if (z <= 0 && n > 0) return CQL_E_PROTOCOL;
    out->len += 4 + (size_t)z;
    return 0;
}

int cql_lz4_decompress(const uint8_t *in, size_t n, cql_buf *out)
{
    if (n < 4) return CQL_E_PROTOCOL;
    uint32_t raw = cql_get_be32(in);
    /* The claimed length is checked before it sizes the buffer: at most a frame's maximum, and
     * at most what the block can expand to (LZ4 writes one byte per 255 bytes of a long match at
     * best), so a few hostile bytes cannot make us reserve 256 MiB. */
    if (raw > CQL_MAX_FRAME_BODY || raw > (uint64_t)(n - 4) * LZ4_MAX_RATIO + 64)
        return CQL_E_PROTOCOL;
    if (!cql_buf_reserve(out, raw ? raw : 1)) {
        out->oom = false;
        return CQL_E_NOMEM;
    }
    if (raw == 0) return n == 4 || (n == 5 && in[4] == 0) ? 0 : CQL_E_PROTOCOL;
    int got = LZ4_decompress_safe((const char *)in + 4, (char *)out->data + out->len, (int)(n - 4),
                                  (int)raw);
    if (got < 0 || (uint32_t)got != raw) return CQL_E_PROTOCOL;
    out->len += raw;
    return 0;
}
