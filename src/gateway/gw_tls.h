/* SPDX-License-Identifier: Apache-2.0 */
/* TLS contexts: the listener (certificates per domain via SNI) and upstream clients. */
#ifndef GW_TLS_H
#define GW_TLS_H

#include "gw_server.h"

/** Creates srv->listen_ssl (when http_server_options.use_ssl) and the upstream contexts. */
int gw_tls_setup(gw_server_t *srv, tk_conf_errors_t *errs);
void gw_tls_free(gw_server_t *srv);

#endif
