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

/* Length of the JSON number starting at p (p < end; a valid number ends at the first byte that
 * cannot be part of one); *integral is set when it has no fraction or exponent. */
size_t pipe_json_number_len(const char *p, const char *end, int *integral);

#endif
