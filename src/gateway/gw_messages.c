/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's overridable authentication errors and the override_messages lookup (gw_messages.h). */
#include "gw_messages.h"

#include "gw_mw_common.h"

#define DISALLOWED "Access to this API has been disallowed"

static const struct {
    const char *id;
    int status;
    const char *msg;
} defaults[GW_MSG__COUNT] = {
    [GW_MSG_AUTH_FIELD_MISSING] = {"auth.auth_field_missing", 401, "Authorization field missing"},
    [GW_MSG_AUTH_KEY_NOT_FOUND] = {"auth.key_not_found", 403, DISALLOWED},
    [GW_MSG_AUTH_CERT_NOT_FOUND] = {"auth.cert_not_found", 403, DISALLOWED},
    [GW_MSG_AUTH_KEY_IS_INVALID] = {"auth.key_is_invalid", 403, DISALLOWED},
    [GW_MSG_AUTH_CERT_EXPIRED] = {"auth.cert_expired", 403, "Certificate has expired"},
    [GW_MSG_AUTH_CERT_REQUIRED] = {"auth.cert_required", 401, "Client certificate required"},
    [GW_MSG_AUTH_CERT_MISMATCH] = {"auth.cert_mismatch", 401, DISALLOWED},
    [GW_MSG_OAUTH_FIELD_MISSING] = {"oauth.auth_field_missing", 400, "Authorization field missing"},
    [GW_MSG_OAUTH_FIELD_MALFORMED] = {"oauth.auth_field_malformed", 400, "Bearer token malformed"},
    [GW_MSG_OAUTH_KEY_NOT_FOUND] = {"oauth.key_not_found", 403, "Key not authorised"},
    [GW_MSG_OAUTH_CLIENT_DELETED] = {"oauth.client_deleted", 403,
                                     "Key not authorised. OAuth client access was revoked"},
};

void gw_msg_get(const gw_conf_t *conf, enum gw_msg_id id, int *status, const char **msg)
{
    *status = defaults[id].status;
    *msg = defaults[id].msg;
    json_t *o = conf ? json_object_get(conf->override_messages, defaults[id].id) : NULL;
    if (!o)
        return;
    json_t *code = json_object_get(o, "code");
    const char *text = json_string_value(json_object_get(o, "message"));
    if (json_is_integer(code) && json_integer_value(code) >= 100 && json_integer_value(code) <= 999)
        *status = (int)json_integer_value(code);
    if (text && *text)
        *msg = text;
}

int gw_msg_deny(gw_req_t *req, enum gw_msg_id id)
{
    gw_msg_get(gw_req_conf(req), id, &req->err_status, &req->err_msg);
    return TK_ERROR;
}
