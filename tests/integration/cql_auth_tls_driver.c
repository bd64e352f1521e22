/* Integration driver for authentication and TLS, run by cql_auth_tls_test.sh against a second
 * Cassandra node (PasswordAuthenticator; a plain port and a TLS-only port):
 *   cql_auth_tls_driver connect-fail CODE   the async connect fails with CODE (bad_credentials,
 *                                           auth or tls), once, with a message, not retriable
 *   cql_auth_tls_driver write KS N          N rows with blobs of 0 B to 1 MiB written with many
 *                                           requests in flight, read back in pages and compared
 * The connection comes from the environment: CQL_HOST [127.0.0.1], CQL_PORT [9042], CQL_USER,
 * CQL_PASSWORD, CQL_TLS=1, CQL_CA_FILE, CQL_LZ4=1. Prints PASS/FAIL lines; exits 0 when every
 * check passed. */
#include "cql/cql.h"
#include "cql_driver_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static cql_config config(void)
{
    cql_config c;
    cql_config_init(&c);
    c.contact_points = env("CQL_HOST", "127.0.0.1");
    c.port = atoi(env("CQL_PORT", "9042"));
    c.username = env("CQL_USER", NULL);
    c.password = env("CQL_PASSWORD", NULL);
    c.tls = strcmp(env("CQL_TLS", "0"), "1") == 0;
    c.tls_ca_file = env("CQL_CA_FILE", NULL);
    c.tls_cert_file = env("CQL_CERT_FILE", NULL);
    c.tls_key_file = env("CQL_KEY_FILE", NULL);
    c.compression_lz4 = strcmp(env("CQL_LZ4", "0"), "1") == 0;
    c.connect_timeout_ms = 20000; /* a loaded CI box: the TLS handshake is slow on a busy JVM */
    c.request_timeout_ms = 60000;
    return c;
}

/* ---- connect-fail ------------------------------------------------------------------------- */

typedef struct connect_wait {
    int calls;
    cql_error err;
    bool closed;
} connect_wait;

static void on_connect(cql_session *s, const cql_error *err, void *ud)
{
    connect_wait *w = ud;
    w->calls++;
    if (err) w->err = *err;
}

static void on_closed(cql_session *s, void *ud)
{
    ((connect_wait *)ud)->closed = true;
}

static void connect_fail(const char *want)
{
    int code = strcmp(want, "bad_credentials") == 0 ? CQL_ERR_BAD_CREDENTIALS
               : strcmp(want, "auth") == 0          ? CQL_E_AUTH
               : strcmp(want, "tls") == 0           ? CQL_E_TLS
                                                    : 1;
    if (code == 1) fprintf(stderr, "unknown code %s\n", want), exit(2);
    uv_loop_t loop;
    uv_loop_init(&loop);
    cql_config c = config();
    char err[600];
    cql_session *s = cql_session_new(&loop, &c, err, sizeof err);
    if (!s) fprintf(stderr, "session: %s\n", err), exit(1);
    connect_wait w = {0};
    CHECK(cql_session_connect(s, on_connect, &w) == 0, "connect refused");
    while (w.calls == 0) uv_run(&loop, UV_RUN_ONCE);
    printf("connect error: %s (%d): %s\n", cql_strerror(w.err.code), w.err.code, w.err.message);
    CHECK(w.err.code == code, "expected %s, got %s (%s)", cql_strerror(code),
          cql_strerror(w.err.code), w.err.message);
    CHECK(w.err.message[0] != '\0' && !strchr(w.err.message, '\n'), "message '%s'", w.err.message);
    CHECK(!cql_error_retriable(&w.err), "%s counts as retriable", cql_strerror(w.err.code));
    CHECK(cql_session_close(s, on_closed, &w) == 0, "close refused");
    while (!w.closed) uv_run(&loop, UV_RUN_ONCE);
    CHECK(w.calls == 1, "connect callback fired %d times", w.calls);
    cql_session_free(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0, "handles left open on the loop");
}

/* ---- write -------------------------------------------------------------------------------- */

/* Row i's blob: sizes from 0 to ~40 KB, and 1 MiB for every 25th row, so TLS records (16 KiB
 * at most) split frames and frames share records; the content is a function of (i, j). */
static size_t blob_size(long i)
{
    return i % 25 == 7 ? (size_t)1 << 20 : (size_t)((i * 7919) % 40000);
}

static void fill_blob(long i, uint8_t *b, size_t n)
{
    for (size_t j = 0; j < n; j++) b[j] = (uint8_t)(i * 31 + (long)j * 7);
}

static void write_rows(cql_sync *db, const cql_prepared *p, long n, async_state *st)
{
    cql_session *s = cql_sync_session(db);
    uint8_t *blob = malloc((size_t)1 << 20);
    if (!blob) exit(1);
    for (long i = 0; i < n; i++) {
        char id[32];
        uint8_t nb[4];
        snprintf(id, sizeof id, "row-%06ld", i);
        size_t len = blob_size(i);
        fill_blob(i, blob, len);
        cql_value v[3] = {cql_value_text(id), cql_value_int(nb, (int32_t)i),
                          cql_value_blob(blob, len)};
        for (;;) {
            /* At most 256 in flight: enough to coalesce many frames into one TLS write. */
            int rc = st->pending < 256 ? cql_session_execute(s, p, v, 3, CQL_ONE, on_done, st)
                                       : CQL_E_BACKPRESSURE;
            if (rc == 0) {
                st->pending++;
                st->stop = false;
                break;
            }
            if (rc != CQL_E_BACKPRESSURE)
                fprintf(stderr, "execute: %s\n", cql_strerror(rc)), exit(1);
            cql_sync_run(db, 1, NULL);
        }
    }
    free(blob);
    if (st->pending > 0) cql_sync_run(db, 120000, &st->stop);
}

/* Reads the table back in small pages and compares every row; returns the rows seen. */
static long read_back(cql_sync *db, long n, long *bad)
{
    cql_query_opts o;
    cql_query_opts_init(&o);
    o.page_size = 20;
    long seen = 0;
    uint8_t *want = malloc((size_t)1 << 20);
    char *state = NULL;
    if (!want) exit(1);
    for (;;) {
        cql_result *r;
        cql_error e;
        must(cql_sync_query(db, "SELECT id, n, payload FROM t", NULL, 0, CQL_ONE, &o, &r, &e), &e,
             "select");
        for (int32_t row = 0; row < cql_result_row_count(r); row++, seen++) {
            int32_t i = -1;
            cql_value id = cql_result_cell(r, row, 0), pl = cql_result_cell(r, row, 2);
            cql_value_get_int(cql_result_cell(r, row, 1), &i);
            char expect_id[32];
            snprintf(expect_id, sizeof expect_id, "row-%06ld", (long)i);
            size_t len = i >= 0 && i < n ? blob_size(i) : 0;
            fill_blob(i, want, len);
            bool ok = i >= 0 && i < n && id.len == (int32_t)strlen(expect_id) &&
                      memcmp(id.ptr, expect_id, (size_t)id.len) == 0 && pl.len == (int32_t)len &&
                      (len == 0 || memcmp(pl.ptr, want, len) == 0);
            if (!ok && (*bad)++ < 5)
                printf("row n=%d: id or payload (%d bytes) differs\n", i, pl.len);
        }
        free(state);
        state = NULL;
        bool more = cql_result_has_more_pages(r);
        if (more) {
            cql_value ps = cql_result_paging_state(r);
            state = malloc((size_t)ps.len);
            memcpy(state, ps.ptr, (size_t)ps.len);
            o.paging_state = (cql_value){(const uint8_t *)state, ps.len};
        }
        cql_result_free(r);
        if (!more) break;
    }
    free(state);
    free(want);
    return seen;
}

static void write_cmd(const char *ks, long n)
{
    cql_config c = config();
    c.keyspace = ks;
    c.connections_per_host = 1; /* every frame on one TLS stream: the most coalescing */
    char err[600];
    cql_sync *db = cql_sync_connect(&c, err, sizeof err);
    if (!db) fprintf(stderr, "connect: %s\n", err), exit(1);
    cql_error e;
    must(cql_sync_query(db, "CREATE TABLE t (id text PRIMARY KEY, n int, payload blob)", NULL, 0,
                        CQL_ONE, NULL, NULL, &e),
         &e, "create table");
    const cql_prepared *p;
    must(cql_sync_prepare(db, "INSERT INTO t (id, n, payload) VALUES (?, ?, ?)", &p, &e), &e,
         "prepare");
    async_state st = {0};
    write_rows(db, p, n, &st);
    CHECK(st.ok == n && st.failed == 0 && st.pending == 0, "ok %ld failed %ld pending %ld: %s",
          st.ok, st.failed, st.pending, st.last.message);
    long bad = 0, seen = read_back(db, n, &bad);
    CHECK(seen == n, "read %ld rows of %ld", seen, n);
    CHECK(bad == 0, "%ld rows differ", bad);
    cql_stats s;
    cql_session_stats(cql_sync_session(db), &s);
    printf("write: %ld rows, %llu bytes out, %llu bytes in, %llu errors\n", n,
           (unsigned long long)s.bytes_out, (unsigned long long)s.bytes_in,
           (unsigned long long)s.errors);
    cql_sync_close(db);
}

int main(int argc, char **argv)
{
    if (argc < 3) return fprintf(stderr, "usage: see the file header\n"), 2;
    if (strcmp(argv[1], "connect-fail") == 0)
        connect_fail(argv[2]);
    else if (strcmp(argv[1], "write") == 0 && argc > 3)
        write_cmd(argv[2], atol(argv[3]));
    else
        return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
    printf("%s: %d failure(s)\n", argv[1], failures);
    return failures ? 1 : 0;
}
