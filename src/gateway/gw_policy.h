/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk policies: loading from policy_path / policy_record_name, lookup, and the merge into sessions.
 */
#ifndef GW_POLICY_H
#define GW_POLICY_H

#include "gw_session.h"
#include "tk_conf.h"

/** user.PolicyPartitions. No partition set (per_api aside) means "apply everything". */
typedef struct gw_partitions {
    bool quota;
    bool rate_limit;
    bool complexity;
    bool acl;
    bool per_api;
} gw_partitions_t;

/** user.Policy. Strings are malloc'd, NULL meaning "". */
typedef struct gw_policy {
    char *id;  /* the ID sessions name in apply_policies */
    char *mid; /* "_id" (Dashboard/Mongo object ID) when it was a string */
    char *name;
    char *org_id;
    double rate;
    double per;
    gw_smoothing_t smoothing;
    int64_t quota_max;
    int64_t quota_renewal_rate;
    double throttle_interval;
    int64_t throttle_retry_limit;
    int64_t max_query_depth;
    gw_access_t *access;
    size_t n_access;
    bool hmac_enabled;
    bool enable_http_signature_validation;
    bool active;
    bool is_inactive;
    gw_strv_t tags;
    int64_t key_expires_in;
    char *post_expiry_action;
    int64_t post_expiry_grace_period;
    gw_partitions_t partitions;
    char *last_updated;
    json_t *meta_data; /* object or NULL */
    json_t *raw;       /* the object it was read from, for GET /tyk/policies */
} gw_policy_t;

/** The loaded policy set, in load order. */
typedef struct gw_policies {
    gw_policy_t *v;
    size_t n;
} gw_policies_t;

/**
 * Parses one policy object into @p (overwritten). @p->raw keeps a deep copy of @obj. TK_OK, or
 * TK_ERROR with a malloc'd "field: reason" in *@err and @p zeroed.
 */
int gw_policy_from_json(const json_t *obj, gw_policy_t *p, char **err);

/** Releases what @p owns and zeroes it. */
void gw_policy_free(gw_policy_t *p);

/**
 * Adds @p to @set, taking ownership of its contents (@p is zeroed). A policy with the same ID
 * replaces the old one in place.
 */
void gw_policies_add(gw_policies_t *set, gw_policy_t *p);

/** Removes the policy @id; TK_OK or TK_DECLINED when absent. */
int gw_policies_remove(gw_policies_t *set, const char *id);

/**
 * Loads every "*.json" file of @dir (sorted by name, like Go's filepath.Glob), each holding one
 * policy object; the ID comes from its "id" member, as in Tyk's LoadPoliciesFromDir (the file
 * name is irrelevant). Unreadable or invalid files and files without an "id" are reported in
 * @errs as "<file>: <reason>" and skipped. Returns TK_OK when the directory could be read.
 */
int gw_policies_load_dir(gw_policies_t *set, const char *dir, tk_conf_errors_t *errs);

/**
 * Loads the legacy policy_record_name file: one object {"<id>": {policy}, ...}. The map key is
 * the ID (the policy's own "id" only when the key is empty), as in Tyk's LoadPoliciesFromFile.
 * Bad entries are reported as "<file>: <id>: <reason>" and skipped. TK_ERROR when the file
 * itself cannot be read or is not a JSON object.
 */
int gw_policies_load_file(gw_policies_t *set, const char *path, tk_conf_errors_t *errs);

/**
 * File-mode loading from the config (§1.3): @policy_path when non-empty, else @record_name when
 * non-empty, else nothing. TK_OK / TK_ERROR as the called loader.
 */
int gw_policies_load(gw_policies_t *set, const char *policy_path, const char *record_name,
                     tk_conf_errors_t *errs);

/** The policy with ID @id, or NULL. */
const gw_policy_t *gw_policies_get(const gw_policies_t *set, const char *id);

/**
 * Like gw_policies_get() but also NULL when @org is not NULL and differs from the policy's
 * org_id (a policy from another organisation is invisible).
 */
const gw_policy_t *gw_policies_find(const gw_policies_t *set, const char *id, const char *org);

/** Frees every policy and the array. */
void gw_policies_free(gw_policies_t *set);

/**
 * Tyk's policy merge (internal/policy/apply.go Apply, spec §5) on @s using @set. @api_org is the
 * API's org_id; when not NULL every applied policy must belong to it. Returns TK_OK, or
 * TK_ERROR with a malloc'd message in *@err, Tyk's wording:
 *   - policy not found: "<id>"                    (the only policy named is missing)
 *   - attempting to apply policy from different organisation to key, skipping
 *   - cannot apply policy <id> which has per_api and any of partitions set
 *   - cannot apply multiple policies when some have per_api set and some are partitioned
 *   - key has no valid policies to be applied       (several policies, none found)
 * On error @s may be partly modified, as in Tyk; callers reject the key.
 */
int gw_policy_apply(gw_session_t *s, const gw_policies_t *set, const char *api_org, char **err);

#endif
