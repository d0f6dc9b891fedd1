/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RateLimitAndQuotaCheck: the key's rate limit, then its quota, with Tyk's limiter choice
 * (in-memory DRL by default; Redis sliding log, sentinel or fixed window when configured).
 * With the sliding log and a quota, both go to Redis in one exchange. Redis being unreachable
 * is a 503, never a false 429/403.
 *
 * A matching endpoint-level limit (access_rights[api].endpoints) replaces the API's rate and
 * per and counts under its own key ("...-<HashStr(METHOD:path)>"). Throttling
 * (throttle_retry_limit / throttle_interval) waits on a libevent timer, never in the worker:
 * the request holds a wait ticket while the timer runs, so a client that goes away is safe.
 */
#include "gw_mw_common.h"

#include "gw_endpoint_rl.h"
#include "gw_limits.h"
#include "tk_log.h"

#include <event2/event.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STORE_UNAVAILABLE "Rate limit store unavailable, please retry"

struct check {
    gw_wait_t *wait;
    bool dry;        /* a throttle retry's dry run (Tyk's ForwardMessage(dryRun=true)) */
    int64_t level;   /* throttle retries so far for this request (Tyk's ThrottleLevel) */
    bool quota_only; /* the rate limit was already decided (in memory or a first exchange) */
    gw_limit_result_t rate;
    /* A quota still to check after a Redis rate limiter that cannot share its exchange. */
    bool then_quota;
    tk_redis_t *redis;
    int64_t quota_max, renewal;
    char q_key[640];
};

/* A throttle wait: the timer holds the ticket, not the request. */
struct throttle {
    struct event *ev;
    gw_wait_t *wait;
    int64_t level;
};

static int start(gw_req_t *req, bool dry, int64_t level);

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return !api->use_keyless && !(json_is_true(json_object_get(api->def, "disable_rate_limit")) &&
                                  json_is_true(json_object_get(api->def, "disable_quota")));
}

static bool rate_headers_mode(const gw_conf_t *conf)
{
    return conf->rate_limit_response_headers &&
           strcmp(conf->rate_limit_response_headers, "rate_limits") == 0;
}

/* X-RateLimit-* for the response (Tyk's "quotas" mode by default, "rate_limits" on request). */
static void set_headers(gw_req_t *req, const gw_limit_result_t *rate,
                        const gw_limit_result_t *quota, const gw_api_limit_t *lim)
{
    gw_limit_result_t from_session = {.limit = lim->quota_max,
                                      .remaining = lim->quota_remaining,
                                      .reset_unix = lim->quota_renews};
    const gw_limit_result_t *r = rate_headers_mode(gw_req_conf(req)) ? rate
                                 : quota                             ? quota
                                                                     : &from_session;
    if (!r)
        return;
    gw_limit_headers_t h;
    gw_limit_headers(r, &h);
    gw_req_add_resp_headers(
        req, tk_arena_printf(
                 req->arena,
                 "X-RateLimit-Limit: %s\r\nX-RateLimit-Remaining: %s\r\nX-RateLimit-Reset: %s\r\n",
                 h.limit, h.remaining, h.reset));
}

static int rate_limited(gw_req_t *req)
{
    req->err_status = 429;
    req->err_msg = "Rate Limit Exceeded";
    return TK_ERROR;
}

static int decide(gw_req_t *req, const gw_limit_result_t *rate, const gw_limit_result_t *quota)
{
    if ((rate && rate->unavailable) || (quota && quota->unavailable)) {
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        return TK_ERROR;
    }
    if (rate && rate->blocked)
        return rate_limited(req);
    if (quota && quota->blocked) {
        req->err_status = 403;
        req->err_msg = "Quota exceeded";
        return TK_ERROR;
    }
    return TK_OK;
}

/*
 * The limits for this request (§10.1): the access right's limit or the session root, then a
 * matching endpoint-level limit in place of rate/per. @suffix gets the endpoint's key suffix
 * ("" when none matched).
 */
static void effective(const gw_req_t *req, gw_api_limit_t *lim, const char **scope, char suffix[72])
{
    const gw_session_t *s = req->session->s;
    const gw_access_t *ad = gw_session_access(s, req->api->api_id);
    gw_session_effective_limit(s, ad, lim);
    *scope = ad && ad->allowance_scope && *ad->allowance_scope ? ad->allowance_scope : NULL;
    suffix[0] = '\0';
    if (!ad || ad->n_endpoints == 0)
        return;
    const gw_conf_t *conf = gw_req_conf(req);
    const char *stripped = req->path + req->matched;
    if (*stripped != '/')
        stripped = tk_arena_printf(req->arena, "/%s", stripped);
    gw_endpoint_rl_t ep;
    if (gw_endpoint_rl_find(ad->endpoints, ad->n_endpoints, req->head->method,
                            req->head->method_len, stripped, conf->hso_enable_path_prefix_matching,
                            conf->hso_enable_path_suffix_matching, &ep)) {
        lim->rate = ep.rate;
        lim->per = ep.per;
        memcpy(suffix, ep.key_suffix, sizeof(ep.key_suffix));
    }
}

static void on_throttle_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    struct throttle *t = arg;
    gw_req_t *req = gw_wait_end(t->wait);
    int64_t level = t->level;
    event_free(t->ev);
    free(t);
    if (!req)
        return;
    int rc = start(req, true, level);
    if (rc != TK_AGAIN)
        gw_pipeline_resume(req, rc);
}

/* Tyk: ThrottleLevel+1, then sleep throttle_interval seconds before a dry run. */
static int throttle_wait(gw_req_t *req, const gw_api_limit_t *lim, int64_t level)
{
    struct throttle *t = tk_xcalloc(1, sizeof(*t));
    t->level = level + 1;
    t->ev = evtimer_new(req->conn->w->base, on_throttle_timer, t);
    double secs = lim->throttle_interval > 0 ? lim->throttle_interval : 0;
    struct timeval tv = {.tv_sec = (time_t)secs,
                         .tv_usec = (suseconds_t)((secs - floor(secs)) * 1e6)};
    t->wait = gw_wait_begin(req);
    evtimer_add(t->ev, &tv);
    return TK_AGAIN;
}

/*
 * Both results are in. Returns TK_OK / TK_ERROR for the pipeline, or TK_AGAIN when a throttle
 * retry (or the full re-check after a passing dry run) is under way.
 */
static int conclude(gw_req_t *req, bool dry, int64_t level, const gw_limit_result_t *rate,
                    const gw_limit_result_t *quota)
{
    gw_api_limit_t lim;
    const char *scope;
    char suffix[72];
    effective(req, &lim, &scope, suffix);
    const gw_conf_t *conf = gw_req_conf(req);
    int rc = decide(req, rate, quota);
    bool unavailable = (rate && rate->unavailable) || (quota && quota->unavailable);
    if (dry && !unavailable) {
        /* Tyk checks the level before the dry run's verdict: past the limit it is a 429 even
         * when the dry run passed; a passing dry run re-runs the real check. */
        if (level > lim.throttle_retry_limit)
            rc = rate_limited(req);
        else if (rc == TK_OK)
            return start(req, false, level);
        else
            return throttle_wait(req, &lim, level);
    } else if (!dry && rate && rate->blocked && !unavailable && lim.throttle_retry_limit > 0) {
        return throttle_wait(req, &lim, level);
    }
    /* "quotas" headers go on answered requests; "rate_limits" headers on every one (Tyk). */
    if (rc == TK_OK || rate_headers_mode(conf))
        set_headers(req, rate, quota, &lim);
    gw_event_limits(req, rc, quota);
    return rc;
}

static void on_both(void *arg, const gw_limit_result_t *rate, const gw_limit_result_t *quota)
{
    struct check *c = arg;
    gw_req_t *req = gw_wait_end(c->wait);
    gw_limit_result_t r = c->rate;
    bool dry = c->dry;
    int64_t level = c->level;
    free(c);
    if (!req)
        return;
    int rc = conclude(req, dry, level, rate ? rate : &r, quota);
    if (rc != TK_AGAIN)
        gw_pipeline_resume(req, rc);
}

static void on_one(void *arg, const gw_limit_result_t *res)
{
    struct check *c = arg;
    if (c->quota_only) {
        on_both(arg, NULL, res);
        return;
    }
    if (c->then_quota && !res->blocked && !res->unavailable) {
        /* The rate passed: now the quota, on the same wait ticket (rate before quota, as Tyk). */
        c->rate = *res;
        c->quota_only = true;
        if (gw_quota_check(c->redis, c->q_key, c->quota_max, c->renewal, on_one, c) == TK_OK)
            return;
        gw_limit_result_t down = {.unavailable = true};
        on_both(arg, NULL, &down);
        return;
    }
    on_both(arg, res, NULL);
}

/*
 * One run of Tyk's ForwardMessage. @dry: a throttle retry, where the in-memory bucket is only
 * looked at; as in Tyk 5, the Redis limiters and the quota still count during a dry run.
 */
static int start(gw_req_t *req, bool dry, int64_t level)
{
    const gw_conf_t *conf = gw_req_conf(req);
    const gw_api_t *api = req->api;
    gw_server_t *srv = req->conn->w->srv;
    gw_api_limit_t lim;
    const char *scope;
    char suffix[72];
    effective(req, &lim, &scope, suffix);
    bool rate_on = lim.rate > 0 && lim.per > 0 &&
                   !json_is_true(json_object_get(api->def, "disable_rate_limit"));
    bool quota_on = lim.quota_max > 0 && !json_is_true(json_object_get(api->def, "disable_quota"));
    if (!rate_on && !quota_on)
        return conclude(req, dry, level, NULL, NULL);
    char rl_key[640], q_key[640];
    gw_key_rate_limit(rl_key, sizeof(rl_key), scope, req->session_hash, suffix);
    gw_key_quota(q_key, sizeof(q_key), scope, req->session_hash);
    tk_redis_t *redis = req->conn->w->redis;
    struct check *c = tk_xcalloc(1, sizeof(*c));
    c->dry = dry;
    c->level = level;
    bool redis_rate = conf->enable_redis_rolling_limiter || conf->enable_sentinel_rate_limiter ||
                      conf->enable_fixed_window_rate_limiter;
    /* Tyk's default DRL: with N live gateways each takes 1/N of the rate in memory, unless the
     * rate is too low to split (N * drl_threshold >= rate/per): then the Redis sliding log. */
    int peers = atomic_load(&srv->drl_peers);
    int n = peers > 1 ? peers : 1;
    double threshold = conf->drl_threshold > 0 ? conf->drl_threshold : 5;
    bool drl_to_redis = !redis_rate && n > 1 && n * threshold >= lim.rate / lim.per;
    int rc;
    if (rate_on && !redis_rate && !drl_to_redis) {
        const char *lu = req->session->s->last_updated;
        pthread_mutex_lock(&srv->drl_lock);
        if (dry) {
            c->rate.limit = (int64_t)lim.rate;
            c->rate.blocked = gw_drl_peek(srv->drl, rl_key, lu, tk_now_ns());
        } else {
            gw_drl_allow(srv->drl, rl_key, lu, lim.rate, lim.per, 100 * n, tk_now_ns(), &c->rate);
        }
        pthread_mutex_unlock(&srv->drl_lock);
        if (c->rate.blocked || !quota_on) {
            gw_limit_result_t r = c->rate;
            free(c);
            return conclude(req, dry, level, &r, NULL);
        }
        c->quota_only = true;
        c->wait = gw_wait_begin(req);
        rc = gw_quota_check(redis, q_key, lim.quota_max, lim.quota_renewal_rate, on_one, c);
    } else if (rate_on && quota_on &&
               (drl_to_redis ||
                (conf->enable_redis_rolling_limiter && !conf->enable_sentinel_rate_limiter &&
                 !conf->enable_fixed_window_rate_limiter)) &&
               !(drl_to_redis && conf->drl_enable_sentinel_rate_limiter)) {
        c->wait = gw_wait_begin(req);
        rc = gw_limits_check(redis, rl_key, lim.rate, lim.per, q_key, lim.quota_max,
                             lim.quota_renewal_rate, on_both, c);
    } else if (rate_on) {
        /* Sentinel / fixed window, or a Redis limiter without a quota: the rate first; a quota
         * cannot share that exchange and is checked on its own one afterwards (on_one). */
        c->wait = gw_wait_begin(req);
        if (quota_on) {
            c->then_quota = true;
            c->redis = redis;
            c->quota_max = lim.quota_max;
            c->renewal = lim.quota_renewal_rate;
            snprintf(c->q_key, sizeof(c->q_key), "%s", q_key);
        }
        if (conf->enable_fixed_window_rate_limiter)
            rc = gw_rl_fixed_window(redis, rl_key, lim.rate, lim.per, on_one, c);
        else if (conf->enable_sentinel_rate_limiter)
            rc = gw_rl_sentinel(redis, rl_key, lim.rate, lim.per, on_one, c);
        else
            rc = gw_rl_sliding_log(redis, rl_key, lim.rate, lim.per,
                                   drl_to_redis && conf->drl_enable_sentinel_rate_limiter, on_one,
                                   c);
    } else {
        c->quota_only = true;
        c->wait = gw_wait_begin(req);
        rc = gw_quota_check(redis, q_key, lim.quota_max, lim.quota_renewal_rate, on_one, c);
    }
    if (rc != TK_OK) {
        gw_wait_end(c->wait);
        free(c);
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        return TK_ERROR;
    }
    return TK_AGAIN;
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    return start(req, false, 0);
}

const gw_mw_def_t gw_mw_rate_limit = {
    .name = "RateLimitAndQuotaCheck",
    .phase = GW_PHASE_RATE,
    .enabled = enabled,
    .on_req = on_req,
};
