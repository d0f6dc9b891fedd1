/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Circuit breakers (extended_paths.circuit_breakers), checked where Tyk checks them: just
 * before the upstream call, so mocks and errors earlier in the chain never reach a breaker.
 * Each entry is a rate breaker shared by every worker thread of the API's generation:
 * - outcomes are counted in a rolling 10 s window (10 one-second buckets); a 5xx response or
 *   an upstream failure (connect error, timeout) is a failure, anything else a success;
 * - it trips once the window holds at least `samples` outcomes and failures/outcomes ≥
 *   `threshold_percent` (a fraction, 0.5 = half); while open the client gets
 *   503 "Service temporarily unavailable." and the upstream is not called;
 * - `return_to_service_after` seconds after tripping it resets (closed, window cleared);
 * - half-open (unless disable_half_open_state): once the back-off since the last failure has
 *   passed (500 ms, then ×1.5 per probe, at most 60 s) one request goes through; a success
 *   closes the breaker, a failure keeps it open. Tyk's library randomises that back-off by
 *   ±50 %; here it is deterministic.
 */
#include "gw_endpoints.h"
#include "gw_mw_common.h"
#include "gw_resp_filter.h"

#include "tk_log.h"

#include <pthread.h>
#include <stdlib.h>

#define WINDOW_BUCKETS 10 /* one per second: a 10 s window */
#define BACKOFF_INITIAL_NS 500000000ull
#define BACKOFF_MAX_NS 60000000000ull

typedef struct breaker {
    pthread_mutex_t mu;
    const gw_api_t *api; /* for events */
    char *api_id, *path;
    double threshold;
    int64_t samples;
    uint64_t return_ns;
    bool no_half_open;
    bool tripped;
    uint64_t last_failure_ns, reset_at_ns, backoff_ns;
    uint64_t probe_ns; /* when the last half-open probe went out */
    struct {
        uint64_t sec;
        uint32_t ok, fail;
    } win[WINDOW_BUCKETS];
} breaker_t;

typedef struct cb_state {
    breaker_t **all;
    size_t n;
} cb_state_t;

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_CIRCUIT_BREAKERS);
}

static void window_clear(breaker_t *b)
{
    memset(b->win, 0, sizeof(b->win));
}

static void window_add(breaker_t *b, uint64_t now_ns, bool ok)
{
    uint64_t sec = now_ns / 1000000000ull;
    size_t i = sec % WINDOW_BUCKETS;
    if (b->win[i].sec != sec) {
        b->win[i].sec = sec;
        b->win[i].ok = b->win[i].fail = 0;
    }
    if (ok)
        b->win[i].ok++;
    else
        b->win[i].fail++;
}

static void window_sum(const breaker_t *b, uint64_t now_ns, uint64_t *ok, uint64_t *fail)
{
    uint64_t sec = now_ns / 1000000000ull;
    *ok = *fail = 0;
    for (size_t i = 0; i < WINDOW_BUCKETS; i++) {
        if (b->win[i].sec + WINDOW_BUCKETS > sec) {
            *ok += b->win[i].ok;
            *fail += b->win[i].fail;
        }
    }
}

/* Caller holds b->mu. */
static void breaker_reset(breaker_t *b)
{
    b->tripped = false;
    b->backoff_ns = BACKOFF_INITIAL_NS;
    window_clear(b);
    tk_log_info("api=%s [PROXY] [CIRCUIT BREAKER] Breaker reset for path: %s", b->api_id, b->path);
    gw_event_breaker(b->api, false, b->path);
}

/* May this request go to the upstream? */
static bool breaker_ready(breaker_t *b)
{
    uint64_t now = tk_now_ns();
    bool ok = true;
    pthread_mutex_lock(&b->mu);
    if (b->tripped && now >= b->reset_at_ns)
        breaker_reset(b); /* return_to_service_after has passed */
    if (b->tripped) {
        ok = !b->no_half_open && now - b->last_failure_ns > b->backoff_ns &&
             now - b->probe_ns > b->backoff_ns;
        if (ok) { /* half-open: this one request probes the upstream */
            b->probe_ns = now;
            uint64_t next = b->backoff_ns + b->backoff_ns / 2;
            b->backoff_ns = next > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : next;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

static void breaker_record(breaker_t *b, bool ok)
{
    uint64_t now = tk_now_ns();
    pthread_mutex_lock(&b->mu);
    if (ok) {
        if (b->tripped && !b->no_half_open && now - b->last_failure_ns > BACKOFF_INITIAL_NS)
            breaker_reset(b); /* the upstream answers again */
        if (!b->tripped)
            b->backoff_ns = BACKOFF_INITIAL_NS;
        window_add(b, now, true);
    } else {
        window_add(b, now, false);
        b->last_failure_ns = now;
        uint64_t nok, nfail;
        window_sum(b, now, &nok, &nfail);
        uint64_t total = nok + nfail;
        if (!b->tripped && total > 0 && (int64_t)total >= b->samples &&
            (double)nfail / (double)total >= b->threshold) {
            b->tripped = true;
            b->reset_at_ns = now + b->return_ns;
            tk_log_warn("api=%s [PROXY] [CIRCUIT BREAKER] Breaker tripped for path: %s", b->api_id,
                        b->path);
            gw_event_breaker(b->api, true, b->path);
        }
    }
    pthread_mutex_unlock(&b->mu);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    cb_state_t *st = tk_xcalloc(1, sizeof(*st));
    for (size_t i = 0; i < api->versions->n; i++) {
        gw_version_t *v = &api->versions->v[i];
        for (size_t j = 0; j < v->n_eps[GW_EP_CIRCUIT_BREAKERS]; j++) {
            gw_ep_t *ep = &v->eps[GW_EP_CIRCUIT_BREAKERS][j];
            breaker_t *b = tk_xcalloc(1, sizeof(*b));
            pthread_mutex_init(&b->mu, NULL);
            b->api = api;
            b->api_id = tk_xstrdup(api->api_id);
            b->path = tk_xstrdup(ep->path);
            json_t *t = json_object_get(ep->entry, "threshold_percent");
            b->threshold = json_is_number(t) ? json_number_value(t) : 0;
            json_t *s = json_object_get(ep->entry, "samples");
            b->samples = json_is_integer(s) ? json_integer_value(s) : 0;
            json_t *r = json_object_get(ep->entry, "return_to_service_after");
            double secs = json_is_number(r) ? json_number_value(r) : 0;
            b->return_ns = secs > 0 ? (uint64_t)(secs * 1e9) : 0;
            b->no_half_open = json_is_true(json_object_get(ep->entry, "disable_half_open_state"));
            b->backoff_ns = BACKOFF_INITIAL_NS;
            ep->state = b;
            st->all = tk_xrealloc(st->all, (st->n + 1) * sizeof(*st->all));
            st->all[st->n++] = b;
        }
    }
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    cb_state_t *st = mw->state;
    for (size_t i = 0; st && i < st->n; i++) {
        pthread_mutex_destroy(&st->all[i]->mu);
        free(st->all[i]->api_id);
        free(st->all[i]->path);
        free(st->all[i]);
    }
    if (st)
        free(st->all);
    free(st);
    mw->state = NULL;
}

static void on_head(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs)
{
    TK_UNUSED(req);
    TK_UNUSED(hdrs);
    breaker_record(arg, *status / 100 != 5);
}

static void on_up_fail(gw_req_t *req, void *arg)
{
    TK_UNUSED(req);
    breaker_record(arg, false);
}

static const gw_resp_filter_def_t filter = {.name = "CircuitBreaker", .on_head = on_head};

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_ep_match(req, GW_EP_CIRCUIT_BREAKERS);
    if (!ep || !ep->state)
        return TK_OK;
    breaker_t *b = ep->state;
    if (!breaker_ready(b)) {
        req->err_status = 503;
        req->err_msg = "Service temporarily unavailable.";
        return TK_ERROR;
    }
    if (gw_resp_filter_add(req, &filter, b) != TK_OK) {
        req->err_status = 500;
        req->err_msg = "There was a problem proxying the request";
        return TK_ERROR;
    }
    req->on_up_fail = on_up_fail;
    req->on_up_fail_arg = b;
    return TK_OK;
}

const gw_mw_def_t gw_mw_circuit_breaker = {
    .name = "CircuitBreaker",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
