/* CQL statement splitter: a small scanner that knows literals and comments (see split.h). */
#include "cql/split.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

bool cql_splitter_feed(cql_splitter *sp, const char *text, size_t n)
{
    if (sp->len + n + 1 > sp->cap) {
        size_t cap = sp->cap ? sp->cap : 256;
        while (cap < sp->len + n + 1) cap *= 2;
        char *b = realloc(sp->buf, cap);
        if (!b) return false;
        sp->buf = b;
        sp->cap = cap;
    }
    memcpy(sp->buf + sp->len, text, n);
    sp->len += n;
    sp->buf[sp->len] = '\0';
    return true;
}

enum { S_CODE, S_SQUOTE, S_DQUOTE, S_DOLLAR, S_LINE, S_BLOCK };

/* Scans buf; returns the index of the first top-level ';' or len. *code tells whether anything
 * but blanks and comments precedes it. */
static size_t scan(const char *b, size_t len, bool *code)
{
    int st = S_CODE;
    *code = false;
    for (size_t i = 0; i < len; i++) {
        char c = b[i], d = i + 1 < len ? b[i + 1] : '\0';
        switch (st) {
        case S_CODE:
            if (c == ';') return i;
            if ((c == '-' && d == '-') || (c == '/' && d == '/'))
                st = S_LINE, i++;
            else if (c == '/' && d == '*')
                st = S_BLOCK, i++;
            else if (c == '\'')
                st = S_SQUOTE;
            else if (c == '"')
                st = S_DQUOTE;
            else if (c == '$' && d == '$')
                st = S_DOLLAR, i++;
            if (st != S_LINE && st != S_BLOCK && !isspace((unsigned char)c)) *code = true;
            break;
        case S_SQUOTE:
            if (c == '\'' && d == '\'')
                i++;
            else if (c == '\'')
                st = S_CODE;
            break;
        case S_DQUOTE:
            if (c == '"' && d == '"')
                i++;
            else if (c == '"')
                st = S_CODE;
            break;
        case S_DOLLAR:
            if (c == '$' && d == '$') st = S_CODE, i++;
            break;
        case S_LINE:
            if (c == '\n') st = S_CODE;
            break;
        case S_BLOCK:
            if (c == '*' && d == '/') st = S_CODE, i++;
            break;
        }
    }
    return len;
}

static char *trimmed_copy(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static void consume(cql_splitter *sp, size_t n)
{
    memmove(sp->buf, sp->buf + n, sp->len - n);
    sp->len -= n;
    if (sp->buf) sp->buf[sp->len] = '\0';
}

char *cql_splitter_next(cql_splitter *sp)
{
    for (;;) {
        bool code;
        size_t end = scan(sp->buf, sp->len, &code);
        if (end == sp->len) return NULL;
        char *stmt = code ? trimmed_copy(sp->buf, end) : NULL;
        consume(sp, end + 1);
        if (stmt) return stmt;
    }
}

char *cql_splitter_rest(cql_splitter *sp)
{
    bool code;
    scan(sp->buf, sp->len, &code);
    char *stmt = code ? trimmed_copy(sp->buf, sp->len) : NULL;
    consume(sp, sp->len);
    return stmt;
}

bool cql_splitter_pending(const cql_splitter *sp)
{
    bool code;
    scan(sp->buf, sp->len, &code);
    return code;
}

void cql_splitter_free(cql_splitter *sp)
{
    free(sp->buf);
    memset(sp, 0, sizeof *sp);
}
