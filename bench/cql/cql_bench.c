/* cql_bench: N prepared inserts of the reference row (12 text columns, a random 32-hex `id` as
 * the primary key, randomuser-like values) with rtetl's CQL client, as fast as the node takes
 * them. The rtetl contender of bench/cql/run and the Cassandra ceiling of bench/run.
 *
 * DESIGN. One thread, one libuv loop, the async session: a window of requests in flight is kept
 * full from the completion callbacks (each completion submits the next row), so the loop never
 * spins and the session coalesces everything submitted in one loop iteration into one write per
 * connection. Executes are token-aware (the session routes each to a replica of its id). Row
 * values come from a pool of 4,096 users made by rtetl's own builtin generator (the same
 * randomuser shape `rtetl ingest --source builtin` writes), row i taking pool entry i % 4096 and
 * a fresh random id; --dump-pool writes that pool as TSV so the other contenders insert the
 * very same values.
 *
 * Protocol with bench/cql/run (--handshake): "READY" on stdout once connected and prepared, then
 * a line on stdin starts the inserts; "DONE" plus a result line when all are acknowledged, then
 * it waits for stdin to close, so the runner reads CPU time and peak RSS from /proc at exactly
 * those two moments. Alone, it prints the result (one JSON line with --json) and exits.
 *
 * --rate R paces the inserts at R rows/s instead (row i is due at start + i/R) and reports the
 * write latency quantiles, each row's latency counted from the moment it was due, so a stall of
 * the node also counts for the rows that could not be sent during it. That is the latency floor
 * of any client of this node at that rate, the anchor for rtetl stream's end-to-end latency.
 *
 * --batch B sends each request as an unlogged BATCH of B executes of the same prepared INSERT
 * (the `cql-ceiling-batched` contender of bench/run): one frame and one response for B rows,
 * the window then counting batches in flight. The session routes a batch by its first row's
 * partition key; cql.h has no public replica lookup, so rows are not grouped by replica (on the
 * benchmark's one node with RF 1 every row has the same replica, so nothing is lost there). In
 * paced mode a batch carries the rows due at that moment, up to B. */
#include "cql/cql.h"
#include "ingest/gen.h"
#include "ingest/id.h"
#include "util/hist.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define POOL 4096
#define COLS 12

static const char *const columns[COLS] = {
    "id",    "first_name", "last_name", "gender",          "address", "post_code",
    "email", "username",   "dob",       "registered_date", "phone",   "picture",
};

typedef struct opts {
    const char *host, *keyspace, *table, *dump_pool;
    int port, window, connections, batch;
    long rows;
    double rate;
    bool json, fresh, handshake, lz4;
} opts;

/* One request in flight: rows first..first+n-1, sent at sent_us (microseconds, monotonic). */
typedef struct req {
    struct bench *b;
    long first;
    int n;
    uint64_t sent_us;
    struct req *next;
} req;

typedef struct bench {
    cql_session *s;
    const cql_prepared *p;
    char *pool[POOL][COLS - 1]; /* values of columns 1..11 */
    int32_t pool_len[POOL][COLS - 1];
    ingest_idgen ids;
    long rows, submitted, acked, failed, window, inflight;
    int batch;               /* rows per request: 1 plain executes, > 1 unlogged batches */
    cql_value (*vals)[COLS]; /* [batch]: the bound values of the request being built */
    char (*idbuf)[INGEST_ID_LEN];
    cql_batch_stmt *stmts; /* [batch] */
    cql_error last;
    bool done, broken;
    double t_end;
    double rate, t0; /* paced mode: rows/s and the start */
    req *reqs, *free_reqs;
    hist lat; /* due (paced) or sent -> acknowledged, microseconds */
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "cql_bench: %s: %s\n", what, msg);
    exit(1);
}

/* ---- the value pool ----------------------------------------------------------------------- */

static char *dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) die("pool", "out of memory");
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Fills the pool with users from the builtin generator (seed 42: the same on every run). */
static void make_pool(bench *b)
{
    ingest_gen g;
    ingest_person p;
    uint64_t seed = 42;
    ingest_gen_init(&g, &seed);
    for (int i = 0; i < POOL; i++) {
        ingest_gen_next(&g, &p);
        const ingest_user *u = &p.user;
        char addr[512];
        snprintf(addr, sizeof addr, "%.*s %.*s, %.*s, %.*s, %.*s", (int)u->street_number.n,
                 u->street_number.p, (int)u->street_name.n, u->street_name.p, (int)u->city.n,
                 u->city.p, (int)u->state.n, u->state.p, (int)u->country.n, u->country.p);
        const ingest_str v[COLS - 1] = {u->first,      u->last,  u->gender,   {addr, strlen(addr)},
                                        u->postcode,   u->email, u->username, u->dob,
                                        u->registered, u->phone, u->picture};
        for (int c = 0; c < COLS - 1; c++) {
            b->pool[i][c] = dup_n(v[c].p, v[c].n);
            b->pool_len[i][c] = (int32_t)v[c].n;
        }
    }
}

/* TSV: one pool entry a line, columns 1..11 (the generator never makes tabs or newlines). */
static void dump_pool(const bench *b, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) die(path, "cannot write");
    for (int i = 0; i < POOL; i++)
        for (int c = 0; c < COLS - 1; c++)
            fprintf(f, "%s%c", b->pool[i][c], c < COLS - 2 ? '\t' : '\n');
    if (fclose(f) != 0) die(path, "write failed");
}

/* ---- inserts ------------------------------------------------------------------------------ */

static void pump(bench *b);
static void on_insert(void *ud, const cql_error *err, const cql_result *res);

/* Paced mode: when row k was due, in microseconds (monotonic). */
static uint64_t due_us(const bench *b, long k)
{
    return (uint64_t)((b->t0 + (double)k / b->rate) * 1e6);
}

/* Binds row k (a fresh id, pool entry k % POOL) into slot j of the request being built. */
static void bind_row(bench *b, int j, long k)
{
    cql_value *v = b->vals[j];
    ingest_id_next(&b->ids, b->idbuf[j]);
    v[0] = (cql_value){(const uint8_t *)b->idbuf[j], INGEST_ID_LEN};
    for (int c = 1; c < COLS; c++)
        v[c] = (cql_value){(const uint8_t *)b->pool[k % POOL][c - 1], b->pool_len[k % POOL][c - 1]};
    b->stmts[j] = (cql_batch_stmt){b->p, v, COLS};
}

/* Sends rows submitted..submitted+n-1 as one request: an EXECUTE, or an unlogged BATCH. */
static int send_rows(bench *b, req *r, int n)
{
    for (int j = 0; j < n; j++) bind_row(b, j, b->submitted + j);
    r->first = b->submitted;
    r->n = n;
    r->sent_us = (uint64_t)(now_s() * 1e6);
    if (b->batch <= 1)
        return cql_session_execute(b->s, b->p, b->vals[0], COLS, CQL_LOCAL_ONE, on_insert, r);
    return cql_session_batch(b->s, CQL_BATCH_UNLOGGED, b->stmts, (size_t)n, CQL_LOCAL_ONE, NULL,
                             on_insert, r);
}

static void on_insert(void *ud, const cql_error *err, const cql_result *res)
{
    req *r = ud;
    bench *b = r->b;
    (void)res;
    if (!err) {
        uint64_t now = (uint64_t)(now_s() * 1e6);
        for (long k = r->first; k < r->first + r->n; k++) {
            uint64_t due = b->rate > 0 ? due_us(b, k) : r->sent_us;
            hist_record(&b->lat, now > due ? now - due : 0);
        }
    }
    r->next = b->free_reqs;
    b->free_reqs = r;
    b->inflight--;
    if (err) {
        b->failed += r->n;
        b->last = *err;
    } else {
        b->acked += r->n;
    }
    if (b->acked + b->failed == b->rows) {
        b->t_end = now_s();
        b->done = true;
        return;
    }
    if (b->rate <= 0) pump(b); /* paced: the main loop submits what is due */
}

/* Submits rows until the window is full; a completion calls it again. */
static void pump(bench *b)
{
    long due = b->rows;
    if (b->rate > 0) {
        due = (long)((now_s() - b->t0) * b->rate) + 1;
        if (due > b->rows) due = b->rows;
    }
    while (b->submitted < due && b->inflight < b->window) {
        int n = due - b->submitted < b->batch ? (int)(due - b->submitted) : b->batch;
        req *r = b->free_reqs; /* there is one: inflight < window */
        b->free_reqs = r->next;
        int rc = send_rows(b, r, n);
        if (rc) { /* give the request back */
            r->next = b->free_reqs;
            b->free_reqs = r;
        }
        if (rc == CQL_E_BACKPRESSURE && b->inflight > 0) return; /* the next completion resumes */
        if (rc) {
            cql_error_set(&b->last, rc, "execute refused: %s", cql_strerror(rc));
            b->broken = b->done = true;
            return;
        }
        b->submitted += n;
        b->inflight++;
    }
}

/* ---- setup and report --------------------------------------------------------------------- */

static void ddl(cql_sync *db, const char *q)
{
    cql_error e;
    if (cql_sync_query(db, q, NULL, 0, CQL_ONE, NULL, NULL, &e)) die(q, e.message);
}

static void create_table(cql_sync *db, const opts *o)
{
    char q[1024];
    snprintf(q, sizeof q,
             "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
             "{'class': 'SimpleStrategy', 'replication_factor': 1}",
             o->keyspace);
    ddl(db, q);
    if (o->fresh) {
        snprintf(q, sizeof q, "DROP TABLE IF EXISTS %s.%s", o->keyspace, o->table);
        ddl(db, q);
    }
    int n = snprintf(q, sizeof q, "CREATE TABLE IF NOT EXISTS %s.%s (", o->keyspace, o->table);
    for (int c = 0; c < COLS; c++)
        n += snprintf(q + n, sizeof q - (size_t)n, "%s text%s, ", columns[c],
                      c == 0 ? " PRIMARY KEY" : "");
    q[n - 2] = ')';
    q[n - 1] = '\0';
    ddl(db, q);
}

static const cql_prepared *prepare_insert(cql_sync *db, const opts *o)
{
    char q[1024];
    int n = snprintf(q, sizeof q, "INSERT INTO %s.%s (", o->keyspace, o->table);
    for (int c = 0; c < COLS; c++)
        n += snprintf(q + n, sizeof q - (size_t)n, "%s%s", columns[c], c < COLS - 1 ? ", " : "");
    n += snprintf(q + n, sizeof q - (size_t)n, ") VALUES (");
    for (int c = 0; c < COLS; c++)
        n += snprintf(q + n, sizeof q - (size_t)n, "?%s", c < COLS - 1 ? ", " : ")");
    const cql_prepared *p;
    cql_error e;
    if (cql_sync_prepare(db, q, &p, &e)) die("prepare", e.message);
    return p;
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void wait_line(void)
{
    char line[64];
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: cql_bench [--host H] [--port P] [--keyspace KS] [--table T] [--rows N]\n"
            "                 [--window W] [--connections C] [--fresh] [--lz4] [--json]\n"
            "                 [--rate R] [--batch B] [--handshake] | --dump-pool FILE\n"
            "  --rows N (alias --count) inserts [1000000]; --window W requests in flight [1024;\n"
            "  with --batch: batches in flight, 1024/B];\n"
            "  --batch B rows per unlogged BATCH of the prepared insert [1: no batches];\n"
            "  --connections C per host [2]; --fresh drops and recreates the table first;\n"
            "  --rate R paces R rows/s and adds write latency quantiles (from when each row was\n"
            "  due) to the result.\n");
    exit(2);
}

static void parse(int argc, char **argv, opts *o)
{
    *o = (opts){.host = "127.0.0.1",
                .keyspace = "bench_cql",
                .table = "tb_usuarios",
                .port = 9042,
                .window = 0,
                .batch = 1,
                .connections = 2,
                .rows = 1000000};
    static const struct option lo[] = {{"host", 1, 0, 'h'},
                                       {"port", 1, 0, 'p'},
                                       {"keyspace", 1, 0, 'k'},
                                       {"table", 1, 0, 't'},
                                       {"rows", 1, 0, 'n'},
                                       {"count", 1, 0, 'n'},
                                       {"window", 1, 0, 'w'},
                                       {"connections", 1, 0, 'c'},
                                       {"json", 0, 0, 'j'},
                                       {"fresh", 0, 0, 'f'},
                                       {"handshake", 0, 0, 'H'},
                                       {"dump-pool", 1, 0, 'd'},
                                       {"lz4", 0, 0, 'z'},
                                       {"rate", 1, 0, 'r'},
                                       {"batch", 1, 0, 'b'},
                                       {"help", 0, 0, '?'},
                                       {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'h': o->host = optarg; break;
        case 'p': o->port = atoi(optarg); break;
        case 'k': o->keyspace = optarg; break;
        case 't': o->table = optarg; break;
        case 'n': o->rows = atol(optarg); break;
        case 'w': o->window = atoi(optarg); break;
        case 'c': o->connections = atoi(optarg); break;
        case 'j': o->json = true; break;
        case 'f': o->fresh = true; break;
        case 'H': o->handshake = true; break;
        case 'd': o->dump_pool = optarg; break;
        case 'z': o->lz4 = true; break;
        case 'r': o->rate = atof(optarg); break;
        case 'b': o->batch = atoi(optarg); break;
        default: usage();
        }
    }
    if (o->batch < 1 || o->batch > 0xFFFF) usage();
    /* Rows in flight stay about 1024 whatever the batch size, unless --window says otherwise. */
    if (o->window == 0) o->window = 1024 / o->batch > 0 ? 1024 / o->batch : 1;
    if (optind < argc || o->rows < 1 || o->window < 1 || o->connections < 1 || o->rate < 0) usage();
}

int main(int argc, char **argv)
{
    opts o;
    parse(argc, argv, &o);
    bench *b = calloc(1, sizeof *b);
    if (!b) die("bench", "out of memory");
    make_pool(b);
    if (o.dump_pool) return dump_pool(b, o.dump_pool), 0;
    ingest_idgen_init(&b->ids, NULL);

    cql_config cfg;
    cql_config_init(&cfg);
    cfg.contact_points = o.host;
    cfg.port = o.port;
    cfg.connections_per_host = o.connections;
    /* Room for the whole window on every connection, so the window is the only bound. */
    cfg.max_inflight = o.window < 32000 ? o.window : 32000;
    cfg.request_timeout_ms = 30000;
    cfg.compression_lz4 = o.lz4;
    char err[600];
    cql_sync *db = cql_sync_connect(&cfg, err, sizeof err);
    if (!db) die("connect", err);
    create_table(db, &o);
    b->p = prepare_insert(db, &o);
    b->s = cql_sync_session(db);
    b->rows = o.rows;
    b->window = o.window;
    b->rate = o.rate;
    b->batch = o.batch;
    b->vals = calloc((size_t)o.batch, sizeof *b->vals);
    b->idbuf = calloc((size_t)o.batch, sizeof *b->idbuf);
    b->stmts = calloc((size_t)o.batch, sizeof *b->stmts);
    if (!b->vals || !b->idbuf || !b->stmts) die("bench", "out of memory");
    b->reqs = calloc((size_t)b->window, sizeof *b->reqs);
    if (!b->reqs) die("bench", "out of memory");
    for (long i = 0; i < b->window; i++) {
        b->reqs[i].b = b;
        b->reqs[i].next = i + 1 < b->window ? &b->reqs[i + 1] : NULL;
    }
    b->free_reqs = b->reqs;
    if (o.handshake) {
        printf("READY\n");
        wait_line();
    }

    double t0 = b->t0 = now_s();
    pump(b);
    while (!b->done) {
        /* Paced: wake every millisecond to send what has fallen due. */
        cql_sync_run(db, b->rate > 0 ? 1 : 1000, &b->done);
        if (b->rate > 0 && !b->done && !b->broken) pump(b);
    }
    if (b->broken) {
        /* Let what is in flight finish, so the session closes cleanly. */
        while (b->inflight > 0) cql_sync_run(db, 1000, NULL);
        b->t_end = now_s();
    }
    double secs = b->t_end - t0, cpu = cpu_s();
    long hwm = vm_hwm_kb();
    if (o.handshake) printf("DONE\n");
    printf(o.json ? "{\"rows\":%ld,\"seconds\":%.3f,\"rows_per_s\":%.0f,\"cpu_s\":%.3f,"
                    "\"rss_kb\":%ld,\"errors\":%ld,\"batch\":%d,\"window\":%ld"
                  : "rows=%ld seconds=%.3f rows_per_s=%.0f cpu_s=%.3f rss_kb=%ld errors=%ld "
                    "batch=%d window=%ld",
           b->acked, secs, b->acked / secs, cpu, hwm, b->failed, b->batch, b->window);
    if (b->rate > 0) {
        static const double qs[] = {0.5, 0.9, 0.99, 0.999};
        static const char *const names[] = {"p50", "p90", "p99", "p999"};
        printf(o.json ? ",\"rate\":%.0f" : " rate=%.0f", b->rate);
        for (int i = 0; i < 4; i++)
            printf(o.json ? ",\"%s_ms\":%.2f" : " %s_ms=%.2f", names[i],
                   (double)hist_quantile(&b->lat, qs[i]) / 1000.0);
    }
    printf(o.json ? "}\n" : "\n");
    if (b->failed || b->broken)
        fprintf(stderr, "cql_bench: %ld failed; last: %s: %s\n", b->failed,
                cql_strerror(b->last.code), b->last.message);
    if (o.handshake) wait_line();
    cql_sync_close(db);
    for (int i = 0; i < POOL; i++)
        for (int c = 0; c < COLS - 1; c++) free(b->pool[i][c]);
    int rc = b->failed || b->broken ? 1 : 0;
    free(b->reqs);
    free(b->vals);
    free(b->idbuf);
    free(b->stmts);
    free(b);
    return rc;
}
