/* SPDX-License-Identifier: Apache-2.0 */
/* The response cache's store: connection choice, purging an API's entries, and the control
 * API route that does it (gw_cache.h). */
#include "gw_cache.h"
#include "gw_redis_scan.h"
#include "gw_handlers.h"
#include "gw_pipeline.h"

#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>

bool gw_cache_store_separate(const gw_conf_t *conf)
{
    return conf->enable_separate_cache_store;
}

void gw_cache_redis_opts(const gw_conf_t *conf, tk_redis_opts_t *ro)
{
    gw_redis_opts(conf, ro);
    if (!gw_cache_store_separate(conf))
        return;
    if (conf->cache_storage_host && *conf->cache_storage_host)
        ro->host = conf->cache_storage_host;
    if (conf->cache_storage_port > 0)
        ro->port = (int)conf->cache_storage_port;
    ro->username = conf->cache_storage_username;
    ro->password = conf->cache_storage_password;
    ro->database = (int)conf->cache_storage_database;
    if (conf->cache_storage_timeout > 0)
        ro->connect_timeout_ms = ro->command_timeout_ms = (int)conf->cache_storage_timeout * 1000;
}

tk_redis_t *gw_cache_redis(const gw_worker_t *w)
{
    return w->cache_redis ? w->cache_redis : w->redis;
}

/* ---- purge: SCAN cache-<id>* and DEL each batch ---- */

struct purge {
    void (*done)(bool ok, void *arg);
    void *arg;
};

static void on_purged(bool ok, long long total, void *arg)
{
    TK_UNUSED(total);
    struct purge *p = arg;
    if (p->done)
        p->done(ok, p->arg);
    free(p);
}

int gw_cache_purge(tk_redis_t *r, const char *api_id, void (*done)(bool ok, void *arg), void *arg)
{
    /* "cache-" + the id with glob characters escaped, so an id cannot widen the match. */
    size_t n = strlen(api_id);
    char *pat = tk_xmalloc(6 + 2 * n + 2);
    size_t k = 0;
    memcpy(pat, "cache-", 6);
    k = 6;
    for (size_t i = 0; i < n; i++) {
        char c = api_id[i];
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
            pat[k++] = '\\';
        pat[k++] = c;
    }
    pat[k++] = '*';
    pat[k] = '\0';
    struct purge *p = tk_xcalloc(1, sizeof(*p));
    p->done = done;
    p->arg = arg;
    static const char *const del[] = {"DEL"};
    int rc = gw_redis_scan_each(r, pat, del, 1, on_purged, p);
    free(pat);
    if (rc != TK_OK) {
        free(p);
        return TK_ERROR;
    }
    return TK_OK;
}

/* ---- DELETE /tyk/cache/{api_id} ---- */

struct ctl_purge {
    gw_wait_t *wait;
    char *api_id;
};

static void publish_invalidation(gw_server_t *srv, const char *api_id)
{
    /* Gateways with their own cache store drop their entries too (Tyk's DeleteAPICache). */
    char sig[65];
    gw_notification_sign(GW_CACHE_NOTIFY_COMMAND, api_id, srv->conf->node_secret, sig);
    json_t *n = json_pack("{s:s,s:s,s:s,s:i}", "command", GW_CACHE_NOTIFY_COMMAND, "payload",
                          api_id, "signature", sig, "algorithm", 5);
    char *msg = n ? json_dumps(n, JSON_COMPACT) : NULL;
    json_decref(n);
    if (msg)
        gw_server_publish(srv, "tyk.cluster.notifications", msg);
    free(msg);
}

static void on_ctl_purged(bool ok, void *arg)
{
    struct ctl_purge *cp = arg;
    gw_req_t *req = gw_wait_end(cp->wait);
    if (req) {
        if (ok) {
            publish_invalidation(req->conn->w->srv, cp->api_id);
            gw_ctl_status(req, 200, "ok", "cache invalidated");
        } else {
            tk_log_error("control API: failed to delete cache of API %s: scan/delete failed",
                         cp->api_id);
            gw_ctl_error(req, 500, "Cache invalidation failed");
        }
    }
    free(cp->api_id);
    free(cp);
}

void gw_control_cache(gw_req_t *req, const char *rest)
{
    /* rest is "/cache" or "/cache/..." */
    const char *id = rest[6] == '/' ? rest + 7 : "";
    if (!*id || strchr(id, '/')) {
        gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
        return;
    }
    if (!gw_ctl_method(req, "DELETE")) {
        gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    struct ctl_purge *cp = tk_xcalloc(1, sizeof(*cp));
    cp->api_id = tk_xstrdup(id);
    cp->wait = gw_wait_begin(req);
    if (gw_cache_purge(gw_cache_redis(req->conn->w), id, on_ctl_purged, cp) != TK_OK) {
        gw_wait_end(cp->wait);
        tk_log_error("control API: failed to delete cache of API %s: Redis unavailable", id);
        free(cp->api_id);
        free(cp);
        gw_ctl_error(req, 500, "Cache invalidation failed");
    }
}
