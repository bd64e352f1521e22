/* Logging: logfmt lines on stderr (see log.h). */
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static log_level current_level = LOG_INFO;
static const char *level_names[] = {"error", "warn", "info", "debug", "trace"};

void log_set_level(log_level level)
{
    current_level = level;
}

log_level log_get_level(void)
{
    return current_level;
}

const char *log_level_name(log_level level)
{
    return (unsigned)level <= LOG_TRACE ? level_names[level] : "?";
}

int log_level_parse(const char *name)
{
    for (int i = 0; i <= LOG_TRACE; i++)
        if (strcasecmp(name, level_names[i]) == 0) return i;
    if (strcasecmp(name, "warning") == 0) return LOG_WARN;
    return -1;
}

void log_init_from_env(void)
{
    const char *v = getenv("RTETL_LOG_LEVEL");
    if (!v || !*v) return;
    int l = log_level_parse(v);
    if (l < 0)
        log_warn("log", "ignoring invalid RTETL_LOG_LEVEL", "value=%s", v);
    else
        current_level = (log_level)l;
}

const char *log_quote(char *out, size_t outlen, const char *s)
{
    if (outlen == 0) return out;
    int needs = (*s == '\0');
    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
            needs = 1;
    if (!needs) {
        snprintf(out, outlen, "%s", s);
        return out;
    }
    size_t o = 0;
    out[o++] = '"';
    for (const char *p = s; *p && o + 4 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20) {
            out[o++] = '?';
        } else {
            out[o++] = (char)c;
        }
    }
    if (o < outlen - 1) out[o++] = '"';
    out[o < outlen ? o : outlen - 1] = '\0';
    return out;
}

void log_vwrite(log_level level, const char *comp, const char *msg, const char *kv_fmt, va_list ap)
{
    if (level > current_level) return;
    char line[4096], qmsg[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(
        line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s comp=%s msg=%s",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        (int)(tv.tv_usec / 1000), level_names[level], comp, log_quote(qmsg, sizeof qmsg, msg));
    if (n < 0) return;
    if ((size_t)n < sizeof line - 2 && kv_fmt && *kv_fmt) {
        line[n++] = ' ';
        int m = vsnprintf(line + n, sizeof line - (size_t)n, kv_fmt, ap);
        if (m > 0) n += m;
    }
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write per line keeps lines whole when several processes share stderr. */
    fwrite(line, 1, (size_t)n, stderr);
    fflush(stderr);
}

void log_write(log_level level, const char *comp, const char *msg, const char *kv_fmt, ...)
{
    va_list ap;
    va_start(ap, kv_fmt);
    log_vwrite(level, comp, msg, kv_fmt, ap);
    va_end(ap);
}
