/* The reusable Kafka producer (see producer.h).
 *
 * DESIGN: librdkafka does the batching, compression, retries and idempotence; this wrapper adds
 * what every rtetl producer needs on top: a delivery callback with a per-message opaque and
 * counters kept in it, back-pressure on a full local queue (serve delivery reports, retry; a
 * message is never dropped there), and topic creation. Delivery reports run in
 * rd_kafka_poll/flush, so they happen on the caller's thread and the counters need no locks. */
#include "kafka/producer.h"

#include "kafka/security.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOPICS 8

struct kafka_producer {
    rd_kafka_t *rk;
    kafka_delivery_cb *cb;
    void *cb_arg;
    kafka_producer_stats st;
    size_t ntopics;
    rd_kafka_topic_t *topics[MAX_TOPICS];
    rd_kafka_resp_err_t last_dr_err;   /* for rate-limited logging of failures */
    volatile sig_atomic_t *abort_flag; /* see kafka_producer_set_abort */
    char sec_err[512]; /* the first authentication/authorization failure (security.h) */
};

/* Latches a security failure (permanent until the configuration or ACLs change); true if
 * err is one. */
static bool latch_security(kafka_producer *p, rd_kafka_resp_err_t err, const char *reason,
                           const char *what)
{
    char line[512];
    if (!kafka_security_error(err, reason, what, line, sizeof line)) return false;
    if (!p->sec_err[0]) snprintf(p->sec_err, sizeof p->sec_err, "%s", line);
    return true;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_producer *p = opaque;
    if (m->err) {
        p->st.failed++;
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
        if (latch_security(p, m->err, NULL, topic) || p->sec_err[0]) {
            /* Reported once, as the command's error line (purged messages included). */
        } else if (m->err != p->last_dr_err) {
            log_error("kafka", "message delivery failed", "topic=%s error=\"%s\"",
                      m->rkt ? rd_kafka_topic_name(m->rkt) : "?", rd_kafka_err2str(m->err));
            p->last_dr_err = m->err;
        }
    } else {
        p->st.delivered++;
    }
    if (p->cb) p->cb(p->cb_arg, m->_private, m->err, m);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_producer *p = opaque;
    char q[512];
    if (latch_security(p, (rd_kafka_resp_err_t)err, reason, NULL)) return;
    if (p->sec_err[0] && err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) return;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        log_error("kafka", "fatal producer error", "error=%s detail=%s", rd_kafka_err2name(orig),
                  log_quote(q, sizeof q, why));
        return;
    }
    /* Transport errors repeat while a broker is down; librdkafka keeps retrying on its own. */
    log_warn("kafka", "producer error", "error=%s detail=%s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), log_quote(q, sizeof q, reason));
}

kafka_producer *kafka_producer_new(rd_kafka_conf_t *conf, kafka_delivery_cb *cb, void *cb_arg,
                                   char *err, size_t errlen)
{
    kafka_producer *p = calloc(1, sizeof *p);
    if (!p) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->cb = cb;
    p->cb_arg = cb_arg;
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    char why[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "cannot create the Kafka producer: %s", why);
        free(p);
        return NULL;
    }
    return p;
}

#define TOPIC_NOT_READY "the topic's partition leaders do not answer yet; producing anyway"

static int topic_result(kafka_producer *p, rd_kafka_event_t *ev, const char *topic, int partitions,
                        int timeout_ms, char *err, size_t errlen)
{
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "creating topic %s: %s", topic, rd_kafka_event_error_string(ev));
        return -1;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        char line[512];
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_info("kafka", "topic created", "topic=%s", topic);
            kafka_topic_wait_ready(
                p->rk, topic, partitions, timeout_ms, "kafka",
                "the new topic's partition leaders do not answer yet; producing anyway");
        } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            /* It may have been created a moment ago by someone else: the same wait (every
             * partition it has), immediate for a topic that has been there a while. */
            kafka_topic_wait_ready(p->rk, topic, 1, timeout_ms, "kafka", TOPIC_NOT_READY);
        } else if ((e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                    e == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) &&
                   kafka_topic_visible(p->rk, topic, timeout_ms)) {
            /* Least privilege: a user who may write a topic need not be able to create it. */
            log_info("kafka", "not authorized to create the topic; it exists", "topic=%s", topic);
        } else if (kafka_security_error(e, rd_kafka_topic_result_error_string(tr[i]), topic, line,
                                        sizeof line)) {
            snprintf(err, errlen, "%s", line);
            return -1;
        } else {
            const char *s = rd_kafka_topic_result_error_string(tr[i]);
            snprintf(err, errlen, "creating topic %s: %s", topic, s ? s : rd_kafka_err2str(e));
            return -1;
        }
    }
    return 0;
}

void kafka_producer_wait_topic(kafka_producer *p, const char *topic, int timeout_ms)
{
    if (kafka_topic_visible(p->rk, topic, 2000))
        kafka_topic_wait_ready(p->rk, topic, 1, timeout_ms, "kafka", TOPIC_NOT_READY);
}

int kafka_producer_ensure_topic(kafka_producer *p, const char *topic, int partitions,
                                int replication, int timeout_ms, char *err, size_t errlen)
{
    char why[512];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(topic, partitions, replication, why, sizeof why);
    if (!nt) {
        snprintf(err, errlen, "topic %s: %s", topic, why);
        return -1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(p->rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(p->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, why, sizeof why);
    rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, why, sizeof why);
    rd_kafka_CreateTopics(p->rk, &nt, 1, ao, q);
    /* The admin request itself is bounded by the request timeout; the margin covers the
     * time spent finding a controller. Polled in slices so that a security failure (an error
     * event, retried by librdkafka for ever) ends the wait at once. */
    rd_kafka_event_t *ev = NULL;
    for (int waited = 0; !ev && waited < timeout_ms + 5000 && !p->sec_err[0]; waited += 100) {
        ev = rd_kafka_queue_poll(q, 100);
        rd_kafka_poll(p->rk, 0);
    }
    int rc;
    if (!ev && p->sec_err[0]) {
        snprintf(err, errlen, "%s", p->sec_err);
        rc = -1;
    } else if (!ev) {
        snprintf(err, errlen, "creating topic %s: no answer within %d ms (brokers unreachable?)",
                 topic, timeout_ms);
        rc = -1;
    } else {
        rc = topic_result(p, ev, topic, partitions, timeout_ms, err, errlen);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return rc;
}

rd_kafka_topic_t *kafka_producer_topic(kafka_producer *p, const char *topic)
{
    for (size_t i = 0; i < p->ntopics; i++)
        if (strcmp(rd_kafka_topic_name(p->topics[i]), topic) == 0) return p->topics[i];
    rd_kafka_topic_t *t = rd_kafka_topic_new(p->rk, topic, NULL);
    if (t && p->ntopics < MAX_TOPICS) p->topics[p->ntopics++] = t;
    /* Beyond MAX_TOPICS the handle is still valid: librdkafka keeps topics by name and
     * rd_kafka_topic_new returns a new reference to the same one; it is released at free. */
    return t;
}

static rd_kafka_resp_err_t produce_once(kafka_producer *p, rd_kafka_topic_t *t, int32_t part,
                                        const void *key, size_t klen, const void *value,
                                        size_t vlen, const kafka_header *hdrs, size_t nhdrs,
                                        void *opaque)
{
    if (!nhdrs) {
        return rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(part),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)value, vlen),
                                 RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    }
    rd_kafka_headers_t *h = rd_kafka_headers_new(nhdrs);
    for (size_t i = 0; i < nhdrs; i++)
        rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].value, (ssize_t)hdrs[i].len);
    rd_kafka_resp_err_t e =
        rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(part),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                          RD_KAFKA_V_VALUE((void *)value, vlen), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (e) rd_kafka_headers_destroy(h); /* on success the message owns them */
    return e;
}

rd_kafka_resp_err_t kafka_producer_send(kafka_producer *p, rd_kafka_topic_t *topic,
                                        int32_t partition, const void *key, size_t klen,
                                        const void *value, size_t vlen, const kafka_header *hdrs,
                                        size_t nhdrs, void *msg_opaque)
{
    for (;;) {
        rd_kafka_resp_err_t e =
            produce_once(p, topic, partition, key, klen, value, vlen, hdrs, nhdrs, msg_opaque);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            p->st.sent++;
            return e;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) return e;
        if (p->abort_flag && *p->abort_flag) return e;
        /* The local queue is full: serving delivery reports frees room as the brokers
         * acknowledge. Messages time out (message.timeout.ms) if the brokers never do, so
         * this cannot wait forever. */
        p->st.queue_full++;
        rd_kafka_poll(p->rk, 10);
    }
}

void kafka_producer_set_abort(kafka_producer *p, volatile sig_atomic_t *flag)
{
    p->abort_flag = flag;
}

int kafka_producer_poll(kafka_producer *p, int timeout_ms)
{
    return rd_kafka_poll(p->rk, timeout_ms);
}

int kafka_producer_flush(kafka_producer *p, int timeout_ms)
{
    rd_kafka_flush(p->rk, timeout_ms);
    /* rd_kafka_flush serves the delivery callbacks; a last poll catches reports that arrived
     * just at the deadline. */
    rd_kafka_poll(p->rk, 0);
    return rd_kafka_outq_len(p->rk);
}

int kafka_producer_outstanding(kafka_producer *p)
{
    return rd_kafka_outq_len(p->rk);
}

void kafka_producer_get_stats(const kafka_producer *p, kafka_producer_stats *st)
{
    *st = p->st;
}

bool kafka_producer_fatal(kafka_producer *p, char *err, size_t errlen)
{
    if (p->sec_err[0]) {
        snprintf(err, errlen, "%s", p->sec_err);
        return true;
    }
    char why[512];
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(p->rk, why, sizeof why);
    if (!e) return false;
    snprintf(err, errlen, "%s: %s", rd_kafka_err2name(e), why);
    return true;
}

rd_kafka_t *kafka_producer_handle(kafka_producer *p)
{
    return p->rk;
}

void kafka_producer_free(kafka_producer *p)
{
    if (!p) return;
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(p->rk, 0); /* purged messages get their (failed) delivery reports */
    for (size_t i = 0; i < p->ntopics; i++) rd_kafka_topic_destroy(p->topics[i]);
    rd_kafka_destroy(p->rk);
    free(p);
}
