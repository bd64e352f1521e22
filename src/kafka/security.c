/* Kafka security failures as one line (see security.h). */
#include "kafka/security.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

bool kafka_security_error(rd_kafka_resp_err_t err, const char *reason, const char *what, char *out,
                          size_t outlen)
{
    const char *r = reason && *reason ? reason : rd_kafka_err2str(err);
    const char *w = what ? what : "", *sep = what ? " " : "";
    switch (err) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
        snprintf(out, outlen,
                 "kafka: SASL authentication failed: %s (check sasl.username and "
                 "sasl.password)",
                 r);
        return true;
    case RD_KAFKA_RESP_ERR__SSL:
        /* Only a verification failure is permanent; other TLS errors may be a broker restart. */
        if (!strstr(r, "verify")) return false;
        snprintf(out, outlen, "kafka: TLS: %s (check ssl.ca.location and the broker's certificate)",
                 r);
        return true;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        snprintf(out, outlen, "kafka: not authorized for topic%s%s: %s (missing ACL for this user)",
                 sep, w, r);
        return true;
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        snprintf(out, outlen,
                 "kafka: not authorized for consumer group%s%s: %s (missing READ ACL on the group "
                 "for this user)",
                 sep, w, r);
        return true;
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        snprintf(out, outlen,
                 "kafka: not authorized on the cluster: %s (missing ACL for this user)", r);
        return true;
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        snprintf(out, outlen, "kafka: not authorized for the transactional id: %s", r);
        return true;
    default: return false;
    }
}

bool kafka_security_log_duplicate(const char *buf)
{
    return strstr(buf, "SASL authentication error") || strstr(buf, "certificate verify failed");
}

bool kafka_topic_ready(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    if (!t) return false;
    const struct rd_kafka_metadata *md = NULL;
    bool ok = rd_kafka_metadata(rk, 0, t, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR && md &&
              md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
              md->topics[0].partition_cnt >= partitions;
    for (int i = 0; ok && partitions > 0 && i < md->topics[0].partition_cnt; i++)
        if (md->topics[0].partitions[i].err || md->topics[0].partitions[i].leader < 0) ok = false;
    /* Metadata names a leader before that broker has taken the partition on: it answers
     * requests for it with NOT_LEADER until then. ListOffsets goes to the leader and is refused
     * the same way, so its answer says the partition is ready for produce requests too. */
    for (int i = 0; ok && partitions > 0 && i < md->topics[0].partition_cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, md->topics[0].partitions[i].id, &lo, &hi,
                                             timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
            ok = false;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return ok;
}

void kafka_topic_wait_ready(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                            const char *comp, const char *warning)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (kafka_topic_ready(rk, topic, partitions, 2000)) return;
        usleep(50000);
    }
    log_warn(comp, warning, "topic=%s waited_ms=%d", topic, timeout_ms);
}

bool kafka_topic_visible(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    return kafka_topic_ready(rk, topic, 0, timeout_ms);
}
