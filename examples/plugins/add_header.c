/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An example Turnpike native plugin (include/turnpike/plugin.h). Build it with
 *   cc -shared -fPIC -I<turnpike>/include -o add_header.so add_header.c
 * and name its hooks in an API definition:
 *   "custom_plugin_auth_enabled": true,
 *   "custom_middleware": {"driver": "native",
 *     "pre": [{"name": "add_header_pre", "path": "/path/add_header.so"}],
 *     "auth_check": {"name": "add_header_auth", "path": "/path/add_header.so"},
 *     "post_key_auth": [{"name": "add_header_post_key_auth", "path": "/path/add_header.so"}],
 *     "post": [{"name": "add_header_post", "path": "/path/add_header.so"}],
 *     "response": [{"name": "add_header_response", "path": "/path/add_header.so"}]}
 * The hooks keep no global state, so they are safe on every worker thread at once.
 */
#include <turnpike/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TURNPIKE_PLUGIN_DECLARE()

#define EXPORT __attribute__((visibility("default")))

/* pre: tags the request for the upstream; ?reject=... is refused, ?hello=... answered here. */
EXPORT tp_result add_header_pre(tp_req *r)
{
    if (tp_query_get(r, "reject")) {
        tp_error(r, 403, "Rejected by the add_header plugin");
        return TP_ERROR;
    }
    if (tp_query_get(r, "hello")) {
        static const char body[] = "{\"hello\":\"from a native plugin\"}";
        tp_respond(r, 200, "Content-Type: application/json\r\nX-Answered-By: add_header\r\n", body,
                   sizeof(body) - 1);
        return TP_RESPOND;
    }
    tp_header_set(r, "X-Plugin-Pre", "add_header");
    return TP_CONTINUE;
}

/* Letters, digits, '-' and '_' only, and short: safe to put in JSON text as it is. */
static int plain(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
    return n > 0 && n < 100 && s[n] == 0;
}

/* auth: a token in X-Plugin-Token starting with "good-" is a key for this API with
 * meta_data.user. A token "gold-..." gets the rights
 * and limits of policy "gold" instead. */
EXPORT tp_result add_header_auth(tp_req *r)
{
    const char *tok = tp_header_get(r, "X-Plugin-Token");
    if (!tok) {
        tp_error(r, 401, "Authorization field missing");
        return TP_ERROR;
    }
    char session[512];
    if (strncmp(tok, "good-", 5) == 0 && plain(tok + 5)) {
        /* access to this API only (a session without access_rights is a master key) */
        const char *api = tp_api_id(r);
        snprintf(session, sizeof(session),
                 "{\"rate\":1000,\"per\":1,\"quota_max\":-1,\"access_rights\":{\"%s\":"
                 "{\"api_id\":\"%s\"}},\"meta_data\":{\"user\":\"%s\"}}",
                 api, api, tok + 5);
    } else if (strncmp(tok, "gold-", 5) == 0) {
        snprintf(session, sizeof(session), "{\"apply_policies\":[\"gold\"]}");
    } else {
        tp_error(r, 403, "Access to this API has been disallowed");
        return TP_ERROR;
    }
    if (tp_auth_set_session(r, tok, session) != 0) {
        tp_error(r, 403, "Access to this API has been disallowed");
        return TP_ERROR;
    }
    return TP_CONTINUE;
}

/* post_key_auth: passes the key's user on to the upstream and marks the session. */
EXPORT tp_result add_header_post_key_auth(tp_req *r)
{
    const char *user = tp_meta_get(r, "user");
    if (user)
        tp_header_set(r, "X-Plugin-User", user);
    tp_meta_set(r, "seen_by", "add_header");
    return TP_CONTINUE;
}

/* post: shows the meta data set earlier and appends to a request body. */
EXPORT tp_result add_header_post(tp_req *r)
{
    const char *seen = tp_meta_get(r, "seen_by");
    tp_header_set(r, "X-Plugin-Post", seen ? seen : "no-session");
    tp_header_del(r, "X-Remove-Me");
    const char *body;
    size_t len;
    if (tp_body(r, &body, &len) == 0 && len > 0) {
        char *nb = malloc(len + 8);
        if (!nb)
            return TP_CONTINUE;
        memcpy(nb, body, len);
        memcpy(nb + len, "+plugin", 7);
        tp_body_set(r, nb, len + 7); /* copied by the gateway */
        free(nb);
    }
    return TP_CONTINUE;
}

/* response: tags the answer and hides an upstream header; a 418 becomes a 200. */
EXPORT tp_result add_header_response(tp_req *r)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", tp_resp_status(r));
    tp_resp_header_set(r, "X-Upstream-Status", buf);
    tp_resp_header_del(r, "X-Secret");
    if (tp_resp_status(r) == 418)
        tp_resp_set_status(r, 200);
    return TP_CONTINUE;
}
