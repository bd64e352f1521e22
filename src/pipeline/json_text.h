/* The text Spark's from_json stores for a JSON value that is not a string in a StringType field
 * (the decoder's converting path; see decode.h for when it applies). */
#ifndef RTETL_PIPELINE_JSON_TEXT_H
#define RTETL_PIPELINE_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>

enum {
    /* Longest text pipe_json_double_text writes: "-1.2345678901234567E-308" and the quoted
     * "\"-Infinity\"" both fit, with room to spare. */
    PIPE_JSON_DOUBLE_TEXT_MAX = 32,
    /* Jackson (2.15, as in Spark 3.5) refuses a number longer than this many characters, and
     * Spark then nulls the whole row; the decoder dead-letters such a number in a string field
     * as number_out_of_range. */
    PIPE_JSON_MAX_NUMBER_LEN = 1000,
};

/* Writes x as Java's Double.toString does from JDK 19 on (the shortest digits that read back
 * as x; plain notation for 1e-3 <= |x| < 1e7, else d.dddE[-]n), e.g. 1000.0, 1.0E10, 1.0E-5,
 * -0.0, 4.9E-324; "NaN", "Infinity", "-Infinity". out holds PIPE_JSON_DOUBLE_TEXT_MAX bytes;
 * returns the length (not NUL-terminated). JDK 18 and older sometimes printed more digits
 * (2e23 as 1.9999999999999998E23): rtetl follows the current JDK. */
size_t pipe_json_double_text(double x, char *out);

/* Writes the text Jackson's generator gives the JSON number p[0..n-1] (a valid JSON number,
 * n <= PIPE_JSON_MAX_NUMBER_LEN) when Spark copies it into a string: an integer as its digits
 * ("-0" -> "0"), a number with a fraction or exponent parsed as a double and written by
 * pipe_json_double_text, where a double that overflows is written quoted, "\"Infinity\"".
 * out holds PIPE_JSON_DOUBLE_TEXT_MAX bytes, or n for an integer; returns the length. */
size_t pipe_json_number_text(const char *p, size_t n, char *out);

/* Re-writes the valid JSON value src[0..n-1] (an object or array the decoder has already
 * checked) as compact JSON the way Spark's from_json stores it in a string field (Jackson's
 * copyCurrentStructure into a UTF-8 generator): no whitespace; numbers as
 * pipe_json_number_text; strings re-escaped (\" \\ \b \f \n \r \t, other control characters
 * and characters beyond U+FFFF as \uXXXX with upper-case hex, everything else raw UTF-8, '/'
 * unescaped); keys, duplicate keys and order kept. Writes at most cap bytes into out; returns
 * the length, PIPE_JSON_NO_ROOM when cap is too small (3 * n + 32 always suffices), or
 * PIPE_JSON_NUMBER_TOO_LONG when a number is over PIPE_JSON_MAX_NUMBER_LEN. */
#define PIPE_JSON_NO_ROOM         SIZE_MAX
#define PIPE_JSON_NUMBER_TOO_LONG (SIZE_MAX - 1)
size_t pipe_json_compact(const char *src, size_t n, char *out, size_t cap);

/* Re-writes the compact array or object src[0..n-1] (pipe_json_compact's output) with every
 * element (every member's value) a JSON string: a string as it is, any other value as the
 * string of its compact text (1 -> "1", true -> "true", {"a":1} -> "{\"a\":1}"), the way
 * Spark's ArrayType(StringType) and MapType(StringType, StringType) read them. Writes at most
 * cap bytes into out (3 * n + 2 always suffices); returns the length, PIPE_JSON_NO_ROOM, or
 * PIPE_JSON_NULL_ITEM when an element or value is null. */
#define PIPE_JSON_NULL_ITEM (SIZE_MAX - 2)
size_t pipe_json_string_items(const char *src, size_t n, char *out, size_t cap);

/* Reads the JSON string whose opening quote is at p (p < end) from text that may not be JSON:
 * returns the cursor after its closing quote, or NULL when it is no valid string (unclosed, a
 * raw control character, an unknown escape, a lone surrogate). With out not NULL, writes the
 * unescaped UTF-8 there (end - p bytes always suffice); *len (may be NULL) gets its length. */
const char *pipe_json_read_string(const char *p, const char *end, char *out, size_t *len);
/* Skips the JSON value at p (after blanks) in text that may not be JSON: strings are checked,
 * brackets counted, scalars run to the next punctuation. The cursor after it, or NULL. */
const char *pipe_json_skip(const char *p, const char *end);
/* Finds the member key[0..klen-1] of the JSON object text s[0..n-1] (the last one when the key
 * repeats): 1 with (*v, *vlen) its value's text (a slice of s, a string with its quotes), 0 when
 * absent, -1 when s is not an object. */
int pipe_json_member(const char *s, size_t n, const char *key, size_t klen, const char **v,
                     size_t *vlen);

/* Serializes the JSON array (of strings, numbers, booleans) or object (string keys and such
 * values) s[0..n-1] as a CQL list/set or map of text in the protocol's collection encoding
 * ([count] then [length][bytes] per item, 4-byte big-endian); strings unescaped, numbers and
 * booleans as their text. Writes at most cap bytes into out (out may be NULL to measure);
 * returns the length needed (it fits when <= cap), or PIPE_JSON_NOT_ITEMS when s is not such
 * an array or object (a null, nested container or malformed JSON). */
#define PIPE_JSON_NOT_ITEMS SIZE_MAX
size_t pipe_json_items_cql(const char *s, size_t n, unsigned char *out, size_t cap);

/* Length of the JSON number starting at p (p < end; a valid number ends at the first byte that
 * cannot be part of one); *integral is set when it has no fraction or exponent. */
size_t pipe_json_number_len(const char *p, const char *end, int *integral);

#endif
