/* Filter expressions: a recursive-descent compiler into a flat AST, and its evaluator.
 *
 * DESIGN: compiling produces an array of nodes; a node names its first child and its next
 * sibling by index, so `and`/`or` chains are n-ary and the tree's depth is the expression's
 * nesting, which the parser bounds (PIPE_FILTER_MAX_DEPTH). Literals live in one byte buffer;
 * field names are resolved to schema indexes at compile time. Evaluation walks the tree with
 * three-valued logic (see filter.h) and allocates nothing. New operators (the projection
 * language to come) are new node kinds; the parser's precedence levels are its functions. */
#include "pipeline/filter.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    OP_TRUE,
    OP_FALSE,
    OP_AND,
    OP_OR,
    OP_NOT,
    OP_EQ,
    OP_NE,
    OP_CONTAINS,
    OP_STARTS,
    OP_ENDS,
    OP_NOT_EMPTY,
    OP_IS_NULL,
    OP_PRESENT,
} op_kind;

#define NONE UINT32_MAX

typedef struct node {
    uint8_t op;
    int32_t field;
    uint32_t kid, next; /* first child, next sibling; NONE when absent */
    uint32_t lit, lit_len;
} node;

struct pipe_filter {
    node *nodes;
    uint32_t n, cap, root;
    char *lits;
    size_t lits_len, lits_cap;
};

/* Three-valued results. */
enum { F = 0, T = 1, U = 2 };

/* ---- evaluation --------------------------------------------------------------------------- */

static int has_value(const pipe_value *v)
{
    return v->present && v->json_type != PIPE_JSON_NULL;
}

static int test(const pipe_filter *f, const node *n, const pipe_value *v)
{
    const char *lit = f->lits + n->lit;
    size_t ll = n->lit_len, vl = v->len;
    const char *vp = v->ptr ? v->ptr : "";
    switch (n->op) {
    case OP_EQ: return vl == ll && memcmp(vp, lit, ll) == 0;
    case OP_NE: return !(vl == ll && memcmp(vp, lit, ll) == 0);
    case OP_CONTAINS: return ll == 0 || (vl >= ll && memmem(vp, vl, lit, ll) != NULL);
    case OP_STARTS: return vl >= ll && memcmp(vp, lit, ll) == 0;
    case OP_ENDS: return vl >= ll && memcmp(vp + vl - ll, lit, ll) == 0;
    case OP_NOT_EMPTY: return vl > 0;
    default: return F;
    }
}

static int eval(const pipe_filter *f, uint32_t i, const pipe_record *r)
{
    const node *n = &f->nodes[i];
    int res, v;
    switch (n->op) {
    case OP_TRUE: return T;
    case OP_FALSE: return F;
    case OP_NOT: v = eval(f, n->kid, r); return v == U ? U : !v;
    case OP_AND:
        res = T;
        for (uint32_t k = n->kid; k != NONE; k = f->nodes[k].next) {
            if ((v = eval(f, k, r)) == F) return F;
            if (v == U) res = U;
        }
        return res;
    case OP_OR:
        res = F;
        for (uint32_t k = n->kid; k != NONE; k = f->nodes[k].next) {
            if ((v = eval(f, k, r)) == T) return T;
            if (v == U) res = U;
        }
        return res;
    case OP_IS_NULL: return !has_value(&r->v[n->field]);
    case OP_PRESENT: return has_value(&r->v[n->field]);
    default: return has_value(&r->v[n->field]) ? test(f, n, &r->v[n->field]) : U;
    }
}

bool pipe_filter_eval(const pipe_filter *f, const pipe_record *r)
{
    return eval(f, f->root, r) == T;
}

bool pipe_filter_is_trivial(const pipe_filter *f)
{
    return f->nodes[f->root].op == OP_TRUE;
}

void pipe_filter_free(pipe_filter *f)
{
    if (!f) return;
    free(f->nodes);
    free(f->lits);
    free(f);
}

/* ---- lexer -------------------------------------------------------------------------------- */

typedef enum { TK_EOF, TK_IDENT, TK_STRING, TK_LPAREN, TK_RPAREN, TK_COMMA, TK_EQ, TK_NE } tk_kind;

typedef struct parser {
    const char *src, *p;
    const char *line_start;
    int line;
    const pipe_schema *s;
    pipe_filter *f;
    int depth;
    /* The current token. */
    tk_kind tk;
    const char *tk_start;
    int tk_line, tk_col;
    char *text; /* identifier or literal after unescaping */
    size_t text_len, text_cap;
    char *err;
    size_t errlen;
    int failed;
} parser;

static int error_at(parser *ps, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int error_at(parser *ps, int line, int col, const char *fmt, ...)
{
    if (ps->failed) return -1;
    ps->failed = 1;
    int n = snprintf(ps->err, ps->errlen, "filter:%d:%d: ", line, col);
    if (n >= 0 && (size_t)n < ps->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* Names echoed into the message may hold control characters: keep it one line. */
    for (char *c = ps->err; c < ps->err + ps->errlen && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F) *c = '?';
    return -1;
}

/* Reports an error at the current token. */
#define error_tk(ps, ...) error_at(ps, (ps)->tk_line, (ps)->tk_col, __VA_ARGS__)

static int text_put(parser *ps, char c)
{
    if (ps->text_len + 1 >= ps->text_cap) {
        size_t cap = ps->text_cap ? ps->text_cap * 2 : 64;
        char *t = realloc(ps->text, cap);
        if (!t) return error_tk(ps, "out of memory");
        ps->text = t, ps->text_cap = cap;
    }
    ps->text[ps->text_len++] = c;
    ps->text[ps->text_len] = '\0';
    return 0;
}

static void skip_space(parser *ps)
{
    for (;; ps->p++) {
        if (*ps->p == '\n')
            ps->line++, ps->line_start = ps->p + 1;
        else if (*ps->p != ' ' && *ps->p != '\t' && *ps->p != '\r')
            return;
    }
}

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Lexes a quoted literal or a back-quoted name whose opening quote is at ps->p. */
static int lex_quoted(parser *ps, char q)
{
    ps->p++;
    for (;;) {
        char c = *ps->p;
        if (c == '\0') return error_tk(ps, q == '`' ? "unterminated name" : "unterminated string");
        ps->p++;
        if (c == '\n') ps->line++, ps->line_start = ps->p;
        if (c == q && q == '`' && *ps->p == '`') {
            ps->p++; /* `` inside a back-quoted name is one back-quote */
        } else if (c == q) {
            return 0;
        } else if (c == '\\' && q != '`') {
            static const char from[] = "\\'\"ntr", to[] = "\\'\"\n\t\r";
            const char *e = *ps->p ? strchr(from, *ps->p) : NULL;
            if (!e)
                return error_at(ps, ps->line, (int)(ps->p - ps->line_start),
                                "unknown escape in string");
            c = to[e - from];
            ps->p++;
        }
        if (text_put(ps, c)) return -1;
    }
}

static int next(parser *ps)
{
    skip_space(ps);
    ps->tk_start = ps->p;
    ps->tk_line = ps->line;
    ps->tk_col = (int)(ps->p - ps->line_start) + 1;
    ps->text_len = 0;
    if (ps->text) ps->text[0] = '\0';
    char c = *ps->p;
    if (c == '\0') return ps->tk = TK_EOF, 0;
    if (c == '(' || c == ')' || c == ',') {
        ps->p++;
        ps->tk = c == '(' ? TK_LPAREN : c == ')' ? TK_RPAREN : TK_COMMA;
        return 0;
    }
    if ((c == '=' || c == '!') && ps->p[1] == '=') {
        ps->p += 2;
        ps->tk = c == '=' ? TK_EQ : TK_NE;
        return 0;
    }
    if (c == '\'' || c == '"' || c == '`') {
        ps->tk = c == '`' ? TK_IDENT : TK_STRING;
        return lex_quoted(ps, c);
    }
    if (is_ident_start(c)) {
        while (is_ident_char(*ps->p))
            if (text_put(ps, *ps->p++)) return -1;
        ps->tk = TK_IDENT;
        return 0;
    }
    if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7F)
        return error_tk(ps, "unexpected character '%c'", c);
    return error_tk(ps, "unexpected byte 0x%02x", (unsigned char)c);
}

/* True when the current token is the bare keyword kw (a back-quoted name never is). */
static int is_kw(const parser *ps, const char *kw)
{
    return ps->tk == TK_IDENT && *ps->tk_start != '`' && strcmp(ps->text, kw) == 0;
}

/* ---- parser ------------------------------------------------------------------------------- */

static int64_t new_node(parser *ps, op_kind op)
{
    pipe_filter *f = ps->f;
    if (f->n >= PIPE_FILTER_MAX_NODES) return error_tk(ps, "expression too long");
    if (f->n == f->cap) {
        uint32_t cap = f->cap ? f->cap * 2 : 16;
        node *nodes = realloc(f->nodes, cap * sizeof *nodes);
        if (!nodes) return error_tk(ps, "out of memory");
        f->nodes = nodes, f->cap = cap;
    }
    node *n = &f->nodes[f->n];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->field = -1;
    n->kid = n->next = NONE;
    return f->n++;
}

static int add_literal(parser *ps, node *n)
{
    pipe_filter *f = ps->f;
    if (f->lits_len + ps->text_len + 1 > f->lits_cap) {
        size_t cap = (f->lits_cap ? f->lits_cap : 64);
        while (cap < f->lits_len + ps->text_len + 1) cap *= 2;
        char *l = realloc(f->lits, cap);
        if (!l) return error_tk(ps, "out of memory");
        f->lits = l, f->lits_cap = cap;
    }
    memcpy(f->lits + f->lits_len, ps->text, ps->text_len);
    n->lit = (uint32_t)f->lits_len, n->lit_len = (uint32_t)ps->text_len;
    f->lits_len += ps->text_len;
    return 0;
}

/* Resolves the current identifier token as a field; advances past it. */
static int field_ref(parser *ps, int32_t *field)
{
    if (ps->tk != TK_IDENT) return error_tk(ps, "expected a field name");
    int i = pipe_schema_find(ps->s, ps->text, ps->text_len);
    if (i < 0) return error_tk(ps, "unknown field '%s'", ps->text);
    *field = i;
    return next(ps);
}

static int expect(parser *ps, tk_kind kind, const char *what)
{
    if (ps->tk != kind) return error_tk(ps, "expected %s", what);
    return next(ps);
}

static const struct {
    const char *name;
    op_kind op;
    int has_lit;
} funcs[] = {
    {"contains", OP_CONTAINS, 1},   {"starts_with", OP_STARTS, 1}, {"ends_with", OP_ENDS, 1},
    {"not_empty", OP_NOT_EMPTY, 0}, {"is_null", OP_IS_NULL, 0},    {"present", OP_PRESENT, 0},
};

/* name(field[, 'lit']) with the current token at '('. */
static int64_t parse_call(parser *ps, const char *name, int line, int col)
{
    size_t i = 0, nf = sizeof funcs / sizeof funcs[0];
    while (i < nf && strcmp(funcs[i].name, name) != 0) i++;
    if (i == nf) return error_at(ps, line, col, "unknown function '%s'", name);
    int64_t id = new_node(ps, funcs[i].op);
    int32_t field;
    if (id < 0 || next(ps) || field_ref(ps, &field)) return -1;
    ps->f->nodes[id].field = field;
    if (funcs[i].has_lit) {
        if (expect(ps, TK_COMMA, "','")) return -1;
        if (ps->tk != TK_STRING) return error_tk(ps, "expected a string literal");
        if (add_literal(ps, &ps->f->nodes[id]) || next(ps)) return -1;
    }
    return expect(ps, TK_RPAREN, "')'") ? -1 : id;
}

/* field == 'lit' / field != 'lit' with the current token at the field. */
static int64_t parse_compare(parser *ps)
{
    int32_t field;
    if (field_ref(ps, &field)) return -1;
    if (ps->tk != TK_EQ && ps->tk != TK_NE) return error_tk(ps, "expected '==' or '!='");
    int64_t id = new_node(ps, ps->tk == TK_EQ ? OP_EQ : OP_NE);
    if (id < 0 || next(ps)) return -1;
    ps->f->nodes[id].field = field;
    if (ps->tk != TK_STRING) return error_tk(ps, "expected a string literal");
    if (add_literal(ps, &ps->f->nodes[id])) return -1;
    return next(ps) ? -1 : id;
}

static int64_t parse_or(parser *ps);

static int64_t parse_primary(parser *ps)
{
    if (ps->tk == TK_LPAREN) {
        if (next(ps)) return -1;
        int64_t id = parse_or(ps);
        if (id < 0 || expect(ps, TK_RPAREN, "')'")) return -1;
        return id;
    }
    if (ps->tk != TK_IDENT) return error_tk(ps, "expected an expression");
    if (is_kw(ps, "true") || is_kw(ps, "false")) {
        int64_t id = new_node(ps, is_kw(ps, "true") ? OP_TRUE : OP_FALSE);
        return id < 0 || next(ps) ? -1 : id;
    }
    if (*ps->tk_start != '`') {
        /* A bare identifier followed by '(' is a call. Peek without consuming. */
        const char *q = ps->p;
        while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') q++;
        if (*q == '(') {
            char name[32];
            int line = ps->tk_line, col = ps->tk_col;
            snprintf(name, sizeof name, "%s", ps->text);
            if (ps->text_len >= sizeof name) name[0] = '\0';
            if (next(ps)) return -1;
            return parse_call(ps, name, line, col);
        }
    }
    return parse_compare(ps);
}

static int64_t parse_unary(parser *ps)
{
    if (!is_kw(ps, "not")) return parse_primary(ps);
    if (++ps->depth > PIPE_FILTER_MAX_DEPTH) return error_tk(ps, "expression nested too deeply");
    int64_t id = new_node(ps, OP_NOT);
    if (id < 0 || next(ps)) return -1;
    int64_t kid = parse_unary(ps);
    if (kid < 0) return -1;
    ps->f->nodes[id].kid = (uint32_t)kid;
    ps->depth--;
    return id;
}

/* One precedence level of an n-ary operator: sub ('kw' sub)*. */
static int64_t parse_chain(parser *ps, const char *kw, op_kind op, int64_t (*sub)(parser *))
{
    int64_t first = sub(ps);
    if (first < 0 || !is_kw(ps, kw)) return first;
    int64_t id = new_node(ps, op);
    if (id < 0) return -1;
    ps->f->nodes[id].kid = (uint32_t)first;
    int64_t last = first;
    while (is_kw(ps, kw)) {
        if (next(ps)) return -1;
        int64_t k = sub(ps);
        if (k < 0) return -1;
        ps->f->nodes[last].next = (uint32_t)k;
        last = k;
    }
    return id;
}

static int64_t parse_and(parser *ps)
{
    return parse_chain(ps, "and", OP_AND, parse_unary);
}

static int64_t parse_or(parser *ps)
{
    if (++ps->depth > PIPE_FILTER_MAX_DEPTH) return error_tk(ps, "expression nested too deeply");
    int64_t id = parse_chain(ps, "or", OP_OR, parse_and);
    ps->depth--;
    return id;
}

static int compile(parser *ps)
{
    if (next(ps)) return -1;
    int64_t root;
    if (ps->tk == TK_EOF) {
        root = new_node(ps, OP_TRUE);
    } else {
        root = parse_or(ps);
        if (root >= 0 && ps->tk != TK_EOF) {
            if (ps->tk == TK_RPAREN) return error_tk(ps, "unbalanced ')'");
            return error_tk(ps, "expected 'and', 'or' or the end of the expression");
        }
    }
    if (root < 0) return -1;
    ps->f->root = (uint32_t)root;
    return 0;
}

pipe_filter *pipe_filter_compile(const char *expr, const pipe_schema *s, char *err, size_t errlen)
{
    const char *src = expr ? expr : "";
    parser ps = {
        .src = src, .p = src, .line_start = src, .line = 1, .s = s, .err = err, .errlen = errlen};
    ps.f = calloc(1, sizeof *ps.f);
    /* Literals always have a buffer, so offsets into it never apply to a null pointer. */
    if (ps.f && (ps.f->lits = malloc(ps.f->lits_cap = 16)) == NULL) {
        free(ps.f);
        ps.f = NULL;
    }
    if (!ps.f) {
        snprintf(err, errlen, "filter: out of memory");
        return NULL;
    }
    int rc = compile(&ps);
    free(ps.text);
    if (rc) {
        pipe_filter_free(ps.f);
        return NULL;
    }
    return ps.f;
}

/* ---- printing ----------------------------------------------------------------------------- */

typedef struct sbuf {
    char *buf;
    size_t cap, len;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, b->len++)
        if (b->len + 1 < b->cap) b->buf[b->len] = s[i];
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_field(sbuf *b, const pipe_schema *s, int32_t field)
{
    const char *name = pipe_schema_field(s, (size_t)field)->name;
    static const char *const kw[] = {"and", "or", "not", "true", "false"};
    int plain = is_ident_start(name[0]);
    for (const char *c = name; *c && plain; c++) plain = is_ident_char(*c);
    for (size_t i = 0; i < 5 && plain; i++) plain = strcmp(name, kw[i]) != 0;
    if (plain) return puts_(b, name);
    put(b, "`", 1);
    for (const char *c = name; *c; c++) {
        put(b, c, 1);
        if (*c == '`') put(b, "`", 1); /* doubled inside a back-quoted name */
    }
    put(b, "`", 1);
}

static void put_literal(sbuf *b, const char *s, size_t n)
{
    put(b, "'", 1);
    for (size_t i = 0; i < n; i++) {
        const char *e = s[i] == '\\'   ? "\\\\"
                        : s[i] == '\'' ? "\\'"
                        : s[i] == '\n' ? "\\n"
                        : s[i] == '\t' ? "\\t"
                        : s[i] == '\r' ? "\\r"
                                       : NULL;
        if (e)
            puts_(b, e);
        else
            put(b, s + i, 1);
    }
    put(b, "'", 1);
}

static void print_node(const pipe_filter *f, const pipe_schema *s, uint32_t i, sbuf *b)
{
    static const char *const names[] = {
        [OP_CONTAINS] = "contains",   [OP_STARTS] = "starts_with", [OP_ENDS] = "ends_with",
        [OP_NOT_EMPTY] = "not_empty", [OP_IS_NULL] = "is_null",    [OP_PRESENT] = "present"};
    const node *n = &f->nodes[i];
    switch (n->op) {
    case OP_TRUE: return puts_(b, "true");
    case OP_FALSE: return puts_(b, "false");
    case OP_NOT: puts_(b, "not "); return print_node(f, s, n->kid, b);
    case OP_AND:
    case OP_OR:
        put(b, "(", 1);
        for (uint32_t k = n->kid; k != NONE; k = f->nodes[k].next) {
            if (k != n->kid) puts_(b, n->op == OP_AND ? " and " : " or ");
            print_node(f, s, k, b);
        }
        return put(b, ")", 1);
    case OP_EQ:
    case OP_NE:
        put_field(b, s, n->field);
        puts_(b, n->op == OP_EQ ? " == " : " != ");
        return put_literal(b, f->lits + n->lit, n->lit_len);
    default:
        puts_(b, names[n->op]);
        put(b, "(", 1);
        put_field(b, s, n->field);
        if (n->op == OP_CONTAINS || n->op == OP_STARTS || n->op == OP_ENDS) {
            puts_(b, ", ");
            put_literal(b, f->lits + n->lit, n->lit_len);
        }
        put(b, ")", 1);
    }
}

size_t pipe_filter_print(const pipe_filter *f, const pipe_schema *s, char *buf, size_t buflen)
{
    sbuf b = {buf, buflen, 0};
    if (!pipe_filter_is_trivial(f))
        print_node(f, s, f->root, &b);
    else
        puts_(&b, "true");
    if (buflen) buf[b.len < buflen ? b.len : buflen - 1] = '\0';
    return b.len;
}
