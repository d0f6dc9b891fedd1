/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A blocking client for the control API of the gateway named by tyk_api_config (Host, Port,
 * Secret). The dashboard does not own the key, OAuth client or certificate stores: it asks that
 * gateway, which writes Redis and tells the other gateways (platform.md A.4 "Key writes").
 *
 * Handlers may block, so a call is a plain request with a timeout. A gateway that is not
 * configured, down or answering garbage is the dashboard's upstream failing: the call stages
 * 502/503 with a message naming the gateway and returns false, and the handler just returns.
 */
#ifndef DASH_GATEWAY_H
#define DASH_GATEWAY_H

#include "dash_server.h"

typedef struct dash_gw_reply {
    long status;  /* the gateway's HTTP status */
    json_t *json; /* the body parsed as JSON (any type), or NULL when it is not JSON */
} dash_gw_reply_t;

/**
 * Sends @method @path_query (which starts with "/tyk/") with @body (may be NULL) to the
 * gateway, with the x-tyk-authorization secret, within turnpike_gateway_timeout seconds. True when
 * the gateway answered, whatever the status (the caller judges it; free @out with
 * dash_gw_reply_free). False when it did not: 503 (not configured) or 502 (unreachable, timed out,
 * or a reply that is not JSON) is staged.
 */
bool dash_gateway_call(dash_req_t *req, const char *method, const char *path_query,
                       const char *body, size_t body_len, dash_gw_reply_t *out);
void dash_gw_reply_free(dash_gw_reply_t *r);

/** @s percent-encoded for a query value (malloc'd). */
char *dash_gateway_escape(const char *s);
/**
 * @s percent-encoded for one path segment (malloc'd): only what a segment cannot hold is
 * encoded, so base64 key ids ("...=") reach the gateway as they are (its control API matches
 * the raw path, without percent-decoding).
 */
char *dash_gateway_escape_segment(const char *s);

/** The "message" of a gateway error body ({"status":"error","message":...}), or @fallback. */
const char *dash_gateway_message(const dash_gw_reply_t *r, const char *fallback);

/**
 * Stages a gateway error reply as the dashboard's: the gateway's 4xx keep their status and
 * message; its "Unmarshalling failed" / "Request malformed" become 400 (the body's fault); any
 * other 5xx becomes 502 naming @what.
 */
void dash_gateway_relay_error(dash_req_t *req, const dash_gw_reply_t *r, const char *what);

#endif
