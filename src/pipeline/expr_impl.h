/* The compiled form of an expression, shared by expr.c (compiling, printing) and expr_eval.c
 * (evaluation). Not a public interface. */
#ifndef RTETL_PIPELINE_EXPR_IMPL_H
#define RTETL_PIPELINE_EXPR_IMPL_H

#include <regex.h>
#include <stdint.h>

#include "pipeline/expr.h"

typedef enum {
    X_LIT,   /* a literal: type, and b/i/d or the text lit/lit_len */
    X_FIELD, /* field */
    X_KAFKA, /* aux: xkafka; header name in lit/lit_len */
    X_AND,
    X_OR,
    X_NOT,
    X_CMP,  /* aux: xcmp; two children */
    X_IN,   /* the first child is the value, the others the list */
    X_CALL, /* aux: xfn; children are the arguments */
    X_PATH, /* field.a.b: field; i names, NUL-separated, in lit/lit_len */
} xop;

typedef enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE } xcmp;

typedef enum { K_TOPIC, K_PARTITION, K_OFFSET, K_TIMESTAMP, K_KEY, K_HEADER } xkafka;

typedef enum {
    FN_LOWER,
    FN_UPPER,
    FN_TRIM,
    FN_CONCAT,
    FN_SUBSTR,
    FN_COALESCE,
    FN_TO_TIMESTAMP,
    FN_TO_DATE,
    FN_TO_UUID,
    FN_NOW,
    FN_UUID_V5,
    FN_MATCHES,
    FN_CONTAINS,
    FN_STARTS,
    FN_ENDS,
    FN_NOT_EMPTY,
    FN_IS_NULL,
    FN_PRESENT,
    FN__COUNT
} xfn;

#define X_NONE    UINT32_MAX
#define X_MAXARGS 32

typedef struct xnode {
    uint8_t op;            /* xop */
    uint8_t type;          /* static pipe_xtype of the result */
    uint8_t aux;           /* xcmp, xkafka or xfn */
    uint8_t fast;          /* a test of a field's text against a literal (expr_eval.c fast_test) */
    uint32_t nkids;        /* children */
    int32_t field;         /* X_FIELD: schema index; X_CALL matches: regex index */
    uint32_t kid, next;    /* first child, next sibling; X_NONE when absent */
    uint32_t lit, lit_len; /* text in the literal buffer */
    int64_t i;
    double d;
    bool b;
} xnode;

struct pipe_expr {
    xnode *nodes;
    uint32_t n, cap, root;
    char *lits;
    size_t lits_len, lits_cap;
    regex_t *re;
    size_t nre;
};

/* The function table (expr.c): name, arity, whether argument 2 must be a string literal. */
typedef struct xfn_spec {
    const char *name;
    uint8_t min, max;
    uint8_t lit2;
} xfn_spec;
extern const xfn_spec expr_fns[FN__COUNT];

/* RFC 4122 version-5 UUID text (36 bytes, lower case) of name pieces in namespace ns (16
 * bytes); expr_eval.c. */
typedef struct xsha1 {
    uint32_t h[5];
    uint64_t len;
    uint8_t buf[64];
} xsha1;
void expr_sha1_init(xsha1 *s);
void expr_sha1_update(xsha1 *s, const void *p, size_t n);
void expr_sha1_final(xsha1 *s, uint8_t out[20]);
/* Parses a namespace: 36-character UUID text or dns/url/oid/x500; 0 or -1. */
int expr_uuid_namespace(const char *s, size_t n, uint8_t out[16]);

#endif
