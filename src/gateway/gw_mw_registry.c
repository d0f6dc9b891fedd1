/* SPDX-License-Identifier: Apache-2.0 */
/* Every middleware, in the order Tyk runs them (spec §9.1); each lives in its own mw/ file. */
#include "gw_mw.h"

extern const gw_mw_def_t gw_mw_options_passthrough;
extern const gw_mw_def_t gw_mw_version_check;
extern const gw_mw_def_t gw_mw_cors;
extern const gw_mw_def_t gw_mw_ip_whitelist;
extern const gw_mw_def_t gw_mw_ip_blacklist;
extern const gw_mw_def_t gw_mw_cert_check;
extern const gw_mw_def_t gw_mw_org_monitor;
extern const gw_mw_def_t gw_mw_oauth2_key;
extern const gw_mw_def_t gw_mw_oauth2_client;
extern const gw_mw_def_t gw_mw_auth_basic;
extern const gw_mw_def_t gw_mw_auth_basic_verify;
extern const gw_mw_def_t gw_mw_auth_hmac;
extern const gw_mw_def_t gw_mw_auth_hmac_verify;
extern const gw_mw_def_t gw_mw_auth_jwt;
extern const gw_mw_def_t gw_mw_openid;
extern const gw_mw_def_t gw_mw_identity_oidc;
extern const gw_mw_def_t gw_mw_auth_key;
extern const gw_mw_def_t gw_mw_auth_key_cert;
extern const gw_mw_def_t gw_mw_identity_basic;
extern const gw_mw_def_t gw_mw_identity_hmac;
extern const gw_mw_def_t gw_mw_identity_jwt;
extern const gw_mw_def_t gw_mw_identity_key;
extern const gw_mw_def_t gw_mw_key_expired;
extern const gw_mw_def_t gw_mw_access_rights;
extern const gw_mw_def_t gw_mw_granular_access;
extern const gw_mw_def_t gw_mw_rate_limit;
extern const gw_mw_def_t gw_mw_api_rate_limit;
extern const gw_mw_def_t gw_mw_validate_json;
extern const gw_mw_def_t gw_mw_transform;
extern const gw_mw_def_t gw_mw_transform_response;
extern const gw_mw_def_t gw_mw_error_overrides;
extern const gw_mw_def_t gw_mw_track_endpoint;
extern const gw_mw_def_t gw_mw_url_rewrite;
extern const gw_mw_def_t gw_mw_method_transform;
extern const gw_mw_def_t gw_mw_mock_response;
extern const gw_mw_def_t gw_mw_redis_cache;
extern const gw_mw_def_t gw_mw_request_size_limit;
extern const gw_mw_def_t gw_mw_context_vars;
extern const gw_mw_def_t gw_mw_transform_headers;
extern const gw_mw_def_t gw_mw_transform_response_headers;
extern const gw_mw_def_t gw_mw_hard_timeouts;
extern const gw_mw_def_t gw_mw_circuit_breaker;
extern const gw_mw_def_t gw_mw_js_pre;
extern const gw_mw_def_t gw_mw_js_auth;
extern const gw_mw_def_t gw_mw_js_post_key_auth;
extern const gw_mw_def_t gw_mw_js_post;
extern const gw_mw_def_t gw_mw_virtual_endpoint;
extern const gw_mw_def_t gw_mw_native_pre;
extern const gw_mw_def_t gw_mw_native_auth;
extern const gw_mw_def_t gw_mw_native_post_key_auth;
extern const gw_mw_def_t gw_mw_native_post;
extern const gw_mw_def_t gw_mw_native_response;

const gw_mw_def_t *const gw_mw_registry[] = {
    &gw_mw_options_passthrough,  /* CORS.options_passthrough: OPTIONS skip every middleware */
    &gw_mw_version_check,        /* 2: VersionCheck (versions, allow/block/ignore lists) */
    &gw_mw_cors,                 /* 3: CORS */
    &gw_mw_js_pre,               /* 4: custom pre plugins (JS) */
    &gw_mw_native_pre,           /* 4: custom pre plugins (native) */
    &gw_mw_ip_whitelist,         /* 6: IPWhiteList */
    &gw_mw_ip_blacklist,         /* 7: IPBlackList */
    &gw_mw_cert_check,           /* 8: CertificateCheck (use_mutual_tls_auth) */
    &gw_mw_org_monitor,          /* 9: OrganizationMonitor (enforce_org_quotas) */
    &gw_mw_request_size_limit,   /* 10: RequestSizeLimit (global_size_limit, size_limits) */
    &gw_mw_context_vars,         /* 11: ContextVars (enable_context_vars) */
    &gw_mw_track_endpoint,       /* 12: TrackEndpoint (track / do_not_track endpoints) */
    &gw_mw_oauth2_key,           /* 14: Oauth2KeyExists (use_oauth2) */
    &gw_mw_oauth2_client,        /* 14: Oauth2KeyExists: the issuing client still exists */
    &gw_mw_auth_basic,           /* 14: Basic */
    &gw_mw_auth_basic_verify,    /* 14: Basic: password check once the user is loaded */
    &gw_mw_identity_basic,       /* 14: several auth methods: keep or drop Basic's session */
    &gw_mw_auth_hmac,            /* 14: HMAC (http signature) */
    &gw_mw_auth_hmac_verify,     /* 14: HMAC: signature check once the key is loaded */
    &gw_mw_identity_hmac,        /* 14: several auth methods: keep or drop HMAC's session */
    &gw_mw_auth_jwt,             /* 14: JWT */
    &gw_mw_identity_jwt,         /* 14: several auth methods: keep or drop JWT's session */
    &gw_mw_openid,               /* 14: OpenID Connect (use_openid) */
    &gw_mw_identity_oidc,        /* 14: several auth methods: keep or drop OIDC's session */
    &gw_mw_js_auth,              /* 14: custom plugin auth (JS auth_check) */
    &gw_mw_native_auth,          /* 14: custom plugin auth (native auth_check) */
    &gw_mw_auth_key,             /* 14: AuthKey */
    &gw_mw_auth_key_cert,        /* 14: AuthKey: use_certificate needs the cert in the store */
    &gw_mw_identity_key,         /* 14: several auth methods: base_identity_provided_by's session */
    &gw_mw_js_post_key_auth,     /* 15: custom post_key_auth plugins (JS) */
    &gw_mw_native_post_key_auth, /* 15: custom post_key_auth plugins (native) */
    &gw_mw_key_expired,          /* 17: KeyExpired */
    &gw_mw_access_rights,        /* 18: AccessRightsCheck */
    &gw_mw_granular_access,      /* 19: GranularAccess */
    &gw_mw_rate_limit,           /* 20: RateLimitAndQuotaCheck */
    &gw_mw_api_rate_limit,       /* 22: RateLimitForAPI */
    &gw_mw_validate_json,        /* 24: ValidateJSON (validate_json schemas) */
    &gw_mw_transform,            /* 26: TransformMiddleware (transform: request body templates) */
    &gw_mw_url_rewrite,          /* 26: URLRewrite (applied when the chain ends) */
    &gw_mw_method_transform,     /* 26: TransformMethod (applied when the chain ends) */
    &gw_mw_transform_headers,    /* 26: TransformHeaders (global_headers, transform_headers) */
    &gw_mw_transform_response_headers, /* response: HeaderInjector (before the cache stores) */
    &gw_mw_transform_response, /* response: ResponseTransformMiddleware (before the cache stores) */
    &gw_mw_error_overrides,    /* response: ResponseErrorOverrideMiddleware (+ gateway errors) */
    &gw_mw_native_response,    /* response: custom response plugins (native) */
    &gw_mw_mock_response,      /* 27: MockResponse */
    &gw_mw_redis_cache,        /* 28: RedisCache (answers from Redis, stores responses) */
    &gw_mw_virtual_endpoint,   /* 29: VirtualEndpoint (JS) */
    &gw_mw_js_post,            /* 31: custom post plugins (JS) */
    &gw_mw_native_post,        /* 31: custom post plugins (native) */
    &gw_mw_hard_timeouts,      /* 32: proxy: hard_timeouts deadline */
    &gw_mw_circuit_breaker,    /* 32: proxy: circuit_breakers (checked right before the call) */
};

const size_t gw_mw_registry_len = TK_ARRAY_LEN(gw_mw_registry);
