/* SPDX-License-Identifier: Apache-2.0 */
/* OAuth client records and their Redis scripts, in Tyk's storage layout (gw_oauth_store.h). */
#include "gw_oauth_store.h"

#include "tk_base64.h"
#include "tk_common.h"
#include "tk_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *gw_oauth_key(const char *api_id, const char *rest)
{
    size_t n = strlen("oauth-data..") + strlen(api_id) + strlen(rest) + 1;
    char *k = tk_xcalloc(1, n);
    snprintf(k, n, "oauth-data.%s.%s", api_id, rest);
    return k;
}

void gw_oauth_client_free(gw_oauth_client_t *c)
{
    free(c->id);
    free(c->secret);
    free(c->redirect_uri);
    free(c->policy_id);
    free(c->description);
    json_decref(c->meta_data);
    memset(c, 0, sizeof(*c));
}

static const char *s_or_empty(const char *s)
{
    return s ? s : "";
}

char *gw_oauth_client_dumps(const gw_oauth_client_t *c)
{
    /* Go marshals the struct fields in declaration order; meta_data is omitempty. */
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(s_or_empty(c->id)));
    json_object_set_new(o, "secret", json_string(s_or_empty(c->secret)));
    json_object_set_new(o, "redirecturi", json_string(s_or_empty(c->redirect_uri)));
    if (c->meta_data && !json_is_null(c->meta_data))
        json_object_set(o, "meta_data", c->meta_data);
    json_object_set_new(o, "policyid", json_string(s_or_empty(c->policy_id)));
    json_object_set_new(o, "description", json_string(s_or_empty(c->description)));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* A string member or "" when absent/null; false for any other type (Go's decoder refuses it). */
static bool take_str(json_t *o, const char *name, char **out)
{
    json_t *v = json_object_get(o, name);
    if (v && !json_is_null(v) && !json_is_string(v))
        return false;
    *out = tk_xstrdup(v && json_is_string(v) ? json_string_value(v) : "");
    return true;
}

bool gw_oauth_client_loads(const char *text, size_t len, gw_oauth_client_t *c)
{
    memset(c, 0, sizeof(*c));
    json_t *o = json_loadb(text, len, 0, NULL);
    bool ok = json_is_object(o) && take_str(o, "id", &c->id) && take_str(o, "secret", &c->secret) &&
              take_str(o, "redirecturi", &c->redirect_uri) &&
              take_str(o, "policyid", &c->policy_id) && take_str(o, "description", &c->description);
    if (ok) {
        json_t *m = json_object_get(o, "meta_data");
        c->meta_data = m && !json_is_null(m) ? json_incref(m) : NULL;
    } else {
        gw_oauth_client_free(c);
    }
    json_decref(o);
    return ok;
}

json_t *gw_oauth_client_reply(const gw_oauth_client_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "client_id", json_string(s_or_empty(c->id)));
    json_object_set_new(o, "redirect_uri", json_string(s_or_empty(c->redirect_uri)));
    if (c->policy_id && *c->policy_id)
        json_object_set_new(o, "policy_id", json_string(c->policy_id));
    json_object_set_new(o, "secret", json_string(s_or_empty(c->secret)));
    json_object_set_new(o, "meta_data", c->meta_data ? json_incref(c->meta_data) : json_null());
    json_object_set_new(o, "description", json_string(s_or_empty(c->description)));
    return o;
}

char *gw_oauth_secret_new(void)
{
    char u[37];
    tk_uuid_str(u);
    return tk_b64_encode(u, strlen(u), false, true, NULL);
}

const char gw_oauth_lua_set_client[] =
    "local p = ARGV[1]\n"
    "redis.call('SET', p .. ARGV[2], ARGV[3])\n"
    "local idx = p .. 'oauth-client-index.' .. ARGV[4]\n"
    "redis.call('LREM', idx, 0, ARGV[2])\n"
    "redis.call('RPUSH', idx, ARGV[2])\n"
    "local set = p .. 'oauth-clientset.oauth-clientid.'\n"
    "for _, v in ipairs(redis.call('SMEMBERS', set)) do\n"
    "  if string.find(v, ARGV[5], 1, true) then redis.call('SREM', set, v) end\n"
    "end\n"
    "redis.call('SADD', set, ARGV[3])\n"
    "return 1\n";

const char gw_oauth_lua_delete_client[] =
    "local p = ARGV[1]\n"
    "local v = redis.call('GET', p .. ARGV[2])\n"
    "if v then redis.call('SREM', p .. 'oauth-clientset.oauth-clientid.', v) end\n"
    "redis.call('DEL', p .. ARGV[2])\n"
    "redis.call('LREM', p .. 'oauth-client-index.' .. ARGV[3], 0, ARGV[2])\n"
    "redis.call('DEL', p .. 'oauth-client-tokens.' .. ARGV[2])\n"
    "return 1\n";

const char gw_oauth_lua_list_clients[] =
    "local p = ARGV[1]\n"
    "local idx = p .. 'oauth-client-index.' .. ARGV[2]\n"
    "local names = {}\n"
    "if redis.call('EXISTS', idx) == 1 then\n"
    "  names = redis.call('LRANGE', idx, 0, -1)\n"
    "else\n"
    "  local cur = '0'\n"
    "  repeat\n"
    "    local r = redis.call('SCAN', cur, 'MATCH', p .. 'oauth-clientid.*', 'COUNT', 1000)\n"
    "    cur = r[1]\n"
    "    for _, k in ipairs(r[2]) do\n"
    "      local s = string.sub(k, #p + 1)\n"
    "      table.insert(names, s)\n"
    "      redis.call('RPUSH', idx, s)\n"
    "    end\n"
    "  until cur == '0'\n"
    "end\n"
    "local out = {}\n"
    "for _, k in ipairs(names) do\n"
    "  local v = redis.call('GET', p .. k)\n"
    "  if v then table.insert(out, v) else table.insert(out, '') end\n"
    "end\n"
    "return out\n";

const char gw_oauth_lua_drop_tokens[] =
    "local p = ARGV[1]\n"
    "if ARGV[4] == '1' then return 0 end\n"
    "local toks = redis.call('ZRANGEBYSCORE', p .. 'oauth-client-tokens.' .. ARGV[2], ARGV[3], "
    "'+inf')\n"
    "for _, t in ipairs(toks) do\n"
    "  redis.call('DEL', p .. 'oauth-access.' .. t, 'apikey-' .. t)\n"
    "end\n"
    "return #toks\n";
