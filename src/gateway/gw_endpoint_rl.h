/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Endpoint-level rate limits (access_rights[api].endpoints, Tyk 5.x): which one applies to a
 * request, and the counter-key suffix it uses (Tyk's SessionLimiter.RateLimitInfo).
 */
#ifndef GW_ENDPOINT_RL_H
#define GW_ENDPOINT_RL_H

#include "gw_session.h"

/** The endpoint limit that replaces the API-level rate and per for one request. */
typedef struct gw_endpoint_rl {
    double rate;
    double per;
    /* HashStr("<method name as configured>:<path as configured>"), murmur32 hex. */
    char key_suffix[72];
} gw_endpoint_rl_t;

/**
 * Tyk's httputil.PreparePathRegexp: "{name}" segments become "([^/]+)"; with @prefix a pattern
 * starting with '/' gets '^'; with @suffix a pattern not ending in '$' gets '$'. Malloc'd.
 */
char *gw_prepare_path_regexp(const char *pattern, bool prefix, bool suffix);

/**
 * Finds the first endpoint of @eps (in order) that lists the request method (case-insensitive)
 * and whose path regex (gw_prepare_path_regexp, unanchored search as Go's MatchString) matches
 * @stripped_path, the request path with the listen path removed and a leading '/'. Tyk also
 * names the full path, but it tries it only after the stripped one matched, so the stripped
 * path alone decides. Endpoints whose regex does not compile are skipped. Returns true and
 * fills @out on a match.
 */
bool gw_endpoint_rl_find(const gw_endpoint_t *eps, size_t n, const char *method, size_t method_len,
                         const char *stripped_path, bool prefix, bool suffix,
                         gw_endpoint_rl_t *out);

#endif
