/* SPDX-License-Identifier: Apache-2.0 */
/* pump.conf type "prometheus": keeps Tyk Pump's metrics and serves them for scraping.
 *
 * Metrics (as tyk-pump's prometheus pump defines them):
 *   tyk_http_status{code,api}                    counter  "HTTP status codes per API"
 *   tyk_http_status_per_path{code,api,path,method} counter "HTTP status codes per API path and
 * method" tyk_http_status_per_key{code,key}            counter  "HTTP status codes per API key"
 *   tyk_http_status_per_oauth_client{code,client_id} counter "HTTP status codes per oAuth client
 * id" tyk_latency{type,api}                        histogram, type = total (RequestTime), upstream
 * (Latency.Upstream), gateway (Latency.Gateway) "api" is the API ID; "path" is "unknown" unless
 * track_all_paths or the record's TrackPath. Plus custom_metrics (counter or histogram of
 * RequestTime with "type" first, always "total").
 *
 * The endpoint is served from this sink's own thread with an evhttp server on its own event base;
 * the registry mutex keeps a scrape from seeing half a batch. The port is bound in create(): it is
 * local, and a port already in use is a configuration error the operator must see at start-up. */
#include "pump_prom_registry.h"
#include "pump_sink.h"
#include "sink_gofmt.h"
#include "tk_log.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static const double tyk_buckets[] = {1,   2,   5,    7,    10,   15,    20,    25,   30,
                                     40,  50,  60,   70,   80,   90,    100,   200,  300,
                                     400, 500, 1000, 2000, 5000, 10000, 30000, 60000};

/* Label names a metric may use, besides tag_<name>. */
static const char *const known_labels[] = {
    "host",
    "method",
    "path",
    "code",
    "response_code",
    "api_key",
    "key",
    "time_stamp",
    "api_version",
    "api_name",
    "api",
    "api_id",
    "org_id",
    "client_id",
    "oauth_id",
    "request_time",
    "latency_total",
    "latency_upstream",
    "latency_gateway",
    "ip_address",
    "alias",
    "mcp_method",
    "mcp_primitive_type",
    "mcp_primitive_name",
};

/* Tag prefixes that carry keys or Tyk bookkeeping and must never become labels. */
static const char *const reserved_tags[] = {"key", "org", "api", "pol", "dev", "trace_id", "trace"};

typedef struct prom_metric {
    prom_family_t *fam;
    prom_kind_t kind;
    bool latency;        /* tyk_latency: one observation per latency type */
    char **value_labels; /* labels whose values come from the record ("type" excluded) */
    size_t nvalue_labels;
    bool obfuscate_keys;
    bool mcp_only;
} prom_metric_t;

typedef struct prom_agg {
    char **values; /* full label values, "type" first */
    uint64_t total, hits;
    prom_metric_t *metric;
} prom_agg_t;

typedef struct prom_sink {
    prom_registry_t *reg;
    prom_metric_t *metrics;
    size_t nmetrics;
    bool track_all_paths;
    bool aggregate;
    char *path;
    /* HTTP server thread */
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    int stop_pipe[2];
    int listen_fd;
    pthread_t thread;
    bool thread_started;
} prom_sink_t;

static bool valid_name(const char *s, bool colon)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                     (colon && *p == ':');
        if (!alpha && !(p != s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

static const char *check_label(const char *label, bool histogram)
{
    if (histogram && strcmp(label, "type") == 0)
        return NULL;
    if (strncmp(label, "tag_", 4) == 0) {
        for (size_t i = 0; i < TK_ARRAY_LEN(reserved_tags); i++)
            if (strcmp(label + 4, reserved_tags[i]) == 0)
                return "reserved tag name";
        return valid_name(label, false) ? NULL : "not a valid Prometheus label name";
    }
    for (size_t i = 0; i < TK_ARRAY_LEN(known_labels); i++)
        if (strcmp(label, known_labels[i]) == 0)
            return NULL;
    return "unknown label";
}

static void metric_free(prom_metric_t *m)
{
    for (size_t i = 0; i < m->nvalue_labels; i++)
        free(m->value_labels[i]);
    free(m->value_labels);
}

/* Registers one metric. @labels as configured; histograms get "type" moved to the front. */
static int metric_add(prom_sink_t *s, const char *name, const char *help, prom_kind_t kind,
                      const char *const *labels, size_t nlabels, const double *buckets,
                      size_t nbuckets, bool obfuscate, bool mcp_only, char *err, size_t errlen)
{
    const char **all = tk_xcalloc(nlabels + 1, sizeof(char *));
    size_t nall = 0;
    if (kind == PROM_HISTOGRAM)
        all[nall++] = "type";
    prom_metric_t m = {.kind = kind, .obfuscate_keys = obfuscate, .mcp_only = mcp_only};
    m.value_labels = tk_xcalloc(nlabels + 1, sizeof(char *));
    for (size_t i = 0; i < nlabels; i++) {
        if (kind == PROM_HISTOGRAM && strcmp(labels[i], "type") == 0)
            continue;
        for (size_t j = 0; j < nall; j++) {
            if (strcmp(all[j], labels[i]) == 0) {
                snprintf(err, errlen, "prometheus metric %s: label %s given twice", name,
                         labels[i]);
                goto fail;
            }
        }
        all[nall++] = labels[i];
        m.value_labels[m.nvalue_labels++] = tk_xstrdup(labels[i]);
    }
    m.latency = strcmp(name, "tyk_latency") == 0 && kind == PROM_HISTOGRAM;
    m.fam = prom_family_add(s->reg, name, help, kind, all, nall, buckets, nbuckets);
    if (!m.fam) {
        snprintf(err, errlen, "prometheus metric %s is defined twice", name);
        goto fail;
    }
    free(all);
    s->metrics = tk_xrealloc(s->metrics, (s->nmetrics + 1) * sizeof(*s->metrics));
    s->metrics[s->nmetrics++] = m;
    return 0;
fail:
    free(all);
    metric_free(&m);
    return -1;
}

static bool disabled(const json_t *list, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) if (json_is_string(v) &&
                                       strcmp(json_string_value(v), name) == 0) return true;
    return false;
}

static int add_base_metrics(prom_sink_t *s, const json_t *disabled_list, char *err, size_t errlen)
{
    static const struct {
        const char *name, *help;
        prom_kind_t kind;
        const char *labels[4];
        size_t nlabels;
    } base[] = {
        {"tyk_http_status", "HTTP status codes per API", PROM_COUNTER, {"code", "api"}, 2},
        {"tyk_http_status_per_path",
         "HTTP status codes per API path and method",
         PROM_COUNTER,
         {"code", "api", "path", "method"},
         4},
        {"tyk_http_status_per_key",
         "HTTP status codes per API key",
         PROM_COUNTER,
         {"code", "key"},
         2},
        {"tyk_http_status_per_oauth_client",
         "HTTP status codes per oAuth client id",
         PROM_COUNTER,
         {"code", "client_id"},
         2},
        {"tyk_latency",
         "Latency added by Tyk, Total Latency, upstream latency, and gateway latency per API",
         PROM_HISTOGRAM,
         {"type", "api"},
         2},
    };
    for (size_t i = 0; i < TK_ARRAY_LEN(base); i++) {
        if (disabled(disabled_list, base[i].name))
            continue;
        if (metric_add(s, base[i].name, base[i].help, base[i].kind, base[i].labels, base[i].nlabels,
                       tyk_buckets, TK_ARRAY_LEN(tyk_buckets), false, false, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int add_custom_metric(prom_sink_t *s, size_t idx, const json_t *cm, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(cm, "name"));
    const char *type = json_string_value(json_object_get(cm, "metric_type"));
    const json_t *labels = json_object_get(cm, "labels");
    const json_t *buckets = json_object_get(cm, "buckets");
    if (!json_is_object(cm) || !name || !valid_name(name, true)) {
        snprintf(err, errlen, "custom_metrics[%zu].name: missing or not a valid metric name", idx);
        return -1;
    }
    prom_kind_t kind;
    if (type && strcmp(type, "counter") == 0) {
        kind = PROM_COUNTER;
    } else if (type && strcmp(type, "histogram") == 0) {
        kind = PROM_HISTOGRAM;
    } else {
        snprintf(err, errlen, "custom_metrics[%zu].metric_type: invalid metric type %s", idx,
                 type ? type : "(none)");
        return -1;
    }
    if (labels && !json_is_array(labels)) {
        snprintf(err, errlen, "custom_metrics[%zu].labels: not an array", idx);
        return -1;
    }
    size_t nl = json_array_size(labels);
    const char **lv = tk_xcalloc(nl + 1, sizeof(char *));
    for (size_t i = 0; i < nl; i++) {
        lv[i] = json_string_value(json_array_get(labels, i));
        const char *why = lv[i] ? check_label(lv[i], kind == PROM_HISTOGRAM) : "not a string";
        if (why) {
            snprintf(err, errlen, "custom_metrics[%zu].labels[%zu] (%s): %s", idx, i,
                     lv[i] ? lv[i] : "?", why);
            free(lv);
            return -1;
        }
    }
    /* Tyk documents buckets but its code always uses the default set; we honour them. */
    size_t nb = json_array_size(buckets);
    double *bv = tk_xcalloc(nb + 1, sizeof(double));
    for (size_t i = 0; i < nb; i++) {
        const json_t *b = json_array_get(buckets, i);
        if (!json_is_number(b) || (i && json_number_value(b) <= bv[i - 1])) {
            snprintf(err, errlen, "custom_metrics[%zu].buckets: must be increasing numbers", idx);
            free(lv);
            free(bv);
            return -1;
        }
        bv[i] = json_number_value(b);
    }
    const char *help = json_string_value(json_object_get(cm, "help"));
    int rc = metric_add(s, name, help ? help : "", kind, lv, nl, nb ? bv : tyk_buckets,
                        nb ? nb : TK_ARRAY_LEN(tyk_buckets),
                        json_is_true(json_object_get(cm, "obfuscate_api_keys")),
                        json_is_true(json_object_get(cm, "mcp_only")), err, errlen);
    free(lv);
    free(bv);
    return rc;
}

/* ---- label values ---- */

static char *fmt_i64(int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return tk_xstrdup(buf);
}

static char *tag_value(const tk_analytics_record_t *rec, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < rec->n_tags; i++) {
        tk_str_t t = rec->tags[i];
        if (t.len > nl && memcmp(t.p, name, nl) == 0 && t.p[nl] == '-')
            return tk_xstrndup(t.p + nl + 1, t.len - nl - 1);
    }
    return tk_xstrdup("");
}

/* The value of @label for @rec (owned by the caller). @path is the path after "unknown" masking. */
static char *label_value(const char *label, const tk_analytics_record_t *rec, tk_str_t path,
                         bool obfuscate)
{
    if (strcmp(label, "host") == 0)
        return gofmt_strdup(rec->host);
    if (strcmp(label, "method") == 0)
        return gofmt_strdup(rec->method);
    if (strcmp(label, "path") == 0)
        return gofmt_strdup(path);
    if (strcmp(label, "code") == 0 || strcmp(label, "response_code") == 0)
        return fmt_i64(rec->response_code);
    if (strcmp(label, "api_key") == 0 || strcmp(label, "key") == 0) {
        if (!obfuscate)
            return gofmt_strdup(rec->api_key);
        if (rec->api_key.len <= 4)
            return tk_xstrdup("--");
        char *out = tk_xmalloc(9);
        memcpy(out, "****", 4);
        memcpy(out + 4, rec->api_key.p + rec->api_key.len - 4, 4);
        out[8] = '\0';
        return out;
    }
    if (strcmp(label, "time_stamp") == 0) {
        char buf[96];
        gofmt_time_string(rec->timestamp.sec, rec->timestamp.nsec, buf, sizeof(buf));
        return tk_xstrdup(buf);
    }
    if (strcmp(label, "api_version") == 0)
        return gofmt_strdup(rec->api_version);
    if (strcmp(label, "api_name") == 0)
        return gofmt_strdup(rec->api_name);
    if (strcmp(label, "api") == 0 || strcmp(label, "api_id") == 0)
        return gofmt_strdup(rec->api_id);
    if (strcmp(label, "org_id") == 0)
        return gofmt_strdup(rec->org_id);
    if (strcmp(label, "client_id") == 0 || strcmp(label, "oauth_id") == 0)
        return gofmt_strdup(rec->oauth_id);
    if (strcmp(label, "request_time") == 0)
        return fmt_i64(rec->request_time);
    if (strcmp(label, "latency_total") == 0)
        return fmt_i64(rec->latency.total);
    if (strcmp(label, "latency_upstream") == 0)
        return fmt_i64(rec->latency.upstream);
    if (strcmp(label, "latency_gateway") == 0)
        return fmt_i64(rec->latency.gateway);
    if (strcmp(label, "ip_address") == 0)
        return gofmt_strdup(rec->ip_address);
    if (strcmp(label, "alias") == 0)
        return gofmt_strdup(rec->alias);
    if (strncmp(label, "tag_", 4) == 0)
        return tag_value(rec, label + 4);
    return tk_xstrdup(""); /* mcp_*: MCP stats are not decoded here (see report) */
}

/* ---- observations ---- */

static void agg_add(prom_agg_t **aggs, size_t *naggs, prom_metric_t *m, char **values, int64_t v)
{
    size_t n = m->nvalue_labels + 1;
    for (size_t i = 0; i < *naggs; i++) {
        prom_agg_t *a = &(*aggs)[i];
        if (a->metric != m)
            continue;
        size_t k = 0;
        while (k < n && strcmp(a->values[k], values[k]) == 0)
            k++;
        if (k == n) {
            a->total += (uint64_t)v;
            a->hits++;
            return;
        }
    }
    *aggs = tk_xrealloc(*aggs, (*naggs + 1) * sizeof(**aggs));
    prom_agg_t *a = &(*aggs)[(*naggs)++];
    a->metric = m;
    a->total = (uint64_t)v;
    a->hits = 1;
    a->values = tk_xcalloc(n, sizeof(char *));
    for (size_t k = 0; k < n; k++)
        a->values[k] = tk_xstrdup(values[k]);
}

static void observe(prom_sink_t *s, prom_metric_t *m, char **values, int64_t v, prom_agg_t **aggs,
                    size_t *naggs)
{
    if (s->aggregate)
        agg_add(aggs, naggs, m, values, v);
    else
        prom_histogram_observe(m->fam, (const char *const *)values, (double)v);
}

static void record_metric(prom_sink_t *s, prom_metric_t *m, const tk_analytics_record_t *rec,
                          tk_str_t path, prom_agg_t **aggs, size_t *naggs)
{
    if (m->mcp_only)
        return; /* MCP records are not recognised yet: an mcp_only metric stays empty */
    size_t off = m->kind == PROM_HISTOGRAM ? 1 : 0;
    char **values = tk_xcalloc(m->nvalue_labels + 1, sizeof(char *));
    for (size_t i = 0; i < m->nvalue_labels; i++)
        values[off + i] = label_value(m->value_labels[i], rec, path, m->obfuscate_keys);
    if (m->kind == PROM_COUNTER) {
        prom_counter_add(m->fam, (const char *const *)values, 1);
    } else if (m->latency) {
        const struct {
            const char *type;
            int64_t v;
        } lat[] = {{"total", rec->request_time},
                   {"upstream", rec->latency.upstream},
                   {"gateway", rec->latency.gateway}};
        for (size_t i = 0; i < TK_ARRAY_LEN(lat); i++) {
            values[0] = (char *)lat[i].type;
            observe(s, m, values, lat[i].v, aggs, naggs);
        }
    } else {
        values[0] = (char *)"total";
        observe(s, m, values, rec->request_time, aggs, naggs);
    }
    for (size_t i = 0; i < m->nvalue_labels; i++)
        free(values[off + i]);
    free(values);
}

static int prom_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    TK_UNUSED(err);
    TK_UNUSED(errlen);
    prom_sink_t *s = state;
    prom_agg_t *aggs = NULL;
    size_t naggs = 0;
    prom_registry_lock(s->reg);
    for (size_t i = 0; i < batch->n; i++) {
        const tk_analytics_record_t *rec = batch->items[i].rec;
        tk_str_t path = (s->track_all_paths || rec->track_path) ? rec->path : TK_STR("unknown");
        for (size_t m = 0; m < s->nmetrics; m++)
            record_metric(s, &s->metrics[m], rec, path, &aggs, &naggs);
    }
    /* aggregate_observations: one observation per label set per batch, of the mean (Tyk divides
     * integers, so the mean is truncated). */
    for (size_t i = 0; i < naggs; i++) {
        prom_agg_t *a = &aggs[i];
        prom_histogram_observe(a->metric->fam, (const char *const *)a->values,
                               (double)(a->total / a->hits));
        for (size_t k = 0; k < a->metric->nvalue_labels + 1; k++)
            free(a->values[k]);
        free(a->values);
    }
    prom_registry_unlock(s->reg);
    free(aggs);
    return 0;
}

/* ---- HTTP endpoint ---- */

static void on_metrics(struct evhttp_request *req, void *arg)
{
    prom_sink_t *s = arg;
    struct evbuffer *body = evbuffer_new();
    prom_registry_render(s->reg, body);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, HTTP_OK, "OK", body);
    evbuffer_free(body);
}

static void on_other(struct evhttp_request *req, void *arg)
{
    TK_UNUSED(arg);
    struct evbuffer *body = evbuffer_new();
    evbuffer_add_printf(body, "404 page not found\n");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
    evbuffer_free(body);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    event_base_loopbreak(arg);
}

static void *serve(void *arg)
{
    prom_sink_t *s = arg;
    event_base_dispatch(s->base);
    return NULL;
}

/* Splits Go's "host:port" / "[v6]:port" / ":port" and binds a listening socket. */
static int bind_listen(const char *addr, int *fd_out, char *err, size_t errlen)
{
    char host[256] = "";
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "listen_address %s: expected host:port", addr);
        return -1;
    }
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        addr++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        snprintf(err, errlen, "listen_address %s: host too long", addr);
        return -1;
    }
    memcpy(host, addr, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    int gai = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "listen_address %s: %s", addr, gai_strerror(gai));
        return -1;
    }
    int last_errno = 0;
    /* With no host, prefer the IPv6 wildcard (dual stack), as Go does. */
    for (int pass = 0; pass < 2; pass++) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if ((pass == 0) != (ai->ai_family == AF_INET6))
                continue;
            int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                last_errno = errno;
                continue;
            }
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) {
                freeaddrinfo(res);
                evutil_make_socket_nonblocking(fd);
                *fd_out = fd;
                return 0;
            }
            last_errno = errno;
            close(fd);
        }
    }
    freeaddrinfo(res);
    snprintf(err, errlen, "listen_address %s: %s", addr, strerror(last_errno));
    return -1;
}

static void prom_destroy(void *state)
{
    prom_sink_t *s = state;
    if (!s)
        return;
    if (s->thread_started) {
        ssize_t w = write(s->stop_pipe[1], "x", 1);
        TK_UNUSED(w);
        pthread_join(s->thread, NULL);
    }
    if (s->stop_ev)
        event_free(s->stop_ev);
    if (s->http)
        evhttp_free(s->http); /* closes the bound socket */
    else if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->base)
        event_base_free(s->base);
    if (s->stop_pipe[0] >= 0) {
        close(s->stop_pipe[0]);
        close(s->stop_pipe[1]);
    }
    for (size_t i = 0; i < s->nmetrics; i++)
        metric_free(&s->metrics[i]);
    free(s->metrics);
    prom_registry_free(s->reg);
    free(s->path);
    free(s);
}

static int prom_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    const json_t *meta = conf->meta;
    const char *addr = json_string_value(json_object_get(meta, "listen_address"));
    if (!addr || !*addr) {
        snprintf(err, errlen, "listen_address: not set");
        return -1;
    }
    prom_sink_t *s = tk_xcalloc(1, sizeof(*s));
    s->listen_fd = -1;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->reg = prom_registry_new();
    const char *path = json_string_value(json_object_get(meta, "path"));
    s->path = tk_xstrdup(path && *path ? path : "/metrics");
    s->aggregate = json_is_true(json_object_get(meta, "aggregate_observations"));
    s->track_all_paths = json_is_true(json_object_get(meta, "track_all_paths"));

    const json_t *dis = json_object_get(meta, "disabled_metrics");
    if (dis && !json_is_array(dis)) {
        snprintf(err, errlen, "disabled_metrics: not an array");
        goto fail;
    }
    if (add_base_metrics(s, dis, err, errlen) < 0)
        goto fail;
    /* custom_metrics is a list, or that list as a JSON string (how the env variable sets it). */
    const json_t *cms = json_object_get(meta, "custom_metrics");
    json_t *parsed = NULL;
    if (json_is_string(cms)) {
        parsed = json_loads(json_string_value(cms), 0, NULL);
        if (!json_is_array(parsed)) {
            json_decref(parsed);
            snprintf(err, errlen, "custom_metrics: not a JSON list of metrics");
            goto fail;
        }
        cms = parsed;
    } else if (cms && !json_is_array(cms) && !json_is_null(cms)) {
        snprintf(err, errlen, "custom_metrics: not a list");
        goto fail;
    }
    for (size_t i = 0; i < json_array_size(cms); i++) {
        if (add_custom_metric(s, i, json_array_get(cms, i), err, errlen) < 0) {
            json_decref(parsed);
            goto fail;
        }
    }
    json_decref(parsed);

    if (bind_listen(addr, &s->listen_fd, err, errlen) < 0)
        goto fail;
    if (pipe2(s->stop_pipe, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "prometheus: pipe: %s", strerror(errno));
        goto fail;
    }
    s->base = event_base_new();
    s->http = s->base ? evhttp_new(s->base) : NULL;
    if (!s->http || evhttp_accept_socket(s->http, s->listen_fd) != 0) {
        snprintf(err, errlen, "prometheus: cannot start the HTTP server");
        goto fail;
    }
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_cb(s->http, s->path, on_metrics, s);
    evhttp_set_gencb(s->http, on_other, s);
    s->stop_ev = event_new(s->base, s->stop_pipe[0], EV_READ, on_stop, s->base);
    event_add(s->stop_ev, NULL);
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        snprintf(err, errlen, "prometheus: cannot start the server thread");
        goto fail;
    }
    s->thread_started = true;
    tk_log(TK_LOG_INFO, "prometheus sink %s serving %s on %s", conf->name ? conf->name : "",
           s->path, addr);
    *state = s;
    return 0;
fail:
    prom_destroy(s);
    return -1;
}

const pump_sink_ops_t pump_sink_prometheus = {
    .type = "prometheus",
    .create = prom_create,
    .write = prom_write,
    .destroy = prom_destroy,
};
