/* Command-line options: one table per command drives parsing, env fallbacks and --help, so the
 * help text cannot drift from what is parsed (DESIGN.md "Config").
 *
 * Conventions: long options as --name=value or --name value; short options as -X value or
 * -Xvalue; booleans as --name, --name=true|false, --no-name; "--" ends options. Each option
 * falls back to the environment variable RTETL_<NAME> (upper case, '-' -> '_') unless it has
 * OPT_NO_ENV; precedence is command line > environment > default. */
#ifndef RTETL_UTIL_OPT_H
#define RTETL_UTIL_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    OPT_STR,      /* const char *: borrowed from argv, environ or the default; never freed */
    OPT_INT,      /* long long, checked against min/max when min < max */
    OPT_DOUBLE,   /* double */
    OPT_BOOL,     /* bool */
    OPT_DURATION, /* double seconds: "60s", "500ms", "2m", "1h", "1.5" (seconds) */
    OPT_RATE,     /* double per second: "1000", "1000/s", "600/m" */
    OPT_SIZE,     /* long long bytes: "512", "64k", "2MiB", "1G" */
    OPT_LIST,     /* opt_list: repeatable, every occurrence appended; command line only */
} opt_type;

enum { OPT_NO_ENV = 1, OPT_SECRET = 2 };

/* A repeatable option's values; items borrow from argv/environ. Freed by opt_free. */
typedef struct opt_list {
    const char **items;
    size_t n;
} opt_list;

typedef struct opt_spec {
    const char *name; /* long name without dashes */
    char short_name;  /* 0 when none */
    opt_type type;
    size_t offset;       /* offsetof(the command's config struct, field) */
    const char *def;     /* default as text, NULL for none */
    const char *metavar; /* shown in help, e.g. "HOST:PORT" */
    const char *help;
    int flags;
    long long min, max; /* bounds for OPT_INT/OPT_SIZE when min < max */
} opt_spec;

#define OPT_MAX_SPECS 64

typedef struct opt_result {
    uint64_t set; /* bit i set when specs[i] came from the command line or environment */
    int npos;     /* positional arguments */
    char **pos;   /* owned by the result; freed by opt_result_free */
} opt_result;

enum { OPT_OK = 0, OPT_HELP = 1, OPT_ERR = -1 };

/* Parses argv[1..argc-1] (argv[0] is the command name) into cfg. Defaults are applied first.
 * On OPT_ERR, err holds one line naming the option and the problem. */
int opt_parse(const opt_spec *specs, size_t n, int argc, char **argv, void *cfg, opt_result *res,
              char *err, size_t errlen);
void opt_result_free(opt_result *res);
/* Frees what parsing allocated inside cfg (OPT_LIST arrays). */
void opt_free(const opt_spec *specs, size_t n, void *cfg);
/* True when option `name` was given on the command line or in the environment. */
bool opt_is_set(const opt_spec *specs, size_t n, const opt_result *res, const char *name);

/* Prints "Usage: ...", the summary, the option table, and `extra` (may be NULL). */
void opt_print_help(FILE *out, const char *usage, const char *summary, const opt_spec *specs,
                    size_t n, const char *extra);

/* Value parsers, shared with config files. Each returns 0 on success, -1 on bad input. */
int opt_parse_duration(const char *s, double *seconds);
int opt_parse_rate(const char *s, double *per_second);
int opt_parse_size(const char *s, long long *bytes);
int opt_parse_bool(const char *s, bool *out);
int opt_parse_int(const char *s, long long *out);

/* Writes RTETL_<NAME> for an option name into out. */
void opt_env_name(const char *name, char *out, size_t outlen);

#endif
