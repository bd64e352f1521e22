/* Shared command glue: option parsing with help and one-line errors (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_parse(const char *cmd, const char *usage, const char *summary, const char *extra,
              const opt_spec *specs, size_t n, int argc, char **argv, void *cfg, opt_result *res,
              int *exit_code)
{
    char err[512];
    int rc = opt_parse(specs, n, argc, argv, cfg, res, err, sizeof err);
    if (rc == OPT_OK) return 0;
    if (rc == OPT_HELP) {
        opt_print_help(stdout, usage, summary, specs, n, extra);
        *exit_code = RT_EXIT_OK;
    } else {
        *exit_code = cli_usage_error(cmd, "%s", err);
    }
    opt_result_free(res);
    opt_free(specs, n, cfg);
    return -1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rtetl %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'rtetl %s --help')\n", cmd);
    va_end(ap);
    return RT_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rtetl %s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return RT_EXIT_FAILURE;
}

int cli_password(const char *password, const char *file, char *buf, size_t buflen, const char **out,
                 char *err, size_t errlen)
{
    *out = password;
    if (!file || !*file) return 0;
    if (password) return snprintf(err, errlen, "give --password or --password-file, not both"), -1;
    FILE *f = fopen(file, "r");
    if (!f)
        return snprintf(err, errlen, "cannot read --password-file %s: %s", file, strerror(errno)),
               -1;
    size_t n = fread(buf, 1, buflen, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) return snprintf(err, errlen, "cannot read --password-file %s", file), -1;
    size_t line = 0;
    while (line < n && buf[line] != '\n' && buf[line] != '\r') line++;
    if (line == n && n == buflen) {
        memset(buf, 0, buflen);
        return snprintf(err, errlen, "--password-file %s: longer than %zu bytes", file, buflen - 1),
               -1;
    }
    buf[line] = '\0';
    if (line == 0) return snprintf(err, errlen, "--password-file %s: empty first line", file), -1;
    *out = buf;
    return 0;
}

int cli_kafka_config(const char *cmd, const char *file, opt_list *props, kafka_conf_text *storage)
{
    char err[1024];
    if (kafka_conf_load_file(file, props, storage, err, sizeof err) == 0) return 0;
    return cli_usage_error(cmd, "%s", err);
}
