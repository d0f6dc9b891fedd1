/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VirtualEndpoint (Tyk §9.1 step 29): an extended_paths.virtual entry matching the request is
 * answered by <response_function_name>(request, session, config) in the API's JS VM; the
 * function returns TykJsResponse({Body, Code, Headers}, session_meta). A failure answers 500
 * with Tyk's message, or goes on to the upstream when proxy_on_error is set. The function runs
 * on a JS thread; the worker answers when it comes back.
 */
#include "gw_endpoints.h"
#include "gw_jsvm_mw.h"
#include "gw_mw_common.h"
#include "gw_req_body.h"
#include "tk_log.h"

#include <string.h>

#define VIRTUAL_FAILED                                                                             \
    "Error during virtual endpoint execution. Contact Administrator for more details."

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    return conf->enable_jsvm && gw_api_has_eps(api, GW_EP_VIRTUAL);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    mw->state = gw_jsvm_acquire(api, conf, errs);
    return mw->state ? TK_OK : TK_ERROR;
}

static void dispose(gw_mw_t *mw)
{
    gw_jsvm_release(mw->state);
}

static char *request_json(gw_req_t *req)
{
    size_t blen = req->body ? evbuffer_get_length(req->body) : 0;
    json_t *o = json_object();
    json_object_set_new(o, "Headers", gw_jsmw_headers(req));
    json_object_set_new(
        o, "Body",
        json_stringn_nocheck(blen ? (const char *)evbuffer_pullup(req->body, -1) : "", blen));
    json_object_set_new(o, "URL", json_string_nocheck(gw_jsmw_url(req)));
    json_object_set_new(o, "Params", gw_jsmw_params(req, true));
    json_object_set_new(o, "Scheme", json_string(gw_jsmw_scheme(req)));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* One call of a response function: inputs copied on the worker, run on a JS thread. */
struct vjob {
    gw_wait_t *wait;
    gw_jsvm_t *vm; /* held */
    gw_server_t *srv;
    json_t *entry; /* the extended_paths entry: read on the worker only, while the request lives */
    char *fn, *rq, *sess;
    enum gw_jsvm_rc rc;
    char *out, *err;
};

static void vjob_free(struct vjob *j)
{
    gw_jsvm_job_drop(j->vm);
    free(j->fn);
    free(j->rq);
    free(j->sess);
    free(j->out);
    free(j->err);
    free(j);
}

static void vjob_work(void *arg)
{
    struct vjob *j = arg;
    const char *args[3] = {j->rq, j->sess, gw_jsvm_spec_json(j->vm)};
    j->rc = *j->fn ? gw_jsvm_call(j->vm, j->srv, NULL, j->fn, args, 3, &j->out, &j->err)
                   : GW_JSVM_ERROR;
}

/* TK_DONE when answered; TK_ERROR when the function failed. */
static int answer(gw_req_t *req, struct vjob *j)
{
    bool use_session = json_is_true(json_object_get(j->entry, "use_session"));
    json_t *ret = j->rc == GW_JSVM_OK ? json_loads(j->out, 0, NULL) : NULL;
    json_t *resp = json_object_get(ret, "Response");
    if (!json_is_object(resp)) {
        tk_log_error("%s: API %s: %s (virtual endpoint %s): %s", req->api->file, req->api->api_id,
                     VIRTUAL_FAILED, j->fn, j->err ? j->err : "cannot decode the returned data");
        json_decref(ret);
        return TK_ERROR;
    }
    if (use_session)
        gw_jsmw_update_meta(req, json_object_get(ret, "SessionMeta"));
    json_int_t code = json_integer_value(json_object_get(resp, "Code"));
    const char *body = json_string_value(json_object_get(resp, "Body"));
    size_t blen = body ? json_string_length(json_object_get(resp, "Body")) : 0;
    gw_respond(req, code > 0 ? (int)code : 200, NULL, body ? body : "", blen,
               gw_jsmw_header_lines(req, json_object_get(resp, "Headers"), true));
    json_decref(ret);
    return TK_DONE;
}

/* The answer, or what a failure leads to (proxy_on_error goes on to the upstream). */
static int finish(gw_req_t *req, struct vjob *j)
{
    if (answer(req, j) == TK_DONE)
        return TK_DONE;
    if (json_is_true(json_object_get(j->entry, "proxy_on_error")))
        return TK_OK;
    req->err_status = 500;
    req->err_msg = VIRTUAL_FAILED;
    return TK_ERROR;
}

static void vjob_done(void *arg, int status)
{
    struct vjob *j = arg;
    gw_req_t *req = status == TK_OK ? gw_wait_end(j->wait) : NULL;
    if (req)
        gw_pipeline_resume(req, finish(req, j));
    vjob_free(j);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_VIRTUAL);
    if (!ep)
        return TK_OK;
    int rc = gw_req_body_collect(req);
    if (rc != TK_OK)
        return rc;
    const char *fn = json_string_value(json_object_get(ep->entry, "response_function_name"));
    bool use_session = json_is_true(json_object_get(ep->entry, "use_session"));
    struct vjob *j = tk_xcalloc(1, sizeof(*j));
    j->vm = gw_jsvm_job_hold(mw->state);
    j->srv = req->conn->w->srv;
    j->entry = ep->entry;
    j->fn = tk_xstrdup(fn ? fn : "");
    j->rq = request_json(req);
    j->sess = gw_jsmw_session_json(req, use_session);
    rc = gw_jsmw_submit(req, &j->wait, vjob_work, vjob_done, j);
    if (rc == TK_AGAIN)
        return TK_AGAIN;
    if (rc == TK_OK) { /* no pool: inline */
        vjob_work(j);
        rc = finish(req, j);
    }
    vjob_free(j);
    return rc;
}

const gw_mw_def_t gw_mw_virtual_endpoint = {
    .name = "VirtualEndpoint",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
