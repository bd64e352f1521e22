/* librdkafka configuration helpers (see conf.h). */
#include "kafka/conf.h"

#include "kafka/security.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kafka_conf_set_kv(rd_kafka_conf_t *conf, const char *kv, const char *origin, char *err,
                      size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(err, errlen, "%s '%s': expected key=value", origin, kv);
        return -1;
    }
    char key[256], why[512];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof key) {
        snprintf(err, errlen, "%s: property name too long", origin);
        return -1;
    }
    memcpy(key, kv, klen);
    key[klen] = '\0';
    if (rd_kafka_conf_set(conf, key, eq + 1, why, sizeof why) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "%s %s: %s", origin, key, why);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *kafka_conf_new(const char *brokers, const char *const *defaults,
                                const opt_list *props, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[512];
    if (brokers && rd_kafka_conf_set(conf, "bootstrap.servers", brokers, why, sizeof why) !=
                       RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "brokers: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (size_t i = 0; defaults && defaults[i]; i++) {
        if (kafka_conf_set_kv(conf, defaults[i], "default", err, errlen)) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    for (size_t i = 0; props && i < props->n; i++) {
        if (kafka_conf_set_kv(conf, props->items[i], "-X", err, errlen)) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

const char *kafka_conf_find(const opt_list *props, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; props && i < props->n; i++)
        if (strncmp(props->items[i], key, n) == 0 && props->items[i][n] == '=')
            return props->items[i];
    return NULL;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    log_level l = level <= 3   ? LOG_ERROR
                  : level == 4 ? LOG_WARN
                  : level <= 6 ? LOG_INFO
                               : LOG_DEBUG;
    /* Repeats an error event that rtetl turns into the command's one error line. */
    if (kafka_security_log_duplicate(buf)) l = LOG_DEBUG;
    if (!log_enabled(l)) return;
    char q[1024];
    log_write(l, "kafka", "librdkafka", "client=%s facility=%s detail=%s", rd_kafka_name(rk), fac,
              log_quote(q, sizeof q, buf));
}

void kafka_conf_route_logs(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_log_cb(conf, on_log);
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
    *end = '\0';
    return s;
}

/* Parses text in place (see kafka_conf_parse_props); with `check`, each entry is also set there,
 * so librdkafka's objection is reported with the entry's PATH:LINE. */
static int parse(char *text, const char *path, rd_kafka_conf_t *check, opt_list *out, char *err,
                 size_t errlen)
{
    unsigned line = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        char *s = trim(p, end);
        line++;
        p = nl ? nl + 1 : NULL;
        if (!*s || *s == '#' || *s == '!') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected key=value", path, line);
            return -1;
        }
        char *val = trim(eq + 1, eq + 1 + strlen(eq + 1)), *key = trim(s, eq);
        size_t klen = strlen(key);
        if (klen == 0) {
            snprintf(err, errlen, "%s:%u: expected key=value (empty key)", path, line);
            return -1;
        }
        /* Rebuild "key=value" at s without the whitespace around '='. */
        memmove(s, key, klen);
        s[klen] = '=';
        memmove(s + klen + 1, val, strlen(val) + 1);
        char origin[512];
        snprintf(origin, sizeof origin, "%s:%u:", path, line);
        if (check && kafka_conf_set_kv(check, s, origin, err, errlen)) return -1;
        const char **items = realloc(out->items, (out->n + 1) * sizeof *items);
        if (!items) {
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
        out->items = items;
        out->items[out->n++] = s;
    }
    return 0;
}

int kafka_conf_parse_props(char *text, const char *path, opt_list *out, char *err, size_t errlen)
{
    return parse(text, path, NULL, out, err, errlen);
}

/* Reads a whole file into a NUL-terminated buffer; NULL with err on failure. */
static char *read_text(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read --kafka-config %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *b = cap > (1u << 20) ? NULL : realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "cannot read --kafka-config %s: %s", path,
                 bad ? "read error" : "too large (over 1 MiB)");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int kafka_conf_load_file(const char *path, opt_list *props, kafka_conf_text *storage, char *err,
                         size_t errlen)
{
    storage->text = NULL;
    storage->len = 0;
    if (!path) return 0;
    char *text = read_text(path, &storage->len, err, errlen);
    if (!text) return -1;
    storage->text = text;
    opt_list file = {NULL, 0};
    rd_kafka_conf_t *probe = rd_kafka_conf_new();
    int rc = parse(text, path, probe, &file, err, errlen);
    rd_kafka_conf_destroy(probe);
    const char **items = rc ? NULL : realloc(file.items, (file.n + props->n + 1) * sizeof *items);
    if (!items) {
        if (rc == 0) snprintf(err, errlen, "%s: out of memory", path);
        free(file.items);
        kafka_conf_file_free(storage);
        return -1;
    }
    for (size_t i = 0; i < props->n; i++) items[file.n + i] = props->items[i];
    free(props->items);
    props->items = items;
    props->n += file.n;
    return 0;
}

void kafka_conf_file_free(kafka_conf_text *storage)
{
    if (!storage->text) return;
    volatile char *p = storage->text;
    for (size_t i = 0; i < storage->len; i++) p[i] = '\0';
    free(storage->text);
    storage->text = NULL;
    storage->len = 0;
}
