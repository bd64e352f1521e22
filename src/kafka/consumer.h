/* A Kafka group consumer driven by a libuv loop: librdkafka's consumer queue wakes the loop
 * through a pipe, messages are handed over in batches, partitions are paused while the handler
 * is full, and revocations wait (bounded) for the handler to drain before they complete.
 * Everything here runs on the loop thread. */
#ifndef RTETL_KAFKA_CONSUMER_H
#define RTETL_KAFKA_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct kafka_consumer kafka_consumer;

enum { KAFKA_COMMIT_META_MAX = 48 };

typedef struct kafka_consumer_handler {
    /* A batch of messages with err == 0. Ownership of every message passes to the handler,
     * which destroys each with rd_kafka_message_destroy when done with it. */
    void (*on_messages)(void *ud, rd_kafka_message_t **msgs, size_t n);
    /* Partitions were assigned. Each element's offset is the group's committed offset where
     * consumption starts (RD_KAFKA_OFFSET_INVALID: none, auto.offset.reset decides) and its
     * metadata what was committed with it (NULL/0 when none). */
    void (*on_assign)(void *ud, const rd_kafka_topic_partition_list_t *parts);
    /* Partitions are being revoked. Return true when nothing of theirs is in flight any more
     * (they are released at once); else the consumer waits until the handler calls
     * kafka_consumer_revoke_ready() or the drain bound passes; then it is called again for
     * them with `lost` true before they are released. `lost` means another member may already
     * own them (the return value is then ignored). */
    bool (*on_revoke)(void *ud, const rd_kafka_topic_partition_list_t *parts, bool lost);
    /* A consumer error; fatal errors end consumption. */
    void (*on_error)(void *ud, rd_kafka_resp_err_t err, const char *reason, bool fatal);
} kafka_consumer_handler;

/* Creates a consumer from conf (consumed on success and on failure) subscribed to `topic` and
 * attached to loop. The caller owns the result; free it with kafka_consumer_free after
 * kafka_consumer_close. */
kafka_consumer *kafka_consumer_new(uv_loop_t *loop, rd_kafka_conf_t *conf, const char *topic,
                                   const kafka_consumer_handler *h, void *ud, char *err,
                                   size_t errlen);
/* Subscribes and starts delivering messages. Returns 0, or -1 with err filled. */
int kafka_consumer_start(kafka_consumer *c, char *err, size_t errlen);
/* Tells how many more messages the handler accepts now. At 0 the assigned partitions are
 * paused; above 0 they are resumed and delivery continues on the next loop iteration. */
void kafka_consumer_set_capacity(kafka_consumer *c, size_t capacity);
/* Makes `offset` the next message of `partition` (messages already fetched past it are
 * dropped), then pauses the partition (`pause`) or resumes it (unless every partition is paused
 * for lack of capacity: the general resume does it then). */
void kafka_consumer_seek(kafka_consumer *c, int32_t partition, int64_t offset, bool pause);
/* Pauses one partition (hold) until it is released with hold false; unlike the pause for lack
 * of capacity, a held partition stays paused when the others resume. */
void kafka_consumer_hold(kafka_consumer *c, int32_t partition, bool hold);
/* True from a revocation of a lost assignment until the next assignment callback: librdkafka
 * rejoins the group at once, and the partitions often come back (possibly none do). */
bool kafka_consumer_rejoining(const kafka_consumer *c);
/* The handler finished draining the partitions of a deferred revocation. */
void kafka_consumer_revoke_ready(kafka_consumer *c);
/* Stores offset (the next offset to consume) of a partition and the metadata string to commit
 * with it (copied; NULL or "" for none, at most KAFKA_COMMIT_META_MAX - 1 bytes). The consumer
 * commits stored offsets itself, with their metadata: every statistics.interval.ms (1 s unless
 * set; 0 means 1 s) asynchronously while the group is not rebalancing, and
 * synchronously before a revoked partition is released and at close. (librdkafka's own
 * auto-commit is off: up to 2.0 it commits stored offsets without their metadata.) */
void kafka_consumer_store(kafka_consumer *c, int32_t partition, int64_t offset,
                          const char *metadata);
/* Commits the stored offsets not committed yet, now. */
void kafka_consumer_commit(kafka_consumer *c, bool sync);
/* Consumer lag of one partition: high watermark minus `next_offset`, from cached watermarks;
 * -1 when unknown. */
int64_t kafka_consumer_lag(kafka_consumer *c, int32_t partition, int64_t next_offset);
/* Asks the partition's leader for its low and high watermarks, blocking up to timeout_ms
 * (also refreshes the cached ones). Returns 0, or -1 with *lo and *hi untouched. */
int kafka_consumer_query_watermarks(kafka_consumer *c, int32_t partition, int64_t *lo, int64_t *hi,
                                    int timeout_ms);
/* librdkafka's application position of a partition (the next offset it hands over; it steps
 * over transaction markers, which are never handed over); -1 when unknown. */
int64_t kafka_consumer_position(kafka_consumer *c, int32_t partition);
/* Leaves the group (commits stored offsets, revokes). Blocks up to 20 s, also when the
 * broker is unreachable (it then leaves without the LeaveGroup). */
void kafka_consumer_close(kafka_consumer *c);
/* Closes the loop handles; `done` runs when they are closed, then the consumer is freed. */
void kafka_consumer_free(kafka_consumer *c, void (*done)(void *ud), void *ud);
/* How often the fetcher was woken because the prefetch queue ran dry (see consumer.c). */
uint64_t kafka_consumer_wakeups(const kafka_consumer *c);
rd_kafka_t *kafka_consumer_handle(kafka_consumer *c);
const char *kafka_consumer_topic(const kafka_consumer *c);

#endif
