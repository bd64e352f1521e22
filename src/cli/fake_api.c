/* `rtetl fake-api`: a local randomuser-compatible API fed by the builtin generator. */
#include "cli/cli.h"
#include "ingest/fakeapi.h"
#include "ingest/rng.h"
#include "util/log.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

typedef struct fake_cli {
    const char *bind, *seed;
    long long port, threads, max_results;
    double fail_rate;
} fake_cli;

#define F(x) offsetof(fake_cli, x)
static const opt_spec specs[] = {
    {"port", 'p', OPT_INT, F(port), "8000", "PORT", "TCP port (0: any free port; see the log)", 0,
     0, 65535},
    {"bind", 0, OPT_STR, F(bind), "127.0.0.1", "ADDR",
     "IPv4 address to listen on (0.0.0.0: every interface)", 0, 0, 0},
    {"fail-rate", 0, OPT_DOUBLE, F(fail_rate), "0", "P",
     "Fraction of answers (0..1) replaced by a failure: 503, 500, 429, an HTML page or JSON cut "
     "short (for testing retries)",
     0, 0, 0},
    {"seed", 0, OPT_STR, F(seed), NULL, "SEED",
     "Serve a reproducible sequence to requests without seed= (an integer or any text)", 0, 0, 0},
    {"threads", 0, OPT_INT, F(threads), "2", "N", "Worker threads", 0, 1, 64},
    {"max-results", 0, OPT_INT, F(max_results), "5000", "N", "Largest ?results= accepted", 0, 1,
     1000000},
};
#undef F
#define NSPECS (sizeof specs / sizeof specs[0])

static const char extra[] =
    "API: GET /api/ (also /api and /api/<version>/) with query parameters\n"
    "  results=N   users in the answer (default 1; 1..--max-results, else HTTP 400)\n"
    "  seed=S      reproducible users: the same S and page give the same users\n"
    "  page=P      page of a seeded sequence (default 1)\n"
    "answers like randomuser.me 1.4: {\"results\":[{gender, name{title,first,last},\n"
    "location{street{number,name},city,state,country,postcode,coordinates,timezone}, email,\n"
    "login{uuid,username,password}, dob{date,age}, registered{date,age}, phone, cell,\n"
    "picture{large,medium,thumbnail}, nat}, ...], \"info\":{seed,results,page,version}}.\n"
    "postcode is a JSON number for countries with numeric postcodes and a string otherwise.\n"
    "Other paths answer 404, other methods 405.\n"
    "\nThe listening address is logged at start (msg=listening url=...). SIGINT/SIGTERM stop\n"
    "the server; the request counts are logged.\n"
    "\nExit codes: 0 stopped by a signal; 1 cannot listen; 2 usage error.\n"
    "\nExample:\n"
    "  rtetl fake-api --port 8000 --fail-rate 0.2 &\n"
    "  curl 'http://127.0.0.1:8000/api/?results=2&seed=demo'\n";

int cmd_fake_api(int argc, char **argv)
{
    /* A network client/server must not die of a write to a closed socket or pipe (libcurl,
     * libmicrohttpd, or stdout closed by `| head`); the write fails with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    fake_cli c;
    opt_result res;
    int code;
    if (cli_parse("fake-api", "rtetl fake-api [options]",
                  "Serve randomuser-compatible JSON from the builtin generator over HTTP.", extra,
                  specs, NSPECS, argc, argv, &c, &res, &code))
        return code;
    if (res.npos > 0) {
        code = cli_usage_error("fake-api", "unexpected argument '%s'", res.pos[0]);
        goto out;
    }
    if (!(c.fail_rate >= 0 && c.fail_rate <= 1)) {
        code = cli_usage_error("fake-api", "option --fail-rate: expected a number from 0 to 1");
        goto out;
    }
    ingest_fakeapi_opts o = {
        .bind = c.bind,
        .port = (int)c.port,
        .fail_rate = c.fail_rate,
        .threads = (unsigned)c.threads,
        .max_results = (long)c.max_results,
        .has_seed = c.seed != NULL,
    };
    long long v;
    if (c.seed)
        o.seed = opt_parse_int(c.seed, &v) == 0 ? (uint64_t)v : ingest_seed_from_string(c.seed);
    /* Block the signals before the server threads start, so only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    char err[512];
    ingest_fakeapi *f = ingest_fakeapi_start(&o, err, sizeof err);
    if (!f) {
        code = cli_fail("fake-api", "%s", err);
        goto out;
    }
    log_info("fake-api", "listening", "url=http://%s:%d/api/ fail_rate=%g", c.bind,
             ingest_fakeapi_port(f), c.fail_rate);
    int sig;
    sigwait(&set, &sig);
    ingest_fakeapi_stats st;
    ingest_fakeapi_get_stats(f, &st);
    ingest_fakeapi_stop(f);
    log_info("fake-api", "stopped", "signal=%d requests=%llu users=%llu injected_failures=%llu",
             sig, st.requests, st.users, st.failures);
    code = RT_EXIT_OK;
out:
    opt_result_free(&res);
    opt_free(specs, NSPECS, &c);
    return code;
}
