/* Small JSON helpers shared by decode.c and json_text.c; not a public interface. */
#ifndef RTETL_PIPELINE_JSON_IMPL_H
#define RTETL_PIPELINE_JSON_IMPL_H

#include <stddef.h>

/* Reads the 4 hex digits at p into *out; -1 when one is not a hex digit. */
static inline int json_hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], x;
        if (c >= '0' && c <= '9')
            x = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            x = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | x;
    }
    *out = v;
    return 0;
}

/* Writes code point cp (not a surrogate, <= U+10FFFF) as UTF-8 at o; returns 1 to 4. */
static inline size_t json_put_utf8(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) return o[0] = (unsigned char)cp, 1;
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
