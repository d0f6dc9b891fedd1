/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event handlers and the events thread. Workers only build a small JSON meta (when a handler
 * wants the event) and post it; everything slow (templates, Redis, HTTP) happens here.
 */
#include "gw_events.h"

#include "gw_api.h"
#include "tk_httpc.h"
#include "tk_log.h"
#include "tk_mailbox.h"
#include "tk_redis.h"
#include "tk_template.h"

#include <ctype.h>
#include <event2/dns.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define QUEUE_MAX 1024        /* events waiting for the thread */
#define INFLIGHT_MAX 256      /* webhook sends at once */
#define WEBHOOK_TIMEOUT 30000 /* ms, Tyk's http.Client timeout */
#define DEDUPE_PREFIX "webhook.cache."

typedef struct handler {
    gw_event_t ev;
    bool webhook;
    char *prefix;          /* log handler */
    char *method, *target; /* webhook */
    tk_tmpl_t *tmpl;
    char *headers; /* "Name: value\r\n" lines sent with every call */
    int64_t event_timeout;
} handler_t;

struct gw_events {
    _Atomic int refs;
    uint32_t mask;
    handler_t *hs;
    size_t nhs;
};

/* The body Tyk renders when no template is given (its templates/default_webhook.json, as
 * valid JSON); used when <template_path>/default_webhook.json cannot be read. */
static const char default_template[] =
    "{{ if eq .Type \"HostDown\" \"HostUp\" }}\n{\n    \"event\": \"{{.Type}}\",\n"
    "    \"message\": \"{{.Meta.Message}}\",\n    \"url\": \"{{.Meta.HostInfo.CheckURL}}\",\n"
    "    \"response_code\": \"{{.Meta.HostInfo.ResponseCode}}\",\n"
    "    \"tcp_error\": \"{{.Meta.HostInfo.IsTCPError}}\",\n"
    "    \"host\": \"{{.Meta.HostInfo.MetaData.host_name}}\",\n"
    "    \"api_id\": \"{{.Meta.HostInfo.MetaData.api_id}}\"\n}\n"
    "{{ else if eq .Type \"TriggerExceeded\" }}\n{\n    \"event\": \"{{.Type}}\",\n"
    "    \"message\": \"{{.Meta.Message}}\",\n    \"org\": \"{{.Meta.Org}}\",\n"
    "    \"key\": \"{{.Meta.Key}}\",\n    \"trigger_limit\": \"{{.Meta.TriggerLimit}}\"\n}\n"
    "{{ else if eq .Type \"BreakerTriggered\" }}\n{\n    \"event\": \"{{.Type}}\",\n"
    "    \"message\": \"{{.Meta.Message}}\",\n    \"api_id\": \"{{.Meta.APIID}}\",\n"
    "    \"path\": \"{{.Meta.Path}}\",\n    \"Status\": \"{{.Meta.CircuitEvent}}\"\n}\n"
    "{{ else }}\n{\n    \"event\": \"{{.Type}}\",\n    \"message\": \"{{.Meta.Message}}\",\n"
    "    \"path\": \"{{.Meta.Path}}\",\n    \"origin\": \"{{.Meta.Origin}}\",\n"
    "    \"key\": \"{{.Meta.Key}}\"\n}\n{{ end }}\n";

/* ---- the process-wide state ---------------------------------------------------------------- */

typedef struct job {
    gw_events_t *set; /* NULL: stop */
    gw_event_t ev;
    json_t *meta;
    char ts[96];
} job_t;

typedef struct send {
    gw_events_t *set;
    const handler_t *h;
    char *body;
    size_t len;
    tk_httpc_t *http;
    struct send *prev, *next;
} send_t;

static struct {
    pthread_t th;
    bool started;
    struct event_base *base;
    tk_mailbox_t *mb;
    tk_redis_t *redis;
    struct evdns_base *dns;
    SSL_CTX *ssl;
    bool verify;
    bool canonical; /* header_map names canonicalised (not ignore_canonical_mime_header_key) */
    bool stopping;
    gw_events_t *global, *monitor;
    bool monitor_user_keys, monitor_org_keys;
    double global_trigger;
    send_t *sends;
    size_t inflight;
    _Atomic size_t queued;
    _Atomic uint64_t dropped;
} E = {.canonical = true};

static void note_drop(const char *what, gw_event_t ev)
{
    uint64_t n = atomic_fetch_add(&E.dropped, 1) + 1;
    if (n == 1 || n % 100 == 0)
        tk_log_error("events: %s, %s event dropped (%llu dropped since start)", what,
                     gw_event_name(ev), (unsigned long long)n);
}

/* ---- handler construction ------------------------------------------------------------------ */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = tk_xrealloc(buf, cap);
        }
        memcpy(buf + len, tmp, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = tk_xcalloc(1, 1);
    buf[len] = '\0';
    return buf;
}

static tk_tmpl_t *compile_file(const char *path, const char *what)
{
    char *src = read_file(path);
    if (!src)
        return NULL;
    char err[256];
    tk_tmpl_t *t = tk_tmpl_compile(src, strlen(src), err, sizeof(err));
    if (!t)
        tk_log_warn("webhooks: %s: template %s: %s", what, path, err);
    free(src);
    return t;
}

/* Go's CanonicalMIMEHeaderKey for plain token names. */
static void canonical(char *s)
{
    bool up = true;
    for (; *s; s++) {
        *s = (char)(up ? toupper((unsigned char)*s) : tolower((unsigned char)*s));
        up = *s == '-';
    }
}

static bool has_header(const char *lines, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = lines; p && *p;) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            return true;
        p = strstr(p, "\r\n");
        p = p ? p + 2 : NULL;
    }
    return false;
}

static char *header_lines(json_t *map, const char *ctype)
{
    struct evbuffer *b = evbuffer_new();
    bool ua = false;
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        const char *val = json_string_value(v);
        if (!val || !*k || strpbrk(k, ":\r\n") || strpbrk(val, "\r\n"))
            continue;
        char *name = tk_xstrdup(k);
        if (E.canonical)
            canonical(name);
        ua = ua || strcasecmp(name, "User-Agent") == 0;
        evbuffer_add_printf(b, "%s: %s\r\n", name, val);
        free(name);
    }
    if (!ua)
        evbuffer_add_printf(b, "User-Agent: Tyk-Hookshot\r\n");
    evbuffer_add(b, "", 1);
    size_t n = evbuffer_get_length(b);
    char *out = tk_xmalloc(n + 64);
    evbuffer_remove(b, out, n);
    evbuffer_free(b);
    if (ctype && *ctype && !has_header(out, "Content-Type"))
        snprintf(out + n - 1, 64, "Content-Type: %s\r\n", ctype);
    return out;
}

static const char *mstr(json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

static bool webhook_init(handler_t *h, json_t *meta, const char *template_dir, const char *what)
{
    static const char *const methods[] = {"GET", "PUT", "POST", "DELETE", "PATCH"};
    const char *m = mstr(meta, "method", "");
    for (size_t i = 0; i < 5 && !h->method; i++)
        if (strcasecmp(m, methods[i]) == 0)
            h->method = tk_xstrdup(methods[i]);
    if (!h->method) {
        h->method = tk_xstrdup("GET");
        tk_log_warn("webhooks: %s: Method must be one of GET, PUT, POST, DELETE or PATCH, "
                    "defaulting to GET",
                    what);
    }
    h->target = tk_xstrdup(mstr(meta, "target_path", ""));
    if (strncmp(h->target, "http://", 7) != 0 && strncmp(h->target, "https://", 8) != 0)
        tk_log_error("webhooks: %s: Init failed for this webhook, invalid URL, URL must be "
                     "absolute: %s",
                     what, h->target);
    json_t *to = json_object_get(meta, "event_timeout");
    h->event_timeout = json_is_number(to) ? (int64_t)json_number_value(to) : 0;
    const char *tp = mstr(meta, "template_path", "");
    const char *ctype = "";
    if (*tp) {
        h->tmpl = compile_file(tp, what);
        if (!h->tmpl)
            tk_log_warn("webhooks: %s: Custom template load failure, using default: %s", what, tp);
        size_t n = strlen(tp);
        if (n >= 5 && strcmp(tp + n - 5, ".json") == 0)
            ctype = "application/json";
    }
    if (!h->tmpl) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/default_webhook.json",
                 template_dir && *template_dir ? template_dir : "templates");
        h->tmpl = compile_file(path, what);
        if (!h->tmpl) {
            char err[256];
            h->tmpl = tk_tmpl_compile(default_template, strlen(default_template), err, sizeof(err));
        }
        ctype = "application/json";
    }
    h->headers = header_lines(json_object_get(meta, "header_map"), ctype);
    return h->tmpl != NULL;
}

static void handler_clear(handler_t *h)
{
    free(h->prefix);
    free(h->method);
    free(h->target);
    free(h->headers);
    tk_tmpl_free(h->tmpl);
}

static bool handler_init(handler_t *h, gw_event_t ev, json_t *conf, const char *template_dir,
                         const char *what)
{
    memset(h, 0, sizeof(*h));
    h->ev = ev;
    const char *name = mstr(conf, "handler_name", "");
    json_t *meta = json_object_get(conf, "handler_meta");
    if (json_is_true(json_object_get(meta, "disabled"))) {
        tk_log_info("events: %s: skipping disabled %s", what, name);
        return false;
    }
    if (strcmp(name, "eh_log_handler") == 0) {
        h->prefix = tk_xstrdup(mstr(meta, "prefix", ""));
        return true;
    }
    if (strcmp(name, "eh_web_hook_handler") == 0) {
        h->webhook = true;
        if (webhook_init(h, meta, template_dir, what))
            return true;
        handler_clear(h);
        return false;
    }
    tk_log_error("events: %s: Failed to init event handler: handler %s not supported", what, name);
    return false;
}

gw_events_t *gw_events_from_json(json_t *event_handlers, const char *template_dir, const char *what)
{
    json_t *events = json_object_get(event_handlers, "events");
    if (!json_is_object(events) || json_object_size(events) == 0)
        return NULL;
    gw_events_t *e = tk_xcalloc(1, sizeof(*e));
    atomic_init(&e->refs, 1);
    const char *name;
    json_t *list;
    json_object_foreach(events, name, list)
    {
        int ev = gw_event_parse(name);
        if (ev < 0) {
            tk_log_warn("events: %s: unknown event %s ignored", what, name);
            continue;
        }
        size_t i;
        json_t *conf;
        json_array_foreach(list, i, conf)
        {
            e->hs = tk_xrealloc(e->hs, (e->nhs + 1) * sizeof(*e->hs));
            if (handler_init(&e->hs[e->nhs], (gw_event_t)ev, conf, template_dir, what)) {
                e->mask |= 1u << ev;
                e->nhs++;
            }
        }
    }
    if (e->nhs == 0) {
        free(e->hs);
        free(e);
        return NULL;
    }
    return e;
}

void gw_events_unref(gw_events_t *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    for (size_t i = 0; i < e->nhs; i++)
        handler_clear(&e->hs[i]);
    free(e->hs);
    free(e);
}

/* ---- the events thread --------------------------------------------------------------------- */

static void send_free(send_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else if (E.sends == s)
        E.sends = s->next;
    if (s->next)
        s->next->prev = s->prev;
    E.inflight--;
    gw_events_unref(s->set);
    free(s->body);
    free(s);
}

static void on_sent(int status, const char *body, size_t len, const char *err, void *arg)
{
    TK_UNUSED(body);
    TK_UNUSED(len);
    send_t *s = arg;
    s->http = NULL;
    if (status == 0)
        tk_log_error("webhooks: Webhook request failed: %s: %s", s->h->target, err ? err : "");
    else if (status < 200 || status > 299)
        tk_log_error("webhooks: Request to webhook failed: %s responseCode=%d", s->h->target,
                     status);
    else
        tk_log_debug("webhooks: %s answered %d", s->h->target, status);
    send_free(s);
}

static void http_start(send_t *s)
{
    tk_httpc_opts_t o = {
        .base = E.base,
        .dns = E.dns,
        .ssl_ctx = E.ssl,
        .verify_host = E.verify,
        .timeout_ms = WEBHOOK_TIMEOUT,
        .max_body = 64 * 1024,
        .method = s->h->method,
        .headers = s->h->headers,
        .body = s->body,
        .body_len = s->len,
    };
    s->http = tk_httpc_get(&o, s->h->target, on_sent, s);
    if (!s->http) {
        tk_log_error("webhooks: Failed to create request object: %s", s->h->target);
        send_free(s);
    }
}

static void on_dedupe(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    send_t *s = arg;
    if (E.stopping) {
        send_free(s);
        return;
    }
    if (reply && reply->type == REDIS_REPLY_NIL) { /* fired within event_timeout */
        tk_log_debug("webhooks: duplicate event for %s skipped", s->h->target);
        send_free(s);
        return;
    }
    http_start(s); /* first one, or Redis cannot tell: send (as Tyk does) */
}

static void run_webhook(gw_events_t *set, const handler_t *h, json_t *msg, gw_event_t ev)
{
    if (E.inflight >= INFLIGHT_MAX) {
        note_drop("too many webhook calls in flight", ev);
        return;
    }
    char *out = NULL, err[256];
    size_t outlen = 0;
    if (tk_tmpl_exec(h->tmpl, msg, NULL, &out, &outlen, err, sizeof(err)) != TK_OK) {
        tk_log_error("webhooks: Webhook template rendering error: %s", err);
        free(out);
        return;
    }
    send_t *s = tk_xcalloc(1, sizeof(*s));
    atomic_fetch_add(&set->refs, 1);
    s->set = set;
    s->h = h;
    s->body = out;
    s->len = outlen;
    s->next = E.sends;
    if (E.sends)
        E.sends->prev = s;
    E.sends = s;
    E.inflight++;
    char sum[33];
    if (gw_webhook_checksum(h->method, h->target, out, outlen, sum) != TK_OK) {
        http_start(s);
        return;
    }
    char key[64], ttl[32];
    snprintf(key, sizeof(key), DEDUPE_PREFIX "%s", sum);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)h->event_timeout);
    /* SET NX makes check-and-mark one step, so concurrent gateways agree on who sends. */
    const char *argv[] = {"SET", key, "1", "NX", "EX", ttl};
    int argc = h->event_timeout > 0 ? 6 : 4;
    if (!E.redis || tk_redis_cmd_argv(E.redis, on_dedupe, s, argc, argv, NULL) != TK_OK)
        http_start(s);
}

static void on_job(void *msg, void *arg)
{
    TK_UNUSED(arg);
    job_t *j = msg;
    if (!j->set) {
        free(j);
        event_base_loopbreak(E.base);
        return;
    }
    atomic_fetch_sub(&E.queued, 1);
    json_t *m = NULL;
    for (size_t i = 0; i < j->set->nhs; i++) {
        const handler_t *h = &j->set->hs[i];
        if (h->ev != j->ev)
            continue;
        if (!h->webhook) {
            char *line = gw_event_log_line(h->prefix, j->ev, j->meta);
            tk_log_warn("%s", line);
            free(line);
            continue;
        }
        if (!m)
            m = gw_event_message(j->ev, j->meta, j->ts);
        run_webhook(j->set, h, m, j->ev);
    }
    json_decref(m);
    json_decref(j->meta);
    gw_events_unref(j->set);
    free(j);
}

static void drop_job(void *msg)
{
    job_t *j = msg;
    json_decref(j->meta);
    gw_events_unref(j->set);
    free(j);
}

static void *thread_main(void *arg)
{
    TK_UNUSED(arg);
    event_base_dispatch(E.base);
    E.stopping = true;
    for (send_t *s = E.sends, *next; s; s = next) {
        next = s->next;
        if (s->http) { /* its callback will not run */
            tk_httpc_cancel(s->http);
            send_free(s);
        }
    }
    tk_redis_free(E.redis); /* sends waiting on Redis complete here (stopping: freed) */
    E.redis = NULL;
    while (E.sends)
        send_free(E.sends);
    /* Let cancelled requests release their connections. */
    for (int i = 0; i < 4; i++)
        event_base_loop(E.base, EVLOOP_NONBLOCK);
    tk_mailbox_free(E.mb, drop_job);
    E.mb = NULL;
    evdns_base_free(E.dns, 0);
    event_base_free(E.base);
    return NULL;
}

static gw_events_t *monitor_handlers(const gw_conf_t *conf)
{
    if (!conf->monitor_enable_trigger_monitors)
        return NULL;
    json_t *meta = json_pack(
        "{s:s, s:s, s:s, s:I}", "method",
        conf->monitor_configuration_method ? conf->monitor_configuration_method : "", "target_path",
        conf->monitor_configuration_target_path ? conf->monitor_configuration_target_path : "",
        "template_path",
        conf->monitor_configuration_template_path ? conf->monitor_configuration_template_path : "",
        "event_timeout", (json_int_t)conf->monitor_configuration_event_timeout);
    if (json_is_object(conf->monitor_configuration_header_map))
        json_object_set(meta, "header_map", conf->monitor_configuration_header_map);
    json_t *eh = json_pack("{s:{s:[{s:s, s:o}]}}", "events", "TriggerExceeded", "handler_name",
                           "eh_web_hook_handler", "handler_meta", meta);
    gw_events_t *e = gw_events_from_json(eh, conf->template_path, "monitor");
    json_decref(eh);
    return e;
}

int gw_events_start(gw_server_t *srv)
{
    const gw_conf_t *conf = srv->conf;
    E.canonical = !conf->ignore_canonical_mime_header_key;
    E.global = gw_events_from_json(conf->event_handlers, conf->template_path, "tyk.conf");
    E.monitor = monitor_handlers(conf);
    E.monitor_user_keys = conf->monitor_monitor_user_keys;
    E.monitor_org_keys = conf->monitor_monitor_org_keys;
    E.global_trigger = conf->monitor_global_trigger_limit;
    E.base = event_base_new();
    if (!E.base)
        return TK_ERROR;
    E.mb = tk_mailbox_new(E.base, on_job, NULL);
    E.dns = evdns_base_new(E.base,
                           EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    E.verify = !conf->proxy_ssl_insecure_skip_verify;
    E.ssl = E.verify ? srv->up_ssl_verify : srv->up_ssl_noverify;
    tk_redis_opts_t ro;
    gw_redis_opts(conf, &ro);
    E.redis = tk_redis_new(E.base, &ro, NULL, NULL);
    if (pthread_create(&E.th, NULL, thread_main, NULL) != 0) {
        tk_log_error("events: cannot start the events thread");
        return TK_ERROR;
    }
    E.started = true;
    return TK_OK;
}

void gw_events_stop(void)
{
    if (!E.started)
        return;
    job_t *stop = tk_xcalloc(1, sizeof(*stop));
    tk_mailbox_post(E.mb, stop);
    pthread_join(E.th, NULL);
    E.started = false;
    gw_events_unref(E.global);
    gw_events_unref(E.monitor);
    E.global = E.monitor = NULL;
}

/* ---- firing -------------------------------------------------------------------------------- */

static void post(gw_events_t *set, gw_event_t ev, json_t *meta)
{
    if (!E.started) {
        json_decref(meta);
        return;
    }
    if (atomic_fetch_add(&E.queued, 1) >= QUEUE_MAX) {
        atomic_fetch_sub(&E.queued, 1);
        json_decref(meta);
        note_drop("event queue full", ev);
        return;
    }
    job_t *j = tk_xcalloc(1, sizeof(*j));
    atomic_fetch_add(&set->refs, 1);
    j->set = set;
    j->ev = ev;
    j->meta = meta;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    gw_event_timestamp((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, j->ts,
                       sizeof(j->ts));
    tk_mailbox_post(E.mb, j);
}

static bool set_wants(const gw_events_t *e, gw_event_t ev)
{
    return e && (e->mask & (1u << ev));
}

bool gw_event_wanted(const gw_api_t *api, gw_event_t ev)
{
    return api && set_wants(api->events, ev);
}

void gw_event_fire(const gw_api_t *api, gw_event_t ev, json_t *meta)
{
    if (!gw_event_wanted(api, ev)) {
        json_decref(meta);
        return;
    }
    post(api->events, ev, meta);
}

void gw_event_fire_system(gw_event_t ev, json_t *meta)
{
    if (!set_wants(E.global, ev)) {
        json_decref(meta);
        return;
    }
    post(E.global, ev, meta);
}

bool gw_events_monitor_on(bool org_keys, double *global_trigger)
{
    *global_trigger = E.global_trigger;
    return E.monitor && (org_keys ? E.monitor_org_keys : E.monitor_user_keys);
}

void gw_events_monitor_post(json_t *meta)
{
    if (E.monitor)
        post(E.monitor, GW_EV_TRIGGER_EXCEEDED, meta);
    else
        json_decref(meta);
}
