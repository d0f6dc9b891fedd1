/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RateLimitForAPI: the API-wide global_rate_limit, one limit shared by every caller, under
 * Tyk's key "rate-limit-apilimiter-<org><api>". In memory by default; in Redis when a Redis
 * limiter is configured, as Tyk runs it with a pseudo-session {rate, per}.
 */
#include "gw_mw_common.h"

#include "gw_limits.h"

#include <pthread.h>
#include <stdlib.h>

#define STORE_UNAVAILABLE "Rate limit store unavailable, please retry"

struct state {
    double rate, per;
    char key[512];
};

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    json_t *g = json_object_get(api->def, "global_rate_limit");
    json_t *rate = json_object_get(g, "rate"), *per = json_object_get(g, "per");
    return json_is_object(g) && !json_is_true(json_object_get(g, "disabled")) &&
           json_number_value(rate) > 0 && json_number_value(per) > 0;
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    json_t *g = json_object_get(api->def, "global_rate_limit");
    struct state *st = tk_xcalloc(1, sizeof(*st));
    st->rate = json_number_value(json_object_get(g, "rate"));
    st->per = json_number_value(json_object_get(g, "per"));
    gw_key_apilimiter(st->key, sizeof(st->key), api->org_id, api->api_id);
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    free(mw->state);
}

static int verdict(gw_req_t *req, const gw_limit_result_t *r)
{
    if (r->unavailable) {
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        return TK_ERROR;
    }
    if (r->blocked) {
        req->err_status = 429;
        req->err_msg = "API Rate Limit Exceeded";
        return TK_ERROR;
    }
    return TK_OK;
}

static void on_result(void *arg, const gw_limit_result_t *r)
{
    gw_req_t *req = gw_wait_end(arg);
    if (req)
        gw_pipeline_resume(req, verdict(req, r));
}

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    const gw_conf_t *conf = gw_req_conf(req);
    gw_server_t *srv = req->conn->w->srv;
    if (!conf->enable_redis_rolling_limiter && !conf->enable_sentinel_rate_limiter &&
        !conf->enable_fixed_window_rate_limiter) {
        gw_limit_result_t r;
        pthread_mutex_lock(&srv->drl_lock);
        gw_drl_allow(srv->drl, st->key, NULL, st->rate, st->per, 100, tk_now_ns(), &r);
        pthread_mutex_unlock(&srv->drl_lock);
        return verdict(req, &r);
    }
    gw_wait_t *w = gw_wait_begin(req);
    tk_redis_t *redis = req->conn->w->redis;
    int rc = conf->enable_fixed_window_rate_limiter
                 ? gw_rl_fixed_window(redis, st->key, st->rate, st->per, on_result, w)
             : conf->enable_sentinel_rate_limiter
                 ? gw_rl_sentinel(redis, st->key, st->rate, st->per, on_result, w)
                 : gw_rl_sliding_log(redis, st->key, st->rate, st->per, false, on_result, w);
    if (rc != TK_OK) {
        gw_wait_end(w);
        req->err_status = 503;
        req->err_msg = STORE_UNAVAILABLE;
        return TK_ERROR;
    }
    return TK_AGAIN;
}

const gw_mw_def_t gw_mw_api_rate_limit = {
    .name = "RateLimitForAPI",
    .phase = GW_PHASE_RATE,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
