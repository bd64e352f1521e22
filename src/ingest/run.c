/* The ingest loop (see ingest.h).
 *
 * DESIGN: one thread takes a record (from the generator thread's ring, see genq.c, or
 * formatted from an API answer into a reused buffer), hands it to librdkafka (which copies it
 * and does batching, compression and retries on its own threads), and every few hundred
 * records serves delivery reports and looks at the clock. A full local
 * queue is handled in kafka_producer_send by serving reports until there is room, so the
 * generator is throttled by the brokers rather than dropping. Stopping (limit, signal, fatal
 * error) always ends in a flush, and the exit status reflects every record that was not
 * acknowledged. */
#include "ingest/ingest.h"

#include "ingest/api.h"
#include "ingest/genq.h"
#include "ingest/id.h"
#include "kafka/conf.h"
#include "kafka/producer.h"
#include "kafka/security.h"
#include "util/log.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

const char *const ingest_producer_defaults[] = {
    "client.id=rtetl-ingest",
    "enable.idempotence=true", /* no duplicates from producer retries, order kept */
    "acks=all",
    "compression.type=lz4",
    /* linger.ms follows the rate: ingest_linger_ms. */
    "batch.num.messages=10000",
    "batch.size=1048576",
    "queue.buffering.max.messages=500000", /* about 250 MB of records at most in flight */
    "queue.buffering.max.kbytes=262144",
    NULL,
};

#define POLL_EVERY 256 /* records between delivery-report polls and clock reads */

typedef struct source {
    ingest_idgen ids;  /* API source: ids made here */
    ingest_genq *genq; /* builtin source: records made on the generator thread */
    ingest_api *api;   /* API source */
    ingest_api_batch *batch;
    size_t pos, n;
    ingest_user user;
} source;

/* The next message: borrowed from the generator ring or from run.value/run.id. */
typedef struct record_ref {
    const char *id, *value;
    size_t len;
} record_ref;

typedef struct run {
    const ingest_config *c;
    char id[INGEST_ID_LEN];
    source src;
    kafka_producer *p;
    rd_kafka_topic_t *topic;
    ingest_buf value;
    double start, next_progress, last_progress_t;
    unsigned long long last_progress_sent, bad_records;
} run;

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static bool stopping(const run *r)
{
    return r->c->stop && *r->c->stop > 0;
}

/* Waiting between API retries serves delivery reports instead of sleeping. */
static void api_wait(void *arg, int ms)
{
    run *r = arg;
    kafka_producer_poll(r->p, ms);
}

static ingest_err source_open(run *r, char *err, size_t errlen)
{
    const ingest_config *c = r->c;
    source *s = &r->src;
    ingest_idgen_init(&s->ids, c->has_seed ? &c->seed : NULL);
    if (!c->api_url) {
        s->genq = ingest_genq_start(c->has_seed ? &c->seed : NULL, c->count, err, errlen);
        return s->genq ? INGEST_OK : INGEST_ERR_SYSTEM;
    }
    ingest_api_opts o = {
        .url = c->api_url,
        .results = c->results,
        .timeout = c->http_timeout,
        .connect_timeout = c->http_timeout < 5 ? c->http_timeout : 5,
        .max_retries = c->max_retries,
        .backoff = 0.1,
        .backoff_max = 10,
        .seed = c->has_seed ? c->seed_text : NULL,
        .stop = c->stop,
        .wait = api_wait,
        .wait_arg = r,
    };
    s->api = ingest_api_new(&o, err, errlen);
    return s->api ? INGEST_OK : INGEST_ERR_CONFIG;
}

static void source_close(source *s)
{
    ingest_genq_stop(s->genq);
    ingest_api_batch_free(s->batch);
    ingest_api_free(s->api);
}

static void note_bad_record(run *r, const char *why)
{
    r->bad_records++;
    /* The first few are all logged; after that one in a thousand, so a broken API cannot
     * flood the log. */
    if (r->bad_records <= 10 || r->bad_records % 1000 == 0) {
        char q[512];
        log_warn("ingest", "skipping a bad API result", "count=%llu reason=%s", r->bad_records,
                 log_quote(q, sizeof q, why));
    }
}

/* Produces the next user from the API into *u, fetching a new answer when needed. */
static ingest_err api_next(run *r, unsigned long long sent, const ingest_user **u, char *err,
                           size_t errlen)
{
    source *s = &r->src;
    for (;;) {
        while (s->pos < s->n) {
            char why[256];
            if (ingest_api_batch_user(s->batch, s->pos++, &s->user, why, sizeof why) == INGEST_OK) {
                *u = &s->user;
                return INGEST_OK;
            }
            note_bad_record(r, why);
        }
        ingest_api_batch_free(s->batch);
        s->batch = NULL;
        s->pos = s->n = 0;
        long want = r->c->results;
        if (r->c->count && r->c->count - sent < (unsigned long long)want)
            want = (long)(r->c->count - sent);
        ingest_err e = ingest_api_fetch(s->api, want, &s->batch, err, errlen);
        if (e) return e;
        s->n = ingest_api_batch_size(s->batch);
        if (s->n == 0) log_warn("ingest", "API answered with no results");
    }
}

/* Finds the next record: from the generator ring, or formatted from the API into r->value. */
static ingest_err next_record(run *r, unsigned long long sent, record_ref *out, char *err,
                              size_t errlen)
{
    if (r->src.genq) {
        for (;;) {
            bool done;
            const ingest_genq_rec *g = ingest_genq_peek(r->src.genq, &done);
            if (g) {
                *out = (record_ref){g->id, g->data, g->len};
                return INGEST_OK;
            }
            if (done || stopping(r)) return INGEST_ERR_STOPPED;
            kafka_producer_poll(r->p, 1); /* the generator is behind: serve reports */
        }
    }
    const ingest_user *u;
    ingest_err e = api_next(r, sent, &u, err, errlen);
    if (e) return e;
    ingest_id_next(&r->src.ids, r->id);
    r->value.len = 0;
    ingest_record_write(&r->value, r->id, u);
    *out = (record_ref){r->id, r->value.p, r->value.len};
    return INGEST_OK;
}

static void progress(run *r, double t)
{
    kafka_producer_stats st;
    kafka_producer_get_stats(r->p, &st);
    double dt = t - r->last_progress_t;
    double rate = dt > 0 ? (double)(st.sent - r->last_progress_sent) / dt : 0;
    ingest_api_stats as = {0};
    if (r->src.api) ingest_api_get_stats(r->src.api, &as);
    log_info("ingest", "progress",
             "sent=%llu delivered=%llu failed=%llu rate=%.0f/s queued=%d bad_records=%llu "
             "api_retries=%llu",
             st.sent, st.delivered, st.failed, rate, kafka_producer_outstanding(r->p),
             r->bad_records, as.retries);
    r->last_progress_t = t;
    r->last_progress_sent = st.sent;
}

/* Sleeps (serving delivery reports) until sending record number `sent` keeps the rate. */
static void pace(run *r, unsigned long long sent, double t)
{
    double due = r->start + (double)sent / r->c->rate;
    while (t < due && !stopping(r)) {
        double wait = due - t;
        kafka_producer_poll(r->p, wait > 0.1 ? 100 : (int)ceil(wait * 1000));
        t = now_mono();
    }
}

/* Checks clock-based limits and duties; returns false when the run should end. */
static bool tick(run *r, unsigned long long sent, double deadline, char *err, size_t errlen,
                 ingest_err *fail)
{
    kafka_producer_poll(r->p, 0);
    double t = now_mono();
    if (t >= deadline) return false;
    if (!r->c->quiet && t >= r->next_progress) {
        progress(r, t);
        r->next_progress = t + r->c->progress_interval;
    }
    if (kafka_producer_fatal(r->p, err, errlen)) {
        *fail = INGEST_ERR_KAFKA;
        return false;
    }
    return true;
}

static ingest_err produce_loop(run *r, char *err, size_t errlen)
{
    const ingest_config *c = r->c;
    double deadline = c->duration > 0 ? r->start + c->duration : INFINITY;
    record_ref rec;
    ingest_err fail = INGEST_OK;
    for (unsigned long long sent = 0; !stopping(r); sent++) {
        if (c->count && sent >= c->count) break;
        if (sent % POLL_EVERY == 0 && !tick(r, sent, deadline, err, errlen, &fail)) break;
        if (c->rate > 0) {
            pace(r, sent, now_mono());
            if (stopping(r) || now_mono() >= deadline) break;
        }
        ingest_err e = next_record(r, sent, &rec, err, errlen);
        if (e == INGEST_ERR_STOPPED) break;
        if (e) return e;
        rd_kafka_resp_err_t ke =
            kafka_producer_send(r->p, r->topic, RD_KAFKA_PARTITION_UA, rec.id, INGEST_ID_LEN,
                                rec.value, rec.len, NULL, 0, NULL);
        if (r->src.genq) ingest_genq_pop(r->src.genq);
        if (ke == RD_KAFKA_RESP_ERR__QUEUE_FULL && stopping(r)) break; /* not taken: not sent */
        if (ke) {
            /* A missing ACL can be known before any send (the topic's metadata said so). */
            if (!kafka_security_error(ke, NULL, c->topic, err, errlen))
                snprintf(err, errlen, "cannot produce to %s: %s", c->topic, rd_kafka_err2str(ke));
            return INGEST_ERR_KAFKA;
        }
    }
    return fail;
}

/* Waits for deliveries in slices, so a second signal can cut the wait short. */
static void flush_all(run *r)
{
    double end = now_mono() + r->c->flush_timeout;
    int left = kafka_producer_outstanding(r->p);
    if (left > 0)
        log_info("ingest", "flushing", "outstanding=%d timeout=%.0fs%s", left, r->c->flush_timeout,
                 stopping(r) ? " hint=\"signal again to abandon\"" : "");
    char why[8];
    /* A fatal or security failure (kafka_producer_fatal) delivers nothing more: do not wait. */
    while (left > 0 && now_mono() < end && !(r->c->stop && *r->c->stop > 1) &&
           !kafka_producer_fatal(r->p, why, sizeof why))
        left = kafka_producer_flush(r->p, 100);
}

static void summarize(run *r, ingest_result *res)
{
    kafka_producer_stats st;
    kafka_producer_get_stats(r->p, &st);
    ingest_api_stats as = {0};
    if (r->src.api) ingest_api_get_stats(r->src.api, &as);
    res->sent = st.sent;
    res->delivered = st.delivered;
    res->undelivered = st.sent - st.delivered;
    res->bad_records = r->bad_records;
    res->api_errors = as.net_errors + as.http_errors + as.bad_answers;
    res->queue_full = st.queue_full;
    res->elapsed = now_mono() - r->start;
    res->cpu = cpu_seconds();
    log_info("ingest", "summary",
             "topic=%s sent=%llu delivered=%llu undelivered=%llu bad_records=%llu "
             "api_requests=%llu api_errors=%llu elapsed=%.3fs rate=%.0f/s cpu=%.2fs "
             "queue_full_waits=%llu",
             r->c->topic, res->sent, res->delivered, res->undelivered, res->bad_records,
             as.requests, res->api_errors, res->elapsed,
             res->elapsed > 0 ? (double)res->delivered / res->elapsed : 0, res->cpu, st.queue_full);
}

int ingest_linger_ms(double rate)
{
    if (rate <= 0) return 10;
    double ms = rate / 1000.0 - 1.0;
    return ms <= 0 ? 0 : ms >= 10 ? 10 : (int)ms;
}

static ingest_err setup(run *r, char *err, size_t errlen)
{
    const ingest_config *c = r->c;
    const char *defaults[24];
    size_t n = 0;
    for (; ingest_producer_defaults[n] && n < 22; n++) defaults[n] = ingest_producer_defaults[n];
    char linger[32];
    snprintf(linger, sizeof linger, "linger.ms=%d", ingest_linger_ms(c->rate));
    defaults[n++] = linger;
    defaults[n] = NULL;
    rd_kafka_conf_t *conf = kafka_conf_new(c->brokers, defaults, c->props, err, errlen);
    if (!conf) return INGEST_ERR_CONFIG;
    kafka_conf_route_logs(conf);
    r->p = kafka_producer_new(conf, NULL, NULL, err, errlen);
    if (!r->p) return INGEST_ERR_CONFIG;
    kafka_producer_set_abort(r->p, c->stop); /* a stop ends a wait for queue room */
    if (c->create_topic && kafka_producer_ensure_topic(r->p, c->topic, c->partitions,
                                                       c->replication, 15000, err, errlen))
        return INGEST_ERR_KAFKA;
    /* A topic made by someone else may be brand new too (see kafka_topic_wait_ready). */
    if (!c->create_topic) kafka_producer_wait_topic(r->p, c->topic, 15000);
    r->topic = kafka_producer_topic(r->p, c->topic);
    if (!r->topic) {
        snprintf(err, errlen, "topic %s: %s", c->topic, rd_kafka_err2str(rd_kafka_last_error()));
        return INGEST_ERR_CONFIG;
    }
    return source_open(r, err, errlen);
}

ingest_err ingest_run(const ingest_config *c, ingest_result *res, char *err, size_t errlen)
{
    run r;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    r.c = c;
    ingest_buf_init(&r.value);
    ingest_err e = setup(&r, err, errlen);
    if (e == INGEST_OK) {
        log_info("ingest", "started", "topic=%s source=%s count=%llu duration=%.3fs rate=%.0f/s",
                 c->topic, c->api_url ? "api" : "builtin", c->count, c->duration, c->rate);
        r.start = r.last_progress_t = now_mono();
        r.next_progress = r.start + c->progress_interval;
        e = produce_loop(&r, err, errlen);
        char ferr[600];
        flush_all(&r);
        summarize(&r, res);
        /* A fatal or security failure explains undelivered records: it is the one line. */
        if (e == INGEST_OK && kafka_producer_fatal(r.p, ferr, sizeof ferr)) {
            bool security = strncmp(ferr, "kafka: ", 7) == 0;
            snprintf(err, errlen, "%s%s", security ? "" : "fatal Kafka error: ", ferr);
            e = INGEST_ERR_KAFKA;
        } else if (e == INGEST_OK && res->undelivered) {
            snprintf(err, errlen, "%llu of %llu records not delivered", res->undelivered,
                     res->sent);
            e = INGEST_ERR_KAFKA;
        }
    }
    source_close(&r.src);
    kafka_producer_free(r.p);
    ingest_buf_free(&r.value);
    return e;
}
