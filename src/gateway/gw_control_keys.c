/* SPDX-License-Identifier: Apache-2.0 */
/* The /tyk/keys control API: key create, read, update, delete and listing in Redis, as Tyk has it.
 */
#include "gw_events.h"
#include "gw_handlers.h"
#include "gw_limits.h"
#include "gw_pipeline.h"
#include "gw_policy.h"
#include "gw_session.h"
#include "tk_hash.h"
#include "tk_base64.h"
#include "tk_log.h"
#include "tk_offload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDIS_DOWN "Redis connection not available"
#define FAILED_CREATE "Failed to create key, ensure security settings are correct."

/* ---- small helpers ----------------------------------------------------------------------- */

static bool query_nonempty(gw_req_t *req, const char *name)
{
    const char *v = gw_req_query(req, name);
    return v && *v;
}

static const gw_conf_t *k_conf(const gw_req_t *req)
{
    return req->conn->w->srv->conf;
}

static enum tk_hash_algo k_algo(const gw_req_t *req)
{
    const char *f = k_conf(req)->hash_key_function;
    return tk_hash_algo_parse(f ? f : "", f ? strlen(f) : 0, NULL);
}

/* Tyk's HashKey(token, hash_keys) as an arena string. */
static char *k_hash_key(gw_req_t *req, const char *token)
{
    size_t cap = strlen(token) + TK_HASH_HEX_MAX + 1;
    char *out = tk_arena_alloc(req->arena, cap);
    if (!out || tk_hash_key(token, strlen(token), k_conf(req)->hash_keys, out, cap) != TK_OK)
        return NULL;
    return out;
}

/* Tyk's generateToken(org, id) as an arena string. */
static char *k_token(gw_req_t *req, const char *org, const char *id)
{
    char *t = tk_token_generate(org ? org : "", id, k_algo(req));
    char *a = tk_arena_strdup(req->arena, t);
    free(t);
    return a;
}

static char *now_str(gw_req_t *req)
{
    return tk_arena_printf(req->arena, "%lld", (long long)time(NULL));
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? tk_xstrdup(v) : NULL;
}

static int64_t api_int(const gw_api_t *api, const char *name)
{
    json_t *v = json_object_get(api->def, name);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static bool api_bool(const gw_api_t *api, const char *name)
{
    return json_is_true(json_object_get(api->def, name));
}

/* ---- the operation context (outlives the request while Redis answers) -------------------- */

enum k_op { OP_CREATE, OP_GET, OP_UPDATE, OP_DELETE, OP_POLICY, OP_LIST };

typedef struct kctx {
    gw_wait_t *t;
    enum k_op op;
    bool generated;   /* POST /tyk/keys/create */
    bool hashed;      /* ?hashed: the path holds the storage suffix */
    bool suppress;    /* ?suppress_reset=1 */
    bool api_minus1;  /* DELETE ?api_id=-1 */
    gw_session_t s;   /* the new session (create/update) */
    gw_session_t old; /* the stored one (get/update/delete/policy) */
    gw_strv_t cands;  /* lookup candidates: key names (token or hash) */
    char *key;        /* the key name found / created */
    char *suffix;     /* "apikey-" suffix of key */
    char *org;        /* org for lookups */
    char *api_id;     /* ?api_id */
    gw_strv_t policies;
    json_t *list;    /* OP_LIST: collected names */
    char **patterns; /* OP_LIST: SCAN patterns */
    size_t npatterns, pattern_i;
    char cursor[32];
    char **qkeys; /* OP_GET: quota keys asked for */
    size_t nqkeys;
} kctx_t;

static kctx_t *ctx_new(enum k_op op)
{
    kctx_t *c = tk_xcalloc(1, sizeof(*c));
    c->op = op;
    snprintf(c->cursor, sizeof(c->cursor), "0");
    return c;
}

static void ctx_free(kctx_t *c)
{
    if (!c)
        return;
    gw_session_free(&c->s);
    gw_session_free(&c->old);
    gw_strv_free(&c->cands);
    gw_strv_free(&c->policies);
    free(c->key);
    free(c->suffix);
    free(c->org);
    free(c->api_id);
    json_decref(c->list);
    for (size_t i = 0; i < c->npatterns; i++)
        free(c->patterns[i]);
    free(c->patterns);
    for (size_t i = 0; i < c->nqkeys; i++)
        free(c->qkeys[i]);
    free(c->qkeys);
    free(c);
}

static void ctx_free_any(void *c)
{
    ctx_free(c);
}

/* Sends a command with @c as the pending step; false (503 sent, ctx freed) when Redis is down. */
static bool k_send(gw_req_t *req, kctx_t *c, tk_redis_cb cb, int argc, const char **argv)
{
    return gw_ctl_redis_send(req, &c->t, c, ctx_free_any, cb, argc, argv);
}

/* In a reply callback: the request, or NULL (ctx freed) when the client went away. */
static gw_req_t *k_resume(kctx_t *c)
{
    gw_req_t *req = gw_wait_end(c->t);
    c->t = NULL;
    if (!req)
        ctx_free(c);
    return req;
}

static void k_fail_redis(gw_req_t *req, kctx_t *c)
{
    ctx_free(c);
    gw_ctl_error(req, 503, REDIS_DOWN);
}

/* Drops cached copies everywhere and tells other gateways, as Tyk's clearCacheForKey does. */
static void k_notify(gw_req_t *req, const char *suffix)
{
    gw_server_t *srv = req->conn->w->srv;
    gw_sessions_evict(srv, suffix);
    char sig[65];
    gw_notification_sign("KeySpaceUpdateNotification", suffix, srv->conf->node_secret, sig);
    json_t *m = json_pack("{s:s,s:s,s:s,s:i}", "command", "KeySpaceUpdateNotification", "payload",
                          suffix, "signature", sig, "algorithm", 5);
    char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (s)
        gw_server_publish(srv, "tyk.cluster.notifications", s);
    free(s);
}

/* Tyk's ResetQuota: DEL quota-<h>, rate-limit-<h>.BLOCKED and scoped quota keys (no reply). */
static void k_reset_quota(gw_req_t *req, const gw_session_t *s, const char *suffix)
{
    char *keys[64];
    size_t n = 0;
    char buf[1024];
    if (gw_key_quota(buf, sizeof(buf), NULL, suffix) >= 0)
        keys[n++] = tk_xstrdup(buf);
    if (gw_key_rate_limit(buf, sizeof(buf), NULL, suffix, NULL) >= 0) {
        char sb[1100];
        if (gw_key_sentinel(sb, sizeof(sb), buf) >= 0)
            keys[n++] = tk_xstrdup(sb);
    }
    for (size_t i = 0; s && i < s->n_access && n < 64; i++) {
        const char *scope = s->access[i].allowance_scope;
        if (scope && *scope && gw_key_quota(buf, sizeof(buf), scope, suffix) >= 0)
            keys[n++] = tk_xstrdup(buf);
    }
    if (n)
        gw_quota_reset(req->conn->w->redis, (const char *const *)keys, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
}

/* ---- lookups ------------------------------------------------------------------------------ */

static void after_get(gw_req_t *req, kctx_t *c, bool found);
static void after_update_lookup(gw_req_t *req, kctx_t *c, bool found);
static void after_delete_lookup(gw_req_t *req, kctx_t *c, bool found);
static void after_policy_lookup(gw_req_t *req, kctx_t *c, bool found);
static void after_cert_check(gw_req_t *req, kctx_t *c, bool found);

static void lookup_done(gw_req_t *req, kctx_t *c, bool found)
{
    switch (c->op) {
    case OP_CREATE:
        after_cert_check(req, c, found);
        break;
    case OP_GET:
        after_get(req, c, found);
        break;
    case OP_UPDATE:
        after_update_lookup(req, c, found);
        break;
    case OP_DELETE:
        after_delete_lookup(req, c, found);
        break;
    case OP_POLICY:
        after_policy_lookup(req, c, found);
        break;
    default:
        ctx_free(c);
        gw_ctl_error(req, 500, "Internal error");
    }
}

static void on_lookup(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    kctx_t *c = arg;
    gw_req_t *req = k_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        k_fail_redis(req, c);
        return;
    }
    bool found = false;
    for (size_t i = 0; i < reply->elements && i < c->cands.n; i++) {
        redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        gw_session_free(&c->old);
        char *err = NULL;
        if (gw_session_from_text(e->str, e->len, &c->old, &err) != TK_OK) {
            tk_log_warn("control API: stored session does not decode: %s", err ? err : "?");
            free(err);
            continue;
        }
        set_str(&c->key, c->cands.v[i]);
        free(c->suffix);
        const char *sfx = c->hashed ? NULL : k_hash_key(req, c->cands.v[i]);
        c->suffix = tk_xstrdup(sfx ? sfx : c->cands.v[i]);
        found = true;
        break;
    }
    lookup_done(req, c, found);
}

/*
 * Tyk's SessionDetail(org, key, hashed): a hashed name is read as is; otherwise both the
 * generateToken(org, key) form and the key as given are tried (the first that exists wins).
 */
static void k_lookup(gw_req_t *req, kctx_t *c, const char *key)
{
    gw_strv_free(&c->cands);
    if (c->hashed) {
        gw_strv_push(&c->cands, key);
    } else {
        char *org = tk_token_org(key, strlen(key));
        const char *o = c->org ? c->org : "";
        bool same = strcmp(org ? org : "", o) == 0;
        free(org);
        if (!same)
            gw_strv_push(&c->cands, k_token(req, o, key));
        gw_strv_push(&c->cands, key);
    }
    const char *argv[4];
    argv[0] = "MGET";
    for (size_t i = 0; i < c->cands.n; i++) {
        const char *sfx = c->hashed ? c->cands.v[i] : k_hash_key(req, c->cands.v[i]);
        argv[i + 1] = tk_arena_printf(req->arena, "apikey-%s", sfx ? sfx : "");
    }
    k_send(req, c, on_lookup, (int)c->cands.n + 1, argv);
}

/* ---- saving (Tyk's doAddOrUpdate + applyPoliciesAndSave) ---------------------------------- */

static void on_saved(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    kctx_t *c = arg;
    gw_req_t *req = k_resume(c);
    if (!req)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        k_fail_redis(req, c);
        return;
    }
    k_notify(req, c->suffix);
    json_t *o;
    if (c->op == OP_POLICY) {
        o = json_pack("{s:s,s:s,s:s}", "key", c->key, "status", "ok", "action", "updated");
    } else {
        const char *action = c->op == OP_UPDATE ? "modified" : "added";
        gw_event_token(c->op == OP_UPDATE ? GW_EV_TOKEN_UPDATED : GW_EV_TOKEN_CREATED, c->s.org_id,
                       c->key);
        o = json_pack("{s:s,s:s,s:s}", "key", c->key, "status", "ok", "action", action);
        if (c->op == OP_CREATE && k_conf(req)->hash_keys)
            json_object_set_new(o, "key_hash", json_string(c->suffix));
    }
    ctx_free(c);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

/* Stores c->s under c->suffix with @ttl seconds (0 = none). */
static void k_store(gw_req_t *req, kctx_t *c, int64_t ttl)
{
    char *json = gw_session_dumps(&c->s);
    if (!json) {
        ctx_free(c);
        gw_ctl_error(req, 500, "Marshalling failed");
        return;
    }
    const char *argv[5] = {"SET", tk_arena_printf(req->arena, "apikey-%s", c->suffix),
                           tk_arena_strdup(req->arena, json), "EX",
                           tk_arena_printf(req->arena, "%lld", (long long)ttl)};
    free(json);
    k_send(req, c, on_saved, ttl > 0 ? 5 : 3, argv);
}

/* Applies a policy's key_expires_in to a new key (Tyk's checkAndApplyTrialPeriod). */
static void trial_period(gw_req_t *req, gw_session_t *s)
{
    const char *const *ids;
    size_t n = gw_session_policy_ids(s, &ids);
    for (size_t i = 0; i < n; i++) {
        const gw_policy_t *p = gw_policies_get(&req->gref->gen->policies, ids[i]);
        if (p && p->key_expires_in > 0)
            s->expires = (int64_t)time(NULL) + p->key_expires_in;
    }
}

/*
 * The per-API part of Tyk's doAddOrUpdate: quota reset (unless suppressed or the API sets
 * dont_set_quota_on_create), trial period for new keys, policies, lifetime; then the write.
 * Returns false after answering an error.
 */
static bool k_save(gw_req_t *req, kctx_t *c, bool is_new, const char *no_rights_msg,
                   int no_rights_code)
{
    const gw_conf_t *conf = k_conf(req);
    const gw_gen_t *g = req->gref->gen;
    gw_session_t *s = &c->s;
    int64_t now = (int64_t)time(NULL);
    if (!c->suppress)
        set_str(&s->last_updated, now_str(req));
    bool reset = false;
    int64_t lifetime = 0;
    if (s->n_access == 0 && !conf->allow_master_keys) {
        ctx_free(c);
        gw_ctl_error(req, no_rights_code, no_rights_msg);
        return false;
    }
    size_t napis = s->n_access ? s->n_access : g->napis;
    for (size_t i = 0; i < napis; i++) {
        const gw_api_t *api =
            s->n_access ? gw_gen_find_api(g, s->access[i].key) : (const gw_api_t *)g->apis[i];
        if (api && is_new)
            trial_period(req, s);
        if ((!api || !api_bool(api, "dont_set_quota_on_create")) && !c->suppress) {
            reset = true;
            s->quota_renews = now + s->quota_renewal_rate;
        }
    }
    char *err = NULL;
    if (gw_policy_apply(s, &g->policies, NULL, &err) != TK_OK) {
        tk_log_warn("control API: key policies: %s", err ? err : "?");
        free(err);
        bool gen = c->generated;
        ctx_free(c);
        gw_ctl_error(req, 500, gen ? "Failed to create key" : FAILED_CREATE);
        return false;
    }
    for (size_t i = 0; i < (s->n_access ? s->n_access : g->napis); i++) {
        const gw_api_t *api =
            s->n_access ? gw_gen_find_api(g, s->access[i].key) : (const gw_api_t *)g->apis[i];
        if (!api)
            continue;
        bool respects = api_bool(api, "session_lifetime_respects_key_expiration") ||
                        conf->session_lifetime_respects_key_expiration;
        int64_t l = gw_session_lifetime(s, api_int(api, "session_lifetime"), respects,
                                        conf->global_session_lifetime,
                                        conf->force_global_session_lifetime, now);
        if (l > lifetime)
            lifetime = l;
    }
    if (reset)
        k_reset_quota(req, s, c->suffix);
    k_store(req, c, lifetime);
    return true;
}

/* ---- basic-auth passwords (Tyk's setSessionPassword) -------------------------------------- */

/* basic_auth_hash_key_function: sha256 and murmur* as named; anything else is bcrypt. */
static bool k_basic_algo(const gw_req_t *req, enum tk_hash_algo *a)
{
    const char *f = k_conf(req)->basic_auth_hash_key_function;
    bool known = false;
    if (!f || !*f)
        return false;
    *a = tk_hash_algo_parse(f, strlen(f), &known);
    return known;
}

typedef struct hjob {
    kctx_t *c;
    char *password;
    char *hash; /* bcrypt result, NULL on failure */
    bool is_new;
    const char *no_rights_msg;
    int no_rights_code;
} hjob_t;

static void hjob_free(hjob_t *j)
{
    free(j->password);
    free(j->hash);
    free(j);
}

static void hjob_work(void *arg)
{
    hjob_t *j = arg;
    j->hash = tk_bcrypt_hash(j->password, 10);
}

static void hjob_done(void *arg, int status)
{
    hjob_t *j = arg;
    if (status != TK_OK) { /* the worker's loop is gone: nothing resumes */
        hjob_free(j);
        return;
    }
    kctx_t *c = j->c;
    gw_req_t *req = k_resume(c);
    if (req && !j->hash) {
        ctx_free(c);
        gw_ctl_error(req, 500, "Failed to hash the basic auth password");
    } else if (req) {
        set_str(&c->s.basic_auth_password, j->hash);
        set_str(&c->s.basic_auth_hash_type, "bcrypt");
        k_save(req, c, j->is_new, j->no_rights_msg, j->no_rights_code);
    }
    hjob_free(j);
}

/* Hashes c->s's basic-auth password with basic_auth_hash_key_function (bcrypt on the offload
 * pool), then k_save(). */
static void k_hash_then_save(gw_req_t *req, kctx_t *c, bool is_new, const char *no_rights_msg,
                             int no_rights_code)
{
    gw_session_t *s = &c->s;
    enum tk_hash_algo a;
    if (k_basic_algo(req, &a)) {
        char hex[TK_HASH_HEX_MAX];
        tk_hash_hex(a, s->basic_auth_password, strlen(s->basic_auth_password), hex);
        set_str(&s->basic_auth_password, hex);
        set_str(&s->basic_auth_hash_type, tk_hash_algo_name(a));
        k_save(req, c, is_new, no_rights_msg, no_rights_code);
        return;
    }
    gw_server_t *srv = req->conn->w->srv;
    hjob_t *j = tk_xcalloc(1, sizeof(*j));
    j->c = c;
    j->password = tk_xstrdup(s->basic_auth_password);
    j->is_new = is_new;
    j->no_rights_msg = no_rights_msg;
    j->no_rights_code = no_rights_code;
    if (!srv->offload) { /* no pool (tools, tests): inline */
        hjob_work(j);
        c->t = gw_wait_begin(req);
        hjob_done(j, TK_OK);
        return;
    }
    c->t = gw_wait_begin(req);
    tk_offload_port_t *port = tk_offload_thread_port(req->conn->w->base);
    if (tk_offload_submit(srv->offload, port, hjob_work, hjob_done, j) != TK_OK) {
        gw_wait_end(c->t);
        c->t = NULL;
        hjob_free(j);
        ctx_free(c);
        gw_ctl_error(req, 503, "Service temporarily unavailable.");
    }
}

/* Tyk's handleAddOrUpdate: a new key's password is hashed; an update's only when it differs
 * from the stored (hashed) one. Then k_save(). */
static void k_save_basic(gw_req_t *req, kctx_t *c, const gw_session_t *old, bool is_new,
                         const char *no_rights_msg, int no_rights_code)
{
    gw_session_t *s = &c->s;
    if (s->basic_auth_password && *s->basic_auth_password) {
        const char *op = old && old->basic_auth_password ? old->basic_auth_password : NULL;
        if (is_new || !op || strcmp(op, s->basic_auth_password) != 0) {
            k_hash_then_save(req, c, is_new, no_rights_msg, no_rights_code);
            return;
        }
        if (!(s->basic_auth_hash_type && *s->basic_auth_hash_type))
            set_str(&s->basic_auth_hash_type, old->basic_auth_hash_type);
    }
    k_save(req, c, is_new, no_rights_msg, no_rights_code);
}

/* ---- create ------------------------------------------------------------------------------- */

static json_t *body_object(gw_req_t *req)
{
    size_t n = evbuffer_get_length(req->body);
    const char *p = n ? (const char *)evbuffer_pullup(req->body, -1) : "";
    json_error_t jerr;
    json_t *v = json_loadb(p, n, 0, &jerr);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Decodes the body into @s; false when malformed. */
static bool body_session(gw_req_t *req, gw_session_t *s)
{
    json_t *v = body_object(req);
    if (!v)
        return false;
    char *err = NULL;
    int rc = gw_session_from_json(v, s, &err);
    json_decref(v);
    if (rc != TK_OK) {
        tk_log_info("control API: session body: %s", err ? err : "?");
        free(err);
        return false;
    }
    return true;
}

static void set_created_now(gw_session_t *s)
{
    gw_session_set_date_created(s, (int64_t)tk_wall_ns());
}

static void after_cert_check(gw_req_t *req, kctx_t *c, bool found)
{
    if (found) {
        char *msg = tk_arena_printf(
            req->arena, "Failed to create key - Key with given certificate already found:%s",
            c->cands.n ? c->cands.v[c->cands.n - 1] : "");
        ctx_free(c);
        gw_ctl_error(req, 500, msg ? msg : "Failed to create key");
        return;
    }
    set_str(&c->key, c->cands.v[c->cands.n - 1]);
    free(c->suffix);
    c->suffix = tk_xstrdup(k_hash_key(req, c->key));
    gw_session_free(&c->old);
    k_save(req, c, true,
           "Failed to create key, keys must have at least one Access Rights record set.", 400);
}

/* POST /tyk/keys/create (@custom NULL, generated) and POST /tyk/keys[/{custom}]. */
static void keys_create(gw_req_t *req, const char *custom, bool generated)
{
    kctx_t *c = ctx_new(OP_CREATE);
    c->generated = generated;
    c->suppress = false;
    if (!body_session(req, &c->s)) {
        ctx_free(c);
        if (generated)
            gw_ctl_error(req, 500, "Unmarshalling failed");
        else
            gw_ctl_error(req, 400, "Request malformed");
        return;
    }
    gw_session_t *s = &c->s;
    const char *org = s->org_id ? s->org_id : "";
    set_str(&s->last_updated, now_str(req));
    set_created_now(s);
    if (generated) {
        char *err = NULL;
        if (gw_policy_apply(s, &req->gref->gen->policies, NULL, &err) != TK_OK) {
            char *msg = tk_arena_printf(req->arena, "Failed to create key - %s", err ? err : "");
            free(err);
            ctx_free(c);
            gw_ctl_error(req, 500, msg ? msg : "Failed to create key");
            return;
        }
        if (s->hmac_enabled) {
            char *sec = tk_hmac_secret_generate();
            set_str(&s->hmac_string, sec);
            free(sec);
        }
        if (s->certificate && *s->certificate) {
            /* Tyk: the key is the certificate's token and must not exist yet. */
            c->org = tk_xstrdup(org);
            gw_strv_push(&c->cands, k_token(req, org, s->certificate));
            const char *argv[2] = {
                "MGET", tk_arena_printf(req->arena, "apikey-%s", k_hash_key(req, c->cands.v[0]))};
            k_send(req, c, on_lookup, 2, argv);
            return;
        }
        c->key = tk_xstrdup(k_token(req, org, NULL));
    } else {
        char *err = NULL;
        gw_policy_apply(s, &req->gref->gen->policies, NULL, &err); /* Tyk ignores this one */
        free(err);
        c->key = tk_xstrdup(k_token(req, org, custom && *custom ? custom : NULL));
    }
    c->suffix = tk_xstrdup(k_hash_key(req, c->key));
    if (!generated) {
        k_save_basic(req, c, NULL, true, FAILED_CREATE, 500);
        return;
    }
    k_save(req, c, true,
           generated ? "Failed to create key, keys must have at least one Access Rights record set."
                     : FAILED_CREATE,
           generated ? 400 : 500);
}

/* ---- get ---------------------------------------------------------------------------------- */

static void on_quota(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    kctx_t *c = arg;
    gw_req_t *req = k_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        k_fail_redis(req, c);
        return;
    }
    gw_session_t *s = &c->old;
    size_t qi = 0;
    if (s->quota_max != -1 && qi < reply->elements) {
        redisReply *e = reply->element[qi++];
        if (e->type == REDIS_REPLY_STRING) {
            long long used = strtoll(e->str, NULL, 10);
            int64_t rem = s->quota_max - used;
            s->quota_remaining = rem < 0 ? 0 : rem;
        }
    }
    for (size_t i = 0; i < s->n_access; i++) {
        gw_api_limit_t *l = &s->access[i].limit;
        if (gw_api_limit_is_empty(l) || l->quota_max == -1 || l->quota_max == 0)
            continue;
        redisReply *e = qi < reply->elements ? reply->element[qi++] : NULL;
        if (e && e->type == REDIS_REPLY_STRING) {
            int64_t rem = l->quota_max - strtoll(e->str, NULL, 10);
            l->quota_remaining = rem < 0 ? 0 : rem;
        } else {
            l->quota_remaining = l->quota_max;
        }
    }
    if (s->basic_auth_password)
        set_str(&s->basic_auth_password, "");
    json_t *o = gw_session_to_json(s);
    ctx_free(c);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static void after_get(gw_req_t *req, kctx_t *c, bool found)
{
    if (!found) {
        ctx_free(c);
        gw_ctl_error(req, 404, "Key not found");
        return;
    }
    gw_session_t *s = &c->old;
    const gw_gen_t *g = req->gref->gen;
    const gw_api_t *api = c->api_id ? gw_gen_find_api(g, c->api_id) : NULL;
    char *err = NULL;
    gw_policy_apply(s, &g->policies, api ? api->org_id : NULL, &err); /* errors ignored (Tyk) */
    free(err);
    const char *argv[66];
    int argc = 0;
    argv[argc++] = "MGET";
    char buf[1024];
    if (s->quota_max != -1 && gw_key_quota(buf, sizeof(buf), NULL, c->suffix) >= 0)
        argv[argc++] = tk_arena_strdup(req->arena, buf);
    for (size_t i = 0; i < s->n_access && argc < 65; i++) {
        gw_api_limit_t *l = &s->access[i].limit;
        if (gw_api_limit_is_empty(l) || l->quota_max == -1 || l->quota_max == 0)
            continue;
        const char *scope = s->access[i].allowance_scope;
        if (gw_key_quota(buf, sizeof(buf), scope && *scope ? scope : NULL, c->suffix) >= 0)
            argv[argc++] = tk_arena_strdup(req->arena, buf);
    }
    if (argc == 1) {
        json_t *o = gw_session_to_json(s);
        ctx_free(c);
        gw_ctl_json(req, 200, o);
        json_decref(o);
        return;
    }
    k_send(req, c, on_quota, argc, argv);
}

/* ---- update ------------------------------------------------------------------------------- */

static void after_update_lookup(gw_req_t *req, kctx_t *c, bool found)
{
    if (!found) {
        ctx_free(c);
        gw_ctl_error(req, 404, "Key is not found");
        return;
    }
    gw_session_t *s = &c->s, *o = &c->old;
    const char *nc = s->certificate ? s->certificate : "";
    const char *oc = o->certificate ? o->certificate : "";
    if (strcmp(nc, oc) != 0 && !*nc) {
        ctx_free(c);
        gw_ctl_error(req, 400, "Key cannot be used without a certificate");
        return;
    }
    set_str(&s->date_created, o->date_created);
    if (c->suppress) {
        s->quota_renews = o->quota_renews;
        set_str(&s->last_updated, o->last_updated);
        for (size_t i = 0; i < o->n_access; i++) {
            if (gw_api_limit_is_empty(&o->access[i].limit))
                continue;
            gw_access_t *na = gw_session_access(s, o->access[i].key);
            if (na && !gw_api_limit_is_empty(&na->limit))
                na->limit.quota_renews = o->access[i].limit.quota_renews;
        }
    }
    if (s->expires > 1 && s->expires < (int64_t)time(NULL))
        s->expires = o->expires;
    if (!(s->basic_auth_password && *s->basic_auth_password) && o->basic_auth_password &&
        *o->basic_auth_password) {
        set_str(&s->basic_auth_password, o->basic_auth_password);
        set_str(&s->basic_auth_hash_type, o->basic_auth_hash_type);
    }
    gw_session_t old = c->old;
    memset(&c->old, 0, sizeof(c->old));
    k_save_basic(req, c, &old, false, FAILED_CREATE, 500);
    gw_session_free(&old);
}

static void keys_update(gw_req_t *req, const char *key)
{
    kctx_t *c = ctx_new(OP_UPDATE);
    c->hashed = query_nonempty(req, "hashed");
    const char *sr = gw_req_query(req, "suppress_reset");
    c->suppress = sr && strcmp(sr, "1") == 0;
    if (!body_session(req, &c->s)) {
        ctx_free(c);
        gw_ctl_error(req, 400, "Request malformed");
        return;
    }
    char *err = NULL;
    gw_policy_apply(&c->s, &req->gref->gen->policies, NULL, &err); /* ignored, as in Tyk */
    free(err);
    c->org = tk_xstrdup(c->s.org_id ? c->s.org_id : "");
    k_lookup(req, c, key);
}

/* ---- delete ------------------------------------------------------------------------------- */

static void on_deleted(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    kctx_t *c = arg;
    gw_req_t *req = k_resume(c);
    if (!req)
        return;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        k_fail_redis(req, c);
        return;
    }
    if (reply->integer <= 0) {
        ctx_free(c);
        gw_ctl_error(req, 400, "Failed to remove the key");
        return;
    }
    k_notify(req, c->suffix);
    if (c->api_minus1) {
        ctx_free(c);
        gw_respond_json(req, 200, "null");
        return;
    }
    gw_event_token(GW_EV_TOKEN_DELETED, c->old.org_id, c->key);
    json_t *o = json_pack("{s:s,s:s,s:s}", "key", c->key, "status", "ok", "action", "deleted");
    ctx_free(c);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static void after_delete_lookup(gw_req_t *req, kctx_t *c, bool found)
{
    if (!found) {
        ctx_free(c);
        gw_ctl_error(req, 404, "There is no such key found");
        return;
    }
    k_reset_quota(req, &c->old, c->suffix);
    const char *argv[4];
    int argc = 0;
    argv[argc++] = "DEL";
    argv[argc++] = tk_arena_printf(req->arena, "apikey-%s", c->suffix);
    if (!c->hashed) {
        /* Tyk removes both the key as given and its generateToken(org, key) form. */
        const char *alt = k_hash_key(req, k_token(req, c->org, c->key));
        if (alt && strcmp(alt, c->suffix) != 0)
            argv[argc++] = tk_arena_printf(req->arena, "apikey-%s", alt);
    }
    k_send(req, c, on_deleted, argc, argv);
}

/* ---- POST /tyk/keys/policy/{key} ---------------------------------------------------------- */

static void after_policy_lookup(gw_req_t *req, kctx_t *c, bool found)
{
    if (!found) {
        ctx_free(c);
        gw_ctl_error(req, 404, "Key not found");
        return;
    }
    gw_session_free(&c->s);
    c->s = c->old;
    memset(&c->old, 0, sizeof(c->old));
    set_str(&c->s.last_updated, now_str(req));
    set_str(&c->s.apply_policy_id, NULL);
    gw_strv_free(&c->s.apply_policies);
    gw_strv_copy(&c->s.apply_policies, &c->policies);
    k_store(req, c, 0);
}

static void keys_policy(gw_req_t *req, const char *key)
{
    json_t *v = body_object(req);
    json_t *ap = v ? json_object_get(v, "apply_policies") : NULL;
    json_t *p1 = v ? json_object_get(v, "policy") : NULL;
    if (!v || (ap && !json_is_array(ap) && !json_is_null(ap)) ||
        (p1 && !json_is_string(p1) && !json_is_null(p1))) {
        json_decref(v);
        gw_ctl_error(req, 400, "Couldn't decode instruction");
        return;
    }
    kctx_t *c = ctx_new(OP_POLICY);
    c->hashed = true;
    size_t i;
    json_t *e;
    json_array_foreach(ap, i, e)
    {
        if (!json_is_string(e)) {
            json_decref(v);
            ctx_free(c);
            gw_ctl_error(req, 400, "Couldn't decode instruction");
            return;
        }
        gw_strv_push(&c->policies, json_string_value(e));
    }
    if (json_is_string(p1) && *json_string_value(p1))
        gw_strv_push(&c->policies, json_string_value(p1));
    json_decref(v);
    k_lookup(req, c, key);
}

/* ---- list --------------------------------------------------------------------------------- */

static void list_step(gw_req_t *req, kctx_t *c);

static void on_scan(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    kctx_t *c = arg;
    gw_req_t *req = k_resume(c);
    if (!req)
        return;
    if (!gw_redis_is_scan_reply(reply)) {
        k_fail_redis(req, c);
        return;
    }
    snprintf(c->cursor, sizeof(c->cursor), "%s", reply->element[0]->str);
    redisReply *keys = reply->element[1];
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len < 7)
            continue;
        const char *name = k->str + 7; /* after "apikey-" */
        if (strncmp(name, "quota-", 6) == 0 || strncmp(name, "rate-limit-", 11) == 0)
            continue;
        json_array_append_new(c->list, json_stringn(name, k->len - 7));
    }
    if (strcmp(c->cursor, "0") == 0)
        c->pattern_i++;
    list_step(req, c);
}

static void list_step(gw_req_t *req, kctx_t *c)
{
    if (c->pattern_i >= c->npatterns) {
        json_t *o = json_pack("{s:O}", "keys", c->list);
        ctx_free(c);
        gw_ctl_json(req, 200, o);
        json_decref(o);
        return;
    }
    const char *argv[6] = {"SCAN", c->cursor, "MATCH", c->patterns[c->pattern_i], "COUNT", "1000"};
    k_send(req, c, on_scan, 6, argv);
}

static char *glob_escape(const char *s)
{
    size_t n = strlen(s);
    char *o = tk_xmalloc(n * 2 + 1), *p = o;
    for (; *s; s++) {
        if (*s == '*' || *s == '?' || *s == '[' || *s == ']' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p = '\0';
    return o;
}

static void add_pattern(kctx_t *c, const char *prefix)
{
    char *e = glob_escape(prefix);
    size_t n = strlen(e) + 16;
    char *p = tk_xmalloc(n);
    snprintf(p, n, "apikey-%s*", e);
    free(e);
    c->patterns = tk_xrealloc(c->patterns, (c->npatterns + 1) * sizeof(*c->patterns));
    c->patterns[c->npatterns++] = p;
}

static void keys_list(gw_req_t *req)
{
    const gw_conf_t *conf = k_conf(req);
    const char *filter = NULL;
    if (conf->hash_keys) {
        if (!conf->enable_hashed_keys_listing) {
            gw_ctl_error(req, 404,
                         "Hashed key listing is disabled in config (enable_hashed_keys_listing)");
            return;
        }
    } else {
        filter = gw_req_query(req, "filter");
        if (query_nonempty(req, "api_id") && !(filter && *filter)) {
            gw_ctl_error(
                req, 400,
                "The 'filter' parameter (Org ID) is required when filtering by 'api_id' in "
                "legacy mode");
            return;
        }
    }
    kctx_t *c = ctx_new(OP_LIST);
    c->list = json_array();
    add_pattern(c, filter ? filter : "");
    if (filter && *filter) {
        /* Tyk also matches base64-JSON tokens of that org: b64(`{"org":"<filter>"`) unpadded,
         * minus its last two characters. */
        char *raw = tk_arena_printf(req->arena, "{\"org\":\"%s\"", filter);
        size_t bl = 0;
        char *b = tk_b64_encode(raw, strlen(raw), false, true, &bl);
        while (bl && b[bl - 1] == '=')
            bl--;
        b[bl >= 2 ? bl - 2 : 0] = '\0';
        add_pattern(c, b);
        free(b);
    }
    list_step(req, c);
}

/* ---- preview ------------------------------------------------------------------------------ */

static void keys_preview(gw_req_t *req)
{
    gw_session_t s = {0};
    if (!body_session(req, &s)) {
        gw_ctl_error(req, 500, "Unmarshalling failed");
        return;
    }
    set_str(&s.last_updated, now_str(req));
    set_created_now(&s);
    char *err = NULL;
    gw_policy_apply(&s, &req->gref->gen->policies, NULL, &err); /* ignored, as in Tyk */
    free(err);
    json_t *o = gw_session_to_json(&s);
    gw_session_free(&s);
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

/* ---- /tyk/policies (policy_path file mode) ----------------------------------------------- */

static bool valid_policy_id(const char *id)
{
    if (!*id)
        return false;
    for (const char *p = id; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == '~';
        if (!ok)
            return false;
    }
    return strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

static char *policy_file(gw_req_t *req, const char *id)
{
    const char *dir = k_conf(req)->policies_policy_path;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    return tk_arena_printf(req->arena, "%.*s/%s.json", (int)dl, dir, id);
}

static bool policy_path_set(const gw_req_t *req)
{
    const char *d = k_conf(req)->policies_policy_path;
    return d && *d;
}

static void policies_list(gw_req_t *req)
{
    const gw_policies_t *set = &req->gref->gen->policies;
    json_t *arr = json_array();
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].raw)
            json_array_append(arr, set->v[i].raw);
    gw_ctl_json(req, 200, arr);
    json_decref(arr);
}

static void policies_get(gw_req_t *req, const char *id)
{
    const gw_policy_t *p = gw_policies_get(&req->gref->gen->policies, id);
    if (!p || !p->id || !*p->id || !p->raw) {
        gw_ctl_error(req, 404, "Policy not found");
        return;
    }
    gw_ctl_json(req, 200, p->raw);
}

/* Writes through a temporary file and rename(), so a reload never reads half a file. */
static int policy_write(const char *path, json_t *v)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    if (json_dump_file(v, tmp, JSON_INDENT(2)) != 0)
        return TK_ERROR;
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return TK_ERROR;
    }
    return TK_OK;
}

static void policies_write(gw_req_t *req, const char *path_id, bool is_post)
{
    const char *src = k_conf(req)->policies_policy_source;
    if (src && strcmp(src, "service") == 0) {
        gw_ctl_error(req, 500,
                     "Due to enabled service policy source, please use the Dashboard API");
        return;
    }
    json_t *v = body_object(req);
    gw_policy_t pol = {0};
    char *err = NULL;
    if (!v || gw_policy_from_json(v, &pol, &err) != TK_OK) {
        free(err);
        json_decref(v);
        gw_ctl_error(req, 400, "Request malformed");
        return;
    }
    const char *id = json_string_value(json_object_get(v, "id"));
    char *idc = tk_arena_strdup(req->arena, id ? id : "");
    gw_policy_free(&pol);
    if (!is_post && path_id && strcmp(idc, path_id) != 0) {
        json_decref(v);
        gw_ctl_error(
            req, 400,
            "Request ID does not match that in policy! For Update operations these must match.");
        return;
    }
    if (!*idc) {
        json_decref(v);
        gw_ctl_error(req, 400, "Unable to create policy without id.");
        return;
    }
    if (!valid_policy_id(idc)) {
        json_decref(v);
        gw_ctl_error(req, 400, "Invalid Policy ID: Allowed characters: a-z, A-Z, 0-9, ., _, -, ~");
        return;
    }
    if (!policy_path_set(req)) {
        json_decref(v);
        gw_ctl_error(req, 500, "Failed to create file!");
        return;
    }
    char *path = policy_file(req, idc);
    int rc = path ? policy_write(path, v) : TK_ERROR;
    json_decref(v);
    if (rc != TK_OK) {
        tk_log_error("control API: cannot write policy %s: %s", path ? path : "?", strerror(errno));
        gw_ctl_error(req, 500, "Failed to create file!");
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:s}", "key", idc, "status", "ok", "action",
                          is_post ? "added" : "modified");
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

static void policies_delete(gw_req_t *req, const char *id)
{
    char *path = policy_path_set(req) && valid_policy_id(id) ? policy_file(req, id) : NULL;
    if (!path || access(path, F_OK) != 0 || unlink(path) != 0) {
        gw_ctl_error(req, 500, "Delete failed");
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:s}", "key", id, "status", "ok", "action", "deleted");
    gw_ctl_json(req, 200, o);
    json_decref(o);
}

void gw_control_policies(gw_req_t *req, const char *rest)
{
    const char *id = NULL;
    if (*rest) {
        id = rest + 1;
        if (!*id || strchr(id, '/')) {
            gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
            return;
        }
    }
    if (gw_ctl_method(req, "GET")) {
        if (id)
            policies_get(req, id);
        else
            policies_list(req);
    } else if (gw_ctl_method(req, "POST")) {
        policies_write(req, id, true);
    } else if (gw_ctl_method(req, "PUT")) {
        if (id)
            policies_write(req, id, false);
        else
            gw_ctl_error(req, 400, "Must specify a policyID to update");
    } else if (gw_ctl_method(req, "DELETE")) {
        if (id)
            policies_delete(req, id);
        else
            gw_ctl_error(req, 400, "Must specify a policyID to delete");
    } else {
        gw_ctl_error(req, 405, "Method not supported");
    }
}

/* ---- routing ------------------------------------------------------------------------------ */

static kctx_t *lookup_ctx(gw_req_t *req, enum k_op op)
{
    kctx_t *c = ctx_new(op);
    c->hashed = query_nonempty(req, "hashed");
    const char *org = gw_req_query(req, "org_id");
    c->org = tk_xstrdup(org ? org : "");
    const char *api = gw_req_query(req, "api_id");
    if (api)
        c->api_id = tk_xstrdup(api);
    return c;
}

void gw_control_keys(gw_req_t *req, const char *rest)
{
    if (!*rest) {
        if (gw_ctl_method(req, "GET"))
            keys_list(req);
        else if (gw_ctl_method(req, "POST"))
            keys_create(req, NULL, false);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    if (strcmp(rest, "/create") == 0 && gw_ctl_method(req, "POST")) {
        keys_create(req, NULL, true);
        return;
    }
    if (strcmp(rest, "/preview") == 0 && gw_ctl_method(req, "POST")) {
        keys_preview(req);
        return;
    }
    if (strncmp(rest, "/policy/", 8) == 0 && rest[8] && !strchr(rest + 8, '/')) {
        if (gw_ctl_method(req, "POST") || gw_ctl_method(req, "PUT"))
            keys_policy(req, rest + 8);
        else
            gw_ctl_error(req, 405, "Method not supported");
        return;
    }
    const char *key = rest + 1;
    if (!*key || strchr(key, '/')) {
        gw_respond(req, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, NULL);
        return;
    }
    const gw_conf_t *conf = k_conf(req);
    if (gw_ctl_method(req, "POST")) {
        keys_create(req, key, false);
    } else if (gw_ctl_method(req, "PUT")) {
        keys_update(req, key);
    } else if (gw_ctl_method(req, "GET")) {
        kctx_t *c = lookup_ctx(req, OP_GET);
        if (c->hashed && !conf->hash_keys) {
            ctx_free(c);
            gw_ctl_error(req, 400, "Key requested by hash but key hashing is not enabled");
            return;
        }
        if (c->api_id) {
            const gw_api_t *api = gw_gen_find_api(req->gref->gen, c->api_id);
            if (api)
                set_str(&c->org, api->org_id);
        }
        k_lookup(req, c, key);
    } else if (gw_ctl_method(req, "DELETE")) {
        kctx_t *c = lookup_ctx(req, OP_DELETE);
        c->api_minus1 = c->api_id && strcmp(c->api_id, "-1") == 0;
        k_lookup(req, c, key);
    } else {
        gw_ctl_error(req, 405, "Method not supported");
    }
}
