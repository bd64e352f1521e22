/* Internals shared by the two halves of `rtetl dlq` (dlq.c: dispatch and stats; dlq_replay.c:
 * replay). */
#ifndef RTETL_CLI_DLQ_IMPL_H
#define RTETL_CLI_DLQ_IMPL_H

#include "kafka/reader.h"
#include "util/opt.h"

#include <stdint.h>
#include <stdio.h>

/* Counts by name (a reason), with one sample detail each, in first-seen order. */
typedef struct dlq_tally_item {
    char name[64];
    char sample[256];
    uint64_t n;
} dlq_tally_item;

typedef struct dlq_tally {
    dlq_tally_item *items;
    size_t n;
} dlq_tally;

/* Counts one more `name`; keeps the first non-empty sample. Returns -1 when out of memory. */
int dlq_tally_add(dlq_tally *t, const char *name, const char *sample);
/* Prints "a=1 b=2" (or "none"). */
void dlq_tally_print(const dlq_tally *t, FILE *out);
void dlq_tally_free(dlq_tally *t);

/* The dead-letter topic from --topic or --source-topic (exactly one must be given), written
 * into out. Returns 0, or -1 with err filled (a usage error). */
int dlq_topic_name(const char *topic, const char *source_topic, char *out, size_t outlen, char *err,
                   size_t errlen);
/* Opens a bounded reader on the dead-letter topic (see kafka/reader.h); group may be NULL. */
kafka_reader *dlq_open_reader(const char *brokers, const opt_list *props, const char *topic,
                              const char *group, char *err, size_t errlen);

/* The option rows every subcommand has, for a config struct with fields topic, source_topic
 * and brokers; F is the command's offsetof macro. */
/* clang-format off */
#define DLQ_TOPIC_SPECS(F)                                                                       \
    {"topic", 't', OPT_STR, F(topic), NULL, "NAME", "Dead-letter topic", OPT_NO_ENV, 0, 0},     \
    {"source-topic", 's', OPT_STR, F(source_topic), NULL, "NAME",                                \
     "Source topic of the stream; its dead-letter topic is NAME.dlq", OPT_NO_ENV, 0, 0},         \
    {"brokers", 'b', OPT_STR, F(brokers), "127.0.0.1:9092", "HOST:PORT[,...]",                   \
     "Kafka bootstrap servers", 0, 0, 0}
/* clang-format on */

int dlq_stats(int argc, char **argv);
int dlq_replay(int argc, char **argv);

#endif
