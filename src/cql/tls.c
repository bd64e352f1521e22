/* TLS over memory BIOs. DESIGN: the socket stays a plain libuv stream; received ciphertext is
 * written into the read BIO, SSL_read yields plaintext, SSL_write fills the write BIO whose
 * content the connection sends with its next uv_write. The handshake is driven by the same
 * path, so no blocking call and no second event source exist. */
#include "cql/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cql_tls_ctx {
    SSL_CTX *ctx;
    bool verify;
};

struct cql_tls {
    SSL *ssl;
    BIO *rbio, *wbio; /* network side: we write into rbio, read from wbio */
    char message[256];
};

static void ssl_message(char *out, size_t n, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[200] = "unknown error";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    snprintf(out, n, "%s: %s", what, buf);
    ERR_clear_error();
}

/* Loads the client's certificate chain and key; false with a message in err. */
static bool load_identity(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *err,
                          size_t errlen)
{
    char m[256];
    if (!key_file || !*key_file) key_file = cert_file;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        ssl_message(m, sizeof m, "cannot load client certificate");
        snprintf(err, errlen, "%s (%s)", m, cert_file);
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        ssl_message(m, sizeof m,
                    mismatch ? "client key does not match the certificate"
                             : "cannot load client key");
        snprintf(err, errlen, "%s (%s)", m, key_file);
        return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_message(m, sizeof m, "client key does not match the certificate");
        snprintf(err, errlen, "%s (%s, %s)", m, cert_file, key_file);
        return false;
    }
    return true;
}

cql_tls_ctx *cql_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                             bool verify, char *err, size_t errlen)
{
    cql_tls_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->verify = verify;
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) goto fail;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (ca_file && *ca_file) {
        if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
            char m[256];
            ssl_message(m, sizeof m, "cannot load CA file");
            snprintf(err, errlen, "%s (%s)", m, ca_file);
            cql_tls_ctx_free(c);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        goto fail;
    }
    if (cert_file && *cert_file && !load_identity(c->ctx, cert_file, key_file, err, errlen)) {
        cql_tls_ctx_free(c);
        return NULL;
    }
    if ((!cert_file || !*cert_file) && key_file && *key_file) {
        snprintf(err, errlen, "a client key (%s) needs its certificate", key_file);
        cql_tls_ctx_free(c);
        return NULL;
    }
    return c;
fail:
    ssl_message(err, errlen, "TLS context");
    cql_tls_ctx_free(c);
    return NULL;
}

void cql_tls_ctx_free(cql_tls_ctx *ctx)
{
    if (!ctx) return;
    SSL_CTX_free(ctx->ctx);
    free(ctx);
}

bool cql_tls_name_is_ip(const char *name)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
}

cql_tls *cql_tls_new(cql_tls_ctx *ctx, const char *name)
{
    cql_tls *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ssl = SSL_new(ctx->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    if (name && *name) {
        if (!cql_tls_name_is_ip(name)) SSL_set_tlsext_host_name(t->ssl, name);
        if (ctx->verify) {
            X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
            if (cql_tls_name_is_ip(name))
                X509_VERIFY_PARAM_set1_ip_asc(param, name);
            else
                X509_VERIFY_PARAM_set1_host(param, name, 0);
        }
    }
    return t;
}

void cql_tls_free(cql_tls *t)
{
    if (!t) return;
    SSL_free(t->ssl); /* frees both BIOs */
    free(t);
}

int cql_tls_feed(cql_tls *t, const uint8_t *p, size_t n)
{
    while (n > 0) {
        int w = BIO_write(t->rbio, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0) {
            ssl_message(t->message, sizeof t->message, "TLS input");
            return CQL_E_TLS;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int tls_fail(cql_tls *t, int rc, const char *what)
{
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    long v = SSL_get_verify_result(t->ssl);
    if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_WRONG_VERSION_NUMBER) {
        /* What a plain CQL server's first answer looks like to a TLS client. */
        ssl_message(t->message, sizeof t->message, what);
        size_t len = strlen(t->message);
        snprintf(t->message + len, sizeof t->message - len, " (is the server's port TLS?)");
    } else if (v != X509_V_OK) {
        snprintf(t->message, sizeof t->message, "%s: certificate verify failed: %s", what,
                 X509_verify_cert_error_string(v));
        ERR_clear_error();
    } else {
        ssl_message(t->message, sizeof t->message, what);
    }
    return CQL_E_TLS;
}

int cql_tls_handshake(cql_tls *t)
{
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) return 1;
    return tls_fail(t, rc, "TLS handshake");
}

int cql_tls_read(cql_tls *t, cql_buf *out)
{
    for (;;) {
        if (!cql_buf_reserve(out, 16384)) return CQL_E_NOMEM;
        int n = SSL_read(t->ssl, out->data + out->len, 16384);
        if (n > 0) {
            out->len += (size_t)n;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ) return 0;
        if (e == SSL_ERROR_ZERO_RETURN) return CQL_E_CONN_LOST;
        return tls_fail(t, n, "TLS read");
    }
}

int cql_tls_write(cql_tls *t, const uint8_t *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(t->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0) return tls_fail(t, w, "TLS write") ? CQL_E_TLS : CQL_E_TLS;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int cql_tls_drain(cql_tls *t, cql_buf *out)
{
    size_t pending;
    while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
        if (!cql_buf_reserve(out, pending)) return CQL_E_NOMEM;
        int n = BIO_read(t->wbio, out->data + out->len, (int)pending);
        if (n <= 0) break;
        out->len += (size_t)n;
    }
    return 0;
}

bool cql_tls_pending(const cql_tls *t)
{
    return BIO_ctrl_pending(t->wbio) > 0;
}

const char *cql_tls_message(const cql_tls *t)
{
    return t->message;
}
