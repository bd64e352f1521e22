/* `rtetl dlq replay`: sends dead letters back, as the original messages, once the cause is
 * fixed.
 *
 * DESIGN: one blocking loop reads the dead-letter topic (kafka/reader.h, bounded by the high
 * watermarks at start) and re-produces each chosen record with an idempotent, acks=all
 * producer. The replay's consumer group remembers how far it got: a dead-letter offset is
 * committed only when that record and every record before it in its partition is settled --
 * its copy acknowledged by the brokers, or skipped (filtered out, over --max-replays,
 * truncated). An interrupted replay (signal, crash, --max-messages) thus resumes after the
 * last settled record, and each dead letter moves once (at least once; a second copy only when
 * the process dies between an acknowledgement and the next commit, at most the last second).
 * Per dead-letter partition a FIFO of records in flight gives the committable offset: its head
 * is the first record not settled. A failed delivery stays unsettled, so it and what follows
 * it are read again by the next run; the run stops reading at the first failure. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/dlq_impl.h"
#include "kafka/conf.h"
#include "kafka/producer.h"
#include "stream/dlq_meta.h"
#include "util/log.h"

typedef struct replay_cli {
    const char *brokers, *topic, *source_topic, *to, *group, *since, *until, *kafka_config;
    long long partition, from_offset, to_offset, max_replays, max_messages, show;
    double drain_timeout;
    bool dry_run;
    opt_list reasons, props;
} replay_cli;

#define F(x) offsetof(replay_cli, x)
static const opt_spec specs[] = {
    DLQ_TOPIC_SPECS(F),
    {"to", 0, OPT_STR, F(to), NULL, "TOPIC",
     "Send every record to TOPIC (partitioned by key) instead of its source topic and partition",
     OPT_NO_ENV, 0, 0},
    {"group", 'g', OPT_STR, F(group), NULL, "ID",
     "Consumer group keeping the replay's progress [rtetl-dlq-replay-<dead-letter topic>]",
     OPT_NO_ENV, 0, 0},
    {"reason", 'r', OPT_LIST, F(reasons), NULL, "R[,R...]",
     "Only dead letters with these rtetl.error reasons (repeatable)", 0, 0, 0},
    {"partition", 'P', OPT_INT, F(partition), "-1", "N", "Only records of this source partition",
     OPT_NO_ENV, -1, 2147483647},
    {"from-offset", 0, OPT_INT, F(from_offset), "-1", "N",
     "Only records at this source offset or later", OPT_NO_ENV, -1, INT64_MAX},
    {"to-offset", 0, OPT_INT, F(to_offset), "-1", "N",
     "Only records at this source offset or earlier", OPT_NO_ENV, -1, INT64_MAX},
    {"since", 0, OPT_STR, F(since), NULL, "TIME",
     "Only records dead-lettered at or after TIME: a duration ago (2h) or an RFC 3339 UTC time",
     OPT_NO_ENV, 0, 0},
    {"until", 0, OPT_STR, F(until), NULL, "TIME",
     "Only records dead-lettered at or before TIME (as --since)", OPT_NO_ENV, 0, 0},
    {"max-replays", 0, OPT_INT, F(max_replays), "3", "N",
     "Leave records already replayed N times (header rtetl.replay.count) where they are", 0, 1,
     1000000},
    {"max-messages", 'n', OPT_INT, F(max_messages), "0", "N",
     "Replay at most N records in this run (0: all); a later run resumes after them", OPT_NO_ENV, 0,
     INT64_MAX},
    {"dry-run", 0, OPT_BOOL, F(dry_run), "false", NULL,
     "Print what would be replayed (counts and the first records); produce and commit nothing",
     OPT_NO_ENV, 0, 0},
    {"show", 0, OPT_INT, F(show), "10", "N", "Records listed by --dry-run and in reports", 0, 0,
     1000000},
    {"drain-timeout", 0, OPT_DURATION, F(drain_timeout), "60s", "DURATION",
     "Bound on waiting for the last acknowledgements at the end", 0, 0, 0},
    CLI_KAFKA_CONFIG_SPEC(F),
    {"property", 'X', OPT_LIST, F(props), NULL, "KEY=VALUE",
     "librdkafka property for the consumer and the producer (repeatable)", 0, 0, 0},
};
#undef F
#define NSPECS (sizeof specs / sizeof specs[0])

static const char extra[] =
    "Each chosen dead letter is sent back as the original message: its value, key and original\n"
    "headers (no rtetl.* ones), plus rtetl.replay.count = previous count + 1, to the topic and\n"
    "partition in rtetl.source.topic and rtetl.source.partition (or to --to). Records replayed\n"
    "--max-replays times already, and records whose value was truncated when dead-lettered\n"
    "(rtetl.truncated), are not replayed and are reported. A dead letter of one target of a\n"
    "fan-out pipeline (rtetl.target) goes back with rtetl.replay.target, and `rtetl stream`\n"
    "writes it to that target only. The run ends at the high watermarks\n"
    "seen at start. The group's offsets advance over every record the run settled: replayed\n"
    "and acknowledged, or skipped, including those the filters left out; a later run with the\n"
    "same group does not see them again (use another --group to replay those).\n"
    "Exit codes: 0 done (or stopped by SIGINT/SIGTERM, progress committed); 1 a delivery failed\n"
    "or Kafka unreachable; 2 usage error.\n";

enum { PEND_FLIGHT, PEND_DONE, PEND_FAILED };

typedef struct pend {
    struct pend *next;
    int64_t offset; /* in the dead-letter topic */
    int state;
} pend;

typedef struct track {
    pend *head, *tail;
    int64_t next;      /* committable: next offset after the settled prefix; -1 none yet */
    int64_t committed; /* last committed by this run; -1 none */
} track;

typedef struct replay {
    replay_cli *c;
    stream_dlq_filter filter;
    kafka_reader *rd;
    kafka_producer *prod;
    track *tr;
    int32_t ntr;
    char topic[512], group[600];
    uint64_t read, sent, delivered, failed, filtered, over_max, truncated, no_source, reported;
    dlq_tally by_reason;
} replay;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_delivery(void *arg, void *opaque, rd_kafka_resp_err_t err,
                        const rd_kafka_message_t *m)
{
    replay *r = arg;
    pend *p = opaque;
    p->state = err ? PEND_FAILED : PEND_DONE;
    if (err)
        r->failed++;
    else
        r->delivered++;
}

/* Appends a record of dead-letter partition `part` to its FIFO; NULL when out of memory. */
static pend *track_push(replay *r, int32_t part, int64_t offset, int state)
{
    pend *p = malloc(sizeof *p);
    if (!p) return NULL;
    *p = (pend){NULL, offset, state};
    track *t = &r->tr[part];
    if (t->tail)
        t->tail->next = p;
    else
        t->head = p;
    t->tail = p;
    return p;
}

/* Drops the settled head of every FIFO, advancing the committable offsets; then commits
 * them when they moved. */
static int settle_and_commit(replay *r, char *err, size_t errlen)
{
    int64_t offs[r->ntr];
    bool moved = false;
    for (int32_t i = 0; i < r->ntr; i++) {
        track *t = &r->tr[i];
        while (t->head && t->head->state == PEND_DONE) {
            pend *p = t->head;
            t->next = p->offset + 1;
            t->head = p->next;
            if (!t->head) t->tail = NULL;
            free(p);
        }
        offs[i] = t->next > t->committed ? t->next : -1;
        moved |= offs[i] >= 0;
    }
    if (!moved || r->c->dry_run) return 0;
    if (kafka_reader_commit(r->rd, offs, err, errlen)) return -1;
    for (int32_t i = 0; i < r->ntr; i++)
        if (offs[i] >= 0) r->tr[i].committed = offs[i];
    return 0;
}

static void print_record(const char *what, const replay *r, const rd_kafka_message_t *m,
                         const stream_dlq_info *d)
{
    int klen = m->key_len > 40 ? 40 : (int)m->key_len;
    printf("%s: %s [%" PRId32 "] offset %" PRId64 ": source %s [%" PRId32 "] offset %" PRId64
           ", reason %s, replayed %lld time(s), key '%.*s'\n",
           what, r->topic, m->partition, m->offset, d->source_topic[0] ? d->source_topic : "?",
           d->source_partition, d->source_offset, d->reason, d->replay_count, klen,
           m->key ? (const char *)m->key : "");
}

/* Reports a record left where it is (not a filter's choice): listed up to --show. */
static void report_skip(replay *r, const char *why, const rd_kafka_message_t *m,
                        const stream_dlq_info *d)
{
    if (r->reported++ < (uint64_t)r->c->show) print_record(why, r, m, d);
}

static rd_kafka_resp_err_t produce_copy(replay *r, const rd_kafka_message_t *m,
                                        const stream_dlq_info *d, pend *p)
{
    rd_kafka_headers_t *dh = NULL;
    if (rd_kafka_message_headers(m, &dh)) dh = NULL;
    rd_kafka_headers_t *h = stream_dlq_replay_headers(dh);
    size_t n = rd_kafka_header_cnt(h);
    kafka_header hv[n];
    for (size_t i = 0; i < n; i++)
        rd_kafka_header_get_all(h, i, &hv[i].name, &hv[i].value, &hv[i].len);
    const char *to = r->c->to ? r->c->to : d->source_topic;
    int32_t part =
        r->c->to || d->source_partition < 0 ? RD_KAFKA_PARTITION_UA : d->source_partition;
    rd_kafka_resp_err_t e = kafka_producer_send(r->prod, kafka_producer_topic(r->prod, to), part,
                                                m->key, m->key_len, m->payload, m->len, hv, n, p);
    rd_kafka_headers_destroy(h);
    return e;
}

/* Decides what becomes of one dead letter. Returns -1 to stop reading (out of memory, or a
 * send refused), with err filled. */
static int handle(replay *r, const rd_kafka_message_t *m, char *err, size_t errlen)
{
    stream_dlq_info d;
    int64_t ts = stream_dlq_info_of(m, &d);
    r->read++;
    bool take = false;
    if (!stream_dlq_filter_match(&r->filter, &d, ts)) {
        r->filtered++;
    } else if (d.truncated) {
        r->truncated++;
        report_skip(r, "not replayed (value truncated when dead-lettered)", m, &d);
    } else if (d.replay_count >= r->c->max_replays) {
        r->over_max++;
        report_skip(r, "not replayed (--max-replays reached)", m, &d);
    } else if (!r->c->to && !d.source_topic[0]) {
        r->no_source++;
        report_skip(r, "not replayed (no rtetl.source.topic header; use --to)", m, &d);
    } else {
        take = true;
    }
    if (take && dlq_tally_add(&r->by_reason, d.reason, NULL)) take = false;
    pend *p =
        track_push(r, m->partition, m->offset, take && !r->c->dry_run ? PEND_FLIGHT : PEND_DONE);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!take) return 0;
    if (r->c->dry_run) {
        if (r->sent < (uint64_t)r->c->show) print_record("would replay", r, m, &d);
        r->sent++;
        return 0;
    }
    rd_kafka_resp_err_t e = produce_copy(r, m, &d, p);
    if (e) {
        /* Not taken (stopping while the queue is full, or an unknown topic): it stays
         * unsettled, so the next run reads it again. */
        p->state = PEND_FAILED;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && stop_flag) return 0; /* stopping: not sent */
        snprintf(err, errlen, "cannot send to %s: %s", r->c->to ? r->c->to : d.source_topic,
                 rd_kafka_err2str(e));
        r->failed++;
        return -1;
    }
    r->sent++;
    return 0;
}

static int setup(replay *r, replay_cli *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->reasons.n; i++)
        if (stream_dlq_filter_add_reasons(&r->filter, c->reasons.items[i], err, errlen)) return -1;
    r->filter.partition = (int32_t)c->partition;
    r->filter.from_offset = c->from_offset;
    r->filter.to_offset = c->to_offset;
    int64_t now = (int64_t)time(NULL) * 1000;
    if (c->since && stream_dlq_parse_time(c->since, now, &r->filter.since_ms)) {
        snprintf(err, errlen, "option --since: expected a duration or an RFC 3339 UTC time");
        return -1;
    }
    if (c->until && stream_dlq_parse_time(c->until, now, &r->filter.until_ms)) {
        snprintf(err, errlen, "option --until: expected a duration or an RFC 3339 UTC time");
        return -1;
    }
    if (dlq_topic_name(c->topic, c->source_topic, r->topic, sizeof r->topic, err, errlen))
        return -1;
    if (c->group)
        snprintf(r->group, sizeof r->group, "%s", c->group);
    else
        snprintf(r->group, sizeof r->group, "rtetl-dlq-replay-%s", r->topic);
    return 0;
}

static int open_clients(replay *r, char *err, size_t errlen)
{
    if (!(r->rd = dlq_open_reader(r->c->brokers, &r->c->props, r->topic, r->group, err, errlen)))
        return -1;
    r->ntr = kafka_reader_partitions(r->rd);
    if (!(r->tr = calloc((size_t)r->ntr, sizeof *r->tr))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int32_t i = 0; i < r->ntr; i++) r->tr[i].next = r->tr[i].committed = -1;
    if (r->c->dry_run) return 0;
    /* Idempotence keeps each partition in send order whatever the retries; no delivery
     * timeout of our own beyond librdkafka's default message.timeout.ms. */
    static const char *const defaults[] = {"client.id=rtetl-dlq-replay",
                                           "enable.idempotence=true",
                                           "acks=all",
                                           "linger.ms=5",
                                           "message.max.bytes=67108864",
                                           NULL};
    rd_kafka_conf_t *conf = kafka_conf_new(r->c->brokers, defaults, &r->c->props, err, errlen);
    if (!conf) return -1;
    kafka_conf_route_logs(conf);
    if (!(r->prod = kafka_producer_new(conf, on_delivery, r, err, errlen))) return -1;
    kafka_producer_set_abort(r->prod, &stop_flag);
    return 0;
}

/* Reads to the end (or a stop), producing as it goes; commits every second. */
static int run_loop(replay *r, char *err, size_t errlen)
{
    struct timespec last, now;
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (!stop_flag && !kafka_reader_done(r->rd) && !r->failed &&
           !(r->c->max_messages && r->sent >= (uint64_t)r->c->max_messages)) {
        bool failed = false;
        rd_kafka_message_t *m = kafka_reader_next(r->rd, 100, &failed, err, errlen);
        if (failed) return -1;
        int rc = m ? handle(r, m, err, errlen) : 0;
        if (m) rd_kafka_message_destroy(m);
        if (rc) return -1;
        if (r->prod) kafka_producer_poll(r->prod, 0);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec != last.tv_sec) {
            last = now;
            if (settle_and_commit(r, err, errlen)) return -1;
        }
    }
    return 0;
}

static void print_summary(const replay *r)
{
    bool dry = r->c->dry_run;
    printf("%s %s (group %s): read %" PRIu64 ", %s %" PRIu64 ", filtered out %" PRIu64
           ", not replayed %" PRIu64 " (max replays %" PRIu64 ", truncated %" PRIu64
           ", no source %" PRIu64 ")%s\n",
           dry ? "dry run of" : "replay of", r->topic, r->group, r->read,
           dry ? "would replay" : "replayed", dry ? r->sent : r->delivered, r->filtered,
           r->over_max + r->truncated + r->no_source, r->over_max, r->truncated, r->no_source,
           stop_flag ? " -- stopped early" : "");
    printf("%s by reason: ", dry ? "would replay" : "replayed");
    dlq_tally_print(&r->by_reason, stdout);
    printf("\nsummary: read=%" PRIu64 " replayed=%" PRIu64 " delivered=%" PRIu64 " failed=%" PRIu64
           " filtered=%" PRIu64 " max_replays=%" PRIu64 " truncated=%" PRIu64 " no_source=%" PRIu64
           " dry_run=%s\n",
           r->read, r->sent, r->delivered, r->failed, r->filtered, r->over_max, r->truncated,
           r->no_source, dry ? "true" : "false");
    fflush(stdout);
}

/* Waits for the acknowledgements (bounded), drops what is left, commits the settled prefix. */
static int finish(replay *r, char *err, size_t errlen)
{
    if (r->prod) {
        int left = kafka_producer_flush(r->prod, (int)(r->c->drain_timeout * 1000));
        if (left) log_warn("dlq", "records still unacknowledged at the end", "count=%d", left);
        kafka_producer_free(r->prod); /* purged records get failed reports */
        r->prod = NULL;
    }
    return settle_and_commit(r, err, errlen);
}

static void replay_free(replay *r)
{
    kafka_producer_free(r->prod);
    kafka_reader_free(r->rd);
    for (int32_t i = 0; r->tr && i < r->ntr; i++) {
        for (pend *p = r->tr[i].head, *n; p; p = n) {
            n = p->next;
            free(p);
        }
    }
    free(r->tr);
    stream_dlq_filter_free(&r->filter);
    dlq_tally_free(&r->by_reason);
}

int dlq_replay(int argc, char **argv)
{
    replay_cli c;
    opt_result res;
    int code;
    if (cli_parse("dlq replay", "rtetl dlq replay --topic T.dlq | --source-topic T [options]",
                  "Send dead letters back to their source topic, each once.", extra, specs, NSPECS,
                  argc, argv, &c, &res, &code))
        return code;
    char err[1024] = "";
    replay r = {.c = &c};
    kafka_conf_text kconf = {0};
    stream_dlq_filter_init(&r.filter);
    if (res.npos > 0) {
        code = cli_usage_error("dlq replay", "unexpected argument '%s'", res.pos[0]);
        goto out;
    }
    if ((code = cli_kafka_config("dlq replay", c.kafka_config, &c.props, &kconf)) != 0) goto out;
    if (setup(&r, &c, err, sizeof err)) {
        code = cli_usage_error("dlq replay", "%s", err);
        goto out;
    }
    stop_flag = 0;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (open_clients(&r, err, sizeof err)) {
        code = cli_fail("dlq replay", "%s", err);
        goto out;
    }
    int rc = run_loop(&r, err, sizeof err);
    char err2[512] = "";
    int rc2 = finish(&r, err2, sizeof err2);
    print_summary(&r);
    code = RT_EXIT_OK;
    if (rc) code = cli_fail("dlq replay", "%s", err);
    if (rc2) code = cli_fail("dlq replay", "%s", err2);
    if (r.failed)
        code = cli_fail("dlq replay",
                        "%" PRIu64 " record(s) not delivered; they stay in %s for "
                        "the next run",
                        r.failed, r.topic);
out:
    replay_free(&r);
    kafka_conf_file_free(&kconf);
    opt_result_free(&res);
    opt_free(specs, NSPECS, &c);
    return code;
}
