/* The dead-letter record's metadata, shared by `rtetl stream` (which writes it) and
 * `rtetl dlq` (which reads and replays it): the reason headers, the header copy rules, and the
 * replay filters. Pure functions over librdkafka header lists: no I/O, no broker needed.
 *
 * Headers a dead letter carries: the original message's own headers, then rtetl.error,
 * rtetl.error.detail, rtetl.source.topic, rtetl.source.partition, rtetl.source.offset,
 * rtetl.source.timestamp, rtetl.target (the pipeline target the record failed in, when it
 * failed in one) and, when the value was cut, rtetl.truncated (the original length).
 * A replayed message carries the original headers, rtetl.replay.count (how many times it
 * was replayed) and, when it failed in one target, rtetl.replay.target; a replayed record that is
 * dead-lettered again keeps that count. */
#ifndef RTETL_STREAM_DLQ_META_H
#define RTETL_STREAM_DLQ_META_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_DLQ_REPLAY_COUNT "rtetl.replay.count"
/* On a replayed dead letter that failed in one target of a fan-out pipeline: that target's
 * name. `rtetl stream` writes such a record to that target only, so a replay does not write
 * an old version over newer rows of the targets that took it the first time. */
#define STREAM_DLQ_REPLAY_TARGET "rtetl.replay.target"

/* What the reason headers of one dead letter say. Strings are copies, cut to fit. */
typedef struct stream_dlq_info {
    char reason[64];          /* "?" when the header is missing */
    char detail[256];         /* "" when missing */
    char source_topic[256];   /* "" when missing */
    char target[128];         /* "" when missing */
    int32_t source_partition; /* -1 when missing or not a number */
    int64_t source_offset;    /* -1 when missing or not a number */
    int64_t source_timestamp; /* -1 when missing or not a number */
    bool truncated;           /* rtetl.truncated present: the value is incomplete */
    long long replay_count;   /* rtetl.replay.count, 0 when missing or not a number */
} stream_dlq_info;

/* Reads the reason headers of a dead letter (h may be NULL: no headers). */
void stream_dlq_info_parse(const rd_kafka_headers_t *h, stream_dlq_info *out);
/* Reads the reason headers of dead-letter message m; returns m's timestamp (the dead-letter
 * time, ms since the epoch, -1 when unknown). */
int64_t stream_dlq_info_of(const rd_kafka_message_t *m, stream_dlq_info *out);

/* Appends to dst every header of src (may be NULL) but those rtetl owns: all rtetl.* headers,
 * except rtetl.replay.count when keep_replay_count. The stream keeps the count (a replayed
 * record dead-lettered again remembers its replays); a replay drops it and sets a new one.
 * Order and duplicates of the other headers are kept. */
void stream_dlq_copy_headers(rd_kafka_headers_t *dst, const rd_kafka_headers_t *src,
                             bool keep_replay_count);

/* The headers of the replayed copy of a dead letter: its original headers (no rtetl.* ones)
 * and rtetl.replay.count = the dead letter's count + 1. The caller owns the result. */
rd_kafka_headers_t *stream_dlq_replay_headers(const rd_kafka_headers_t *dlq_headers);

/* Which dead letters a replay takes. Every bound is inclusive; "none" values disable one. */
typedef struct stream_dlq_filter {
    char **reasons; /* owned; any reason when nreasons == 0 */
    size_t nreasons;
    int32_t partition;   /* source partition; -1: any */
    int64_t from_offset; /* source offsets; -1: no bound */
    int64_t to_offset;
    int64_t since_ms; /* dead-letter (DLQ message) time, ms since the epoch; -1: no bound */
    int64_t until_ms;
} stream_dlq_filter;

/* An empty filter (takes everything). */
void stream_dlq_filter_init(stream_dlq_filter *f);
/* Adds the reasons of a comma-separated list ("wrong_type,malformed_json"). Returns 0, or -1
 * with err filled (an empty item, a name with characters other than [a-z0-9_.-], memory). */
int stream_dlq_filter_add_reasons(stream_dlq_filter *f, const char *list, char *err, size_t errlen);
/* Parses a point in time: a duration meaning that long before now_ms ("2h", "90m", "30s"), or
 * an RFC 3339 UTC time ("2026-11-26T13:00:00Z", fractional seconds allowed), or an integer of
 * milliseconds since the epoch. Returns 0 with *out_ms set, or -1. */
int stream_dlq_parse_time(const char *s, int64_t now_ms, int64_t *out_ms);
/* True when the dead letter (its info and its DLQ message timestamp, -1 if unknown) passes. A
 * dead letter without a known value for a bounded property does not pass. */
bool stream_dlq_filter_match(const stream_dlq_filter *f, const stream_dlq_info *d,
                             int64_t dlq_ts_ms);
void stream_dlq_filter_free(stream_dlq_filter *f);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds ("-" when ms < 0). */
void stream_dlq_format_time(int64_t ms, char *out, size_t outlen);

#endif
