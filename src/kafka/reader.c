/* The bounded topic reader (see reader.h).
 *
 * DESIGN: the partitions are assigned, not subscribed, so a batch run neither joins nor
 * rebalances a group; the group is only where offsets are kept (librdkafka commits for an
 * assigned consumer with the "simple consumer" generation, which brokers accept while the
 * group has no members). The end of each partition is its high watermark at open; a partition
 * is complete when a message at end - 1 or a partition-EOF event at or past the end arrives,
 * which also covers ends that are transaction markers or compacted away. */
#include "kafka/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kafka_reader {
    rd_kafka_t *rk;
    char *topic;
    bool has_group;
    int32_t n;
    int32_t remaining; /* partitions not complete yet */
    int64_t *start, *end;
    bool *complete;
};

static void mark_complete(kafka_reader *r, int32_t p)
{
    if (p < 0 || p >= r->n || r->complete[p]) return;
    r->complete[p] = true;
    r->remaining--;
}

static int read_metadata(kafka_reader *r, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(r->rk, r->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        t ? rd_kafka_metadata(r->rk, 0, t, &md, timeout_ms) : RD_KAFKA_RESP_ERR__INVALID_ARG;
    if (t) rd_kafka_topic_destroy(t);
    if (!e && md->topic_cnt == 1) e = md->topics[0].err;
    if (e) {
        snprintf(err, errlen, "topic %s: %s", r->topic, rd_kafka_err2str(e));
        if (md) rd_kafka_metadata_destroy(md);
        return -1;
    }
    r->n = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (r->n <= 0) {
        snprintf(err, errlen, "topic %s: no partitions", r->topic);
        return -1;
    }
    r->start = calloc((size_t)r->n, sizeof *r->start);
    r->end = calloc((size_t)r->n, sizeof *r->end);
    r->complete = calloc((size_t)r->n, sizeof *r->complete);
    if (!r->start || !r->end || !r->complete) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Reads the watermarks and the committed offsets and assigns each partition from its start. */
static int assign_all(kafka_reader *r, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->n);
    for (int32_t p = 0; p < r->n; p++) rd_kafka_topic_partition_list_add(l, r->topic, p);
    rd_kafka_resp_err_t e =
        r->has_group ? rd_kafka_committed(r->rk, l, timeout_ms) : RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int32_t p = 0; !e && p < r->n; p++) {
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(r->rk, r->topic, p, &lo, &hi, timeout_ms);
        if (e) break;
        int64_t c = r->has_group ? l->elems[p].offset : RD_KAFKA_OFFSET_INVALID;
        r->start[p] = c >= 0 ? c : RD_KAFKA_OFFSET_BEGINNING;
        l->elems[p].offset = r->start[p];
        r->end[p] = hi;
        /* Nothing to read: empty, or the committed offset is at (or past) the end already. */
        if (hi <= lo || (c >= 0 && c >= hi)) mark_complete(r, p);
    }
    if (!e) e = rd_kafka_assign(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) snprintf(err, errlen, "topic %s: %s", r->topic, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

kafka_reader *kafka_reader_new(rd_kafka_conf_t *conf, const char *topic, const char *group,
                               int timeout_ms, char *err, size_t errlen)
{
    kafka_reader *r = calloc(1, sizeof *r);
    char why[512];
    if (!r || !(r->topic = strdup(topic))) {
        free(r);
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->has_group = group != NULL;
    /* librdkafka assigns partitions only with a group.id; without the caller's group, a name
     * that is never committed to nor joined stands in. */
    if (rd_kafka_conf_set(conf, "group.id", group ? group : "rtetl-reader", why, sizeof why) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", why, sizeof why) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", why, sizeof why) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", why, sizeof why) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", why, sizeof why)) {
        snprintf(err, errlen, "kafka consumer: %s", why);
        rd_kafka_conf_destroy(conf);
        free(r->topic);
        free(r);
        return NULL;
    }
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!r->rk) {
        snprintf(err, errlen, "cannot create the Kafka consumer: %s", why);
        rd_kafka_conf_destroy(conf);
        free(r->topic);
        free(r);
        return NULL;
    }
    rd_kafka_poll_set_consumer(r->rk);
    if (read_metadata(r, timeout_ms, err, errlen)) goto fail;
    r->remaining = r->n;
    if (assign_all(r, timeout_ms, err, errlen)) goto fail;
    return r;
fail:
    kafka_reader_free(r);
    return NULL;
}

rd_kafka_message_t *kafka_reader_next(kafka_reader *r, int timeout_ms, bool *failed, char *err,
                                      size_t errlen)
{
    *failed = false;
    while (!kafka_reader_done(r)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
        if (!m) return NULL;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < r->n && m->offset >= r->end[m->partition])
                mark_complete(r, m->partition);
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            /* Transport errors are retried by librdkafka; the rest end the read. */
            bool transient = m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
                             m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
            if (!transient) {
                snprintf(err, errlen, "reading %s: %s", r->topic, rd_kafka_message_errstr(m));
                *failed = true;
            }
            rd_kafka_message_destroy(m);
            if (*failed) return NULL;
            continue;
        }
        int32_t p = m->partition;
        if (p < 0 || p >= r->n || r->complete[p] || m->offset >= r->end[p]) {
            /* Past the end seen at open: not part of this run. */
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset + 1 >= r->end[p]) mark_complete(r, p);
        return m;
    }
    return NULL;
}

bool kafka_reader_done(const kafka_reader *r)
{
    return r->remaining <= 0;
}

int32_t kafka_reader_partitions(const kafka_reader *r)
{
    return r->n;
}

int64_t kafka_reader_start(const kafka_reader *r, int32_t p)
{
    return r->start[p];
}

int64_t kafka_reader_end(const kafka_reader *r, int32_t p)
{
    return r->end[p];
}

int kafka_reader_commit(kafka_reader *r, const int64_t *next_offsets, char *err, size_t errlen)
{
    if (!r->has_group) {
        snprintf(err, errlen, "no consumer group to commit to");
        return -1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->n);
    for (int32_t p = 0; p < r->n; p++)
        if (next_offsets[p] >= 0)
            rd_kafka_topic_partition_list_add(l, r->topic, p)->offset = next_offsets[p];
    rd_kafka_resp_err_t e = l->cnt ? rd_kafka_commit(r->rk, l, 0) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errlen, "committing offsets of %s: %s", r->topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

void kafka_reader_free(kafka_reader *r)
{
    if (!r) return;
    if (r->rk) {
        rd_kafka_assign(r->rk, NULL);
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    free(r->start);
    free(r->end);
    free(r->complete);
    free(r->topic);
    free(r);
}
