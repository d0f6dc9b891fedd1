/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turnpike native plugins: the C ABI.
 *
 * A native plugin is a shared object (.so) named in an API definition's custom_middleware
 * block with "driver": "native". Each hook entry gives the .so as "path" and the exported
 * function as "name":
 *
 *   "custom_middleware": {
 *     "driver": "native",
 *     "pre":           [{"name": "my_pre",  "path": "/opt/plugins/my.so"}],
 *     "auth_check":     {"name": "my_auth", "path": "/opt/plugins/my.so"},
 *     "post_key_auth": [{"name": "my_pka",  "path": "/opt/plugins/my.so"}],
 *     "post":          [{"name": "my_post", "path": "/opt/plugins/my.so"}],
 *     "response":      [{"name": "my_resp", "path": "/opt/plugins/my.so"}]
 *   }
 *
 * The auth hook runs only when the API also sets "custom_plugin_auth_enabled": true (or
 * Tyk's older "enable_coprocess_auth" / "use_go_plugin_auth") and is not keyless. Hooks run in
 * Tyk's places in the middleware chain: pre after CORS, auth with the other authenticators,
 * post_key_auth right after authentication, post just before the request is proxied, response
 * on the upstream's response head. Entries with "disabled": true are skipped.
 *
 * Loading (at API load, including every hot reload): the .so is opened with dlopen(RTLD_NOW |
 * RTLD_LOCAL), it must export turnpike_plugin_abi_version() returning the
 * TURNPIKE_PLUGIN_ABI_VERSION it was compiled against (use TURNPIKE_PLUGIN_DECLARE()), and every
 * hook name must resolve with dlsym. If any of this fails the API is not loaded (the log names
 * the API, the hook and the reason); other APIs load as usual. A .so stays mapped while any
 * loaded API uses it, so replacing the file on disk is picked up only once no API holds it:
 * install a new build under a new file name and point the definition at it.
 *
 * Go plugins ("driver": "goplugin") cannot be loaded by a C gateway; an API that uses them
 * is refused at load with a message saying so.
 *
 * Rules for hook code:
 *  - Threads: the gateway runs several worker threads and calls hooks from all of them at
 *    once, also for the same API. Global state in a plugin must be thread-safe.
 *  - No blocking: a hook runs on the worker's event loop; while it runs, that worker serves
 *    no other request. Do no network or disk I/O and take no long locks in a hook.
 *  - Memory: every string the gateway returns (tp_method(), tp_header_get(), ...) belongs to the
 *    request and stays valid until the hook returns; copy what must outlive the call. Every
 *    string or buffer a plugin passes in is copied by the gateway before the function returns.
 *  - The tp_req handle is valid only during the hook call, on the calling thread.
 *  - Return values: TP_CONTINUE goes on with the chain; TP_RESPOND ends the request with what
 *    tp_respond() set; TP_ERROR ends it with Tyk's error template for what tp_error() set
 *    (500 "There was a problem proxying the request" when it was not called). Response hooks
 *    run once the upstream's status and headers are in and can only change those: they return
 *    TP_CONTINUE (anything else is logged and ignored).
 *
 * Accessor functions return 0 on success and -1 when the call does not apply to the hook kind
 * (for example tp_meta_set() in a pre hook, where there is no session yet) or its arguments are
 * invalid (NULL, a header name or value with CR/LF).
 */
#ifndef TURNPIKE_PLUGIN_H
#define TURNPIKE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change to tp_host or the hook contract. */
#define TURNPIKE_PLUGIN_ABI_VERSION 1u

/** What a hook returns. */
typedef enum tp_result {
    TP_CONTINUE = 0, /* go on with the next middleware */
    TP_RESPOND = 1,  /* answer the client with what tp_respond() set */
    TP_ERROR = 2,    /* answer with Tyk's error template (tp_error()) */
} tp_result;

/** Hook kinds (the numbers are Tyk's coprocess HookType values). */
typedef enum tp_hook_kind {
    TP_HOOK_PRE = 1,
    TP_HOOK_POST = 2,
    TP_HOOK_POST_KEY_AUTH = 3,
    TP_HOOK_AUTH = 4,
    TP_HOOK_RESPONSE = 5,
} tp_hook_kind;

/** Log levels for tp_log(). */
enum { TP_LOG_DEBUG = 0, TP_LOG_INFO = 1, TP_LOG_WARN = 2, TP_LOG_ERROR = 3 };

typedef struct tp_req tp_req;

/**
 * The gateway's functions, reached through the request handle (use the tp_* wrappers below).
 * New members are only ever appended; @size tells a plugin which ones exist.
 */
typedef struct tp_host {
    uint32_t abi_version; /* TURNPIKE_PLUGIN_ABI_VERSION of the gateway */
    uint32_t size;        /* sizeof(tp_host) in the gateway */
    int (*hook_kind)(tp_req *r);
    const char *(*api_id)(tp_req *r);
    const char *(*config_data)(tp_req *r);
    const char *(*method)(tp_req *r);
    const char *(*path)(tp_req *r);
    const char *(*query)(tp_req *r);
    const char *(*query_get)(tp_req *r, const char *name);
    const char *(*header_get)(tp_req *r, const char *name);
    int (*header_set)(tp_req *r, const char *name, const char *value);
    int (*header_del)(tp_req *r, const char *name);
    int (*body)(tp_req *r, const char **data, size_t *len);
    int (*body_set)(tp_req *r, const void *data, size_t len);
    const char *(*meta_get)(tp_req *r, const char *key);
    int (*meta_set)(tp_req *r, const char *key, const char *value);
    int (*respond)(tp_req *r, int status, const char *headers, const void *body, size_t len);
    int (*error)(tp_req *r, int status, const char *message);
    int (*auth_set_session)(tp_req *r, const char *key, const char *session_json);
    int (*resp_status)(tp_req *r);
    int (*resp_set_status)(tp_req *r, int status);
    const char *(*resp_header_get)(tp_req *r, const char *name);
    int (*resp_header_set)(tp_req *r, const char *name, const char *value);
    int (*resp_header_del)(tp_req *r, const char *name);
    void (*log)(tp_req *r, int level, const char *message);
} tp_host;

/** The request handle. The gateway's own data follows this first member. */
struct tp_req {
    const tp_host *host;
};

/** Every hook has this type; the entry's "name" is looked up with dlsym. */
typedef tp_result (*tp_hook_fn)(tp_req *r);

/** Every plugin exports this, returning TURNPIKE_PLUGIN_ABI_VERSION (see the macro below). */
uint32_t turnpike_plugin_abi_version(void);

#define TURNPIKE_PLUGIN_DECLARE()                                                                  \
    __attribute__((visibility("default"))) uint32_t turnpike_plugin_abi_version(void)              \
    {                                                                                              \
        return TURNPIKE_PLUGIN_ABI_VERSION;                                                        \
    }

/* ---- the request (all hooks) ------------------------------------------------------------- */

/** Which hook is running (tp_hook_kind). */
static inline int tp_hook(tp_req *r)
{
    return r->host->hook_kind(r);
}
/** The API's api_id. */
static inline const char *tp_api_id(tp_req *r)
{
    return r->host->api_id(r);
}
/** The API's config_data as JSON text ("{}" when it has none). */
static inline const char *tp_config_data(tp_req *r)
{
    return r->host->config_data(r);
}
/** The request method ("GET", ...). */
static inline const char *tp_method(tp_req *r)
{
    return r->host->method(r);
}
/** The URL path as the client sent it, listen path included, without the query. */
static inline const char *tp_path(tp_req *r)
{
    return r->host->path(r);
}
/** The raw query string without '?' ("" when none). */
static inline const char *tp_query(tp_req *r)
{
    return r->host->query(r);
}
/** The first value of query parameter @name, URL-decoded; "" when present without a value,
 *  NULL when absent. */
static inline const char *tp_query_get(tp_req *r, const char *name)
{
    return r->host->query_get(r, name);
}
/** The first value of request header @name (case-insensitive), or NULL. */
static inline const char *tp_header_get(tp_req *r, const char *name)
{
    return r->host->header_get(r, name);
}
/** Replaces every request header @name with one @value (what the upstream receives).
 *  Not in response hooks. */
static inline int tp_header_set(tp_req *r, const char *name, const char *value)
{
    return r->host->header_set(r, name, value);
}
/** Removes request header @name. Not in response hooks. */
static inline int tp_header_del(tp_req *r, const char *name)
{
    return r->host->header_del(r, name);
}
/** The whole request body (read before request hooks run; not NUL-terminated). Not in
 *  response hooks. */
static inline int tp_body(tp_req *r, const char **data, size_t *len)
{
    return r->host->body(r, data, len);
}
/** Replaces the request body sent upstream (Content-Length follows). Not in response hooks. */
static inline int tp_body_set(tp_req *r, const void *data, size_t len)
{
    return r->host->body_set(r, data, len);
}
/** A string member of the session's meta_data, or NULL (no session, absent, not a string).
 *  Sessions exist from the auth hook on (post_key_auth, post, response; not keyless APIs). */
static inline const char *tp_meta_get(tp_req *r, const char *key)
{
    return r->host->meta_get(r, key);
}
/** Sets a string member of this request's session meta_data (later middlewares, context
 *  variables and plugins see it; it is not written back to the stored key). */
static inline int tp_meta_set(tp_req *r, const char *key, const char *value)
{
    return r->host->meta_set(r, key, value);
}
/** Answers the client directly: @headers is "Name: value\r\n" lines or NULL, @body @len
 *  bytes. Return TP_RESPOND afterwards. Request hooks only. */
static inline int tp_respond(tp_req *r, int status, const char *headers, const void *body,
                             size_t len)
{
    return r->host->respond(r, status, headers, body, len);
}
/** Sets the error the gateway renders with its error template (status 100-599, message
 *  copied). Return TP_ERROR afterwards. */
static inline int tp_error(tp_req *r, int status, const char *message)
{
    return r->host->error(r, status, message);
}
/** Writes @message to the gateway log, tagged with the API. */
static inline void tp_log(tp_req *r, int level, const char *message)
{
    r->host->log(r, level, message);
}

/* ---- the auth hook ----------------------------------------------------------------------- */

/**
 * Accepts the request as key @key with the session given as Tyk's session JSON (the shape
 * the /tyk/keys API takes: rate, per, quota_max, access_rights, apply_policies, meta_data,
 * expires, ...). Policies named in apply_policies are applied as for any key, so
 * "{\"apply_policies\":[\"gold\"]}" gives the key policy gold's rights and limits. Rate limits
 * and quotas are then counted under @key. The session is not stored in Redis. Auth hook only;
 * -1 for invalid JSON or an unknown policy. An auth hook that returns TP_CONTINUE without
 * calling it is refused with 403 "Access to this API has been disallowed".
 */
static inline int tp_auth_set_session(tp_req *r, const char *key, const char *session_json)
{
    return r->host->auth_set_session(r, key, session_json);
}

/* ---- the response hook (status and headers of the upstream's answer) --------------------- */

static inline int tp_resp_status(tp_req *r)
{
    return r->host->resp_status(r);
}
static inline int tp_resp_set_status(tp_req *r, int status)
{
    return r->host->resp_set_status(r, status);
}
static inline const char *tp_resp_header_get(tp_req *r, const char *name)
{
    return r->host->resp_header_get(r, name);
}
static inline int tp_resp_header_set(tp_req *r, const char *name, const char *value)
{
    return r->host->resp_header_set(r, name, value);
}
static inline int tp_resp_header_del(tp_req *r, const char *name)
{
    return r->host->resp_header_del(r, name);
}

#ifdef __cplusplus
}
#endif

#endif
