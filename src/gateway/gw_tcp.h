/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP / TLS proxy APIs (protocol "tcp" | "tls", listen_port, target tcp:// or tls://), as
 * Tyk's proxy_muxer and tcp package serve them: every worker opens its own SO_REUSEPORT
 * listener on each such port (after Tyk's ports_whitelist check unless
 * disable_ports_whitelist), a "tls" API terminates TLS with the gateway's certificates, and
 * each connection is spliced to a new upstream connection (gw_tunnel.h). Listeners follow the
 * generations: a reload that adds, drops or moves such an API opens or closes its port.
 * The API's allowed_ips / blacklisted_ips (gw_iplist.h) are applied at accept.
 */
#ifndef GW_TCP_H
#define GW_TCP_H

#include "gw_server.h"

/** Makes @w's listeners match its current generation's tcp/tls APIs. */
void gw_tcp_sync(gw_worker_t *w);
/** Closes @w's listeners and proxied connections and frees its state (drain, shutdown). */
void gw_tcp_close(gw_worker_t *w);

#endif
