/* The dead-letter producer of `rtetl stream`: bad records go, unchanged, to the dead-letter
 * topic with headers saying why and where they came from. Delivery reports come back on the
 * engine's libuv loop; the producer is idempotent with acks=all and no delivery timeout, so a
 * dead-letter write is retried by librdkafka until the broker takes it. */
#ifndef RTETL_STREAM_DLQ_H
#define RTETL_STREAM_DLQ_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <uv.h>

typedef struct stream_dlq stream_dlq;

/* Called on the loop thread once per sent record: err 0 when the broker acknowledged it. */
typedef void (*stream_dlq_cb)(void *opaque, rd_kafka_resp_err_t err);

/* Creates the producer from conf (consumed in all cases). Returns NULL with err filled. The
 * caller owns the result (stream_dlq_free). */
stream_dlq *stream_dlq_new(uv_loop_t *loop, rd_kafka_conf_t *conf, const char *topic,
                           stream_dlq_cb cb, char *err, size_t errlen);
/* Checks that the brokers answer a metadata request within timeout_ms (blocking; for start-up
 * only). Returns 0, or -1 with one line in err. */
int stream_dlq_check_brokers(stream_dlq *d, int timeout_ms, char *err, size_t errlen);
/* Creates the dead-letter topic when missing, with room for messages of max_message_bytes (so
 * every record the source topic could hold fits, reason headers included); an existing topic
 * is left as it is. Blocking; for start-up. Returns 0, or -1 with err filled. */
int stream_dlq_ensure_topic(stream_dlq *d, int partitions, long long max_message_bytes,
                            int timeout_ms, char *err, size_t errlen);
/* Sends a copy of src's key, value and headers (its rtetl.* headers but rtetl.replay.count
 * left out, see dlq_meta.h) with the reason headers, and rtetl.target naming the pipeline
 * target the record failed in (target NULL: it failed before any, e.g. it did not decode). A value
 * longer than max_value is cut to its first max_value bytes, with header rtetl.truncated holding
 * the original length; a key longer than max_key likewise, with header rtetl.key.truncated
 * (SIZE_MAX: no cut). Returns 0 (cb will fire with opaque), or the librdkafka error (e.g. queue
 * full; cb will not fire). */
rd_kafka_resp_err_t stream_dlq_send(stream_dlq *d, const rd_kafka_message_t *src,
                                    const char *src_topic, const char *target, const char *reason,
                                    const char *detail, size_t max_value, size_t max_key,
                                    void *opaque);
/* Messages not yet acknowledged. */
int stream_dlq_outq(stream_dlq *d);
/* Waits up to timeout_ms for outstanding messages (blocking; for shutdown). */
void stream_dlq_flush(stream_dlq *d, int timeout_ms);
/* Stops the loop handles and destroys the producer. */
void stream_dlq_free(stream_dlq *d);

#endif
