/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard mode: node registration, heartbeat with the nonce chain, API and policy lists. */
#include "gw_dashboard.h"

#include "tk_curl.h"
#include "tk_hash.h"
#include "tk_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REGISTER_RETRY_S 5 /* Tyk retries a failed registration every 5 s */
#define HEARTBEAT_S 2      /* and beats every 2 s */
#define CONNECT_TIMEOUT_S 5
#define HEARTBEAT_TIMEOUT_S 10 /* a beat that takes longer has failed; the next one follows */

struct dash {
    gw_server_t *srv;
    char *base;     /* db_app_conf_options.connection_string, no trailing slash */
    char *pol_base; /* policies.policy_connection_string (or base) */
    long timeout_s;
    char session_id[33];
    char hostname[256];

    /* Every call holds @lock from sending to storing the reply's nonce: the chain is one-time, so
     * two calls with the same nonce would make the second fail. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    tk_curl_client_t *http;
    char node_id[128];
    char nonce[256];
    bool registered;
    _Atomic bool stop; /* set without the lock: it also aborts a call in flight */
    bool stale;        /* a fetch failed: reload once the Dashboard answers again */
    bool was_down;     /* for logging state changes once */
    json_t *apis;      /* last good /system/apis Message (raw) */
    json_t *pols;      /* last good /system/policies Message */
    pthread_t thread;
    bool thread_started;
    _Atomic int health; /* 1 up, 0 down */
};

static struct dash *D;

bool gw_dashboard_serves_apis(const gw_conf_t *conf)
{
    return conf->use_db_app_configs;
}

bool gw_dashboard_serves_policies(const gw_conf_t *conf)
{
    return conf->policies_policy_source && strcmp(conf->policies_policy_source, "service") == 0;
}

int gw_dashboard_health(void)
{
    return D ? atomic_load(&D->health) : -1;
}

/* ---- one HTTP call --------------------------------------------------------------------------- */

static char *join_url(const char *base, const char *path)
{
    size_t n = strlen(base) + strlen(path) + 1;
    char *u = tk_xmalloc(n);
    snprintf(u, n, "%s%s", base, path);
    return u;
}

/*
 * @method @base@path with Tyk's node headers (the node id and nonce once registered). Caller
 * holds d->lock. Returns the HTTP status (0 when no response arrived, with the reason in @err)
 * and the decoded JSON body in *@out (NULL when it is not JSON). A reply carrying "Nonce"
 * advances the chain.
 */
static long call(struct dash *d, const char *method, const char *base, const char *path,
                 bool as_node, long timeout_s, json_t **out, char *err, size_t errn)
{
    *out = NULL;
    err[0] = '\0';
    if (!d->http)
        d->http = tk_curl_new();
    char *url = join_url(base, path);
    char h[5][600];
    const char *headers[6];
    size_t nh = 0;
    snprintf(h[nh], sizeof(h[nh]), "authorization: %s", d->srv->conf->node_secret);
    nh++;
    snprintf(h[nh], sizeof(h[nh]), "x-tyk-hostname: %s", d->hostname);
    nh++;
    snprintf(h[nh], sizeof(h[nh]), "x-tyk-session-id: %s", d->session_id);
    nh++;
    if (as_node) {
        snprintf(h[nh], sizeof(h[nh]), "x-tyk-nodeid: %s", d->node_id);
        nh++;
        snprintf(h[nh], sizeof(h[nh]), "x-tyk-nonce: %s", d->nonce);
        nh++;
    }
    for (size_t i = 0; i < nh; i++)
        headers[i] = h[i];
    headers[nh] = NULL;
    tk_curl_request_t rq = {
        .method = method,
        .url = url,
        .headers = headers,
        .body = strcmp(method, "POST") == 0 ? "" : NULL,
        .timeout_s = (double)timeout_s,
        .connect_timeout_s = CONNECT_TIMEOUT_S,
        .abort = &d->stop, /* shutting down: abandon the call */
    };
    tk_curl_response_t rs;
    long status = 0;
    if (tk_curl_do(d->http, &rq, &rs) == 0) {
        status = rs.status;
        if (rs.body_len)
            *out = json_loadb(rs.body, rs.body_len, 0, NULL);
        const char *nonce = json_string_value(json_object_get(*out, "Nonce"));
        if (status == 200 && nonce)
            snprintf(d->nonce, sizeof(d->nonce), "%s", nonce);
        if (status != 200) {
            const char *msg = json_string_value(json_object_get(*out, "Message"));
            snprintf(err, errn, "HTTP %ld: %s", status,
                     msg ? msg : (rs.body_len ? rs.body : "(empty body)"));
        }
    } else {
        snprintf(err, errn, "%s", rs.error);
    }
    tk_curl_response_free(&rs);
    free(url);
    return status;
}

static void set_up(struct dash *d, bool up, const char *why)
{
    atomic_store(&d->health, up ? 1 : 0);
    if (up && d->was_down) {
        tk_log_info("dashboard: %s answers again", d->base);
        d->was_down = false;
    } else if (!up && !d->was_down) {
        tk_log_error("dashboard: %s unreachable (%s); keeping the current APIs and policies",
                     d->base, why);
        d->was_down = true;
    }
}

/* GET /register/node. Caller holds the lock. */
static bool do_register(struct dash *d)
{
    json_t *r = NULL;
    char err[512];
    long st = call(d, "GET", d->base, "/register/node", false, d->timeout_s, &r, err, sizeof(err));
    const char *node = json_string_value(json_object_get(json_object_get(r, "Message"), "NodeID"));
    bool ok = st == 200 && node && *node;
    if (!ok && atomic_load(&d->stop)) {
        json_decref(r); /* aborted by shutdown: nothing to report */
        return false;
    }
    if (ok) {
        snprintf(d->node_id, sizeof(d->node_id), "%s", node);
        d->registered = true;
        set_up(d, true, NULL);
        tk_log_info("dashboard: node registered with %s as %s", d->base, d->node_id);
    } else if (st == 401 || st == 403) {
        /* the Dashboard is there but refuses us: say why, every time (it is a config error) */
        atomic_store(&d->health, 0);
        tk_log_error("dashboard: %s refused to register this node (%s): node_secret must equal "
                     "the Dashboard's shared_node_secret; retrying in %d s",
                     d->base, err, REGISTER_RETRY_S);
    } else if (st != 0) {
        atomic_store(&d->health, 0);
        tk_log_error("dashboard: registration failed (%s); retrying in %d s", err,
                     REGISTER_RETRY_S);
    } else {
        set_up(d, false, err);
        tk_log_warn("dashboard: cannot register yet (%s); retrying in %d s", err, REGISTER_RETRY_S);
    }
    json_decref(r);
    return ok;
}

/* GET /register/ping. Caller holds the lock. */
static void heartbeat(struct dash *d)
{
    json_t *r = NULL;
    char err[512];
    long hb_timeout = d->timeout_s < HEARTBEAT_TIMEOUT_S ? d->timeout_s : HEARTBEAT_TIMEOUT_S;
    long st = call(d, "GET", d->base, "/register/ping", true, hb_timeout, &r, err, sizeof(err));
    json_decref(r);
    if (st == 200) {
        set_up(d, true, NULL);
    } else if (st == 403) {
        tk_log_warn("dashboard: heartbeat refused (%s); registering again", err);
        d->registered = false;
    } else {
        set_up(d, false, st ? err : "dashboard is down? Heartbeat is failing");
    }
}

static void wait_s(struct dash *d, int secs)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += secs;
    while (!atomic_load(&d->stop) &&
           pthread_cond_timedwait(&d->wake, &d->lock, &until) != ETIMEDOUT) {
        if (!d->registered)
            break; /* woken to register again now */
    }
}

static void *dash_thread(void *arg)
{
    struct dash *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!atomic_load(&d->stop)) {
        if (!d->registered) {
            if (!do_register(d)) {
                wait_s(d, REGISTER_RETRY_S);
                continue;
            }
            d->stale = false;
            pthread_mutex_unlock(&d->lock);
            gw_server_request_reload(d->srv); /* Tyk reloads after every registration */
            pthread_mutex_lock(&d->lock);
            continue;
        }
        wait_s(d, HEARTBEAT_S);
        if (atomic_load(&d->stop) || !d->registered)
            continue;
        heartbeat(d);
        if (d->registered && d->stale && atomic_load(&d->health) == 1) {
            /* a reload ran while the Dashboard was away: catch up now it answers */
            d->stale = false;
            pthread_mutex_unlock(&d->lock);
            gw_server_request_reload(d->srv);
            pthread_mutex_lock(&d->lock);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static char *trimmed(const char *url)
{
    char *s = tk_xstrdup(url ? url : "");
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

void gw_dashboard_start(gw_server_t *srv)
{
    const gw_conf_t *conf = srv->conf;
    if (!gw_dashboard_serves_apis(conf) && !gw_dashboard_serves_policies(conf))
        return;
    struct dash *d = tk_xcalloc(1, sizeof(*d));
    d->srv = srv;
    d->base = trimmed(conf->db_app_conf_options_connection_string);
    d->pol_base = trimmed(conf->policies_policy_connection_string);
    if (!*d->base) {
        free(d->base);
        d->base = tk_xstrdup(d->pol_base);
    }
    if (!*d->pol_base) {
        free(d->pol_base);
        d->pol_base = tk_xstrdup(d->base);
    }
    d->timeout_s = conf->db_app_conf_options_connection_timeout > 0
                       ? (long)conf->db_app_conf_options_connection_timeout
                       : 30;
    tk_uuid_hex(d->session_id);
    if (gethostname(d->hostname, sizeof(d->hostname)) != 0)
        snprintf(d->hostname, sizeof(d->hostname), "turnpike");
    d->hostname[sizeof(d->hostname) - 1] = '\0';
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    d->apis = json_array();
    d->pols = json_array();
    D = d;
    if (!*d->base) {
        tk_log_error("dashboard: db_app_conf_options.connection_string is empty: no Dashboard to "
                     "load APIs and policies from");
        return;
    }
    if (!conf->node_secret || !*conf->node_secret)
        tk_log_error("dashboard: node_secret is not set; the Dashboard will refuse this node");
    d->thread_started = pthread_create(&d->thread, NULL, dash_thread, d) == 0;
    if (!d->thread_started)
        tk_log_error("dashboard: cannot start the registration thread");
}

void gw_dashboard_stop(void)
{
    struct dash *d = D;
    if (!d)
        return;
    atomic_store(&d->stop, true); /* aborts a heartbeat in flight, so the lock frees quickly */
    pthread_mutex_lock(&d->lock);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    if (d->thread_started)
        pthread_join(d->thread, NULL);
    if (d->registered) {
        json_t *r = NULL;
        char err[512];
        atomic_store(&d->stop, false); /* let this last call run */
        /* shutting down: do not hang on a slow Dashboard */
        if (call(d, "DELETE", d->base, "/system/node", true, 3, &r, err, sizeof(err)) == 200)
            tk_log_info("dashboard: node %s deregistered", d->node_id);
        else
            tk_log_warn("dashboard: deregistration failed (%s)", err);
        json_decref(r);
    }
    D = NULL;
    tk_curl_free(d->http);
    json_decref(d->apis);
    json_decref(d->pols);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d->base);
    free(d->pol_base);
    free(d);
}

/* ---- the lists ------------------------------------------------------------------------------- */

/* GET @path's Message array into *@cache (replacing it) or keeps *@cache. Caller holds the lock.
 */
static void fetch_list(struct dash *d, const char *base, const char *path, json_t **cache)
{
    if (!d->registered) {
        tk_log_warn("dashboard: not registered yet; %s not fetched (%zu kept)", path,
                    json_array_size(*cache));
        d->stale = true;
        return;
    }
    json_t *r = NULL;
    char err[512];
    long st = call(d, "GET", base, path, true, d->timeout_s, &r, err, sizeof(err));
    json_t *msg = json_object_get(r, "Message");
    if (st == 200 && json_is_array(msg)) {
        json_decref(*cache);
        *cache = json_incref(msg);
        set_up(d, true, NULL);
    } else {
        if (st == 403) {
            /* the node or its nonce is unknown to the Dashboard: register again, then reload */
            d->registered = false;
            pthread_cond_broadcast(&d->wake);
        }
        if (st)
            atomic_store(&d->health, st == 200 ? 1 : 0);
        else
            set_up(d, false, err);
        tk_log_error("dashboard: GET %s failed (%s); keeping the %zu loaded before", path,
                     st == 200 ? "reply is not a {\"Message\": [...]} list" : err,
                     json_array_size(*cache));
        d->stale = true;
    }
    json_decref(r);
}

/* Tyk's MergedAPIList.Filter: a segmented node keeps the APIs, not tags_disabled, that carry one of
 * its tags (none at all when it has no tags). */
static bool in_segment(const gw_conf_t *conf, const json_t *def)
{
    if (!conf->db_app_conf_options_node_is_segmented)
        return true;
    if (json_is_true(json_object_get(def, "tags_disabled")))
        return false;
    const tk_strlist_t *mine = &conf->db_app_conf_options_tags;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(def, "tags"), i, t)
    {
        const char *tag = json_string_value(t);
        for (size_t j = 0; tag && j < mine->n; j++)
            if (strcmp(tag, mine->v[j]) == 0)
                return true;
    }
    return false;
}

json_t *gw_dashboard_apis(void)
{
    struct dash *d = D;
    json_t *out = json_array();
    if (!d)
        return out;
    pthread_mutex_lock(&d->lock);
    fetch_list(d, d->base, "/system/apis", &d->apis);
    json_t *list = json_incref(d->apis);
    pthread_mutex_unlock(&d->lock);
    const gw_conf_t *conf = d->srv->conf;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        /* {"api_definition": {...}, "oas": ...}; a bare definition is taken as it is */
        json_t *def = json_object_get(item, "api_definition");
        if (!json_is_object(def))
            def = item;
        if (json_is_object(def) && in_segment(conf, def))
            json_array_append(out, def);
    }
    json_decref(list);
    return out;
}

void gw_dashboard_load_policies(gw_policies_t *set, tk_conf_errors_t *errs)
{
    struct dash *d = D;
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    fetch_list(d, d->pol_base, "/system/policies", &d->pols);
    json_t *list = json_incref(d->pols);
    pthread_mutex_unlock(&d->lock);
    size_t i;
    json_t *obj;
    json_array_foreach(list, i, obj)
    {
        gw_policy_t p;
        char *perr = NULL;
        if (gw_policy_from_json(obj, &p, &perr) != TK_OK) {
            tk_conf_errors_add(errs, "dashboard policy %zu: %s", i, perr);
            free(perr);
            continue;
        }
        /* Tyk names a Dashboard policy by its object id ("_id"), or by its own "id" when
         * policies.allow_explicit_policy_id is set and the id is not empty */
        bool explicit_id = d->srv->conf->policies_allow_explicit_policy_id && p.id && *p.id;
        if (!explicit_id && p.mid && *p.mid) {
            free(p.id);
            p.id = tk_xstrdup(p.mid);
        }
        if (!p.id || !*p.id) {
            tk_conf_errors_add(errs, "dashboard policy %zu: no \"id\" or \"_id\"", i);
            gw_policy_free(&p);
            continue;
        }
        gw_policies_add(set, &p);
    }
    json_decref(list);
}
