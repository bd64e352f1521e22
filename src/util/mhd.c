/* libmicrohttpd, opened on first use (see mhd.h and dl.c). */
#include "util/mhd.h"

#include "util/dl.h"

rt_mhd_api rt_mhd;

#define FN(f)                         \
    {                                 \
        "MHD_" #f, (void **)&rt_mhd.f \
    }
static const dl_fn mhd_fns[] = {
    FN(start_daemon),        FN(stop_daemon),
    FN(get_daemon_info),     FN(create_response_from_buffer),
    FN(add_response_header), FN(queue_response),
    FN(destroy_response),    FN(lookup_connection_value),
};
#undef FN

static dl_lib mhd_lib = {"libmicrohttpd.so.12", mhd_fns, sizeof mhd_fns / sizeof mhd_fns[0], 0, ""};

bool rt_mhd_load(char *err, size_t errlen)
{
    return dl_load(&mhd_lib, err, errlen);
}
