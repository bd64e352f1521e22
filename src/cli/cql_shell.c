/* `rtetl cql`: run CQL statements against Cassandra (-e, -f FILE, or a prompt on stdin) and print
 * rows as an aligned table (like cqlsh), JSON lines or CSV. Uses the blocking cql_sync API. */
#include "cli/cli.h"
#include "cql/split.h"
#include "cql/cql.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct shell_cfg {
    const char *execute;
    const char *file;
    const char *format;
    const char *host;
    long long port;
    const char *user;
    const char *password;
    const char *password_file;
    const char *cert_file;
    const char *key_file;
    const char *keyspace;
    bool tls;
    const char *ca_file;
    bool tls_verify;
    bool compression;
    const char *consistency;
    long long page_size;
    double request_timeout;
    double connect_timeout;
} shell_cfg;

#define O(f) offsetof(shell_cfg, f)
static const opt_spec specs[] = {
    {"execute", 'e', OPT_STR, O(execute), NULL, "CQL", "Run these statements and exit", OPT_NO_ENV,
     0, 0},
    {"file", 'f', OPT_STR, O(file), NULL, "FILE", "Run the ;-separated statements of FILE",
     OPT_NO_ENV, 0, 0},
    {"format", 0, OPT_STR, O(format), "table", "FMT",
     "Output: table, json (one object per row) "
     "or csv",
     0, 0, 0},
    {"host", 0, OPT_STR, O(host), "127.0.0.1", "HOSTS", "Contact points, host[:port],...", 0, 0, 0},
    {"port", 0, OPT_INT, O(port), "9042", "PORT", "Default native-protocol port", 0, 1, 65535},
    {"user", 'u', OPT_STR, O(user), NULL, "NAME", "User name (PasswordAuthenticator)", 0, 0, 0},
    {"password", 0, OPT_STR, O(password), NULL, "SECRET", "Password (better: env RTETL_PASSWORD)",
     OPT_SECRET, 0, 0},
    {"password-file", 0, OPT_STR, O(password_file), NULL, "FILE",
     "Read the password from the first line of FILE", 0, 0, 0},
    {"keyspace", 'k', OPT_STR, O(keyspace), NULL, "KS", "Keyspace to USE", 0, 0, 0},
    {"tls", 0, OPT_BOOL, O(tls), "false", NULL, "Connect with TLS", 0, 0, 0},
    {"ca-file", 0, OPT_STR, O(ca_file), NULL, "PEM", "CA bundle to verify the server with", 0, 0,
     0},
    {"tls-verify", 0, OPT_BOOL, O(tls_verify), "true", NULL, "Verify the server certificate", 0, 0,
     0},
    {"cert-file", 0, OPT_STR, O(cert_file), NULL, "PEM",
     "Client certificate chain for mutual TLS (servers with require_client_auth)", 0, 0, 0},
    {"key-file", 0, OPT_STR, O(key_file), NULL, "PEM",
     "Private key of --cert-file [default: in the certificate file]", 0, 0, 0},
    {"compression", 0, OPT_BOOL, O(compression), "false", NULL, "Ask for lz4 frame compression", 0,
     0, 0},
    {"consistency", 0, OPT_STR, O(consistency), "local_one", "CL", "Consistency level", 0, 0, 0},
    {"page-size", 0, OPT_INT, O(page_size), "5000", "N", "Rows per page (all pages are printed)", 0,
     1, 1000000},
    {"request-timeout", 0, OPT_DURATION, O(request_timeout), "12s", "D", "Per-request timeout", 0,
     0, 0},
    {"connect-timeout", 0, OPT_DURATION, O(connect_timeout), "5s", "D", "Connect timeout", 0, 0, 0},
};
#define NSPECS (sizeof specs / sizeof specs[0])

typedef enum { FMT_TABLE, FMT_JSON, FMT_CSV } out_format;

typedef struct shell {
    cql_sync *db;
    shell_cfg cfg;
    out_format fmt;
    int cl;
    const char *password; /* --password, or the secret read from --password-file */
    char password_buf[1024];
} shell;

/* ---- cell text ---------------------------------------------------------------------------- */

/* The printable form of a cell, malloc'd. */
static char *cell_text(const cql_column *col, cql_value v)
{
    char small[64];
    int n = cql_value_format(&col->type, v.ptr, v.len, small, sizeof small);
    if (n < 0) return strdup("<malformed>");
    if ((size_t)n < sizeof small) return strdup(small);
    char *buf = malloc((size_t)n + 1);
    if (buf) cql_value_format(&col->type, v.ptr, v.len, buf, (size_t)n + 1);
    return buf;
}

/* Table cells escape control bytes so one row stays on one line. */
static char *table_escape(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 4 + 1), *o = out;
    if (!out) return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            o += sprintf(o, "\\n");
        else if (c == '\t')
            o += sprintf(o, "\\t");
        else if (c < 0x20 || c == 0x7f)
            o += sprintf(o, "\\x%02x", c);
        else
            *o++ = (char)c;
    }
    *o = '\0';
    return out;
}

/* Display width: UTF-8 code points. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static bool numeric(cql_type_id id)
{
    switch (id) {
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER:
    case CQL_TYPE_DECIMAL:
    case CQL_TYPE_DOUBLE:
    case CQL_TYPE_FLOAT:
    case CQL_TYPE_INT:
    case CQL_TYPE_SMALLINT:
    case CQL_TYPE_TINYINT:
    case CQL_TYPE_VARINT: return true;
    default: return false;
    }
}

static bool textual(cql_type_id id)
{
    return id == CQL_TYPE_VARCHAR || id == CQL_TYPE_ASCII;
}

/* ---- output ------------------------------------------------------------------------------- */

typedef struct pages {
    cql_result **v;
    size_t n;
} pages;

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Text with NUL bytes cannot go through C strings; JSON shows them as \u0000. */
static void json_text(FILE *out, cql_value v)
{
    fputc('"', out);
    for (int32_t i = 0; i < v.len; i++) {
        unsigned char c = v.ptr[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void print_json_row(const cql_result *res, int32_t row)
{
    fputc('{', stdout);
    for (int c = 0; c < cql_result_column_count(res); c++) {
        const cql_column *col = cql_result_column(res, c);
        cql_value v = cql_result_cell(res, row, c);
        if (c) fputs(", ", stdout);
        json_string(stdout, col->name);
        fputs(": ", stdout);
        if (v.len < 0) {
            fputs("null", stdout);
        } else if (textual(col->type.id)) {
            json_text(stdout, v);
        } else {
            char *t = cell_text(col, v);
            bool raw = numeric(col->type.id) && t && strcmp(t, "NaN") && !strstr(t, "Infinity");
            if (col->type.id == CQL_TYPE_BOOLEAN)
                fputs(t && t[0] == 'T' ? "true" : "false", stdout);
            else if (raw)
                fputs(t, stdout);
            else
                json_string(stdout, t ? t : "");
            free(t);
        }
    }
    fputs("}\n", stdout);
}

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) return (void)fputs(s, stdout);
    fputc('"', stdout);
    for (; *s; s++) {
        if (*s == '"') fputc('"', stdout);
        fputc(*s, stdout);
    }
    fputc('"', stdout);
}

static void print_csv(const pages *pg)
{
    const cql_result *first = pg->v[0];
    int ncols = cql_result_column_count(first);
    for (int c = 0; c < ncols; c++) {
        if (c) fputc(',', stdout);
        csv_field(cql_result_column(first, c)->name);
    }
    fputc('\n', stdout);
    for (size_t p = 0; p < pg->n; p++)
        for (int32_t r = 0; r < cql_result_row_count(pg->v[p]); r++) {
            for (int c = 0; c < ncols; c++) {
                cql_value v = cql_result_cell(pg->v[p], r, c);
                if (c) fputc(',', stdout);
                if (v.len < 0) continue; /* null: empty field */
                char *t = cell_text(cql_result_column(pg->v[p], c), v);
                csv_field(t ? t : "");
                free(t);
            }
            fputc('\n', stdout);
        }
}

static void pad(size_t n)
{
    while (n--) fputc(' ', stdout);
}

/* cqlsh-style: " a | b" header, "---+---" rule, rows, blank line, "(N rows)". */
static void print_table(const pages *pg)
{
    const cql_result *first = pg->v[0];
    int ncols = cql_result_column_count(first);
    size_t nrows = 0;
    for (size_t p = 0; p < pg->n; p++) nrows += (size_t)cql_result_row_count(pg->v[p]);
    char **cells = calloc(nrows * (size_t)ncols + 1, sizeof *cells);
    size_t *w = calloc((size_t)ncols + 1, sizeof *w);
    if (!cells || !w) return free(cells), free(w);
    for (int c = 0; c < ncols; c++) w[c] = width(cql_result_column(first, c)->name);
    size_t i = 0;
    for (size_t p = 0; p < pg->n; p++)
        for (int32_t r = 0; r < cql_result_row_count(pg->v[p]); r++)
            for (int c = 0; c < ncols; c++, i++) {
                char *t =
                    cell_text(cql_result_column(pg->v[p], c), cql_result_cell(pg->v[p], r, c));
                cells[i] = t ? table_escape(t) : NULL;
                free(t);
                if (cells[i] && width(cells[i]) > w[c]) w[c] = width(cells[i]);
            }
    for (int c = 0; c < ncols; c++) {
        const char *name = cql_result_column(first, c)->name;
        printf("%s %s", c ? " |" : "", name);
        if (c + 1 < ncols) pad(w[c] - width(name));
    }
    fputc('\n', stdout);
    for (int c = 0; c < ncols; c++) {
        if (c) fputc('+', stdout);
        for (size_t k = 0; k < w[c] + 2; k++) fputc('-', stdout);
    }
    fputc('\n', stdout);
    for (size_t r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *t =
                cells[r * (size_t)ncols + (size_t)c] ? cells[r * (size_t)ncols + (size_t)c] : "";
            size_t gap = w[c] - width(t);
            fputs(c ? " | " : " ", stdout);
            if (numeric(cql_result_column(first, c)->type.id))
                pad(gap), fputs(t, stdout);
            else
                fputs(t, stdout), pad(c + 1 < ncols ? gap : 0);
        }
        fputc('\n', stdout);
    }
    printf("\n(%zu rows)\n", nrows);
    for (size_t k = 0; k < nrows * (size_t)ncols; k++) free(cells[k]);
    free(cells);
    free(w);
}

static void print_pages(const shell *sh, const pages *pg)
{
    if (sh->fmt == FMT_TABLE) return print_table(pg);
    if (sh->fmt == FMT_CSV) return print_csv(pg);
    for (size_t p = 0; p < pg->n; p++)
        for (int32_t r = 0; r < cql_result_row_count(pg->v[p]); r++) print_json_row(pg->v[p], r);
}

/* ---- running statements ------------------------------------------------------------------- */

static void free_pages(pages *pg)
{
    for (size_t i = 0; i < pg->n; i++) cql_result_free(pg->v[i]);
    free(pg->v);
    pg->v = NULL;
    pg->n = 0;
}

static void report(const cql_error *e)
{
    char line[CQL_ERROR_MESSAGE_MAX + 64];
    snprintf(line, sizeof line, "%s", e->message[0] ? e->message : cql_strerror(e->code));
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    fprintf(stderr, "rtetl cql: error: %s (%s)\n", line, cql_strerror(e->code));
}

/* Runs one statement, following every page; returns 0 or -1 (error printed). */
static int run_statement(shell *sh, const char *stmt)
{
    cql_query_opts o;
    cql_query_opts_init(&o);
    o.page_size = (int32_t)sh->cfg.page_size;
    pages pg = {0};
    for (;;) {
        cql_result *res = NULL;
        cql_error e;
        if (cql_sync_query(sh->db, stmt, NULL, 0, sh->cl, &o, &res, &e)) {
            report(&e);
            free_pages(&pg);
            return -1;
        }
        if (!res) break;
        if (cql_result_get_kind(res) != CQL_RESULT_ROWS) {
            cql_result_free(res);
            break;
        }
        cql_result **v = realloc(pg.v, sizeof *v * (pg.n + 1));
        if (!v) {
            cql_result_free(res);
            break;
        }
        pg.v = v;
        pg.v[pg.n++] = res;
        if (!cql_result_has_more_pages(res)) break;
        o.paging_state = cql_result_paging_state(res);
    }
    if (pg.n) print_pages(sh, &pg);
    fflush(stdout);
    free_pages(&pg);
    return 0;
}

/* Feeds text and runs each complete statement; stop_on_error for -e/-f. */
static int run_text(shell *sh, cql_splitter *sp, bool at_eof, bool stop_on_error)
{
    int failed = 0;
    char *stmt;
    while ((stmt = cql_splitter_next(sp)) || (at_eof && (stmt = cql_splitter_rest(sp)))) {
        int rc = run_statement(sh, stmt);
        free(stmt);
        if (rc) {
            failed = 1;
            if (stop_on_error) break;
        }
    }
    return failed;
}

static int run_stream(shell *sh, FILE *in, bool prompt, bool stop_on_error)
{
    cql_splitter sp = {0};
    char line[65536];
    int failed = 0;
    for (;;) {
        if (prompt) {
            fputs(cql_splitter_pending(&sp) ? "   ...> " : "cql> ", stdout);
            fflush(stdout);
        }
        if (!fgets(line, sizeof line, in)) break;
        cql_splitter_feed(&sp, line, strlen(line));
        failed |= run_text(sh, &sp, false, stop_on_error);
        if (failed && stop_on_error) break;
    }
    if (!(failed && stop_on_error)) failed |= run_text(sh, &sp, true, stop_on_error);
    if (prompt) fputc('\n', stdout);
    cql_splitter_free(&sp);
    return failed ? RT_EXIT_FAILURE : RT_EXIT_OK;
}

static int setup(shell *sh, char *err, size_t errlen)
{
    const shell_cfg *c = &sh->cfg;
    if (strcmp(c->format, "table") == 0)
        sh->fmt = FMT_TABLE;
    else if (strcmp(c->format, "json") == 0)
        sh->fmt = FMT_JSON;
    else if (strcmp(c->format, "csv") == 0)
        sh->fmt = FMT_CSV;
    else
        return snprintf(err, errlen, "unknown --format '%s' (table, json or csv)", c->format), -1;
    sh->cl = cql_consistency_parse(c->consistency);
    if (sh->cl < 0) return snprintf(err, errlen, "unknown --consistency '%s'", c->consistency), -1;
    if (c->execute && c->file) return snprintf(err, errlen, "give -e or -f, not both"), -1;
    return cli_password(c->password, c->password_file, sh->password_buf, sizeof sh->password_buf,
                        &sh->password, err, errlen);
}

static int connect_db(shell *sh)
{
    const shell_cfg *c = &sh->cfg;
    cql_config cc;
    cql_config_init(&cc);
    cc.contact_points = c->host;
    cc.port = (int)c->port;
    cc.username = c->user;
    cc.password = sh->password;
    cc.keyspace = c->keyspace;
    cc.tls = c->tls;
    cc.tls_ca_file = c->ca_file;
    cc.tls_verify = c->tls_verify;
    cc.tls_cert_file = c->cert_file;
    cc.tls_key_file = c->key_file;
    cc.compression_lz4 = c->compression;
    cc.connections_per_host = 1;
    cc.request_timeout_ms = (int)(c->request_timeout * 1000);
    cc.connect_timeout_ms = (int)(c->connect_timeout * 1000);
    if (cc.request_timeout_ms < 1) cc.request_timeout_ms = 1;
    if (cc.connect_timeout_ms < 1) cc.connect_timeout_ms = 1;
    char err[600];
    sh->db = cql_sync_connect(&cc, err, sizeof err);
    if (!sh->db) return cli_fail("cql", "%s", err);
    return 0;
}

int cmd_cql(int argc, char **argv)
{
    shell sh;
    memset(&sh, 0, sizeof sh);
    opt_result res;
    int code;
    if (cli_parse("cql", "rtetl cql [options] [-e STATEMENTS | -f FILE]",
                  "Run CQL against Cassandra and print the rows (a small cqlsh).",
                  "Without -e or -f, statements are read from stdin (a prompt when it is a "
                  "terminal), each ended by ';'.\nExit codes: 0 ok, 1 a statement or the "
                  "connection failed, 2 usage.\n",
                  specs, NSPECS, argc, argv, &sh.cfg, &res, &code) < 0)
        return code;
    char err[256];
    int rc = RT_EXIT_OK;
    if (res.npos > 0)
        rc = cli_usage_error("cql", "unexpected argument '%s'", res.pos[0]);
    else if (setup(&sh, err, sizeof err))
        rc = cli_usage_error("cql", "%s", err);
    if (rc == RT_EXIT_OK && (rc = connect_db(&sh)) == RT_EXIT_OK) {
        if (sh.cfg.execute) {
            cql_splitter sp = {0};
            cql_splitter_feed(&sp, sh.cfg.execute, strlen(sh.cfg.execute));
            rc = run_text(&sh, &sp, true, true) ? RT_EXIT_FAILURE : RT_EXIT_OK;
            cql_splitter_free(&sp);
        } else if (sh.cfg.file) {
            FILE *f = fopen(sh.cfg.file, "r");
            if (!f)
                rc = cli_fail("cql", "cannot open %s", sh.cfg.file);
            else
                rc = run_stream(&sh, f, false, true), fclose(f);
        } else {
            rc = run_stream(&sh, stdin, isatty(STDIN_FILENO), false);
        }
        cql_sync_close(sh.db);
    }
    opt_result_free(&res);
    opt_free(specs, NSPECS, &sh.cfg);
    return rc;
}
