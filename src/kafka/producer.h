/* A small reusable Kafka producer: topic creation through the admin API, produce with key,
 * value, headers and a per-message opaque, queue-full back-pressure that never drops a
 * message, delivery counting, flush with a deadline. Used by `rtetl ingest`, and fit for a
 * dead-letter path (headers carry the reason; the per-message callback releases the source
 * record). All callbacks run inside kafka_producer_poll/_send/_flush on the caller's thread. */
#ifndef RTETL_KAFKA_PRODUCER_H
#define RTETL_KAFKA_PRODUCER_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kafka_producer kafka_producer;

/* Called once per message accepted by kafka_producer_send, when it is delivered (err == 0) or
 * has failed for good (message timeout, fatal error, purge at free). msg_opaque is the pointer
 * given to send; msg is valid only during the call. */
typedef void kafka_delivery_cb(void *cb_arg, void *msg_opaque, rd_kafka_resp_err_t err,
                               const rd_kafka_message_t *msg);

typedef struct kafka_header {
    const char *name;
    const void *value; /* may be NULL (a null header value) */
    size_t len;
} kafka_header;

typedef struct kafka_producer_stats {
    unsigned long long sent;       /* accepted by send */
    unsigned long long delivered;  /* acknowledged by the brokers */
    unsigned long long failed;     /* failed for good */
    unsigned long long queue_full; /* times send waited for room in the local queue */
} kafka_producer_stats;

/* Creates a producer from conf, which is taken over in every case (destroyed on failure).
 * cb may be NULL (counters only). Returns NULL with err filled on failure. */
kafka_producer *kafka_producer_new(rd_kafka_conf_t *conf, kafka_delivery_cb *cb, void *cb_arg,
                                   char *err, size_t errlen);
/* Makes sure `topic` exists: creates it with `partitions` partitions and `replication`
 * replicas (-1: the broker's default) when missing; an existing topic is left as it is. Either
 * way it returns once every partition's leader answers for it (kafka_topic_wait_ready).
 * Blocks up to timeout_ms. Returns 0, or -1 with err filled. */
int kafka_producer_ensure_topic(kafka_producer *p, const char *topic, int partitions,
                                int replication, int timeout_ms, char *err, size_t errlen);
/* Without creating it: when `topic` is visible (one metadata request, up to 2 s: nothing
 * when the brokers are down or the topic is missing or not ours to see), waits up to timeout_ms
 * until every partition's leader answers for it, as kafka_producer_ensure_topic does. */
void kafka_producer_wait_topic(kafka_producer *p, const char *topic, int timeout_ms);
/* A topic handle, created on first use and owned by the producer (valid until free). */
rd_kafka_topic_t *kafka_producer_topic(kafka_producer *p, const char *topic);
/* Enqueues one message (key, value and headers are copied; any may be NULL/0). partition is
 * RD_KAFKA_PARTITION_UA to let the partitioner choose by key. When the local queue is full it
 * serves delivery reports and retries until there is room, so nothing is dropped (unless the
 * abort flag is raised, see kafka_producer_set_abort). Returns 0 (the callback will fire
 * once), or a librdkafka error (the callback will not fire). */
rd_kafka_resp_err_t kafka_producer_send(kafka_producer *p, rd_kafka_topic_t *topic,
                                        int32_t partition, const void *key, size_t klen,
                                        const void *value, size_t vlen, const kafka_header *hdrs,
                                        size_t nhdrs, void *msg_opaque);
/* Lets a full-queue wait in kafka_producer_send give up (returning RD_KAFKA_RESP_ERR__QUEUE_FULL,
 * message not taken) once *flag is non-zero, e.g. a flag set by a signal handler. The flag is
 * borrowed and must outlive the producer; NULL (the default) waits until there is room. */
void kafka_producer_set_abort(kafka_producer *p, volatile sig_atomic_t *flag);
/* Serves delivery reports and errors for up to timeout_ms; returns the number of events. */
int kafka_producer_poll(kafka_producer *p, int timeout_ms);
/* Waits until every message is delivered or failed, or timeout_ms passes; serves callbacks.
 * Returns the number of messages still outstanding (0 when done). */
int kafka_producer_flush(kafka_producer *p, int timeout_ms);
/* Messages and requests not yet acknowledged. */
int kafka_producer_outstanding(kafka_producer *p);
void kafka_producer_get_stats(const kafka_producer *p, kafka_producer_stats *st);
/* True when librdkafka raised a fatal error (e.g. idempotence broken) or a security failure
 * (authentication, TLS verification, a missing ACL: see kafka/security.h); err gets the reason.
 * A fatal producer sends nothing more; the caller should flush what it can and stop. */
bool kafka_producer_fatal(kafka_producer *p, char *err, size_t errlen);
/* The librdkafka handle, for what this wrapper does not cover (borrowed). */
rd_kafka_t *kafka_producer_handle(kafka_producer *p);
/* Purges anything still queued (counted as failed, callbacks fire), then destroys. Flush first
 * to deliver. */
void kafka_producer_free(kafka_producer *p);

#endif
