/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's session object (what a key holds in Redis): typed view, JSON codec, lifetime rules. */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include "tk_common.h"

#include <jansson.h>

/*
 * Field names and JSON shapes follow Tyk's user/session.go (SessionState, AccessDefinition,
 * APILimit, RateLimit, Endpoint). Strings are malloc'd and may be NULL, which means "" (Go's
 * zero value). Every struct here is owned by its parent; free the root with gw_session_free().
 */

/** A list of malloc'd strings. */
typedef struct gw_strv {
    char **v;
    size_t n;
} gw_strv_t;

/** Rate-limit smoothing (apidef.RateLimitSmoothing); @set mirrors Go's non-nil pointer. */
typedef struct gw_smoothing {
    bool set;
    bool enabled;
    int64_t threshold;
    double trigger;
    int64_t step;
    int64_t delay;
    json_t *raw; /* the object it was read from (unknown members survive), or NULL */
} gw_smoothing_t;

/** user.RateLimit: rate per `per` seconds (endpoint-level limits). */
typedef struct gw_rate_limit {
    double rate;
    double per;
    gw_smoothing_t smoothing;
} gw_rate_limit_t;

/** user.APILimit: the per-API copy of the session's rate/quota/complexity fields. */
typedef struct gw_api_limit {
    double rate;
    double per;
    gw_smoothing_t smoothing;
    double throttle_interval;
    int64_t throttle_retry_limit;
    int64_t max_query_depth;
    int64_t quota_max;
    int64_t quota_renews;
    int64_t quota_remaining;
    int64_t quota_renewal_rate;
} gw_api_limit_t;

/** user.AccessSpec: an allowed URL regex and its methods. */
typedef struct gw_access_spec {
    char *url;
    gw_strv_t methods;
    json_t *conditions; /* newer Tyk "conditions" (kept verbatim), or NULL */
} gw_access_spec_t;

/** One method of an endpoint-level rate limit. */
typedef struct gw_endpoint_method {
    char *name;
    gw_rate_limit_t limit;
} gw_endpoint_method_t;

/** user.Endpoint: a path with per-method rate limits. */
typedef struct gw_endpoint {
    char *path;
    gw_endpoint_method_t *methods;
    size_t n_methods;
} gw_endpoint_t;

/** user.AccessDefinition: one entry of access_rights. */
typedef struct gw_access {
    char *key; /* the access_rights map key (the API ID the gateway looks up) */
    char *api_name;
    char *api_id;
    gw_strv_t versions;
    gw_access_spec_t *allowed_urls;
    size_t n_allowed_urls;
    gw_api_limit_t limit;
    bool limit_present; /* a "limit" member was in the JSON (informative only) */
    char *allowance_scope;
    gw_endpoint_t *endpoints;
    size_t n_endpoints;
    bool disable_introspection;
    /*
     * Every other member, verbatim: GraphQL restricted_types / allowed_types /
     * field_access_rights, MCP and JSON-RPC fields. Object or NULL.
     */
    json_t *extra;
} gw_access_t;

/** user.SessionState. */
typedef struct gw_session {
    int64_t last_check;
    double allowance;
    double rate;
    double per;
    double throttle_interval;
    int64_t throttle_retry_limit;
    int64_t max_query_depth;
    char *date_created; /* RFC 3339 text as stored; NULL = Go's zero time */
    int64_t expires;
    int64_t quota_max;
    int64_t quota_renews;
    int64_t quota_remaining;
    int64_t quota_renewal_rate;
    gw_access_t *access;
    size_t n_access;
    char *org_id;
    char *oauth_client_id;
    json_t *oauth_keys; /* object of strings, or NULL */
    char *certificate;
    gw_strv_t mtls_static_certificate_bindings;
    char *basic_auth_password;
    char *basic_auth_hash_type;
    char *jwt_secret;
    bool hmac_enabled;
    bool enable_http_signature_validation;
    char *hmac_string;
    char *rsa_certificate_id;
    bool is_inactive;
    char *apply_policy_id;
    gw_strv_t apply_policies;
    int64_t data_expires;
    double *monitor_trigger_limits;
    size_t n_monitor_trigger_limits;
    bool enable_detail_recording;
    bool enable_detailed_recording;
    json_t *meta_data; /* object, or NULL */
    gw_strv_t tags;
    char *alias;
    char *last_updated;
    int64_t id_extractor_deadline;
    int64_t session_lifetime;
    gw_smoothing_t smoothing;
    char *post_expiry_action;
    int64_t post_expiry_grace_period;
    /* The object this session was read from; unknown members are written back from it. */
    json_t *raw;
} gw_session_t;

/**
 * Fills @s (which must be zeroed or freed) from the JSON object @obj, accepting both the full
 * legacy form and today's sparse form: a missing member or null is the zero value; float64
 * fields accept any JSON number; integer fields accept integers (and integral reals). A wrong
 * type is an error, as it is for Go's decoder. @s->raw takes a deep copy of @obj.
 * Returns TK_OK, or TK_ERROR with a malloc'd "field: reason" in *@err (if @err is not NULL)
 * and @s left zeroed.
 */
int gw_session_from_json(const json_t *obj, gw_session_t *s, char **err);

/** Parses @len bytes of JSON text; same contract as gw_session_from_json(). */
int gw_session_from_text(const char *text, size_t len, gw_session_t *s, char **err);

/**
 * Serialises @s the way today's Tyk gateway does (user/session.go tags: root fields up to
 * "monitor" always written, later ones and all AccessDefinition / APILimit members omitted when
 * zero), then adds every member of @s->raw this module does not model. Returns a new reference.
 */
json_t *gw_session_to_json(const gw_session_t *s);

/** gw_session_to_json() dumped compactly; malloc'd, free() it. */
char *gw_session_dumps(const gw_session_t *s);

/** Releases everything @s owns and zeroes it. NULL-safe. */
void gw_session_free(gw_session_t *s);

/** Deep copy of @src into @dst (which is overwritten, not freed). */
void gw_session_copy(gw_session_t *dst, const gw_session_t *src);

/** The access_rights entry for @api_id, or NULL. */
gw_access_t *gw_session_access(const gw_session_t *s, const char *api_id);

/**
 * Appends an empty access_rights entry keyed @api_id (replacing none: the caller checks first)
 * and returns it. api_id is also set, as the Tyk API does when creating keys.
 */
gw_access_t *gw_session_add_access(gw_session_t *s, const char *api_id);

/** Removes every access_rights entry. */
void gw_session_clear_access(gw_session_t *s);

/**
 * The policies to apply (Tyk's PolicyIDs()): apply_policies when non-empty, else the legacy
 * apply_policy_id, else none. Returns the count and points *@ids at borrowed strings (for the
 * single legacy ID, at @s->apply_policy_id).
 */
size_t gw_session_policy_ids(const gw_session_t *s, const char *const **ids);

/** True when expires > 0 and @now (unix seconds) is past it ("Key has expired, please renew"). */
bool gw_session_is_expired(const gw_session_t *s, int64_t now);

/**
 * Redis TTL for the key (Tyk's SessionState.Lifetime): @force_global → @global_lifetime; else
 * session_lifetime > 0, else @api_session_lifetime > 0, else 0. With
 * @respects_key_expiration, a positive lifetime becomes expires - @now when the key expires
 * later than @now + lifetime, and `expires` itself when expires <= 0.
 */
int64_t gw_session_lifetime(const gw_session_t *s, int64_t api_session_lifetime,
                            bool respects_key_expiration, int64_t global_lifetime,
                            bool force_global, int64_t now);

/** True when every numeric member of @l is zero (Tyk's APILimit.IsEmpty; smoothing ignored). */
bool gw_api_limit_is_empty(const gw_api_limit_t *l);

/** Tyk's RateLimit.Duration in seconds: per / rate, or 0 when either is <= 0. */
double gw_rate_duration(double rate, double per);

/**
 * The limits that govern @api_id (§10.1): the access right's limit when non-empty, else the
 * session root values. Smoothing is borrowed (not copied) into @out.
 */
void gw_session_effective_limit(const gw_session_t *s, const gw_access_t *ad, gw_api_limit_t *out);

/** Sets date_created to @unix_ns formatted like Go's time.Time JSON (UTC, trimmed nanos). */
void gw_session_set_date_created(gw_session_t *s, int64_t unix_ns);

/** Parses an RFC 3339 timestamp into unix seconds (fraction ignored). TK_OK or TK_ERROR. */
int gw_parse_rfc3339(const char *text, int64_t *unix_sec);

/* ---- helpers shared with gw_policy.c ---- */

enum gw_ftype { GW_F_DBL = 0, GW_F_INT, GW_F_BOOL, GW_F_STR, GW_F_STRV };
/* GW_E_ALWAYS: written even when zero (legacy root fields); GW_E_OMIT: omitzero / omitempty. */
enum gw_femit { GW_E_ALWAYS = 0, GW_E_OMIT };

/** One typed JSON member at @off inside a struct (double, int64_t, bool, char *, gw_strv_t). */
struct gw_field {
    const char *key;
    enum gw_ftype type;
    size_t off;
    enum gw_femit emit;
};

/**
 * Reads the members listed in @f from @obj into @base with Go's decoding rules (missing or null
 * keeps the current value, wrong type is an error "<pfx><key>: cannot decode ..."). TK_OK or
 * TK_ERROR with a malloc'd message in *@err.
 */
int gw_parse_fields(const json_t *obj, const struct gw_field *f, size_t n, void *base,
                    const char *pfx, char **err);
/** Parses a smoothing object (null/missing leaves @sm unset). */
int gw_parse_smoothing(const json_t *v, gw_smoothing_t *sm, const char *pfx, char **err);

/** Parses one access definition object into @ad (zeroed); @key is copied into ad->key. */
int gw_access_from_json(const char *key, const json_t *obj, gw_access_t *ad, char **err);
/** Serialises one access definition (omitzero rules as Tyk). Returns a new reference. */
json_t *gw_access_to_json(const gw_access_t *ad);
/** Releases what @ad owns and zeroes it. */
void gw_access_free(gw_access_t *ad);
/** Deep copy of @src into @dst (overwritten, not freed). */
void gw_access_copy(gw_access_t *dst, const gw_access_t *src);
/** Releases @sm->raw and zeroes @sm. */
void gw_smoothing_free(gw_smoothing_t *sm);
/** Deep copy of @src into @dst (overwritten, not freed). */
void gw_smoothing_copy(gw_smoothing_t *dst, const gw_smoothing_t *src);
/** Frees an endpoint array of @n entries (NULL-safe). */
void gw_endpoints_free(gw_endpoint_t *eps, size_t n);
/** Deep copy of @n endpoints into a new array stored in *@dst / *@ndst. */
void gw_endpoints_copy(gw_endpoint_t **dst, size_t *ndst, const gw_endpoint_t *src, size_t n);

/** True when @sv holds @s. */
bool gw_strv_contains(const gw_strv_t *sv, const char *s);
/** Appends a copy of @s (NULL is stored as ""). */
void gw_strv_push(gw_strv_t *sv, const char *s);
/** Appends each string of @in not already in @sv (Tyk's appendIfMissing). */
void gw_strv_append_missing(gw_strv_t *sv, const gw_strv_t *in);
/** Frees the strings and the array; @sv becomes empty. */
void gw_strv_free(gw_strv_t *sv);
/** Deep copy of @src into @dst (overwritten, not freed). */
void gw_strv_copy(gw_strv_t *dst, const gw_strv_t *src);

#endif
