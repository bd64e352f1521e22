/* `rtetl init`: samples a topic and prints a commented pipeline YAML for it (schema inference,
 * pipeline/infer.h), with the CREATE TABLE the stream would run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "kafka/conf.h"
#include "kafka/reader.h"
#include "pipeline/config.h"
#include "pipeline/infer.h"

typedef struct init_cli {
    const char *brokers, *topic, *keyspace, *table, *group;
    long long sample;
    double timeout;
    opt_list props;
} init_cli;

#define F(x) offsetof(init_cli, x)
static const opt_spec specs[] = {
    {"topic", 't', OPT_STR, F(topic), NULL, "NAME", "Topic to sample (required)", OPT_NO_ENV, 0, 0},
    {"brokers", 'b', OPT_STR, F(brokers), "127.0.0.1:9092", "HOST:PORT[,...]",
     "Kafka bootstrap servers", 0, 0, 0},
    {"sample", 'n', OPT_INT, F(sample), "1000", "N",
     "Messages to read at most, from the beginning of the topic's partitions", 0, 1, 100000000},
    {"timeout", 0, OPT_DURATION, F(timeout), "30s", "DURATION",
     "Bound on reading the sample (what was read by then is used)", 0, 0, 0},
    {"keyspace", 'k', OPT_STR, F(keyspace), NULL, "NAME",
     "target.keyspace of the pipeline (default: rtetl)", OPT_NO_ENV, 0, 0},
    {"table", 'T', OPT_STR, F(table), NULL, "NAME",
     "target.table of the pipeline (default: the topic's name as a CQL name)", OPT_NO_ENV, 0, 0},
    {"group", 'g', OPT_STR, F(group), NULL, "ID",
     "source.group of the pipeline (default: rtetl-<topic>); nothing is committed here", OPT_NO_ENV,
     0, 0},
    {"property", 'X', OPT_LIST, F(props), NULL, "KEY=VALUE",
     "librdkafka property for the consumer (repeatable)", 0, 0, 0},
};
#undef F
#define NSPECS (sizeof specs / sizeof specs[0])

static const char extra[] =
    "Reads up to --sample messages from the beginning of every partition of the topic (no\n"
    "consumer group joined, no offset committed), decodes each as the stream would, and\n"
    "prints to stdout a pipeline YAML that `rtetl stream --config FILE` runs as it is:\n"
    "one schema field per top-level key, with a comment of how often it was present and\n"
    "null and which JSON types it had; a type every sampled value fits (int, bigint,\n"
    "double, boolean, else string, which takes any JSON value as Spark's StringType does);\n"
    "as primary key a field present, not null and unique in every sampled record (id\n"
    "preferred); one column per field; to_timestamp() as a commented alternative for\n"
    "fields of ISO-8601 text; and, as comments, the CREATE statements the stream would run.\n"
    "Messages that are not JSON objects are counted in a comment.\n"
    "Exit codes: 0 printed; 1 Kafka unreachable, the topic missing or empty, or no JSON\n"
    "object in the sample; 2 usage error.\n";

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads up to c->sample messages into p; *timed_out when the deadline cut the read short.
 * Returns 0, or -1 with err filled. */
static int sample_topic(const init_cli *c, pipe_infer *p, int32_t *partitions, bool *timed_out,
                        char *err, size_t errlen)
{
    static const char *const defaults[] = {"client.id=rtetl-init", NULL};
    double deadline = mono_s() + c->timeout;
    int timeout_ms = c->timeout > 0 ? (int)(c->timeout * 1000) : 1;
    rd_kafka_conf_t *conf = kafka_conf_new(c->brokers, defaults, &c->props, err, errlen);
    if (!conf) return -1;
    kafka_conf_route_logs(conf);
    kafka_reader *r = kafka_reader_new(conf, c->topic, NULL, timeout_ms, err, errlen);
    if (!r) return -1;
    *partitions = kafka_reader_partitions(r);
    bool failed = false;
    int rc = 0;
    while (!kafka_reader_done(r) && pipe_infer_messages(p) < (uint64_t)c->sample) {
        double left = deadline - mono_s();
        if (left <= 0) {
            *timed_out = true;
            break;
        }
        rd_kafka_message_t *m =
            kafka_reader_next(r, left < 1 ? (int)(left * 1000) + 1 : 1000, &failed, err, errlen);
        if (failed) {
            rc = -1;
            break;
        }
        if (!m) continue;
        pipe_decode_err d = pipe_infer_add(p, m->payload, m->len);
        rd_kafka_message_destroy(m);
        if (d == PIPE_DEC_NO_MEMORY) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
    }
    kafka_reader_free(r);
    return rc;
}

/* Why a sample gave no record: the topic's emptiness or the reasons its messages failed. */
static int no_records(const init_cli *c, const pipe_infer *p, bool timed_out)
{
    if (!pipe_infer_messages(p))
        return cli_fail("init", "topic %s %s: nothing to sample", c->topic,
                        timed_out ? "gave no message within --timeout" : "is empty");
    char why[512] = "";
    size_t o = 0;
    for (int r = 1; r < PIPE_DEC__COUNT && o < sizeof why; r++)
        if (pipe_infer_rejected(p, (pipe_decode_err)r))
            o += (size_t)snprintf(why + o, sizeof why - o, "%s%s %llu", o ? ", " : "",
                                  pipe_decode_reason((pipe_decode_err)r),
                                  (unsigned long long)pipe_infer_rejected(p, (pipe_decode_err)r));
    return cli_fail("init", "none of the %llu sampled messages of %s is a JSON object (%s)",
                    (unsigned long long)pipe_infer_messages(p), c->topic, why);
}

/* The statements of the generated config, as a YAML comment block. */
static void print_statements(const pipe_config *pc, FILE *out)
{
    char *ks = pipe_cql_create_keyspace(pc), *tb = pipe_cql_create_table(pc);
    fprintf(out, "#\n# What `rtetl stream --config` runs when the table is missing "
                 "(target.create_if_missing):\n");
    if (ks) fprintf(out, "#   %s;\n", ks);
    if (tb) fprintf(out, "#   %s;\n", tb);
    free(ks);
    free(tb);
}

/* Writes the YAML of p, checks that it loads, and prints it with its statements. */
static int print_pipeline(const init_cli *c, const pipe_infer *p, const char *origin)
{
    char *buf = NULL, err[1024];
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    pipe_infer_yaml_opts o = {.topic = c->topic,
                              .group = c->group,
                              .keyspace = c->keyspace,
                              .table = c->table,
                              .origin = origin};
    int rc = mem ? pipe_infer_write_yaml(p, &o, mem) : -1;
    if (mem) fclose(mem);
    if (rc) {
        free(buf);
        return cli_fail("init", "out of memory");
    }
    pipe_config *pc = pipe_config_load_buffer(buf, len, "<rtetl init>", err, sizeof err);
    if (!pc) {
        /* A --keyspace, --table or --group the pipeline refuses; else a bug of the inference. */
        rc = c->keyspace || c->table || c->group ? cli_usage_error("init", "%s", err)
                                                 : cli_fail("init", "%s", err);
        free(buf);
        return rc;
    }
    fwrite(buf, 1, len, stdout);
    print_statements(pc, stdout);
    pipe_config_free(pc);
    free(buf);
    return fflush(stdout) == 0 ? RT_EXIT_OK : cli_fail("init", "cannot write the output");
}

int cmd_init(int argc, char **argv)
{
    init_cli c;
    opt_result res;
    int code;
    if (cli_parse("init", "rtetl init --topic T [options] > pipeline.yaml",
                  "Sample a topic and print a pipeline YAML for it (schema inference).", extra,
                  specs, NSPECS, argc, argv, &c, &res, &code))
        return code;
    char err[1024], origin[256];
    pipe_infer *p = NULL;
    int32_t partitions = 0;
    bool timed_out = false;
    if (res.npos > 0) {
        code = cli_usage_error("init", "unexpected argument '%s'", res.pos[0]);
        goto out;
    }
    if (!c.topic || !*c.topic) {
        code = cli_usage_error("init", "give the topic to sample: --topic T");
        goto out;
    }
    if (!(p = pipe_infer_new())) {
        code = cli_fail("init", "out of memory");
        goto out;
    }
    if (sample_topic(&c, p, &partitions, &timed_out, err, sizeof err)) {
        code = cli_fail("init", "%s", err);
        goto out;
    }
    if (!pipe_infer_records(p)) {
        code = no_records(&c, p, timed_out);
        goto out;
    }
    snprintf(origin, sizeof origin, "%llu messages read from the beginning of its %d partition%s%s",
             (unsigned long long)pipe_infer_messages(p), (int)partitions,
             partitions == 1 ? "" : "s", timed_out ? ", cut short by --timeout" : "");
    code = print_pipeline(&c, p, origin);
out:
    pipe_infer_free(p);
    opt_result_free(&res);
    opt_free(specs, NSPECS, &c);
    return code;
}
