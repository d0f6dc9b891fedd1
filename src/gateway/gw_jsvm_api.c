/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The globals Tyk gives JSVM scripts: log, rawlog, b64enc/b64dec, rawb64enc/rawb64dec,
 * TykMakeHttpRequest, TykGetKeyData, TykSetKeyData, TykBatchRequest. Like Tyk's, the calls are
 * synchronous: an outgoing HTTP request or Redis command blocks this worker, bounded by what
 * is left of the call's jsvm_timeout deadline.
 */
#include "gw_jsvm.h"

#include "gw_server.h"
#include "tk_base64.h"
#include "tk_hash.h"
#include "tk_log.h"

#include <curl/curl.h>
#include <duktape.h>
#include <hiredis/hiredis.h>
#include <string.h>

/* Milliseconds left before the running call's deadline (at least 1). */
static long ms_left(void)
{
    const gw_jsvm_call_ctx_t *c = gw_jsvm_current();
    if (!c || !c->deadline_ns)
        return 5000;
    uint64_t now = tk_now_ns();
    if (now >= c->deadline_ns)
        return 1;
    uint64_t ms = (c->deadline_ns - now) / 1000000;
    return ms ? (long)ms : 1;
}

static duk_ret_t js_log(duk_context *ctx)
{
    const gw_jsvm_call_ctx_t *c = gw_jsvm_current();
    tk_log_info("jsvm: [%s] %s", c && c->api_id ? c->api_id : "-", duk_safe_to_string(ctx, 0));
    return 0;
}

static duk_ret_t js_rawlog(duk_context *ctx)
{
    fprintf(stderr, "%s\n", duk_safe_to_string(ctx, 0));
    return 0;
}

static duk_ret_t b64_enc_body(duk_context *ctx, bool padded)
{
    duk_size_t n = 0;
    const char *s = duk_safe_to_lstring(ctx, 0, &n);
    size_t outlen = 0;
    char *o = tk_b64_encode(s, n, false, padded, &outlen);
    duk_push_lstring(ctx, o ? o : "", o ? outlen : 0);
    free(o);
    return 1;
}

static duk_ret_t b64_enc(duk_context *ctx, bool padded)
{
    gw_jsvm_native_enter();
    duk_ret_t r = b64_enc_body(ctx, padded);
    gw_jsvm_native_leave();
    return r;
}

/* Decoding errors are logged and yield undefined, as in Tyk. */
static duk_ret_t b64_dec_body(duk_context *ctx, bool try_padded)
{
    duk_size_t n = 0;
    const char *s = duk_safe_to_lstring(ctx, 0, &n);
    size_t outlen = 0;
    unsigned char *o = try_padded ? tk_b64_decode(s, n, false, true, &outlen) : NULL;
    if (!o)
        o = tk_b64_decode(s, n, false, false, &outlen);
    if (!o) {
        tk_log_error("jsvm: failed to base64 decode");
        return 0;
    }
    duk_push_lstring(ctx, (const char *)o, outlen);
    free(o);
    return 1;
}

static duk_ret_t b64_dec(duk_context *ctx, bool try_padded)
{
    gw_jsvm_native_enter();
    duk_ret_t r = b64_dec_body(ctx, try_padded);
    gw_jsvm_native_leave();
    return r;
}

static duk_ret_t js_b64enc(duk_context *ctx)
{
    return b64_enc(ctx, true);
}
static duk_ret_t js_b64dec(duk_context *ctx)
{
    return b64_dec(ctx, true);
}
static duk_ret_t js_rawb64enc(duk_context *ctx)
{
    return b64_enc(ctx, false);
}
static duk_ret_t js_rawb64dec(duk_context *ctx)
{
    return b64_dec(ctx, false);
}

/* ---- TykMakeHttpRequest ---------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n;
} buf_t;

#define HTTP_MAX_BODY (16u * 1024 * 1024)

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
    buf_t *b = arg;
    size_t n = sz * nm;
    if (b->n + n > HTTP_MAX_BODY)
        return 0;
    b->p = tk_xrealloc(b->p, b->n + n + 1);
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

/* Response header lines → {Name: [values]} (the status line and blank line skipped). */
static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
    json_t *h = arg;
    size_t n = sz * nm;
    const char *colon = memchr(p, ':', n);
    if (!colon || strncmp(p, "HTTP/", 5) == 0)
        return n;
    char *name = tk_xmalloc((size_t)(colon - p) + 1);
    memcpy(name, p, (size_t)(colon - p));
    name[colon - p] = '\0';
    const char *v = colon + 1, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    json_t *arr = json_object_get(h, name);
    if (!arr) {
        arr = json_array();
        json_object_set_new(h, name, arr);
    }
    json_array_append_new(arr, json_stringn(v, (size_t)(end - v)));
    free(name);
    return n;
}

static duk_ret_t js_make_http_request_body(duk_context *ctx)
{
    const char *in = duk_safe_to_string(ctx, 0);
    json_t *o = json_loads(in, 0, NULL);
    if (!json_is_object(o)) {
        tk_log_error("jsvm: TykMakeHttpRequest: cannot decode the request object");
        json_decref(o);
        return 0;
    }
    const char *method = json_string_value(json_object_get(o, "Method"));
    const char *domain = json_string_value(json_object_get(o, "Domain"));
    const char *resource = json_string_value(json_object_get(o, "Resource"));
    const char *body = json_string_value(json_object_get(o, "Body"));
    char *url = gw_jsvm_printf("%s%s", domain ? domain : "", resource ? resource : "");
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(o, "Headers"), k, v)
    {
        char *line = gw_jsvm_printf("%s: %s", k, json_string_value(v) ? json_string_value(v) : "");
        hl = curl_slist_append(hl, line);
        free(line);
    }
    char *form = NULL;
    json_t *fd = json_object_get(o, "FormData");
    if ((!body || !*body) && json_object_size(fd) > 0) {
        /* url.Values.Encode: keys sorted */
        const char **keys = tk_xcalloc(json_object_size(fd), sizeof(*keys));
        size_t nk = 0;
        json_object_foreach(fd, k, v) keys[nk++] = k;
        for (size_t i = 1; i < nk; i++)
            for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
                const char *t = keys[j];
                keys[j] = keys[j - 1];
                keys[j - 1] = t;
            }
        for (size_t i = 0; i < nk; i++) {
            const char *val = json_string_value(json_object_get(fd, keys[i]));
            char *ek = curl_easy_escape(c, keys[i], 0);
            char *ev = curl_easy_escape(c, val ? val : "", 0);
            char *nf = gw_jsvm_printf("%s%s%s=%s", form ? form : "", form ? "&" : "", ek, ev);
            curl_free(ek);
            curl_free(ev);
            free(form);
            form = nf;
        }
        free(keys);
        body = form;
    }
    buf_t resp = {0};
    json_t *hdrs = json_object();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method && *method ? method : "GET");
    if (body && *body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms_left());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    const gw_jsvm_call_ctx_t *cc = gw_jsvm_current();
    if ((cc && cc->conf->proxy_ssl_insecure_skip_verify) || (cc && cc->api_insecure)) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
    free(form);
    json_decref(o);
    if (rc != CURLE_OK) {
        tk_log_error("jsvm: TykMakeHttpRequest: request failed: %s", curl_easy_strerror(rc));
        free(resp.p);
        json_decref(hdrs);
        return 0;
    }
    json_t *r = json_pack("{s:I,s:s%,s:O,s:I,s:s%,s:O}", "Code", (json_int_t)code, "Body",
                          resp.p ? resp.p : "", resp.n, "Headers", hdrs, "code", (json_int_t)code,
                          "body", resp.p ? resp.p : "", resp.n, "headers", hdrs);
    free(resp.p);
    json_decref(hdrs);
    char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    if (!s)
        return 0;
    duk_push_string(ctx, s);
    free(s);
    return 1;
}

static duk_ret_t js_make_http_request(duk_context *ctx)
{
    gw_jsvm_native_enter();
    duk_ret_t r = js_make_http_request_body(ctx);
    gw_jsvm_native_leave();
    return r;
}

/* ---- TykGetKeyData / TykSetKeyData ------------------------------------------------------- */

/* A short-lived synchronous connection (these calls are rare; the worker's own client is
 * asynchronous and cannot be waited on from inside a script). */
static redisContext *redis_sync(void)
{
    const gw_jsvm_call_ctx_t *c = gw_jsvm_current();
    if (!c)
        return NULL;
    tk_redis_opts_t ro;
    gw_redis_opts(c->conf, &ro);
    long ms = ms_left();
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisContext *r =
        redisConnectWithTimeout(ro.host ? ro.host : "127.0.0.1", ro.port ? ro.port : 6379, tv);
    if (!r || r->err) {
        tk_log_error("jsvm: cannot reach Redis: %s", r ? r->errstr : "out of memory");
        if (r)
            redisFree(r);
        return NULL;
    }
    redisSetTimeout(r, tv);
    if (ro.password && *ro.password) {
        redisReply *a = ro.username && *ro.username
                            ? redisCommand(r, "AUTH %s %s", ro.username, ro.password)
                            : redisCommand(r, "AUTH %s", ro.password);
        freeReplyObject(a);
    }
    if (ro.database > 0)
        freeReplyObject(redisCommand(r, "SELECT %d", ro.database));
    return r;
}

static bool key_name(const char *key, char *out, size_t cap)
{
    const gw_jsvm_call_ctx_t *c = gw_jsvm_current();
    char h[600];
    if (!c || tk_hash_key(key, strlen(key), c->conf->hash_keys, h, sizeof(h)) != TK_OK)
        return false;
    snprintf(out, cap, "apikey-%s", h);
    return true;
}

static duk_ret_t js_get_key_data_body(duk_context *ctx)
{
    const char *key = duk_safe_to_string(ctx, 0);
    char name[640];
    redisContext *r = key_name(key, name, sizeof(name)) ? redis_sync() : NULL;
    redisReply *rep = r ? redisCommand(r, "GET %s", name) : NULL;
    if (rep && rep->type == REDIS_REPLY_STRING)
        duk_push_lstring(ctx, rep->str, rep->len);
    else
        duk_push_string(ctx, "{\"status\":\"error\",\"message\":\"Key not found\"}");
    freeReplyObject(rep);
    if (r)
        redisFree(r);
    return 1;
}

static duk_ret_t js_get_key_data(duk_context *ctx)
{
    gw_jsvm_native_enter();
    duk_ret_t r = js_get_key_data_body(ctx);
    gw_jsvm_native_leave();
    return r;
}

static duk_ret_t js_set_key_data_body(duk_context *ctx)
{
    const char *key = duk_safe_to_string(ctx, 0);
    const char *session = duk_safe_to_string(ctx, 1);
    json_t *o = json_loads(session, 0, NULL);
    if (!json_is_object(o)) {
        tk_log_error("jsvm: TykSetKeyData: failed to decode the session data");
        json_decref(o);
        return 0;
    }
    json_decref(o);
    char name[640];
    redisContext *r = key_name(key, name, sizeof(name)) ? redis_sync() : NULL;
    redisReply *rep = r ? redisCommand(r, "SET %s %s", name, session) : NULL;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        tk_log_error("jsvm: TykSetKeyData: cannot store the key");
    freeReplyObject(rep);
    if (r)
        redisFree(r);
    const gw_jsvm_call_ctx_t *c = gw_jsvm_current();
    if (c && c->srv)
        gw_sessions_evict(c->srv, name + strlen("apikey-"));
    return 0;
}

static duk_ret_t js_set_key_data(duk_context *ctx)
{
    gw_jsvm_native_enter();
    duk_ret_t r = js_set_key_data_body(ctx);
    gw_jsvm_native_leave();
    return r;
}

static duk_ret_t js_batch_request(duk_context *ctx)
{
    gw_jsvm_native_enter();
    duk_ret_t r = gw_jsvm_batch_request(ctx);
    gw_jsvm_native_leave();
    return r;
}

void gw_jsvm_natives_register(struct duk_hthread *ctx)
{
    static const duk_function_list_entry fns[] = {
        {"log", js_log, 1},
        {"rawlog", js_rawlog, 1},
        {"b64enc", js_b64enc, 1},
        {"b64dec", js_b64dec, 1},
        {"rawb64enc", js_rawb64enc, 1},
        {"rawb64dec", js_rawb64dec, 1},
        {"TykMakeHttpRequest", js_make_http_request, 1},
        {"TykGetKeyData", js_get_key_data, 2},
        {"TykSetKeyData", js_set_key_data, 3},
        {"TykBatchRequest", js_batch_request, 1},
        {NULL, NULL, 0},
    };
    duk_push_global_object(ctx);
    duk_put_function_list(ctx, -1, fns);
    duk_pop(ctx);
}
