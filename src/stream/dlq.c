/* Dead-letter producer on a libuv loop (see dlq.h). */
#include "stream/dlq.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/dlq_meta.h"
#include "kafka/security.h"
#include "util/log.h"

struct stream_dlq {
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    char *topic;
    stream_dlq_cb cb;
    int pipefd[2];
    uv_poll_t poll;
    bool polling;
    char sec_err[512]; /* the first authentication/authorization failure (security.h) */
};

/* librdkafka's error events: a security failure is latched for the start-up checks (it would
 * otherwise be retried for ever); the rest is logged, as librdkafka does without a callback. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    stream_dlq *d = opaque;
    char line[512], q[512];
    if (kafka_security_error((rd_kafka_resp_err_t)err, reason, NULL, line, sizeof line)) {
        if (!d->sec_err[0]) snprintf(d->sec_err, sizeof d->sec_err, "%s", line);
        return;
    }
    if (d->sec_err[0] && err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) return;
    log_warn("dlq", "dead-letter producer error", "error=%s detail=%s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), log_quote(q, sizeof q, reason));
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    stream_dlq *d = opaque;
    char line[512];
    if (m->err && kafka_security_error(m->err, NULL, d->topic, line, sizeof line)) {
        if (!d->sec_err[0]) snprintf(d->sec_err, sizeof d->sec_err, "%s", line);
    } else if (m->err) {
        log_warn("dlq", "dead-letter delivery failed", "error=\"%s\"", rd_kafka_err2str(m->err));
    }
    d->cb(m->_private, m->err);
}

static void on_pipe(uv_poll_t *p, int status, int events)
{
    stream_dlq *d = p->data;
    char buf[64];
    while (read(d->pipefd[0], buf, sizeof buf) > 0) {
    }
    rd_kafka_poll(d->rk, 0);
}

stream_dlq *stream_dlq_new(uv_loop_t *loop, rd_kafka_conf_t *conf, const char *topic,
                           stream_dlq_cb cb, char *err, size_t errlen)
{
    stream_dlq *d = calloc(1, sizeof *d);
    char errstr[512];
    if (!d || !(d->topic = strdup(topic))) {
        free(d);
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cb = cb;
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!d->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka dead-letter producer: %s", errstr);
        free(d->topic);
        free(d);
        return NULL;
    }
    d->mainq = rd_kafka_queue_get_main(d->rk);
    if (pipe2(d->pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        rd_kafka_queue_destroy(d->mainq);
        rd_kafka_destroy(d->rk);
        free(d->topic);
        free(d);
        return NULL;
    }
    rd_kafka_queue_io_event_enable(d->mainq, d->pipefd[1], "1", 1);
    uv_poll_init(loop, &d->poll, d->pipefd[0]);
    d->poll.data = d;
    uv_poll_start(&d->poll, UV_READABLE, on_pipe);
    d->polling = true;
    return d;
}

int stream_dlq_check_brokers(stream_dlq *d, int timeout_ms, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    /* In slices, serving error events between them: a failed SASL handshake is retried for
     * ever, so it would otherwise look like brokers that do not answer. */
    for (int waited = 0; waited < timeout_ms; waited += 250) {
        e = rd_kafka_metadata(d->rk, 0, NULL, &md, 250);
        if (!e) break;
        rd_kafka_poll(d->rk, 0);
        if (d->sec_err[0]) {
            snprintf(err, errlen, "%s", d->sec_err);
            return -1;
        }
    }
    if (e) {
        snprintf(err, errlen, "kafka: brokers did not answer a metadata request within %d ms: %s",
                 timeout_ms, rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

int stream_dlq_ensure_topic(stream_dlq *d, int partitions, long long max_message_bytes,
                            int timeout_ms, char *err, size_t errlen)
{
    char errstr[512], maxb[32];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(d->topic, partitions, -1, errstr, sizeof errstr);
    if (!nt) {
        snprintf(err, errlen, "dead-letter topic %s: %s", d->topic, errstr);
        return -1;
    }
    snprintf(maxb, sizeof maxb, "%lld", max_message_bytes);
    rd_kafka_NewTopic_set_config(nt, "max.message.bytes", maxb);
    rd_kafka_queue_t *q = rd_kafka_queue_new(d->rk);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(d->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, NULL, 0);
    rd_kafka_CreateTopics(d->rk, &nt, 1, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    int rc = 0;
    if (!ev) {
        snprintf(err, errlen, "dead-letter topic %s: no answer from the brokers", d->topic);
        rc = -1;
    } else {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        if (!e && n == 1) e = rd_kafka_topic_result_error(tr[0]);
        char line[512];
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_info("dlq", "created the dead-letter topic", "topic=%s max_message_bytes=%s",
                     d->topic, maxb);
            /* Dead letters can follow within milliseconds (see kafka_topic_wait_ready). */
            kafka_topic_wait_ready(
                d->rk, d->topic, partitions, timeout_ms, "dlq",
                "the new dead-letter topic's partition leaders do not answer yet");
        } else if ((e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                    e == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) &&
                   kafka_topic_visible(d->rk, d->topic, timeout_ms))
            /* Least privilege: a user who may write the topic need not be able to create it. */
            log_info("dlq", "not authorized to create the dead-letter topic; it exists", "topic=%s",
                     d->topic);
        else if (kafka_security_error(e, rd_kafka_err2str(e), d->topic, line, sizeof line)) {
            snprintf(err, errlen, "%s (the dead-letter topic: WRITE and DESCRIBE, or CREATE)",
                     line);
            rc = -1;
        } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            /* Another member of the group may have created it a moment ago. */
            kafka_topic_wait_ready(d->rk, d->topic, 1, timeout_ms, "dlq",
                                   "the dead-letter topic's partition leaders do not answer yet");
        } else {
            snprintf(err, errlen, "dead-letter topic %s: %s", d->topic, rd_kafka_err2str(e));
            rc = -1;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

rd_kafka_resp_err_t stream_dlq_send(stream_dlq *d, const rd_kafka_message_t *src,
                                    const char *src_topic, const char *target, const char *reason,
                                    const char *detail, size_t max_value, size_t max_key,
                                    void *opaque)
{
    char part[16], off[24], ts[24], orig[24], korig[24];
    snprintf(part, sizeof part, "%" PRId32, src->partition);
    snprintf(off, sizeof off, "%" PRId64, src->offset);
    rd_kafka_timestamp_type_t tstype;
    snprintf(ts, sizeof ts, "%" PRId64, rd_kafka_message_timestamp(src, &tstype));
    size_t len = src->len, klen = src->key_len;
    bool cut = len > max_value, kcut = klen > max_key;
    if (cut) {
        snprintf(orig, sizeof orig, "%zu", len);
        len = max_value;
    }
    if (kcut) {
        snprintf(korig, sizeof korig, "%zu", klen);
        klen = max_key;
    }
    /* The original headers come first, so a replay (rtetl dlq replay) can restore them; a
     * replayed record keeps its rtetl.replay.count when it is dead-lettered again. */
    rd_kafka_headers_t *orig_h = NULL;
    if (rd_kafka_message_headers(src, &orig_h) != RD_KAFKA_RESP_ERR_NO_ERROR) orig_h = NULL;
    rd_kafka_headers_t *h = rd_kafka_headers_new((orig_h ? rd_kafka_header_cnt(orig_h) : 0) + 9);
    stream_dlq_copy_headers(h, orig_h, true);
    rd_kafka_header_add(h, "rtetl.error", -1, reason, -1);
    rd_kafka_header_add(h, "rtetl.error.detail", -1, detail, -1);
    rd_kafka_header_add(h, "rtetl.source.topic", -1, src_topic, -1);
    rd_kafka_header_add(h, "rtetl.source.partition", -1, part, -1);
    rd_kafka_header_add(h, "rtetl.source.offset", -1, off, -1);
    rd_kafka_header_add(h, "rtetl.source.timestamp", -1, ts, -1);
    if (target) rd_kafka_header_add(h, "rtetl.target", -1, target, -1);
    if (cut) rd_kafka_header_add(h, "rtetl.truncated", -1, orig, -1);
    if (kcut) rd_kafka_header_add(h, "rtetl.key.truncated", -1, korig, -1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        d->rk, RD_KAFKA_V_TOPIC(d->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(src->key, klen), RD_KAFKA_V_VALUE(src->payload, len), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    /* On success the message owns the headers; on failure they are still ours. */
    if (err) rd_kafka_headers_destroy(h);
    return err;
}

int stream_dlq_outq(stream_dlq *d)
{
    return rd_kafka_outq_len(d->rk);
}

void stream_dlq_flush(stream_dlq *d, int timeout_ms)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(d->rk, timeout_ms);
    if (e)
        log_warn("dlq", "dead-letter messages still unacknowledged at shutdown", "count=%d",
                 rd_kafka_outq_len(d->rk));
}

static void on_closed(uv_handle_t *h)
{
    stream_dlq *d = h->data;
    close(d->pipefd[0]);
    close(d->pipefd[1]);
    free(d->topic);
    free(d);
}

void stream_dlq_free(stream_dlq *d)
{
    if (!d) return;
    rd_kafka_queue_io_event_enable(d->mainq, -1, NULL, 0);
    rd_kafka_queue_destroy(d->mainq);
    rd_kafka_destroy(d->rk);
    d->rk = NULL;
    uv_close((uv_handle_t *)&d->poll, on_closed);
}
