/* Unit tests for util/log: logfmt line shape, levels, quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/log.h"

/* Runs fn with stderr redirected to a temporary file and returns what it wrote. */
static char *capture(void (*fn)(void))
{
    static char buf[8192];
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof buf - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return buf;
}

static void emit_info(void)
{
    log_info("stream", "partition assigned", "partition=%d topic=%s", 2, "t1");
}

static void emit_debug(void)
{
    log_debug("stream", "hidden");
}

static void test_line_shape(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    const char *out = capture(emit_info);
    assert_non_null(strstr(out, "ts="));
    assert_non_null(
        strstr(out, " level=info comp=stream msg=\"partition assigned\" partition=2 topic=t1\n"));
    assert_int_equal(out[strlen(out) - 1], '\n');
}

static void test_levels(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    assert_string_equal(capture(emit_debug), "");
    log_set_level(LOG_DEBUG);
    assert_non_null(strstr(capture(emit_debug), "level=debug"));
    log_set_level(LOG_INFO);
    assert_int_equal(log_level_parse("WARN"), LOG_WARN);
    assert_int_equal(log_level_parse("verbose"), -1);
}

static void test_quote(void **state)
{
    (void)state;
    char q[64];
    assert_string_equal(log_quote(q, sizeof q, "plain"), "plain");
    assert_string_equal(log_quote(q, sizeof q, "a b"), "\"a b\"");
    assert_string_equal(log_quote(q, sizeof q, "say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
    assert_string_equal(log_quote(q, sizeof q, ""), "\"\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_shape),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
