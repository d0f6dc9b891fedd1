/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tyk's overridable authentication errors: each has an id ("auth.key_not_found", ...), a
 * default status and message, and tyk.conf `override_messages` {id: {message, code}} may
 * replace either part (a 0 code or an empty message keeps the default). Middlewares that
 * produce one of these errors go through gw_msg_deny() instead of writing the text.
 */
#ifndef GW_MESSAGES_H
#define GW_MESSAGES_H

#include "gw_conf.h"
#include "gw_http.h"

enum gw_msg_id {
    GW_MSG_AUTH_FIELD_MISSING = 0, /* auth.auth_field_missing: 401 Authorization field missing */
    GW_MSG_AUTH_KEY_NOT_FOUND,     /* auth.key_not_found: 403 Access to this API ... */
    GW_MSG_AUTH_CERT_NOT_FOUND,    /* auth.cert_not_found: 403 Access to this API ... */
    GW_MSG_AUTH_KEY_IS_INVALID,    /* auth.key_is_invalid: 403 Access to this API ... */
    GW_MSG_AUTH_CERT_EXPIRED,      /* auth.cert_expired: 403 Certificate has expired */
    GW_MSG_AUTH_CERT_REQUIRED,     /* auth.cert_required: 401 Client certificate required */
    GW_MSG_AUTH_CERT_MISMATCH,     /* auth.cert_mismatch: 401 Access to this API ... */
    GW_MSG_OAUTH_FIELD_MISSING,    /* oauth.auth_field_missing: 400 Authorization field missing */
    GW_MSG_OAUTH_FIELD_MALFORMED,  /* oauth.auth_field_malformed: 400 Bearer token malformed */
    GW_MSG_OAUTH_KEY_NOT_FOUND,    /* oauth.key_not_found: 403 Key not authorised */
    GW_MSG_OAUTH_CLIENT_DELETED,   /* oauth.client_deleted: 403 Key not authorised. OAuth ... */
    GW_MSG__COUNT
};

/** The status and message for @id under @conf's override_messages (@msg lives as long as
 *  the configuration). */
void gw_msg_get(const gw_conf_t *conf, enum gw_msg_id id, int *status, const char **msg);

/** Sets req->err_status / req->err_msg for @id and returns TK_ERROR. */
int gw_msg_deny(gw_req_t *req, enum gw_msg_id id);

#endif
