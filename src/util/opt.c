/* Command-line options driven by a per-command table (see opt.h). */
#include "util/opt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int opt_parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

int opt_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0) return *out = false, 0;
    }
    return -1;
}

/* Parses a non-negative finite number followed by a unit from the table; returns the number
 * times the unit's factor. */
static int parse_scaled(const char *s, const char *const *units, const double *factors,
                        size_t nunits, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0) return -1;
    while (*end == ' ') end++;
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(end, units[i]) == 0) {
            *out = v * factors[i];
            return 0;
        }
    }
    return -1;
}

int opt_parse_duration(const char *s, double *seconds)
{
    static const char *const u[] = {"", "s", "ms", "us", "m", "min", "h"};
    static const double f[] = {1, 1, 1e-3, 1e-6, 60, 60, 3600};
    return parse_scaled(s, u, f, sizeof f / sizeof f[0], seconds);
}

int opt_parse_rate(const char *s, double *per_second)
{
    static const char *const u[] = {"", "/s", "/m", "/min", "/h"};
    static const double f[] = {1, 1, 1.0 / 60, 1.0 / 60, 1.0 / 3600};
    return parse_scaled(s, u, f, sizeof f / sizeof f[0], per_second);
}

int opt_parse_size(const char *s, long long *bytes)
{
    static const char *const u[] = {"",  "b",   "B",  "k", "K", "KiB", "kB", "m",
                                    "M", "MiB", "MB", "g", "G", "GiB", "GB"};
    static const double f[] = {1,       1,          1,          1024,       1024,
                               1024,    1024,       1048576,    1048576,    1048576,
                               1048576, 1073741824, 1073741824, 1073741824, 1073741824};
    double v;
    if (parse_scaled(s, u, f, sizeof f / sizeof f[0], &v) || v > 9.0e18) return -1;
    *bytes = (long long)v;
    return 0;
}

void opt_env_name(const char *name, char *out, size_t outlen)
{
    size_t o = (size_t)snprintf(out, outlen, "RTETL_");
    for (const char *p = name; *p && o + 1 < outlen; p++)
        out[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[o < outlen ? o : outlen - 1] = '\0';
}

static int list_append(opt_list *l, const char *v)
{
    const char **items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items) return -1;
    l->items = items;
    l->items[l->n++] = v;
    return 0;
}

/* Stores text value v into the field of spec s; `from` names the source for error messages. */
static int store(const opt_spec *s, void *cfg, const char *v, const char *from, char *err,
                 size_t errlen)
{
    char *field = (char *)cfg + s->offset;
    int rc = 0;
    long long ll;
    switch (s->type) {
    case OPT_STR: *(const char **)field = v; break;
    case OPT_INT:
    case OPT_SIZE:
        rc = s->type == OPT_INT ? opt_parse_int(v, &ll) : opt_parse_size(v, &ll);
        if (rc == 0 && s->min < s->max && (ll < s->min || ll > s->max)) {
            snprintf(err, errlen, "%s: value '%s' out of range [%lld, %lld]", from, v, s->min,
                     s->max);
            return -1;
        }
        if (rc == 0) *(long long *)field = ll;
        break;
    case OPT_DOUBLE: {
        char *end;
        double d = strtod(v, &end);
        rc = (end == v || *end || !isfinite(d)) ? -1 : 0;
        if (rc == 0) *(double *)field = d;
        break;
    }
    case OPT_BOOL: rc = opt_parse_bool(v, (bool *)field); break;
    case OPT_DURATION: rc = opt_parse_duration(v, (double *)field); break;
    case OPT_RATE: rc = opt_parse_rate(v, (double *)field); break;
    case OPT_LIST: rc = list_append((opt_list *)field, v); break;
    }
    if (rc) {
        static const char *what[] = {"a string",
                                     "an integer",
                                     "a number",
                                     "true or false",
                                     "a duration like 60s or 500ms",
                                     "a rate like 1000/s",
                                     "a size like 64k or 2MiB",
                                     "a value"};
        snprintf(err, errlen, "%s: invalid value '%s' (expected %s)", from, v, what[s->type]);
    }
    return rc;
}

static const opt_spec *find_long(const opt_spec *specs, size_t n, const char *name, size_t len,
                                 size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
            return *idx = i, &specs[i];
    return NULL;
}

static const opt_spec *find_short(const opt_spec *specs, size_t n, char c, size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        if (specs[i].short_name == c) return *idx = i, &specs[i];
    return NULL;
}

/* Gives an option without a default its zero value (NULL, 0, false, empty list). */
static void clear_field(const opt_spec *s, void *cfg)
{
    static const size_t sizes[] = {sizeof(const char *), sizeof(long long), sizeof(double),
                                   sizeof(bool),         sizeof(double),    sizeof(double),
                                   sizeof(long long),    sizeof(opt_list)};
    memset((char *)cfg + s->offset, 0, sizes[s->type]);
}

static int apply_defaults_and_env(const opt_spec *specs, size_t n, void *cfg, opt_result *res,
                                  char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const opt_spec *s = &specs[i];
        if (!s->def || s->type == OPT_LIST) {
            clear_field(s, cfg);
        } else if (store(s, cfg, s->def, s->name, err, errlen)) {
            return -1;
        }
        if (s->flags & OPT_NO_ENV) continue;
        char env[128];
        opt_env_name(s->name, env, sizeof env);
        const char *v = getenv(env);
        if (!v || !*v) continue;
        /* Repeatable options (-X key=value pass-through) have no environment form. */
        if (s->type == OPT_LIST) continue;
        char from[160];
        snprintf(from, sizeof from, "environment variable %s", env);
        if (store(s, cfg, v, from, err, errlen)) return -1;
        res->set |= 1ull << i;
    }
    return 0;
}

int opt_parse(const opt_spec *specs, size_t n, int argc, char **argv, void *cfg, opt_result *res,
              char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (n > OPT_MAX_SPECS) {
        snprintf(err, errlen, "internal: too many options");
        return OPT_ERR;
    }
    res->pos = calloc((size_t)argc + 1, sizeof *res->pos);
    if (!res->pos) return snprintf(err, errlen, "out of memory"), OPT_ERR;
    if (apply_defaults_and_env(specs, n, cfg, res, err, errlen)) return OPT_ERR;

    bool only_pos = false;
    for (int a = 1; a < argc; a++) {
        char *arg = argv[a];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            res->pos[res->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return OPT_HELP;
        const opt_spec *s;
        size_t idx;
        const char *val = NULL;
        char from[160];
        if (arg[1] == '-') {
            const char *name = arg + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            s = find_long(specs, n, name, len, &idx);
            if (!s && !eq && strncmp(name, "no-", 3) == 0) {
                s = find_long(specs, n, name + 3, len - 3, &idx);
                if (s && s->type == OPT_BOOL) {
                    *(bool *)((char *)cfg + s->offset) = false;
                    res->set |= 1ull << idx;
                    continue;
                }
                s = NULL;
            }
            if (!s) {
                snprintf(err, errlen, "unknown option '--%.*s'", (int)len, name);
                return OPT_ERR;
            }
            snprintf(from, sizeof from, "option --%s", s->name);
            if (eq) val = eq + 1;
        } else {
            s = find_short(specs, n, arg[1], &idx);
            if (!s) {
                snprintf(err, errlen, "unknown option '-%c'", arg[1]);
                return OPT_ERR;
            }
            snprintf(from, sizeof from, "option -%c", arg[1]);
            if (arg[2]) val = arg + 2;
        }
        if (!val && s->type == OPT_BOOL) {
            val = "true";
        } else if (!val) {
            if (a + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value", from);
                return OPT_ERR;
            }
            val = argv[++a];
        }
        if (store(s, cfg, val, from, err, errlen)) return OPT_ERR;
        res->set |= 1ull << idx;
    }
    return OPT_OK;
}

void opt_result_free(opt_result *res)
{
    free(res->pos);
    res->pos = NULL;
    res->npos = 0;
}

void opt_free(const opt_spec *specs, size_t n, void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        if (specs[i].type != OPT_LIST) continue;
        opt_list *l = (opt_list *)((char *)cfg + specs[i].offset);
        free(l->items);
        l->items = NULL;
        l->n = 0;
    }
}

bool opt_is_set(const opt_spec *specs, size_t n, const opt_result *res, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(specs[i].name, name) == 0) return (res->set >> i) & 1;
    return false;
}

void opt_print_help(FILE *out, const char *usage, const char *summary, const opt_spec *specs,
                    size_t n, const char *extra)
{
    fprintf(out, "Usage: %s\n\n%s\n\nOptions:\n", usage, summary);
    for (size_t i = 0; i < n; i++) {
        const opt_spec *s = &specs[i];
        char left[96], env[128];
        int k = s->short_name ? snprintf(left, sizeof left, "  -%c, --%s", s->short_name, s->name)
                              : snprintf(left, sizeof left, "      --%s", s->name);
        if (s->type != OPT_BOOL && k > 0 && (size_t)k < sizeof left)
            snprintf(left + k, sizeof left - (size_t)k, " %s", s->metavar ? s->metavar : "VALUE");
        fprintf(out, "%-34s %s", left, s->help);
        if (s->def && !(s->flags & OPT_SECRET)) fprintf(out, " [default: %s]", s->def);
        if (!(s->flags & OPT_NO_ENV) && s->type != OPT_LIST) {
            opt_env_name(s->name, env, sizeof env);
            fprintf(out, " (env %s)", env);
        }
        fputc('\n', out);
    }
    fprintf(out, "%-34s %s\n", "  -h, --help", "Show this help and exit");
    if (extra) fprintf(out, "\n%s", extra);
}
