/* Fetching randomuser answers over HTTP(S) with libcurl (see api.h).
 *
 * DESIGN: one easy handle is kept for the client's life, so libcurl reuses the connection (and
 * the TLS session) from request to request. Each fetch asks for many results at once. Failures
 * that may pass (network errors, 5xx, 429, 408, answers that are not the expected JSON) are
 * retried with exponential backoff and full jitter, capped, honouring Retry-After; any other
 * 4xx means the request itself is wrong and is reported at once. A stop request aborts both a
 * transfer in progress (the progress callback) and a backoff wait. */
#include "ingest/api.h"

#include "util/dl.h"
#include "util/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODY (256L << 20) /* refuse answers beyond this: a runaway server */

struct ingest_api {
    ingest_api_opts o;
    CURL *curl;
    ingest_buf body, url;
    ingest_rng jitter;
    long page;
    ingest_api_stats st;
    char curl_err[CURL_ERROR_SIZE];
};

/* libcurl, opened on first use (util/dl.h): only `ingest --api` needs it. */
static struct {
    __typeof__(&curl_global_init) global_init;
    __typeof__(&curl_easy_init) easy_init;
    __typeof__(&curl_easy_setopt) easy_setopt;
    __typeof__(&curl_easy_perform) easy_perform;
    __typeof__(&curl_easy_getinfo) easy_getinfo;
    __typeof__(&curl_easy_cleanup) easy_cleanup;
    __typeof__(&curl_easy_escape) easy_escape;
    __typeof__(&curl_easy_strerror) easy_strerror;
    __typeof__(&curl_free) free;
} C;

#define FN(f)                     \
    {                             \
        "curl_" #f, (void **)&C.f \
    }
static const dl_fn curl_fns[] = {
    FN(global_init),  FN(easy_init),   FN(easy_setopt),   FN(easy_perform), FN(easy_getinfo),
    FN(easy_cleanup), FN(easy_escape), FN(easy_strerror), FN(free),
};
#undef FN
static dl_lib curl_lib = {"libcurl.so.4", curl_fns, sizeof curl_fns / sizeof curl_fns[0], 0, ""};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static char curl_load_err[256];

static void curl_init(void)
{
    if (!dl_load(&curl_lib, curl_load_err, sizeof curl_load_err)) return;
    curl_init_rc = C.global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    ingest_api *a = arg;
    size_t k = size * n;
    if (a->body.len + k > (size_t)MAX_BODY) return 0; /* makes libcurl fail the transfer */
    ingest_buf_put(&a->body, data, k);
    return k;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    ingest_api *a = arg;
    return a->o.stop && *a->o.stop ? 1 : 0;
}

ingest_api *ingest_api_new(const ingest_api_opts *opts, char *err, size_t errlen)
{
    if (!opts->url || !*opts->url) {
        snprintf(err, errlen, "no API URL");
        return NULL;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_load_err[0]) {
        snprintf(err, errlen, "%s", curl_load_err);
        return NULL;
    }
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl init failed: %s", C.easy_strerror(curl_init_rc));
        return NULL;
    }
    ingest_api *a = calloc(1, sizeof *a);
    if (!a || !(a->curl = C.easy_init())) {
        free(a);
        snprintf(err, errlen, "libcurl: cannot create a handle");
        return NULL;
    }
    a->o = *opts;
    if (a->o.results <= 0) a->o.results = 100;
    ingest_buf_init(&a->body);
    ingest_buf_init(&a->url);
    ingest_rng_seed_random(&a->jitter);
    CURL *c = a->curl;
    C.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    C.easy_setopt(c, CURLOPT_WRITEDATA, a);
    C.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    C.easy_setopt(c, CURLOPT_XFERINFODATA, a);
    C.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    C.easy_setopt(c, CURLOPT_ERRORBUFFER, a->curl_err);
    C.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    C.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    C.easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    C.easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl can decode */
    C.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    C.easy_setopt(c, CURLOPT_USERAGENT, "rtetl/" RTETL_VERSION);
    C.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(a->o.timeout > 0 ? a->o.timeout * 1000 : 0));
    C.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                  (long)(a->o.connect_timeout > 0 ? a->o.connect_timeout * 1000 : 0));
    return a;
}

void ingest_api_free(ingest_api *a)
{
    if (!a) return;
    C.easy_cleanup(a->curl);
    ingest_buf_free(&a->body);
    ingest_buf_free(&a->url);
    free(a);
}

void ingest_api_get_stats(const ingest_api *a, ingest_api_stats *st)
{
    *st = a->st;
}

static void build_url(ingest_api *a, long n)
{
    ingest_buf *u = &a->url;
    u->len = 0;
    ingest_buf_puts(u, a->o.url);
    ingest_buf_putc(u, strchr(a->o.url, '?') ? '&' : '?');
    ingest_buf_lit(u, "results=");
    ingest_buf_putu(u, (unsigned long long)n);
    if (a->o.seed) {
        char *esc = C.easy_escape(a->curl, a->o.seed, 0);
        ingest_buf_lit(u, "&seed=");
        ingest_buf_puts(u, esc ? esc : "");
        ingest_buf_lit(u, "&page=");
        ingest_buf_putu(u, (unsigned long long)a->page);
        C.free(esc);
    }
    ingest_buf_cstr(u);
}

/* A printable excerpt of the body for the log: the first bytes, control characters as '.'. */
static const char *excerpt(const ingest_buf *b, char *out, size_t outlen)
{
    size_t n = b->len < outlen - 4 ? b->len : outlen - 4, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b->p[i];
        out[i] = c < 0x20 || c == 0x7f ? '.' : (char)c;
    }
    if (n < b->len) memcpy(out + i, "...", 3), i += 3;
    out[i] = '\0';
    return out;
}

/* One request: returns INGEST_OK with *out, or an error with err filled; *retry_after_ms gets
 * the server's Retry-After when it sent one. */
static ingest_err request(ingest_api *a, long n, ingest_api_batch **out, long *retry_after_ms,
                          char *err, size_t errlen)
{
    build_url(a, n);
    a->body.len = 0;
    a->curl_err[0] = '\0';
    C.easy_setopt(a->curl, CURLOPT_URL, a->url.p);
    a->st.requests++;
    CURLcode rc = C.easy_perform(a->curl);
    long connects = 0;
    if (C.easy_getinfo(a->curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
        a->st.connects += (unsigned long long)connects;
    if (a->o.stop && *a->o.stop) {
        snprintf(err, errlen, "stopped");
        return INGEST_ERR_STOPPED;
    }
    if (rc != CURLE_OK) {
        a->st.net_errors++;
        snprintf(err, errlen, "GET %s: %s", a->url.p,
                 a->curl_err[0] ? a->curl_err : C.easy_strerror(rc));
        return INGEST_ERR_NET;
    }
    long status = 0;
    curl_off_t ra = -1;
    C.easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    C.easy_getinfo(a->curl, CURLINFO_RETRY_AFTER, &ra);
    *retry_after_ms = ra > 0 ? (long)(ra > 3600 ? 3600 : ra) * 1000 : 0;
    char ex[160];
    if (status >= 400) {
        a->st.http_errors++;
        snprintf(err, errlen, "GET %s: HTTP %ld: %s", a->url.p, status,
                 excerpt(&a->body, ex, sizeof ex));
        return status >= 500 || status == 429 || status == 408 ? INGEST_ERR_HTTP_RETRY
                                                               : INGEST_ERR_HTTP;
    }
    char perr[200];
    if (ingest_api_batch_parse(a->body.p ? a->body.p : "", a->body.len, out, perr, sizeof perr)) {
        a->st.bad_answers++;
        snprintf(err, errlen, "GET %s: HTTP %ld but %s; body: %s", a->url.p, status, perr,
                 excerpt(&a->body, ex, sizeof ex));
        return INGEST_ERR_BAD_ANSWER;
    }
    return INGEST_OK;
}

/* The error line as a logfmt value. */
static const char *quote_detail(char *q, size_t qlen, const char *s)
{
    return log_quote(q, qlen, s);
}

static void wait_ms(ingest_api *a, long ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (a->o.stop && *a->o.stop) return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long done = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (done >= ms) return;
        long step = ms - done < 100 ? ms - done : 100;
        if (a->o.wait) {
            a->o.wait(a->o.wait_arg, (int)step);
        } else {
            struct timespec ts = {step / 1000, (step % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

ingest_err ingest_api_fetch(ingest_api *a, long n, ingest_api_batch **out, char *err, size_t errlen)
{
    if (n <= 0 || n > a->o.results) n = a->o.results;
    a->page++;
    *out = NULL;
    double delay = a->o.backoff > 0 ? a->o.backoff : 0.1;
    double cap = a->o.backoff_max > delay ? a->o.backoff_max : delay;
    for (int attempt = 0;; attempt++) {
        long retry_after = 0;
        char q[1200];
        ingest_err e = request(a, n, out, &retry_after, err, errlen);
        if (e == INGEST_OK || !ingest_err_retriable(e)) return e;
        if (attempt >= a->o.max_retries) {
            size_t k = strlen(err);
            snprintf(err + k, errlen - k, " (gave up after %d retries)", attempt);
            return e;
        }
        /* Full jitter: a random delay in [delay/2, delay], so clients do not retry in step. */
        long ms = (long)(delay * 1000 * (0.5 + 0.5 * ingest_rng_unit(&a->jitter)));
        if (retry_after > ms) ms = retry_after;
        log_warn("ingest", "API request failed, retrying",
                 "error=\"%s\" attempt=%d delay_ms=%ld detail=%s", ingest_strerror(e), attempt + 1,
                 ms, quote_detail(q, sizeof q, err));
        a->st.retries++;
        wait_ms(a, ms);
        if (a->o.stop && *a->o.stop) {
            snprintf(err, errlen, "stopped");
            return INGEST_ERR_STOPPED;
        }
        delay = delay * 2 < cap ? delay * 2 : cap;
    }
}
