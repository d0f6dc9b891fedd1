/* SPDX-License-Identifier: Apache-2.0 */
/* "splunk": records as Splunk HTTP Event Collector events, as Tyk Pump's splunk pump sends them.
 *
 * Each record becomes {"time":<unix seconds>,"event":{...}} POSTed to
 * <collector_url with its path replaced by /services/collector/event/1.0> with
 * "Authorization: Splunk <collector_token>". The event holds the 14 default fields (method, path,
 * response_code, api_key, time_stamp, api_version, api_name, api_id, org_id, oauth_id,
 * raw_request, request_time, raw_response, ip_address) or the names in meta.fields, keys sorted
 * as Go writes a map. With enable_batch the events are concatenated into as few POSTs as
 * batch_max_content_length allows; otherwise one POST per record.
 *
 * A batch counts as written only when every POST got a 2xx. HEC has no idempotency key, so when
 * a later POST of a batch fails the earlier ones are sent again on retry: Splunk may see those
 * events twice (at-least-once). enable_batch keeps that to the rare multi-POST batch. */
#include "tk_curl.h"
#include "pump_sink.h"
#include "sink_fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define HEC_PATH "/services/collector/event/1.0"
#define DEFAULT_MAX_CONTENT_LENGTH 838860800LL /* Splunk's own default max_content_length */

typedef struct splunk {
    char *url;
    char *auth_header;
    tk_curl_tls_t tls;
    char *cert_file, *key_file, *server_name;
    bool obfuscate;
    long long obfuscate_len;
    char **fields; /* NULL = Tyk's 14 default fields */
    char **ignore_tag_prefixes;
    bool batch;
    long long batch_max;
    long long max_retries;
    double timeout_s;
    tk_curl_client_t *http;
} splunk_t;

static void splunk_destroy(void *state)
{
    splunk_t *s = state;
    if (!s)
        return;
    free(s->url);
    free(s->auth_header);
    free(s->cert_file);
    free(s->key_file);
    free(s->server_name);
    sink_strings_free(s->fields);
    sink_strings_free(s->ignore_tag_prefixes);
    tk_curl_free(s->http);
    free(s);
}

static char *dup_or_null(const char *s)
{
    return s ? tk_xstrdup(s) : NULL;
}

static int splunk_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    const json_t *m = conf->meta;
    const char *token = sink_meta_str(m, "collector_token");
    const char *curl_ = sink_meta_str(m, "collector_url");
    if (!token || !curl_) {
        snprintf(err, errlen, "splunk: meta.collector_token and meta.collector_url are required");
        return -1;
    }
    splunk_t *s = tk_xcalloc(1, sizeof(*s));
    *state = NULL;

    /* Tyk replaces whatever path the URL has with the HEC event endpoint. */
    CURLU *u = curl_url();
    char *full = NULL;
    if (curl_url_set(u, CURLUPART_URL, curl_, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PATH, HEC_PATH, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        snprintf(err, errlen, "splunk: meta.collector_url is not a valid URL: %s", curl_);
        splunk_destroy(s);
        return -1;
    }
    s->url = tk_xstrdup(full);
    curl_free(full);
    curl_url_cleanup(u);

    size_t hl = strlen(token) + 32;
    s->auth_header = tk_xmalloc(hl);
    snprintf(s->auth_header, hl, "Authorization: Splunk %s", token);

    s->tls.insecure_skip_verify = sink_meta_bool(m, "ssl_insecure_skip_verify");
    if (!s->tls.insecure_skip_verify) {
        /* Tyk loads a client certificate only when verification is on. */
        s->cert_file = dup_or_null(sink_meta_str(m, "ssl_cert_file"));
        s->key_file = dup_or_null(sink_meta_str(m, "ssl_key_file"));
        s->server_name = dup_or_null(sink_meta_str(m, "ssl_server_name"));
        if (!s->cert_file != !s->key_file) {
            snprintf(err, errlen, "splunk: meta.ssl_cert_file and meta.ssl_key_file go together");
            splunk_destroy(s);
            return -1;
        }
        s->tls.cert_file = s->cert_file;
        s->tls.key_file = s->key_file;
        s->tls.server_name = s->server_name;
    }
    s->obfuscate = sink_meta_bool(m, "obfuscate_api_keys");
    s->batch = sink_meta_bool(m, "enable_batch");
    if (sink_meta_int(m, "obfuscate_api_keys_length", 0, &s->obfuscate_len, err, errlen) ||
        sink_meta_int(m, "batch_max_content_length", 0, &s->batch_max, err, errlen) ||
        sink_meta_int(m, "max_retries", 0, &s->max_retries, err, errlen) ||
        sink_meta_strings(m, "fields", &s->fields, err, errlen) ||
        sink_meta_strings(m, "ignore_tag_prefix_list", &s->ignore_tag_prefixes, err, errlen)) {
        splunk_destroy(s);
        return -1;
    }
    if (s->obfuscate_len < 0 || s->max_retries < 0 || s->batch_max < 0) {
        snprintf(err, errlen,
                 "splunk: obfuscate_api_keys_length, batch_max_content_length and "
                 "max_retries must not be negative");
        splunk_destroy(s);
        return -1;
    }
    if (s->batch_max == 0)
        s->batch_max = DEFAULT_MAX_CONTENT_LENGTH;
    s->timeout_s = tk_curl_timeout(conf->timeout_s);
    *state = s;
    return 0;
}

static json_t *api_key_value(const splunk_t *s, const tk_analytics_record_t *r)
{
    if (s->obfuscate && r->api_key.len > (size_t)s->obfuscate_len) {
        size_t keep = (size_t)s->obfuscate_len;
        char *v = tk_xmalloc(keep + 5);
        memcpy(v, "****", 4);
        memcpy(v + 4, r->api_key.p + r->api_key.len - keep, keep);
        json_t *j = sink_json_strn(v, keep + 4);
        free(v);
        return j;
    }
    return sink_json_str(r->api_key);
}

static bool tag_ignored(const splunk_t *s, tk_str_t tag)
{
    for (char **p = s->ignore_tag_prefixes; p && *p; p++) {
        size_t l = strlen(*p);
        if (tag.len >= l && memcmp(tag.p, *p, l) == 0)
            return true;
    }
    return false;
}

static json_t *field_value(const splunk_t *s, const tk_analytics_record_t *r, const char *name)
{
    if (strcmp(name, "api_key") == 0)
        return api_key_value(s, r);
    if (strcmp(name, "tags") == 0 && s->ignore_tag_prefixes && r->n_tags) {
        json_t *a = json_array(); /* filtered: [] when all go, as Tyk's filtered slice */
        for (size_t i = 0; i < r->n_tags; i++)
            if (!tag_ignored(s, r->tags[i]))
                json_array_append_new(a, sink_json_str(r->tags[i]));
        return a;
    }
    return sink_field_value(r, name);
}

/* One HEC event: {"time":N,"event":{...}} with the event's keys sorted as Go writes a map. */
static char *event_json(const splunk_t *s, const tk_analytics_record_t *r, size_t *len)
{
    json_t *ev = json_object();
    if (s->fields) {
        for (char **f = s->fields; *f; f++) {
            json_t *v = field_value(s, r, *f); /* unknown names are skipped, as Tyk does */
            if (v)
                json_object_set_new(ev, *f, v);
        }
    } else {
        for (size_t i = 0; i < sink_default_fields_len; i++)
            json_object_set_new(ev, sink_default_fields[i],
                                field_value(s, r, sink_default_fields[i]));
    }
    char *inner = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ev);
    size_t n = strlen(inner) + 48;
    char *out = tk_xmalloc(n);
    int w = snprintf(out, n, "{\"time\":%lld,\"event\":%s}", (long long)r->timestamp.sec, inner);
    free(inner);
    *len = (size_t)w;
    return out;
}

static void backoff_sleep(int attempt)
{
    long ms = 100L << (attempt < 4 ? attempt : 4); /* 100 ms .. 1.6 s */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POSTs one body; retries up to max_retries times on no answer, 5xx or 429 (Tyk's retry rule).
 * -2 when HEC refused the body itself (400 "invalid data format", 401/403 token, 413...). */
static int send_body(splunk_t *s, const char *body, size_t len, char *err, size_t errlen)
{
    const char *headers[] = {s->auth_header, "Content-Type: application/json", NULL};
    tk_curl_request_t req = {.method = "POST",
                             .url = s->url,
                             .headers = headers,
                             .body = body,
                             .body_len = len,
                             .tls = &s->tls,
                             .timeout_s = s->timeout_s};
    for (long long attempt = 0;; attempt++) {
        tk_curl_response_t resp;
        int rc = tk_curl_do(s->http, &req, &resp);
        bool retryable;
        if (rc != 0) {
            snprintf(err, errlen, "splunk: %s", resp.error);
            retryable = true;
        } else if (resp.status >= 200 && resp.status < 300) {
            tk_curl_response_free(&resp);
            return 0;
        } else {
            snprintf(err, errlen, "splunk: HTTP %ld from %s: %.200s", resp.status, s->url,
                     resp.body);
            retryable = resp.status >= 500 || resp.status == 429;
        }
        bool permanent = rc == 0 && tk_curl_status_permanent(resp.status);
        tk_curl_response_free(&resp);
        if (permanent)
            return -2;
        if (!retryable || attempt >= s->max_retries)
            return -1;
        backoff_sleep((int)attempt);
    }
}

static int splunk_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    splunk_t *s = state;
    if (!s->http && !(s->http = tk_curl_new())) {
        snprintf(err, errlen, "splunk: cannot create an HTTP client");
        return -1;
    }
    char *buf = NULL;
    size_t blen = 0;
    int rc = 0;
    for (size_t i = 0; i < batch->n && rc == 0; i++) {
        size_t len;
        char *ev = event_json(s, batch->items[i].rec, &len);
        if (!s->batch) {
            rc = send_body(s, ev, len, err, errlen);
        } else {
            if (blen > 0 && (long long)(blen + len) > s->batch_max) {
                rc = send_body(s, buf, blen, err, errlen);
                blen = 0;
            }
            buf = tk_xrealloc(buf, blen + len + 1);
            memcpy(buf + blen, ev, len);
            blen += len;
        }
        free(ev);
    }
    if (rc == 0 && blen > 0)
        rc = send_body(s, buf, blen, err, errlen);
    free(buf);
    return rc;
}

const pump_sink_ops_t pump_sink_splunk = {
    .type = "splunk",
    .create = splunk_create,
    .write = splunk_write,
    .destroy = splunk_destroy,
};
