/* Unit tests for util/opt: parsing forms, env fallback, precedence, errors, value parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/opt.h"

typedef struct cfg {
    const char *brokers;
    long long count;
    bool quiet;
    double duration;
    double rate;
    long long size;
    opt_list props;
    const char *name;
} cfg;

static const opt_spec specs[] = {
    {"brokers", 'b', OPT_STR, offsetof(cfg, brokers), "127.0.0.1:9092", "HOSTS", "Brokers", 0, 0,
     0},
    {"count", 'n', OPT_INT, offsetof(cfg, count), "0", "N", "Records", 0, 0, 1000},
    {"quiet", 'q', OPT_BOOL, offsetof(cfg, quiet), "false", NULL, "Quiet", 0, 0, 0},
    {"duration", 0, OPT_DURATION, offsetof(cfg, duration), "60s", "D", "Duration", 0, 0, 0},
    {"rate", 0, OPT_RATE, offsetof(cfg, rate), "0", "R", "Rate", 0, 0, 0},
    {"max-size", 0, OPT_SIZE, offsetof(cfg, size), "1MiB", "S", "Size", 0, 0, 0},
    {"property", 'X', OPT_LIST, offsetof(cfg, props), NULL, "K=V", "Pass-through", 0, 0, 0},
    {"name", 0, OPT_STR, offsetof(cfg, name), NULL, "NAME", "No default", 0, 0, 0},
};
#define NSPECS (sizeof specs / sizeof specs[0])

static int parse(cfg *c, opt_result *r, char *err, int argc, char **argv)
{
    return opt_parse(specs, NSPECS, argc, argv, c, r, err, 256);
}

static void test_defaults(void **state)
{
    (void)state;
    unsetenv("RTETL_BROKERS");
    cfg c;
    memset(&c, 0xAB, sizeof c); /* fields without a default must come out zeroed */
    opt_result r;
    char err[256];
    char *argv[] = {"cmd"};
    assert_int_equal(parse(&c, &r, err, 1, argv), OPT_OK);
    assert_string_equal(c.brokers, "127.0.0.1:9092");
    assert_int_equal(c.count, 0);
    assert_false(c.quiet);
    assert_true(c.duration == 60.0);
    assert_int_equal(c.size, 1048576);
    assert_int_equal(c.props.n, 0);
    assert_null(c.props.items);
    assert_null(c.name);
    assert_false(opt_is_set(specs, NSPECS, &r, "brokers"));
    opt_result_free(&r);
    opt_free(specs, NSPECS, &c);
}

static void test_forms(void **state)
{
    (void)state;
    cfg c;
    opt_result r;
    char err[256];
    char *argv[] = {"cmd",         "--brokers=h1:1", "-n",         "42",          "--quiet",
                    "--duration",  "500ms",          "--rate=2/m", "-Xacks=all",  "-X",
                    "linger.ms=5", "pos1",           "--",         "--not-an-opt"};
    assert_int_equal(parse(&c, &r, err, 14, argv), OPT_OK);
    assert_string_equal(c.brokers, "h1:1");
    assert_int_equal(c.count, 42);
    assert_true(c.quiet);
    assert_true(c.duration > 0.4999 && c.duration < 0.5001);
    assert_true(c.rate > 0.0333 && c.rate < 0.0334);
    assert_int_equal(c.props.n, 2);
    assert_string_equal(c.props.items[0], "acks=all");
    assert_string_equal(c.props.items[1], "linger.ms=5");
    assert_int_equal(r.npos, 2);
    assert_string_equal(r.pos[0], "pos1");
    assert_string_equal(r.pos[1], "--not-an-opt");
    assert_true(opt_is_set(specs, NSPECS, &r, "brokers"));
    opt_result_free(&r);
    opt_free(specs, NSPECS, &c);
}

static void test_env_fallback_and_precedence(void **state)
{
    (void)state;
    cfg c;
    opt_result r;
    char err[256];
    setenv("RTETL_BROKERS", "envhost:9", 1);
    setenv("RTETL_QUIET", "yes", 1);
    char *argv1[] = {"cmd"};
    assert_int_equal(parse(&c, &r, err, 1, argv1), OPT_OK);
    assert_string_equal(c.brokers, "envhost:9");
    assert_true(c.quiet);
    assert_true(opt_is_set(specs, NSPECS, &r, "brokers"));
    opt_result_free(&r);
    char *argv2[] = {"cmd", "--brokers", "cli:1", "--no-quiet"};
    assert_int_equal(parse(&c, &r, err, 4, argv2), OPT_OK);
    assert_string_equal(c.brokers, "cli:1");
    assert_false(c.quiet);
    opt_result_free(&r);
    setenv("RTETL_COUNT", "abc", 1);
    assert_int_equal(parse(&c, &r, err, 1, argv1), OPT_ERR);
    assert_string_equal(err, "environment variable RTETL_COUNT: invalid value 'abc' (expected an "
                             "integer)");
    opt_result_free(&r);
    unsetenv("RTETL_BROKERS");
    unsetenv("RTETL_QUIET");
    unsetenv("RTETL_COUNT");
}

static void test_errors(void **state)
{
    (void)state;
    cfg c;
    opt_result r;
    char err[256];
    char *a1[] = {"cmd", "--bogus"};
    assert_int_equal(parse(&c, &r, err, 2, a1), OPT_ERR);
    assert_string_equal(err, "unknown option '--bogus'");
    opt_result_free(&r);
    char *a2[] = {"cmd", "--count"};
    assert_int_equal(parse(&c, &r, err, 2, a2), OPT_ERR);
    assert_string_equal(err, "option --count needs a value");
    opt_result_free(&r);
    char *a3[] = {"cmd", "--count=5000"};
    assert_int_equal(parse(&c, &r, err, 2, a3), OPT_ERR);
    assert_string_equal(err, "option --count: value '5000' out of range [0, 1000]");
    opt_result_free(&r);
    char *a4[] = {"cmd", "--duration=soon"};
    assert_int_equal(parse(&c, &r, err, 2, a4), OPT_ERR);
    opt_result_free(&r);
    char *a5[] = {"cmd", "-h"};
    assert_int_equal(parse(&c, &r, err, 2, a5), OPT_HELP);
    opt_result_free(&r);
    opt_free(specs, NSPECS, &c);
}

static void test_value_parsers(void **state)
{
    (void)state;
    double d;
    long long ll;
    bool b;
    assert_int_equal(opt_parse_duration("2m", &d), 0);
    assert_true(d == 120.0);
    assert_int_equal(opt_parse_duration("1h", &d), 0);
    assert_true(d == 3600.0);
    assert_int_equal(opt_parse_duration("-1s", &d), -1);
    assert_int_equal(opt_parse_duration("5 parsecs", &d), -1);
    assert_int_equal(opt_parse_size("64k", &ll), 0);
    assert_int_equal(ll, 65536);
    assert_int_equal(opt_parse_size("2MiB", &ll), 0);
    assert_int_equal(ll, 2097152);
    assert_int_equal(opt_parse_size("1X", &ll), -1);
    assert_int_equal(opt_parse_rate("1000/s", &d), 0);
    assert_true(d == 1000.0);
    assert_int_equal(opt_parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(opt_parse_bool("maybe", &b), -1);
    char env[64];
    opt_env_name("dlq-topic", env, sizeof env);
    assert_string_equal(env, "RTETL_DLQ_TOPIC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_env_fallback_and_precedence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_value_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
