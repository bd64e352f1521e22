/* Filter expressions: the expression compiler (expr.c) in boolean mode, with the filter's
 * error prefix, and a verdict from the three-valued result. */
#include "pipeline/filter.h"

#include <stdio.h>
#include <stdlib.h>

struct pipe_filter {
    pipe_expr *x;
};

pipe_filter *pipe_filter_compile(const char *expr, const pipe_schema *s, char *err, size_t errlen)
{
    pipe_xopts o = {.what = "filter", .boolean = true};
    pipe_filter *f = malloc(sizeof *f);
    if (!f) {
        snprintf(err, errlen, "filter: out of memory");
        return NULL;
    }
    if (!(f->x = pipe_expr_compile(expr, s, &o, err, errlen))) {
        free(f);
        return NULL;
    }
    return f;
}

void pipe_filter_free(pipe_filter *f)
{
    if (!f) return;
    pipe_expr_free(f->x);
    free(f);
}

bool pipe_filter_eval_ctx(const pipe_filter *f, const pipe_xctx *ctx)
{
    pipe_xval v;
    /* An error is unknown: the record is not kept. */
    return pipe_expr_eval(f->x, ctx, &v) == 0 && v.type == PIPE_X_BOOL && v.b;
}

bool pipe_filter_eval(const pipe_filter *f, const pipe_record *r)
{
    pipe_xctx ctx = {.rec = r};
    return pipe_filter_eval_ctx(f, &ctx);
}

bool pipe_filter_is_trivial(const pipe_filter *f)
{
    return pipe_expr_is_true(f->x);
}

size_t pipe_filter_print(const pipe_filter *f, const pipe_schema *s, char *buf, size_t buflen)
{
    return pipe_expr_print(f->x, s, buf, buflen);
}
