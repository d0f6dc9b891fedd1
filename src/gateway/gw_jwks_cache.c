/* SPDX-License-Identifier: Apache-2.0 */
/* Per-worker JWKS copies with asynchronous (discovery then) key-set downloads. */
#include "gw_jwks_cache.h"

#include "gw_mw_common.h"
#include "gw_oidc_discovery.h"
#include "gw_server.h"
#include "tk_httpc.h"
#include "tk_jwt.h"
#include "tk_log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FETCH_TIMEOUT_MS 10000 /* one download */
#define MAX_BODY (1024 * 1024) /* documents larger than this are refused */
#define MIN_SLOTS 1024         /* per-worker copies (indexed by worker id) */

/* One configured source. */
struct source {
    char *jwks_url; /* a JWKS URL source, or NULL */
    char *disc_url; /* an issuer's discovery URL, or NULL */
    uint64_t ttl_ms;
};

/* A worker's copy of one source. */
struct entry {
    tk_jwks_t *set;
    uint64_t expires_ms;
    char *jwks_url;           /* issuer sources: from the discovery document */
    uint64_t disc_expires_ms; /* issuer sources: when to read the document again */
    uint64_t last_try_ms;     /* start of the last download, 0 = never */
    tk_httpc_t *fetch;        /* running download, or NULL */
};

/* A request waiting for a download. */
struct waiter {
    struct waiter *next;
    gw_wait_t *wait;
    gw_jwks_retry_fn retry;
    gw_jwks_drop_fn drop;
    void *arg;
};

/* Everything one worker keeps (only that worker's thread touches it). */
struct copy {
    struct entry *e; /* one per source */
    struct waiter *waiters;
};

struct gw_jwks_cache {
    char *who;
    struct source *src;
    size_t nsrc;
    struct copy **wc; /* by worker id, created by that worker on first use */
    size_t nwc;
};

/* A download of one source for one worker's copy; it holds the request's generation meanwhile. */
struct fetch {
    gw_jwks_cache_t *c;
    struct copy *wc;
    size_t i;
    bool discovery; /* this download is the discovery document */
    gw_genref_t *gref;
    gw_worker_t *w;
    bool verify;
};

gw_jwks_cache_t *gw_jwks_cache_new(const gw_conf_t *conf, const char *who)
{
    gw_jwks_cache_t *c = tk_xcalloc(1, sizeof(*c));
    c->who = tk_xstrdup(who);
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    size_t n = MIN_SLOTS;
    if (conf && conf->turnpike_workers > 0 && (size_t)conf->turnpike_workers > n)
        n = (size_t)conf->turnpike_workers;
    if (cpus > 0 && (size_t)cpus > n)
        n = (size_t)cpus;
    c->wc = tk_xcalloc(n, sizeof(*c->wc));
    c->nwc = n;
    return c;
}

static void add(gw_jwks_cache_t *c, char *jwks_url, char *disc_url, uint64_t ttl_s)
{
    c->src = tk_xrealloc(c->src, (c->nsrc + 1) * sizeof(*c->src));
    c->src[c->nsrc].jwks_url = jwks_url;
    c->src[c->nsrc].disc_url = disc_url;
    c->src[c->nsrc].ttl_ms = (ttl_s > 0 ? ttl_s : GW_JWKS_DEFAULT_TTL_S) * 1000;
    c->nsrc++;
}

void gw_jwks_cache_add_url(gw_jwks_cache_t *c, const char *url, uint64_t ttl_s)
{
    add(c, tk_xstrdup(url), NULL, ttl_s);
}

void gw_jwks_cache_add_issuer(gw_jwks_cache_t *c, const char *issuer, uint64_t ttl_s)
{
    add(c, NULL, gw_oidc_discovery_url(issuer), ttl_s);
}

size_t gw_jwks_cache_size(const gw_jwks_cache_t *c)
{
    return c ? c->nsrc : 0;
}

void gw_jwks_cache_free(gw_jwks_cache_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nwc; i++) {
        struct copy *wc = c->wc[i];
        if (!wc)
            continue;
        while (wc->waiters) {
            struct waiter *wt = wc->waiters;
            wc->waiters = wt->next;
            gw_wait_end(wt->wait);
            wt->drop(wt->arg);
            free(wt);
        }
        for (size_t j = 0; j < c->nsrc; j++) {
            tk_jwks_free(wc->e[j].set);
            free(wc->e[j].jwks_url);
        }
        free(wc->e);
        free(wc);
    }
    free(c->wc);
    for (size_t i = 0; i < c->nsrc; i++) {
        free(c->src[i].jwks_url);
        free(c->src[i].disc_url);
    }
    free(c->src);
    free(c->who);
    free(c);
}

static struct copy *copy_of(gw_jwks_cache_t *c, gw_req_t *req)
{
    size_t id = (size_t)req->conn->w->id;
    if (id >= c->nwc)
        return NULL;
    if (!c->wc[id]) {
        c->wc[id] = tk_xcalloc(1, sizeof(*c->wc[id]));
        c->wc[id]->e = tk_xcalloc(c->nsrc ? c->nsrc : 1, sizeof(*c->wc[id]->e));
    }
    return c->wc[id];
}

static void fetched(int status, const char *body, size_t len, const char *err, void *arg);

/* Starts the download @f describes (@url); false when the URL is unusable. */
static bool fetch_start(struct fetch *f, const char *url)
{
    gw_worker_t *w = f->w;
    tk_httpc_opts_t o = {
        .base = w->base,
        .dns = w->dns,
        .ssl_ctx = f->verify ? w->srv->up_ssl_verify : w->srv->up_ssl_noverify,
        .verify_host = f->verify,
        .timeout_ms = FETCH_TIMEOUT_MS,
        .max_body = MAX_BODY,
    };
    struct entry *e = &f->wc->e[f->i];
    e->fetch = tk_httpc_get(&o, url, fetched, f);
    if (!e->fetch)
        tk_log_warn("%s: unusable %s URL %s", f->c->who, f->discovery ? "discovery" : "JWKS", url);
    return e->fetch != NULL;
}

static void source_fetch(gw_jwks_cache_t *c, struct copy *wc, size_t i, gw_req_t *req)
{
    struct entry *e = &wc->e[i];
    const struct source *s = &c->src[i];
    uint64_t now = tk_now_ms();
    struct fetch *f = tk_xcalloc(1, sizeof(*f));
    f->c = c;
    f->wc = wc;
    f->i = i;
    f->w = req->conn->w;
    f->verify = !gw_req_conf(req)->jwt_ssl_insecure_skip_verify;
    f->discovery = s->disc_url && (!e->jwks_url || now >= e->disc_expires_ms);
    f->gref = req->gref;
    f->gref->inflight++;
    e->last_try_ms = now;
    const char *url = f->discovery ? s->disc_url : s->jwks_url ? s->jwks_url : e->jwks_url;
    if (!fetch_start(f, url)) {
        gw_worker_gen_release(f->gref);
        free(f);
    }
}

const json_t *gw_jwks_cache_find(gw_jwks_cache_t *c, gw_req_t *req, const char *kid, bool *wait)
{
    *wait = false;
    struct copy *wc = kid ? copy_of(c, req) : NULL;
    if (!wc)
        return NULL;
    uint64_t now = tk_now_ms();
    for (size_t i = 0; i < c->nsrc; i++) {
        struct entry *e = &wc->e[i];
        const json_t *j = e->set && now < e->expires_ms ? tk_jwks_find(e->set, kid, NULL) : NULL;
        if (j)
            return j;
    }
    for (size_t i = 0; i < c->nsrc; i++) {
        struct entry *e = &wc->e[i];
        if (!e->fetch && (e->last_try_ms == 0 || now - e->last_try_ms >= GW_JWKS_REFETCH_MIN_MS))
            source_fetch(c, wc, i, req);
        if (e->fetch)
            *wait = true;
    }
    if (*wait)
        return NULL;
    /* No download possible now: an expired set is better than none. */
    for (size_t i = 0; i < c->nsrc; i++) {
        const json_t *j = wc->e[i].set ? tk_jwks_find(wc->e[i].set, kid, NULL) : NULL;
        if (j)
            return j;
    }
    return NULL;
}

bool gw_jwks_cache_refresh(gw_jwks_cache_t *c, gw_req_t *req)
{
    struct copy *wc = copy_of(c, req);
    if (!wc)
        return false;
    uint64_t now = tk_now_ms();
    bool running = false;
    for (size_t i = 0; i < c->nsrc; i++) {
        struct entry *e = &wc->e[i];
        if (!e->fetch && (e->last_try_ms == 0 || now - e->last_try_ms >= GW_JWKS_REFETCH_MIN_MS))
            source_fetch(c, wc, i, req);
        running = running || e->fetch;
    }
    return running;
}

void gw_jwks_cache_park(gw_jwks_cache_t *c, gw_req_t *req, gw_jwks_retry_fn retry,
                        gw_jwks_drop_fn drop, void *arg)
{
    struct copy *wc = copy_of(c, req);
    struct waiter *wt = tk_xcalloc(1, sizeof(*wt));
    wt->retry = retry;
    wt->drop = drop;
    wt->arg = arg;
    wt->wait = gw_wait_begin(req);
    wt->next = wc->waiters;
    wc->waiters = wt;
}

/* A discovery document arrived: remember its jwks_uri and chain the key-set download. */
static bool discovered(struct fetch *f, const char *body, size_t len, const char *url)
{
    struct entry *e = &f->wc->e[f->i];
    char *perr = NULL;
    char *jwks = gw_oidc_jwks_uri(body, len, &perr);
    if (!jwks) {
        tk_log_warn("%s: discovery document %s unusable: %s", f->c->who, url, perr);
        free(perr);
        return false;
    }
    free(e->jwks_url);
    e->jwks_url = jwks;
    e->disc_expires_ms = tk_now_ms() + f->c->src[f->i].ttl_ms;
    f->discovery = false;
    return fetch_start(f, e->jwks_url);
}

static void fetched(int status, const char *body, size_t len, const char *err, void *arg)
{
    struct fetch *f = arg;
    gw_jwks_cache_t *c = f->c;
    struct copy *wc = f->wc;
    struct entry *e = &wc->e[f->i];
    const char *url = f->discovery            ? c->src[f->i].disc_url
                      : c->src[f->i].jwks_url ? c->src[f->i].jwks_url
                                              : e->jwks_url;
    e->fetch = NULL;
    if (err) {
        tk_log_warn("%s: failed to fetch %s: %s", c->who, url, err);
    } else if (status != 200) {
        tk_log_warn("%s: %s answered %d", c->who, url, status);
    } else if (f->discovery) {
        if (discovered(f, body, len, url))
            return; /* the same fetch goes on with the key set; waiters keep waiting */
    } else {
        char *perr = NULL;
        tk_jwks_t *set = tk_jwks_parse(body, len, &perr);
        if (set) {
            tk_jwks_free(e->set);
            e->set = set;
            e->expires_ms = tk_now_ms() + c->src[f->i].ttl_ms;
        } else {
            tk_log_warn("%s: JWKS %s unreadable: %s", c->who, url, perr ? perr : "?");
            free(perr);
        }
    }
    /* Everyone waiting tries again; those still missing a running download wait on. */
    struct waiter *list = wc->waiters;
    wc->waiters = NULL;
    while (list) {
        struct waiter *wt = list;
        list = wt->next;
        gw_req_t *req = gw_wait_end(wt->wait);
        if (!req) {
            wt->drop(wt->arg);
        } else {
            int rc = wt->retry(req, wt->arg);
            if (rc != TK_AGAIN)
                gw_pipeline_resume(req, rc);
        }
        free(wt);
    }
    gw_worker_gen_release(f->gref);
    free(f);
}
