/* A bounded, blocking reader of a whole topic for batch tools (`rtetl dlq`): every partition is
 * assigned (no group membership), each from the group's committed offset or the beginning, and
 * the read ends at the high watermarks seen at open, so a run is bounded even while producers
 * keep writing. Offsets are committed only when the caller says so (kafka_reader_commit).
 * Runs on the caller's thread; no event loop. */
#ifndef RTETL_KAFKA_READER_H
#define RTETL_KAFKA_READER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kafka_reader kafka_reader;

/* Opens topic with conf (taken over in every case). group (may be NULL) is the consumer group
 * whose committed offsets say where each partition starts and where kafka_reader_commit
 * writes; without it every partition starts at the beginning and nothing can be committed.
 * Blocks up to timeout_ms for metadata, watermarks and committed offsets. Returns NULL with
 * err filled (e.g. the topic does not exist). The caller owns the result (kafka_reader_free). */
kafka_reader *kafka_reader_new(rd_kafka_conf_t *conf, const char *topic, const char *group,
                               int timeout_ms, char *err, size_t errlen);
/* The next message (the caller destroys it with rd_kafka_message_destroy), or NULL when
 * timeout_ms passed without one or the read is complete (kafka_reader_done) or failed (err
 * filled, *failed set). */
rd_kafka_message_t *kafka_reader_next(kafka_reader *r, int timeout_ms, bool *failed, char *err,
                                      size_t errlen);
/* True when every partition reached the high watermark it had at open. */
bool kafka_reader_done(const kafka_reader *r);
int32_t kafka_reader_partitions(const kafka_reader *r);
/* Where partition p started (an offset, or RD_KAFKA_OFFSET_BEGINNING) and its end. */
int64_t kafka_reader_start(const kafka_reader *r, int32_t p);
int64_t kafka_reader_end(const kafka_reader *r, int32_t p);
/* Commits next_offsets[p] (the next offset to read; < 0: leave partition p alone) for the
 * group, synchronously. Returns 0, or -1 with err filled. */
int kafka_reader_commit(kafka_reader *r, const int64_t *next_offsets, char *err, size_t errlen);
void kafka_reader_free(kafka_reader *r);

#endif
