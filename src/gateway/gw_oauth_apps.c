/* SPDX-License-Identifier: Apache-2.0 */
/* Which OAuth APIs hold a given client (gw_oauth_apps.h). */
#include "gw_oauth_apps.h"

#include "gw_handlers.h"
#include "gw_oauth_store.h"
#include "gw_pipeline.h"

#include <stdlib.h>
#include <string.h>

typedef struct actx {
    gw_wait_t *t;
    char *app_id;
    char **api_ids; /* candidate APIs, copied: Redis may answer after the request ended */
    char **orgs;
    size_t n, i;
    json_t *found; /* array of api ids */
} actx_t;

static void actx_free(void *p)
{
    actx_t *c = p;
    if (!c)
        return;
    free(c->app_id);
    for (size_t i = 0; i < c->n; i++) {
        free(c->api_ids[i]);
        free(c->orgs[i]);
    }
    free(c->api_ids);
    free(c->orgs);
    json_decref(c->found);
    free(c);
}

static void next_api(gw_req_t *req, actx_t *c);

static bool holds_client(const redisReply *reply, const char *app_id)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return false;
    bool hit = false;
    for (size_t i = 0; i < reply->elements && !hit; i++) {
        const redisReply *e = reply->element[i];
        gw_oauth_client_t cl;
        if (e->type != REDIS_REPLY_STRING || e->len == 0 ||
            !gw_oauth_client_loads(e->str, e->len, &cl))
            continue;
        hit = strcmp(cl.id, app_id) == 0;
        gw_oauth_client_free(&cl);
    }
    return hit;
}

static void on_clients(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    actx_t *c = arg;
    gw_req_t *req = gw_wait_end(c->t);
    c->t = NULL;
    if (!req) {
        actx_free(c);
        return;
    }
    if (holds_client(reply, c->app_id))
        json_array_append_new(c->found, json_string(c->api_ids[c->i]));
    c->i++;
    next_api(req, c);
}

static void next_api(gw_req_t *req, actx_t *c)
{
    if (c->i >= c->n) {
        json_t *out = json_incref(c->found);
        actx_free(c);
        gw_ctl_json(req, 200, out);
        json_decref(out);
        return;
    }
    char *prefix = gw_oauth_key(c->api_ids[c->i], "");
    const char *argv[5] = {"EVAL", gw_oauth_lua_list_clients, "0",
                           tk_arena_strdup(req->arena, prefix), c->orgs[c->i]};
    free(prefix);
    gw_ctl_redis_send(req, &c->t, c, actx_free, on_clients, 5, argv);
}

void gw_control_oauth_apps(gw_req_t *req, const char *app_id)
{
    const char *org = gw_req_query(req, "orgID");
    bool all = !org || !*org;
    const gw_gen_t *g = req->gref->gen;
    actx_t *c = tk_xcalloc(1, sizeof(*c));
    c->app_id = tk_xstrdup(app_id);
    c->found = json_array();
    c->api_ids = tk_xcalloc(g->napis ? g->napis : 1, sizeof(char *));
    c->orgs = tk_xcalloc(g->napis ? g->napis : 1, sizeof(char *));
    for (size_t i = 0; i < g->napis; i++) {
        const gw_api_t *api = g->apis[i];
        const char *api_org = api->org_id ? api->org_id : "";
        if (!json_is_true(json_object_get(api->def, "use_oauth2")))
            continue;
        if (!all && strcmp(api_org, org) != 0)
            continue;
        c->api_ids[c->n] = tk_xstrdup(api->api_id);
        c->orgs[c->n] = tk_xstrdup(api_org);
        c->n++;
    }
    next_api(req, c);
}
