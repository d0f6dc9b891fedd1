/* SPDX-License-Identifier: Apache-2.0 */
/*
 * URL rewrites and method transforms decided by the request chain (mw_url_rewrite.c,
 * mw_method_transform.c) take effect only when the chain has ended, as in Tyk, where its proxy
 * handler swaps the URL and method in: later middlewares still see the request as it came. A
 * rewrite to a full http(s) URL sends the request to that host instead of the API's target; a
 * rewrite to tyk://<api id, looping name or "self">/path runs the request through that API's
 * whole chain again (looping), which makes its `internal` endpoints reachable.
 */
#ifndef GW_REWRITE_H
#define GW_REWRITE_H

#include "gw_http.h"

/* Tyk's defaultLoopLevelLimit: hops beyond it answer 500. */
#define GW_LOOP_DEFAULT_LIMIT 5

/** True when a rewrite or method transform waits to be applied. */
static inline bool gw_rewrite_pending(const gw_req_t *req)
{
    return req->rewrite_to || req->method_to;
}

/**
 * Applies them before proxying. TK_OK: proxy as usual (req->path/query/method and possibly
 * req->target_override changed); TK_DONE: answered (an error) or handed to another API's chain.
 */
int gw_rewrite_apply(gw_req_t *req);

/** Go's url.QueryEscape of @s into the arena. */
char *gw_query_escape(tk_arena_t *a, const char *s, size_t n);

#endif
