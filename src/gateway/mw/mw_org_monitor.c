/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OrganizationMonitor (enforce_org_quotas): the API's org session from "orgkey.<org>" (cached
 * per worker), then an inactive check, the org rate limit and the org quota with the limiter the
 * keys use (key = HashKey(org id)). As in Tyk, no org session (or a store that cannot answer)
 * lets the request through: org sessions are optional.
 */
#include "gw_mw_common.h"

#include "gw_limits.h"
#include "tk_hash.h"
#include "tk_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORG_PREFIX "orgkey."
/* Same name as gw_control_org.c evicts; a newline never occurs in a request token. */
#define ORG_CACHE_PREFIX "\norgkey."

#define MSG_INACTIVE                                                                               \
    "this organisation access has been disabled, please contact your API administrator"
#define MSG_QUOTA "This organisation quota has been exceeded, please contact your API administrator"
#define MSG_RATE                                                                                   \
    "This organisation rate limit has been exceeded, please contact your API administrator"

struct check {
    gw_wait_t *wait;
    tk_redis_t *redis;
    bool quota_next; /* after the rate limit passes, the quota is its own exchange */
    char q_key[640];
    int64_t quota_max, quota_renewal;
    gw_sref_t *org; /* held for monitor_org_keys after the quota answer */
};

static void check_free(struct check *c)
{
    if (c->org)
        gw_sref_put(c->org);
    free(c);
}

/* monitor.monitor_org_keys: Tyk runs the trigger monitor on the org session once it passed. */
static void monitor(const struct check *c, int rc, const gw_limit_result_t *quota)
{
    if (rc == TK_OK && c->org && c->org->s)
        gw_event_monitor_org(c->org->s, quota);
}

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(api);
    return conf->enforce_org_quotas;
}

static const char *org_of(const gw_req_t *req)
{
    return req->api->org_id ? req->api->org_id : "";
}

static int64_t cache_ttl_ms(const gw_conf_t *conf)
{
    int64_t s = conf->local_session_cache_cached_session_timeout;
    return (s > 0 ? s : 10) * 1000;
}

/* Blocked/unavailable outcome → chain result. The store failing never blocks (Tyk logs it). */
static int verdict(gw_req_t *req, const gw_limit_result_t *r, const char *msg)
{
    if (!r || r->unavailable || !r->blocked)
        return TK_OK;
    tk_log_warn("api=%s org=%s: %s", req->api->api_id, org_of(req), msg);
    gw_event_req(
        req, strcmp(msg, MSG_QUOTA) == 0 ? GW_EV_ORG_QUOTA_EXCEEDED : GW_EV_ORG_RATELIMIT_EXCEEDED,
        org_of(req));
    req->err_status = 403;
    req->err_msg = msg;
    return TK_ERROR;
}

static void on_quota(void *arg, const gw_limit_result_t *res)
{
    struct check *c = arg;
    gw_req_t *req = gw_wait_end(c->wait);
    if (req) {
        int rc = verdict(req, res, MSG_QUOTA);
        monitor(c, rc, res);
        gw_pipeline_resume(req, rc);
    }
    check_free(c);
}

static void on_rate(void *arg, const gw_limit_result_t *res)
{
    struct check *c = arg;
    gw_req_t *req = gw_wait_end(c->wait);
    if (!req) {
        check_free(c);
        return;
    }
    int rc = verdict(req, res, MSG_RATE);
    if (rc == TK_OK && c->quota_next) {
        c->wait = gw_wait_begin(req);
        if (gw_quota_check(c->redis, c->q_key, c->quota_max, c->quota_renewal, on_quota, c) ==
            TK_OK)
            return;
        gw_wait_end(c->wait);
    }
    check_free(c);
    gw_pipeline_resume(req, rc);
}

static void on_both(void *arg, const gw_limit_result_t *rate, const gw_limit_result_t *quota)
{
    struct check *c = arg;
    gw_req_t *req = gw_wait_end(c->wait);
    if (!req) {
        check_free(c);
        return;
    }
    int rc = verdict(req, rate, MSG_RATE);
    if (rc == TK_OK)
        rc = verdict(req, quota, MSG_QUOTA);
    monitor(c, rc, quota);
    check_free(c);
    gw_pipeline_resume(req, rc);
}

/* Tyk's ProcessRequestLive for a loaded org session: TK_OK, TK_ERROR or TK_AGAIN. */
static int check_org(gw_req_t *req, gw_sref_t *sr)
{
    const gw_session_t *s = sr->s;
    if (s->is_inactive) {
        req->err_status = 403;
        req->err_msg = MSG_INACTIVE;
        return TK_ERROR;
    }
    const gw_conf_t *conf = gw_req_conf(req);
    gw_api_limit_t lim;
    gw_session_effective_limit(s, NULL, &lim);
    bool rate_on = lim.rate > 0 && lim.per > 0;
    bool quota_on = lim.quota_max > 0;
    if (!rate_on && !quota_on)
        return TK_OK;
    const char *org = org_of(req);
    char hash[TK_HASH_HEX_MAX + 512];
    if (tk_hash_key(org, strlen(org), conf->hash_keys, hash, sizeof(hash)) != TK_OK)
        return TK_OK;
    char rl_key[700];
    gw_key_rate_limit(rl_key, sizeof(rl_key), NULL, hash, NULL);
    struct check *c = tk_xcalloc(1, sizeof(*c));
    c->redis = req->conn->w->redis;
    c->quota_max = lim.quota_max;
    c->quota_renewal = lim.quota_renewal_rate;
    if (quota_on && gw_req_conf(req)->monitor_monitor_org_keys) {
        gw_sref_get(sr);
        c->org = sr;
    }
    gw_key_quota(c->q_key, sizeof(c->q_key), NULL, hash);
    bool redis_rate = conf->enable_redis_rolling_limiter || conf->enable_sentinel_rate_limiter ||
                      conf->enable_fixed_window_rate_limiter;
    int rc;
    if (rate_on && !redis_rate) {
        gw_server_t *srv = req->conn->w->srv;
        gw_limit_result_t r;
        pthread_mutex_lock(&srv->drl_lock);
        gw_drl_allow(srv->drl, rl_key, s->last_updated, lim.rate, lim.per, 100, tk_now_ns(), &r);
        pthread_mutex_unlock(&srv->drl_lock);
        int drc = verdict(req, &r, MSG_RATE);
        if (drc != TK_OK || !quota_on) {
            check_free(c);
            return drc;
        }
        c->wait = gw_wait_begin(req);
        rc = gw_quota_check(c->redis, c->q_key, c->quota_max, c->quota_renewal, on_quota, c);
    } else if (rate_on && quota_on && conf->enable_redis_rolling_limiter &&
               !conf->enable_sentinel_rate_limiter && !conf->enable_fixed_window_rate_limiter) {
        c->wait = gw_wait_begin(req);
        rc = gw_limits_check(c->redis, rl_key, lim.rate, lim.per, c->q_key, c->quota_max,
                             c->quota_renewal, on_both, c);
    } else if (rate_on) {
        c->quota_next = quota_on;
        c->wait = gw_wait_begin(req);
        if (conf->enable_fixed_window_rate_limiter)
            rc = gw_rl_fixed_window(c->redis, rl_key, lim.rate, lim.per, on_rate, c);
        else if (conf->enable_sentinel_rate_limiter)
            rc = gw_rl_sentinel(c->redis, rl_key, lim.rate, lim.per, on_rate, c);
        else
            rc = gw_rl_sliding_log(c->redis, rl_key, lim.rate, lim.per,
                                   conf->drl_enable_sentinel_rate_limiter, on_rate, c);
    } else {
        c->wait = gw_wait_begin(req);
        rc = gw_quota_check(c->redis, c->q_key, c->quota_max, c->quota_renewal, on_quota, c);
    }
    if (rc != TK_OK) {
        /* Could not ask the store: let the request through, as Tyk does on store errors. */
        gw_wait_end(c->wait);
        check_free(c);
        return TK_OK;
    }
    return TK_AGAIN;
}

struct lookup {
    gw_wait_t *wait;
};

static void cache_put(gw_req_t *req, gw_sref_t *sr)
{
    const gw_conf_t *conf = gw_req_conf(req);
    if (conf->local_session_cache_disable_cached_session_state)
        return;
    char *name = tk_arena_printf(req->arena, ORG_CACHE_PREFIX "%s", org_of(req));
    if (!name)
        return;
    gw_sref_get(sr);
    tk_ttlmap_put(req->conn->w->sessions, name, sr, tk_now_ms() + (uint64_t)cache_ttl_ms(conf));
}

static void on_session(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct lookup *l = arg;
    gw_req_t *req = gw_wait_end(l->wait);
    free(l);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        /* Tyk: the org session "cannot be found", so the request goes on (nothing cached). */
        tk_log_warn("api=%s org=%s: org session store unavailable, not enforcing", req->api->api_id,
                    org_of(req));
        gw_pipeline_resume(req, TK_OK);
        return;
    }
    gw_sref_t *sr = gw_sref_new();
    char *err = NULL;
    if (reply->type != REDIS_REPLY_STRING ||
        gw_session_from_text(reply->str, reply->len, sr->s, &err) != TK_OK) {
        if (err)
            tk_log_warn("org=%s: stored org session does not decode: %s", org_of(req), err);
        free(err);
        /* No org session: remembered (an sref without a session) so Redis is not asked again
         * for every request, like Tyk's OrgHasNoSession; the control API clears it. */
        gw_session_free(sr->s);
        free(sr->s);
        sr->s = NULL;
        cache_put(req, sr);
        gw_sref_put(sr);
        gw_pipeline_resume(req, TK_OK);
        return;
    }
    cache_put(req, sr);
    int rc = check_org(req, sr);
    gw_sref_put(sr);
    if (rc != TK_AGAIN)
        gw_pipeline_resume(req, rc);
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_conf_t *conf = gw_req_conf(req);
    const char *org = org_of(req);
    if (!conf->local_session_cache_disable_cached_session_state) {
        char *name = tk_arena_printf(req->arena, ORG_CACHE_PREFIX "%s", org);
        gw_sref_t *hit = name ? tk_ttlmap_get(req->conn->w->sessions, name, tk_now_ms()) : NULL;
        if (hit) {
            if (!hit->s)
                return TK_OK;
            gw_sref_get(hit);
            int rc = check_org(req, hit);
            gw_sref_put(hit);
            return rc;
        }
    }
    struct lookup *l = tk_xcalloc(1, sizeof(*l));
    const char *argv[2] = {"GET", tk_arena_printf(req->arena, ORG_PREFIX "%s", org)};
    l->wait = gw_wait_begin(req);
    if (tk_redis_cmd_argv(req->conn->w->redis, on_session, l, 2, argv, NULL) != TK_OK) {
        gw_wait_end(l->wait);
        free(l);
        tk_log_debug("api=%s org=%s: Redis not connected, org limits not enforced",
                     req->api->api_id, org);
        return TK_OK;
    }
    return TK_AGAIN;
}

const gw_mw_def_t gw_mw_org_monitor = {
    .name = "OrganizationMonitor",
    .phase = GW_PHASE_PRE,
    .enabled = enabled,
    .on_req = on_req,
};
