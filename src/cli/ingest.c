/* `rtetl ingest`: randomuser records (builtin generator or HTTP API) into a Kafka topic. */
#include "cli/cli.h"
#include "ingest/ingest.h"
#include "ingest/rng.h"
#include "util/log.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct ingest_cli {
    const char *source, *api_url, *seed, *brokers, *topic, *kafka_config;
    long long results, max_retries, partitions, replication, count;
    double http_timeout, duration, rate, progress_interval, flush_timeout;
    bool create_topic, quiet;
    opt_list props;
} ingest_cli;

#define F(x) offsetof(ingest_cli, x)
static const opt_spec specs[] = {
    {"source", 's', OPT_STR, F(source), "builtin", "builtin|api",
     "Where users come from: the embedded generator, or the HTTP API of --api-url", 0, 0, 0},
    {"api-url", 'u', OPT_STR, F(api_url), NULL, "URL",
     "randomuser-compatible endpoint, e.g. https://randomuser.me/api/ (implies --source api)", 0, 0,
     0},
    {"results", 0, OPT_INT, F(results), "100", "N", "Users asked per API request (?results=N)", 0,
     1, 5000},
    {"http-timeout", 0, OPT_DURATION, F(http_timeout), "10s", "DURATION",
     "Timeout of one API request (connect: at most 5s)", 0, 0, 0},
    {"max-retries", 0, OPT_INT, F(max_retries), "8", "N",
     "Retries of one API request on network errors, 5xx, 429 and bad answers", 0, 0, 1000},
    {"seed", 0, OPT_STR, F(seed), NULL, "SEED",
     "Reproducible run: the same users and ids for the same seed (an integer or any text; "
     "sent to the API as seed=SEED&page=P)",
     0, 0, 0},
    {"brokers", 'b', OPT_STR, F(brokers), "127.0.0.1:9092", "HOST:PORT[,...]",
     "Kafka bootstrap servers", 0, 0, 0},
    {"topic", 't', OPT_STR, F(topic), "data_kafka_topic", "NAME", "Destination topic", 0, 0, 0},
    {"create-topic", 0, OPT_BOOL, F(create_topic), "true", NULL,
     "Create the topic when missing (admin API); --no-create-topic to skip", 0, 0, 0},
    {"partitions", 'p', OPT_INT, F(partitions), "3", "N", "Partitions of a topic created here", 0,
     1, 100000},
    {"replication-factor", 0, OPT_INT, F(replication), "-1", "N",
     "Replicas of a topic created here (-1: the broker's default)", 0, -1, 1000},
    {"count", 'n', OPT_INT, F(count), "0", "N", "Stop after N records (0: no count limit)", 0, 0,
     0},
    {"duration", 'd', OPT_DURATION, F(duration), NULL, "DURATION",
     "Stop after this long, e.g. 60s, 5m (0: no time limit) [default: 60s like the reference "
     "task, or no limit when --count is given]",
     0, 0, 0},
    {"rate", 'r', OPT_RATE, F(rate), "0", "N[/s|/m|/h]",
     "Records per second at most (0: as fast "
     "as Kafka takes them)",
     0, 0, 0},
    {"quiet", 'q', OPT_BOOL, F(quiet), "false", NULL, "No progress lines (the summary remains)", 0,
     0, 0},
    {"progress-interval", 0, OPT_DURATION, F(progress_interval), "5s", "DURATION",
     "Period of the progress line on stderr", 0, 0, 0},
    {"flush-timeout", 0, OPT_DURATION, F(flush_timeout), "60s", "DURATION",
     "How long to wait at the end for Kafka to acknowledge what was sent", 0, 0, 0},
    CLI_KAFKA_CONFIG_SPEC(F),
    {"property", 'X', OPT_LIST, F(props), NULL, "KEY=VALUE",
     "librdkafka producer property, e.g. -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN "
     "(repeatable; overrides rtetl's defaults)",
     0, 0, 0},
};
#undef F
#define NSPECS (sizeof specs / sizeof specs[0])

static const char extra[] =
    "Each user becomes one Kafka message. The key is the record id; the value is a JSON object\n"
    "with exactly these 12 string fields, in this order:\n"
    "  id               a random (v4) UUID as 32 lowercase hex digits, no dashes\n"
    "  first_name       name.first\n"
    "  last_name        name.last\n"
    "  gender           gender\n"
    "  address          \"{location.street.number} {location.street.name}, {location.city},\n"
    "                   {location.state}, {location.country}\"\n"
    "  post_code        location.postcode, always as a string (the API sends a number for some\n"
    "                   countries and a string for others)\n"
    "  email            email\n"
    "  username         login.username\n"
    "  dob              dob.date\n"
    "  registered_date  registered.date\n"
    "  phone            phone\n"
    "  picture          picture.medium\n"
    "Text is UTF-8, escaped as JSON requires; invalid UTF-8 from an API becomes U+FFFD. The\n"
    "message timestamp is the produce time (for end-to-end latency).\n"
    "\nSources: 'builtin' (default) generates users of 25 nationalities in their scripts, offline\n"
    "and fast; with --seed the users and the ids are reproducible, otherwise ids come from the\n"
    "kernel's random source. 'api' asks --api-url for --results users per request on one kept-\n"
    "alive connection; network errors, HTTP 5xx/429/408 and answers that are not randomuser JSON\n"
    "(logged with an excerpt) are retried with exponential backoff up to --max-retries; another\n"
    "4xx stops the run. A result missing a field is logged and skipped. 'rtetl fake-api' serves\n"
    "the builtin users over HTTP for local runs.\n"
    "\nKafka: idempotent producer (enable.idempotence=true, acks=all), lz4, batches of up to\n"
    "10000 messages / 1 MiB, linger.ms from --rate (0 up to 1000/s, 1 ms more per 1000/s above,\n"
    "at most 10; 10 without --rate); -X overrides any of it and passes anything else\n"
    "(SASL, TLS ...) to librdkafka. A full local queue slows the source down; nothing is\n"
    "dropped. SIGINT/SIGTERM stop producing and flush; a second signal abandons the flush.\n"
    "\nOutput: a progress line every --progress-interval and a summary line at the end, on\n"
    "stderr in logfmt (sent, delivered, undelivered, rate, cpu, API errors).\n"
    "\nExit codes: 0 every record sent was delivered; 1 runtime failure (Kafka unreachable, topic\n"
    "not creatable, undelivered records - their count is printed -, API 4xx or retries used\n"
    "up); 2 usage or configuration error (including a bad -X property).\n"
    "\nExamples:\n"
    "  rtetl ingest --count 100000 --quiet\n"
    "  rtetl ingest --api-url https://randomuser.me/api/ --duration 60s --rate 10/s\n"
    "  rtetl fake-api --port 8000 & rtetl ingest -u http://127.0.0.1:8000/api/ -n 1000\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    if (stop_requested < 2) stop_requested++;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* A seed that is a decimal integer is used as is (so --seed 42 means 42); any other text is
 * hashed. */
static uint64_t seed_value(const char *s)
{
    long long v;
    if (opt_parse_int(s, &v) == 0 && v >= 0) return (uint64_t)v;
    return ingest_seed_from_string(s);
}

static int build_config(ingest_cli *c, const opt_result *res, ingest_config *ic)
{
    bool api = c->api_url != NULL;
    if (strcmp(c->source, "api") == 0) {
        if (!api) return cli_usage_error("ingest", "--source api needs --api-url");
    } else if (strcmp(c->source, "builtin") == 0) {
        if (api && opt_is_set(specs, NSPECS, res, "source"))
            return cli_usage_error("ingest", "--api-url cannot be used with --source builtin");
    } else {
        return cli_usage_error("ingest", "option --source: expected builtin or api, got '%s'",
                               c->source);
    }
    if (!*c->topic) return cli_usage_error("ingest", "option --topic: empty topic name");
    double duration = c->duration;
    if (!opt_is_set(specs, NSPECS, res, "duration")) duration = c->count ? 0 : 60;
    memset(ic, 0, sizeof *ic);
    ic->api_url = c->api_url;
    ic->results = (long)c->results;
    ic->http_timeout = c->http_timeout;
    ic->max_retries = (int)c->max_retries;
    ic->has_seed = c->seed != NULL;
    ic->seed = c->seed ? seed_value(c->seed) : 0;
    ic->seed_text = c->seed;
    ic->brokers = c->brokers;
    ic->topic = c->topic;
    ic->props = &c->props;
    ic->create_topic = c->create_topic;
    ic->partitions = (int)c->partitions;
    ic->replication = (int)c->replication;
    ic->count = (unsigned long long)c->count;
    ic->duration = duration;
    ic->rate = c->rate;
    ic->quiet = c->quiet;
    ic->progress_interval = c->progress_interval > 0 ? c->progress_interval : 5;
    ic->flush_timeout = c->flush_timeout;
    ic->stop = &stop_requested;
    return 0;
}

int cmd_ingest(int argc, char **argv)
{
    /* A network client/server must not die of a write to a closed socket or pipe (libcurl,
     * libmicrohttpd, or stdout closed by `| head`); the write fails with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    ingest_cli c;
    opt_result res;
    int code;
    if (cli_parse("ingest", "rtetl ingest [options]",
                  "Produce randomuser records (builtin generator or HTTP API) to a Kafka topic.",
                  extra, specs, NSPECS, argc, argv, &c, &res, &code))
        return code;
    ingest_config ic;
    kafka_conf_text kconf = {0};
    if (res.npos > 0) {
        code = cli_usage_error("ingest", "unexpected argument '%s'", res.pos[0]);
    } else if ((code = cli_kafka_config("ingest", c.kafka_config, &c.props, &kconf)) == 0 &&
               (code = build_config(&c, &res, &ic)) == 0) {
        install_signals();
        char err[1024] = "";
        ingest_result r;
        ingest_err e = ingest_run(&ic, &r, err, sizeof err);
        if (e == INGEST_OK)
            code = RT_EXIT_OK;
        else if (e == INGEST_ERR_CONFIG)
            code = cli_usage_error("ingest", "%s", err);
        else if (e == INGEST_ERR_STOPPED)
            code = RT_EXIT_OK;
        else
            code = cli_fail("ingest", "%s", err);
    }
    kafka_conf_file_free(&kconf);
    opt_result_free(&res);
    opt_free(specs, NSPECS, &c);
    return code;
}
