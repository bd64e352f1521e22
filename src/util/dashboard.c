/* Looks up the dashboard's embedded files by URL (see dashboard.h). */
#include "util/dashboard.h"

#include <string.h>

static const struct {
    const char *ext, *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
};

static const char *content_type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof content_types / sizeof content_types[0]; i++)
        if (strcmp(dot, content_types[i].ext) == 0) return content_types[i].type;
    return "application/octet-stream";
}

const dashboard_asset *dashboard_find(const char *url, const char **content_type)
{
    if (strcmp(url, "/") == 0) url = "/index.html";
    for (size_t i = 0; i < dashboard_nassets; i++) {
        if (strcmp(dashboard_assets[i].path, url) != 0) continue;
        *content_type = content_type_of(url);
        return &dashboard_assets[i];
    }
    return NULL;
}
