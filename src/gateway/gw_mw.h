/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The middleware pipeline. Every middleware is one file under mw/ with a gw_mw_def_t; the
 * registry (gw_mw_registry.c) lists them in Tyk's order. When an API loads, the defs that are
 * enabled for it are instantiated into a flat chain, so a feature that is off costs nothing per
 * request. A request walks the chain by index; a middleware may wait (Redis, DNS) and resume.
 */
#ifndef GW_MW_H
#define GW_MW_H

#include "gw_api.h"
#include "gw_conf.h"

typedef struct gw_req gw_req_t;
typedef struct gw_mw gw_mw_t;

/* Fixed phases in Tyk's order (spec §9.1). */
enum gw_phase {
    GW_PHASE_PRE = 0,   /* version, CORS, pre plugins, IP lists, size limits, context vars */
    GW_PHASE_AUTH,      /* one or more authenticators */
    GW_PHASE_POST_AUTH, /* post-auth plugins, strip auth, key expiry, access rights */
    GW_PHASE_RATE,      /* rate limits and quotas */
    GW_PHASE_TRANSFORM, /* validation and transforms */
    GW_PHASE_CONTENT,   /* cache, mock, virtual endpoints */
};

/* on_req results: TK_OK (next), TK_DONE (answered), TK_AGAIN (will call gw_pipeline_resume),
 * TK_ERROR (req->err_status / req->err_msg are rendered with the error template). */
typedef struct gw_mw_def {
    const char *name;
    enum gw_phase phase;
    /** True if this middleware applies to @api (decided once, at load). */
    bool (*enabled)(const gw_api_t *api, const gw_conf_t *conf);
    /** Optional: builds per-API state in mw->state; problems go to @errs as "<file>: ...". */
    int (*init)(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs);
    int (*on_req)(gw_mw_t *mw, gw_req_t *req);
    /** Optional: frees mw->state. */
    void (*dispose)(gw_mw_t *mw);
} gw_mw_def_t;

struct gw_mw {
    const gw_mw_def_t *def;
    void *state;
};

/* The registry, in chain order. */
extern const gw_mw_def_t *const gw_mw_registry[];
extern const size_t gw_mw_registry_len;

/** Builds api->chain from the registry. Returns TK_ERROR (and messages) if an init failed. */
int gw_mw_chain_build(gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs);
void gw_mw_chain_free(gw_api_t *api);

/** Runs the chain from req->mw_index; at its end the request goes to the proxy. */
void gw_pipeline_run(gw_req_t *req);
/** Continues after a middleware returned TK_AGAIN; @rc is that middleware's final result. */
void gw_pipeline_resume(gw_req_t *req, int rc);

#endif
