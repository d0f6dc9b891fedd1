/* SPDX-License-Identifier: Apache-2.0 */
/* The JS custom_middleware phases and virtual endpoints share this (gw_jsvm_mw.c). */
#ifndef GW_JSVM_MW_H
#define GW_JSVM_MW_H

#include "gw_jsvm.h"
#include "gw_mw.h"
#include "gw_pipeline.h"
#include "gw_jsvm_pool.h"

enum gw_jsmw_kind { GW_JSMW_PRE = 0, GW_JSMW_AUTH, GW_JSMW_POST_KEY_AUTH, GW_JSMW_POST };

/** True when @api has JS middlewares of @kind (driver "" / otto; auth needs
 *  custom_plugin_auth_enabled and an auth_check name). */
bool gw_jsmw_enabled(const gw_api_t *api, enum gw_jsmw_kind kind);
int gw_jsmw_init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs,
                 enum gw_jsmw_kind kind);
int gw_jsmw_on_req(gw_mw_t *mw, gw_req_t *req);
void gw_jsmw_dispose(gw_mw_t *mw);

/**
 * Queues @work(@arg) on a JS thread (srv->jsvm_pool) and @done(@arg, status) back on @req's
 * worker, with *@wait the ticket (gw_jsvm_pool.h's contract for @done). TK_AGAIN when queued;
 * TK_ERROR (503 set on @req, nothing queued) when the pool refuses; TK_OK when there is no pool
 * (tools, tests): the caller then runs @work inline.
 */
int gw_jsmw_submit(gw_req_t *req, gw_wait_t **wait, tk_offload_work_fn work,
                   tk_offload_done_fn done, void *arg);

/* Pieces of the request object, for virtual endpoints. */
json_t *gw_jsmw_headers(gw_req_t *req);
/** Query parameters (and a form-encoded body when @with_form_body), as Go's r.Form. */
json_t *gw_jsmw_params(gw_req_t *req, bool with_form_body);
const char *gw_jsmw_url(gw_req_t *req);
const char *gw_jsmw_scheme(gw_req_t *req);
/** The session as JSON (an empty session unless @use_session and the request has one). */
char *gw_jsmw_session_json(gw_req_t *req, bool use_session);
/** Replaces the session's meta_data with @meta if it differs, and saves the session. */
bool gw_jsmw_update_meta(gw_req_t *req, json_t *meta);
/** Writes the request's session back to Redis (keeping its TTL) and drops cached copies. */
void gw_jsmw_save_session(gw_req_t *req);
/** "Name: value\r\n" lines of an object of strings, after "Server: tyk" when @server_tyk. */
const char *gw_jsmw_header_lines(gw_req_t *req, json_t *obj, bool server_tyk);

#endif
