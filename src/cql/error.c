/* Error names and retry classification, consistency names, and the config/option defaults. */
#include "cql/cql.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct code_name {
    int code;
    const char *name;
} code_name;

static const code_name codes[] = {
    {CQL_ERR_SERVER, "server error"},
    {CQL_ERR_PROTOCOL, "protocol error"},
    {CQL_ERR_BAD_CREDENTIALS, "bad credentials"},
    {CQL_ERR_UNAVAILABLE, "unavailable"},
    {CQL_ERR_OVERLOADED, "overloaded"},
    {CQL_ERR_IS_BOOTSTRAPPING, "is bootstrapping"},
    {CQL_ERR_TRUNCATE, "truncate error"},
    {CQL_ERR_WRITE_TIMEOUT, "write timeout"},
    {CQL_ERR_READ_TIMEOUT, "read timeout"},
    {CQL_ERR_READ_FAILURE, "read failure"},
    {CQL_ERR_FUNCTION_FAILURE, "function failure"},
    {CQL_ERR_WRITE_FAILURE, "write failure"},
    {CQL_ERR_CDC_WRITE_FAILURE, "cdc write failure"},
    {CQL_ERR_CAS_WRITE_UNKNOWN, "cas write unknown"},
    {CQL_ERR_SYNTAX, "syntax error"},
    {CQL_ERR_UNAUTHORIZED, "unauthorized"},
    {CQL_ERR_INVALID, "invalid query"},
    {CQL_ERR_CONFIG, "configuration error"},
    {CQL_ERR_ALREADY_EXISTS, "already exists"},
    {CQL_ERR_UNPREPARED, "unprepared"},
    {CQL_E_NOMEM, "out of memory"},
    {CQL_E_INVAL, "invalid argument"},
    {CQL_E_BACKPRESSURE, "all connections at max in-flight"},
    {CQL_E_NO_HOST, "no host available"},
    {CQL_E_CLOSED, "session closed"},
    {CQL_E_CONN_LOST, "connection lost"},
    {CQL_E_TIMEOUT, "request timed out"},
    {CQL_E_CONNECT, "connection failed"},
    {CQL_E_PROTOCOL, "malformed frame from server"},
    {CQL_E_AUTH, "authentication failed"},
    {CQL_E_TLS, "TLS error"},
    {CQL_E_TOO_LARGE, "request too large"},
    {CQL_E_DECODE, "value could not be decoded"},
    {CQL_E_RESOLVE, "host name did not resolve"},
    {CQL_E_SERVER_ERROR, "server returned an error"},
};

const char *cql_strerror(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code) return codes[i].name;
    return "unknown error";
}

bool cql_error_retriable(const cql_error *err)
{
    if (!err) return false;
    switch (err->code) {
    case CQL_ERR_SERVER:
    case CQL_ERR_UNAVAILABLE:
    case CQL_ERR_OVERLOADED:
    case CQL_ERR_IS_BOOTSTRAPPING:
    case CQL_ERR_TRUNCATE:
    case CQL_ERR_WRITE_TIMEOUT:
    case CQL_ERR_READ_TIMEOUT:
    case CQL_ERR_UNPREPARED:
    case CQL_E_BACKPRESSURE:
    case CQL_E_NO_HOST:
    case CQL_E_CONN_LOST:
    case CQL_E_TIMEOUT:
    case CQL_E_CONNECT:
    case CQL_E_NOMEM: return true;
    default: return false;
    }
}

int cql_error_set(cql_error *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    memset(err, 0, sizeof *err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

static const char *const cl_names[] = {"ANY",    "ONE",          "TWO",          "THREE",
                                       "QUORUM", "ALL",          "LOCAL_QUORUM", "EACH_QUORUM",
                                       "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE"};

int cql_consistency_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < (int)(sizeof cl_names / sizeof cl_names[0]); i++)
        if (strcasecmp(name, cl_names[i]) == 0) return i;
    return -1;
}

const char *cql_consistency_name(int consistency)
{
    if (consistency < 0 || consistency >= (int)(sizeof cl_names / sizeof cl_names[0]))
        return "UNKNOWN";
    return cl_names[consistency];
}

void cql_config_init(cql_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->contact_points = "127.0.0.1";
    cfg->port = 9042;
    cfg->tls_verify = true;
    cfg->connections_per_host = 2;
    cfg->max_inflight = 1024;
    cfg->request_timeout_ms = 12000;
    cfg->connect_timeout_ms = 5000;
    cfg->heartbeat_interval_s = 30;
    cfg->reconnect_base_ms = 500;
    cfg->reconnect_max_ms = 30000;
    cfg->max_retries = 2;
    cfg->token_aware = true;
}

void cql_query_opts_init(cql_query_opts *o)
{
    memset(o, 0, sizeof *o);
    o->page_size = 5000;
    o->paging_state.len = CQL_NULL;
    o->timestamp = CQL_NO_TIMESTAMP;
}
