/* JSON string escaping with UTF-8 validation (see json.h).
 *
 * DESIGN: the generator writes hundreds of thousands of records a second, so the common case
 * (printable ASCII) is checked and copied eight bytes at a time, the rest byte by byte through
 * a class table. The worst-case
 * output size (6 bytes per input byte) is reserved once per string, so the loop writes without
 * bounds checks. */
#include "ingest/json.h"

#include <stdint.h>

/* 0: copy as is; 1: needs an escape; 2: first byte of a multi-byte UTF-8 sequence (or junk). */
static const unsigned char cls[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t ingest_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && is_cont(s[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || !is_cont(s[1]) || !is_cont(s[2])) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && s[1] > 0x9F) return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3])) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] > 0x8F) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

static char *put_escape(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '\\';
    switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
    }
    return o;
}

/* True when none of the 8 bytes in v needs attention: no control character, '"', '\\' or byte
 * >= 0x80 (the classic "has a zero byte" bit trick, applied to v and to v xor the two
 * characters). */
static inline int plain8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = v ^ (ones * '"'), bs = v ^ (ones * '\\');
    uint64_t bad = v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((bs - ones) & ~bs);
    return (bad & high) == 0;
}

void ingest_json_chars(ingest_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + n;
    ingest_buf_reserve(b, n * 6 + 8);
    char *o = b->p + b->len;
    while (s < end) {
        /* Eight plain bytes at a time; the reserve above leaves room for the 8-byte store. */
        while (end - s >= 8) {
            uint64_t v;
            memcpy(&v, s, 8);
            if (!plain8(v)) break;
            memcpy(o, &v, 8);
            o += 8;
            s += 8;
        }
        while (s < end && cls[*s] == 0) *o++ = (char)*s++;
        if (s == end) break;
        if (cls[*s] == 1) {
            o = put_escape(o, *s++);
            continue;
        }
        size_t k = ingest_utf8_seq(s, (size_t)(end - s));
        if (k) {
            memcpy(o, s, k);
            o += k;
            s += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD, 3 bytes: fits the 6-per-byte reserve */
            o += 3;
            s++;
        }
    }
    b->len = (size_t)(o - b->p);
}

void ingest_json_str(ingest_buf *b, const char *s, size_t n)
{
    ingest_buf_reserve(b, n * 6 + 10);
    b->p[b->len++] = '"';
    ingest_json_chars(b, s, n);
    b->p[b->len++] = '"';
}

void ingest_json_str_cstr(ingest_buf *b, const char *s)
{
    ingest_json_str(b, s, strlen(s));
}
