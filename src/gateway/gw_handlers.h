/* SPDX-License-Identifier: Apache-2.0 */
/* Handlers for buffered requests: health, readiness and the control API (/tyk/...). */
#ifndef GW_HANDLERS_H
#define GW_HANDLERS_H

#include "gw_http.h"

/* Control API answers, shared by the /tyk/... handlers (bodies as Tyk's, trailing newline). */
/** {"status":@status,"message":@msg} with @code. */
void gw_ctl_status(gw_req_t *req, int code, const char *status, const char *msg);
/** {"status":"error","message":@msg} with @code. */
void gw_ctl_error(gw_req_t *req, int code, const char *msg);
/** @v as compact JSON with @code (500 "Marshalling failed" if it cannot be encoded). */
void gw_ctl_json(gw_req_t *req, int code, json_t *v);
/**
 * Sends a Redis command on the worker's connection for a control request: starts the wait
 * ticket in *@t (the callback gets @ctx). When Redis is not connected it answers 503
 * "Redis connection not available", frees @ctx with @free_ctx and returns false.
 */
bool gw_ctl_redis_send(gw_req_t *req, struct gw_wait **t, void *ctx, void (*free_ctx)(void *),
                       tk_redis_cb cb, int argc, const char **argv);
/** True if @reply has the shape of a SCAN answer: [cursor string, [keys...]]. */
bool gw_redis_is_scan_reply(const redisReply *reply);
/** True if the request method is @m. */
bool gw_ctl_method(const gw_req_t *req, const char *m);

void gw_handle_hello(gw_req_t *req);
void gw_handle_ready(gw_req_t *req);
void gw_handle_control(gw_req_t *req);

/** /tyk/keys... (@rest is what follows "/tyk/keys": "", "/create", "/{key}", ...). */
void gw_control_keys(gw_req_t *req, const char *rest);
/** /tyk/policies... (@rest is what follows "/tyk/policies"). */
void gw_control_policies(gw_req_t *req, const char *rest);
/** /tyk/org/keys... (@rest is what follows "/tyk/org/keys": "" or "/{orgID}"). */
void gw_control_org(gw_req_t *req, const char *rest);
/** /tyk/certs... (@rest is what follows "/tyk/certs": "" or "/{certID[,certID...]}"). */
void gw_control_certs(gw_req_t *req, const char *rest);
/** /tyk/oauth... (@rest is what follows "/tyk/oauth": "/clients/create", ...). */
void gw_control_oauth(gw_req_t *req, const char *rest);

/** Completes /tyk/reload?block=true requests whose ticket @seq satisfies. */
/** Answers the blocking reloads waiting on @w whose generation every worker now serves. */
void gw_reload_waiters_wake(gw_worker_t *w);
/** Timer callback (arg = the worker): gw_reload_waiters_wake again. */
void gw_reload_waiters_recheck(evutil_socket_t fd, short what, void *arg);

#endif
