/* librdkafka configuration from rtetl settings: bootstrap servers, the caller's defaults and the
 * user's pass-through properties (-X key=value, as kcat does). Shared by every Kafka client in
 * rtetl (ingest producer, stream consumer, dead-letter producer). */
#ifndef RTETL_KAFKA_CONF_H
#define RTETL_KAFKA_CONF_H

#include "util/opt.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Builds a configuration. Applied in order, later wins: bootstrap.servers = brokers (when not
 * NULL), then `defaults` (a NULL-terminated array of "key=value", may be NULL), then `props`
 * (may be NULL). Returns a new conf (the caller owns it; rd_kafka_new takes it over), or NULL
 * with one line in err naming the offending property and librdkafka's reason, e.g.
 *   -X foo.bar=1: No such configuration property: "foo.bar"
 * The value is not echoed in errors, so secrets (sasl.password) stay out of logs. */
rd_kafka_conf_t *kafka_conf_new(const char *brokers, const char *const *defaults,
                                const opt_list *props, char *err, size_t errlen);

/* Applies one "key=value" entry; origin names where it came from in errors ("-X", "default").
 * Returns 0, or -1 with err filled (no '=', empty key, or rejected by librdkafka). */
int kafka_conf_set_kv(rd_kafka_conf_t *conf, const char *kv, const char *origin, char *err,
                      size_t errlen);

/* The first entry of props (may be NULL) whose key is `key`, e.g. "acks" matches "acks=1";
 * NULL when none. The result is borrowed from props. */
const char *kafka_conf_find(const opt_list *props, const char *key);

/* Parses the text of a properties file (kcat's -F format) in place: one key=value per line,
 * whitespace around key and value trimmed, blank lines and lines starting with '#' or '!'
 * ignored, CRLF accepted. Appends each entry ("key=value", borrowed from text) to out. Returns
 * 0, or -1 with err = "PATH:LINE: expected key=value" (the line itself is never shown: it may
 * hold a secret). */
int kafka_conf_parse_props(char *text, const char *path, opt_list *out, char *err, size_t errlen);

/* Loads the properties file `path` (--kafka-config) and puts its entries before those already
 * in *props (-X on the command line), so -X wins. Each entry is checked against librdkafka, so
 * an unknown property is reported as PATH:LINE. *storage receives the file's text, which the
 * entries borrow: release it with kafka_conf_file_free after the last use of *props (the
 * secrets in it are wiped; safe on a zeroed or already freed storage). Returns 0, or -1 with one
 * line in err. path NULL: nothing. */
typedef struct kafka_conf_text {
    char *text;
    size_t len;
} kafka_conf_text;
int kafka_conf_load_file(const char *path, opt_list *props, kafka_conf_text *storage, char *err,
                         size_t errlen);
void kafka_conf_file_free(kafka_conf_text *storage);

/* Routes librdkafka's log lines into rtetl's logfmt log (comp=kafka, client=<client name>).
 * Call before rd_kafka_new. */
void kafka_conf_route_logs(rd_kafka_conf_t *conf);

#endif
