/* `rtetl dlq`: dead-letter tooling. `stats` counts what a dead-letter topic holds; `replay`
 * (dlq_replay.c) sends the original messages back once the cause is fixed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dlq_impl.h"
#include "ingest/json.h"
#include "kafka/conf.h"
#include "stream/dlq_meta.h"

/* ---- shared helpers ---------------------------------------------------------------------- */

/* Copies s into out as printable, valid UTF-8 (the detail headers are bytes from the wire):
 * control characters become spaces and bytes of invalid sequences '?'. */
static void sanitize(char *out, size_t outlen, const char *s)
{
    size_t o = 0, len = strlen(s);
    for (size_t i = 0; i < len && o + 1 < outlen;) {
        unsigned char ch = (unsigned char)s[i];
        size_t n = ch < 0x80 ? 1 : ingest_utf8_seq((const unsigned char *)s + i, len - i);
        if (n == 0 || o + n >= outlen) {
            out[o++] = '?';
            i++;
            continue;
        }
        if (n == 1)
            out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
        else
            memcpy(out + o, s + i, n), o += n;
        i += n;
    }
    out[o] = '\0';
}

int dlq_tally_add(dlq_tally *t, const char *name, const char *sample)
{
    size_t i = 0;
    while (i < t->n && strcmp(t->items[i].name, name) != 0) i++;
    if (i == t->n) {
        dlq_tally_item *items = realloc(t->items, (t->n + 1) * sizeof *items);
        if (!items) return -1;
        t->items = items;
        memset(&items[i], 0, sizeof items[i]);
        snprintf(items[i].name, sizeof items[i].name, "%s", name);
        t->n++;
    }
    if (!t->items[i].sample[0] && sample)
        sanitize(t->items[i].sample, sizeof t->items[i].sample, sample);
    t->items[i].n++;
    return 0;
}

void dlq_tally_print(const dlq_tally *t, FILE *out)
{
    if (!t->n) fputs("none", out);
    for (size_t i = 0; i < t->n; i++)
        fprintf(out, "%s%s=%llu", i ? " " : "", t->items[i].name,
                (unsigned long long)t->items[i].n);
}

void dlq_tally_free(dlq_tally *t)
{
    free(t->items);
    t->items = NULL;
    t->n = 0;
}

int dlq_topic_name(const char *topic, const char *source_topic, char *out, size_t outlen, char *err,
                   size_t errlen)
{
    if (!topic == !source_topic) {
        snprintf(err, errlen, "give the dead-letter topic: --topic T.dlq or --source-topic T");
        return -1;
    }
    int n =
        topic ? snprintf(out, outlen, "%s", topic) : snprintf(out, outlen, "%s.dlq", source_topic);
    if (n <= 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "topic name too long");
        return -1;
    }
    return 0;
}

kafka_reader *dlq_open_reader(const char *brokers, const opt_list *props, const char *topic,
                              const char *group, char *err, size_t errlen)
{
    static const char *const defaults[] = {"client.id=rtetl-dlq", NULL};
    rd_kafka_conf_t *conf = kafka_conf_new(brokers, defaults, props, err, errlen);
    if (!conf) return NULL;
    kafka_conf_route_logs(conf);
    return kafka_reader_new(conf, topic, group, 30000, err, errlen);
}

/* ---- stats ------------------------------------------------------------------------------- */

typedef struct stats_cli {
    const char *brokers, *topic, *source_topic, *format, *kafka_config;
    opt_list props;
} stats_cli;

#define F(x) offsetof(stats_cli, x)
static const opt_spec stats_specs[] = {
    DLQ_TOPIC_SPECS(F),
    {"format", 0, OPT_STR, F(format), "table", "table|json", "Output format", OPT_NO_ENV, 0, 0},
    CLI_KAFKA_CONFIG_SPEC(F),
    {"property", 'X', OPT_LIST, F(props), NULL, "KEY=VALUE",
     "librdkafka property for the consumer (repeatable)", 0, 0, 0},
};
#undef F
#define NSTATS (sizeof stats_specs / sizeof stats_specs[0])

/* Counts of one source partition. */
typedef struct src_count {
    char topic[256];
    int32_t partition;
    uint64_t n;
} src_count;

typedef struct dlq_stats_acc {
    uint64_t total, truncated, replayed;
    int64_t oldest, newest; /* dead-letter times, ms; -1 none */
    dlq_tally reasons;
    src_count *src;
    size_t nsrc;
} dlq_stats_acc;

static int count_source(dlq_stats_acc *a, const stream_dlq_info *d)
{
    size_t i = 0;
    while (i < a->nsrc && !(a->src[i].partition == d->source_partition &&
                            strcmp(a->src[i].topic, d->source_topic) == 0))
        i++;
    if (i == a->nsrc) {
        src_count *s = realloc(a->src, (a->nsrc + 1) * sizeof *s);
        if (!s) return -1;
        a->src = s;
        snprintf(s[i].topic, sizeof s[i].topic, "%s", d->source_topic);
        s[i].partition = d->source_partition;
        s[i].n = 0;
        a->nsrc++;
    }
    a->src[i].n++;
    return 0;
}

static int stats_add(dlq_stats_acc *a, const rd_kafka_message_t *m)
{
    stream_dlq_info d;
    int64_t ts = stream_dlq_info_of(m, &d);
    a->total++;
    a->truncated += d.truncated;
    a->replayed += d.replay_count > 0;
    if (ts >= 0 && (a->oldest < 0 || ts < a->oldest)) a->oldest = ts;
    if (ts >= 0 && ts > a->newest) a->newest = ts;
    return dlq_tally_add(&a->reasons, d.reason, d.detail) || count_source(a, &d) ? -1 : 0;
}

static int cmp_src(const void *x, const void *y)
{
    const src_count *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

static void print_table(const dlq_stats_acc *a, const char *topic)
{
    char t0[40], t1[40];
    stream_dlq_format_time(a->oldest, t0, sizeof t0);
    stream_dlq_format_time(a->newest, t1, sizeof t1);
    printf("dead letters in %s: %llu (truncated %llu, replayed before %llu)\n", topic,
           (unsigned long long)a->total, (unsigned long long)a->truncated,
           (unsigned long long)a->replayed);
    printf("dead-lettered between %s and %s\n\n", t0, t1);
    printf("%-24s %10s  %s\n", "REASON", "COUNT", "SAMPLE DETAIL");
    for (size_t i = 0; i < a->reasons.n; i++)
        printf("%-24s %10llu  %s\n", a->reasons.items[i].name,
               (unsigned long long)a->reasons.items[i].n, a->reasons.items[i].sample);
    printf("\n%-32s %9s %10s\n", "SOURCE TOPIC", "PARTITION", "COUNT");
    for (size_t i = 0; i < a->nsrc; i++)
        printf("%-32s %9d %10llu\n", a->src[i].topic[0] ? a->src[i].topic : "?",
               (int)a->src[i].partition, (unsigned long long)a->src[i].n);
}

static int print_json(const dlq_stats_acc *a, const char *topic)
{
    char t0[40], t1[40];
    stream_dlq_format_time(a->oldest, t0, sizeof t0);
    stream_dlq_format_time(a->newest, t1, sizeof t1);
    json_t *reasons = json_array(), *src = json_array();
    for (size_t i = 0; i < a->reasons.n; i++)
        json_array_append_new(reasons,
                              json_pack("{s:s, s:I, s:s}", "reason", a->reasons.items[i].name,
                                        "count", (json_int_t)a->reasons.items[i].n, "sample_detail",
                                        a->reasons.items[i].sample));
    for (size_t i = 0; i < a->nsrc; i++)
        json_array_append_new(src, json_pack("{s:s, s:i, s:I}", "topic", a->src[i].topic,
                                             "partition", (int)a->src[i].partition, "count",
                                             (json_int_t)a->src[i].n));
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "topic", topic, "total", (json_int_t)a->total,
        "truncated", (json_int_t)a->truncated, "replayed_before", (json_int_t)a->replayed, "oldest",
        a->oldest < 0 ? json_null() : json_string(t0), "newest",
        a->newest < 0 ? json_null() : json_string(t1), "by_reason", reasons, "by_source", src);
    /* Samples are bytes from the wire; jansson refuses invalid UTF-8 (json_pack fails). */
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
    if (s) puts(s);
    free(s);
    json_decref(o);
    return s ? 0 : -1;
}

static const char stats_extra[] =
    "Reads the dead-letter topic from the beginning to the high watermarks seen at start (no\n"
    "consumer group, nothing committed) and prints the dead letters by rtetl.error reason\n"
    "with one sample detail each, by source topic and partition, and the oldest and newest\n"
    "dead-letter time.\n"
    "Exit codes: 0 done; 1 Kafka unreachable or the topic missing; 2 usage error.\n";

int dlq_stats(int argc, char **argv)
{
    stats_cli c;
    opt_result res;
    int code;
    if (cli_parse("dlq stats", "rtetl dlq stats --topic T.dlq | --source-topic T [options]",
                  "Count the dead letters of a stream by reason and source partition.", stats_extra,
                  stats_specs, NSTATS, argc, argv, &c, &res, &code))
        return code;
    char err[1024], topic[512];
    dlq_stats_acc a = {.oldest = -1, .newest = -1};
    kafka_reader *r = NULL;
    kafka_conf_text kconf = {0};
    if (res.npos > 0) {
        code = cli_usage_error("dlq stats", "unexpected argument '%s'", res.pos[0]);
        goto out;
    }
    if (strcmp(c.format, "table") != 0 && strcmp(c.format, "json") != 0) {
        code = cli_usage_error("dlq stats", "option --format: expected table or json");
        goto out;
    }
    if (dlq_topic_name(c.topic, c.source_topic, topic, sizeof topic, err, sizeof err)) {
        code = cli_usage_error("dlq stats", "%s", err);
        goto out;
    }
    if ((code = cli_kafka_config("dlq stats", c.kafka_config, &c.props, &kconf)) != 0) goto out;
    if (!(r = dlq_open_reader(c.brokers, &c.props, topic, NULL, err, sizeof err))) {
        code = cli_fail("dlq stats", "%s", err);
        goto out;
    }
    bool failed = false;
    while (!kafka_reader_done(r)) {
        rd_kafka_message_t *m = kafka_reader_next(r, 1000, &failed, err, sizeof err);
        if (failed) break;
        if (!m) continue;
        int rc = stats_add(&a, m);
        rd_kafka_message_destroy(m);
        if (rc) {
            snprintf(err, sizeof err, "out of memory");
            failed = true;
            break;
        }
    }
    if (failed) {
        code = cli_fail("dlq stats", "%s", err);
        goto out;
    }
    qsort(a.src, a.nsrc, sizeof *a.src, cmp_src);
    code = RT_EXIT_OK;
    if (strcmp(c.format, "json") == 0) {
        if (print_json(&a, topic)) code = cli_fail("dlq stats", "cannot format the JSON output");
    } else {
        print_table(&a, topic);
    }
out:
    kafka_reader_free(r);
    kafka_conf_file_free(&kconf);
    dlq_tally_free(&a.reasons);
    free(a.src);
    opt_result_free(&res);
    opt_free(stats_specs, NSTATS, &c);
    return code;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static void dlq_usage(FILE *out)
{
    fprintf(out, "Usage: rtetl dlq <stats|replay> [options]\n\n"
                 "Dead-letter tooling for the records `rtetl stream` could not store.\n\n"
                 "Subcommands:\n"
                 "  stats   Count the dead letters by reason, source partition and time\n"
                 "  replay  Send the original messages back to their source topic (after a fix)\n"
                 "\n'rtetl dlq <subcommand> --help' for its options.\n");
}

int cmd_dlq(int argc, char **argv)
{
    if (argc < 2) {
        dlq_usage(stderr);
        return RT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        dlq_usage(stdout);
        return RT_EXIT_OK;
    }
    if (strcmp(argv[1], "stats") == 0) return dlq_stats(argc - 1, argv + 1);
    if (strcmp(argv[1], "replay") == 0) return dlq_replay(argc - 1, argv + 1);
    if (argv[1][0] == '-') return cli_usage_error("dlq", "unknown option '%s'", argv[1]);
    return cli_usage_error("dlq", "unknown subcommand '%s'", argv[1]);
}
