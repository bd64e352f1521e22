/* Kafka security failures (SASL authentication, TLS verification, missing ACLs) as one clear
 * line each, for every rtetl Kafka client: librdkafka retries a failed SASL handshake for ever
 * and reports it only as an error event, so without this a wrong password is a hang. */
#ifndef RTETL_KAFKA_SECURITY_H
#define RTETL_KAFKA_SECURITY_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* True when err (with librdkafka's reason, may be NULL) is an authentication, TLS verification
 * or authorization failure: permanent until the configuration or the ACLs change, so the
 * command should stop. Then out holds one line naming the cause and what to check, e.g.
 *   kafka: SASL authentication failed: <librdkafka's reason> (check sasl.username and
 *   sasl.password)
 * librdkafka's reasons carry no secrets. `what` (may be NULL) names the object, e.g. a topic. */
bool kafka_security_error(rd_kafka_resp_err_t err, const char *reason, const char *what, char *out,
                          size_t outlen);

/* True when librdkafka log line `buf` only repeats a failure that also comes as an error event
 * (so it is logged at debug, and the user sees the single line above). */
bool kafka_security_log_duplicate(const char *buf);

/* True when topic exists and this client may describe it (a metadata request, bounded by
 * timeout_ms). Used when creating a topic is not authorized: an existing topic is fine. */
bool kafka_topic_visible(rd_kafka_t *rk, const char *topic, int timeout_ms);
/* The same check, also requiring at least `partitions` partitions, each with a leader (0: only
 * visible). One metadata request, bounded by timeout_ms. */
bool kafka_topic_ready(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms);
/* Polls kafka_topic_ready every 50 ms until it holds or about timeout_ms passed; false then. For
 * a topic just created: records produced before every partition had a leader went missing
 * although reported delivered (measured: 2-6 of ~1,300 records in 3 of 6 runs produced at once
 * after the creation, none in 6 runs on an existing topic). */
bool kafka_topic_wait_ready(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms);

#endif
