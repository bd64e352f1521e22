/* JSON text output for records: string escaping that is always valid JSON and valid UTF-8. */
#ifndef RTETL_INGEST_JSON_H
#define RTETL_INGEST_JSON_H

#include "ingest/buf.h"

/* Appends s[0..n) as a JSON string with its quotes. '"', '\\' and control characters are
 * escaped (\n, \t ... or \u00XX); valid UTF-8 passes through unchanged, and each byte of an
 * invalid sequence (stray continuation, overlong form, surrogate, > U+10FFFF, truncation)
 * becomes U+FFFD, so the output is valid whatever the input. */
void ingest_json_str(ingest_buf *b, const char *s, size_t n);
/* ingest_json_str for a NUL-terminated string. */
void ingest_json_str_cstr(ingest_buf *b, const char *s);
/* The same without the quotes, to build one JSON string from several parts. */
void ingest_json_chars(ingest_buf *b, const char *s, size_t n);

/* Returns the length of the valid UTF-8 sequence starting at s (at most n bytes available), or
 * 0 when the bytes there are not valid UTF-8. s[0] must be >= 0x80. */
size_t ingest_utf8_seq(const unsigned char *s, size_t n);

#endif
