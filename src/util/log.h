/* Logging: leveled logfmt lines on stderr, one line per event, safe to parse with any logfmt
 * reader. Example:
 *   ts=2026-11-23T23:10:00.123Z level=info comp=stream msg="partition assigned" partition=2
 *
 * Usage: log_info("stream", "partition assigned", "partition=%d", p). The third argument is an
 * optional printf format for key=value pairs appended after msg; values with spaces must be
 * quoted by the caller (log_quote helps). Logging is not on the per-record hot path. */
#ifndef RTETL_UTIL_LOG_H
#define RTETL_UTIL_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE } log_level;

/* Sets the global threshold; messages above it are discarded. Default LOG_INFO, or the value of
 * RTETL_LOG_LEVEL when log_init_from_env() is called. */
void log_set_level(log_level level);
log_level log_get_level(void);
/* Parses "error|warn|info|debug|trace"; returns -1 for an unknown name. */
int log_level_parse(const char *name);
const char *log_level_name(log_level level);
/* Reads RTETL_LOG_LEVEL; an invalid value is ignored with a warning. */
void log_init_from_env(void);

/* Writes one line. comp and msg are plain strings; kv_fmt is a printf format (may be ""). */
void log_write(log_level level, const char *comp, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_vwrite(log_level level, const char *comp, const char *msg, const char *kv_fmt, va_list ap);

/* Formats s as a logfmt value into out (quoted and escaped when needed); returns out. */
const char *log_quote(char *out, size_t outlen, const char *s);

#define log_enabled(lvl)          ((lvl) <= log_get_level())
#define log_error(comp, msg, ...) log_write(LOG_ERROR, comp, msg, "" __VA_ARGS__)
#define log_warn(comp, msg, ...)  log_write(LOG_WARN, comp, msg, "" __VA_ARGS__)
#define log_info(comp, msg, ...)  log_write(LOG_INFO, comp, msg, "" __VA_ARGS__)
#define log_debug(comp, msg, ...)                                                    \
    do {                                                                             \
        if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, comp, msg, "" __VA_ARGS__); \
    } while (0)
#define log_trace(comp, msg, ...)                                                    \
    do {                                                                             \
        if (log_enabled(LOG_TRACE)) log_write(LOG_TRACE, comp, msg, "" __VA_ARGS__); \
    } while (0)

#endif
