/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A configuration generation: every loaded API, the routing table and the error templates,
 * built off the request path and swapped in whole. Requests keep the generation they started
 * with alive until they finish.
 */
#ifndef GW_GEN_H
#define GW_GEN_H

#include "gw_api.h"
#include "gw_conf.h"
#include "gw_errors.h"
#include "gw_policy.h"

typedef struct gw_route {
    gw_api_t *api;
    const char *prefix; /* listen path, or "/<api_id>/" */
    bool by_id;
} gw_route_t;

typedef struct gw_gen {
    int refs; /* atomic */
    uint64_t seq;
    gw_api_t **apis;
    size_t napis;
    gw_route_t *routes;
    size_t nroutes;
    gw_templates_t *templates;
    struct gw_eo *error_overrides; /* tyk.conf error_overrides (gw_error_overrides.h) */
    gw_policies_t policies;        /* from policy_path (or policy_record_name), file mode */
} gw_gen_t;

/**
 * Loads every "*.json" file in conf->app_path (companions "*-oas.json" excepted). Files that
 * fail are reported in @errs and skipped; the rest load. Never returns NULL.
 */
gw_gen_t *gw_gen_build(const gw_conf_t *conf, uint64_t seq, tk_conf_errors_t *errs);
void gw_gen_ref(gw_gen_t *g);
void gw_gen_unref(gw_gen_t *g);

/** Finds the API for a request. @matched gets the bytes of @path the route covers. */
const gw_route_t *gw_gen_route(const gw_gen_t *g, const gw_conf_t *conf, const char *host,
                               size_t hlen, const char *path, size_t plen, size_t *matched);

/** Finds an API by api_id; NULL if none. */
gw_api_t *gw_gen_find_api(const gw_gen_t *g, const char *api_id);

#endif
