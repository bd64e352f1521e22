/* Unit tests for the CQL statement splitter: literals, comments, partial input, blanks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cql/split.h"

static void expect_next(cql_splitter *sp, const char *want)
{
    char *got = cql_splitter_next(sp);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_literals_and_comments(void **state)
{
    (void)state;
    cql_splitter sp = {0};
    const char *text = "SELECT 'a;b' FROM t; -- c;d\nINSERT INTO \"we;ird\" (k) VALUES ($$x;y$$);"
                       "/* x; */ SELECT 'it''s;';  ;  // only; comment\n";
    assert_true(cql_splitter_feed(&sp, text, strlen(text)));
    expect_next(&sp, "SELECT 'a;b' FROM t");
    expect_next(&sp, "-- c;d\nINSERT INTO \"we;ird\" (k) VALUES ($$x;y$$)");
    expect_next(&sp, "/* x; */ SELECT 'it''s;'");
    expect_next(&sp, NULL);
    assert_false(cql_splitter_pending(&sp));
    assert_null(cql_splitter_rest(&sp));
    cql_splitter_free(&sp);
}

static void test_partial_input(void **state)
{
    (void)state;
    cql_splitter sp = {0};
    cql_splitter_feed(&sp, "SELECT 'multi\n", 14);
    expect_next(&sp, NULL);
    assert_true(cql_splitter_pending(&sp));
    cql_splitter_feed(&sp, "line;' FROM t;\nSELECT 2", 23);
    expect_next(&sp, "SELECT 'multi\nline;' FROM t");
    expect_next(&sp, NULL);
    char *rest = cql_splitter_rest(&sp);
    assert_string_equal(rest, "SELECT 2");
    free(rest);
    assert_false(cql_splitter_pending(&sp));
    cql_splitter_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_and_comments),
        cmocka_unit_test(test_partial_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
