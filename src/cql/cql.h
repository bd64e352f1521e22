/* Public API of rtetl's Cassandra client: native protocol v4 over libuv, token-aware, async.
 *
 * The library depends only on src/util, libuv, OpenSSL and lz4, so it can be embedded in any
 * program that runs a uv_loop_t.
 *
 * THREADING. A cql_session belongs to the thread that runs its loop: every function taking a
 * session must be called on that thread, and every callback runs on it (never from inside the
 * call that queued the request). The blocking cql_sync_* API runs a private loop and may be used
 * from any one thread at a time per handle.
 *
 * ERRORS. Functions return 0 on success or a negative CQL_E_* code. A call that returns an error
 * never fires its callback; a call that returns 0 fires it exactly once. Errors reported to
 * callbacks come as a cql_error whose code is either a server code (CQL_ERR_*, >= 0, from the
 * protocol's ERROR frame) or a client code (CQL_E_*, < 0).
 *
 * OWNERSHIP. Every pointer argument is borrowed for the duration of the call unless a function's
 * comment says otherwise; strings and values are copied before the call returns. Pointers
 * handed to callbacks (errors, results) are valid only until the callback returns. */
#ifndef RTETL_CQL_CQL_H
#define RTETL_CQL_CQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* ---- errors ------------------------------------------------------------------------------ */

/* Server error codes (protocol v4 section 9), as found in cql_error.code. */
enum {
    CQL_ERR_SERVER = 0x0000,
    CQL_ERR_PROTOCOL = 0x000A,
    CQL_ERR_BAD_CREDENTIALS = 0x0100,
    CQL_ERR_UNAVAILABLE = 0x1000,
    CQL_ERR_OVERLOADED = 0x1001,
    CQL_ERR_IS_BOOTSTRAPPING = 0x1002,
    CQL_ERR_TRUNCATE = 0x1003,
    CQL_ERR_WRITE_TIMEOUT = 0x1100,
    CQL_ERR_READ_TIMEOUT = 0x1200,
    CQL_ERR_READ_FAILURE = 0x1300,
    CQL_ERR_FUNCTION_FAILURE = 0x1400,
    CQL_ERR_WRITE_FAILURE = 0x1500,
    CQL_ERR_CDC_WRITE_FAILURE = 0x1600,
    CQL_ERR_CAS_WRITE_UNKNOWN = 0x1700,
    CQL_ERR_SYNTAX = 0x2000,
    CQL_ERR_UNAUTHORIZED = 0x2100,
    CQL_ERR_INVALID = 0x2200,
    CQL_ERR_CONFIG = 0x2300,
    CQL_ERR_ALREADY_EXISTS = 0x2400,
    CQL_ERR_UNPREPARED = 0x2500,
};

/* Client-side codes: returned by functions and found in cql_error.code. */
enum {
    CQL_OK = 0,
    CQL_E_NOMEM = -1,         /* allocation failed */
    CQL_E_INVAL = -2,         /* bad argument (wrong value count, bad text for a type ...) */
    CQL_E_BACKPRESSURE = -3,  /* every usable connection is at max_inflight; retry later */
    CQL_E_NO_HOST = -4,       /* no host is up */
    CQL_E_CLOSED = -5,        /* the session is closing or closed */
    CQL_E_CONN_LOST = -6,     /* the connection closed while the request was in flight */
    CQL_E_TIMEOUT = -7,       /* no response within request_timeout_ms */
    CQL_E_CONNECT = -8,       /* could not connect or complete the handshake */
    CQL_E_PROTOCOL = -9,      /* the server sent a malformed or unexpected frame */
    CQL_E_AUTH = -10,         /* authentication required and not possible (no credentials ...) */
    CQL_E_TLS = -11,          /* TLS setup, handshake or verification failed */
    CQL_E_TOO_LARGE = -12,    /* a frame would exceed the protocol's 256 MiB limit */
    CQL_E_DECODE = -13,       /* a value or result could not be decoded */
    CQL_E_RESOLVE = -14,      /* a contact point's name did not resolve */
    CQL_E_SERVER_ERROR = -15, /* (sync API) the server answered an ERROR; see cql_error */
};

#define CQL_ERROR_MESSAGE_MAX 512

/* One error, server-side or client-side. Fields after `message` are filled only for the codes
 * named in their comments and are zero otherwise. */
typedef struct cql_error {
    int code;                            /* CQL_ERR_* (>= 0) or CQL_E_* (< 0) */
    char message[CQL_ERROR_MESSAGE_MAX]; /* the server's message, or a client description */
    char host[64];                       /* "addr:port" that answered or failed; "" if none */
    int consistency;     /* UNAVAILABLE, *_TIMEOUT, *_FAILURE: the consistency level */
    int32_t required;    /* UNAVAILABLE: required replicas; *_TIMEOUT, *_FAILURE: block_for */
    int32_t received;    /* UNAVAILABLE: alive replicas; *_TIMEOUT, *_FAILURE: acknowledged */
    int32_t numfailures; /* READ_FAILURE, WRITE_FAILURE */
    bool data_present;   /* READ_TIMEOUT, READ_FAILURE */
    char write_type[24]; /* WRITE_TIMEOUT, WRITE_FAILURE: SIMPLE, BATCH, UNLOGGED_BATCH ... */
    char keyspace[64];   /* ALREADY_EXISTS, FUNCTION_FAILURE */
    char table[64];      /* ALREADY_EXISTS: table ("" for a keyspace); FUNCTION_FAILURE: name */
    uint8_t unprepared_id[32]; /* UNPREPARED: the statement id the server did not know */
    uint16_t unprepared_id_len;
} cql_error;

/* Names a code (server or client); never NULL. cql_strerror(0) is "server error" since 0 is the
 * server code 0x0000 whenever it appears in a cql_error. */
const char *cql_strerror(int code);
/* True when trying the same request again (possibly on another host) may succeed: timeouts,
 * UNAVAILABLE, OVERLOADED, IS_BOOTSTRAPPING, server errors, lost connections, backpressure and
 * no-host. False for syntax, invalid, unauthorized, config, already-exists and decode errors.
 * Whether a retry is *safe* (idempotence) is the caller's judgement. */
bool cql_error_retriable(const cql_error *err);
/* Fills err with a client code and a printf-formatted message; returns code. */
int cql_error_set(cql_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- consistency ------------------------------------------------------------------------- */

typedef enum cql_consistency {
    CQL_ANY = 0x0000,
    CQL_ONE = 0x0001,
    CQL_TWO = 0x0002,
    CQL_THREE = 0x0003,
    CQL_QUORUM = 0x0004,
    CQL_ALL = 0x0005,
    CQL_LOCAL_QUORUM = 0x0006,
    CQL_EACH_QUORUM = 0x0007,
    CQL_SERIAL = 0x0008,
    CQL_LOCAL_SERIAL = 0x0009,
    CQL_LOCAL_ONE = 0x000A,
} cql_consistency;

/* Parses "local_quorum", "LOCAL_QUORUM", "one" ...; returns -1 for an unknown name. */
int cql_consistency_parse(const char *name);
/* "LOCAL_QUORUM" ...; "UNKNOWN" for a bad value. */
const char *cql_consistency_name(int consistency);

/* ---- types ------------------------------------------------------------------------------- */

typedef enum cql_type_id {
    CQL_TYPE_CUSTOM = 0x0000,
    CQL_TYPE_ASCII = 0x0001,
    CQL_TYPE_BIGINT = 0x0002,
    CQL_TYPE_BLOB = 0x0003,
    CQL_TYPE_BOOLEAN = 0x0004,
    CQL_TYPE_COUNTER = 0x0005,
    CQL_TYPE_DECIMAL = 0x0006,
    CQL_TYPE_DOUBLE = 0x0007,
    CQL_TYPE_FLOAT = 0x0008,
    CQL_TYPE_INT = 0x0009,
    CQL_TYPE_TIMESTAMP = 0x000B,
    CQL_TYPE_UUID = 0x000C,
    CQL_TYPE_VARCHAR = 0x000D, /* also "text" */
    CQL_TYPE_VARINT = 0x000E,
    CQL_TYPE_TIMEUUID = 0x000F,
    CQL_TYPE_INET = 0x0010,
    CQL_TYPE_DATE = 0x0011,
    CQL_TYPE_TIME = 0x0012,
    CQL_TYPE_SMALLINT = 0x0013,
    CQL_TYPE_TINYINT = 0x0014,
    CQL_TYPE_DURATION = 0x0015,
    CQL_TYPE_LIST = 0x0020,
    CQL_TYPE_MAP = 0x0021,
    CQL_TYPE_SET = 0x0022,
    CQL_TYPE_UDT = 0x0030,
    CQL_TYPE_TUPLE = 0x0031,
} cql_type_id;

/* A column or element type. Collections and tuples nest through `sub`: list/set have 1 element
 * type, map 2 (key, value), tuple and UDT one per field. All pointers are owned by the object
 * the type came from (a result or a prepared statement) and live as long as it does. */
typedef struct cql_type {
    cql_type_id id;
    uint16_t nsub;
    const struct cql_type *sub;
    const char *name;               /* CUSTOM: Java class; UDT: type name; else NULL */
    const char *keyspace;           /* UDT: keyspace; else NULL */
    const char *const *field_names; /* UDT: nsub field names; else NULL */
} cql_type;

/* Writes the CQL spelling ("map<text, frozen<list<int>>>" is written without frozen) into buf
 * like snprintf: returns the length the full text needs. */
int cql_type_format(const cql_type *type, char *buf, size_t size);

/* A column of a result or a bind marker of a prepared statement; owned like cql_type. */
typedef struct cql_column {
    const char *keyspace;
    const char *table;
    const char *name;
    cql_type type;
} cql_column;

/* ---- values ------------------------------------------------------------------------------ */

#define CQL_NULL  (-1)
#define CQL_UNSET (-2)

/* A serialized value, borrowed: the bytes are copied into the request frame during the call
 * that takes them, so they need to live only until that call returns. len is the byte count, or
 * CQL_NULL, or CQL_UNSET (leave the column untouched; protocol v4). */
typedef struct cql_value {
    const uint8_t *ptr;
    int32_t len;
} cql_value;

/* Builders. The ones taking `out` serialize into caller storage (of the size shown) and return
 * a value pointing at it; the others point at the argument. Nothing is allocated. */
cql_value cql_value_null(void);
cql_value cql_value_unset(void);
cql_value cql_value_blob(const void *bytes, size_t len);
cql_value cql_value_text(const char *nul_terminated);
cql_value cql_value_int(uint8_t out[4], int32_t v);
cql_value cql_value_bigint(uint8_t out[8], int64_t v); /* also counter, timestamp (ms), time */
cql_value cql_value_smallint(uint8_t out[2], int16_t v);
cql_value cql_value_tinyint(uint8_t out[1], int8_t v);
cql_value cql_value_boolean(uint8_t out[1], bool v);
cql_value cql_value_float(uint8_t out[4], float v);
cql_value cql_value_double(uint8_t out[8], double v);
cql_value cql_value_date(uint8_t out[4], int32_t days_since_epoch);

/* Parses the text form of a scalar (what cqlsh prints, plus JSON-friendly forms: integers,
 * decimals, true/false, ISO-8601 or epoch-millisecond timestamps, "YYYY-MM-DD" dates,
 * "HH:MM:SS[.fff]" times, UUIDs, IPv4/IPv6, "0x..." blobs) into `out` (cap bytes) and sets *v.
 * For ascii/text the value borrows `text` instead of copying. Returns 0, CQL_E_INVAL (text not
 * valid for the type, or a collection type) or CQL_E_TOO_LARGE (cap too small). */
int cql_value_from_text(const cql_type *type, const char *text, size_t len, uint8_t *out,
                        size_t cap, cql_value *v);

/* Writes the printable form of a serialized value into buf like snprintf (cqlsh style: text
 * unquoted at top level, quoted inside collections; null as "null"). Returns the length the
 * full text needs, or CQL_E_DECODE when the bytes are malformed for the type. */
int cql_value_format(const cql_type *type, const uint8_t *bytes, int32_t len, char *buf,
                     size_t size);

/* Decoders for scalars; return 0, or CQL_E_DECODE for a wrong size or null. */
int cql_value_get_int(cql_value v, int32_t *out);
int cql_value_get_bigint(cql_value v, int64_t *out);
int cql_value_get_double(cql_value v, double *out);
int cql_value_get_boolean(cql_value v, bool *out);

/* Cassandra's Murmur3Partitioner token of a serialized partition key (for a composite key:
 * each component as [2-byte length][bytes][0x00]). */
int64_t cql_murmur3_token(const void *key, size_t len);

/* ---- results ----------------------------------------------------------------------------- */

typedef enum cql_result_kind {
    CQL_RESULT_VOID = 0x0001,
    CQL_RESULT_ROWS = 0x0002,
    CQL_RESULT_SET_KEYSPACE = 0x0003,
    CQL_RESULT_PREPARED = 0x0004,
    CQL_RESULT_SCHEMA_CHANGE = 0x0005,
} cql_result_kind;

/* A RESULT. Inside a callback it is borrowed and parsed in place from the connection's read
 * buffer (valid until the callback returns; keep it with cql_result_copy). */
typedef struct cql_result cql_result;

cql_result_kind cql_result_get_kind(const cql_result *res);
int cql_result_column_count(const cql_result *res);
/* The i-th column (0-based), owned by res; NULL when out of range. */
const cql_column *cql_result_column(const cql_result *res, int i);
int32_t cql_result_row_count(const cql_result *res);
/* The cell at (row, col), pointing into res; len CQL_NULL for null; {NULL, CQL_NULL} when out of
 * range. */
cql_value cql_result_cell(const cql_result *res, int32_t row, int col);
/* True when the server has more pages; the state (pointing into res) goes into
 * cql_query_opts.paging_state of the next request. */
bool cql_result_has_more_pages(const cql_result *res);
cql_value cql_result_paging_state(const cql_result *res);
/* SET_KEYSPACE: the keyspace; SCHEMA_CHANGE: "CREATED KEYSPACE ks" style summary; else "". */
const char *cql_result_info(const cql_result *res);
/* Returns an owned deep copy (NULL on allocation failure); free it with cql_result_free. */
cql_result *cql_result_copy(const cql_result *res);
/* Frees a result returned by cql_result_copy or the sync API; NULL is fine. */
void cql_result_free(cql_result *res);

/* ---- configuration ----------------------------------------------------------------------- */

/* Session settings. Strings are borrowed during cql_session_new, which copies them. */
typedef struct cql_config {
    /* "host[:port],host2[:port]"; default "127.0.0.1". Every address a host name resolves to
     * is a contact point. */
    const char *contact_points;
    int port;             /* default port of contact points and peers; 9042 */
    const char *username; /* SASL PLAIN credentials; NULL: no authentication */
    const char *password;
    const char *keyspace; /* USE'd on every connection; NULL: none */
    /* The data center that takes requests; NULL: that of the first contact point that
     * answered. Token-aware routing prefers its replicas, then its other hosts. Hosts of other
     * data centers keep one standby connection each and take requests only while no host of
     * the local one is up (their replicas first). */
    const char *local_dc;
    bool tls;                /* default false */
    const char *tls_ca_file; /* PEM bundle; NULL: the system's default store */
    /* Verify the server certificate and name; default true. A host whose address a contact
     * point's host name resolved to is verified against that name (a DNS name in the
     * certificate will do); peers found through system.peers are known by IP only and are
     * verified against their IP, which their certificates must then carry (an IP SAN). */
    bool tls_verify;
    /* Mutual TLS: the client certificate chain (PEM) and its private key (PEM; NULL: in the
     * certificate file), presented to servers that ask (require_client_auth). */
    const char *tls_cert_file;
    const char *tls_key_file;
    bool compression_lz4;     /* ask for lz4 frame compression; default false */
    int connections_per_host; /* default 2 */
    int max_inflight;         /* requests in flight per connection; default 1024, <= 32000 */
    int request_timeout_ms;   /* default 12000 */
    int connect_timeout_ms;   /* TCP + TLS + STARTUP; default 5000 */
    int heartbeat_interval_s; /* OPTIONS after this long without traffic; 0 off; 30 */
    int reconnect_base_ms;    /* first reconnect delay, doubled per failure; 500 */
    int reconnect_max_ms;     /* cap of the reconnect delay; 30000 */
    int max_retries;          /* retries of idempotent requests on retriable errors; 2 */
    bool token_aware;         /* route executes to a replica's connection; default true */
} cql_config;

/* Fills cfg with the defaults above. */
void cql_config_init(cql_config *cfg);

/* ---- async session ----------------------------------------------------------------------- */

typedef struct cql_session cql_session;
/* A prepared statement: owned by its session and valid until cql_session_free. */
typedef struct cql_prepared cql_prepared;

typedef void (*cql_connect_cb)(cql_session *s, const cql_error *err /* NULL: ok */, void *ud);
typedef void (*cql_prepare_cb)(cql_session *s, const cql_error *err, const cql_prepared *p,
                               void *ud);
/* err NULL means success; res may be NULL (VOID results) and is borrowed (see cql_result). */
typedef void (*cql_result_cb)(void *ud, const cql_error *err, const cql_result *res);
typedef void (*cql_close_cb)(cql_session *s, void *ud);

/* Creates an idle session on loop (borrowed; must outlive the session). Returns NULL with a
 * one-line message in err when cfg is invalid (e.g. a bad contact point). */
cql_session *cql_session_new(uv_loop_t *loop, const cql_config *cfg, char *err, size_t errlen);
/* Connects to the contact points, reads system.local and system.peers_v2 (or system.peers),
 * builds the token ring, opens connections_per_host connections to every host and registers for
 * events. cb fires once: err NULL when at least one host is usable. */
int cql_session_connect(cql_session *s, cql_connect_cb cb, void *ud);
/* Fails every queued request with CQL_E_CLOSED, closes all handles; cb fires once when the loop
 * holds nothing of the session any more (cb may be NULL). */
int cql_session_close(cql_session *s, cql_close_cb cb, void *ud);
/* Frees a session that was never connected or whose close callback has fired. */
void cql_session_free(cql_session *s);

/* Per-request options; cql_query_opts_init sets the defaults shown. */
typedef struct cql_query_opts {
    int32_t page_size;      /* rows per page; <= 0: no paging (QUERY default 5000) */
    cql_value paging_state; /* from cql_result_paging_state; len < 0: first page */
    int serial_consistency; /* CQL_SERIAL or CQL_LOCAL_SERIAL for LWT; 0: server default */
    int64_t timestamp;      /* microseconds; CQL_NO_TIMESTAMP: server assigns */
    bool idempotent;        /* allow automatic retries (max_retries); default false */
    uint32_t timeout_ms;    /* 0: the session's request_timeout_ms */
} cql_query_opts;
#define CQL_NO_TIMESTAMP INT64_MIN
void cql_query_opts_init(cql_query_opts *o);

/* Schema agreement: one check of whether every host that is up (and connected) reports the same
 * schema version, each asked for its own (system.local), as after a schema change before the
 * next statement that depends on it (another coordinator may not know the new table yet). cb
 * gets agreed, or an error (a failed query); CQL_E_NO_HOST when no host is connected. One check
 * at a time per session (CQL_E_INVAL otherwise). Callers poll it. */
typedef void (*cql_schema_cb)(void *ud, const cql_error *err, bool agreed);
int cql_session_check_schema(cql_session *s, cql_schema_cb cb, void *ud);

/* Prepares query on one host (and lazily on others when first used there). A query already
 * prepared in this session gets the same cql_prepared. The cql_prepared passed to cb is owned by
 * the session and stays valid until cql_session_free. */
int cql_session_prepare(cql_session *s, const char *query, cql_prepare_cb cb, void *ud);

/* Executes a prepared statement with n values (n must equal the bind count). Token-aware: the
 * partition key's murmur3 token picks a connection to a replica, else round-robin. Returns
 * CQL_E_BACKPRESSURE when all usable connections are at max_inflight and CQL_E_NO_HOST when no
 * host is up (cb not called). An UNPREPARED answer is handled by re-preparing and re-sending.
 * The hot path: no allocation per request once the connection's buffers have grown. */
int cql_session_execute(cql_session *s, const cql_prepared *p, const cql_value *values, size_t n,
                        cql_consistency cl, cql_result_cb cb, void *ud);
/* Same with options (paging of prepared SELECTs, timestamps, idempotence); opts may be NULL. */
int cql_session_execute_opts(cql_session *s, const cql_prepared *p, const cql_value *values,
                             size_t n, cql_consistency cl, const cql_query_opts *opts,
                             cql_result_cb cb, void *ud);
/* A simple QUERY with optional positional values (n may be 0, values NULL). A SET_KEYSPACE result
 * ("USE ks") switches every connection of the session to that keyspace, and cb fires once every
 * other connection has switched (one that fails to is closed and reconnects in ks), so that the
 * statements it sends run in ks; if the session closes first, cb gets CQL_E_CLOSED. */
int cql_session_query(cql_session *s, const char *cql, const cql_value *values, size_t n,
                      cql_consistency cl, const cql_query_opts *opts, cql_result_cb cb, void *ud);

typedef enum cql_batch_type {
    CQL_BATCH_LOGGED = 0,
    CQL_BATCH_UNLOGGED = 1,
    CQL_BATCH_COUNTER = 2,
} cql_batch_type;

/* One statement of a batch; the arrays are borrowed for the duration of the call. */
typedef struct cql_batch_stmt {
    const cql_prepared *prepared;
    const cql_value *values;
    size_t n;
} cql_batch_stmt;

/* Sends a BATCH of prepared statements, routed by the first statement's partition key. */
int cql_session_batch(cql_session *s, cql_batch_type type, const cql_batch_stmt *stmts, size_t n,
                      cql_consistency cl, const cql_query_opts *opts, cql_result_cb cb, void *ud);

/* A batch built ahead, one statement at a time: each statement is encoded when added, so its
 * values may go right after. The stream sink keeps one open per replica group (see
 * cql_session_replicas_key) and sends it when full or when the loop has nothing else to do. */
typedef struct cql_batch cql_batch;
cql_batch *cql_batch_new(void);
void cql_batch_free(cql_batch *b);
/* Empties b, keeping its memory. */
void cql_batch_clear(cql_batch *b);
/* A statement's partition token, computed once for grouping (cql_session_replicas_key) and
 * routing (cql_batch_add). */
typedef struct cql_token {
    bool known; /* false: not token-aware, or a null key component */
    int64_t value;
} cql_token;
/* Appends prepared statement p with its n values (n must equal the bind count). The first
 * statement's partition key routes the batch: its token is *tok when given (from
 * cql_session_replicas_key for the same values), else computed here. CQL_E_INVAL, CQL_E_NOMEM
 * (b unchanged then). */
int cql_batch_add(cql_session *s, cql_batch *b, const cql_prepared *p, const cql_value *values,
                  size_t n, const cql_token *tok);
size_t cql_batch_count(const cql_batch *b);
/* Sends b. Its encoded statements become the request (no copy), and b is left empty, ready for
 * the next batch; when this fails b is unchanged. Returns like cql_session_execute
 * (CQL_E_BACKPRESSURE, CQL_E_NO_HOST: cb not called). */
int cql_session_send_batch(cql_session *s, cql_batch *b, cql_batch_type type, cql_consistency cl,
                           const cql_query_opts *opts, cql_result_cb cb, void *ud);
/* Writes the requests queued so far to their sockets now, instead of in the loop's prepare phase
 * (where a handle of the caller's may run after the session's). */
void cql_session_flush(cql_session *s);
/* A key that is equal for statements whose partition keys have the same replica hosts: a bit per
 * replica host (host index modulo 64). 0 when unknown (not token-aware, no ring, null key).
 * *tok (may be NULL) receives the statement's token, for cql_batch_add. */
uint64_t cql_session_replicas_key(cql_session *s, const cql_prepared *p, const cql_value *values,
                                  cql_token *tok);

/* Prepared statement metadata; pointers are owned by p. */
const char *cql_prepared_query(const cql_prepared *p);
int cql_prepared_bind_count(const cql_prepared *p);
const cql_column *cql_prepared_bind_column(const cql_prepared *p, int i);
/* Bind-marker indexes of the partition key components, in key order (count may be 0). */
int cql_prepared_pk_count(const cql_prepared *p);
const uint16_t *cql_prepared_pk_indexes(const cql_prepared *p);
int cql_prepared_result_column_count(const cql_prepared *p);
const cql_column *cql_prepared_result_column(const cql_prepared *p, int i);

/* ---- events, hosts, counters ------------------------------------------------------------- */

typedef enum cql_event_type {
    CQL_EVENT_TOPOLOGY = 1, /* change: NEW_NODE, REMOVED_NODE */
    CQL_EVENT_STATUS = 2,   /* change: UP, DOWN (server event, or local=true for our view) */
    CQL_EVENT_SCHEMA = 3,   /* change: CREATED, UPDATED, DROPPED; target: KEYSPACE, TABLE ... */
} cql_event_type;

typedef struct cql_event {
    cql_event_type type;
    bool local; /* STATUS from the client's own connection handling */
    char change[16];
    char target[16]; /* SCHEMA only */
    char keyspace[64];
    char name[128]; /* SCHEMA: table/type/function name; "" for a keyspace */
    char host[64];  /* TOPOLOGY, STATUS: "addr:port" */
} cql_event;

/* Sets (or clears with NULL) the event callback; ev is valid until the callback returns. */
void cql_session_set_event_cb(cql_session *s,
                              void (*cb)(cql_session *, const cql_event *ev, void *ud), void *ud);

typedef struct cql_host_info {
    char addr[64]; /* "addr:port" */
    char dc[64];
    char rack[64];
    bool up;
    int connections; /* ready connections */
    int inflight;
    uint64_t requests; /* requests sent to the host so far (retries included) */
} cql_host_info;

int cql_session_host_count(const cql_session *s);
/* Copies host i's state into out; returns CQL_E_INVAL when i is out of range. */
int cql_session_host_info(const cql_session *s, int i, cql_host_info *out);

typedef struct cql_stats {
    uint64_t requests;   /* requests accepted (execute/query/batch/prepare) */
    uint64_t errors;     /* callbacks with an error */
    uint64_t retries;    /* automatic retries (idempotent) */
    uint64_t timeouts;   /* client-side timeouts */
    uint64_t reprepares; /* UNPREPARED answers handled */
    uint64_t reconnects; /* connections re-established */
    uint64_t bytes_out;
    uint64_t bytes_in;
    int inflight; /* requests awaiting a response now */
    int capacity; /* sum of max_inflight over ready connections */
    int hosts_up;
    int hosts_total;
} cql_stats;

/* Requests in flight right now (for backpressure decisions). */
int cql_session_inflight(const cql_session *s);
void cql_session_stats(const cql_session *s, cql_stats *out);

/* ---- blocking API (tools and tests) ------------------------------------------------------ */

typedef struct cql_sync cql_sync;

/* Connects with a private loop; NULL with a one-line message in err on failure. */
cql_sync *cql_sync_connect(const cql_config *cfg, char *err, size_t errlen);
/* Each returns 0, or a negative code with err filled (CQL_E_SERVER_ERROR when the server
 * answered ERROR: err->code holds its code). *out (may be NULL to discard) receives an owned
 * result, NULL for VOID; free it with cql_result_free. */
int cql_sync_query(cql_sync *c, const char *cql, const cql_value *values, size_t n,
                   cql_consistency cl, const cql_query_opts *opts, cql_result **out,
                   cql_error *err);
/* *out is owned by the handle's session and valid until cql_sync_close. */
int cql_sync_prepare(cql_sync *c, const char *query, const cql_prepared **out, cql_error *err);
int cql_sync_execute(cql_sync *c, const cql_prepared *p, const cql_value *values, size_t n,
                     cql_consistency cl, const cql_query_opts *opts, cql_result **out,
                     cql_error *err);
int cql_sync_batch(cql_sync *c, cql_batch_type type, const cql_batch_stmt *stmts, size_t n,
                   cql_consistency cl, cql_error *err);
/* Runs the private loop for up to timeout_ms (delivering events to the session's event
 * callback); returns early when *stop becomes true (stop may be NULL). */
void cql_sync_run(cql_sync *c, int timeout_ms, const volatile bool *stop);
/* The session inside (for stats, host info, events); owned by c. */
cql_session *cql_sync_session(cql_sync *c);
/* Closes and frees c and everything it owns; NULL is fine. */
void cql_sync_close(cql_sync *c);

#endif
