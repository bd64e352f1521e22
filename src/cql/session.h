/* Internal: the session's state shared by session.c (lifecycle, pools, sweep), topology.c
 * (control connection, peers, token ring) and request.c (execute/query/batch/prepare). */
#ifndef RTETL_CQL_SESSION_H
#define RTETL_CQL_SESSION_H

#include "cql/conn.h"

#include <netinet/in.h>
#include <sys/socket.h>

/* A contact point's host name, as given (DNS names have at most 253 characters). */
#define CONTACT_NAME_MAX 256

typedef struct cql_host {
    struct cql_session *s;
    char addr[64]; /* "ip:port", the host's identity */
    char ip[48];
    int port;
    struct sockaddr_storage sa;
    char dc[64], rack[64];
    bool up, ever_up, removed;
    cql_conn **conns; /* connections_per_host entries, NULL when none */
    int connecting;   /* attempts in progress */
    int failures;
    uint64_t next_attempt; /* loop ms */
    int64_t *tokens;
    int ntokens;
    int rr;               /* round-robin cursor over conns */
    uint64_t closed_sent; /* user requests sent on its connections that are closed */
} cql_host;

struct cql_prepared {
    struct cql_prepared *next;
    char *query;
    uint8_t id[32];
    uint16_t idlen;
    cql_result *meta; /* owned copy of the PREPARED result: bind columns, pk indexes, columns */
    /* Metadata replaced after a schema change, kept (not freed) because callers may still hold
     * column pointers of p, which the API promises live as long as p. */
    cql_result **retired;
    int nretired;
};

typedef struct ring_entry {
    int64_t token;
    int host;
} ring_entry;

typedef struct ks_dc_rf {
    char dc[64];
    int rf;
} ks_dc_rf;

/* A keyspace's replication: SimpleStrategy's rf (1 for other strategies), or, for
 * NetworkTopologyStrategy (nts), the replicas of each data center. */
typedef struct ks_rf {
    char name[64];
    int rf;
    bool nts;
    ks_dc_rf *dcs; /* owned */
    int ndcs;
} ks_rf;

/* Per data center of the ring: its hosts and distinct racks (what NTS placement needs). */
typedef struct dc_stat {
    char dc[64];
    int nodes, racks;
} dc_stat;

typedef enum { SESS_IDLE, SESS_CONNECTING, SESS_OPEN, SESS_CLOSING, SESS_CLOSED } sess_state;

struct cql_session {
    uv_loop_t *loop;
    cql_config cfg; /* strings point into the copies below */
    char *contact_points, *username, *password, *local_dc, *ca_file;
    char keyspace[256];
    sess_state state;
    cql_tls_ctx *tls;
    /* Contact points resolved at cql_session_new. */
    struct sockaddr_storage *contacts;
    char (*contact_names)[CONTACT_NAME_MAX]; /* as given; TLS verifies against them */
    int ncontacts, contact_next;
    /* Hosts and ring. */
    cql_host **hosts;
    int nhosts;
    ring_entry *ring;
    int nring;
    ks_rf *rfs;
    int nrfs;
    int rf_hint; /* index in rfs of the last keyspace looked up (the same one, row after row) */
    dc_stat *dcs;
    int ndcs;
    /* The data center of the first host that answered (its system.local row): the local one
     * when cfg.local_dc is not set. */
    char first_dc[64];
    /* Control connection (topology queries and events). */
    cql_conn *control;
    char control_name[CONTACT_NAME_MAX];
    struct sockaddr_storage control_sa;
    uint64_t control_next_attempt;
    int control_failures;
    bool topology_busy, topology_again;
    /* cql_session_check_schema in progress: its callback, the first version heard, the answers
     * still awaited, and whether any differed or failed. */
    cql_schema_cb schema_cb;
    void *schema_ud;
    uint8_t schema_local[16];
    int schema_local_len, schema_pending;
    bool schema_differs, schema_failed;
    cql_error schema_err;
    /* Handles. */
    uv_timer_t sweep;
    uv_prepare_t flusher;
    cql_conn *dirty_head;
    int open_handles;
    /* Callbacks. */
    cql_connect_cb connect_cb;
    void *connect_ud;
    cql_close_cb close_cb;
    void *close_ud;
    void (*event_cb)(cql_session *, const cql_event *, void *);
    void *event_ud;
    cql_error last_error;
    cql_prepared *prepared;
    cql_buf keybuf; /* routing key scratch */
    unsigned rr;
    int use_pending; /* internal USE statements in flight (cql_session_apply_keyspace) */
    /* The callback of a user's USE, held with a copy of its result until use_pending is 0. */
    cql_result_cb use_cb;
    void *use_ud;
    cql_result *use_res;
    cql_stats stats;
    uint64_t closed_bytes_in, closed_bytes_out;
};

/* session.c */
cql_session *cql_session_of(cql_conn *c);
cql_host *cql_host_of(cql_conn *c); /* NULL for the control connection */
void cql_session_emit(cql_session *s, const cql_event *ev);
void cql_session_ensure_pools(cql_session *s);
void cql_session_check_connected(cql_session *s);
cql_conn *cql_session_new_conn(cql_session *s, cql_host *h, bool control);
/* cfg.local_dc, else the first answering host's data center; NULL while unknown. */
const char *cql_session_local_dc(const cql_session *s);
/* Whether h is in the local data center (true while either data center is unknown). */
bool cql_host_is_local(const cql_session *s, const cql_host *h);
void cql_session_apply_keyspace(cql_session *s, const char *ks, cql_conn *except);
/* A user's request answered SET_KEYSPACE on c: switches the other connections and takes res (a
 * copy) and cb to fire once they have; false when cb is to fire at once (nothing to wait for, or
 * no memory for the copy: then it fires before the switch completes, as it did before). */
bool cql_session_defer_use(cql_session *s, cql_conn *c, cql_result_cb cb, void *ud,
                           const cql_result *res);

/* topology.c */
void cql_topology_refresh(cql_session *s);
void cql_topology_event(cql_session *s, const cql_event *ev);
cql_host *cql_host_find(cql_session *s, const char *addr);
/* Replica hosts of token for keyspace ks (may be NULL): up to max entries, in the order the
 * placement strategy picks them. */
int cql_ring_replicas(cql_session *s, int64_t token, const char *ks, cql_host **out, int max);
/* Rebuilds the sorted ring and the per-data-center counts from the hosts not removed. */
void cql_ring_build(cql_session *s);
/* Fills out's strategy and factors (not its name) from a replication map<text, text>; out->dcs
 * is NULL or owned (replaced). */
void cql_replication_parse(cql_value map, ks_rf *out);
void cql_rfs_free(ks_rf *rfs, int n);
/* Runs one internal query on conn; done gets the decoded result or an error. */
int cql_internal_query(cql_conn *c, const char *q,
                       void (*done)(cql_conn *c, const cql_error *err, const cql_result *res));

/* request.c */
void cql_request_done(cql_req *r, const cql_error *err, const cql_frame_hdr *h, cql_rd *body);
/* The connection a request for token in keyspace ks goes to (NULL: none has room). */
cql_conn *cql_route_token(cql_session *s, int64_t token, const char *ks);

#endif
