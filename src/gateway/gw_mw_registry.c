/* SPDX-License-Identifier: Apache-2.0 */
/* Every middleware, in the order Tyk runs them (spec §9.1); each lives in its own mw/ file. */
#include "gw_mw.h"

extern const gw_mw_def_t gw_mw_cert_check;
extern const gw_mw_def_t gw_mw_org_monitor;
extern const gw_mw_def_t gw_mw_auth_basic;
extern const gw_mw_def_t gw_mw_auth_basic_verify;
extern const gw_mw_def_t gw_mw_auth_hmac;
extern const gw_mw_def_t gw_mw_auth_hmac_verify;
extern const gw_mw_def_t gw_mw_auth_jwt;
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

const gw_mw_def_t *const gw_mw_registry[] = {
    &gw_mw_cert_check,        /* 8: CertificateCheck (use_mutual_tls_auth) */
    &gw_mw_org_monitor,       /* 9: OrganizationMonitor (enforce_org_quotas) */
    &gw_mw_auth_basic,        /* 14: Basic */
    &gw_mw_auth_basic_verify, /* 14: Basic: password check once the user is loaded */
    &gw_mw_identity_basic,    /* 14: several auth methods: keep or drop Basic's session */
    &gw_mw_auth_hmac,         /* 14: HMAC (http signature) */
    &gw_mw_auth_hmac_verify,  /* 14: HMAC: signature check once the key is loaded */
    &gw_mw_identity_hmac,     /* 14: several auth methods: keep or drop HMAC's session */
    &gw_mw_auth_jwt,          /* 14: JWT */
    &gw_mw_identity_jwt,      /* 14: several auth methods: keep or drop JWT's session */
    &gw_mw_auth_key,          /* 14: AuthKey */
    &gw_mw_auth_key_cert,     /* 14: AuthKey: use_certificate needs the cert in the store */
    &gw_mw_identity_key,      /* 14: several auth methods: base_identity_provided_by's session */
    &gw_mw_key_expired,       /* 17: KeyExpired */
    &gw_mw_access_rights,     /* 18: AccessRightsCheck */
    &gw_mw_granular_access,   /* 19: GranularAccess */
    &gw_mw_rate_limit,        /* 20: RateLimitAndQuotaCheck */
    &gw_mw_api_rate_limit,    /* 22: RateLimitForAPI */
};

const size_t gw_mw_registry_len = TK_ARRAY_LEN(gw_mw_registry);
