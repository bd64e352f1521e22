/* The liveness verdict of `rtetl stream` (/healthz): a stalled partition, Cassandra unreachable
 * for too long, no partition assigned for too long. Pure functions over a snapshot that run.c
 * builds once a second from state the engine already keeps; see health.c. */
#ifndef RTETL_STREAM_HEALTH_H
#define RTETL_STREAM_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bounds of the three checks, in seconds; 0 turns a check off. */
typedef struct stream_health_limits {
    double stall_s;       /* --stall-timeout: committed offset still with a backlog */
    double unreachable_s; /* --unreachable-timeout: no Cassandra host up */
    double unassigned_s;  /* --unassigned-timeout: no partition assigned while running */
} stream_health_limits;

/* What is remembered of one partition between two evaluations (zero-initialised is valid). */
typedef struct stream_health_watch {
    uint32_t generation; /* of the assignment watched; another one starts afresh */
    bool armed;
    int64_t committed; /* the committed offset last seen */
    uint64_t since_us; /* when it last moved, or the backlog was last empty */
} stream_health_watch;

/* Notes one observation of a partition of assignment `generation`: its committed offset and its
 * backlog (records at or past that offset in the partition, -1 unknown). Returns how long the
 * partition has been stalled: the time since the committed offset last moved, counted from when
 * a backlog was last seen empty or the partition assigned, or 0 when there is no backlog. */
uint64_t stream_health_watch_update(stream_health_watch *w, uint32_t generation, int64_t committed,
                                    int64_t backlog, uint64_t now_us);

/* How long a condition has held, given *since (0: it did not hold at the last call), which it
 * updates: 0 while the condition is false. */
uint64_t stream_health_since(uint64_t *since, bool condition, uint64_t now_us);

/* One assigned partition as seen now. */
typedef struct stream_health_part {
    int32_t id;
    int64_t committed;   /* offset below which every record is done; -1 unknown */
    int64_t backlog;     /* records at or past `committed`; -1 unknown */
    uint64_t stalled_us; /* from stream_health_watch_update */
} stream_health_part;

/* Everything the verdict depends on; every pointer is borrowed for the call. */
typedef struct stream_health_snapshot {
    bool running; /* the engine consumes (not starting, not draining) */
    const char *topic;
    const stream_health_part *parts; /* the assigned partitions */
    size_t nparts;
    uint64_t unreachable_us;     /* how long no Cassandra host has been up; 0 while one is */
    const char *cassandra_error; /* the last write error, "" or NULL when none */
    uint64_t unassigned_us;      /* how long no partition has been assigned while running */
} stream_health_snapshot;

typedef enum {
    STREAM_HEALTH_OK = 0,
    STREAM_HEALTH_UNASSIGNED,
    STREAM_HEALTH_UNREACHABLE,
    STREAM_HEALTH_STALLED,
} stream_health_check;

typedef struct stream_health_verdict {
    bool healthy;
    stream_health_check failed; /* the check the reason names first; OK when healthy */
    char reason[400];           /* one line: "ok", or which check, which partition, how long */
} stream_health_verdict;

/* Judges a snapshot. Only a running engine can be unhealthy: starting up and draining are each
 * bounded on their own (a failed start exits 1, a drain ends at --drain-timeout). When several
 * checks fail, the reason names the one closest to the cause first (no assignment, then
 * Cassandra unreachable, then a stalled partition) and lists the others after "; also". */
void stream_health_eval(const stream_health_snapshot *s, const stream_health_limits *l,
                        stream_health_verdict *v);

#endif
