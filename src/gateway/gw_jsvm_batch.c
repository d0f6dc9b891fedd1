/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TykBatchRequest for JSVM scripts. Tyk decodes the argument as a batch request
 * ({requests: [{method, headers, body, relative_url}], suppress_parallel_execution}) with
 * json.Unmarshal, sends every request to its relative_url as given (the "unsafe" batch: a full
 * URL, not a path of this API), and returns json.Marshal of the reply units {relative_url,
 * code, headers, body}; a request that fails yields an empty unit. In parallel mode the units
 * come in the order the requests finished, otherwise in request order.
 *
 * Scripts run synchronously on a worker, so the requests run here on a blocking libcurl multi
 * loop, bounded by what is left of the call's jsvm_timeout deadline.
 */
#include "gw_batch.h"
#include "gw_jsvm.h"

#include "tk_log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <duktape.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BATCH_MAX_BODY (32u * 1024 * 1024)
#define BATCH_MAX_REQUESTS 256

typedef struct unit {
    CURL *easy;
    struct curl_slist *hdrs;
    const char *relative_url; /* borrowed from the decoded batch */
    json_t *resp_headers;     /* canonical name -> [values] of the last response */
    char *body;
    size_t body_len;
    bool too_big;
    long code; /* 0: failed */
} unit_t;

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

static bool deadline_passed(void)
{
    const gw_jsvm_call_ctx_t *c = gw_jsvm_current();
    return c && c->deadline_ns && tk_now_ns() >= c->deadline_ns;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
    unit_t *u = arg;
    size_t n = sz * nm;
    if (u->body_len + n > BATCH_MAX_BODY) {
        u->too_big = true;
        return 0; /* aborts this transfer: the unit fails */
    }
    u->body = tk_xrealloc(u->body, u->body_len + n + 1);
    memcpy(u->body + u->body_len, p, n);
    u->body_len += n;
    u->body[u->body_len] = '\0';
    return n;
}

/* Go's CanonicalMIMEHeaderKey for the usual token names ("content-type" → "Content-Type"). */
static void canonical(char *name)
{
    bool up = true;
    for (char *p = name; *p; p++) {
        if (*p == ' ')
            return; /* Go leaves names with spaces alone */
        *p = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        up = *p == '-';
    }
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
    unit_t *u = arg;
    size_t n = sz * nm;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or a 100 Continue): only the last one counts */
        json_object_clear(u->resp_headers);
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p)
        return n;
    char *name = tk_xmalloc((size_t)(colon - p) + 1);
    memcpy(name, p, (size_t)(colon - p));
    name[colon - p] = '\0';
    canonical(name);
    const char *v = colon + 1, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    json_t *arr = json_object_get(u->resp_headers, name);
    if (!arr) {
        arr = json_array();
        json_object_set_new(u->resp_headers, name, arr);
    }
    json_array_append_new(arr, json_stringn(v, (size_t)(end - v)));
    free(name);
    return n;
}

/* A string field that Go would decode into a string: absent, null or a string. */
static bool str_field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return !v || json_is_null(v) || json_is_string(v);
}

/* The checks json.Unmarshal into Tyk's BatchRequestStructure makes; NULL when it decodes. */
static const char *invalid(json_t *b)
{
    if (!json_is_object(b))
        return "not a JSON object";
    json_t *reqs = json_object_get(b, "requests");
    if (reqs && !json_is_null(reqs) && !json_is_array(reqs))
        return "requests is not an array";
    json_t *sp = json_object_get(b, "suppress_parallel_execution");
    if (sp && !json_is_null(sp) && !json_is_boolean(sp))
        return "suppress_parallel_execution is not a boolean";
    if (json_array_size(reqs) > BATCH_MAX_REQUESTS)
        return "too many requests";
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        if (json_is_null(r))
            continue;
        if (!json_is_object(r) || !str_field(r, "method") || !str_field(r, "body") ||
            !str_field(r, "relative_url"))
            return "a request is malformed";
        json_t *h = json_object_get(r, "headers");
        if (h && !json_is_null(h) && !json_is_object(h))
            return "headers is not an object";
        const char *k;
        json_t *v;
        json_object_foreach(h, k, v)
        {
            if (!json_is_string(v) && !json_is_null(v))
                return "a header value is not a string";
        }
    }
    return NULL;
}

static bool has_header(json_t *h, const char *name)
{
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        if (strcasecmp(k, name) == 0)
            return true;
    }
    return false;
}

/* The easy handle for one request as Go's http.NewRequest + Header.Set would send it. */
static bool unit_setup(unit_t *u, json_t *def, bool insecure)
{
    const char *method = json_string_value(json_object_get(def, "method"));
    const char *url = json_string_value(json_object_get(def, "relative_url"));
    const char *body = json_string_value(json_object_get(def, "body"));
    json_t *h = json_object_get(def, "headers");
    u->relative_url = url ? url : "";
    u->resp_headers = json_object();
    u->easy = curl_easy_init();
    if (!u->easy || !url || !*url)
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        char *line = gw_jsvm_printf("%s: %s", k, json_string_value(v) ? json_string_value(v) : "");
        u->hdrs = curl_slist_append(u->hdrs, line);
        free(line);
    }
    /* Go adds none of these; curl would. */
    if (!has_header(h, "Accept"))
        u->hdrs = curl_slist_append(u->hdrs, "Accept:");
    if (!has_header(h, "Content-Type"))
        u->hdrs = curl_slist_append(u->hdrs, "Content-Type:");
    u->hdrs = curl_slist_append(u->hdrs, "Expect:");
    CURL *e = u->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method && *method ? method : "GET");
    if (body && *body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, u->hdrs);
    if (!has_header(h, "User-Agent"))
        curl_easy_setopt(e, CURLOPT_USERAGENT, "Go-http-client/1.1");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L); /* http.Client follows up to 10 */
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, u);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms_left());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, u);
    if (insecure) { /* Tyk: proxy_ssl_insecure_skip_verify */
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return true;
}

static void unit_done(unit_t *u, CURLcode rc)
{
    if (rc == CURLE_OK && !u->too_big) {
        curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &u->code);
        return;
    }
    tk_log_error("jsvm: TykBatchRequest: request to %s failed: %s", u->relative_url,
                 u->too_big ? "response body too large" : curl_easy_strerror(rc));
    u->code = 0;
}

static void unit_free(unit_t *u)
{
    if (u->easy)
        curl_easy_cleanup(u->easy);
    curl_slist_free_all(u->hdrs);
    json_decref(u->resp_headers);
    free(u->body);
}

/* Runs the ready units in parallel; appends their indexes to @order as they finish. */
static void run_parallel(unit_t *units, const bool *ready, size_t n, size_t *order, size_t *no)
{
    CURLM *m = curl_multi_init();
    if (!m)
        return;
    for (size_t i = 0; i < n; i++)
        if (ready[i])
            curl_multi_add_handle(m, units[i].easy);
    int running = 1;
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            unit_t *u = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&u);
            unit_done(u, msg->data.result);
            order[(*no)++] = (size_t)(u - units);
        }
        if (!running)
            break;
        if (deadline_passed())
            break; /* the script's time is up: the unfinished requests fail */
        long wait = ms_left();
        curl_multi_poll(m, NULL, 0, (int)(wait < 100 ? wait : 100), NULL);
    }
    for (size_t i = 0; i < n; i++)
        if (ready[i])
            curl_multi_remove_handle(m, units[i].easy);
    curl_multi_cleanup(m);
}

static void write_unit(struct evbuffer *o, const unit_t *u)
{
    bool ok = u->code > 0;
    const char *rel = ok ? u->relative_url : "";
    evbuffer_add(o, "{\"relative_url\":", 16);
    gw_batch_go_quote(o, rel, strlen(rel));
    evbuffer_add_printf(o, ",\"code\":%ld,\"headers\":", ok ? u->code : 0);
    gw_batch_go_headers(o, ok ? u->resp_headers : NULL);
    evbuffer_add(o, ",\"body\":", 8);
    gw_batch_go_quote(o, ok && u->body ? u->body : "", ok ? u->body_len : 0);
    evbuffer_add(o, "}", 1);
}

int gw_jsvm_batch_request(struct duk_hthread *ctx)
{
    duk_size_t in_len = 0;
    const char *in = duk_safe_to_lstring(ctx, 0, &in_len);
    json_error_t jerr;
    json_t *b = json_loadb(in, in_len, JSON_ALLOW_NUL, &jerr);
    const char *why = b ? invalid(b) : jerr.text;
    if (why) {
        tk_log_error("jsvm: Batch request error: Could not decode batch request, decoding "
                     "failed: %s",
                     why);
        json_decref(b);
        return 0; /* undefined, as in Tyk */
    }
    json_t *reqs = json_object_get(b, "requests");
    size_t n = json_array_size(reqs);
    bool sequential = json_is_true(json_object_get(b, "suppress_parallel_execution"));
    const gw_jsvm_call_ctx_t *cc = gw_jsvm_current();
    bool insecure = cc && cc->conf && cc->conf->proxy_ssl_insecure_skip_verify;
    unit_t *units = tk_xcalloc(n ? n : 1, sizeof(*units));
    bool *ready = tk_xcalloc(n ? n : 1, sizeof(*ready));
    size_t *order = tk_xcalloc(n ? n : 1, sizeof(*order));
    size_t no = 0;
    for (size_t i = 0; i < n; i++) {
        ready[i] = unit_setup(&units[i], json_array_get(reqs, i), insecure);
        if (!ready[i])
            tk_log_error("jsvm: TykBatchRequest: request %zu has no usable URL", i);
    }
    if (sequential) {
        for (size_t i = 0; i < n; i++) {
            if (ready[i]) {
                if (deadline_passed()) {
                    unit_done(&units[i], CURLE_OPERATION_TIMEDOUT);
                } else {
                    curl_easy_setopt(units[i].easy, CURLOPT_TIMEOUT_MS, ms_left());
                    unit_done(&units[i], curl_easy_perform(units[i].easy));
                }
            }
            order[no++] = i;
        }
    } else {
        run_parallel(units, ready, n, order, &no);
        /* requests that never started or never finished: failed, after the others */
        bool *seen = tk_xcalloc(n ? n : 1, sizeof(*seen));
        for (size_t k = 0; k < no; k++)
            seen[order[k]] = true;
        for (size_t i = 0; i < n; i++)
            if (!seen[i]) {
                if (ready[i] && units[i].code == 0)
                    tk_log_error("jsvm: TykBatchRequest: request to %s did not finish in time",
                                 units[i].relative_url);
                units[i].code = 0;
                order[no++] = i;
            }
        free(seen);
    }
    struct evbuffer *o = evbuffer_new();
    evbuffer_add(o, "[", 1);
    for (size_t k = 0; k < no; k++) {
        if (k)
            evbuffer_add(o, ",", 1);
        write_unit(o, &units[order[k]]);
    }
    evbuffer_add(o, "]", 1); /* json.Marshal: no trailing newline */
    size_t len = evbuffer_get_length(o);
    duk_push_lstring(ctx, (const char *)evbuffer_pullup(o, -1), len);
    evbuffer_free(o);
    for (size_t i = 0; i < n; i++)
        unit_free(&units[i]);
    free(units);
    free(ready);
    free(order);
    json_decref(b);
    return 1;
}
