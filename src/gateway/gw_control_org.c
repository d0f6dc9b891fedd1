/* SPDX-License-Identifier: Apache-2.0 */
/* The /tyk/org/keys control API: organisation sessions stored at "orgkey.<org id>", as Tyk has it.
 */
#include "gw_handlers.h"
#include "gw_limits.h"
#include "gw_pipeline.h"
#include "gw_session.h"
#include "tk_hash.h"
#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REDIS_DOWN "Redis connection not available"
#define ORG_PREFIX "orgkey."
/* The worker session-cache name of an org session (mw_org_monitor.c uses the same): a newline
 * cannot occur in a token taken from a request, so it never collides with a key's cache name. */
#define ORG_CACHE_PREFIX "\norgkey."

/* ---- small helpers ----------------------------------------------------------------------- */

static void o_modified(gw_req_t *req, const char *org, const char *action)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "key", org, "status", "ok", "action", action);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static const gw_conf_t *o_conf(const gw_req_t *req)
{
    return req->conn->w->srv->conf;
}

/* Tyk's getSpecForOrg: an API of that org, else any loaded API; NULL only with none loaded. */
static bool any_api_loaded(const gw_req_t *req)
{
    return req->gref->gen->napis > 0;
}

/* Drops the org session (and the "no session" mark) from every worker's cache. */
static void o_evict(gw_req_t *req, const char *org)
{
    char *k = tk_arena_printf(req->arena, ORG_CACHE_PREFIX "%s", org);
    if (k)
        gw_sessions_evict(req->conn->w->srv, k);
}

/* ---- the operation context (outlives the request while Redis answers) -------------------- */

enum o_op { OP_SAVE, OP_GET, OP_DELETE, OP_LIST };

typedef struct octx {
    gw_wait_t *t;
    enum o_op op;
    bool added; /* POST (else PUT) */
    char *org;
    json_t *list;
    char *pattern;
    char cursor[32];
} octx_t;

static octx_t *ctx_new(enum o_op op, const char *org)
{
    octx_t *c = tk_xcalloc(1, sizeof(*c));
    c->op = op;
    c->org = tk_xstrdup(org ? org : "");
    snprintf(c->cursor, sizeof(c->cursor), "0");
    return c;
}

static void ctx_free(octx_t *c)
{
    if (!c)
        return;
    free(c->org);
    free(c->pattern);
    json_decref(c->list);
    free(c);
}

static void ctx_free_any(void *c)
{
    ctx_free(c);
}

/* Sends a command with @c as the pending step; false (503 sent, ctx freed) when Redis is down. */
static bool o_send(gw_req_t *req, octx_t *c, tk_redis_cb cb, int argc, const char **argv)
{
    return gw_ctl_redis_send(req, &c->t, c, ctx_free_any, cb, argc, argv);
}

static gw_req_t *o_resume(octx_t *c)
{
    gw_req_t *req = gw_wait_end(c->t);
    c->t = NULL;
    if (!req)
        ctx_free(c);
    return req;
}

/* ---- POST / PUT --------------------------------------------------------------------------- */

static void on_saved(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = o_resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        char *msg = tk_arena_printf(req->arena, "Error writing to key store %s",
                                    reply && reply->str ? reply->str : REDIS_DOWN);
        ctx_free(c);
        gw_ctl_error(req, 500, msg ? msg : "Error writing to key store");
        return;
    }
    o_evict(req, c->org);
    const char *action = c->added ? "added" : "modified";
    char *org = tk_arena_strdup(req->arena, c->org);
    ctx_free(c);
    o_modified(req, org, action);
}

/* Tyk's ResetQuota for the org (quota-<HashKey(org)>, its sentinel, scoped quotas) plus the
 * DefaultQuotaStore copy under the org prefix. No reply is awaited. */
static void o_reset_quota(gw_req_t *req, const gw_session_t *s, const char *org)
{
    size_t cap = strlen(org) + TK_HASH_HEX_MAX + 1;
    char *h = tk_arena_alloc(req->arena, cap);
    if (!h || tk_hash_key(org, strlen(org), o_conf(req)->hash_keys, h, cap) != TK_OK)
        return;
    char *keys[64];
    size_t n = 0;
    char buf[1024];
    if (gw_key_quota(buf, sizeof(buf), NULL, h) >= 0) {
        keys[n++] = tk_xstrdup(buf);
        char *alt = tk_arena_printf(req->arena, ORG_PREFIX "%s", buf);
        if (alt)
            keys[n++] = tk_xstrdup(alt);
    }
    if (gw_key_rate_limit(buf, sizeof(buf), NULL, h, NULL) >= 0) {
        char sb[1100];
        if (gw_key_sentinel(sb, sizeof(sb), buf) >= 0)
            keys[n++] = tk_xstrdup(sb);
    }
    for (size_t i = 0; i < s->n_access && n < 64; i++) {
        const char *scope = s->access[i].allowance_scope;
        if (scope && *scope && gw_key_quota(buf, sizeof(buf), scope, h) >= 0)
            keys[n++] = tk_xstrdup(buf);
    }
    if (n)
        gw_quota_reset(req->conn->w->redis, (const char *const *)keys, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
}

static void org_save(gw_req_t *req, const char *org)
{
    if (!any_api_loaded(req) && o_conf(req)->suppress_default_org_store) {
        gw_ctl_error(req, 404, "No such organisation found in Active API list");
        return;
    }
    size_t n = evbuffer_get_length(req->body);
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    json_error_t jerr;
    json_t *v = json_loadb(p, n, 0, &jerr);
    gw_session_t s = {0};
    char *err = NULL;
    if (!v || !json_is_object(v) || gw_session_from_json(v, &s, &err) != TK_OK) {
        tk_log_info("control API: org session body: %s", err ? err : jerr.text);
        free(err);
        json_decref(v);
        gw_ctl_error(req, 400, "Request malformed");
        return;
    }
    json_decref(v);
    const char *reset = gw_req_query(req, "reset_quota");
    if (reset && strcmp(reset, "1") == 0) {
        o_reset_quota(req, &s, org);
        s.quota_renews = (int64_t)time(NULL) + s.quota_renewal_rate;
    }
    char *text = gw_session_dumps(&s);
    gw_session_free(&s);
    if (!text) {
        gw_ctl_error(req, 500, "Marshalling failed");
        return;
    }
    octx_t *c = ctx_new(OP_SAVE, org);
    c->added = gw_ctl_method(req, "POST");
    const char *argv[3] = {"SET", tk_arena_printf(req->arena, ORG_PREFIX "%s", org),
                           tk_arena_strdup(req->arena, text)};
    free(text);
    o_send(req, c, on_saved, 3, argv);
}

/* ---- GET one ------------------------------------------------------------------------------ */

static void on_get(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = o_resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    gw_session_t s = {0};
    char *err = NULL;
    if (reply->type != REDIS_REPLY_STRING ||
        gw_session_from_text(reply->str, reply->len, &s, &err) != TK_OK) {
        if (err)
            tk_log_warn("control API: stored org session does not decode: %s", err);
        free(err);
        ctx_free(c);
        gw_ctl_error(req, 404, "Org not found");
        return;
    }
    ctx_free(c);
    json_t *o = gw_session_to_json(&s);
    gw_session_free(&s);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static void org_get(gw_req_t *req, const char *org)
{
    if (!any_api_loaded(req)) {
        gw_ctl_error(req, 404, "Org not found");
        return;
    }
    octx_t *c = ctx_new(OP_GET, org);
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, ORG_PREFIX "%s", org)};
    o_send(req, c, on_get, 2, argv);
}

/* ---- DELETE ------------------------------------------------------------------------------- */

static void on_deleted(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = o_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0) {
        ctx_free(c);
        gw_ctl_error(req, 400, "Failed to remove the key");
        return;
    }
    o_evict(req, c->org);
    char *org = tk_arena_strdup(req->arena, c->org);
    ctx_free(c);
    o_modified(req, org, "deleted");
}

static void org_delete(gw_req_t *req, const char *org)
{
    if (!any_api_loaded(req)) {
        gw_ctl_error(req, 404, "Org not found");
        return;
    }
    octx_t *c = ctx_new(OP_DELETE, org);
    const char *argv[2] = {"DEL", tk_arena_printf(req->arena, ORG_PREFIX "%s", org)};
    o_send(req, c, on_deleted, 2, argv);
}

/* ---- list --------------------------------------------------------------------------------- */

static void list_step(gw_req_t *req, octx_t *c);

static void on_scan(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    octx_t *c = arg;
    gw_req_t *req = o_resume(c);
    if (!req)
        return;
    if (!gw_redis_is_scan_reply(reply)) {
        ctx_free(c);
        gw_ctl_error(req, 503, REDIS_DOWN);
        return;
    }
    snprintf(c->cursor, sizeof(c->cursor), "%s", reply->element[0]->str);
    redisReply *keys = reply->element[1];
    const size_t pl = strlen(ORG_PREFIX);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len < pl)
            continue;
        const char *name = k->str + pl;
        if (strncmp(name, "quota-", 6) == 0 || strncmp(name, "rate-limit-", 11) == 0)
            continue;
        json_array_append_new(c->list, json_stringn(name, k->len - pl));
    }
    if (strcmp(c->cursor, "0") == 0) {
        json_t *o = json_pack("{s:O}", "keys", c->list);
        ctx_free(c);
        gw_ctl_json(req, 200, o);
        json_decref(o);
        return;
    }
    list_step(req, c);
}

static void list_step(gw_req_t *req, octx_t *c)
{
    const char *argv[6] = {"SCAN", c->cursor, "MATCH", c->pattern, "COUNT", "1000"};
    o_send(req, c, on_scan, 6, argv);
}

static void org_list(gw_req_t *req)
{
    if (!any_api_loaded(req)) {
        gw_ctl_error(req, 404, "ORG not found");
        return;
    }
    const char *filter = gw_req_query(req, "filter");
    if (!filter)
        filter = "";
    size_t n = strlen(filter);
    char *e = tk_xmalloc(n * 2 + sizeof(ORG_PREFIX) + 2), *p = e;
    memcpy(p, ORG_PREFIX, strlen(ORG_PREFIX));
    p += strlen(ORG_PREFIX);
    for (const char *f = filter; *f; f++) {
        if (*f == '*' || *f == '?' || *f == '[' || *f == ']' || *f == '\\')
            *p++ = '\\';
        *p++ = *f;
    }
    *p++ = '*';
    *p = '\0';
    octx_t *c = ctx_new(OP_LIST, "");
    c->list = json_array();
    c->pattern = e;
    list_step(req, c);
}

/* ---- routing ------------------------------------------------------------------------------ */

void gw_control_org(gw_req_t *req, const char *rest)
{
    if (!*rest) {
        if (gw_ctl_method(req, "GET"))
            org_list(req);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    const char *org = rest + 1;
    if (strchr(org, '/')) {
        gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
        return;
    }
    if (gw_ctl_method(req, "POST") || gw_ctl_method(req, "PUT"))
        org_save(req, org);
    else if (gw_ctl_method(req, "GET"))
        *org ? org_get(req, org) : org_list(req);
    else if (gw_ctl_method(req, "DELETE"))
        org_delete(req, org);
    else
        gw_ctl_error(req, 405, "Method not supported");
}
