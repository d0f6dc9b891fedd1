/* SPDX-License-Identifier: Apache-2.0 */
/* Batch requests: decoding the batch, loopback sub-requests, Tyk's reply (gw_batch.h). */
#include "gw_batch.h"

#include "gw_pipeline.h"
#include "gw_server.h"

#include "tk_http1.h"
#include "tk_httpc.h"
#include "tk_log.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_ROUTE "tyk/batch/"
#define SUB_TIMEOUT_MS (120u * 1000)
#define SUB_MAX_BODY (32u * 1024 * 1024)

typedef struct batch batch_t;

typedef struct batch_item {
    batch_t *b;
    char *relative_url;
    char *url, *method, *headers, *body;
    size_t body_len;
    /* the reply; code 0 = the sub-request failed (Tyk then sends an empty reply unit) */
    int code;
    json_t *resp_headers; /* canonical name -> [values] */
    char *resp_body;
    size_t resp_len;
} batch_item_t;

struct batch {
    gw_wait_t *ticket;
    struct event_base *base;
    bool sequential;
    size_t n, next, finished;
    batch_item_t *items;
    size_t *order; /* indexes in the order the replies are sent */
};

bool gw_batch_wanted(const gw_req_t *req)
{
    /* The path test first, so other requests pay nothing. Tyk's route is the listen path
     * (trailing slashes trimmed) + "/tyk/batch/", matched exactly. */
    return gw_req_is_api_route(req, BATCH_ROUTE, false) &&
           json_is_true(json_object_get(req->api->def, "enable_batch_request_support"));
}

static void batch_free(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        batch_item_t *it = &b->items[i];
        free(it->relative_url);
        free(it->url);
        free(it->method);
        free(it->headers);
        free(it->body);
        free(it->resp_body);
        json_decref(it->resp_headers);
    }
    free(b->items);
    free(b->order);
    free(b);
}

/* ---- Go-compatible JSON output (encoding/json: HTML-safe escapes, U+FFFD for bad UTF-8) ---- */

static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0; /* overlong or surrogate */
    if (len == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

static void go_quote(struct evbuffer *o, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    evbuffer_add(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c >= 0x80) {
            size_t l = utf8_len(s + i, n - i);
            if (!l) {
                evbuffer_add(o, "\\ufffd", 6);
                i++;
            } else if (l == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] & 0xFE) == 0xA8) {
                evbuffer_add_printf(o, "\\u202%c", s[i + 2] == 0xA8 ? '8' : '9');
                i += 3;
            } else {
                evbuffer_add(o, s + i, l);
                i += l;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            evbuffer_add(o, e, 2);
        } else if (c == '\n') {
            evbuffer_add(o, "\\n", 2);
        } else if (c == '\r') {
            evbuffer_add(o, "\\r", 2);
        } else if (c == '\t') {
            evbuffer_add(o, "\\t", 2);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            evbuffer_add(o, e, 6);
        } else {
            evbuffer_add(o, &s[i], 1);
        }
        i++;
    }
    evbuffer_add(o, "\"", 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* http.Header as Go encodes a map: keys sorted, each an array of strings. */
static void write_headers(struct evbuffer *o, json_t *h)
{
    if (!h) {
        evbuffer_add(o, "null", 4);
        return;
    }
    size_t n = json_object_size(h), k = 0;
    const char **keys = tk_xcalloc(n ? n : 1, sizeof(*keys));
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v) keys[k++] = key;
    qsort(keys, n, sizeof(*keys), cmp_str);
    evbuffer_add(o, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            evbuffer_add(o, ",", 1);
        go_quote(o, keys[i], strlen(keys[i]));
        evbuffer_add(o, ":[", 2);
        json_t *arr = json_object_get(h, keys[i]);
        for (size_t j = 0; j < json_array_size(arr); j++) {
            if (j)
                evbuffer_add(o, ",", 1);
            json_t *s = json_array_get(arr, j);
            go_quote(o, json_string_value(s), json_string_length(s));
        }
        evbuffer_add(o, "]", 1);
    }
    evbuffer_add(o, "}", 1);
    free(keys);
}

static void reply(batch_t *b)
{
    gw_req_t *req = gw_wait_end(b->ticket);
    b->ticket = NULL;
    if (req) {
        struct evbuffer *o = evbuffer_new();
        evbuffer_add(o, "[", 1);
        for (size_t k = 0; k < b->finished; k++) {
            const batch_item_t *it = &b->items[b->order[k]];
            if (k)
                evbuffer_add(o, ",", 1);
            bool ok = it->code > 0;
            const char *rel = ok ? it->relative_url : "";
            evbuffer_add(o, "{\"relative_url\":", 16);
            go_quote(o, rel, strlen(rel));
            evbuffer_add_printf(o, ",\"code\":%d,\"headers\":", ok ? it->code : 0);
            write_headers(o, ok ? it->resp_headers : NULL);
            evbuffer_add(o, ",\"body\":", 8);
            go_quote(o, ok ? it->resp_body : "", ok ? it->resp_len : 0);
            evbuffer_add(o, "}", 1);
        }
        evbuffer_add(o, "]\n", 2); /* Tyk's JSON encoder ends with a newline */
        size_t len = evbuffer_get_length(o);
        gw_respond(req, 200, "application/json", evbuffer_pullup(o, -1), len, NULL);
        evbuffer_free(o);
    }
    batch_free(b);
}

/* Go's textproto.CanonicalMIMEHeaderKey (names with other characters stay as they are). */
static char *canonical_name(const char *p, size_t n)
{
    char *s = tk_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ' || !isgraph((unsigned char)s[i]))
            return s;
    bool upper = true;
    for (size_t i = 0; i < n; i++) {
        s[i] = (char)(upper ? toupper((unsigned char)s[i]) : tolower((unsigned char)s[i]));
        upper = s[i] == '-';
    }
    return s;
}

static void on_sub_head(const struct tk_http_head *h, void *arg)
{
    batch_item_t *it = arg;
    json_decref(it->resp_headers);
    it->resp_headers = json_object();
    for (uint32_t i = 0; i < h->nhdrs; i++) {
        const tk_http_hdr_t *x = &h->hdrs[i];
        char *name = canonical_name(x->name, x->name_len);
        /* Go's client keeps Transfer-Encoding out of Header; Connection only reflects the
         * close our one-shot loopback connection asked for. */
        if (strcmp(name, "Transfer-Encoding") != 0 && strcmp(name, "Connection") != 0) {
            json_t *arr = json_object_get(it->resp_headers, name);
            if (!arr) {
                arr = json_array();
                json_object_set_new(it->resp_headers, name, arr);
            }
            json_array_append_new(arr, json_stringn(x->value, x->value_len));
        }
        free(name);
    }
}

static void start_item(batch_t *b, size_t i);

static void on_sub_done(int status, const char *body, size_t len, const char *err, void *arg)
{
    batch_item_t *it = arg;
    batch_t *b = it->b;
    it->code = status;
    if (status > 0) {
        it->resp_body = tk_xmalloc(len + 1);
        memcpy(it->resp_body, body, len);
        it->resp_body[len] = 0;
        it->resp_len = len;
    } else {
        tk_log_warn("batch request %s %s failed: %s", it->method, it->url, err ? err : "?");
    }
    b->order[b->finished++] = (size_t)(it - b->items);
    if (b->finished == b->n) {
        reply(b);
        return;
    }
    if (b->sequential)
        start_item(b, b->next++);
}

static void start_item(batch_t *b, size_t i)
{
    batch_item_t *it = &b->items[i];
    tk_httpc_opts_t o = {
        .base = b->base,
        .timeout_ms = SUB_TIMEOUT_MS,
        .max_body = SUB_MAX_BODY,
        .method = it->method,
        .headers = it->headers,
        .body = it->body,
        .body_len = it->body_len,
        .on_head = on_sub_head,
    };
    if (!tk_httpc_get(&o, it->url, on_sub_done, it)) {
        /* not a usable URL: an empty reply unit, as Tyk's failed client call gives */
        tk_log_warn("batch request %s: unusable URL", it->url);
        it->code = 0;
        b->order[b->finished++] = i;
        if (b->finished == b->n)
            reply(b);
        else if (b->sequential)
            start_item(b, b->next++);
    }
}

/* ---- decoding (Go's json.Decoder into Tyk's BatchRequestStructure) ---- */

static bool str_or_null(json_t *v)
{
    return !v || json_is_null(v) || json_is_string(v);
}

static const char *str_of(json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

static bool valid_structure(json_t *root)
{
    if (json_is_null(root))
        return true;
    if (!json_is_object(root))
        return false;
    json_t *s = json_object_get(root, "suppress_parallel_execution");
    if (s && !json_is_null(s) && !json_is_boolean(s))
        return false;
    json_t *reqs = json_object_get(root, "requests");
    if (reqs && !json_is_null(reqs) && !json_is_array(reqs))
        return false;
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        if (json_is_null(r))
            continue;
        if (!json_is_object(r))
            return false;
        if (!str_or_null(json_object_get(r, "method")) ||
            !str_or_null(json_object_get(r, "body")) ||
            !str_or_null(json_object_get(r, "relative_url")))
            return false;
        json_t *h = json_object_get(r, "headers");
        if (h && !json_is_null(h)) {
            if (!json_is_object(h))
                return false;
            const char *k;
            json_t *v;
            json_object_foreach(h, k, v) if (!str_or_null(v)) return false;
        }
    }
    return true;
}

static bool is_token(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    return true;
}

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* The relative URL with spaces escaped, as Go's client writes a parsed URL's path. */
static void add_escaped(struct evbuffer *o, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ')
            evbuffer_add(o, "%20", 3);
        else
            evbuffer_add(o, s, 1);
    }
}

/* Builds one sub-request; false = Tyk's "request structure malformed" (http.NewRequest failed). */
static bool build_item(batch_item_t *it, json_t *def, const gw_req_t *req, int port)
{
    const char *method = str_of(json_object_get(def, "method"));
    const char *rel = str_of(json_object_get(def, "relative_url"));
    if (!*method)
        method = "GET"; /* http.NewRequest's default */
    if (!is_token(method) || has_ctl(rel))
        return false;
    it->method = tk_xstrdup(method);
    it->relative_url = tk_xstrdup(rel);
    /* "http://localhost:<port>/" + listen path without surrounding slashes + "/" + relative */
    const char *lp = req->api->listen_path;
    while (*lp == '/')
        lp++;
    size_t ll = strlen(lp);
    while (ll && lp[ll - 1] == '/')
        ll--;
    struct evbuffer *u = evbuffer_new();
    evbuffer_add_printf(u, "http://localhost:%d/%.*s/", port, (int)ll, lp);
    add_escaped(u, rel);
    evbuffer_add(u, "", 1);
    it->url = tk_xstrdup((const char *)evbuffer_pullup(u, -1));
    evbuffer_free(u);

    struct evbuffer *h = evbuffer_new();
    bool ua = false;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(def, "headers"), k, v)
    {
        const char *val = str_of(v);
        if (!*k || !is_token(k) || has_ctl(val)) {
            evbuffer_free(h);
            return false;
        }
        char *name = canonical_name(k, strlen(k));
        ua = ua || strcmp(name, "User-Agent") == 0;
        /* Header.Set: one value per name; Host, Content-Length and Connection are ours */
        if (strcmp(name, "Host") != 0 && strcmp(name, "Content-Length") != 0 &&
            strcmp(name, "Connection") != 0)
            evbuffer_add_printf(h, "%s: %s\r\n", name, val);
        free(name);
    }
    if (!ua)
        evbuffer_add_printf(h, "User-Agent: Go-http-client/1.1\r\n");
    evbuffer_add(h, "", 1);
    it->headers = tk_xstrdup((const char *)evbuffer_pullup(h, -1));
    evbuffer_free(h);

    json_t *body = json_object_get(def, "body");
    it->body_len = json_is_string(body) ? json_string_length(body) : 0;
    if (it->body_len) {
        it->body = tk_xmalloc(it->body_len);
        memcpy(it->body, json_string_value(body), it->body_len);
    }
    return true;
}

static void respond_api_error(gw_req_t *req, int status, const char *msg)
{
    char *j = tk_arena_printf(req->arena, "{\"status\":\"error\",\"message\":\"%s\"}", msg);
    gw_respond_json(req, status, j);
}

void gw_batch_handle(gw_req_t *req)
{
    if (req->head->method_len != 4 || memcmp(req->head->method, "POST", 4) != 0) {
        gw_respond(req, 200, NULL, "", 0, NULL); /* Tyk's handler writes nothing */
        return;
    }
    size_t len = evbuffer_get_length(req->body);
    const char *text = len ? (const char *)evbuffer_pullup(req->body, -1) : "";
    json_error_t jerr;
    /* like json.Decoder.Decode: the first JSON value; whatever follows it is not read */
    json_t *root =
        req->body_too_large
            ? NULL
            : json_loadb(text, len, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL,
                         &jerr);
    if (!root || !valid_structure(root)) {
        tk_log_error("api=%s Could not decode batch request, decoding failed", req->api->api_id);
        json_decref(root);
        respond_api_error(req, 400, "Batch request malformed");
        return;
    }
    json_t *reqs = json_object_get(root, "requests");
    batch_t *b = tk_xcalloc(1, sizeof(*b));
    b->base = req->conn->w->base;
    b->sequential = json_is_true(json_object_get(root, "suppress_parallel_execution"));
    b->n = json_array_size(reqs);
    b->items = tk_xcalloc(b->n ? b->n : 1, sizeof(*b->items));
    b->order = tk_xcalloc(b->n ? b->n : 1, sizeof(*b->order));
    int port = (int)req->conn->w->srv->conf->listen_port;
    for (size_t i = 0; i < b->n; i++) {
        b->items[i].b = b;
        if (!build_item(&b->items[i], json_array_get(reqs, i), req, port)) {
            tk_log_error("api=%s Failure generating batch request for request spec index: %zu",
                         req->api->api_id, i);
            json_decref(root);
            batch_free(b);
            respond_api_error(req, 400,
                              "Batch request creation failed , request structure malformed");
            return;
        }
    }
    json_decref(root);
    b->ticket = gw_wait_begin(req);
    if (b->n == 0) {
        reply(b);
        return;
    }
    if (b->sequential) {
        start_item(b, b->next++);
    } else {
        b->next = b->n;
        for (size_t i = 0; i < b->n; i++)
            start_item(b, i);
    }
}

void gw_batch_go_quote(struct evbuffer *o, const char *s, size_t n)
{
    go_quote(o, s, n);
}

void gw_batch_go_headers(struct evbuffer *o, json_t *h)
{
    write_headers(o, h);
}
