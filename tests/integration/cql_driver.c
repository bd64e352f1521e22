/* Integration driver for the CQL client against the real Cassandra, run by cql_*_test.sh:
 *   cql_driver write-types KS           all scalar types from text + collections, 3 rows
 *   cql_driver write-blobs KS FILE      rows (k int, v text) from FILE: [4-byte BE len][bytes]...
 *   cql_driver write-text KS COL FILE   rows (k, COL) of table `lit` from FILE lines "k<TAB>text",
 *                                       COL parsed from text with its type; prints "REJECT k"
 *                                       for text the parser refuses
 *   cql_driver paging KS N              N async inserts, then a paged read; batches
 *   cql_driver reprepare KS             UNPREPARED after DROP/CREATE is handled transparently
 *   cql_driver alter KS                 a prepared SELECT * after ALTER TABLE ADD/DROP: new columns
 *   cql_driver use KS KS2               runtime USE reaches every connection before it returns
 *   cql_driver events KS                a SCHEMA_CHANGE event arrives for a new table
 *   cql_driver bench KS N               async insert throughput
 *   cql_driver outage KS                writes across `nodetool disablebinary/enablebinary`
 * Host from RTETL_TEST_CQL_HOST (127.0.0.1). Exits 0 when every check passed; prints FAIL lines. */
#include "cql/cql.h"
#include "cql_driver_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cql_config config(const char *ks)
{
    cql_config c;
    cql_config_init(&c);
    const char *h = getenv("RTETL_TEST_CQL_HOST");
    c.contact_points = h && *h ? h : "127.0.0.1";
    c.keyspace = ks;
    c.compression_lz4 = getenv("CQL_DRIVER_LZ4") != NULL;
    return c;
}

static cql_sync *open_db(const char *ks)
{
    cql_config c = config(ks);
    char err[600];
    cql_sync *db = cql_sync_connect(&c, err, sizeof err);
    if (!db) {
        fprintf(stderr, "connect: %s\n", err);
        exit(1);
    }
    return db;
}

static void exec_ddl(cql_sync *db, const char *q)
{
    cql_error e;
    must(cql_sync_query(db, q, NULL, 0, CQL_ONE, NULL, NULL, &e), &e, q);
}

/* ---- write-types -------------------------------------------------------------------------- */

static const char *const type_rows[][20] = {
    /* k, a, t, i, bi, si, ti, b, f, d, ts, dt, tm, u, tu, bl, ip, vi, de */
    {"r1", "plain ascii", "héllo wörld ✓", "-2147483648", "9223372036854775807", "-32768", "127",
     "true", "1.5", "3.141592653589793", "2024-02-29T12:34:56.789Z", "2024-02-29",
     "13:45:01.123456789", "123e4567-e89b-12d3-a456-426614174000",
     "d2177dd0-eaa2-11de-a572-001b779c76e3", "0xdeadbeef", "10.1.2.3",
     "-123456789012345678901234567890", "-3.14159"},
    {"r2", "", "", "0", "-1", "0", "-128", "false", "-0.25", "-1e-300", "0", "1970-01-01",
     "00:00:00", "00000000-0000-0000-0000-000000000000", "d2177dd0-eaa2-11de-a572-001b779c76e3",
     "0x", "::1", "0", "0.001"},
    {"r3", "x", "'quoted' \"double\" \\back", "42", "1700000000000", "1", "1", "true", "0.1",
     "1e300", "1700000000000", "1900-03-01", "23:59:59.999999999",
     "ffffffff-ffff-ffff-ffff-ffffffffffff", "d2177dd0-eaa2-11de-a572-001b779c76e3", "0x00ff",
     "2001:db8::8a2e:370:7334", "18446744073709551616", "12345678901234567890.123456789"},
};

/* Serializes list<int> [1, 2, 3] / set<text> {'a','b'} / map<text,int> {'k': 7} by hand. */
static size_t put32(uint8_t *p, int32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
    return 4;
}

static void write_types(const char *ks)
{
    cql_sync *db = open_db(ks);
    exec_ddl(db, "CREATE TABLE alltypes (k text PRIMARY KEY, a ascii, t text, i int, bi bigint, "
                 "si smallint, ti tinyint, b boolean, f float, d double, ts timestamp, dt date, "
                 "tm time, u uuid, tu timeuuid, bl blob, ip inet, vi varint, de decimal, "
                 "l list<int>, s set<text>, m map<text, int>, tp tuple<int, text>)");
    const cql_prepared *p;
    cql_error e;
    must(cql_sync_prepare(db,
                          "INSERT INTO alltypes (k, a, t, i, bi, si, ti, b, f, d, ts, dt, tm, "
                          "u, tu, bl, ip, vi, de, l, s, m, tp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                          "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          &p, &e),
         &e, "prepare");
    CHECK(cql_prepared_bind_count(p) == 23, "bind count %d", cql_prepared_bind_count(p));
    CHECK(cql_prepared_pk_count(p) == 1 && cql_prepared_pk_indexes(p)[0] == 0, "pk");
    CHECK(cql_prepared_bind_column(p, 19)->type.id == CQL_TYPE_LIST, "list type");
    uint8_t store[23][64], coll[4][64];
    size_t n = 0;
    n += put32(coll[0] + n, 3);
    for (int i = 1; i <= 3; i++) n += put32(coll[0] + n, 4), n += put32(coll[0] + n, i);
    size_t ln = n;
    n = put32(coll[1], 2);
    n += put32(coll[1] + n, 1), coll[1][n++] = 'a';
    n += put32(coll[1] + n, 1), coll[1][n++] = 'b';
    size_t sn = n;
    n = put32(coll[2], 1);
    n += put32(coll[2] + n, 1), coll[2][n++] = 'k';
    n += put32(coll[2] + n, 4), n += put32(coll[2] + n, 7);
    size_t mn = n;
    n = put32(coll[3], 4), n += put32(coll[3] + n, 5);
    n += put32(coll[3] + n, 2), coll[3][n++] = 'h', coll[3][n++] = 'i';
    size_t tn = n;
    for (int r = 0; r < 3; r++) {
        cql_value v[23];
        for (int c = 0; c < 19; c++) {
            const char *text = type_rows[r][c];
            int rc = cql_value_from_text(&cql_prepared_bind_column(p, c)->type, text, strlen(text),
                                         store[c], sizeof store[c], &v[c]);
            CHECK(rc == 0, "from_text column %d '%s': %s", c, text, cql_strerror(rc));
        }
        v[19] = cql_value_blob(coll[0], ln);
        v[20] = cql_value_blob(coll[1], sn);
        v[21] = cql_value_blob(coll[2], mn);
        v[22] = r == 2 ? cql_value_null() : cql_value_blob(coll[3], tn);
        int rc = cql_sync_execute(db, p, v, 23, CQL_ONE, NULL, NULL, &e);
        CHECK(rc == 0, "insert row %d: %s", r, e.message);
    }
    /* Read back through a prepared SELECT (skip_metadata path) and check formatted values. */
    const cql_prepared *sel;
    must(cql_sync_prepare(db, "SELECT * FROM alltypes WHERE k = ?", &sel, &e), &e, "prepare sel");
    cql_value key = cql_value_text("r1");
    cql_result *res;
    must(cql_sync_execute(db, sel, &key, 1, CQL_ONE, NULL, &res, &e), &e, "select");
    CHECK(cql_result_row_count(res) == 1, "rows %d", cql_result_row_count(res));
    char buf[256];
    for (int c = 0; c < cql_result_column_count(res); c++) {
        const cql_column *col = cql_result_column(res, c);
        cql_value v = cql_result_cell(res, 0, c);
        cql_value_format(&col->type, v.ptr, v.len, buf, sizeof buf);
        printf("r1.%s = %s\n", col->name, buf);
        if (strcmp(col->name, "l") == 0) CHECK(strcmp(buf, "[1, 2, 3]") == 0, "list %s", buf);
        if (strcmp(col->name, "m") == 0) CHECK(strcmp(buf, "{'k': 7}") == 0, "map %s", buf);
        if (strcmp(col->name, "tp") == 0) CHECK(strcmp(buf, "(5, 'hi')") == 0, "tuple %s", buf);
        if (strcmp(col->name, "vi") == 0)
            CHECK(strcmp(buf, type_rows[0][17]) == 0, "varint %s", buf);
        if (strcmp(col->name, "t") == 0) CHECK(strcmp(buf, type_rows[0][2]) == 0, "text %s", buf);
    }
    cql_result_free(res);
    cql_sync_close(db);
}

/* ---- async helpers ------------------------------------------------------------------------ */

/* Executes p with values, pumping the loop while the session pushes back. */
static void submit(cql_sync *db, async_state *st, const cql_prepared *p, const cql_value *v,
                   size_t n)
{
    cql_session *s = cql_sync_session(db);
    for (;;) {
        int rc = cql_session_execute(s, p, v, n, CQL_ONE, on_done, st);
        if (rc == 0) {
            st->pending++;
            st->stop = false;
            return;
        }
        if (rc != CQL_E_BACKPRESSURE) {
            fprintf(stderr, "execute: %s\n", cql_strerror(rc));
            exit(1);
        }
        cql_sync_run(db, 1, NULL);
    }
}

static void drain(cql_sync *db, async_state *st, int timeout_ms)
{
    if (st->pending > 0) cql_sync_run(db, timeout_ms, &st->stop);
}

/* ---- write-blobs -------------------------------------------------------------------------- */

static void write_blobs(const char *ks, const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f) return perror(file), exit(1);
    cql_sync *db = open_db(ks);
    const cql_prepared *p;
    cql_error e;
    must(cql_sync_prepare(db, "INSERT INTO hostile (k, v) VALUES (?, ?)", &p, &e), &e, "prepare");
    async_state st = {0};
    uint8_t len4[4], kb[4];
    int k = 0;
    while (fread(len4, 1, 4, f) == 4) {
        uint32_t len = (uint32_t)len4[0] << 24 | (uint32_t)len4[1] << 16 | len4[2] << 8 | len4[3];
        uint8_t *data = malloc(len ? len : 1);
        if (!data || fread(data, 1, len, f) != len) return fprintf(stderr, "short file\n"), exit(1);
        cql_value v[2] = {cql_value_int(kb, k++), cql_value_blob(data, len)};
        submit(db, &st, p, v, 2); /* values are copied into the frame: data can go now */
        free(data);
    }
    fclose(f);
    drain(db, &st, 30000);
    CHECK(st.ok == k && st.failed == 0, "ok %ld failed %ld of %d: %s", st.ok, st.failed, k,
          st.last.message);
    cql_sync_close(db);
}

/* ---- write-text --------------------------------------------------------------------------- */

static void write_text(const char *ks, const char *col, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) return perror(file), exit(1);
    cql_sync *db = open_db(ks);
    const cql_prepared *p;
    cql_error e;
    char q[200], line[512];
    snprintf(q, sizeof q, "INSERT INTO lit (k, %s) VALUES (?, ?)", col);
    must(cql_sync_prepare(db, q, &p, &e), &e, "prepare");
    const cql_type *type = &cql_prepared_bind_column(p, 1)->type;
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        line[strcspn(line, "\n")] = '\0';
        uint8_t kb[4], buf[64];
        cql_value v[2] = {cql_value_int(kb, atoi(line))};
        if (cql_value_from_text(type, tab + 1, strlen(tab + 1), buf, sizeof buf, &v[1])) {
            printf("REJECT %d\n", atoi(line));
            continue;
        }
        int rc = cql_sync_execute(db, p, v, 2, CQL_ONE, NULL, NULL, &e);
        CHECK(rc == 0, "insert '%s': %s", tab + 1, e.message);
    }
    fclose(f);
    cql_sync_close(db);
}

/* ---- paging and batches ------------------------------------------------------------------- */

static void paging(const char *ks, long n)
{
    cql_sync *db = open_db(ks);
    exec_ddl(db, "CREATE TABLE rows (p int, c int, v text, PRIMARY KEY (p, c))");
    const cql_prepared *p;
    cql_error e;
    must(cql_sync_prepare(db, "INSERT INTO rows (p, c, v) VALUES (?, ?, ?)", &p, &e), &e, "prep");
    async_state st = {0};
    for (long i = 0; i < n; i++) {
        uint8_t pb[4], cb[4];
        char text[32];
        snprintf(text, sizeof text, "row-%ld", i);
        cql_value v[3] = {cql_value_int(pb, (int32_t)(i % 97)), cql_value_int(cb, (int32_t)i),
                          cql_value_text(text)};
        submit(db, &st, p, v, 3);
    }
    drain(db, &st, 60000);
    CHECK(st.ok == n && st.failed == 0, "inserted %ld/%ld failed %ld: %s", st.ok, n, st.failed,
          st.last.message);
    cql_query_opts o;
    cql_query_opts_init(&o);
    o.page_size = 1000;
    long rows = 0, pages = 0;
    cql_result *res = NULL, *prev = NULL;
    do {
        if (prev) o.paging_state = cql_result_paging_state(prev);
        int rc = cql_sync_query(db, "SELECT p, c, v FROM rows", NULL, 0, CQL_ONE, &o, &res, &e);
        cql_result_free(prev);
        must(rc, &e, "page");
        rows += cql_result_row_count(res);
        pages++;
        prev = res;
    } while (cql_result_has_more_pages(res));
    cql_result_free(res);
    CHECK(rows == n, "paged rows %ld, want %ld", rows, n);
    CHECK(pages >= n / 1000, "pages %ld", pages);
    /* Batches of prepared statements, logged and unlogged, into one new partition each. */
    for (int type = 0; type < 2; type++) {
        cql_batch_stmt stmts[10];
        uint8_t pb[10][4], cb[10][4];
        cql_value vals[10][3];
        for (int i = 0; i < 10; i++) {
            vals[i][0] = cql_value_int(pb[i], 1000 + type);
            vals[i][1] = cql_value_int(cb[i], i);
            vals[i][2] = cql_value_text("batched");
            stmts[i] = (cql_batch_stmt){p, vals[i], 3};
        }
        int rc = cql_sync_batch(db, type == 0 ? CQL_BATCH_LOGGED : CQL_BATCH_UNLOGGED, stmts, 10,
                                CQL_ONE, &e);
        CHECK(rc == 0, "batch %d: %s", type, e.message);
    }
    must(cql_sync_query(db, "SELECT count(*) FROM rows WHERE p IN (1000, 1001)", NULL, 0, CQL_ONE,
                        NULL, &res, &e),
         &e, "count");
    int64_t count = -1;
    cql_value_get_bigint(cql_result_cell(res, 0, 0), &count);
    CHECK(count == 20, "batched rows %lld", (long long)count);
    cql_result_free(res);
    cql_sync_close(db);
}

/* ---- reprepare ---------------------------------------------------------------------------- */

static void reprepare(const char *ks)
{
    cql_sync *db = open_db(ks);
    exec_ddl(db, "CREATE TABLE rp (k int PRIMARY KEY, v text)");
    const cql_prepared *p;
    cql_error e;
    must(cql_sync_prepare(db, "INSERT INTO rp (k, v) VALUES (?, ?)", &p, &e), &e, "prepare");
    uint8_t kb[4];
    cql_value v[2] = {cql_value_int(kb, 1), cql_value_text("before")};
    CHECK(cql_sync_execute(db, p, v, 2, CQL_ONE, NULL, NULL, &e) == 0, "%s", e.message);
    /* Dropping the table evicts its statements from the server's cache: the next EXECUTE gets
     * UNPREPARED, which the client must answer by preparing again and re-sending. */
    exec_ddl(db, "DROP TABLE rp");
    exec_ddl(db, "CREATE TABLE rp (k int PRIMARY KEY, v text)");
    v[1] = cql_value_text("after");
    int rc = cql_sync_execute(db, p, v, 2, CQL_ONE, NULL, NULL, &e);
    CHECK(rc == 0, "execute after re-create: %s", e.message);
    cql_stats st;
    cql_session_stats(cql_sync_session(db), &st);
    CHECK(st.reprepares >= 1, "reprepares %llu", (unsigned long long)st.reprepares);
    cql_result *res;
    must(cql_sync_query(db, "SELECT v FROM rp WHERE k = 1", NULL, 0, CQL_ONE, NULL, &res, &e), &e,
         "select");
    cql_value got = cql_result_cell(res, 0, 0);
    CHECK(got.len == 5 && memcmp(got.ptr, "after", 5) == 0, "value %.*s", got.len,
          got.len > 0 ? (const char *)got.ptr : "");
    cql_result_free(res);
    cql_sync_close(db);
}

/* ---- alter: prepared SELECT after ALTER TABLE --------------------------------------------- */

/* Executes p for k = 1 and checks the columns' names, types (in order) and cell count. */
static void check_columns(cql_sync *db, const cql_prepared *p, const char *const *names,
                          const cql_type_id *types, int n, const char *step)
{
    uint8_t kb[4];
    cql_value v[1] = {cql_value_int(kb, 1)};
    cql_result *res = NULL;
    cql_error e;
    must(cql_sync_execute(db, p, v, 1, CQL_ONE, NULL, &res, &e), &e, step);
    CHECK(cql_result_column_count(res) == n, "%s: %d columns, want %d", step,
          cql_result_column_count(res), n);
    for (int i = 0; i < n && i < cql_result_column_count(res); i++) {
        const cql_column *c = cql_result_column(res, i);
        CHECK(strcmp(c->name, names[i]) == 0 && c->type.id == types[i],
              "%s: column %d is %s of type %d, want %s of type %d", step, i, c->name, c->type.id,
              names[i], types[i]);
    }
    CHECK(cql_prepared_result_column_count(p) == n, "%s: prepared has %d result columns", step,
          cql_prepared_result_column_count(p));
    cql_result_free(res);
}

static void alter(const char *ks)
{
    cql_sync *db = open_db(ks);
    exec_ddl(db, "CREATE TABLE al (k int PRIMARY KEY, v text)");
    exec_ddl(db, "INSERT INTO al (k, v) VALUES (1, 'one')");
    const cql_prepared *p;
    cql_error e;
    must(cql_sync_prepare(db, "SELECT * FROM al WHERE k = ?", &p, &e), &e, "prepare");
    check_columns(db, p, (const char *const[]){"k", "v"},
                  (const cql_type_id[]){CQL_TYPE_INT, CQL_TYPE_VARCHAR}, 2, "before ALTER");
    exec_ddl(db, "ALTER TABLE al ADD a bigint");
    exec_ddl(db, "UPDATE al SET a = 42 WHERE k = 1");
    check_columns(db, p, (const char *const[]){"k", "a", "v"},
                  (const cql_type_id[]){CQL_TYPE_INT, CQL_TYPE_BIGINT, CQL_TYPE_VARCHAR}, 3,
                  "after ADD");
    exec_ddl(db, "ALTER TABLE al DROP v");
    check_columns(db, p, (const char *const[]){"k", "a"},
                  (const cql_type_id[]){CQL_TYPE_INT, CQL_TYPE_BIGINT}, 2, "after DROP");
    cql_sync_close(db);
}

/* ---- use: runtime USE on every connection -------------------------------------------------- */

typedef struct use_state {
    async_state st;
    int wrong;
} use_state;

static void on_use_select(void *ud, const cql_error *err, const cql_result *res)
{
    use_state *u = ud;
    cql_value v = res ? cql_result_cell(res, 0, 0) : cql_value_null();
    if (!err && !(v.len == 3 && memcmp(v.ptr, "two", 3) == 0)) u->wrong++;
    on_done(&u->st, err, res);
}

static void use_ks(const char *ks, const char *ks2)
{
    cql_config c = config(ks);
    c.connections_per_host = 8;
    char err[600], q[300];
    cql_sync *db = cql_sync_connect(&c, err, sizeof err);
    if (!db) return fprintf(stderr, "connect: %s\n", err), exit(1);
    exec_ddl(db, "CREATE TABLE IF NOT EXISTS u (k int PRIMARY KEY, v text)");
    exec_ddl(db, "INSERT INTO u (k, v) VALUES (1, 'one')");
    snprintf(q, sizeof q, "CREATE TABLE IF NOT EXISTS %s.u (k int PRIMARY KEY, v text)", ks2);
    exec_ddl(db, q);
    snprintf(q, sizeof q, "INSERT INTO %s.u (k, v) VALUES (1, 'two')", ks2);
    exec_ddl(db, q);
    snprintf(q, sizeof q, "USE %s", ks2);
    exec_ddl(db, q);
    /* Right after USE returns, every connection must already be in ks2. */
    use_state u = {0};
    for (int i = 0; i < 64; i++) {
        u.st.pending++;
        int rc = cql_session_query(cql_sync_session(db), "SELECT v FROM u WHERE k = 1", NULL, 0,
                                   CQL_ONE, NULL, on_use_select, &u);
        if (rc) u.st.pending--, u.st.failed++;
    }
    if (u.st.pending > 0) cql_sync_run(db, 10000, &u.st.stop);
    CHECK(u.st.failed == 0 && u.st.ok == 64, "ok %ld failed %ld: %s", u.st.ok, u.st.failed,
          u.st.last.message);
    CHECK(u.wrong == 0, "%d of 64 reads ran in the old keyspace", u.wrong);
    cql_sync_close(db);
}

/* ---- events ------------------------------------------------------------------------------- */

typedef struct event_wait {
    bool seen, stop;
    char name[128];
} event_wait;

static void on_event(cql_session *s, const cql_event *ev, void *ud)
{
    event_wait *w = ud;
    printf("event type=%d change=%s target=%s ks=%s name=%s host=%s\n", ev->type, ev->change,
           ev->target, ev->keyspace, ev->name, ev->host);
    if (ev->type == CQL_EVENT_SCHEMA && strcmp(ev->change, "CREATED") == 0 &&
        strcmp(ev->target, "TABLE") == 0 && strcmp(ev->name, w->name) == 0)
        w->seen = w->stop = true;
}

static void events(const char *ks)
{
    cql_sync *db = open_db(ks);
    event_wait w = {0};
    snprintf(w.name, sizeof w.name, "evt_%ld", (long)time(NULL) % 100000);
    cql_session_set_event_cb(cql_sync_session(db), on_event, &w);
    /* Another client creates the table; our control connection must hear about it. */
    cql_sync *other = open_db(ks);
    char q[256];
    snprintf(q, sizeof q, "CREATE TABLE %s (k int PRIMARY KEY)", w.name);
    exec_ddl(other, q);
    cql_sync_close(other);
    cql_sync_run(db, 15000, &w.stop);
    CHECK(w.seen, "no SCHEMA_CHANGE CREATED TABLE %s within 15 s", w.name);
    cql_sync_close(db);
}

/* ---- bench -------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench(const char *ks, long n)
{
    cql_sync *db = open_db(ks);
    exec_ddl(db,
             "CREATE TABLE IF NOT EXISTS bench (k bigint PRIMARY KEY, a text, b int, c double)");
    const cql_prepared *p;
    cql_error e;
    must(cql_sync_prepare(db, "INSERT INTO bench (k, a, b, c) VALUES (?, ?, ?, ?)", &p, &e), &e,
         "prepare");
    async_state st = {0};
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        uint8_t kb[8], bb[4], cb[8];
        cql_value v[4] = {cql_value_bigint(kb, i), cql_value_text("some text value of a record"),
                          cql_value_int(bb, (int32_t)i), cql_value_double(cb, i * 0.5)};
        submit(db, &st, p, v, 4);
    }
    drain(db, &st, 120000);
    double dt = now_s() - t0;
    cql_stats s;
    cql_session_stats(cql_sync_session(db), &s);
    printf("bench: %ld inserts in %.2f s = %.0f/s (failed %ld, bytes out %llu)\n", n, dt, n / dt,
           st.failed, (unsigned long long)s.bytes_out);
    CHECK(st.ok == n && st.failed == 0, "ok %ld failed %ld: %s", st.ok, st.failed, st.last.message);
    cql_sync_close(db);
}

/* ---- outage: the native transport goes away in the middle of writes ----------------------- */

static void nodetool(const char *arg)
{
    char cmd[1024];
    const char *src = getenv("RTETL_SRC");
    snprintf(cmd, sizeof cmd, "%s/scripts/stack nodetool %s >/dev/null 2>&1", src ? src : ".", arg);
    int rc = system(cmd);
    printf("nodetool %s -> %d\n", arg, rc);
}

static int hosts_up(cql_sync *db)
{
    cql_stats st;
    cql_session_stats(cql_sync_session(db), &st);
    return st.hosts_up;
}

/* Submits writes for ms milliseconds with at most 64 in flight; counts immediate refusals. */
static void write_for(cql_sync *db, async_state *st, const cql_prepared *p, long *key, int ms,
                      long *refused, bool (*until)(cql_sync *))
{
    double end = now_s() + ms / 1000.0;
    cql_session *s = cql_sync_session(db);
    while (now_s() < end && !(until && until(db))) {
        if (st->pending < 64) {
            uint8_t kb[8];
            cql_value v[2] = {cql_value_bigint(kb, *key), cql_value_text("outage")};
            int rc = cql_session_execute(s, p, v, 2, CQL_ONE, on_done, st);
            if (rc == 0)
                st->pending++, (*key)++;
            else
                (*refused)++;
            if (rc && rc != CQL_E_NO_HOST && rc != CQL_E_BACKPRESSURE)
                printf("unexpected refusal %s\n", cql_strerror(rc));
        }
        cql_sync_run(db, st->pending >= 64 || *refused ? 5 : 0, NULL);
    }
}

static bool all_down(cql_sync *db)
{
    return hosts_up(db) == 0;
}

static bool some_up(cql_sync *db)
{
    return hosts_up(db) > 0;
}

static void outage(const char *ks)
{
    cql_config c = config(ks);
    c.reconnect_base_ms = 200;
    c.reconnect_max_ms = 1000;
    c.request_timeout_ms = 5000;
    char err[600];
    cql_sync *db = cql_sync_connect(&c, err, sizeof err);
    if (!db) return fprintf(stderr, "connect: %s\n", err), exit(1);
    exec_ddl(db, "CREATE TABLE outage (k bigint PRIMARY KEY, v text)");
    const cql_prepared *p;
    cql_error e;
    must(cql_sync_prepare(db, "INSERT INTO outage (k, v) VALUES (?, ?)", &p, &e), &e, "prepare");
    async_state before = {0}, during = {0}, after = {0};
    long key = 0, refused = 0;
    write_for(db, &before, p, &key, 2000, &refused, NULL);
    nodetool("disablebinary");
    write_for(db, &during, p, &key, 30000, &refused, all_down);
    CHECK(hosts_up(db) == 0, "the host is still up 30 s after disablebinary");
    nodetool("enablebinary");
    write_for(db, &during, p, &key, 60000, &refused, some_up);
    CHECK(hosts_up(db) > 0, "no reconnect within 60 s of enablebinary");
    drain(db, &during, 10000);
    long before_after = key;
    write_for(db, &after, p, &key, 2000, &refused, NULL);
    drain(db, &before, 10000);
    drain(db, &after, 10000);
    cql_stats st;
    cql_session_stats(cql_sync_session(db), &st);
    printf("outage: before ok=%ld failed=%ld; during ok=%ld failed=%ld (last: %s: %s); "
           "after ok=%ld failed=%ld; refused %ld; reconnects %llu\n",
           before.ok, before.failed, during.ok, during.failed, cql_strerror(during.last.code),
           during.last.message, after.ok, after.failed, refused, (unsigned long long)st.reconnects);
    CHECK(before.ok > 0 && before.failed == 0, "writes before the outage");
    CHECK(before.pending == 0 && during.pending == 0 && after.pending == 0,
          "callbacks missing: %ld %ld %ld", before.pending, during.pending, after.pending);
    CHECK(during.failed == 0 || cql_error_retriable(&during.last), "non-retriable outage error %d",
          during.last.code);
    CHECK(after.ok == key - before_after && after.failed == 0, "writes after recovery ok %ld/%ld",
          after.ok, key - before_after);
    CHECK(st.reconnects >= 1, "reconnects %llu", (unsigned long long)st.reconnects);
    printf("acknowledged %ld\n", before.ok + during.ok + after.ok);
    cql_sync_close(db);
}

int main(int argc, char **argv)
{
    if (argc < 3) return fprintf(stderr, "usage: see the file header\n"), 2;
    const char *cmd = argv[1], *ks = argv[2];
    if (strcmp(cmd, "write-types") == 0)
        write_types(ks);
    else if (strcmp(cmd, "write-blobs") == 0 && argc > 3)
        write_blobs(ks, argv[3]);
    else if (strcmp(cmd, "write-text") == 0 && argc > 4)
        write_text(ks, argv[3], argv[4]);
    else if (strcmp(cmd, "paging") == 0 && argc > 3)
        paging(ks, atol(argv[3]));
    else if (strcmp(cmd, "reprepare") == 0)
        reprepare(ks);
    else if (strcmp(cmd, "alter") == 0)
        alter(ks);
    else if (strcmp(cmd, "use") == 0 && argc > 3)
        use_ks(ks, argv[3]);
    else if (strcmp(cmd, "events") == 0)
        events(ks);
    else if (strcmp(cmd, "bench") == 0 && argc > 3)
        bench(ks, atol(argv[3]));
    else if (strcmp(cmd, "outage") == 0)
        outage(ks);
    else
        return fprintf(stderr, "unknown command %s\n", cmd), 2;
    printf("%s: %d failure(s)\n", cmd, failures);
    return failures ? 1 : 0;
}
