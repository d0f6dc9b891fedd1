/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for policy loading and Tyk's policy merge, modelled on Tyk's apply_test.go cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_policy.h"
#include "tk_json.h"

#define assert_dbl(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

/* Path of tests/fixtures/policies/<name>, found from __FILE__ (see test_gw_session.c). */
static void fixture_path(const char *name, char *out, size_t outlen)
{
    char src[PATH_MAX], exe[PATH_MAX], bases[2][PATH_MAX * 2 + 16];
    int r = snprintf(src, sizeof(src), "%s", __FILE__);
    assert_true(r > 0);
    char *slash = strrchr(src, '/');
    if (slash)
        *slash = '\0';
    else
        r = snprintf(src, sizeof(src), ".");
    r = snprintf(bases[0], sizeof(bases[0]), "%s", src);
    bases[1][0] = '\0';
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0 && src[0] != '/') {
        exe[n] = '\0';
        char *e = strrchr(exe, '/');
        if (e)
            *e = '\0';
        r = snprintf(bases[1], sizeof(bases[1]), "%s/../../%s", exe, src);
    }
    for (int i = 0; i < 2; i++) {
        if (!bases[i][0])
            continue;
        r = snprintf(out, outlen, "%s/../fixtures/policies/%s", bases[i], name);
        if (r > 0 && (size_t)r < outlen && access(out, R_OK) == 0)
            return;
    }
    fail_msg("fixture %s not found", name);
}

static gw_policies_t g_pols;

static int setup_apply(void **state)
{
    (void)state;
    char path[PATH_MAX * 3];
    fixture_path("apply.json", path, sizeof(path));
    tk_conf_errors_t errs = {0};
    if (gw_policies_load_file(&g_pols, path, &errs) != TK_OK || errs.n)
        fail_msg("apply.json: %s", errs.n ? errs.msgs[0] : "load failed");
    return 0;
}

static int teardown_apply(void **state)
{
    (void)state;
    gw_policies_free(&g_pols);
    return 0;
}

/* Applies @ids (NULL-terminated) to @s; returns rc and stores the error text in @err. */
static int apply_ids(gw_session_t *s, const char *org, char **err, const char *const *ids)
{
    gw_strv_free(&s->apply_policies);
    for (size_t i = 0; ids[i]; i++)
        gw_strv_push(&s->apply_policies, ids[i]);
    return gw_policy_apply(s, &g_pols, org, err);
}

#define APPLY_OK(s, ...)                                                                           \
    do {                                                                                           \
        const char *const ids_[] = {__VA_ARGS__, NULL};                                            \
        char *e_ = NULL;                                                                           \
        if (apply_ids((s), NULL, &e_, ids_) != TK_OK)                                              \
            fail_msg("apply failed: %s", e_);                                                      \
    } while (0)

static void expect_apply_error(const char *org, const char *want, const char *const *ids)
{
    gw_session_t s = {0};
    char *err = NULL;
    assert_int_equal(apply_ids(&s, org, &err, ids), TK_ERROR);
    assert_non_null(err);
    if (strcmp(err, want) != 0)
        fail_msg("error \"%s\", want \"%s\"", err, want);
    free(err);
    gw_session_free(&s);
}

/* ---- loading ---- */

static bool errs_mention(const tk_conf_errors_t *e, const char *a, const char *b)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], a) && (!b || strstr(e->msgs[i], b)))
            return true;
    return false;
}

static void test_load_dir(void **state)
{
    (void)state;
    char dir[PATH_MAX * 3];
    fixture_path("dir", dir, sizeof(dir));
    gw_policies_t set = {0};
    tk_conf_errors_t errs = {0};
    assert_int_equal(gw_policies_load_dir(&set, dir, &errs), TK_OK);

    /* gold.json holds id "gold-policy": the file name is irrelevant */
    assert_int_equal(set.n, 2);
    const gw_policy_t *g = gw_policies_get(&set, "gold-policy");
    assert_non_null(g);
    assert_null(gw_policies_get(&set, "gold"));
    assert_string_equal(g->name, "Gold");
    assert_dbl(g->rate, 100);
    assert_int_equal(g->quota_max, 10000);
    assert_int_equal(g->quota_renewal_rate, 3600);
    assert_true(g->active);
    assert_int_equal(g->key_expires_in, 86400);
    assert_int_equal(g->n_access, 1);
    assert_string_equal(g->access[0].api_name, "Orders");
    assert_string_equal(tk_json_str(g->meta_data, "tier", ""), "gold");
    assert_non_null(g->raw);

    const gw_policy_t *sv = gw_policies_get(&set, "silver");
    assert_non_null(sv);
    assert_string_equal(sv->mid, "5f1b2c3d4e5f6a7b8c9d0e1f");
    assert_dbl(sv->rate, 10.5);
    assert_int_equal(sv->quota_max, -1);
    assert_true(sv->partitions.rate_limit);
    assert_true(sv->partitions.acl);
    assert_false(sv->partitions.quota);

    /* broken, id-less and mistyped files are reported by name and skipped; .txt ignored */
    assert_int_equal(errs.n, 3);
    assert_true(errs_mention(&errs, "broken.json", NULL));
    assert_true(errs_mention(&errs, "noid.json", "id"));
    assert_true(errs_mention(&errs, "badtype.json", "rate"));
    assert_false(errs_mention(&errs, "readme.txt", NULL));
    assert_null(gw_policies_get(&set, "not-a-json-file"));

    tk_conf_errors_free(&errs);
    gw_policies_free(&set);

    assert_int_equal(gw_policies_load_dir(&set, "/nonexistent/policies", &errs), TK_ERROR);
    assert_int_equal(errs.n, 1);
    tk_conf_errors_free(&errs);
}

static void test_load_record_file(void **state)
{
    (void)state;
    char path[PATH_MAX * 3];
    fixture_path("record.json", path, sizeof(path));
    gw_policies_t set = {0};
    tk_conf_errors_t errs = {0};
    assert_int_equal(gw_policies_load_file(&set, path, &errs), TK_OK);
    assert_int_equal(set.n, 2);
    /* the map key is the ID, whatever "id" says */
    const gw_policy_t *p = gw_policies_get(&set, "rec-1");
    assert_non_null(p);
    assert_null(gw_policies_get(&set, "ignored-inner-id"));
    assert_dbl(p->rate, 5);
    assert_non_null(gw_policies_get(&set, "rec-2"));
    assert_int_equal(errs.n, 1);
    assert_true(errs_mention(&errs, "rec-bad", "quota_max"));
    tk_conf_errors_free(&errs);
    gw_policies_free(&set);

    /* policy_path wins over policy_record_name */
    char dir[PATH_MAX * 3];
    fixture_path("dir", dir, sizeof(dir));
    assert_int_equal(gw_policies_load(&set, dir, path, &errs), TK_OK);
    assert_non_null(gw_policies_get(&set, "gold-policy"));
    assert_null(gw_policies_get(&set, "rec-1"));
    tk_conf_errors_free(&errs);
    gw_policies_free(&set);
    assert_int_equal(gw_policies_load(&set, "", path, &errs), TK_OK);
    assert_non_null(gw_policies_get(&set, "rec-1"));
    tk_conf_errors_free(&errs);
    gw_policies_free(&set);

    assert_int_equal(gw_policies_load_file(&set, "/nonexistent.json", &errs), TK_ERROR);
    assert_int_equal(errs.n, 1);
    tk_conf_errors_free(&errs);
}

static void test_lookup_add_remove(void **state)
{
    (void)state;
    assert_non_null(gw_policies_find(&g_pols, "single", "org1"));
    assert_null(gw_policies_find(&g_pols, "single", "org2"));
    assert_non_null(gw_policies_find(&g_pols, "single", NULL));
    assert_null(gw_policies_get(&g_pols, "nope"));

    gw_policies_t set = {0};
    const char *txt = "{\"id\": \"p\", \"rate\": 1}";
    json_t *j = json_loads(txt, 0, NULL);
    gw_policy_t p;
    assert_int_equal(gw_policy_from_json(j, &p, NULL), TK_OK);
    gw_policies_add(&set, &p);
    json_object_set_new(j, "rate", json_integer(2));
    assert_int_equal(gw_policy_from_json(j, &p, NULL), TK_OK);
    gw_policies_add(&set, &p); /* same id replaces */
    assert_int_equal(set.n, 1);
    assert_dbl(set.v[0].rate, 2);
    assert_int_equal(gw_policies_remove(&set, "p"), TK_OK);
    assert_int_equal(gw_policies_remove(&set, "p"), TK_DECLINED);
    json_decref(j);
    gw_policies_free(&set);
}

/* ---- merge: basics and errors ---- */

static void test_apply_no_policies(void **state)
{
    (void)state;
    gw_session_t s = {0};
    s.is_inactive = true;
    gw_access_t *a = gw_session_add_access(&s, "api-a");
    a->limit.rate = 5;
    a->limit.per = 1;
    gw_session_add_access(&s, "api-b");
    char *err = NULL;
    assert_int_equal(gw_policy_apply(&s, &g_pols, NULL, &err), TK_OK);
    /* a key-level per-API limit counts in its own scope; the key's own flag is kept */
    assert_string_equal(gw_session_access(&s, "api-a")->allowance_scope, "api-a");
    assert_null(gw_session_access(&s, "api-b")->allowance_scope);
    assert_true(s.is_inactive);
    gw_session_free(&s);
}

static void test_apply_single_policy(void **state)
{
    (void)state;
    gw_session_t s = {0};
    s.rate = 999; /* cleared: the policy decides */
    gw_strv_push(&s.tags, "key-tag");
    APPLY_OK(&s, "single");
    assert_int_equal(s.n_access, 1);
    const gw_access_t *a = gw_session_access(&s, "api-a");
    assert_non_null(a);
    assert_int_equal(a->versions.n, 1);
    assert_int_equal(a->n_allowed_urls, 1);
    assert_string_equal(a->allowed_urls[0].url, "/users");
    assert_dbl(a->limit.rate, 50);
    assert_dbl(a->limit.per, 10);
    assert_int_equal(a->limit.quota_max, 500);
    assert_int_equal(a->limit.quota_renewal_rate, 3600);
    assert_dbl(a->limit.throttle_interval, 2);
    assert_int_equal(a->limit.throttle_retry_limit, 3);
    assert_int_equal(a->limit.max_query_depth, 5);
    assert_null(a->allowance_scope); /* one policy: no separate scope */
    /* a single API: the root mirrors its limits */
    assert_dbl(s.rate, 50);
    assert_dbl(s.per, 10);
    assert_int_equal(s.quota_max, 500);
    assert_int_equal(s.quota_renewal_rate, 3600);
    assert_int_equal(s.max_query_depth, 5);
    assert_true(s.hmac_enabled);
    assert_string_equal(s.last_updated, "1700000000");
    assert_string_equal(s.post_expiry_action, "delete");
    assert_int_equal(s.post_expiry_grace_period, 30);
    assert_string_equal(tk_json_str(s.meta_data, "tier", ""), "gold");
    assert_true(gw_strv_contains(&s.tags, "gold"));
    assert_true(gw_strv_contains(&s.tags, "key-tag"));
    assert_int_equal(s.tags.n, 2);
    /* the result serialises with the omitzero rules */
    json_t *out = gw_session_to_json(&s);
    json_t *ja = tk_json_obj(tk_json_obj(out, "access_rights"), "api-a");
    assert_int_equal(tk_json_int(tk_json_obj(ja, "limit"), "quota_max", 0), 500);
    json_decref(out);
    gw_session_free(&s);
}

static void test_apply_errors(void **state)
{
    (void)state;
    expect_apply_error(NULL, "policy not found: \"nope\"", (const char *const[]){"nope", NULL});
    expect_apply_error(NULL, "key has no valid policies to be applied",
                       (const char *const[]){"nope", "nope2", NULL});
    expect_apply_error("org1",
                       "attempting to apply policy from different organisation to key, skipping",
                       (const char *const[]){"other-org", NULL});
    expect_apply_error(NULL,
                       "cannot apply policy pa-bad which has per_api and any of partitions set",
                       (const char *const[]){"pa-bad", NULL});
    const char *mixed =
        "cannot apply multiple policies when some have per_api set and some are partitioned";
    expect_apply_error(NULL, mixed, (const char *const[]){"pa-d", "q-small", NULL});
    expect_apply_error(NULL, mixed, (const char *const[]){"r-slow", "pa-d", NULL});

    /* the API's org matches: fine; a policy without org against org "": fine */
    gw_session_t s = {0};
    char *err = NULL;
    assert_int_equal(apply_ids(&s, "org1", &err, (const char *const[]){"single", NULL}), TK_OK);
    gw_session_free(&s);
    assert_int_equal(apply_ids(&s, "", &err, (const char *const[]){"np-a", NULL}), TK_OK);
    gw_session_free(&s);
}

static void test_apply_missing_among_several_is_skipped(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "np-a", "np-b", "nonexistent");
    assert_int_equal(s.n_access, 2);
    /* two policies set ACLs: each API counts in the scope of the policy that granted it */
    assert_string_equal(gw_session_access(&s, "api-a")->allowance_scope, "np-a");
    assert_string_equal(gw_session_access(&s, "api-b")->allowance_scope, "np-b");
    assert_true(gw_api_limit_is_empty(&gw_session_access(&s, "api-a")->limit));
    gw_session_free(&s);
}

static void test_apply_one_policy_two_apis_no_scope(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "np-ab");
    assert_int_equal(s.n_access, 2);
    assert_null(gw_session_access(&s, "api-a")->allowance_scope);
    assert_null(gw_session_access(&s, "api-b")->allowance_scope);
    gw_session_free(&s);
}

/* ---- merge: quota ---- */

static void test_apply_quota_greatest_wins(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "q-small", "q-big", "acl-a");
    const gw_access_t *a = gw_session_access(&s, "api-a");
    assert_int_equal(a->limit.quota_max, 300);
    assert_int_equal(a->limit.quota_renewal_rate, 60); /* also the greater one */
    assert_int_equal(s.quota_max, 300);
    gw_session_free(&s);

    gw_session_t r = {0};
    APPLY_OK(&r, "acl-a", "q-big", "q-small");
    assert_int_equal(gw_session_access(&r, "api-a")->limit.quota_max, 300);
    assert_int_equal(r.quota_max, 300);
    gw_session_free(&r);

    /* without an ACL policy nothing is granted, but the key's root quota is still set */
    gw_session_t n = {0};
    APPLY_OK(&n, "q-big", "q-small");
    assert_int_equal(n.n_access, 0);
    assert_int_equal(n.quota_max, 300);
    gw_session_free(&n);
}

static void test_apply_quota_unlimited_wins(void **state)
{
    (void)state;
    const char *const orders[2][4] = {{"q-big", "q-unlim", "acl-a", NULL},
                                      {"q-unlim", "q-big", "acl-a", NULL}};
    for (int i = 0; i < 2; i++) {
        gw_session_t s = {0};
        char *err = NULL;
        assert_int_equal(apply_ids(&s, NULL, &err, orders[i]), TK_OK);
        assert_int_equal(gw_session_access(&s, "api-a")->limit.quota_max, -1);
        assert_int_equal(s.quota_max, -1);
        gw_session_free(&s);
    }
}

/* ---- merge: rate ---- */

static void test_apply_rate_highest_wins(void **state)
{
    (void)state;
    const char *const orders[2][4] = {{"r-slow", "r-fast", "acl-a", NULL},
                                      {"acl-a", "r-fast", "r-slow", NULL}};
    for (int i = 0; i < 2; i++) {
        gw_session_t s = {0};
        s.rate = 20; /* the key's own rate is cleared by rate partitions */
        s.per = 1;
        char *err = NULL;
        assert_int_equal(apply_ids(&s, NULL, &err, orders[i]), TK_OK);
        assert_dbl(s.rate, 12);
        assert_dbl(gw_session_access(&s, "api-a")->limit.rate, 12);
        assert_dbl(gw_session_access(&s, "api-a")->limit.per, 1);
        gw_session_free(&s);
    }

    gw_session_t u = {0};
    APPLY_OK(&u, "r-unlim");
    assert_true(u.rate <= 0);
    gw_session_free(&u);

    gw_session_t np = {0};
    np.rate = 20;
    np.per = 1;
    APPLY_OK(&np, "r-nopart"); /* non-partitioned policy: its rate, not the key's */
    assert_dbl(np.rate, 9);
    gw_session_free(&np);
}

static void test_apply_acl_and_rate_partitions(void **state)
{
    (void)state;
    /* ACL for api-a only; the rate policy covers a and b: b is not granted */
    gw_session_t s = {0};
    APPLY_OK(&s, "acl-a", "r-ab");
    assert_int_equal(s.n_access, 1);
    const gw_access_t *a = gw_session_access(&s, "api-a");
    assert_non_null(a);
    assert_dbl(a->limit.rate, 6);
    assert_dbl(a->limit.per, 1);
    assert_null(gw_session_access(&s, "api-b"));
    gw_session_free(&s);

    /* the ACL policy given last still grants (rights are pre-filled per API) */
    gw_session_t r = {0};
    APPLY_OK(&r, "r-ab", "acl-ab");
    assert_int_equal(r.n_access, 2);
    assert_dbl(gw_session_access(&r, "api-b")->limit.rate, 6);
    gw_session_free(&r);
}

static void test_apply_quota_and_rate_partitions_combined(void **state)
{
    (void)state;
    const char *const orders[2][3] = {{"q-root", "r-root", NULL}, {"r-root", "q-root", NULL}};
    for (int i = 0; i < 2; i++) {
        gw_session_t s = {0};
        char *err = NULL;
        assert_int_equal(apply_ids(&s, NULL, &err, orders[i]), TK_OK);
        assert_int_equal(s.quota_max, 40);
        assert_int_equal(s.quota_renewal_rate, 120);
        assert_dbl(s.rate, 7);
        assert_dbl(s.per, 3);
        gw_session_free(&s);
    }
}

static void test_apply_policy_without_access_rights_sets_root(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "throttle");
    assert_dbl(s.throttle_interval, 7);
    assert_int_equal(s.throttle_retry_limit, 70);
    gw_session_free(&s);

    gw_session_t q = {0};
    q.quota_max = 1000;
    q.quota_remaining = 999;
    APPLY_OK(&q, "q-root");
    assert_int_equal(q.quota_max, 40);
    assert_int_equal(q.quota_remaining, 0); /* cleared with the quota partition */
    gw_session_free(&q);
}

/* ---- merge: inactive, tags, metadata ---- */

static void test_apply_inactive(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "tags-x", "inactive-q");
    assert_true(s.is_inactive);
    gw_session_free(&s);

    gw_session_t k = {0};
    k.is_inactive = true; /* the key's own flag gives way to the policies */
    APPLY_OK(&k, "tags-x", "tags-y");
    assert_false(k.is_inactive);
    gw_session_free(&k);

    gw_session_t a = {0};
    APPLY_OK(&a, "inactive-q", "active-r");
    assert_true(a.is_inactive);
    gw_session_free(&a);
}

static void test_apply_tags_meta_last_updated(void **state)
{
    (void)state;
    gw_session_t s = {0};
    gw_strv_push(&s.tags, "key-tag");
    s.meta_data = json_pack("{s:s, s:s}", "own", "kept", "shared", "key");
    s.last_updated = strdup("1600000000");
    APPLY_OK(&s, "tags-x", "tags-y");
    assert_int_equal(s.tags.n, 3);
    assert_true(gw_strv_contains(&s.tags, "x"));
    assert_true(gw_strv_contains(&s.tags, "y"));
    assert_true(gw_strv_contains(&s.tags, "key-tag"));
    assert_string_equal(tk_json_str(s.meta_data, "own", ""), "kept");
    assert_string_equal(tk_json_str(s.meta_data, "k1", ""), "p");
    assert_string_equal(tk_json_str(s.meta_data, "shared", ""), "y"); /* later policy wins */
    assert_string_equal(s.last_updated, "1700000005");                /* greatest */
    assert_true(s.enable_http_signature_validation);                  /* OR-ed in */
    gw_session_free(&s);
}

static void test_apply_rights_replace_key_acl(void **state)
{
    (void)state;
    gw_session_t s = {0};
    gw_session_add_access(&s, "api-c");
    APPLY_OK(&s, "acl-ab");
    assert_int_equal(s.n_access, 2);
    assert_null(gw_session_access(&s, "api-c"));
    assert_non_null(gw_session_access(&s, "api-a"));
    gw_session_free(&s);
}

/* ---- merge: per_api ---- */

static void test_apply_per_api(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "pa-two");
    const gw_access_t *c = gw_session_access(&s, "api-c");
    const gw_access_t *d = gw_session_access(&s, "api-d");
    assert_dbl(c->limit.rate, 1000);
    assert_dbl(c->limit.per, 60);
    assert_int_equal(c->limit.quota_max, -1);
    assert_string_equal(c->allowance_scope, "api-c");
    assert_dbl(d->limit.rate, 10);
    assert_int_equal(d->limit.quota_max, 2000);
    assert_int_equal(d->limit.quota_renewal_rate, 3600);
    assert_string_equal(d->allowance_scope, "api-d");
    gw_session_free(&s);
}

static void test_apply_per_api_same_api_most_permissive(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "pa-two", "pa-d", "pa-c-fast");
    const gw_access_t *c = gw_session_access(&s, "api-c");
    const gw_access_t *d = gw_session_access(&s, "api-d");
    /* api-c: 2000/10 is faster than 1000/60; -1 quota beats 5000 and zeroes renewal */
    assert_dbl(c->limit.rate, 2000);
    assert_dbl(c->limit.per, 10);
    assert_int_equal(c->limit.quota_max, -1);
    assert_int_equal(c->limit.quota_renewal_rate, 0);
    assert_string_equal(c->allowance_scope, "api-c");
    /* api-d: 100/10 and 10/1 are equally fast: the later policy's limit stays; quota 4000 */
    assert_dbl(d->limit.rate, 100);
    assert_dbl(d->limit.per, 10);
    assert_int_equal(d->limit.quota_max, 4000);
    gw_session_free(&s);
}

static void test_apply_per_api_limit_from_policy(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "pa-from-policy");
    const gw_access_t *e = gw_session_access(&s, "api-e");
    assert_dbl(e->limit.rate, 250);
    assert_dbl(e->limit.per, 1);
    assert_int_equal(e->limit.quota_max, -1);
    assert_string_equal(e->allowance_scope, "pa-from-policy"); /* inherited: policy scope */
    const gw_access_t *d = gw_session_access(&s, "api-d");
    assert_string_equal(d->allowance_scope, "api-d");
    assert_int_equal(d->limit.quota_max, 4000);
    gw_session_free(&s);
}

/* ---- merge: ACL details ---- */

static void test_apply_allowed_urls_and_versions_union(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "urls-1", "urls-2"); /* /users GET + /users GET,POST */
    const gw_access_t *a = gw_session_access(&s, "api-a");
    assert_int_equal(a->n_allowed_urls, 2);
    assert_string_equal(a->allowed_urls[0].url, "/users");
    assert_int_equal(a->allowed_urls[0].methods.n, 2);
    assert_true(gw_strv_contains(&a->allowed_urls[0].methods, "POST"));
    assert_string_equal(a->allowed_urls[1].url, "/orders");
    assert_int_equal(a->versions.n, 1);
    assert_string_equal(a->versions.v[0], "v2");
    const gw_access_t *b = gw_session_access(&s, "api-b");
    assert_int_equal(b->n_allowed_urls, 1);
    assert_string_equal(b->allowed_urls[0].methods.v[0], "PUT");
    gw_session_free(&s);
}

static void test_apply_graphql_merge(void **state)
{
    (void)state;
    gw_session_t s = {0};
    APPLY_OK(&s, "gql-1", "gql-2");
    const gw_access_t *g = gw_session_access(&s, "api-g");
    assert_true(g->disable_introspection);
    json_t *far = json_object_get(g->extra, "field_access_rights");
    assert_int_equal(json_array_size(far), 3);
    /* people: 4 beats 2; put: -1 (unlimited) beats 3; continents appended */
    assert_int_equal(
        tk_json_int(tk_json_obj(json_array_get(far, 0), "limits"), "max_query_depth", 0), 4);
    assert_int_equal(
        tk_json_int(tk_json_obj(json_array_get(far, 1), "limits"), "max_query_depth", 0), -1);
    assert_string_equal(tk_json_str(json_array_get(far, 2), "field_name", ""), "continents");
    json_t *rt = json_object_get(g->extra, "restricted_types");
    assert_int_equal(json_array_size(rt), 2);
    assert_int_equal(json_array_size(tk_json_arr(json_array_get(rt, 0), "fields")), 2);
    assert_string_equal(tk_json_str(json_array_get(rt, 1), "name", ""), "Person");
    gw_session_free(&s);
}

/* ---- merge: endpoint limits ---- */

static const gw_endpoint_method_t *find_ep(const gw_access_t *ad, const char *path,
                                           const char *method)
{
    for (size_t i = 0; i < ad->n_endpoints; i++)
        for (size_t j = 0; j < ad->endpoints[i].n_methods; j++)
            if (!strcmp(ad->endpoints[i].path, path) &&
                !strcmp(ad->endpoints[i].methods[j].name, method))
                return &ad->endpoints[i].methods[j];
    return NULL;
}

static void test_apply_endpoint_limits(void **state)
{
    (void)state;
    const char *const faster[2][3] = {{"ep-1", "ep-2", NULL}, {"ep-2", "ep-1", NULL}};
    for (int i = 0; i < 2; i++) {
        gw_session_t s = {0};
        char *err = NULL;
        assert_int_equal(apply_ids(&s, NULL, &err, faster[i]), TK_OK);
        const gw_endpoint_method_t *m = find_ep(gw_session_access(&s, "api-d"), "/get", "GET");
        assert_non_null(m);
        assert_dbl(m->limit.rate, 30); /* 30/60 is faster than 10/60 */
        assert_dbl(m->limit.per, 60);
        gw_session_free(&s);
    }

    const char *const unlim[2][4] = {{"ep-1", "ep-2", "ep-3", NULL},
                                     {"ep-3", "ep-2", "ep-1", NULL}};
    for (int i = 0; i < 2; i++) {
        gw_session_t s = {0};
        char *err = NULL;
        assert_int_equal(apply_ids(&s, NULL, &err, unlim[i]), TK_OK);
        const gw_endpoint_method_t *m = find_ep(gw_session_access(&s, "api-d"), "/get", "GET");
        assert_dbl(m->limit.rate, -1); /* no bound beats any bound */
        gw_session_free(&s);
    }

    /* endpoints of different paths are merged, sorted by path */
    gw_session_t s = {0};
    APPLY_OK(&s, "ep-post", "ep-2");
    const gw_access_t *d = gw_session_access(&s, "api-d");
    assert_int_equal(d->n_endpoints, 2);
    assert_string_equal(d->endpoints[0].path, "/get");
    assert_string_equal(d->endpoints[1].path, "/post");
    assert_dbl(find_ep(d, "/post", "POST")->limit.rate, 15);
    gw_session_free(&s);

    /* an ACL-only partition does not carry endpoint limits */
    gw_session_t a = {0};
    APPLY_OK(&a, "ep-acl-only");
    assert_int_equal(gw_session_access(&a, "api-d")->n_endpoints, 0);
    gw_session_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_load_record_file),
        cmocka_unit_test(test_lookup_add_remove),
        cmocka_unit_test(test_apply_no_policies),
        cmocka_unit_test(test_apply_single_policy),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_apply_missing_among_several_is_skipped),
        cmocka_unit_test(test_apply_one_policy_two_apis_no_scope),
        cmocka_unit_test(test_apply_quota_greatest_wins),
        cmocka_unit_test(test_apply_quota_unlimited_wins),
        cmocka_unit_test(test_apply_rate_highest_wins),
        cmocka_unit_test(test_apply_acl_and_rate_partitions),
        cmocka_unit_test(test_apply_quota_and_rate_partitions_combined),
        cmocka_unit_test(test_apply_policy_without_access_rights_sets_root),
        cmocka_unit_test(test_apply_inactive),
        cmocka_unit_test(test_apply_tags_meta_last_updated),
        cmocka_unit_test(test_apply_rights_replace_key_acl),
        cmocka_unit_test(test_apply_per_api),
        cmocka_unit_test(test_apply_per_api_same_api_most_permissive),
        cmocka_unit_test(test_apply_per_api_limit_from_policy),
        cmocka_unit_test(test_apply_allowed_urls_and_versions_union),
        cmocka_unit_test(test_apply_graphql_merge),
        cmocka_unit_test(test_apply_endpoint_limits),
    };
    return cmocka_run_group_tests(tests, setup_apply, teardown_apply);
}
