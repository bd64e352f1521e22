/* The live dashboard's static files (src/util/dashboard/: HTML, JS, CSS), embedded into the
 * binary at build time (src/util/embed_dashboard.cmake) and served by the metrics server at
 * "/".
 *
 * The page polls /metrics every second and does all the work in the browser (parsing the
 * Prometheus text, rates from counter deltas), so the server side is only this lookup: no
 * template, no JSON endpoint, nothing added to the engine's publishing. */
#ifndef RTETL_UTIL_DASHBOARD_H
#define RTETL_UTIL_DASHBOARD_H

#include <stddef.h>

typedef struct dashboard_asset {
    const char *path; /* "/index.html" */
    const unsigned char *data;
    size_t len;
} dashboard_asset;

/* The generated table (build/generated/dashboard_assets.c). */
extern const dashboard_asset dashboard_assets[];
extern const size_t dashboard_nassets;

/* The file served at url ("/" is "/index.html"), or NULL; its Content-Type (with charset for
 * text) in *content_type. Both point to static storage. */
const dashboard_asset *dashboard_find(const char *url, const char **content_type);

#endif
