/* SPDX-License-Identifier: Apache-2.0 */
/* "elasticsearch": records as Elasticsearch documents, in Tyk Pump's elasticsearch pump's form.
 *
 * Document (keys sorted, as Go writes a map): "@timestamp" (RFC 3339, local time), alias,
 * api_id, api_key, api_name, api_version, content_length, http_method, ip_address, oauth_id,
 * org_id, request_time_ms, request_uri (Path), request_uri_full (RawPath), response_code, tags;
 * with extended_stats also raw_request, raw_response (base64-decoded with decode_base64) and
 * user_agent. Index: index_name, or index_name-YYYY.MM.DD with rolling_index.
 *
 * Written with POST <url>/_bulk (application/x-ndjson, an {"index":{...}} action line and the
 * document line per record; "_type": document_type for versions 3, 5 and 6), split by
 * bulk_config.bulk_actions / bulk_size; or one request per record with disable_bulk.
 * A batch counts as written only when every request got a 2xx and every bulk answer said
 * "errors":false. A failed batch is sent again whole: with generate_id every record has a
 * deterministic _id, so documents already stored are overwritten, never duplicated; without it
 * Elasticsearch picks ids and a retried batch can store some records twice. */
#include "tk_curl.h"
#include "pump_sink.h"
#include "sink_fields.h"
#include "tk_base64.h"

#include <murmurhash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_BULK_ACTIONS 1000
#define DEFAULT_BULK_SIZE (5LL * 1024 * 1024)

typedef struct es {
    char **urls; /* elasticsearch_url split on commas, trailing '/' cut */
    size_t n_urls, cur_url;
    char *index_name, *doc_type;
    int version;
    bool rolling, extended, generate_id, decode_b64, disable_bulk;
    long long bulk_actions, bulk_size; /* <= 0: no limit */
    char *auth_header;                 /* ApiKey auth, or NULL */
    char *user, *pass;                 /* basic auth, or NULL */
    tk_curl_tls_t tls;
    char *cert_file, *key_file;
    double timeout_s;
    tk_curl_client_t *http;
} es_t;

static void es_destroy(void *state)
{
    es_t *e = state;
    if (!e)
        return;
    for (size_t i = 0; i < e->n_urls; i++)
        free(e->urls[i]);
    free(e->urls);
    free(e->index_name);
    free(e->doc_type);
    free(e->auth_header);
    free(e->user);
    free(e->pass);
    free(e->cert_file);
    free(e->key_file);
    tk_curl_free(e->http);
    free(e);
}

static const char *str_or(const json_t *m, const char *key, const char *dflt)
{
    const char *v = sink_meta_str(m, key);
    return v ? v : dflt;
}

static void split_urls(es_t *e, const char *list)
{
    for (const char *p = list;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '/'))
            len--;
        if (len) {
            e->urls = tk_xrealloc(e->urls, (e->n_urls + 1) * sizeof(char *));
            e->urls[e->n_urls++] = tk_xstrndup(p, len);
        }
        if (!c)
            break;
        p = c + 1;
    }
}

static int parse_version(const json_t *m, int *out)
{
    json_t *v = json_object_get(m, "version");
    const char *s = json_string_value(v);
    char buf[16];
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        s = buf;
    }
    if (!s || !*s) {
        *out = 3; /* Tyk's default */
        return 0;
    }
    static const char *const ok[] = {"3", "5", "6", "7", "8"};
    for (size_t i = 0; i < TK_ARRAY_LEN(ok); i++) {
        if (strcmp(s, ok[i]) == 0) {
            *out = s[0] - '0';
            return 0;
        }
    }
    return -1;
}

static int es_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    const json_t *m = conf->meta;
    *state = NULL;
    es_t *e = tk_xcalloc(1, sizeof(*e));
    split_urls(e, str_or(m, "elasticsearch_url", "http://localhost:9200"));
    if (e->n_urls == 0) {
        snprintf(err, errlen, "elasticsearch: meta.elasticsearch_url has no URL");
        goto fail;
    }
    e->index_name = tk_xstrdup(str_or(m, "index_name", "tyk_analytics"));
    e->doc_type = tk_xstrdup(str_or(m, "document_type", "tyk_analytics"));
    if (parse_version(m, &e->version) != 0) {
        snprintf(err, errlen, "elasticsearch: meta.version: only 3, 5, 6, 7, 8 are valid");
        goto fail;
    }
    e->rolling = sink_meta_bool(m, "rolling_index");
    e->extended = sink_meta_bool(m, "extended_stats");
    e->generate_id = sink_meta_bool(m, "generate_id");
    e->decode_b64 = sink_meta_bool(m, "decode_base64");
    e->disable_bulk = sink_meta_bool(m, "disable_bulk");

    const json_t *bulk = json_object_get(m, "bulk_config");
    if (bulk && !json_is_object(bulk)) {
        snprintf(err, errlen, "elasticsearch: meta.bulk_config must be an object");
        goto fail;
    }
    /* workers and flush_interval tune Tyk's background bulk processor; here the journal hands
     * over batches, so they are accepted and have nothing to do. */
    if (sink_meta_int(bulk, "bulk_actions", 0, &e->bulk_actions, err, errlen) ||
        sink_meta_int(bulk, "bulk_size", 0, &e->bulk_size, err, errlen))
        goto fail;
    if (e->bulk_actions == 0)
        e->bulk_actions = DEFAULT_BULK_ACTIONS;
    if (e->bulk_size == 0)
        e->bulk_size = DEFAULT_BULK_SIZE;

    const char *key_id = sink_meta_str(m, "auth_api_key_id");
    const char *key = sink_meta_str(m, "auth_api_key");
    if (key_id && key) {
        size_t n = strlen(key_id) + strlen(key) + 2;
        char *pair = tk_xmalloc(n);
        snprintf(pair, n, "%s:%s", key_id, key);
        char *b64 = tk_b64_encode(pair, strlen(pair), false, true, NULL);
        size_t hl = strlen(b64) + 32;
        e->auth_header = tk_xmalloc(hl);
        snprintf(e->auth_header, hl, "Authorization: ApiKey %s", b64);
        free(b64);
        free(pair);
    } else {
        const char *u = sink_meta_str(m, "auth_basic_username");
        const char *p = sink_meta_str(m, "auth_basic_password");
        if (u || p) {
            e->user = tk_xstrdup(u ? u : "");
            e->pass = tk_xstrdup(p ? p : "");
        }
    }
    if (sink_meta_bool(m, "use_ssl")) {
        /* As in Tyk, the ssl_* keys only apply with use_ssl; https URLs verify by default. */
        e->tls.insecure_skip_verify = sink_meta_bool(m, "ssl_insecure_skip_verify");
        const char *cf = sink_meta_str(m, "ssl_cert_file");
        const char *kf = sink_meta_str(m, "ssl_key_file");
        if (!cf != !kf) {
            snprintf(err, errlen,
                     "elasticsearch: set both meta.ssl_cert_file and meta.ssl_key_file for mTLS");
            goto fail;
        }
        e->cert_file = cf ? tk_xstrdup(cf) : NULL;
        e->key_file = kf ? tk_xstrdup(kf) : NULL;
        e->tls.cert_file = e->cert_file;
        e->tls.key_file = e->key_file;
    }
    e->timeout_s = tk_curl_timeout(conf->timeout_s);
    *state = e;
    return 0;
fail:
    es_destroy(e);
    return -1;
}

/* Tyk's _id input: UnixNano, Method, Path, IPAddress, APIID, OauthID, RequestTime, Alias. Tyk
 * sends the 8 raw bytes of murmur3-64 as the id string; we send them as 16 hex digits, which
 * Elasticsearch stores unchanged (raw bytes would be mangled into U+FFFD by JSON encoding). */
static void doc_id(const tk_analytics_record_t *r, char out[17])
{
    int64_t unix_nano = r->timestamp.sec * 1000000000LL + r->timestamp.nsec;
    size_t n = 64 + r->method.len + r->path.len + r->ip_address.len + r->api_id.len +
               r->oauth_id.len + r->alias.len;
    char *buf = tk_xmalloc(n);
    int w = snprintf(buf, n, "%lld%.*s%.*s%.*s%.*s%.*s%lld%.*s", (long long)unix_nano,
                     (int)r->method.len, r->method.p, (int)r->path.len, r->path.p,
                     (int)r->ip_address.len, r->ip_address.p, (int)r->api_id.len, r->api_id.p,
                     (int)r->oauth_id.len, r->oauth_id.p, (long long)r->request_time,
                     (int)r->alias.len, r->alias.p);
    uint64_t h[2];
    lmmh_x64_128(buf, (unsigned)w, 0, h);
    free(buf);
    snprintf(out, 17, "%016llx", (unsigned long long)h[0]);
}

static void index_for(const es_t *e, const tk_analytics_record_t *r, char *out, size_t n)
{
    if (!e->rolling) {
        snprintf(out, n, "%s", e->index_name);
        return;
    }
    /* The record's own (local) day, so a batch retried after midnight lands where it did
     * before and generate_id still dedupes. Tyk uses the day of writing. */
    struct tm tm;
    time_t sec = (time_t)r->timestamp.sec;
    localtime_r(&sec, &tm);
    snprintf(out, n, "%s-%04d.%02d.%02d", e->index_name, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

static json_t *raw_field(const es_t *e, tk_str_t v)
{
    if (!e->decode_b64 || v.len == 0)
        return sink_json_str(v);
    size_t n = 0;
    unsigned char *d = tk_b64_decode(v.p, v.len, false, true, &n);
    if (!d) /* not base64 after all: keep the text rather than lose it */
        return sink_json_str(v);
    json_t *j = sink_json_strn((const char *)d, n);
    free(d);
    return j;
}

static json_t *es_document(const es_t *e, const tk_analytics_record_t *r)
{
    char ts[64];
    sink_time_rfc3339nano(r->timestamp, ts, sizeof(ts));
    json_t *d = json_object();
    json_object_set_new(d, "@timestamp", json_string(ts));
    json_object_set_new(d, "http_method", sink_json_str(r->method));
    json_object_set_new(d, "request_uri", sink_json_str(r->path));
    json_object_set_new(d, "request_uri_full", sink_json_str(r->raw_path));
    json_object_set_new(d, "response_code", json_integer(r->response_code));
    json_object_set_new(d, "ip_address", sink_json_str(r->ip_address));
    json_object_set_new(d, "api_key", sink_json_str(r->api_key));
    json_object_set_new(d, "api_version", sink_json_str(r->api_version));
    json_object_set_new(d, "api_name", sink_json_str(r->api_name));
    json_object_set_new(d, "api_id", sink_json_str(r->api_id));
    json_object_set_new(d, "org_id", sink_json_str(r->org_id));
    json_object_set_new(d, "oauth_id", sink_json_str(r->oauth_id));
    json_object_set_new(d, "request_time_ms", json_integer(r->request_time));
    json_object_set_new(d, "alias", sink_json_str(r->alias));
    json_object_set_new(d, "content_length", json_integer(r->content_length));
    json_object_set_new(d, "tags", sink_tags_json(r));
    if (e->extended) {
        json_object_set_new(d, "raw_request", raw_field(e, r->raw_request));
        json_object_set_new(d, "raw_response", raw_field(e, r->raw_response));
        json_object_set_new(d, "user_agent", sink_json_str(r->user_agent));
    }
    return d;
}

/* Sends one request to the current URL, moving on to the next URL of the list when a server
 * does not answer at all. */
static int es_request(es_t *e, const char *method, const char *path, const char *ctype,
                      const char *body, size_t len, tk_curl_response_t *resp, char *err,
                      size_t errlen)
{
    for (size_t tries = 0; tries < e->n_urls; tries++) {
        const char *base = e->urls[e->cur_url];
        size_t ul = strlen(base) + strlen(path) + 2;
        char *url = tk_xmalloc(ul);
        snprintf(url, ul, "%s%s", base, path);
        char ct[96];
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        const char *headers[] = {ct, e->auth_header, NULL};
        tk_curl_request_t req = {.method = method,
                                 .url = url,
                                 .headers = headers,
                                 .body = body,
                                 .body_len = len,
                                 .username = e->user,
                                 .password = e->pass,
                                 .tls = &e->tls,
                                 .timeout_s = e->timeout_s};
        int rc = tk_curl_do(e->http, &req, resp);
        free(url);
        if (rc == 0)
            return 0;
        snprintf(err, errlen, "elasticsearch: %s", resp->error);
        tk_curl_response_free(resp);
        e->cur_url = (e->cur_url + 1) % e->n_urls;
    }
    return -1;
}

/* The first failed item of a bulk answer, for the error message. */
static void bulk_item_error(const json_t *answer, char *err, size_t errlen)
{
    json_t *items = json_object_get(answer, "items");
    size_t n = json_array_size(items);
    for (size_t i = 0; i < n; i++) {
        json_t *op = json_array_get(items, i);
        const char *k;
        json_t *res;
        json_object_foreach(op, k, res)
        {
            json_t *e = json_object_get(res, "error");
            if (!e)
                continue;
            json_t *reason = json_object_get(e, "reason");
            snprintf(err, errlen, "elasticsearch: bulk item %zu of %zu failed: status %lld %s: %s",
                     i + 1, n, (long long)json_integer_value(json_object_get(res, "status")),
                     json_is_string(json_object_get(e, "type"))
                         ? json_string_value(json_object_get(e, "type"))
                         : "error",
                     json_is_string(reason) ? json_string_value(reason) : "(no reason)");
            return;
        }
    }
    snprintf(err, errlen, "elasticsearch: bulk answer has \"errors\":true");
}

/* True when every failed item of a bulk answer was refused for its content (a 4xx other than
 * 429, e.g. mapper_parsing_exception): sending those documents again cannot succeed. */
static bool bulk_items_permanent(const json_t *answer)
{
    json_t *items = json_object_get(answer, "items");
    size_t failed = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *k;
        json_t *res;
        json_object_foreach(json_array_get(items, i), k, res)
        {
            if (!json_object_get(res, "error"))
                continue;
            json_int_t st = json_integer_value(json_object_get(res, "status"));
            if (st < 400 || st >= 500 || st == 429)
                return false;
            failed++;
        }
    }
    return failed > 0;
}

static int send_bulk(es_t *e, const char *body, size_t len, char *err, size_t errlen)
{
    tk_curl_response_t resp;
    if (es_request(e, "POST", "/_bulk", "application/x-ndjson", body, len, &resp, err, errlen))
        return -1;
    int rc = -1;
    if (resp.status != 200) {
        snprintf(err, errlen, "elasticsearch: HTTP %ld from _bulk: %.200s", resp.status, resp.body);
        if (tk_curl_status_permanent(resp.status))
            rc = -2;
    } else {
        json_error_t jerr;
        json_t *answer = json_loadb(resp.body, resp.body_len, 0, &jerr);
        json_t *errors = json_object_get(answer, "errors");
        if (!json_is_boolean(errors))
            snprintf(err, errlen, "elasticsearch: _bulk answer without \"errors\": %.200s",
                     resp.body);
        else if (json_is_true(errors)) {
            bulk_item_error(answer, err, errlen);
            if (bulk_items_permanent(answer))
                rc = -2;
        } else
            rc = 0;
        json_decref(answer);
    }
    tk_curl_response_free(&resp);
    return rc;
}

static int send_one(es_t *e, const char *index, const char *id, const char *doc, char *err,
                    size_t errlen)
{
    const char *type = e->version >= 7 ? "_doc" : e->doc_type;
    size_t pl = strlen(index) + strlen(type) + 48;
    char *path = tk_xmalloc(pl);
    if (id)
        snprintf(path, pl, "/%s/%s/%s", index, type, id);
    else
        snprintf(path, pl, "/%s/%s", index, type);
    tk_curl_response_t resp;
    int rc = es_request(e, id ? "PUT" : "POST", path, "application/json", doc, strlen(doc), &resp,
                        err, errlen);
    free(path);
    if (rc)
        return -1;
    if (resp.status != 200 && resp.status != 201) {
        snprintf(err, errlen, "elasticsearch: HTTP %ld indexing into %s: %.200s", resp.status,
                 index, resp.body);
        rc = tk_curl_status_permanent(resp.status) ? -2 : -1;
    }
    tk_curl_response_free(&resp);
    return rc;
}

static int es_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    es_t *e = state;
    if (!e->http && !(e->http = tk_curl_new())) {
        snprintf(err, errlen, "elasticsearch: cannot create an HTTP client");
        return -1;
    }
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    long long in_bulk = 0;
    int rc = 0;
    for (size_t i = 0; i < batch->n && rc == 0; i++) {
        const tk_analytics_record_t *r = batch->items[i].rec;
        char index[512], id[17];
        index_for(e, r, index, sizeof(index));
        if (e->generate_id)
            doc_id(r, id);
        json_t *doc = es_document(e, r);
        char *docs = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(doc);
        if (e->disable_bulk) {
            rc = send_one(e, index, e->generate_id ? id : NULL, docs, err, errlen);
            free(docs);
            continue;
        }
        json_t *meta = json_pack("{s:s}", "_index", index);
        if (e->generate_id)
            json_object_set_new(meta, "_id", json_string(id));
        if (e->version < 7)
            json_object_set_new(meta, "_type", json_string(e->doc_type));
        json_t *action = json_pack("{s:o}", "index", meta);
        char *acts = json_dumps(action, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(action);
        size_t al = strlen(acts), dl = strlen(docs);
        if (in_bulk > 0 && ((e->bulk_actions > 0 && in_bulk >= e->bulk_actions) ||
                            (e->bulk_size > 0 && (long long)(blen + al + dl + 2) > e->bulk_size))) {
            rc = send_bulk(e, buf, blen, err, errlen);
            blen = 0;
            in_bulk = 0;
        }
        if (blen + al + dl + 3 > bcap) {
            bcap = (blen + al + dl + 3) * 2;
            buf = tk_xrealloc(buf, bcap);
        }
        memcpy(buf + blen, acts, al);
        blen += al;
        buf[blen++] = '\n';
        memcpy(buf + blen, docs, dl);
        blen += dl;
        buf[blen++] = '\n';
        in_bulk++;
        free(acts);
        free(docs);
    }
    if (rc == 0 && in_bulk > 0)
        rc = send_bulk(e, buf, blen, err, errlen);
    free(buf);
    return rc;
}

const pump_sink_ops_t pump_sink_elasticsearch = {
    .type = "elasticsearch",
    .create = es_create,
    .write = es_write,
    .destroy = es_destroy,
};
