/* rtetl entry point: global options, then dispatch to one command (src/cli/). */
#include "cli/cli.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

/* Each command lives in src/cli/<name>.c. Keep this table in help order. */
const rt_command rt_commands[] = {
    {"ingest", "Random users (builtin generator or HTTP API) -> Kafka", cmd_ingest},
    {"stream", "Kafka -> Cassandra, at least once (the Spark job's replacement)", cmd_stream},
    {"init", "Sample a topic and print a pipeline YAML for it (schema inference)", cmd_init},
    {"dlq", "Dead letters of a stream: counts by reason, replay after a fix", cmd_dlq},
    {"cql", "Run CQL statements against Cassandra (a small cqlsh)", cmd_cql},
    {"fake-api", "A local randomuser-compatible HTTP API for tests and demos", cmd_fake_api},
    {NULL, NULL, NULL},
};
const size_t rt_ncommands = sizeof rt_commands / sizeof rt_commands[0] - 1;

static void usage(FILE *out)
{
    fprintf(out, "Usage: rtetl [--log-level LEVEL] <command> [options]\n\n"
                 "rtetl is a real-time ETL pipeline: an HTTP API or a built-in generator into\n"
                 "Kafka, and Kafka into Cassandra, at least once.\n\nCommands:\n");
    for (size_t i = 0; i < rt_ncommands; i++)
        fprintf(out, "  %-10s %s\n", rt_commands[i].name, rt_commands[i].summary);
    fprintf(out, "\nGlobal options:\n"
                 "  --log-level LEVEL  error, warn, info, debug or trace (env RTETL_LOG_LEVEL)\n"
                 "  --version          Print the version and exit\n"
                 "  -h, --help         Show this help; 'rtetl <command> --help' for a command\n"
                 "\nExit codes: 0 success, 1 runtime failure, 2 usage or configuration error.\n"
                 "Every option of a command also reads RTETL_<OPTION> from the environment\n"
                 "(e.g. --brokers from RTETL_BROKERS); the command line wins.\n");
}

static const rt_command *find_command(const char *name)
{
    for (size_t i = 0; i < rt_ncommands; i++)
        if (strcmp(rt_commands[i].name, name) == 0) return &rt_commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    log_init_from_env();
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--version") == 0) {
            printf("rtetl %s\n", RTETL_VERSION);
            return RT_EXIT_OK;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return RT_EXIT_OK;
        }
        const char *level = NULL;
        if (strncmp(arg, "--log-level=", 12) == 0)
            level = arg + 12;
        else if (strcmp(arg, "--log-level") == 0 && a + 1 < argc)
            level = argv[++a];
        if (!level) {
            fprintf(stderr, "rtetl: unknown option '%s' (see 'rtetl --help')\n", arg);
            return RT_EXIT_USAGE;
        }
        int l = log_level_parse(level);
        if (l < 0) {
            fprintf(stderr, "rtetl: invalid log level '%s' (see 'rtetl --help')\n", level);
            return RT_EXIT_USAGE;
        }
        log_set_level((log_level)l);
    }
    if (a >= argc) {
        usage(stderr);
        return RT_EXIT_USAGE;
    }
    if (strcmp(argv[a], "help") == 0) {
        if (a + 1 < argc && find_command(argv[a + 1])) {
            char *help_argv[] = {argv[a + 1], "--help", NULL};
            return find_command(argv[a + 1])->run(2, help_argv);
        }
        usage(stdout);
        return RT_EXIT_OK;
    }
    const rt_command *cmd = find_command(argv[a]);
    if (!cmd) {
        fprintf(stderr, "rtetl: unknown command '%s' (see 'rtetl --help')\n", argv[a]);
        return RT_EXIT_USAGE;
    }
    return cmd->run(argc - a, argv + a);
}
