/* Dead-letter metadata: reason headers, header copy rules, replay filters (see dlq_meta.h). */
#include "stream/dlq_meta.h"

#include "util/opt.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Copies the last value of header `name` as a C string into out (cut to fit); false when the
 * header is absent. A null header value reads as "". */
static bool header_str(const rd_kafka_headers_t *h, const char *name, char *out, size_t outlen)
{
    const void *v = NULL;
    size_t n = 0;
    if (!h || rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    if (!v) n = 0;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, v ? v : "", n);
    out[n] = '\0';
    return true;
}

static long long header_int(const rd_kafka_headers_t *h, const char *name, long long missing)
{
    char buf[32];
    long long v;
    if (!header_str(h, name, buf, sizeof buf) || opt_parse_int(buf, &v)) return missing;
    return v;
}

void stream_dlq_info_parse(const rd_kafka_headers_t *h, stream_dlq_info *out)
{
    memset(out, 0, sizeof *out);
    if (!header_str(h, "rtetl.error", out->reason, sizeof out->reason))
        snprintf(out->reason, sizeof out->reason, "?");
    header_str(h, "rtetl.error.detail", out->detail, sizeof out->detail);
    header_str(h, "rtetl.source.topic", out->source_topic, sizeof out->source_topic);
    header_str(h, "rtetl.target", out->target, sizeof out->target);
    long long p = header_int(h, "rtetl.source.partition", -1);
    out->source_partition = p >= 0 && p <= INT32_MAX ? (int32_t)p : -1;
    long long o = header_int(h, "rtetl.source.offset", -1);
    out->source_offset = o >= 0 ? o : -1;
    long long t = header_int(h, "rtetl.source.timestamp", -1);
    out->source_timestamp = t >= 0 ? t : -1;
    char tmp[32];
    out->truncated = header_str(h, "rtetl.truncated", tmp, sizeof tmp);
    long long c = header_int(h, STREAM_DLQ_REPLAY_COUNT, 0);
    out->replay_count = c > 0 ? c : 0;
}

int64_t stream_dlq_info_of(const rd_kafka_message_t *m, stream_dlq_info *out)
{
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR) h = NULL;
    stream_dlq_info_parse(h, out);
    rd_kafka_timestamp_type_t tt;
    return rd_kafka_message_timestamp(m, &tt);
}

void stream_dlq_copy_headers(rd_kafka_headers_t *dst, const rd_kafka_headers_t *src,
                             bool keep_replay_count)
{
    const char *name;
    const void *v;
    size_t n;
    for (size_t i = 0; src && rd_kafka_header_get_all(src, i, &name, &v, &n) == 0; i++) {
        bool ours = strncmp(name, "rtetl.", 6) == 0;
        if (ours && !(keep_replay_count && strcmp(name, STREAM_DLQ_REPLAY_COUNT) == 0)) continue;
        rd_kafka_header_add(dst, name, -1, v, v ? (ssize_t)n : -1);
    }
}

rd_kafka_headers_t *stream_dlq_replay_headers(const rd_kafka_headers_t *dlq_headers)
{
    size_t n = dlq_headers ? rd_kafka_header_cnt(dlq_headers) : 0;
    rd_kafka_headers_t *h = rd_kafka_headers_new(n + 2);
    stream_dlq_copy_headers(h, dlq_headers, false);
    char target[128];
    if (header_str(dlq_headers, "rtetl.target", target, sizeof target))
        rd_kafka_header_add(h, STREAM_DLQ_REPLAY_TARGET, -1, target, -1);
    char count[24];
    long long prev = header_int(dlq_headers, STREAM_DLQ_REPLAY_COUNT, 0);
    snprintf(count, sizeof count, "%lld", prev > 0 ? prev + 1 : 1);
    rd_kafka_header_add(h, STREAM_DLQ_REPLAY_COUNT, -1, count, -1);
    return h;
}

void stream_dlq_filter_init(stream_dlq_filter *f)
{
    memset(f, 0, sizeof *f);
    f->partition = -1;
    f->from_offset = f->to_offset = -1;
    f->since_ms = f->until_ms = -1;
}

static bool reason_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int stream_dlq_filter_add_reasons(stream_dlq_filter *f, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        for (size_t i = 0; i < n; i++) {
            if (!reason_char(p[i])) {
                snprintf(err, errlen, "reason '%.*s': expected lower-case letters, digits, _ . -",
                         (int)n, p);
                return -1;
            }
        }
        if (n == 0) {
            snprintf(err, errlen, "reason list '%s': empty item", list);
            return -1;
        }
        char **r = realloc(f->reasons, (f->nreasons + 1) * sizeof *r);
        if (!r) goto oom;
        f->reasons = r;
        if (!(f->reasons[f->nreasons] = strndup(p, n))) goto oom;
        f->nreasons++;
        if (!end) return 0;
        p = end + 1;
    }
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" (a space for the T is fine) as ms since the epoch. */
static int parse_rfc3339(const char *s, int64_t *out_ms)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!p) return -1;
    int64_t frac = 0, scale = 1000;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++) {
            if (scale > 1) frac += (*p - '0') * (scale /= 10);
        }
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0) return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out_ms = (int64_t)t * 1000 + frac;
    return 0;
}

int stream_dlq_parse_time(const char *s, int64_t now_ms, int64_t *out_ms)
{
    long long ms;
    double secs;
    if (!s || !*s) return -1;
    if (strchr(s, '-') || strchr(s, ':')) return parse_rfc3339(s, out_ms);
    /* A bare integer of 12 digits or more is an epoch time in ms; shorter numbers are
     * seconds ago, as every DURATION option reads them. */
    if (strlen(s) >= 12 && opt_parse_int(s, &ms) == 0 && ms >= 0) {
        *out_ms = ms;
        return 0;
    }
    if (opt_parse_duration(s, &secs)) return -1;
    *out_ms = now_ms - (int64_t)(secs * 1000.0);
    return 0;
}

bool stream_dlq_filter_match(const stream_dlq_filter *f, const stream_dlq_info *d,
                             int64_t dlq_ts_ms)
{
    if (f->nreasons) {
        size_t i = 0;
        while (i < f->nreasons && strcmp(f->reasons[i], d->reason) != 0) i++;
        if (i == f->nreasons) return false;
    }
    if (f->partition >= 0 && d->source_partition != f->partition) return false;
    if ((f->from_offset >= 0 || f->to_offset >= 0) && d->source_offset < 0) return false;
    if (f->from_offset >= 0 && d->source_offset < f->from_offset) return false;
    if (f->to_offset >= 0 && d->source_offset > f->to_offset) return false;
    if ((f->since_ms >= 0 || f->until_ms >= 0) && dlq_ts_ms < 0) return false;
    if (f->since_ms >= 0 && dlq_ts_ms < f->since_ms) return false;
    if (f->until_ms >= 0 && dlq_ts_ms > f->until_ms) return false;
    return true;
}

void stream_dlq_filter_free(stream_dlq_filter *f)
{
    for (size_t i = 0; i < f->nreasons; i++) free(f->reasons[i]);
    free(f->reasons);
    f->reasons = NULL;
    f->nreasons = 0;
}

void stream_dlq_format_time(int64_t ms, char *out, size_t outlen)
{
    if (ms < 0) {
        snprintf(out, outlen, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03dZ", buf, (int)(ms % 1000));
}
