/* `rtetl stream`: Kafka -> decode -> validate -> filter -> map -> Cassandra, at least once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pipeline/config.h"
#include "stream/stream.h"
#include "util/log.h"

typedef struct stream_cli {
    const char *config, *brokers, *topic, *group, *mode, *dlq_topic, *cassandra, *keyspace, *table,
        *user, *password, *consistency, *write_timestamp, *filter, *sink, *metrics_bind, *ca_file,
        *local_dc, *password_file, *cert_file, *key_file, *kafka_config;
    long long max_inflight, max_records, metrics_port, cql_connections, batch_rows, batch_bytes,
        sample;
    double idle_exit, status_interval, drain_timeout, request_timeout, latency_target,
        stall_timeout, unreachable_timeout, unassigned_timeout;
    bool tls, no_verify, lz4, print_config, until_caught_up, dry_run;
    opt_list props;
} stream_cli;

#define F(x) offsetof(stream_cli, x)
static const opt_spec specs[] = {
    {"config", 'c', OPT_STR, F(config), NULL, "FILE",
     "Pipeline YAML (schema, filter, target); without it the built-in reference pipeline", 0, 0, 0},
    {"brokers", 'b', OPT_STR, F(brokers), "127.0.0.1:9092", "HOST:PORT[,...]",
     "Kafka bootstrap servers", 0, 0, 0},
    {"topic", 't', OPT_STR, F(topic), NULL, "NAME", "Source topic [pipeline: data_kafka_topic]", 0,
     0, 0},
    {"group", 'g', OPT_STR, F(group), NULL, "ID", "Consumer group [pipeline: rtetl-stream]", 0, 0,
     0},
    {"mode", 0, OPT_STR, F(mode), NULL, "initial|append",
     "Where a group without committed offsets starts: earliest or latest [pipeline: initial]", 0, 0,
     0},
    {"dlq-topic", 0, OPT_STR, F(dlq_topic), NULL, "NAME",
     "Dead-letter topic for bad records [pipeline: <topic>.dlq]", 0, 0, 0},
    {"cassandra", 'C', OPT_STR, F(cassandra), "127.0.0.1:9042", "HOST[:PORT][,...]",
     "Cassandra contact points", 0, 0, 0},
    {"local-dc", 0, OPT_STR, F(local_dc), NULL, "NAME",
     "Cassandra data center to write to; others only while none of its hosts is up (default: "
     "that of the first contact point that answers)",
     0, 0, 0},
    {"keyspace", 'k', OPT_STR, F(keyspace), NULL, "NAME",
     "Target keyspace, of every target [pipeline: dados_usuarios]", 0, 0, 0},
    {"table", 'T', OPT_STR, F(table), NULL, "NAME",
     "Target table, of the first target [pipeline: tb_usuarios]", 0, 0, 0},
    {"user", 'u', OPT_STR, F(user), NULL, "NAME", "Cassandra user (PasswordAuthenticator)", 0, 0,
     0},
    {"password", 'p', OPT_STR, F(password), NULL, "SECRET", "Cassandra password", OPT_SECRET, 0, 0},
    {"password-file", 0, OPT_STR, F(password_file), NULL, "FILE",
     "Read the Cassandra password from the first line of FILE", 0, 0, 0},
    {"consistency", 0, OPT_STR, F(consistency), NULL, "LEVEL",
     "Write consistency: one, quorum, local_quorum, ... [pipeline: one]", 0, 0, 0},
    {"write-timestamp", 0, OPT_STR, F(write_timestamp), NULL, "kafka|server",
     "Write time of each row: kafka derives it from the Kafka record, so a key ends at its last "
     "record in partition order whatever the concurrency, retries or replays; server lets "
     "Cassandra's clock decide [pipeline: kafka]",
     0, 0, 0},
    {"filter", 'f', OPT_STR, F(filter), NULL, "EXPR",
     "Keep records for which EXPR is true [pipeline: contains(email, '@')]", 0, 0, 0},
    {"tls", 0, OPT_BOOL, F(tls), "false", NULL, "TLS to Cassandra", 0, 0, 0},
    {"ca-file", 0, OPT_STR, F(ca_file), NULL, "PEM", "CA bundle to verify Cassandra with", 0, 0, 0},
    {"no-verify", 0, OPT_BOOL, F(no_verify), "false", NULL,
     "Do not verify Cassandra's certificate (testing only)", 0, 0, 0},
    {"cert-file", 0, OPT_STR, F(cert_file), NULL, "PEM",
     "Client certificate chain for mutual TLS to Cassandra (require_client_auth)", 0, 0, 0},
    {"key-file", 0, OPT_STR, F(key_file), NULL, "PEM",
     "Private key of --cert-file [default: in the certificate file]", 0, 0, 0},
    {"lz4", 0, OPT_BOOL, F(lz4), "false", NULL, "LZ4 compression of CQL frames", 0, 0, 0},
    {"cql-connections", 0, OPT_INT, F(cql_connections), "2", "N", "Connections per Cassandra host",
     0, 1, 64},
    {"request-timeout", 0, OPT_DURATION, F(request_timeout), "12s", "DURATION",
     "Timeout of one write (then it is retried)", 0, 0, 0},
    {"max-inflight", 0, OPT_INT, F(max_inflight), "2048", "N",
     "Records in flight at most (writes, retries, dead letters): the backpressure bound; the "
     "default matches the CQL capacity (2 connections x 1024 requests)",
     0, 1, 1000000},
    {"batch-rows", 0, OPT_INT, F(batch_rows), "32", "N",
     "Rows per unlogged batch at most, grouped by replica set (0 or 1: one INSERT per record). "
     "A batch goes when full or when the loop is idle and the concurrency limit has room",
     0, 0, 65535},
    {"batch-bytes", 0, OPT_SIZE, F(batch_bytes), "5k", "SIZE",
     "Batch size at most, as Cassandra counts it (per cell its value and 20 bytes; estimated "
     "from the bound values). The default is Cassandra's batch_size_warn_threshold (5 KiB), "
     "over which it logs a warning for every batch; batch_size_fail_threshold (50 KiB) fails "
     "the batch. Raise the server's thresholds before raising this",
     0, 1024, 16 * 1024 * 1024},
    {"write-latency-target", 0, OPT_DURATION, F(latency_target), "100ms", "DURATION",
     "Adaptive concurrency: write requests in flight grow while answers come within this and are "
     "cut by 30% on slower answers, Overloaded or timeouts; bounded by --max-inflight "
     "(0: no adaptation, --max-inflight only)",
     0, 0, 0},
    {"max-records", 'n', OPT_INT, F(max_records), "0", "N",
     "Stop after N records (0: run until stopped)", 0, 0, 0},
    {"until-caught-up", 0, OPT_BOOL, F(until_caught_up), "false", NULL,
     "Process the records present when each partition is assigned (up to its high watermark "
     "then), then stop as on SIGTERM (drain, commit, exit 0); records produced after that stay "
     "for the next run. With --max-records, whichever comes first",
     0, 0, 0},
    {"idle-exit", 0, OPT_DURATION, F(idle_exit), "0", "DURATION",
     "Stop when no message came for this long and nothing is in flight (0: never)", 0, 0, 0},
    {"status-interval", 0, OPT_DURATION, F(status_interval), "5s", "DURATION",
     "Period of the status line on stderr (0: none)", 0, 0, 0},
    {"drain-timeout", 0, OPT_DURATION, F(drain_timeout), "30s", "DURATION",
     "Bound on finishing in-flight writes at shutdown", 0, 0, 0},
    {"metrics-port", 0, OPT_INT, F(metrics_port), "-1", "PORT",
     "Serve /metrics, /healthz and /readyz on this port (-1: off, 0: any)", 0, -1, 65535},
    {"metrics-bind", 0, OPT_STR, F(metrics_bind), "127.0.0.1", "ADDR",
     "Address of the metrics server", 0, 0, 0},
    {"stall-timeout", 0, OPT_DURATION, F(stall_timeout), "60s", "DURATION",
     "/healthz fails when a partition's committed offset has not moved for this long although "
     "records past it exist (0: never)",
     0, 0, 0},
    {"unreachable-timeout", 0, OPT_DURATION, F(unreachable_timeout), "30s", "DURATION",
     "/healthz fails when no Cassandra host has been up for this long; a shorter outage is "
     "retried through (0: never)",
     0, 0, 0},
    {"unassigned-timeout", 0, OPT_DURATION, F(unassigned_timeout), "60s", "DURATION",
     "/healthz fails when no partition has been assigned to this member for this long while "
     "running (0: never, e.g. for standby members of a group larger than the topic)",
     0, 0, 0},
    {"sink", 0, OPT_STR, F(sink), "cassandra", "cassandra|null",
     "null: decode, validate and filter but write nothing and contact no Cassandra (measures "
     "the Kafka-bound ceiling; column types are not checked)",
     0, 0, 0},
    {"print-config", 0, OPT_BOOL, F(print_config), "false", NULL,
     "Print the effective pipeline as YAML and exit", OPT_NO_ENV, 0, 0},
    {"dry-run", 0, OPT_BOOL, F(dry_run), "false", NULL,
     "Decode, filter and map up to --sample records (from the group's committed offsets, else "
     "the beginning) and print the row each would write, or why it would be filtered out or "
     "dead-lettered; commits nothing, creates and writes nothing, contacts no Cassandra",
     OPT_NO_ENV, 0, 0},
    {"sample", 0, OPT_INT, F(sample), "10", "N", "Records of a --dry-run", OPT_NO_ENV, 1,
     100000000},
    CLI_KAFKA_CONFIG_SPEC(F),
    {"property", 'X', OPT_LIST, F(props), NULL, "KEY=VALUE",
     "librdkafka property for the consumer and the dead-letter producer (repeatable)", 0, 0, 0},
};
#undef F
#define NSPECS (sizeof specs / sizeof specs[0])

static const char extra[] =
    "The pipeline: each Kafka message is decoded as a JSON object against the schema, checked\n"
    "(required fields, types, UTF-8, sizes), filtered, mapped to the columns of one prepared\n"
    "INSERT and written with token-aware routing. Malformed records go unchanged to the\n"
    "dead-letter topic with headers rtetl.error, rtetl.error.detail, rtetl.source.topic,\n"
    "rtetl.source.partition, rtetl.source.offset. Retriable write errors are retried with\n"
    "backoff, forever; while Cassandra is away consumption pauses. An offset is committed only\n"
    "when its record and all before it in the partition are written or dead-lettered.\n"
    "\nPrecedence: command line > RTETL_* environment > pipeline YAML > built-in defaults.\n"
    "Exit codes: 0 stopped cleanly (signal, --max-records, --until-caught-up, --idle-exit);\n"
    "1 runtime failure (e.g. Kafka or Cassandra unreachable at start); 2 usage or\n"
    "configuration error.\n";

/* The health bounds after the pipeline in --print-config: as comments, since they are options
 * (command line or RTETL_*), not pipeline keys, and the YAML must read back unchanged. */
static void print_health(const stream_cli *c, FILE *out)
{
    fprintf(out,
            "# /healthz bounds (options, not pipeline keys; 0 = off):\n"
            "#   --stall-timeout %gs --unreachable-timeout %gs --unassigned-timeout %gs\n",
            c->stall_timeout, c->unreachable_timeout, c->unassigned_timeout);
}

/* Applies a CLI/env string override to a pipeline field when the option was given. */
static int override(stream_cli *c, const opt_result *res, const char *opt, const char *val,
                    char **slot)
{
    (void)c;
    if (!opt_is_set(specs, NSPECS, res, opt) || !val) return 0;
    return pipe_config_set_str(slot, val);
}

static int apply_overrides(stream_cli *c, const opt_result *res, pipe_config *pc, char *err,
                           size_t errlen)
{
    if (override(c, res, "topic", c->topic, &pc->topic) ||
        override(c, res, "group", c->group, &pc->group) ||
        override(c, res, "dlq-topic", c->dlq_topic, &pc->dlq_topic) ||
        override(c, res, "keyspace", c->keyspace, &pc->keyspace) ||
        override(c, res, "table", c->table, &pc->table) ||
        override(c, res, "consistency", c->consistency, &pc->consistency) ||
        override(c, res, "write-timestamp", c->write_timestamp, &pc->write_timestamp) ||
        override(c, res, "filter", c->filter, &pc->filter)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* A new source topic without an explicit dead-letter topic gets <topic>.dlq again. */
    if (opt_is_set(specs, NSPECS, res, "topic") && !opt_is_set(specs, NSPECS, res, "dlq-topic")) {
        free(pc->dlq_topic);
        pc->dlq_topic = NULL;
    }
    if (c->mode) {
        if (strcmp(c->mode, "initial") == 0)
            pc->mode = PIPE_MODE_INITIAL;
        else if (strcmp(c->mode, "append") == 0)
            pc->mode = PIPE_MODE_APPEND;
        else {
            snprintf(err, errlen, "option --mode: expected initial or append, got '%s'", c->mode);
            return -1;
        }
    }
    /* Fan-out: --keyspace, --consistency and --write-timestamp apply to every target, --table
     * to the first; the others keep the pipeline's source as their copy of it. */
    for (size_t i = 0; i < pc->nmore; i++) {
        pipe_config *t = pc->more[i];
        if (override(c, res, "keyspace", c->keyspace, &t->keyspace) ||
            override(c, res, "consistency", c->consistency, &t->consistency) ||
            override(c, res, "write-timestamp", c->write_timestamp, &t->write_timestamp) ||
            pipe_config_set_str(&t->topic, pc->topic) ||
            pipe_config_set_str(&t->group, pc->group) ||
            pipe_config_set_str(&t->dlq_topic, pc->dlq_topic)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        t->mode = pc->mode;
    }
    return pipe_config_finish(pc, err, errlen);
}

int cmd_stream(int argc, char **argv)
{
    stream_cli c;
    opt_result res;
    int code;
    if (cli_parse("stream", "rtetl stream [options]",
                  "Consume records from Kafka and write them to Cassandra, at least once.", extra,
                  specs, NSPECS, argc, argv, &c, &res, &code))
        return code;
    char err[1024] = "";
    pipe_config *pc = NULL;
    kafka_conf_text kconf = {0};
    if (res.npos > 0) {
        code = cli_usage_error("stream", "unexpected argument '%s'", res.pos[0]);
        goto out;
    }
    pc = c.config ? pipe_config_load(c.config, err, sizeof err) : pipe_config_default();
    if (!pc) {
        code = cli_usage_error("stream", "%s", c.config ? err : "out of memory");
        goto out;
    }
    if (apply_overrides(&c, &res, pc, err, sizeof err)) {
        code = cli_usage_error("stream", "%s", err);
        goto out;
    }
    if ((code = cli_kafka_config("stream", c.kafka_config, &c.props, &kconf)) != 0) goto out;
    if (stream_check_kafka_props(&c.props, err, sizeof err)) {
        code = cli_usage_error("stream", "%s", err);
        goto out;
    }
    const char *password = NULL;
    char password_buf[1024];
    if (cli_password(c.password, c.password_file, password_buf, sizeof password_buf, &password, err,
                     sizeof err)) {
        code = cli_usage_error("stream", "%s", err);
        goto out;
    }
    if (strcmp(c.sink, "cassandra") != 0 && strcmp(c.sink, "null") != 0) {
        code = cli_usage_error("stream", "option --sink: expected cassandra or null");
        goto out;
    }
    if (c.print_config) {
        pipe_config_dump(pc, stdout);
        print_health(&c, stdout);
        code = RT_EXIT_OK;
        goto out;
    }
    if (opt_is_set(specs, NSPECS, &res, "sample") && !c.dry_run) {
        code = cli_usage_error("stream", "option --sample goes with --dry-run");
        goto out;
    }
    if (c.dry_run) {
        code = stream_dry_run(pc, c.brokers, &c.props, (uint64_t)c.sample, stdout, err, sizeof err);
        if (code != 0) fprintf(stderr, "rtetl stream: error: %s\n", err);
        goto out;
    }
    stream_opts o = {
        .pipe = pc,
        .brokers = c.brokers,
        .kafka_props = &c.props,
        .sink = strcmp(c.sink, "null") == 0 ? STREAM_SINK_NULL : STREAM_SINK_CASSANDRA,
        .max_inflight = (size_t)c.max_inflight,
        .batch_rows = (size_t)c.batch_rows,
        .batch_bytes = (size_t)c.batch_bytes,
        .write_latency_target_s = c.latency_target,
        .max_records = (uint64_t)c.max_records,
        .until_caught_up = c.until_caught_up,
        .idle_exit_s = c.idle_exit,
        .status_interval_s = c.status_interval,
        .drain_timeout_s = c.drain_timeout,
        .metrics_bind = c.metrics_bind,
        .metrics_port = (int)c.metrics_port,
        .health = {.stall_s = c.stall_timeout,
                   .unreachable_s = c.unreachable_timeout,
                   .unassigned_s = c.unassigned_timeout},
    };
    cql_config_init(&o.cql);
    o.cql.contact_points = c.cassandra;
    o.cql.local_dc = c.local_dc;
    o.cql.username = c.user;
    o.cql.password = password;
    o.cql.tls = c.tls;
    o.cql.tls_ca_file = c.ca_file;
    o.cql.tls_verify = !c.no_verify;
    o.cql.tls_cert_file = c.cert_file;
    o.cql.tls_key_file = c.key_file;
    o.cql.compression_lz4 = c.lz4;
    o.cql.connections_per_host = (int)c.cql_connections;
    o.cql.request_timeout_ms = (int)(c.request_timeout * 1000);
    code = stream_run(&o, err, sizeof err);
    if (code != 0 && err[0]) fprintf(stderr, "rtetl stream: error: %s\n", err);
out:
    kafka_conf_file_free(&kconf);
    pipe_config_free(pc);
    opt_result_free(&res);
    opt_free(specs, NSPECS, &c);
    return code;
}
