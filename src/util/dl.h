/* Shared libraries loaded on first use, with dlopen (see dl.c). */
#ifndef RTETL_UTIL_DL_H
#define RTETL_UTIL_DL_H

#include <stdbool.h>
#include <stddef.h>

/* One function to resolve: its symbol name and where its address goes. */
typedef struct {
    const char *name;
    void **fn;
} dl_fn;

/* A library: its soname and the functions rtetl calls in it. */
typedef struct {
    const char *soname;
    const dl_fn *fns;
    size_t nfns;
    /* Filled by dl_load: */
    int state; /* 0 not tried, 1 loaded, -1 failed */
    char err[256];
} dl_lib;

/* Loads lib once per process (thread-safe) and resolves every function of it. Returns true
 * when all are there; else false with err "cannot load <soname>: <why>". Later calls return the
 * first call's outcome. */
bool dl_load(dl_lib *lib, char *err, size_t errlen);

#endif
