/* Unit-test helpers for files of the source tree (test data, embedded assets): the tree is
 * RTETL_SRC (set by ctest), else found from this header's own path. Include after cmocka.h. */
#ifndef RTETL_TEST_FILES_H
#define RTETL_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the path of `rel` (relative to the source tree's root) into out. */
static inline void test_source_path(const char *rel, char *out, size_t outlen)
{
    const char *src = getenv("RTETL_SRC");
    char root[1024];
    snprintf(root, sizeof root, "%s", src ? src : __FILE__);
    char *t = src ? NULL : strstr(root, "/tests/unit/");
    if (t) *t = '\0';
    snprintf(out, outlen, "%s/%s", root, rel);
}

/* The whole of source file `rel`, NUL-terminated, its size in *len; the caller frees it. Fails
 * the test when it cannot be read. */
static inline char *test_read_source(const char *rel, size_t *len)
{
    char path[1400];
    test_source_path(rel, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

#endif
