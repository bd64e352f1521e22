/* libmicrohttpd, opened on first use (util/dl.h): rt_mhd.<function> is MHD_<function>. */
#ifndef RTETL_UTIL_MHD_H
#define RTETL_UTIL_MHD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    __typeof__(&MHD_start_daemon) start_daemon;
    __typeof__(&MHD_stop_daemon) stop_daemon;
    __typeof__(&MHD_get_daemon_info) get_daemon_info;
    __typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
    __typeof__(&MHD_add_response_header) add_response_header;
    __typeof__(&MHD_queue_response) queue_response;
    __typeof__(&MHD_destroy_response) destroy_response;
    __typeof__(&MHD_lookup_connection_value) lookup_connection_value;
} rt_mhd_api;

/* Valid once rt_mhd_load returned true. */
extern rt_mhd_api rt_mhd;

/* Opens libmicrohttpd (once); false with err "cannot load libmicrohttpd.so.12: ..." if not. */
bool rt_mhd_load(char *err, size_t errlen);

#endif
