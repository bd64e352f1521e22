/* Unit tests for the CQL client's TLS layer (src/cql/tls.c) against an in-memory OpenSSL server
 * with certificates made here: handshake and 1 MiB each way with ciphertext cut into tiny
 * pieces, verification failures (another CA, another name), insecure mode, the hint for a plain
 * CQL server, and data followed by close_notify in one read (both must reach the caller, and a
 * connection must deliver that last response before it closes: a real socket and loop), and a
 * handshake that must answer a HelloRetryRequest while its first write is still pending; a
 * session whose contact point is a host name verifies that name on every connection. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cql/conn.h"
#include "cql/session.h"
#include "cql/tls.h"
#include "cql_test_conn.h"

/* ---- a CA, another CA, server certificates for IP 127.0.0.1 and for DNS name localhost ------ */

typedef struct pki {
    EVP_PKEY *ca_key, *other_key, *srv_key, *cli_key;
    X509 *ca, *other, *srv, *srv_dns, *cli, *cli_other;
    char ca_file[64], other_file[64];
    /* mutual TLS: a client certificate from the CA and one from the other CA, the client's key,
     * and a key of someone else's (the server's) */
    char cli_file[64], cli_other_file[64], cli_key_file[64], wrong_key_file[64];
} pki;

static pki P;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    if (san) {
        add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, issuer, NID_subject_alt_name, san);
    } else {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

/* A new temporary file, its name in path (64 bytes). */
static FILE *tmp_file(char *path)
{
    strcpy(path, "/tmp/rtetl-test-tls-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    return f;
}

static void write_pem(X509 *x, char *path)
{
    FILE *f = tmp_file(path);
    assert_true(PEM_write_X509(f, x));
    fclose(f);
}

static void write_key(EVP_PKEY *k, char *path)
{
    FILE *f = tmp_file(path);
    assert_true(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
    fclose(f);
}

static int setup_pki(void **state)
{
    (void)state;
    P.ca_key = EVP_EC_gen("P-256");
    P.other_key = EVP_EC_gen("P-256");
    P.srv_key = EVP_EC_gen("P-256");
    P.ca = make_cert(P.ca_key, "rtetl unit CA", NULL, NULL, NULL);
    P.other = make_cert(P.other_key, "rtetl other CA", NULL, NULL, NULL);
    P.srv = make_cert(P.srv_key, "127.0.0.1", P.ca, P.ca_key, "IP:127.0.0.1");
    P.srv_dns = make_cert(P.srv_key, "localhost", P.ca, P.ca_key, "DNS:localhost");
    P.cli_key = EVP_EC_gen("P-256");
    P.cli = make_cert(P.cli_key, "rtetl client", P.ca, P.ca_key, "DNS:rtetl-client");
    P.cli_other = make_cert(P.cli_key, "rtetl client", P.other, P.other_key, "DNS:rtetl-client");
    write_pem(P.ca, P.ca_file);
    write_pem(P.other, P.other_file);
    write_pem(P.cli, P.cli_file);
    write_pem(P.cli_other, P.cli_other_file);
    write_key(P.cli_key, P.cli_key_file);
    write_key(P.srv_key, P.wrong_key_file);
    return 0;
}

static int teardown_pki(void **state)
{
    (void)state;
    unlink(P.ca_file);
    unlink(P.other_file);
    unlink(P.cli_file);
    unlink(P.cli_other_file);
    unlink(P.cli_key_file);
    unlink(P.wrong_key_file);
    X509_free(P.cli);
    X509_free(P.cli_other);
    EVP_PKEY_free(P.cli_key);
    X509_free(P.ca);
    X509_free(P.other);
    X509_free(P.srv);
    X509_free(P.srv_dns);
    EVP_PKEY_free(P.ca_key);
    EVP_PKEY_free(P.other_key);
    EVP_PKEY_free(P.srv_key);
    return 0;
}

/* ---- an in-memory server and a client, wired by hand ---------------------------------------- */

typedef struct pair {
    cql_tls_ctx *cctx;
    cql_tls *c;
    SSL_CTX *sctx;
    SSL *s;
    BIO *s_in, *s_out; /* our ends: we write into s_in, read from s_out */
    cql_buf wire;      /* client ciphertext on its way */
    cql_buf plain;     /* what the client decrypted */
} pair;

static void pair_open(pair *p, const char *ca_file, bool verify, const char *name)
{
    memset(p, 0, sizeof *p);
    char err[256] = "";
    p->cctx = cql_tls_ctx_new(ca_file, NULL, NULL, verify, err, sizeof err);
    assert_non_null(p->cctx);
    p->c = cql_tls_new(p->cctx, name);
    assert_non_null(p->c);
    p->sctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(p->sctx, P.srv), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(p->sctx, P.srv_key), 1);
    p->s = SSL_new(p->sctx);
    p->s_in = BIO_new(BIO_s_mem());
    p->s_out = BIO_new(BIO_s_mem());
    SSL_set_bio(p->s, p->s_in, p->s_out);
    SSL_set_accept_state(p->s);
}

static void pair_close(pair *p)
{
    cql_tls_free(p->c);
    cql_tls_ctx_free(p->cctx);
    SSL_free(p->s);
    SSL_CTX_free(p->sctx);
    cql_buf_free(&p->wire);
    cql_buf_free(&p->plain);
}

/* Client -> server: everything the client has queued. */
static void to_server(pair *p)
{
    p->wire.len = 0;
    assert_int_equal(cql_tls_drain(p->c, &p->wire), 0);
    if (p->wire.len)
        assert_int_equal(BIO_write(p->s_in, p->wire.data, (int)p->wire.len), (int)p->wire.len);
}

/* Server -> client in pieces of `chunk` bytes; after each piece `step` runs (handshake or
 * read) and its first non-zero result is returned. */
static int to_client(pair *p, size_t chunk, int (*step)(pair *))
{
    uint8_t buf[4096];
    int n, rc = 0;
    while ((n = BIO_read(p->s_out, buf, sizeof buf)) > 0) {
        for (int off = 0; off < n; off += (int)chunk) {
            size_t len = (size_t)n - (size_t)off < chunk ? (size_t)n - (size_t)off : chunk;
            assert_int_equal(cql_tls_feed(p->c, buf + off, len), 0);
            int r = step(p);
            if (r && !rc) rc = r;
        }
    }
    return rc;
}

static int step_handshake(pair *p)
{
    return cql_tls_handshake(p->c);
}

static int step_read(pair *p)
{
    return cql_tls_read(p->c, &p->plain);
}

/* Runs the handshake with ciphertext cut into `chunk`-byte pieces; returns 1 or the error. */
static int handshake(pair *p, size_t chunk)
{
    int rc = cql_tls_handshake(p->c);
    for (int round = 0; round < 20 && rc == 0; round++) {
        to_server(p);
        SSL_do_handshake(p->s);
        rc = to_client(p, chunk, step_handshake);
    }
    to_server(p); /* the client's Finished */
    if (rc == 1) assert_int_equal(SSL_do_handshake(p->s), 1);
    return rc;
}

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 131 + seed + (i >> 11));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_roundtrip_fragmented(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, P.ca_file, true, "127.0.0.1");
    assert_int_equal(handshake(&p, 1), 1);

    /* 1 MiB client -> server, as one write of many records. */
    size_t n = (size_t)1 << 20;
    uint8_t *out = malloc(n), *in = malloc(n);
    pattern(out, n, 7);
    assert_int_equal(cql_tls_write(p.c, out, n), 0);
    to_server(&p);
    size_t got = 0;
    int r;
    while (got < n && (r = SSL_read(p.s, in + got, (int)(n - got))) > 0) got += (size_t)r;
    assert_int_equal(got, n);
    assert_memory_equal(in, out, n);

    /* 1 MiB server -> client, fed in 7-byte pieces with a read after each. */
    pattern(out, n, 99);
    for (size_t off = 0; off < n; off += 100000)
        assert_true(SSL_write(p.s, out + off, (int)(n - off < 100000 ? n - off : 100000)) > 0);
    assert_int_equal(to_client(&p, 7, step_read), 0);
    assert_int_equal(p.plain.len, n);
    assert_memory_equal(p.plain.data, out, n);
    free(out);
    free(in);
    pair_close(&p);
}

static void expect_failure(const char *ca_file, const char *name, const char *needle)
{
    pair p;
    pair_open(&p, ca_file, true, name);
    assert_int_equal(handshake(&p, 4096), CQL_E_TLS);
    const char *m = cql_tls_message(p.c);
    if (!strstr(m, needle)) fail_msg("message '%s' lacks '%s'", m, needle);
    pair_close(&p);
}

static void test_verify_failures(void **state)
{
    (void)state;
    expect_failure(P.other_file, "127.0.0.1", "certificate verify failed");
    expect_failure(P.ca_file, "127.0.0.2", "IP address mismatch");
    expect_failure(P.ca_file, "db.example", "hostname mismatch");
}

/* A server that requires a client certificate signed by P.ca; the client presents cert_file
 * (NULL: none). Returns the server's handshake result after the exchange (1: accepted). */
static int mtls_server_result(const char *cert_file, X509 **peer)
{
    pair p;
    memset(&p, 0, sizeof p);
    char err[256] = "";
    p.cctx = cql_tls_ctx_new(P.ca_file, cert_file, cert_file ? P.cli_key_file : NULL, true, err,
                             sizeof err);
    if (!p.cctx) fail_msg("client context: %s", err);
    p.c = cql_tls_new(p.cctx, "127.0.0.1");
    p.sctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(p.sctx, P.srv), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(p.sctx, P.srv_key), 1);
    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(p.sctx), P.ca), 1);
    SSL_CTX_set_verify(p.sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    p.s = SSL_new(p.sctx);
    p.s_in = BIO_new(BIO_s_mem());
    p.s_out = BIO_new(BIO_s_mem());
    SSL_set_bio(p.s, p.s_in, p.s_out);
    SSL_set_accept_state(p.s);
    int srv = 0, cli = cql_tls_handshake(p.c);
    for (int round = 0; round < 20 && srv != 1 && cli >= 0; round++) {
        to_server(&p);
        srv = SSL_do_handshake(p.s);
        if (srv != 1 && SSL_get_error(p.s, srv) != SSL_ERROR_WANT_READ) {
            if (getenv("TLS_DEBUG")) ERR_print_errors_fp(stderr);
            break;
        }
        int r = to_client(&p, 4096, step_handshake);
        if (r) cli = r;
    }
    if (peer) *peer = srv == 1 ? SSL_get1_peer_certificate(p.s) : NULL;
    pair_close(&p);
    return srv;
}

static void test_client_certificate(void **state)
{
    (void)state;
    X509 *peer = NULL;
    assert_int_equal(mtls_server_result(P.cli_file, &peer), 1);
    assert_non_null(peer);
    char cn[64] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "rtetl client");
    X509_free(peer);
    /* No certificate, or one from a CA the server does not trust: refused by the server. */
    assert_int_not_equal(mtls_server_result(NULL, NULL), 1);
    assert_int_not_equal(mtls_server_result(P.cli_other_file, NULL), 1);
}

static void expect_ctx_error(const char *cert, const char *key, const char *needle)
{
    char err[512] = "";
    cql_tls_ctx *c = cql_tls_ctx_new(P.ca_file, cert, key, true, err, sizeof err);
    assert_null(c);
    if (!strstr(err, needle)) fail_msg("message '%s' lacks '%s'", err, needle);
}

static void test_client_identity_errors(void **state)
{
    (void)state;
    expect_ctx_error(P.cli_file, P.wrong_key_file, "client key does not match the certificate");
    expect_ctx_error("/nonexistent/cert.pem", P.cli_key_file, "cannot load client certificate");
    expect_ctx_error(P.cli_file, "/nonexistent/key.pem", "cannot load client key");
    expect_ctx_error(NULL, P.cli_key_file, "needs its certificate");
    expect_ctx_error(P.cli_file, NULL, "cannot load client key"); /* no key in the cert file */
}

static void test_insecure_mode(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, P.other_file, false, "db.example");
    assert_int_equal(handshake(&p, 4096), 1);
    pair_close(&p);
}

/* A plain CQL server answers the ClientHello with a frame, not a TLS record. */
static void test_plain_server_hint(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, P.ca_file, true, "127.0.0.1");
    assert_int_equal(cql_tls_handshake(p.c), 0);
    static const uint8_t frame[] = {0x84, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0xA, 0, 0};
    assert_int_equal(cql_tls_feed(p.c, frame, sizeof frame), 0);
    assert_int_equal(cql_tls_handshake(p.c), CQL_E_TLS);
    const char *m = cql_tls_message(p.c);
    if (!strstr(m, "is the server's port TLS?")) fail_msg("message '%s' has no hint", m);
    pair_close(&p);
}

/* The last response and the server's close_notify can arrive in one read: the caller must get
 * the response (appended to out) as well as CQL_E_CONN_LOST. */
static void test_data_then_close_notify(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, P.ca_file, true, "127.0.0.1");
    assert_int_equal(handshake(&p, 4096), 1);
    assert_int_equal(SSL_write(p.s, "last response", 13), 13);
    SSL_shutdown(p.s);
    assert_int_equal(to_client(&p, 1 << 20, step_read), CQL_E_CONN_LOST);
    assert_int_equal(p.plain.len, 13);
    assert_memory_equal(p.plain.data, "last response", 13);
    pair_close(&p);
}

/* ---- a connection over a real socket: the last response arrives with close_notify ----------- */

/* A TLS CQL server on the loop (a few connections): READY to STARTUP and REGISTER. In
 * close_notify mode, to the first QUERY a VOID RESULT and close_notify, written together so
 * that they reach the client in one read; else to every QUERY one system.local row (all that
 * a session's topology queries need: as a peers or keyspaces row it is skipped). */
#define FAKE_PEERS 16

typedef struct fake_peer {
    struct fake *f;
    uv_tcp_t tcp;
    SSL *ssl;
    BIO *in, *out;
    cql_buf rx;
} fake_peer;

typedef struct fake {
    uv_tcp_t listener;
    SSL_CTX *ctx;
    fake_peer peers[FAKE_PEERS];
    int npeers;
    bool close_after_query, closed_notify;
} fake;

static void fake_init(fake *f, X509 *cert)
{
    memset(f, 0, sizeof *f);
    f->ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(f->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(f->ctx, P.srv_key), 1);
}

/* Closes the fake's handles (the loop must run afterwards) and frees its TLS state. */
static void fake_close(fake *f)
{
    uv_close((uv_handle_t *)&f->listener, NULL);
    for (int i = 0; i < f->npeers; i++) {
        uv_close((uv_handle_t *)&f->peers[i].tcp, NULL);
        SSL_free(f->peers[i].ssl);
        cql_buf_free(&f->peers[i].rx);
    }
    SSL_CTX_free(f->ctx);
}

static void fake_written(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void fake_flush(fake_peer *p)
{
    size_t n = BIO_ctrl_pending(p->out);
    if (!n) return;
    uv_write_t *w = malloc(sizeof *w);
    char *data = malloc(n);
    assert_int_equal(BIO_read(p->out, data, (int)n), (int)n);
    w->data = data;
    uv_buf_t b = uv_buf_init(data, (unsigned)n);
    assert_int_equal(uv_write(w, (uv_stream_t *)&p->tcp, &b, 1, fake_written), 0);
}

static void fake_reply(fake_peer *p, int16_t stream, uint8_t opcode, const uint8_t *body,
                       size_t len)
{
    cql_buf frame = {0};
    test_frame(&frame, stream, opcode, 0, body, len);
    assert_true(SSL_write(p->ssl, frame.data, (int)frame.len) > 0);
    cql_buf_free(&frame);
}

static void fake_frame(fake_peer *p, const cql_frame_hdr *h)
{
    static const uint8_t void_result[] = {0, 0, 0, 1};
    if (h->opcode == CQL_OP_STARTUP || h->opcode == CQL_OP_REGISTER)
        fake_reply(p, h->stream, CQL_OP_READY, NULL, 0);
    if (h->opcode != CQL_OP_QUERY) return;
    if (!p->f->close_after_query) {
        cql_buf row = {0};
        test_local_row(&row);
        fake_reply(p, h->stream, CQL_OP_RESULT, row.data, row.len);
        return cql_buf_free(&row);
    }
    fake_reply(p, h->stream, CQL_OP_RESULT, void_result, 4);
    SSL_shutdown(p->ssl);
    p->f->closed_notify = true;
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fake_peer *p = s->data;
    if (n > 0) BIO_write(p->in, buf->base, (int)n);
    free(buf->base);
    if (n < 0) uv_read_stop(s);
    if (n <= 0) return;
    if (!SSL_is_init_finished(p->ssl)) SSL_do_handshake(p->ssl);
    uint8_t tmp[4096];
    int r;
    while ((r = SSL_read(p->ssl, tmp, sizeof tmp)) > 0) cql_buf_put(&p->rx, tmp, (size_t)r);
    cql_frame_hdr h;
    while (cql_frame_hdr_decode(p->rx.data, p->rx.len, &h) == 0 &&
           p->rx.len >= CQL_HEADER_LEN + h.length) {
        fake_frame(p, &h);
        size_t used = CQL_HEADER_LEN + h.length;
        memmove(p->rx.data, p->rx.data + used, p->rx.len - used);
        p->rx.len -= used;
    }
    fake_flush(p);
}

static void fake_accept(uv_stream_t *l, int status)
{
    fake *f = l->data;
    assert_true(f->npeers < FAKE_PEERS);
    fake_peer *p = &f->peers[f->npeers++];
    p->f = f;
    test_accept(l, status, &p->tcp, fake_read);
    p->tcp.data = p;
    p->ssl = SSL_new(f->ctx);
    p->in = BIO_new(BIO_s_mem());
    p->out = BIO_new(BIO_s_mem());
    SSL_set_bio(p->ssl, p->in, p->out);
    SSL_set_accept_state(p->ssl);
}

/* A TLS connection verifying name with the unit CA, connecting to sa. */
static cql_conn *tls_client(test_conn *tc, uv_loop_t *loop, cql_tls_ctx **ctx, const char *name,
                            const struct sockaddr_in *sa)
{
    char err[256];
    *ctx = cql_tls_ctx_new(P.ca_file, NULL, NULL, true, err, sizeof err);
    assert_non_null(*ctx);
    cql_conn_opts o = {
        .tls = *ctx, .tls_name = name, .nslots = 8, .max_user = 4, .connect_timeout_ms = 10000};
    assert_non_null(test_conn_new(tc, loop, &o));
    cql_conn_connect(tc->conn, (const struct sockaddr *)sa, "127.0.0.1:test");
    return tc->conn;
}

typedef struct client {
    test_conn tc; /* first: the connection's owner */
    bool answered;
    int done_calls;
    uint8_t opcode;
} client;

static void cl_done(cql_req *r, const cql_error *err, const cql_frame_hdr *h, cql_rd *body)
{
    (void)body;
    client *cl = r->conn->owner;
    cl->done_calls++;
    if (err) return;
    cl->answered = true;
    cl->opcode = h->opcode;
    cql_conn_release(r);
}

static void test_conn_last_response_with_close_notify(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    fake f;
    fake_init(&f, P.srv);
    f.close_after_query = true;
    struct sockaddr_in sa;
    test_listen(&loop, &f.listener, &f, 0, fake_accept, &sa);
    client cl = {0};
    cql_tls_ctx *tctx;
    tls_client(&cl.tc, &loop, &tctx, "127.0.0.1", &sa);
    for (int i = 0; i < 10000 && !cl.tc.ready && !cl.tc.closed; i++) uv_run(&loop, UV_RUN_ONCE);
    assert_true(cl.tc.ready);

    cql_req *r = cql_conn_acquire(cl.tc.conn, true);
    assert_non_null(r);
    r->done = cl_done;
    assert_int_equal(cql_enc_query(&r->frame, 0, "SELECT 1", NULL, 0, CQL_ONE, NULL), 0);
    cql_conn_send(cl.tc.conn, r, 10000);
    for (int i = 0; i < 10000 && !cl.tc.closed; i++) uv_run(&loop, UV_RUN_ONCE);
    assert_true(f.closed_notify);
    assert_true(cl.tc.closed);
    assert_int_equal(cl.done_calls, 1);
    assert_true(cl.answered); /* before the fix: failed with CQL_E_CONN_LOST, answer dropped */
    assert_int_equal(cl.opcode, CQL_OP_RESULT);
    assert_int_equal(cl.tc.close_code, CQL_E_CONN_LOST);

    cql_conn_free(cl.tc.conn);
    uv_close((uv_handle_t *)&cl.tc.flusher, NULL);
    fake_close(&f);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    cql_tls_ctx_free(tctx);
}

/* ---- a session whose contact point is a host name ----------------------------------------- */

typedef struct connected {
    bool done;
    cql_error err;
    bool failed, closed;
} connected;

static void on_session_connected(cql_session *s, const cql_error *err, void *ud)
{
    connected *c = ud;
    c->done = true;
    c->failed = err != NULL;
    if (err) c->err = *err;
}

static void on_session_closed(cql_session *s, void *ud)
{
    ((connected *)ud)->closed = true;
}

/* Issue #16 (10a): a certificate that names the server by DNS name only. The control connection
 * verified the contact point's name, but pool connections verified the host's IP, failed, and
 * pushed users to --no-verify. */
static void test_session_verifies_contact_name(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    fake f;
    fake_init(&f, P.srv_dns);
    struct sockaddr_in sa;
    test_listen(&loop, &f.listener, &f, 0, fake_accept, &sa);
    char contact[64], err[256] = "";
    snprintf(contact, sizeof contact, "localhost:%d", ntohs(sa.sin_port));
    cql_config cfg;
    cql_config_init(&cfg);
    cfg.contact_points = contact;
    cfg.tls = true;
    cfg.tls_ca_file = P.ca_file;
    cfg.connections_per_host = 1;
    cql_session *s = cql_session_new(&loop, &cfg, err, sizeof err);
    if (!s) fail_msg("%s", err);
    connected c = {0};
    assert_int_equal(cql_session_connect(s, on_session_connected, &c), 0);
    uint64_t end = uv_now(&loop) + 10000; /* the session's sweep timer wakes the loop */
    while (!c.done && uv_now(&loop) < end) uv_run(&loop, UV_RUN_ONCE);
    assert_true(c.done);
    if (c.failed) fail_msg("connect failed: %s", c.err.message);
    cql_host_info hi;
    assert_int_equal(cql_session_host_info(s, 0, &hi), 0);
    assert_true(hi.up);
    assert_int_equal(hi.connections, 1);
    assert_int_equal(f.npeers, 2);                       /* the control and the pool connection */
    assert_string_equal(cql_session_local_dc(s), "dc1"); /* that of the first host answering */

    assert_int_equal(cql_session_close(s, on_session_closed, &c), 0);
    while (!c.closed) uv_run(&loop, UV_RUN_ONCE);
    cql_session_free(s);
    fake_close(&f);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- a handshake whose first flight the kernel takes only in part --------------------------- */

/* The kernel's side of a slow network, for one descriptor: write() and writev() to throttle_fd
 * take at most throttle_budget bytes in all, then fail with EAGAIN until the budget grows. No
 * socket buffer setting can do this for a ClientHello: Linux takes a few KiB on any fresh
 * loopback connection, whatever SO_SNDBUF and the peer's window (measured), and the ClientHello
 * is ~300 bytes. libuv calls these through the PLT, so the test's definitions win. */
static int throttle_fd = -1;
static size_t throttle_budget;

static size_t throttle(int fd, size_t n)
{
    if (fd != throttle_fd) return n;
    return n < throttle_budget ? n : throttle_budget;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "write");
    size_t allowed = throttle(fd, n);
    if (n && !allowed) return errno = EAGAIN, -1;
    ssize_t r = real(fd, buf, allowed);
    if (fd == throttle_fd && r > 0) throttle_budget -= (size_t)r;
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "writev");
    if (fd != throttle_fd) return real(fd, iov, iovcnt);
    for (int i = 0; i < iovcnt; i++) /* the first non-empty buffer, cut to the budget */
        if (iov[i].iov_len) return write(fd, iov[i].iov_base, iov[i].iov_len);
    return 0;
}

/* A hostile TLS 1.3 server that answers a ClientHello with a HelloRetryRequest as soon as it has
 * read the session id (76 bytes), long before the rest. Its cookie (which the client must echo)
 * makes the second ClientHello far larger than the first. */
#define HRR_COOKIE 8000

typedef struct hostile {
    uv_tcp_t listener, peer;
    bool have_peer, sent_hrr;
    cql_buf rx;
} hostile;

static void hostile_send_hrr(hostile *h)
{
    static const uint8_t hrr_random[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
                                           0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
                                           0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
                                           0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
    const uint8_t *sid = h->rx.data + 44; /* record 5, handshake 4, version 2, random 32, len */
    uint8_t sidlen = h->rx.data[43];
    assert_true(sidlen <= 32);
    cql_buf body = {0}, rec = {0};
    cql_buf_u16(&body, 0x0303);
    cql_buf_put(&body, hrr_random, 32);
    cql_buf_u8(&body, sidlen);
    cql_buf_put(&body, sid, sidlen);
    cql_buf_u16(&body, 0x1301); /* TLS_AES_128_GCM_SHA256 */
    cql_buf_u8(&body, 0);
    cql_buf_u16(&body, 6 + 6 + 6 + HRR_COOKIE);
    const uint16_t versions[] = {0x002b, 2, 0x0304}, key_share[] = {0x0033, 2, 0x0017};
    for (int i = 0; i < 3; i++) cql_buf_u16(&body, versions[i]);
    for (int i = 0; i < 3; i++) cql_buf_u16(&body, key_share[i]); /* secp256r1, please */
    cql_buf_u16(&body, 0x002c);
    cql_buf_u16(&body, 2 + HRR_COOKIE);
    cql_buf_u16(&body, HRR_COOKIE);
    for (int i = 0; i < HRR_COOKIE; i++) cql_buf_u8(&body, 'c');
    cql_buf_u8(&rec, 22);
    cql_buf_u16(&rec, 0x0303);
    cql_buf_u16(&rec, (uint16_t)(4 + body.len));
    cql_buf_u8(&rec, 2); /* ServerHello (a HelloRetryRequest by its random) */
    cql_buf_u8(&rec, 0);
    cql_buf_u16(&rec, (uint16_t)body.len);
    cql_buf_put(&rec, body.data, body.len);
    assert_false(rec.oom || body.oom);
    uv_buf_t b = uv_buf_init((char *)rec.data, (unsigned)rec.len);
    assert_int_equal(uv_try_write((uv_stream_t *)&h->peer, &b, 1), (int)rec.len);
    cql_buf_free(&body);
    cql_buf_free(&rec);
    h->sent_hrr = true;
}

static void hostile_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    hostile *h = s->data;
    if (n > 0) cql_buf_put(&h->rx, buf->base, (size_t)n);
    free(buf->base);
    if (n < 0) uv_read_stop(s);
    if (!h->sent_hrr && h->rx.len >= 76) hostile_send_hrr(h);
}

static void hostile_accept(uv_stream_t *l, int status)
{
    hostile *h = l->data;
    test_accept(l, status, &h->peer, hostile_read);
    h->have_peer = true;
}

/* Whether rx holds a whole first ClientHello record followed (after an optional
 * ChangeCipherSpec) by a whole second ClientHello that echoes the cookie. */
static bool second_hello_arrived(const cql_buf *rx)
{
    size_t off = 0;
    int hellos = 0;
    bool cookie = false;
    while (rx->len - off >= 5) {
        const uint8_t *r = rx->data + off;
        size_t len = (size_t)r[3] << 8 | r[4];
        if (rx->len - off - 5 < len) break;
        if (r[0] == 22 && len > 0 && r[5] == 1) {
            hellos++;
            static uint8_t want[64];
            memset(want, 'c', sizeof want);
            cookie = memmem(r + 5, len, want, sizeof want) != NULL;
        } else if (r[0] != 20) {
            fail_msg("record type %d at offset %zu: the client's bytes are garbled", r[0], off);
        }
        off += 5 + len;
    }
    return hellos == 2 && cookie;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Issue #16 (10b): while the ClientHello's write was still pending, the handshake step emptied
 * and refilled the write buffer under it with the second ClientHello (a use-after-free once the
 * buffer grew; ASan reports it), and the second ClientHello was never sent. */
static void test_handshake_output_while_write_pending(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hostile h = {0};
    struct sockaddr_in sa;
    test_listen(&loop, &h.listener, &h, 0, hostile_accept, &sa);
    uv_timer_t tick; /* wakes the loop so that the deadlines below are checked */
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 10, 10);
    test_conn tc = {0};
    cql_tls_ctx *tctx;
    tls_client(&tc, &loop, &tctx, "127.0.0.1", &sa);
    uv_os_fd_t fd;
    assert_int_equal(uv_fileno((uv_handle_t *)&tc.conn->tcp, &fd), 0);
    throttle_budget = 100; /* the session id and a little more */
    throttle_fd = fd;

    /* Until the client has read the HelloRetryRequest, with its first write still pending. */
    uint64_t end = uv_now(&loop) + 5000;
    while (tc.conn->bytes_in == 0 && !tc.closed && uv_now(&loop) < end) uv_run(&loop, UV_RUN_ONCE);
    assert_true(h.sent_hrr);
    assert_true(tc.conn->bytes_in > 0);
    assert_true(tc.conn->writing);

    throttle_budget = SIZE_MAX; /* the network recovers */
    end = uv_now(&loop) + 5000;
    while (!second_hello_arrived(&h.rx) && !tc.closed && uv_now(&loop) < end)
        uv_run(&loop, UV_RUN_ONCE);
    throttle_fd = -1;
    assert_false(tc.closed);
    assert_true(second_hello_arrived(&h.rx));

    cql_conn_close(tc.conn, CQL_E_CLOSED, "test done");
    while (!tc.closed) uv_run(&loop, UV_RUN_ONCE);
    cql_conn_free(tc.conn);
    uv_close((uv_handle_t *)&tc.flusher, NULL);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_close((uv_handle_t *)&h.listener, NULL);
    if (h.have_peer) uv_close((uv_handle_t *)&h.peer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    cql_buf_free(&h.rx);
    cql_tls_ctx_free(tctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_fragmented),
        cmocka_unit_test(test_verify_failures),
        cmocka_unit_test(test_insecure_mode),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_client_identity_errors),
        cmocka_unit_test(test_plain_server_hint),
        cmocka_unit_test(test_data_then_close_notify),
        cmocka_unit_test(test_conn_last_response_with_close_notify),
        cmocka_unit_test(test_handshake_output_while_write_pending),
        cmocka_unit_test(test_session_verifies_contact_name),
    };
    return cmocka_run_group_tests(tests, setup_pki, teardown_pki);
}
