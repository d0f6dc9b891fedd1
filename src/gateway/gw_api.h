/* SPDX-License-Identifier: Apache-2.0 */
/* A loaded classic API definition: the fields the gateway acts on, compiled for fast use. */
#ifndef GW_API_H
#define GW_API_H

#include "tk_common.h"
#include "tk_conf.h"

#include <jansson.h>
#include <pcre2.h>
#include <stdatomic.h>

/* A parsed upstream URL. */
typedef struct gw_target {
    char *url;      /* as configured */
    char *scheme;   /* "http" | "https" | "h2c" */
    char *host;     /* without brackets for IPv6 */
    char *hostport; /* Host header value: host[:port] as written in the URL */
    int port;
    char *path;  /* "" when the URL has no path */
    char *query; /* NULL when none */
    bool tls;
    struct gw_upcert *upcert; /* client certificate for this upstream (gw_certstore.h), owned */
} gw_target_t;

struct gw_mw;

typedef struct gw_api {
    json_t *def; /* the whole definition as loaded (owned) */
    char *file;  /* file it came from */
    char *name, *api_id, *org_id, *slug;
    bool active, internal, use_keyless;
    /* protocol "tcp" | "tls": served on listen_port (gw_tcp.h), not routed */
    bool tcp_proto;
    char *domain; /* "" = any host */
    char *listen_path;
    size_t listen_len;     /* literal length used for sorting ({vars} do not count) */
    pcre2_code *listen_re; /* set when the listen path has {var} segments */
    bool strip_listen_path, disable_strip_slash, preserve_host_header;
    gw_target_t target;
    gw_target_t *lb; /* target_list when enable_load_balancing */
    size_t nlb;
    bool load_balancing;
    /* proxy.check_host_against_uptime_tests: skip targets the uptime tests marked down */
    bool check_host_against_uptime_tests;
    _Atomic size_t rr;     /* round-robin position in lb */
    struct gw_sd_slot *sd; /* proxy.service_discovery list (gw_discovery.h, owned there) */
    struct gw_mw *chain;   /* enabled middlewares in order (gw_mw.h) */
    size_t nchain;
    bool ssl_insecure_skip_verify; /* proxy.transport */
    int64_t ssl_min_version;
    struct gw_api_analytics *analytics; /* gw_analytics.h */
    struct gw_versions *versions;       /* gw_endpoints.h, built with the middleware chain */
    struct gw_events *events;           /* event_handlers (gw_events.h); NULL = none */
} gw_api_t;

/**
 * Builds an API from its JSON definition. On a problem returns NULL and appends
 * "<file>: <reason>" messages to @errs. Takes a new reference to @def. Secret references
 * (env://, file://, secrets:// from tyk.conf @secrets) in listen_path, target_url and
 * target_list are resolved as Tyk resolves them.
 */
gw_api_t *gw_api_from_json(json_t *def, const char *file, json_t *secrets, tk_conf_errors_t *errs);
void gw_api_free(gw_api_t *api);

/** Parses "http(s)|h2c://host[:port][/path][?query]"; returns TK_OK or TK_ERROR with @why set. */
int gw_target_parse(gw_target_t *t, const char *url, const char **why);
void gw_target_clear(gw_target_t *t);

/**
 * Matches @path against the API's listen path. Returns the number of bytes of @path the
 * listen path covers (≥ 0), or -1 when it does not match. @strict: "/foo" must be followed by
 * "/" or the end (enable_strict_routes).
 */
ssize_t gw_api_match_listen(const gw_api_t *api, const char *path, size_t len, bool strict);

#endif
