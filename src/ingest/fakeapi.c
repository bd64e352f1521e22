/* The fake randomuser API (see fakeapi.h), on libmicrohttpd's internal thread pool.
 *
 * DESIGN: answers are reproducible when asked with seed=S: users come from a generator seeded
 * with hash(S) and the page number, as randomuser.me does, so a retried request gets the same
 * users. Without a seed each request draws a fresh seed. Failure injection draws from a
 * counter-based hash (an atomic counter through splitmix64), which needs no lock across the
 * worker threads. */
#include "ingest/fakeapi.h"

#include "ingest/gen.h"
#include "ingest/json.h"
#include "util/log.h"
#include "util/mhd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ingest_fakeapi {
    ingest_fakeapi_opts o;
    struct MHD_Daemon *d;
    int port;
    atomic_ullong counter, requests, users, failures;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, bool owned)
{
    struct MHD_Response *r = rt_mhd.create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned) free(body);
        return MHD_NO;
    }
    rt_mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ok = rt_mhd.queue_response(c, status, r);
    rt_mhd.destroy_response(r);
    return ok;
}

static enum MHD_Result reply_static(struct MHD_Connection *c, unsigned status, const char *json)
{
    return reply(c, status, "application/json; charset=utf-8", (char *)json, strlen(json), false);
}

static bool is_api_path(const char *url)
{
    if (strncmp(url, "/api", 4) != 0) return false;
    url += 4;
    if (*url == '\0' || strcmp(url, "/") == 0) return true;
    /* Versioned paths like /api/1.4/ are accepted as randomuser.me does. */
    if (*url++ != '/') return false;
    while ((*url >= '0' && *url <= '9') || *url == '.') url++;
    return *url == '\0' || strcmp(url, "/") == 0;
}

/* Parses a positive integer query value; returns -1 when absent, -2 when malformed. */
static long query_long(struct MHD_Connection *c, const char *key)
{
    const char *v = rt_mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    if (!v) return -1;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    return errno || end == v || *end || n < 0 ? -2 : n;
}

/* Returns a failure kind 1..5 for this request, or 0 for a normal answer. */
static int draw_failure(ingest_fakeapi *f)
{
    if (f->o.fail_rate <= 0) return 0;
    uint64_t st = atomic_fetch_add(&f->counter, 1) ^ 0x5eedfa11ULL;
    uint64_t x = ingest_splitmix64(&st);
    if ((double)(x >> 11) * 0x1.0p-53 >= f->o.fail_rate) return 0;
    return 1 + (int)((x & 0xffff) % 5);
}

static enum MHD_Result inject(ingest_fakeapi *f, struct MHD_Connection *c, int kind)
{
    atomic_fetch_add(&f->failures, 1);
    switch (kind) {
    case 1:
        return reply_static(c, 503,
                            "{\"error\":\"Uh oh, something has gone wrong. Please tweet "
                            "us @randomapi about the issue. Thank you.\"}");
    case 2: {
        static const char text[] = "Internal Server Error\n";
        return reply(c, 500, "text/plain", (char *)text, sizeof text - 1, false);
    }
    case 3: return reply_static(c, 429, "{\"error\":\"rate limited\"}");
    case 4: {
        static const char html[] = "<html><body><h1>Service maintenance</h1></body></html>\n";
        return reply(c, 200, "text/html", (char *)html, sizeof html - 1, false);
    }
    default:
        /* A 200 whose JSON stops half-way, as when a proxy cuts a response short. */
        return reply_static(c, 200,
                            "{\"results\":[{\"gender\":\"female\",\"name\":{\"title\":\"Ms\","
                            "\"first\":\"Tru");
    }
}

static void write_info(ingest_buf *b, const char *seed, long results, long page)
{
    ingest_buf_lit(b, "],\"info\":{\"seed\":");
    ingest_json_str_cstr(b, seed);
    ingest_buf_lit(b, ",\"results\":");
    ingest_buf_putu(b, (unsigned long long)results);
    ingest_buf_lit(b, ",\"page\":");
    ingest_buf_putu(b, (unsigned long long)page);
    ingest_buf_lit(b, ",\"version\":\"1.4\"}}");
}

static enum MHD_Result serve_users(ingest_fakeapi *f, struct MHD_Connection *c, long n, long page)
{
    const char *seed = rt_mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "seed");
    char seed_buf[24];
    uint64_t s;
    if (seed && *seed) {
        s = ingest_seed_from_string(seed) ^ ((uint64_t)page * 0x9e3779b97f4a7c15ULL);
    } else {
        if (f->o.has_seed) {
            uint64_t st = f->o.seed + atomic_fetch_add(&f->counter, 1);
            s = ingest_splitmix64(&st);
        } else {
            ingest_rng r;
            ingest_rng_seed_random(&r);
            s = ingest_rng_next(&r);
        }
        snprintf(seed_buf, sizeof seed_buf, "%016llx", (unsigned long long)s);
        seed = seed_buf;
    }
    ingest_gen g;
    ingest_gen_init(&g, &s);
    ingest_person p;
    ingest_buf b;
    ingest_buf_init(&b);
    ingest_buf_reserve(&b, (size_t)n * 1200 + 256);
    ingest_buf_lit(&b, "{\"results\":[");
    for (long i = 0; i < n; i++) {
        if (i) ingest_buf_putc(&b, ',');
        ingest_gen_next(&g, &p);
        ingest_gen_write_api_user(&g, &b, &p);
    }
    write_info(&b, seed, n, page);
    atomic_fetch_add(&f->users, (unsigned long long)n);
    return reply(c, 200, "application/json; charset=utf-8", b.p, b.len, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    ingest_fakeapi *f = cls;
    /* libmicrohttpd calls this first when the headers are in and again when the request is
     * complete; answering on the first call makes it close the connection after the answer,
     * which would defeat the client's keep-alive. */
    static int first_call_marker;
    if (*con_cls == NULL) {
        *con_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0; /* a body is not expected; it is read and ignored */
        return MHD_YES;
    }
    atomic_fetch_add(&f->requests, 1);
    log_debug("fake-api", "request", "method=%s url=%s", method, url);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_static(c, 405, "{\"error\":\"only GET is supported\"}");
    if (!is_api_path(url)) return reply_static(c, 404, "{\"error\":\"not found; try /api/\"}");
    long n = query_long(c, "results"), page = query_long(c, "page");
    if (n == -1) n = 1;
    if (page == -1) page = 1;
    if (n < 1 || n > f->o.max_results || page < 1)
        return reply_static(c, 400,
                            "{\"error\":\"results must be an integer from 1 to the "
                            "server's maximum, page a positive integer\"}");
    int kind = draw_failure(f);
    if (kind) return inject(f, c, kind);
    return serve_users(f, c, n, page);
}

ingest_fakeapi *ingest_fakeapi_start(const ingest_fakeapi_opts *opts, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts->port)};
    if (inet_pton(AF_INET, opts->bind ? opts->bind : "127.0.0.1", &sa.sin_addr) != 1) {
        snprintf(err, errlen, "invalid bind address '%s' (an IPv4 address is expected)",
                 opts->bind);
        return NULL;
    }
    if (!rt_mhd_load(err, errlen)) return NULL;
    ingest_fakeapi *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->o = *opts;
    if (f->o.max_results <= 0) f->o.max_results = 5000;
    unsigned threads = f->o.threads ? f->o.threads : 2;
    /* A pool of one is refused with a warning by libmicrohttpd: one thread is no pool. */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    f->d = rt_mhd.start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_ERROR_LOG,
        (uint16_t)opts->port, NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_ARRAY, pool, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!f->d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not permitted?)",
                 opts->bind ? opts->bind : "127.0.0.1", opts->port);
        free(f);
        return NULL;
    }
    const union MHD_DaemonInfo *info = rt_mhd.get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    f->port = info ? info->port : opts->port;
    return f;
}

int ingest_fakeapi_port(const ingest_fakeapi *f)
{
    return f->port;
}

void ingest_fakeapi_get_stats(const ingest_fakeapi *f, ingest_fakeapi_stats *st)
{
    st->requests = atomic_load(&f->requests);
    st->users = atomic_load(&f->users);
    st->failures = atomic_load(&f->failures);
}

void ingest_fakeapi_stop(ingest_fakeapi *f)
{
    if (!f) return;
    rt_mhd.stop_daemon(f->d);
    free(f);
}
