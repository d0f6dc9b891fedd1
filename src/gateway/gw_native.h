/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Native plugins (include/turnpike/plugin.h): custom_middleware hooks with "driver": "native"
 * are shared objects opened with dlopen when the API loads. Each hook kind has its own
 * middleware file (mw_native_*.c) holding a gw_native_set_t: the resolved hook functions of
 * that kind, in definition order. This module loads them (refusing the API on a dlopen/dlsym
 * failure or an ABI mismatch), implements the tp_host functions over a request, and runs them.
 */
#ifndef GW_NATIVE_H
#define GW_NATIVE_H

#include "gw_mw.h"

#include "../../include/turnpike/plugin.h" /* the public plugin ABI */

typedef struct gw_native_hook {
    tp_hook_fn fn;
    void *dl; /* dlopen handle (reference counted by the loader) */
    char *name;
} gw_native_hook_t;

typedef struct gw_native_set {
    int kind; /* tp_hook_kind */
    size_t n;
    gw_native_hook_t *h;
} gw_native_set_t;

/** True when custom_middleware.driver is "native". */
bool gw_native_driver(const gw_api_t *api);

/** True when the API has at least one enabled native hook of @kind (the auth hook also needs
 *  custom plugin auth switched on and a non-keyless API). */
bool gw_native_has(const gw_api_t *api, int kind);

/** Opens and resolves every hook of @kind. NULL (with "<file>: API <id>: ..." in @errs) when a
 *  library, a symbol or the ABI version is wrong. */
gw_native_set_t *gw_native_load(const gw_api_t *api, int kind, tk_conf_errors_t *errs);
void gw_native_free(gw_native_set_t *set);

/** Runs request hooks (pre, auth, post_key_auth, post) for @req: a middleware's on_req result
 *  (TK_OK, TK_DONE, TK_ERROR, or TK_AGAIN while the body is read). */
int gw_native_run(const gw_native_set_t *set, gw_req_t *req);

/** Adds the response filter that runs response hooks on the upstream's answer. */
int gw_native_add_response(const gw_native_set_t *set, gw_req_t *req);

/* The middleware defs share these. */
bool gw_native_mw_enabled(const gw_api_t *api, int kind);
int gw_native_mw_init(gw_mw_t *mw, const gw_api_t *api, int kind, tk_conf_errors_t *errs);
void gw_native_mw_dispose(gw_mw_t *mw);

#endif
