/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway control API (/tyk/...): API definitions in app_path and reloads, as Tyk has them. */
#include "gw_cache.h"
#include "gw_handlers.h"
#include "gw_pipeline.h"

#include "tk_log.h"
#include "tk_url.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MSG_OK "{\"status\":\"ok\",\"message\":\"\"}"

void gw_ctl_status(gw_req_t *req, int code, const char *status, const char *msg)
{
    json_t *o = json_pack("{s:s,s:s}", "status", status, "message", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
        gw_req_abort(req);
        return;
    }
    gw_respond_json(req, code, s);
    free(s);
}

void gw_ctl_error(gw_req_t *req, int code, const char *msg)
{
    gw_ctl_status(req, code, "error", msg);
}

void gw_ctl_json(gw_req_t *req, int code, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!s) {
        gw_ctl_error(req, 500, "Marshalling failed");
        return;
    }
    gw_respond_json(req, code, s);
    free(s);
}

bool gw_ctl_redis_send(gw_req_t *req, struct gw_wait **t, void *ctx, void (*free_ctx)(void *),
                       tk_redis_cb cb, int argc, const char **argv)
{
    *t = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, cb, ctx, argc, argv, NULL) != TK_OK) {
        gw_wait_end(*t);
        free_ctx(ctx);
        gw_ctl_error(req, 503, "Redis connection not available");
        return false;
    }
    return true;
}

bool gw_redis_is_scan_reply(const redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
           reply->element[0]->type == REDIS_REPLY_STRING &&
           reply->element[1]->type == REDIS_REPLY_ARRAY;
}

bool gw_ctl_method(const gw_req_t *req, const char *m)
{
    return req->head->method_len == strlen(m) && memcmp(req->head->method, m, strlen(m)) == 0;
}

static bool authorised(const gw_req_t *req)
{
    const char *secret = req->conn->w->srv->conf->secret;
    const tk_http_hdr_t *h = gw_req_header(req, "x-tyk-authorization");
    size_t n = strlen(secret);
    return n > 0 && h && h->value_len == n && CRYPTO_memcmp(h->value, secret, n) == 0;
}

static void respond_action(gw_req_t *req, const char *key, const char *action)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "key", key, "status", "ok", "action", action);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static bool valid_api_id(const char *id)
{
    if (!*id || strlen(id) > 200)
        return false;
    for (const char *p = id; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return false;
    return strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

static char *api_file(gw_req_t *req, const char *id)
{
    const char *dir = req->conn->w->srv->conf->app_path;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    return tk_arena_printf(req->arena, "%.*s/%s.json", (int)dl, dir, id);
}

/* Writes through a temporary file and rename(), so a reload never reads half a file. */
static int write_file(const char *path, json_t *def)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
    if (json_dump_file(def, tmp, JSON_INDENT(2)) != 0)
        return TK_ERROR;
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return TK_ERROR;
    }
    return TK_OK;
}

static json_t *body_json(gw_req_t *req)
{
    size_t n = evbuffer_get_length(req->body);
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    json_error_t err;
    json_t *v = json_loadb(p, n, 0, &err);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static void new_api_id(char out[33])
{
    unsigned char r[16];
    RAND_bytes(r, sizeof(r));
    for (int i = 0; i < 16; i++)
        snprintf(out + i * 2, 3, "%02x", r[i]);
}

static void apis_list(gw_req_t *req)
{
    const gw_gen_t *g = req->gref->gen;
    json_t *arr = json_array();
    for (size_t i = 0; i < g->napis; i++)
        json_array_append(arr, g->apis[i]->def);
    gw_ctl_json(req, 200, arr);
    json_decref(arr);
}

static void apis_create(gw_req_t *req)
{
    json_t *def = body_json(req);
    if (!def) {
        gw_ctl_error(req, 400, "Request malformed");
        return;
    }
    const char *id = json_string_value(json_object_get(def, "api_id"));
    char gen[33];
    if (!id || !*id) {
        new_api_id(gen);
        json_object_set_new(def, "api_id", json_string(gen));
        id = gen;
    }
    if (!valid_api_id(id)) {
        json_decref(def);
        gw_ctl_error(req, 400, "Invalid API ID");
        return;
    }
    char *key = tk_arena_strdup(req->arena, id);
    char *path = api_file(req, key);
    if (!path || write_file(path, def) != TK_OK) {
        tk_log_error("control API: cannot write %s: %s", path ? path : "?", strerror(errno));
        json_decref(def);
        gw_ctl_error(req, 500, "Failed to write API definition");
        return;
    }
    json_decref(def);
    respond_action(req, key, "added");
}

static void apis_update(gw_req_t *req, const char *id)
{
    json_t *def = body_json(req);
    if (!def) {
        gw_ctl_error(req, 400, "Request malformed");
        return;
    }
    const char *bid = json_string_value(json_object_get(def, "api_id"));
    if (!bid || strcmp(bid, id) != 0) {
        json_decref(def);
        gw_ctl_error(req, 400,
                     "Request APIID does not match that in Definition! For Update "
                     "operations these must match.");
        return;
    }
    char *path = api_file(req, id);
    if (!path || access(path, F_OK) != 0) {
        json_decref(def);
        gw_ctl_error(req, 404, "API not found");
        return;
    }
    int rc = write_file(path, def);
    json_decref(def);
    if (rc != TK_OK) {
        gw_ctl_error(req, 500, "Failed to write API definition");
        return;
    }
    respond_action(req, id, "modified");
}

static void apis_delete(gw_req_t *req, const char *id)
{
    char *path = api_file(req, id);
    if (!path || access(path, F_OK) != 0) {
        gw_ctl_error(req, 404, "API not found");
        return;
    }
    if (unlink(path) != 0) {
        gw_ctl_error(req, 500, "Delete failed");
        return;
    }
    respond_action(req, id, "deleted");
}

static void apis_get(gw_req_t *req, const char *id)
{
    gw_api_t *api = gw_gen_find_api(req->gref->gen, id);
    if (!api) {
        gw_ctl_error(req, 404, "API not found");
        return;
    }
    gw_ctl_json(req, 200, api->def);
}

static void reload(gw_req_t *req)
{
    gw_worker_t *w = req->conn->w;
    uint64_t ticket = gw_server_request_reload(w->srv);
    if (!gw_req_query_flag(req, "block")) {
        gw_respond_json(req, 200, MSG_OK);
        return;
    }
    req->reload_ticket = ticket;
    req->next_waiter = w->reload_waiters;
    w->reload_waiters = req;
}

void gw_reload_waiter_cancel(gw_req_t *req)
{
    gw_worker_t *w = req->conn->w;
    for (gw_req_t **pp = &w->reload_waiters; *pp; pp = &(*pp)->next_waiter) {
        if (*pp == req) {
            *pp = req->next_waiter;
            break;
        }
    }
    req->reload_ticket = 0;
}

/* The oldest generation any worker still serves. A blocking reload answers only once every
 * worker has moved on, so the caller's next request finds the new APIs whichever worker takes
 * it. */
static uint64_t fleet_seq(const gw_server_t *srv)
{
    uint64_t seq = UINT64_MAX;
    for (size_t i = 0; i < srv->nworkers; i++)
        seq = TK_MIN(seq, atomic_load(&srv->workers[i].gen_seq));
    return seq;
}

void gw_reload_waiters_recheck(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_reload_waiters_wake(arg);
}

void gw_reload_waiters_wake(gw_worker_t *w)
{
    uint64_t seq = fleet_seq(w->srv);
    gw_req_t **pp = &w->reload_waiters;
    while (*pp) {
        gw_req_t *req = *pp;
        if (req->reload_ticket <= seq) {
            *pp = req->next_waiter;
            req->reload_ticket = 0;
            gw_respond_json(req, 200, MSG_OK);
        } else {
            pp = &req->next_waiter;
        }
    }
    if (w->reload_waiters && w->reload_recheck) {
        struct timeval tv = {0, 2000};
        evtimer_add(w->reload_recheck, &tv);
    }
}

static void reload_group(gw_req_t *req)
{
    gw_server_t *srv = req->conn->w->srv;
    char sig[65];
    gw_notification_sign("GroupReload", "", srv->conf->node_secret, sig);
    char *msg = tk_arena_printf(req->arena,
                                "{\"command\":\"GroupReload\",\"payload\":\"\",\"signature\":"
                                "\"%s\",\"algorithm\":5}",
                                sig);
    gw_server_publish(srv, "tyk.cluster.notifications", msg);
    gw_respond_json(req, 200, MSG_OK);
}

void gw_handle_control(gw_req_t *req)
{
    /* Tyk routes on the decoded path (Go's URL.Path: a key ending in "%3D" is the key ending in
     * "="), and ignores trailing slashes. */
    char *p = tk_url_unescape(req->arena, req->path, req->path_len, false, false);
    size_t n = p ? strlen(p) : 0;
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    if (!p) {
        gw_req_abort(req);
        return;
    }
    if (!authorised(req)) {
        gw_ctl_error(req, 403, "Attempted administrative access with invalid or missing key!");
        return;
    }
    const char *rest = p + 4; /* after "/tyk" */
    bool api_path = strcmp(rest, "/apis") == 0 || strncmp(rest, "/apis/", 6) == 0;
    if (api_path && !gw_ctl_method(req, "GET") && req->conn->w->srv->conf->use_db_app_configs) {
        /* in dashboard mode the dashboard owns API definitions (Tyk's answer, word for word) */
        gw_ctl_error(req, 500, "Due to enabled use_db_app_configs, please use the Dashboard API");
        return;
    }
    if (strcmp(rest, "/apis") == 0) {
        if (gw_ctl_method(req, "GET"))
            apis_list(req);
        else if (gw_ctl_method(req, "POST"))
            apis_create(req);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    if (strncmp(rest, "/apis/", 6) == 0 && rest[6] && !strchr(rest + 6, '/')) {
        const char *id = rest + 6;
        if (gw_ctl_method(req, "GET"))
            apis_get(req, id);
        else if (gw_ctl_method(req, "PUT"))
            apis_update(req, id);
        else if (gw_ctl_method(req, "DELETE"))
            apis_delete(req, id);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    if (strcmp(rest, "/keys") == 0 || strncmp(rest, "/keys/", 6) == 0) {
        gw_control_keys(req, rest + 5);
        return;
    }
    if (strcmp(rest, "/org/keys") == 0 || strncmp(rest, "/org/keys/", 10) == 0) {
        gw_control_org(req, rest + 9);
        return;
    }
    if (strcmp(rest, "/certs") == 0 || strncmp(rest, "/certs/", 7) == 0) {
        gw_control_certs(req, rest + 6);
        return;
    }
    if (strncmp(rest, "/oauth/", 7) == 0) {
        gw_control_oauth(req, rest + 6);
        return;
    }
    if (strcmp(rest, "/policies") == 0 || strncmp(rest, "/policies/", 10) == 0) {
        gw_control_policies(req, rest + 9);
        return;
    }
    if (strncmp(rest, "/cache/", 7) == 0) {
        gw_control_cache(req, rest);
        return;
    }
    if (strcmp(rest, "/reload") == 0) {
        if (gw_ctl_method(req, "GET"))
            reload(req);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    if (strcmp(rest, "/turnpike/analytics") == 0) {
        /* Ours, not Tyk's: the analytics writer's counters (spooled, dropped, ...). */
        if (gw_ctl_method(req, "GET")) {
            json_t *stats = gw_analytics_stats_json(req->conn->w->srv);
            gw_ctl_json(req, 200, stats);
            json_decref(stats);
        } else {
            gw_ctl_error(req, 405, "Method not supported");
        }
        return;
    }
    if (strcmp(rest, "/reload/group") == 0) {
        if (gw_ctl_method(req, "GET"))
            reload_group(req);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
}
