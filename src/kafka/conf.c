/* librdkafka configuration helpers (see conf.h). */
#include "kafka/conf.h"

#include "util/log.h"

#include <stdio.h>
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
    if (!log_enabled(l)) return;
    char q[1024];
    log_write(l, "kafka", "librdkafka", "client=%s facility=%s detail=%s", rd_kafka_name(rk), fac,
              log_quote(q, sizeof q, buf));
}

void kafka_conf_route_logs(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_log_cb(conf, on_log);
}
