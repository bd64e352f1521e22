/* Shared libraries loaded on first use (see dl.h).
 *
 * DESIGN. libcurl (rtetl ingest --api) and libmicrohttpd (the /metrics server, rtetl fake-api)
 * bring a long chain of libraries with them: gnutls, p11-kit, nettle, Kerberos, LDAP, SSH,
 * HTTP/2. Linked at build time, every rtetl process maps and initializes all of them at start
 * (gnutls and p11-kit run constructors), 4.5 MB of resident memory measured for `rtetl stream
 * --help`, though a stream without --metrics-port calls none of them. So they are opened by
 * soname the first time a command needs them; the headers still type every function pointer
 * (util/mhd.h, ingest/http.c), so a call through the table is checked like a direct one. The
 * packages keep depending on both libraries (packaging/build-deb, deploy/Dockerfile). */
#include "util/dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;

static void load(dl_lib *lib)
{
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(lib->err, sizeof lib->err, "cannot load %s: %s", lib->soname,
                 why ? why : "unknown error");
        lib->state = -1;
        return;
    }
    for (size_t i = 0; i < lib->nfns; i++) {
        void *f = dlsym(h, lib->fns[i].name);
        if (!f) {
            snprintf(lib->err, sizeof lib->err, "cannot load %s: it has no %s", lib->soname,
                     lib->fns[i].name);
            lib->state = -1;
            dlclose(h);
            return;
        }
        *lib->fns[i].fn = f;
    }
    lib->state = 1; /* kept open for the process's life */
}

bool dl_load(dl_lib *lib, char *err, size_t errlen)
{
    pthread_mutex_lock(&dl_mu);
    if (lib->state == 0) load(lib);
    bool ok = lib->state == 1;
    if (!ok && err && errlen) snprintf(err, errlen, "%s", lib->err);
    pthread_mutex_unlock(&dl_mu);
    return ok;
}
