/* Expressions: a recursive-descent compiler into a flat, type-checked AST, and its printer.
 *
 * DESIGN: compiling produces an array of nodes; a node names its first child and its next
 * sibling by index, so `and`/`or` chains and argument lists are n-ary and the tree's depth is
 * the text's nesting, which the parser bounds (PIPE_EXPR_MAX_DEPTH). Literal text lives in one
 * byte buffer, regexes are compiled here once, field names are resolved to schema indexes and
 * every node carries its static type, so evaluation (expr_eval.c) needs no lookups, no parsing
 * of the program and no allocation. The parser's precedence levels are its functions; a
 * function is a row of expr_fns plus a case in the evaluator. The filter (filter.c) is this
 * compiler in boolean mode, whose messages keep the filter's wording ("filter:1:7: ..."). */
#include "pipeline/expr_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const xfn_spec expr_fns[FN__COUNT] = {
    [FN_LOWER] = {"lower", 1, 1, 0},
    [FN_UPPER] = {"upper", 1, 1, 0},
    [FN_TRIM] = {"trim", 1, 1, 0},
    [FN_CONCAT] = {"concat", 1, X_MAXARGS, 0},
    [FN_SUBSTR] = {"substr", 2, 3, 0},
    [FN_COALESCE] = {"coalesce", 1, X_MAXARGS, 0},
    [FN_TO_TIMESTAMP] = {"to_timestamp", 1, 1, 0},
    [FN_TO_DATE] = {"to_date", 1, 1, 0},
    [FN_TO_UUID] = {"to_uuid", 1, 1, 0},
    [FN_NOW] = {"now", 0, 0, 0},
    [FN_UUID_V5] = {"uuid_v5", 2, X_MAXARGS, 0},
    [FN_MATCHES] = {"matches", 2, 2, 1},
    [FN_CONTAINS] = {"contains", 2, 2, 1},
    [FN_STARTS] = {"starts_with", 2, 2, 1},
    [FN_ENDS] = {"ends_with", 2, 2, 1},
    [FN_NOT_EMPTY] = {"not_empty", 1, 1, 0},
    [FN_IS_NULL] = {"is_null", 1, 1, 0},
    [FN_PRESENT] = {"present", 1, 1, 0},
};

static const char *const kafka_names[] = {"topic",     "partition", "offset",
                                          "timestamp", "key",       "header"};
static const char *const cmp_names[] = {"==", "!=", "<", "<=", ">", ">="};

const char *pipe_xtype_name(pipe_xtype t)
{
    static const char *const names[] = {"null",      "boolean", "int",  "double", "string",
                                        "timestamp", "date",    "uuid", "any"};
    return (unsigned)t <= PIPE_X__ANY ? names[t] : "?";
}

const char *pipe_xtype_cql(pipe_xtype t)
{
    static const char *const cql[] = {"text",      "boolean", "bigint", "double", "text",
                                      "timestamp", "date",    "uuid",   "text"};
    return (unsigned)t <= PIPE_X__ANY ? cql[t] : "text";
}

void pipe_expr_free(pipe_expr *x)
{
    if (!x) return;
    for (size_t i = 0; i < x->nre; i++) regfree(&x->re[i]);
    free(x->re);
    free(x->nodes);
    free(x->lits);
    free(x);
}

pipe_xtype pipe_expr_type(const pipe_expr *x)
{
    return (pipe_xtype)x->nodes[x->root].type;
}

int pipe_expr_field(const pipe_expr *x)
{
    const xnode *n = &x->nodes[x->root];
    return n->op == X_FIELD ? n->field : -1;
}

bool pipe_expr_is_true(const pipe_expr *x)
{
    const xnode *n = &x->nodes[x->root];
    return n->op == X_LIT && n->type == PIPE_X_BOOL && n->b;
}

/* ---- lexer -------------------------------------------------------------------------------- */

typedef enum {
    TK_EOF,
    TK_IDENT,
    TK_STRING,
    TK_INT,
    TK_DOUBLE,
    TK_LPAREN,
    TK_RPAREN,
    TK_COMMA,
    TK_DOT,
    TK_CMP, /* cmp says which */
} tk_kind;

typedef struct parser {
    const char *p, *line_start;
    int line;
    const pipe_schema *s;
    const char *what;
    bool boolean;
    pipe_expr *x;
    int depth;
    /* The current token. */
    tk_kind tk;
    xcmp cmp;
    int64_t num_i;
    double num_d;
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
    int n = snprintf(ps->err, ps->errlen, "%s:%d:%d: ", ps->what, line, col);
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

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
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

/* An integer or a decimal ("-12", "3.5", "1e3"); a number with a point or an exponent is a
 * double, and it must be finite. */
static int lex_number(parser *ps)
{
    const char *q = ps->p;
    int is_double = 0;
    if (*q == '-') q++;
    while (is_digit(*q)) q++;
    if (*q == '.' && is_digit(q[1])) {
        is_double = 1;
        for (q++; is_digit(*q);) q++;
    }
    if ((*q == 'e' || *q == 'E') &&
        (is_digit(q[1]) || ((q[1] == '+' || q[1] == '-') && is_digit(q[2])))) {
        is_double = 1;
        for (q += 2; is_digit(*q);) q++;
    }
    if (is_ident_char(*q)) return error_tk(ps, "invalid number");
    for (const char *c = ps->p; c < q; c++)
        if (text_put(ps, *c)) return -1;
    ps->p = q;
    char *end;
    if (is_double) {
        ps->tk = TK_DOUBLE;
        ps->num_d = strtod(ps->text, &end);
        if (!isfinite(ps->num_d)) return error_tk(ps, "number out of range");
    } else {
        ps->tk = TK_INT;
        errno = 0;
        ps->num_i = strtoll(ps->text, &end, 10);
        if (errno) return error_tk(ps, "number out of range");
    }
    return 0;
}

static int lex_operator(parser *ps)
{
    char c = ps->p[0], d = ps->p[1];
    if ((c == '=' || c == '!') && d == '=')
        ps->cmp = c == '=' ? C_EQ : C_NE;
    else if (c == '<')
        ps->cmp = d == '=' ? C_LE : C_LT;
    else if (c == '>')
        ps->cmp = d == '=' ? C_GE : C_GT;
    else
        return 1;
    ps->p += d == '=' ? 2 : 1;
    ps->tk = TK_CMP;
    return 0;
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
    if (c == '(' || c == ')' || c == ',' || c == '.') {
        ps->p++;
        ps->tk = c == '(' ? TK_LPAREN : c == ')' ? TK_RPAREN : c == ',' ? TK_COMMA : TK_DOT;
        return 0;
    }
    if (lex_operator(ps) == 0) return 0;
    if (c == '\'' || c == '"' || c == '`') {
        ps->tk = c == '`' ? TK_IDENT : TK_STRING;
        return lex_quoted(ps, c);
    }
    if (is_digit(c) || (c == '-' && is_digit(ps->p[1]))) return lex_number(ps);
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

/* The first character after the current token, past blanks (a peek). */
static char peek(const parser *ps)
{
    const char *q = ps->p;
    while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') q++;
    return *q;
}

/* True when the word after the current token is the bare keyword kw (a peek). */
static int peek_word(const parser *ps, const char *kw)
{
    const char *q = ps->p;
    size_t n = strlen(kw);
    while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') q++;
    return strncmp(q, kw, n) == 0 && !is_ident_char(q[n]);
}

static int expect(parser *ps, tk_kind kind, const char *what)
{
    if (ps->tk != kind) return error_tk(ps, "expected %s", what);
    return next(ps);
}

/* ---- nodes -------------------------------------------------------------------------------- */

static int64_t new_node(parser *ps, xop op, pipe_xtype type)
{
    pipe_expr *x = ps->x;
    if (x->n >= PIPE_EXPR_MAX_NODES) return error_tk(ps, "expression too long");
    if (x->n == x->cap) {
        uint32_t cap = x->cap ? x->cap * 2 : 16;
        xnode *nodes = realloc(x->nodes, cap * sizeof *nodes);
        if (!nodes) return error_tk(ps, "out of memory");
        x->nodes = nodes, x->cap = cap;
    }
    xnode *n = &x->nodes[x->n];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->type = (uint8_t)type;
    n->field = -1;
    n->kid = n->next = X_NONE;
    return x->n++;
}

#define NODE(ps, id) (&(ps)->x->nodes[id])

/* Appends s[0..n-1] to the literal buffer. */
static int append_lit(parser *ps, const char *s, size_t n)
{
    pipe_expr *x = ps->x;
    if (x->lits_len + n + 1 > x->lits_cap) {
        size_t cap = x->lits_cap ? x->lits_cap : 64;
        while (cap < x->lits_len + n + 1) cap *= 2;
        char *l = realloc(x->lits, cap);
        if (!l) return error_tk(ps, "out of memory");
        x->lits = l, x->lits_cap = cap;
    }
    if (n) memcpy(x->lits + x->lits_len, s, n);
    x->lits_len += n;
    return 0;
}

/* Keeps the current token's text as node id's literal. */
static int add_literal(parser *ps, int64_t id)
{
    uint32_t at = (uint32_t)ps->x->lits_len;
    if (append_lit(ps, ps->text, ps->text_len)) return -1;
    NODE(ps, id)->lit = at;
    NODE(ps, id)->lit_len = (uint32_t)ps->text_len;
    return 0;
}

/* Appends kid to id's children. */
static void adopt(parser *ps, int64_t id, int64_t kid, int64_t *last)
{
    if (*last < 0)
        NODE(ps, id)->kid = (uint32_t)kid;
    else
        NODE(ps, *last)->next = (uint32_t)kid;
    NODE(ps, id)->nkids++;
    *last = kid;
}

/* ---- type rules --------------------------------------------------------------------------- */

static int is_num(int t)
{
    return t == PIPE_X_INT || t == PIPE_X_DOUBLE;
}

static int is_time(int t)
{
    return t == PIPE_X_TIMESTAMP || t == PIPE_X_DATE;
}

/* Whether values of static types a and b can be compared (see expr.h). */
static int comparable(int a, int b)
{
    if (a == PIPE_X_NULL || b == PIPE_X_NULL || a == PIPE_X__ANY || b == PIPE_X__ANY) return 1;
    if (a == PIPE_X_STRING || b == PIPE_X_STRING) return 1;
    if (is_num(a) && is_num(b)) return 1;
    if (is_time(a) && is_time(b)) return 1;
    return a == b;
}

/* A boolean operand (of and/or/not, or a filter): boolean, null or unknown until run time. */
static int check_bool(parser *ps, int64_t id, const char *op, int line, int col)
{
    int t = NODE(ps, id)->type;
    if (t == PIPE_X_BOOL || t == PIPE_X_NULL || t == PIPE_X__ANY) return 0;
    return error_at(ps, line, col, "'%s' needs a boolean, got %s", op,
                    pipe_xtype_name((pipe_xtype)t));
}

/* The result type of a call, checking its arguments' types. */
static int call_type(parser *ps, int64_t id, int line, int col)
{
    xnode *n = NODE(ps, id);
    const char *name = expr_fns[n->aux].name;
    int ts[X_MAXARGS + 1], k = 0;
    for (uint32_t c = n->kid; c != X_NONE; c = ps->x->nodes[c].next) ts[k++] = ps->x->nodes[c].type;
    switch ((xfn)n->aux) {
    case FN_SUBSTR:
        for (int i = 1; i < k; i++)
            if (ts[i] != PIPE_X_INT && ts[i] != PIPE_X_NULL && ts[i] != PIPE_X__ANY)
                return error_at(ps, line, col, "%s: argument %d must be an int, got %s", name,
                                i + 1, pipe_xtype_name((pipe_xtype)ts[i]));
        return PIPE_X_STRING;
    case FN_COALESCE: {
        int t = PIPE_X_NULL;
        for (int i = 0; i < k; i++) {
            if (ts[i] == PIPE_X_NULL || ts[i] == t) continue;
            if (t == PIPE_X_NULL)
                t = ts[i];
            else if (is_num(t) && is_num(ts[i]))
                t = PIPE_X_DOUBLE;
            else
                t = PIPE_X_STRING; /* mixed: every value as its text */
        }
        return t;
    }
    case FN_TO_TIMESTAMP:
    case FN_TO_DATE:
        if (ts[0] == PIPE_X_BOOL || ts[0] == PIPE_X_DOUBLE || ts[0] == PIPE_X_UUID)
            return error_at(ps, line, col, "%s: cannot convert %s", name,
                            pipe_xtype_name((pipe_xtype)ts[0]));
        return n->aux == FN_TO_DATE ? PIPE_X_DATE : PIPE_X_TIMESTAMP;
    case FN_TO_UUID:
        if (ts[0] != PIPE_X_STRING && ts[0] != PIPE_X_UUID && ts[0] != PIPE_X_NULL &&
            ts[0] != PIPE_X__ANY)
            return error_at(ps, line, col, "%s: cannot convert %s", name,
                            pipe_xtype_name((pipe_xtype)ts[0]));
        return PIPE_X_UUID;
    case FN_UUID_V5: return PIPE_X_UUID;
    case FN_NOW: return PIPE_X_TIMESTAMP;
    case FN_MATCHES:
    case FN_CONTAINS:
    case FN_STARTS:
    case FN_ENDS:
    case FN_NOT_EMPTY:
    case FN_IS_NULL:
    case FN_PRESENT: return PIPE_X_BOOL;
    default: return PIPE_X_STRING;
    }
}

/* Compile-time work on literal arguments: the regex of matches(), uuid_v5's namespace. */
static int call_literals(parser *ps, int64_t id, int line, int col)
{
    xnode *n = NODE(ps, id);
    xnode *a1 = &ps->x->nodes[n->kid];
    if (n->aux == FN_UUID_V5 && a1->op == X_LIT && a1->type == PIPE_X_STRING) {
        uint8_t ns[16];
        if (expr_uuid_namespace(ps->x->lits + a1->lit, a1->lit_len, ns))
            return error_at(ps, line, col,
                            "uuid_v5: namespace must be a UUID or dns, url, oid, x500");
    }
    if (n->aux != FN_MATCHES) return 0;
    xnode *a2 = &ps->x->nodes[a1->next];
    char *pat = strndup(ps->x->lits + a2->lit, a2->lit_len);
    regex_t *re = realloc(ps->x->re, (ps->x->nre + 1) * sizeof *re);
    if (!pat || !re) {
        free(pat);
        return error_tk(ps, "out of memory");
    }
    ps->x->re = re;
    if (strlen(pat) != a2->lit_len) {
        free(pat);
        return error_at(ps, line, col, "matches: NUL byte in regex");
    }
    int rc = regcomp(&re[ps->x->nre], pat, REG_EXTENDED | REG_NOSUB);
    free(pat);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &re[ps->x->nre], msg, sizeof msg);
        return error_at(ps, line, col, "matches: invalid regex: %s", msg);
    }
    NODE(ps, id)->field = (int32_t)ps->x->nre++;
    return 0;
}

/* A field whose value's text is its stored text, which the fast tests read (expr_eval.c): not
 * a timestamp or date (compared as times) nor a uuid (compared without case). */
static int stored_text(const xnode *n)
{
    return n->op == X_FIELD && !is_time(n->type) && n->type != PIPE_X_UUID;
}

/* ---- parser ------------------------------------------------------------------------------- */

static int64_t parse_or(parser *ps, bool want_bool);

/* name(args) with the current token at '('. */
static int64_t parse_call(parser *ps, const char *name, int line, int col)
{
    size_t f = 0;
    while (f < FN__COUNT && strcmp(expr_fns[f].name, name) != 0) f++;
    if (f == FN__COUNT) return error_at(ps, line, col, "unknown function '%s'", name);
    const xfn_spec *spec = &expr_fns[f];
    int64_t id = new_node(ps, X_CALL, PIPE_X_STRING), last = -1;
    if (id < 0 || next(ps)) return -1;
    NODE(ps, id)->aux = (uint8_t)f;
    for (int i = 0; ps->tk != TK_RPAREN || i < spec->min; i++) {
        if (i >= spec->max) return error_tk(ps, "expected ')'");
        if (i > 0 && expect(ps, TK_COMMA, i < spec->min ? "','" : "',' or ')'")) return -1;
        int64_t arg;
        if (i == 1 && spec->lit2) {
            if (ps->tk != TK_STRING) return error_tk(ps, "expected a string literal");
            if ((arg = new_node(ps, X_LIT, PIPE_X_STRING)) < 0 || add_literal(ps, arg) || next(ps))
                return -1;
        } else if ((arg = parse_or(ps, false)) < 0) {
            return -1;
        }
        adopt(ps, id, arg, &last);
    }
    int t = call_type(ps, id, line, col);
    if (t < 0 || call_literals(ps, id, line, col)) return -1;
    xnode *n = NODE(ps, id);
    n->type = (uint8_t)t;
    n->fast = (f == FN_CONTAINS || f == FN_STARTS || f == FN_ENDS || f == FN_NOT_EMPTY) &&
              stored_text(&ps->x->nodes[n->kid]);
    return next(ps) ? -1 : id;
}

/* kafka.<name> with the current token at '.'. */
static int64_t parse_kafka(parser *ps)
{
    if (next(ps)) return -1;
    size_t k = 0;
    while (k < 6 && !is_kw(ps, kafka_names[k])) k++;
    if (k == 6)
        return error_tk(ps, "expected topic, partition, offset, timestamp, key or header('name')");
    static const uint8_t types[] = {PIPE_X_STRING,    PIPE_X_INT,    PIPE_X_INT,
                                    PIPE_X_TIMESTAMP, PIPE_X_STRING, PIPE_X_STRING};
    int64_t id = new_node(ps, X_KAFKA, (pipe_xtype)types[k]);
    if (id < 0 || next(ps)) return -1;
    NODE(ps, id)->aux = (uint8_t)k;
    if (k != K_HEADER) return id;
    if (expect(ps, TK_LPAREN, "'('")) return -1;
    if (ps->tk != TK_STRING) return error_tk(ps, "expected a string literal");
    if (add_literal(ps, id) || next(ps) || expect(ps, TK_RPAREN, "')'")) return -1;
    return id;
}

/* field.a.b with the current token at the first '.': the field node id becomes a path whose
 * member names are kept NUL-separated as its literal. */
static int64_t parse_path(parser *ps, int64_t id, pipe_type ft)
{
    if (ft != PIPE_T_STRING && ft != PIPE_T_MAP)
        return error_tk(ps, "'.' needs a string or map field (a JSON object), not a %s field",
                        pipe_type_name(ft));
    xnode *n = NODE(ps, id);
    n->op = X_PATH, n->type = PIPE_X_STRING, n->lit = (uint32_t)ps->x->lits_len;
    while (ps->tk == TK_DOT) {
        if (next(ps)) return -1;
        if (ps->tk != TK_IDENT) return error_tk(ps, "expected a member name after '.'");
        if (memchr(ps->text, '\0', ps->text_len)) return error_tk(ps, "NUL byte in a member name");
        if ((NODE(ps, id)->i && append_lit(ps, "", 1)) || append_lit(ps, ps->text, ps->text_len))
            return -1;
        n = NODE(ps, id);
        n->lit_len = (uint32_t)(ps->x->lits_len - n->lit);
        n->i++;
        if (next(ps)) return -1;
    }
    return id;
}

static int64_t parse_literal(parser *ps)
{
    pipe_xtype t = ps->tk == TK_STRING   ? PIPE_X_STRING
                   : ps->tk == TK_INT    ? PIPE_X_INT
                   : ps->tk == TK_DOUBLE ? PIPE_X_DOUBLE
                   : is_kw(ps, "null")   ? PIPE_X_NULL
                                         : PIPE_X_BOOL;
    int64_t id = new_node(ps, X_LIT, t);
    if (id < 0) return -1;
    xnode *n = NODE(ps, id);
    n->i = ps->num_i, n->d = ps->num_d, n->b = is_kw(ps, "true");
    if (t == PIPE_X_STRING && add_literal(ps, id)) return -1;
    return next(ps) ? -1 : id;
}

static int64_t parse_value(parser *ps)
{
    if (ps->tk == TK_LPAREN) {
        if (next(ps)) return -1;
        int64_t id = parse_or(ps, false);
        if (id < 0 || expect(ps, TK_RPAREN, "')'")) return -1;
        return id;
    }
    if (ps->tk == TK_STRING || ps->tk == TK_INT || ps->tk == TK_DOUBLE || is_kw(ps, "true") ||
        is_kw(ps, "false") || is_kw(ps, "null"))
        return parse_literal(ps);
    if (ps->tk != TK_IDENT) return error_tk(ps, "expected an expression");
    if (*ps->tk_start != '`') {
        char c = peek(ps);
        if (c == '(') {
            /* A bare identifier followed by '(' is a call. */
            char name[32];
            int line = ps->tk_line, col = ps->tk_col;
            snprintf(name, sizeof name, "%s", ps->text);
            if (ps->text_len >= sizeof name) name[0] = '\0';
            if (next(ps)) return -1;
            return parse_call(ps, name, line, col);
        }
        if (c == '.' && strcmp(ps->text, "kafka") == 0) return next(ps) ? -1 : parse_kafka(ps);
    }
    int i = pipe_schema_find(ps->s, ps->text, ps->text_len);
    if (i < 0) return error_tk(ps, "unknown field '%s'", ps->text);
    static const uint8_t types[PIPE_T__COUNT] = {
        [PIPE_T_STRING] = PIPE_X_STRING, [PIPE_T_INT] = PIPE_X_INT,
        [PIPE_T_BIGINT] = PIPE_X_INT,    [PIPE_T_DOUBLE] = PIPE_X_DOUBLE,
        [PIPE_T_BOOLEAN] = PIPE_X_BOOL,  [PIPE_T_TIMESTAMP] = PIPE_X_TIMESTAMP,
        [PIPE_T_DATE] = PIPE_X_DATE,     [PIPE_T_UUID] = PIPE_X_UUID,
        [PIPE_T_LIST] = PIPE_X_STRING,   [PIPE_T_MAP] = PIPE_X_STRING};
    pipe_type ft = pipe_schema_field(ps->s, (size_t)i)->type;
    int64_t id = new_node(ps, X_FIELD, (pipe_xtype)types[ft]);
    if (id < 0) return -1;
    NODE(ps, id)->field = i;
    if (next(ps)) return -1;
    return ps->tk == TK_DOT ? parse_path(ps, id, ft) : id;
}

/* value [op value | in (value, ...)]. In a boolean context a value that is not a boolean must
 * be compared (the filter's message). */
static int64_t parse_right(parser *ps, int64_t left);
static int64_t parse_not_in(parser *ps, int64_t left);

static int64_t parse_compare(parser *ps, bool want_bool)
{
    int64_t left = parse_value(ps);
    if (left < 0) return -1;
    int lt = NODE(ps, left)->type;
    if (is_kw(ps, "not") && peek_word(ps, "in")) return parse_not_in(ps, left);
    if (ps->tk != TK_CMP && !is_kw(ps, "in")) {
        if (want_bool && lt != PIPE_X_BOOL && lt != PIPE_X_NULL && lt != PIPE_X__ANY)
            return error_tk(ps, "expected '==' or '!='");
        return left;
    }
    return parse_right(ps, left);
}

/* The operator (current token) and right side of a comparison or `in` after left. */
static int64_t parse_right(parser *ps, int64_t left)
{
    int lt = NODE(ps, left)->type;
    int is_in = ps->tk != TK_CMP;
    int op_line = ps->tk_line, op_col = ps->tk_col;
    int64_t id = new_node(ps, is_in ? X_IN : X_CMP, PIPE_X_BOOL), last = -1;
    if (id < 0) return -1;
    NODE(ps, id)->aux = (uint8_t)ps->cmp;
    adopt(ps, id, left, &last);
    if (next(ps) || (is_in && expect(ps, TK_LPAREN, "'('"))) return -1;
    for (int i = 0; i == 0 || (is_in && ps->tk == TK_COMMA); i++) {
        if (i > 0 && next(ps)) return -1;
        if (i >= X_MAXARGS) return error_tk(ps, "too many values in 'in'");
        int64_t r = parse_value(ps);
        if (r < 0) return -1;
        int rt = NODE(ps, r)->type;
        if (!comparable(lt, rt))
            return error_at(ps, op_line, op_col, "cannot compare %s with %s",
                            pipe_xtype_name((pipe_xtype)lt), pipe_xtype_name((pipe_xtype)rt));
        adopt(ps, id, r, &last);
    }
    if (is_in && expect(ps, TK_RPAREN, "')'")) return -1;
    xnode *n = NODE(ps, id), *r = NODE(ps, last);
    n->fast = !is_in && (n->aux == C_EQ || n->aux == C_NE) && stored_text(NODE(ps, left)) &&
              r->op == X_LIT && r->type == PIPE_X_STRING;
    return id;
}

/* left `not in (...)` with the current token at 'not': `not (left in (...))`. */
static int64_t parse_not_in(parser *ps, int64_t left)
{
    int64_t id = new_node(ps, X_NOT, PIPE_X_BOOL);
    if (id < 0 || next(ps)) return -1;
    int64_t in = parse_right(ps, left);
    if (in < 0) return -1;
    NODE(ps, id)->kid = (uint32_t)in;
    NODE(ps, id)->nkids = 1;
    return id;
}

static int64_t parse_unary(parser *ps, bool want_bool)
{
    if (!is_kw(ps, "not")) return parse_compare(ps, want_bool);
    if (++ps->depth > PIPE_EXPR_MAX_DEPTH) return error_tk(ps, "expression nested too deeply");
    int line = ps->tk_line, col = ps->tk_col;
    int64_t id = new_node(ps, X_NOT, PIPE_X_BOOL);
    if (id < 0 || next(ps)) return -1;
    int64_t kid = parse_unary(ps, true);
    if (kid < 0 || check_bool(ps, kid, "not", line, col)) return -1;
    NODE(ps, id)->kid = (uint32_t)kid;
    NODE(ps, id)->nkids = 1;
    ps->depth--;
    return id;
}

/* One precedence level of an n-ary operator: sub ('kw' sub)*. */
static int64_t parse_chain(parser *ps, const char *kw, xop op, bool want_bool,
                           int64_t (*sub)(parser *, bool))
{
    int64_t first = sub(ps, want_bool);
    if (first < 0 || !is_kw(ps, kw)) return first;
    if (check_bool(ps, first, kw, ps->tk_line, ps->tk_col)) return -1;
    int64_t id = new_node(ps, op, PIPE_X_BOOL), last = -1;
    if (id < 0) return -1;
    adopt(ps, id, first, &last);
    while (is_kw(ps, kw)) {
        int line = ps->tk_line, col = ps->tk_col;
        if (next(ps)) return -1;
        int64_t k = sub(ps, true);
        if (k < 0 || check_bool(ps, k, kw, line, col)) return -1;
        adopt(ps, id, k, &last);
    }
    return id;
}

static int64_t parse_and(parser *ps, bool want_bool)
{
    return parse_chain(ps, "and", X_AND, want_bool, parse_unary);
}

static int64_t parse_or(parser *ps, bool want_bool)
{
    if (++ps->depth > PIPE_EXPR_MAX_DEPTH) return error_tk(ps, "expression nested too deeply");
    int64_t id = parse_chain(ps, "or", X_OR, want_bool, parse_and);
    ps->depth--;
    return id;
}

static int compile(parser *ps)
{
    if (next(ps)) return -1;
    int64_t root;
    if (ps->tk == TK_EOF && ps->boolean) {
        if ((root = new_node(ps, X_LIT, PIPE_X_BOOL)) >= 0) NODE(ps, root)->b = true;
    } else {
        root = parse_or(ps, ps->boolean);
        if (root >= 0 && ps->tk != TK_EOF) {
            if (ps->tk == TK_RPAREN) return error_tk(ps, "unbalanced ')'");
            return error_tk(ps, "expected 'and', 'or' or the end of the expression");
        }
    }
    if (root < 0) return -1;
    ps->x->root = (uint32_t)root;
    return 0;
}

pipe_expr *pipe_expr_compile(const char *text, const pipe_schema *s, const pipe_xopts *opts,
                             char *err, size_t errlen)
{
    const char *src = text ? text : "";
    parser ps = {.p = src,
                 .line_start = src,
                 .line = 1,
                 .s = s,
                 .what = opts && opts->what ? opts->what : "expr",
                 .boolean = opts && opts->boolean,
                 .err = err,
                 .errlen = errlen};
    ps.x = calloc(1, sizeof *ps.x);
    /* Literals always have a buffer, so offsets into it never apply to a null pointer. */
    if (ps.x && (ps.x->lits = malloc(ps.x->lits_cap = 16)) == NULL) {
        free(ps.x);
        ps.x = NULL;
    }
    if (!ps.x) {
        snprintf(err, errlen, "%s: out of memory", ps.what);
        return NULL;
    }
    int rc = compile(&ps);
    free(ps.text);
    if (rc) {
        pipe_expr_free(ps.x);
        return NULL;
    }
    return ps.x;
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

/* A field or member name name[0..n-1], back-quoted when it is no plain identifier. */
static void put_name(sbuf *b, const char *name, size_t n)
{
    static const char *const kw[] = {"and", "or", "not", "true", "false", "null", "in", "kafka"};
    int plain = n > 0 && is_ident_start(name[0]);
    for (size_t i = 0; i < n && plain; i++) plain = is_ident_char(name[i]);
    for (size_t i = 0; i < sizeof kw / sizeof kw[0] && plain; i++)
        plain = strlen(kw[i]) != n || memcmp(name, kw[i], n) != 0;
    if (plain) return put(b, name, n);
    put(b, "`", 1);
    for (size_t i = 0; i < n; i++) {
        put(b, name + i, 1);
        if (name[i] == '`') put(b, "`", 1); /* doubled inside a back-quoted name */
    }
    put(b, "`", 1);
}

static void put_field(sbuf *b, const pipe_schema *s, int32_t field)
{
    const char *name = pipe_schema_field(s, (size_t)field)->name;
    put_name(b, name, strlen(name));
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

static void put_lit(sbuf *b, const pipe_expr *x, const xnode *n)
{
    char num[40];
    switch (n->type) {
    case PIPE_X_STRING: return put_literal(b, x->lits + n->lit, n->lit_len);
    case PIPE_X_NULL: return puts_(b, "null");
    case PIPE_X_BOOL: return puts_(b, n->b ? "true" : "false");
    case PIPE_X_INT: snprintf(num, sizeof num, "%lld", (long long)n->i); return puts_(b, num);
    default:
        snprintf(num, sizeof num, "%.17g", n->d);
        if (!strpbrk(num, ".e")) strcat(num, ".0");
        return puts_(b, num);
    }
}

static void print_node(const pipe_expr *x, const pipe_schema *s, uint32_t i, sbuf *b);

/* An operand of a comparison: parenthesized when it is itself one (or a not). */
static void print_operand(const pipe_expr *x, const pipe_schema *s, uint32_t i, sbuf *b)
{
    int op = x->nodes[i].op;
    int paren = op == X_CMP || op == X_IN || op == X_NOT;
    if (paren) put(b, "(", 1);
    print_node(x, s, i, b);
    if (paren) put(b, ")", 1);
}

static void print_node(const pipe_expr *x, const pipe_schema *s, uint32_t i, sbuf *b)
{
    const xnode *n = &x->nodes[i];
    switch (n->op) {
    case X_LIT: return put_lit(b, x, n);
    case X_FIELD: return put_field(b, s, n->field);
    case X_PATH: {
        put_field(b, s, n->field);
        const char *m = x->lits + n->lit, *end = m + n->lit_len;
        for (int64_t k = 0; k < n->i; k++) {
            size_t ml = k + 1 < n->i ? strlen(m) : (size_t)(end - m);
            put(b, ".", 1);
            put_name(b, m, ml);
            m += ml + 1;
        }
        return;
    }
    case X_KAFKA:
        puts_(b, "kafka.");
        puts_(b, kafka_names[n->aux]);
        if (n->aux != K_HEADER) return;
        put(b, "(", 1);
        put_literal(b, x->lits + n->lit, n->lit_len);
        return put(b, ")", 1);
    case X_NOT: puts_(b, "not "); return print_node(x, s, n->kid, b);
    case X_AND:
    case X_OR:
        put(b, "(", 1);
        for (uint32_t k = n->kid; k != X_NONE; k = x->nodes[k].next) {
            if (k != n->kid) puts_(b, n->op == X_AND ? " and " : " or ");
            print_node(x, s, k, b);
        }
        return put(b, ")", 1);
    case X_CMP:
        print_operand(x, s, n->kid, b);
        put(b, " ", 1);
        puts_(b, cmp_names[n->aux]);
        put(b, " ", 1);
        return print_operand(x, s, x->nodes[n->kid].next, b);
    case X_IN:
        print_operand(x, s, n->kid, b);
        puts_(b, " in (");
        for (uint32_t k = x->nodes[n->kid].next; k != X_NONE; k = x->nodes[k].next) {
            if (k != x->nodes[n->kid].next) puts_(b, ", ");
            print_operand(x, s, k, b);
        }
        return put(b, ")", 1);
    default:
        puts_(b, expr_fns[n->aux].name);
        put(b, "(", 1);
        for (uint32_t k = n->kid; k != X_NONE; k = x->nodes[k].next) {
            if (k != n->kid) puts_(b, ", ");
            print_node(x, s, k, b);
        }
        put(b, ")", 1);
    }
}

size_t pipe_expr_print(const pipe_expr *x, const pipe_schema *s, char *buf, size_t buflen)
{
    sbuf b = {buf, buflen, 0};
    print_node(x, s, x->root, &b);
    if (buflen) buf[b.len < buflen ? b.len : buflen - 1] = '\0';
    return b.len;
}
