/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateways' side of the Dashboard: node registration and heartbeat (/register/node,
 * /register/ping), the API and policy lists a gateway in dashboard mode loads (/system/apis,
 * /system/policies), deregistration (DELETE /system/node) and quota notices
 * (/system/key/quota_trigger). Every route needs authorization: <shared_node_secret>.
 *
 * Nonce chain: every reply carries a fresh one-time nonce, and a registered node's next call must
 * present exactly the last one it was given (x-tyk-nodeid + x-tyk-nonce), so a captured request
 * cannot be replayed. The chain and the node registry live in Redis, so several dashboards behind
 * one load balancer share them; the check-and-rotate is one Lua script, so two dashboards can
 * never both accept the same nonce. A node's entry expires NODE_TTL_S after its last call: a
 * gateway that stops beating is forgotten, and one that comes back gets 403 and registers again.
 */
#include "dash_routes.h"
#include "dash_util.h"

#include "tk_log.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODE_KEY "turnpike-dash-node:"
#define SESSION_KEY "turnpike-dash-node-session:"
#define NODE_TTL_S 30

/* KEYS[1] node key; ARGV: presented nonce, next nonce, now, ttl.
 * → 1 accepted (rotated), 0 unknown node, -1 wrong nonce (the chain is left as it was, so the
 * rightful holder of the current nonce is not locked out by a replay). */
static const char CHECK_AND_ROTATE[] =
    "local cur = redis.call('HGET', KEYS[1], 'nonce')\n"
    "if not cur then return 0 end\n"
    "if cur ~= ARGV[1] then return -1 end\n"
    "redis.call('HSET', KEYS[1], 'nonce', ARGV[2], 'last_seen', ARGV[3])\n"
    "redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))\n"
    "return 1\n";

static void new_nonce(char out[33])
{
    unsigned char b[16];
    TK_ASSERT(RAND_bytes(b, sizeof(b)) == 1);
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + i * 2, 3, "%02x", b[i]);
}

/* {"Status":"OK","Message":@message,"Nonce":@nonce}: the envelope the gateway decodes (its
 * Message must be an object for the node calls: Tyk decodes it into a map). */
static void reply_node(dash_req_t *req, json_t *message, const char *nonce)
{
    json_t *o = json_object();
    json_object_set_new(o, "Status", json_string("OK"));
    json_object_set_new(o, "Message", message);
    json_object_set_new(o, "Nonce", json_string(nonce));
    dash_reply_json(req, 200, o);
}

static void reply_redis_down(dash_req_t *req)
{
    tk_log_error("dashboard: node call %s refused: Redis (node registry) unavailable", req->path);
    dash_reply_error(req, 503, "Node registry unavailable (Redis is down); retry later");
}

/*
 * Checks the caller's x-tyk-nodeid / x-tyk-nonce against the chain and rotates it. On success
 * writes the next nonce to @next and returns true; otherwise stages the refusal (403 for an
 * unknown node or a wrong nonce: the gateway registers again; 503 when Redis is down).
 */
static bool node_check(dash_req_t *req, char next[33])
{
    const char *node = dash_header(req, "x-tyk-nodeid");
    const char *nonce = dash_header(req, "x-tyk-nonce");
    if (!node || !*node) {
        dash_reply_error(req, 403, "Node not registered: no x-tyk-nodeid header");
        return false;
    }
    new_nonce(next);
    char key[256], now[32], ttl[16];
    snprintf(key, sizeof(key), NODE_KEY "%s", node);
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    snprintf(ttl, sizeof(ttl), "%d", NODE_TTL_S);
    const char *argv[] = {"EVAL", CHECK_AND_ROTATE, "1", key, nonce ? nonce : "", next, now, ttl};
    size_t lens[TK_ARRAY_LEN(argv)];
    for (size_t i = 0; i < TK_ARRAY_LEN(argv); i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = dash_redis_argv(req, (int)TK_ARRAY_LEN(argv), argv, lens);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        if (r && r->type == REDIS_REPLY_ERROR)
            tk_log_error("dashboard: nonce check: %s", r->str);
        freeReplyObject(r);
        reply_redis_down(req);
        return false;
    }
    long long rc = r->integer;
    freeReplyObject(r);
    if (rc == 1)
        return true;
    if (rc == 0) {
        dash_reply_error(req, 403, "Node not registered (or expired): register again");
    } else {
        tk_log_warn("dashboard: node %s presented a stale or replayed nonce; refused", node);
        dash_reply_error(req, 403, "Nonce invalid: register again");
    }
    return false;
}

/* GET /register/node: a new NodeID (or the one this gateway process already had, found by its
 * x-tyk-session-id) and the first nonce of its chain. */
static void register_node(dash_req_t *req)
{
    const char *host = dash_header(req, "x-tyk-hostname");
    const char *session = dash_header(req, "x-tyk-session-id");
    char node[64] = "";
    char skey[256] = "";
    if (session && *session) {
        snprintf(skey, sizeof(skey), SESSION_KEY "%s", session);
        redisReply *r = dash_redis_cmd(req, "GET %s", skey);
        if (!r) {
            reply_redis_down(req);
            return;
        }
        if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < sizeof(node))
            snprintf(node, sizeof(node), "%s", r->str);
        freeReplyObject(r);
    }
    if (!*node) {
        char id[25];
        dash_new_id(id);
        snprintf(node, sizeof(node), "%s", id);
    }
    char nonce[33], key[256], now[32];
    new_nonce(nonce);
    snprintf(key, sizeof(key), NODE_KEY "%s", node);
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    redisReply *r = dash_redis_cmd(req, "HSET %s nonce %s hostname %s session_id %s last_seen %s",
                                   key, nonce, host ? host : "", session ? session : "", now);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    if (ok) {
        r = dash_redis_cmd(req, "EXPIRE %s %d", key, NODE_TTL_S);
        freeReplyObject(r);
        if (*skey) {
            r = dash_redis_cmd(req, "SET %s %s EX %d", skey, node, NODE_TTL_S);
            freeReplyObject(r);
        }
    }
    if (!ok) {
        reply_redis_down(req);
        return;
    }
    tk_log_info("dashboard: gateway node %s registered (host %s)", node, host ? host : "?");
    reply_node(req, json_pack("{s:s}", "NodeID", node), nonce);
}

static void session_touch(dash_req_t *req)
{
    const char *session = dash_header(req, "x-tyk-session-id");
    if (!session || !*session)
        return;
    redisReply *r = dash_redis_cmd(req, "EXPIRE " SESSION_KEY "%s %d", session, NODE_TTL_S);
    freeReplyObject(r);
}

/* GET /register/ping: the heartbeat; keeps the node registered. */
static void ping_node(dash_req_t *req)
{
    char next[33];
    if (!node_check(req, next))
        return;
    session_touch(req);
    reply_node(req, json_pack("{s:s}", "NodeID", dash_header(req, "x-tyk-nodeid")), next);
}

/* DELETE /system/node: the gateway is shutting down. */
static void deregister_node(dash_req_t *req)
{
    char next[33];
    if (!node_check(req, next))
        return;
    const char *node = dash_header(req, "x-tyk-nodeid");
    redisReply *r = dash_redis_cmd(req, "DEL " NODE_KEY "%s", node);
    freeReplyObject(r);
    const char *session = dash_header(req, "x-tyk-session-id");
    if (session && *session) {
        r = dash_redis_cmd(req, "DEL " SESSION_KEY "%s", session);
        freeReplyObject(r);
    }
    tk_log_info("dashboard: gateway node %s deregistered", node);
    reply_node(req, json_pack("{s:s}", "NodeID", node), next);
}

/* Every document of @k, all organisations (a gateway serves every org of its dashboard; the
 * gateway itself filters by segment tags). NULL after staging the store error. */
static json_t *all_docs(dash_req_t *req, enum dash_kind k)
{
    dash_list_query_t q = {.org = NULL, .col = -1, .page = 0};
    json_t *docs = NULL;
    int64_t pages = 1;
    if (dash_store_list(req->store, k, &q, &docs, &pages) != DASH_STORE_OK) {
        dash_reply_store_error(req, k == DASH_API ? "list APIs for a gateway"
                                                  : "list policies for a gateway");
        return NULL;
    }
    return docs;
}

/* Every @k document for a node that passed the nonce check (@next: its new nonce), or NULL with
 * the refusal staged. */
static json_t *node_docs(dash_req_t *req, enum dash_kind k, char next[33])
{
    json_t *docs = all_docs(req, k);
    if (docs && !node_check(req, next)) {
        json_decref(docs);
        return NULL;
    }
    return docs;
}

/* GET /system/apis: [{"api_definition": {...}, "oas": {...}|null}] (Tyk's MergedAPI list). */
static void system_apis(dash_req_t *req)
{
    char next[33];
    json_t *docs = node_docs(req, DASH_API, next);
    if (!docs)
        return;
    json_t *items = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        json_t *def = json_object_get(doc, "api_definition");
        if (!json_is_object(def))
            continue;
        json_t *oas = json_object_get(doc, "oas");
        json_array_append_new(items, json_pack("{s:O,s:O}", "api_definition", def, "oas",
                                               json_is_object(oas) ? oas : json_null()));
    }
    json_decref(docs);
    reply_node(req, items, next);
}

/* GET /system/policies: every stored policy document. */
static void system_policies(dash_req_t *req)
{
    char next[33];
    json_t *docs = node_docs(req, DASH_POLICY, next);
    if (docs)
        reply_node(req, docs, next);
}

/* POST /system/key/quota_trigger: a key crossed a quota threshold. Tyk Dashboard e-mails the
 * developer; we log it. */
static void quota_trigger(dash_req_t *req)
{
    char next[33];
    if (!node_check(req, next))
        return;
    json_error_t err;
    json_t *meta = json_loadb(req->body, req->body_len, 0, &err);
    const char *key = json_string_value(json_object_get(meta, "key"));
    const char *org = json_string_value(json_object_get(meta, "org"));
    tk_log_info("dashboard: quota trigger from node %s: key %s org %s",
                dash_header(req, "x-tyk-nodeid"), key ? key : "?", org ? org : "?");
    json_decref(meta);
    reply_node(req, json_pack("{s:s}", "NodeID", dash_header(req, "x-tyk-nodeid")), next);
}

const dash_route_t dash_routes_system[] = {
    {"GET", "/register/node", DASH_AUTH_NODE, NULL, register_node},
    {"GET", "/register/ping", DASH_AUTH_NODE, NULL, ping_node},
    {"GET", "/system/apis", DASH_AUTH_NODE, NULL, system_apis},
    {"GET", "/system/policies", DASH_AUTH_NODE, NULL, system_policies},
    {"DELETE", "/system/node", DASH_AUTH_NODE, NULL, deregister_node},
    {"POST", "/system/key/quota_trigger", DASH_AUTH_NODE, NULL, quota_trigger},
    {NULL, NULL, 0, NULL, NULL},
};
