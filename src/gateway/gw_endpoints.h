/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API versions and their endpoint entries (version_data, extended_paths), compiled once when an
 * API loads: each version keeps, per kind (white_list, mock_response, transform, ...), the list
 * of its entries in definition order with the path already turned into a PCRE2 regex the way
 * Tyk prepares it ({name} → ([^/]+), a "/" then "*" → "/.*", optional ^ / $ from
 * enable_path_prefix_matching / enable_path_suffix_matching, (?i) for ignore_case /
 * ignore_endpoint_case). A middleware that owns a kind asks gw_ep_match(req, kind) for the first
 * entry matching the request's method and path; it keeps its own compiled per-entry state in
 * the entry's `state` slot (built in its init(), freed in its dispose()).
 *
 * The request path is tried as Tyk tries it: listen path and version segment stripped, then
 * listen path stripped, then the full path; the first hit wins.
 */
#ifndef GW_ENDPOINTS_H
#define GW_ENDPOINTS_H

#include "gw_api.h"
#include "gw_conf.h"

#include <jansson.h>
#include <pcre2.h>

struct gw_req;

enum gw_ep_kind {
    GW_EP_WHITE_LIST = 0,
    GW_EP_BLACK_LIST,
    GW_EP_IGNORED,
    GW_EP_INTERNAL,
    GW_EP_MOCK_RESPONSE,
    GW_EP_CACHE, /* legacy "cache": [path strings]; entries with method "" */
    GW_EP_ADVANCE_CACHE,
    GW_EP_TRANSFORM,
    GW_EP_TRANSFORM_RESPONSE,
    GW_EP_TRANSFORM_HEADERS,
    GW_EP_TRANSFORM_RESPONSE_HEADERS,
    GW_EP_HARD_TIMEOUTS,
    GW_EP_CIRCUIT_BREAKERS,
    GW_EP_URL_REWRITES,
    GW_EP_VIRTUAL,
    GW_EP_SIZE_LIMITS,
    GW_EP_METHOD_TRANSFORMS,
    GW_EP_TRACK_ENDPOINTS,
    GW_EP_DO_NOT_TRACK_ENDPOINTS,
    GW_EP_VALIDATE_JSON,
    GW_EP_RATE_LIMIT,
    GW_EP_TRANSFORM_JQ,
    GW_EP_TRANSFORM_JQ_RESPONSE,
    GW_EP_GO_PLUGIN,
    GW_EP__COUNT
};

/** The extended_paths JSON key of a kind ("white_list", "mock_response", ...). */
const char *gw_ep_kind_name(enum gw_ep_kind kind);

typedef struct gw_ep {
    enum gw_ep_kind kind;
    char *path;     /* as configured */
    char *method;   /* upper-case; "" matches any method */
    pcre2_code *re; /* compiled path (JIT) */
    json_t *entry;  /* the entry object as written (borrowed from the API definition) */
    void *state;    /* the owning middleware's compiled data */
    /* legacy method_actions reply ("action": "reply") on white_list / black_list / ignored */
    bool reply;
    int reply_code;
    char *reply_body;
    json_t *reply_headers; /* object of strings, or NULL (borrowed) */
} gw_ep_t;

typedef struct gw_version {
    char *name;
    int64_t expires;    /* unix seconds; 0 = never */
    char *expires_text; /* as written ("" when none) */
    json_t *info;       /* the VersionInfo object (borrowed) */
    gw_ep_t *eps[GW_EP__COUNT];
    size_t n_eps[GW_EP__COUNT];
    bool has_white_list;
    /* global_* settings (only when not *_disabled) */
    json_t *global_headers;       /* object, or NULL (borrowed) */
    char **global_headers_remove; /* lower-case */
    size_t n_global_headers_remove;
    json_t *global_response_headers; /* object, or NULL (borrowed) */
    char **global_response_headers_remove;
    size_t n_global_response_headers_remove;
    int64_t global_size_limit; /* bytes, 0 = none */
    bool has_override_target;
    gw_target_t override_target; /* per-version upstream */
} gw_version_t;

enum gw_version_location { GW_VLOC_HEADER = 0, GW_VLOC_URL_PARAM, GW_VLOC_URL };

typedef struct gw_versions {
    bool not_versioned;
    char *default_version; /* "" when none */
    enum gw_version_location location;
    char *key; /* header or query parameter name (definition.key, default x-api-version) */
    bool strip_versioning_data;
    bool fallback_to_default;
    pcre2_code *url_pattern; /* definition.url_versioning_pattern, or NULL */
    gw_version_t *v;
    size_t n;
    /* The version used when the API is not versioned (or the default), resolved at load; NULL
     * when it cannot be decided (the VersionCheck middleware then answers with Tyk's error). */
    const gw_version_t *fixed;
    const char *fixed_error;    /* why `fixed` is NULL for a non-versioned API */
    bool any_eps[GW_EP__COUNT]; /* some version has entries of this kind */
    bool any_expires;
} gw_versions_t;

/**
 * Compiles version_data (and the legacy `definition`) of @def. Problems (bad regex, bad expiry
 * date, bad override_target) go to @errs as "<file>: API <id>: version <v>: <kind>[<i>].path:
 * ..." and make the API fail to load. Returns NULL on error.
 */
gw_versions_t *gw_versions_build(const json_t *def, const char *file, const char *api_id,
                                 const gw_conf_t *conf, tk_conf_errors_t *errs);
void gw_versions_free(gw_versions_t *vs);

/** The request's version: the one VersionCheck resolved, else the API's fixed version (may be
 *  NULL only for versioned APIs before VersionCheck ran). */
const gw_version_t *gw_req_version(const struct gw_req *req);

/** The first entry of @kind in the request's version that matches its method and path. */
const gw_ep_t *gw_ep_match(struct gw_req *req, enum gw_ep_kind kind);

/** Same, against an explicit method / path (path as the client sent it). */
const gw_ep_t *gw_ep_match_in(const gw_version_t *v, enum gw_ep_kind kind, const char *method,
                              size_t method_len, const char *const *paths, const size_t *lens,
                              size_t npaths);

/** True when any version of @api has entries of @kind (for a middleware's enabled()). */
bool gw_api_has_eps(const gw_api_t *api, enum gw_ep_kind kind);

/** Tyk's PreparePathRegexp: the regex text for an endpoint @path (malloc'd). */
char *gw_ep_path_regex(const char *path, bool prefix, bool suffix, bool ignore_case);

#endif
