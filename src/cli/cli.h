/* Shared conventions of rtetl's commands: exit codes, option parsing glue, error lines.
 *
 * Every command is `int cmd_<name>(int argc, char **argv)` where argv[0] is the command name;
 * it returns an exit code below. Usage errors print one line on stderr:
 *   rtetl ingest: unknown option '--foo' (see 'rtetl ingest --help') */
#ifndef RTETL_CLI_CLI_H
#define RTETL_CLI_CLI_H

#include "kafka/conf.h"
#include "util/opt.h"

enum {
    RT_EXIT_OK = 0,      /* success */
    RT_EXIT_FAILURE = 1, /* runtime failure: a server unreachable, undelivered records ... */
    RT_EXIT_USAGE = 2,   /* bad command line or configuration */
};

typedef struct rt_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} rt_command;

/* The command table, in help order (defined in main.c). */
extern const rt_command rt_commands[];
extern const size_t rt_ncommands;

/* The commands (src/cli/<name>.c). */
int cmd_stream(int argc, char **argv);
int cmd_cql(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_fake_api(int argc, char **argv);
int cmd_dlq(int argc, char **argv);
int cmd_init(int argc, char **argv);

/* Parses a command's options. Returns -1 when the command should return *exit_code right away
 * (help printed: 0; error printed: 2), else 0. */
int cli_parse(const char *cmd, const char *usage, const char *summary, const char *extra,
              const opt_spec *specs, size_t n, int argc, char **argv, void *cfg, opt_result *res,
              int *exit_code);

/* Prints "rtetl <cmd>: <message> (see 'rtetl <cmd> --help')" and returns RT_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "rtetl <cmd>: error: <message>" and returns RT_EXIT_FAILURE. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The Cassandra password of a command: `password` (--password or RTETL_PASSWORD) or the first
 * line of the file `file` (--password-file or RTETL_PASSWORD_FILE; its line end is not part of
 * it), never both. On success *out is password, buf (holding the file's secret), or NULL for
 * none; 0. Else -1 with one line in err that names the file but never shows its content. */
int cli_password(const char *password, const char *file, char *buf, size_t buflen, const char **out,
                 char *err, size_t errlen);

/* --kafka-config FILE of the Kafka commands (ingest, stream, dlq): a librdkafka properties file
 * applied before -X (so -X wins). F is the command's offsetof macro; the field is a const char *
 * kafka_config. */
#define CLI_KAFKA_CONFIG_SPEC(F)                                                                \
    {                                                                                           \
        "kafka-config", 'F', OPT_STR, F(kafka_config), NULL, "FILE",                            \
            "librdkafka properties file (key=value lines, # comments, like kcat -F), e.g. the " \
            "security settings; -X wins over it",                                               \
            0, 0, 0                                                                             \
    }

/* Loads the --kafka-config file `file` (may be NULL) into props ahead of the -X entries; the
 * entries borrow from *storage (free it with kafka_conf_file_free). Returns 0, or prints one
 * usage line and returns RT_EXIT_USAGE. */
int cli_kafka_config(const char *cmd, const char *file, opt_list *props, kafka_conf_text *storage);

#endif
