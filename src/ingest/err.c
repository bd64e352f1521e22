/* Error codes of the ingest module (see err.h). */
#include "ingest/err.h"

const char *ingest_strerror(ingest_err e)
{
    switch (e) {
    case INGEST_OK: return "ok";
    case INGEST_ERR_NET: return "network error";
    case INGEST_ERR_HTTP_RETRY: return "temporary HTTP error";
    case INGEST_ERR_HTTP: return "HTTP error";
    case INGEST_ERR_BAD_ANSWER: return "unexpected answer";
    case INGEST_ERR_BAD_RECORD: return "bad record";
    case INGEST_ERR_STOPPED: return "stopped";
    case INGEST_ERR_CONFIG: return "configuration error";
    case INGEST_ERR_KAFKA: return "Kafka error";
    case INGEST_ERR_SYSTEM: return "system error";
    }
    return "unknown error";
}

bool ingest_err_retriable(ingest_err e)
{
    return e == INGEST_ERR_NET || e == INGEST_ERR_HTTP_RETRY || e == INGEST_ERR_BAD_ANSWER;
}
