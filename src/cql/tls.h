/* Internal: TLS for CQL connections with OpenSSL memory BIOs, so libuv owns the socket and
 * OpenSSL only transforms bytes (ciphertext in/out, plaintext in/out). */
#ifndef RTETL_CQL_TLS_H
#define RTETL_CQL_TLS_H

#include "cql/wire.h"

typedef struct cql_tls_ctx cql_tls_ctx;
typedef struct cql_tls cql_tls;

/* A client context: TLS 1.2+, peer verification unless verify is false, trust from ca_file
 * (PEM) or the system store; with cert_file (a PEM chain, leaf first) and key_file (its PEM
 * private key; NULL: the key is in cert_file) the client presents that certificate to a server
 * that asks for one (mutual TLS). NULL with a message in err on failure, e.g. an unreadable
 * file or a key that does not match the certificate. */
cql_tls_ctx *cql_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                             bool verify, char *err, size_t errlen);
void cql_tls_ctx_free(cql_tls_ctx *ctx);

/* Whether name is an IPv4 or IPv6 address literal (verified as an IP, sent without SNI). */
bool cql_tls_name_is_ip(const char *name);
/* A session for one connection; name is checked against the certificate (DNS name or IP)
 * when verifying, and sent as SNI when it is a name. */
cql_tls *cql_tls_new(cql_tls_ctx *ctx, const char *name);
void cql_tls_free(cql_tls *t);
/* Ciphertext received from the socket. */
int cql_tls_feed(cql_tls *t, const uint8_t *p, size_t n);
/* Advances the handshake: 1 done, 0 needs more input, CQL_E_TLS on failure (see message). */
int cql_tls_handshake(cql_tls *t);
/* Appends all plaintext available to out; 0, CQL_E_TLS, CQL_E_NOMEM, or CQL_E_CONN_LOST when
 * the peer closed the session (close_notify): plaintext that preceded it is appended all the
 * same, and the caller should still use it. */
int cql_tls_read(cql_tls *t, cql_buf *out);
/* Encrypts plaintext (queued as ciphertext for cql_tls_drain); 0 or CQL_E_TLS. */
int cql_tls_write(cql_tls *t, const uint8_t *p, size_t n);
/* Appends ciphertext waiting to be sent to out. */
int cql_tls_drain(cql_tls *t, cql_buf *out);
/* Whether ciphertext waits to be drained. */
bool cql_tls_pending(const cql_tls *t);
/* The last error as one line. */
const char *cql_tls_message(const cql_tls *t);

#endif
