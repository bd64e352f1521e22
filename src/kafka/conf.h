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

/* Routes librdkafka's log lines into rtetl's logfmt log (comp=kafka, client=<client name>).
 * Call before rd_kafka_new. */
void kafka_conf_route_logs(rd_kafka_conf_t *conf);

#endif
