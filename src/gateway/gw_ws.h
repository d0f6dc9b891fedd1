/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protocol upgrades (WebSockets) through the proxy, as Tyk does them with
 * http_server_options.enable_websockets: an upgrade request goes through the whole pipeline,
 * is sent upstream with "Connection: Upgrade" and its Upgrade type, and a 101 answer is passed
 * to the client as the upstream wrote it (plus the headers the gateway added, e.g.
 * X-RateLimit-*); then both connections become a byte tunnel (gw_tunnel.h). With the option
 * off, the upgrade headers are hop-by-hop and dropped, so the upstream sees a plain request.
 */
#ifndef GW_WS_H
#define GW_WS_H

#include "gw_http.h"

/** True when @head asks for an upgrade the gateway proxies: enable_websockets is on, a
 *  Connection header carries the "upgrade" token and Upgrade is not empty. @type/@len get the
 *  Upgrade value. */
bool gw_ws_upgrade_type(const gw_conf_t *conf, const tk_http_head_t *head, const char **type,
                        size_t *len);
/** Appends the upgrade request headers for the upstream. */
void gw_ws_add_upgrade_headers(struct evbuffer *out, const char *type, size_t len);
/** Writes the upstream's 101 head @resp to the client of @req. */
void gw_ws_write_switch(gw_req_t *req, const tk_http_head_t *resp);

#endif
