/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service discovery lists (see gw_discovery.h). One slot per API id lives until shutdown, so a
 * worker holding an older generation's API can always reach it. The control thread alone
 * writes a slot; workers only read `snap` between a `readers` increment and decrement, and a
 * replaced list is freed once the control thread has seen `readers` at zero after the swap (no
 * reader can still hold it then: one that loaded it would have counted itself first).
 */
#include "gw_discovery.h"
#include "gw_discovery_parse.h"
#include "gw_http.h"
#include "gw_uptime.h"

#include "tk_httpc.h"
#include "tk_json.h"
#include "tk_log.h"

#include <event2/dns.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TTL_S 120      /* Tyk's service cache default */
#define RETRY_MS 1000          /* after a failed lookup, and between failure-driven lookups */
#define FETCH_TIMEOUT_MS 10000 /* Tyk's plain http.Get has none; a hung endpoint must not */
#define MAX_ANSWER (8u << 20)  /* a large Consul catalogue still fits */
#define SWEEP_MS 1000          /* retry freeing replaced lists readers still held */

/* An immutable target list as workers see it. */
typedef struct sd_snap {
    struct sd_snap *next_retired;
    size_t n;
    gw_target_t t[];
} sd_snap_t;

struct gw_sd_slot {
    /* shared with workers */
    _Atomic(sd_snap_t *) snap; /* NULL: no list yet */
    _Atomic unsigned readers;
    _Atomic bool kick;           /* an upstream failed: look again */
    _Atomic bool load_balancing; /* proxy.enable_load_balancing */
    _Atomic bool check_uptime;   /* proxy.check_host_against_uptime_tests */
    /* control thread only */
    struct gw_sd_slot *next;
    char *api_id;
    char *key; /* the service_discovery block and protocol, to notice changes */
    char *query_endpoint, *protocol;
    char *data_path, *parent_path, *port_path, *target_path;
    bool nested, target_list, returns_list;
    int64_t ttl_s;
    bool active, seen, changed;
    bool failing;      /* the current outage has been logged */
    bool empty_logged; /* the current run of empty answers has been logged */
    struct event *timer;
    tk_httpc_t *inflight;
    uint64_t last_start_ms, due_ms;
    sd_snap_t *retired;
};

static struct {
    gw_sd_slot_t *slots;
    gw_server_t *srv;
    struct event_base *base;
    struct evdns_base *dns;
    struct event *sweep_ev;
    struct event *_Atomic kick_ev;
    int64_t default_ttl_s;
} sd;

/* ---- lists ---- */

static void snap_free(sd_snap_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        gw_target_clear(&s->t[i]);
    free(s);
}

static void reclaim(gw_sd_slot_t *s)
{
    if (!s->retired || atomic_load(&s->readers) != 0)
        return;
    while (s->retired) {
        sd_snap_t *r = s->retired;
        s->retired = r->next_retired;
        snap_free(r);
    }
}

static void publish(gw_sd_slot_t *s, sd_snap_t *snap)
{
    sd_snap_t *old = atomic_exchange(&s->snap, snap);
    if (old) {
        old->next_retired = s->retired;
        s->retired = old;
    }
    reclaim(s);
}

static bool same_list(const sd_snap_t *a, const sd_snap_t *b)
{
    if (!a || !b || a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->t[i].url, b->t[i].url) != 0)
            return false;
    return true;
}

/* ---- fetching ---- */

static void fetch(gw_sd_slot_t *s);

static void schedule(gw_sd_slot_t *s, uint64_t delay_ms)
{
    if (!s->timer)
        return;
    s->due_ms = tk_now_ms() + delay_ms;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(s->timer, &tv);
}

static uint64_t ttl_ms(const gw_sd_slot_t *s)
{
    int64_t t = s->ttl_s > 0 ? s->ttl_s : sd.default_ttl_s;
    return (uint64_t)t * 1000;
}

/* The lookup failed or the answer was unusable: keep what workers have, try again soon. */
static void lookup_failed(gw_sd_slot_t *s, const char *why)
{
    sd_snap_t *cur = atomic_load(&s->snap);
    if (!s->failing) {
        if (cur)
            tk_log_error("[PROXY] [SERVICE DISCOVERY] api=%s Failed target lookup: %s; keeping the "
                         "last good list (%zu hosts)",
                         s->api_id, why, cur->n);
        else
            tk_log_error("[PROXY] [SERVICE DISCOVERY] api=%s Failed target lookup: %s; no list "
                         "yet, using target_url",
                         s->api_id, why);
        s->failing = true;
    } else {
        tk_log_debug("[PROXY] [SERVICE DISCOVERY] api=%s Failed target lookup: %s", s->api_id, why);
    }
    uint64_t t = ttl_ms(s);
    schedule(s, t < RETRY_MS ? t : RETRY_MS);
}

/* Hosts as Tyk reads them, made into targets; entries that do not form a URL are left out. */
static sd_snap_t *build_snap(gw_sd_slot_t *s, char **hosts, size_t n)
{
    sd_snap_t *snap = tk_xcalloc(1, sizeof(*snap) + n * sizeof(gw_target_t));
    for (size_t i = 0; i < n; i++) {
        char *url = gw_sd_host_url(hosts[i], s->protocol);
        const char *why = NULL;
        if (gw_target_parse(&snap->t[snap->n], url, &why) == TK_OK)
            snap->n++;
        else
            tk_log_warn("[PROXY] [SERVICE DISCOVERY] api=%s host \"%s\" left out: %s", s->api_id,
                        hosts[i], why);
        free(url);
    }
    return snap;
}

static void on_answer(int status, const char *body, size_t len, const char *err, void *arg)
{
    gw_sd_slot_t *s = arg;
    s->inflight = NULL;
    if (!status) { /* Tyk reads the body whatever the status; only transport errors fail */
        lookup_failed(s, err ? err : "no answer");
        return;
    }
    gw_sd_spec_t spec = {
        .use_nested_query = s->nested,
        .use_target_list = s->target_list,
        .endpoint_returns_list = s->returns_list,
        .data_path = s->data_path,
        .parent_path = s->parent_path,
        .port_path = s->port_path,
        .target_path = s->target_path,
    };
    char **hosts;
    size_t n;
    char why[128];
    if (gw_sd_extract(&spec, body, len, &hosts, &n, why, sizeof(why)) != TK_OK) {
        lookup_failed(s, why);
        return;
    }
    sd_snap_t *snap = build_snap(s, hosts, n);
    gw_sd_hosts_free(hosts, n);
    sd_snap_t *cur = atomic_load(&s->snap);
    if (n == 0) {
        /* Tyk: "Service Discovery returned empty host list! Returning last good set." With no
         * earlier set that is an empty one, which answers "all hosts are down". */
        if (!s->empty_logged)
            tk_log_warn("[PROXY] [SERVICE DISCOVERY] api=%s returned an empty host list; %s",
                        s->api_id,
                        cur && cur->n ? "keeping the last good list" : "no hosts to proxy to");
        s->empty_logged = true;
        s->failing = false;
        if (!cur)
            publish(s, snap);
        else
            snap_free(snap);
        schedule(s, ttl_ms(s));
        return;
    }
    if (snap->n == 0) {
        snap_free(snap);
        lookup_failed(s, "no usable host in the answer");
        return;
    }
    if (s->failing || !cur)
        tk_log_info("[PROXY] [SERVICE DISCOVERY] api=%s %zu host(s), first %s", s->api_id, snap->n,
                    snap->t[0].url);
    s->failing = s->empty_logged = false;
    if (same_list(cur, snap))
        snap_free(snap);
    else
        publish(s, snap);
    schedule(s, ttl_ms(s));
}

static void fetch(gw_sd_slot_t *s)
{
    if (s->inflight || !s->active || !sd.base)
        return;
    s->last_start_ms = tk_now_ms();
    s->due_ms = 0;
    evtimer_del(s->timer);
    tk_httpc_opts_t o = {
        .base = sd.base,
        .dns = sd.dns,
        .ssl_ctx = sd.srv->up_ssl_verify,
        .verify_host = true,
        .timeout_ms = FETCH_TIMEOUT_MS,
        .max_body = MAX_ANSWER,
    };
    s->inflight = tk_httpc_get(&o, s->query_endpoint, on_answer, s);
    if (!s->inflight)
        lookup_failed(s, "query_endpoint is not an http(s) URL");
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_sd_slot_t *s = arg;
    s->due_ms = 0;
    fetch(s);
    reclaim(s);
}

/* Upstream failures: look again now, but at most once a RETRY_MS per API. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    TK_UNUSED(arg);
    uint64_t now = tk_now_ms();
    for (gw_sd_slot_t *s = sd.slots; s; s = s->next) {
        if (!atomic_exchange(&s->kick, false) || !s->active || s->inflight)
            continue;
        uint64_t earliest = s->last_start_ms + RETRY_MS;
        if (now >= earliest) {
            tk_log_debug("[PROXY] [SERVICE DISCOVERY] api=%s upstream failed, refreshing host list",
                         s->api_id);
            fetch(s);
        } else if (!s->due_ms || s->due_ms > earliest) {
            schedule(s, earliest - now);
        }
    }
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    TK_UNUSED(arg);
    for (gw_sd_slot_t *s = sd.slots; s; s = s->next)
        reclaim(s);
}

/* ---- configuration ---- */

static void slot_clear_conf(gw_sd_slot_t *s)
{
    free(s->key);
    free(s->query_endpoint);
    free(s->protocol);
    free(s->data_path);
    free(s->parent_path);
    free(s->port_path);
    free(s->target_path);
}

static void slot_configure(gw_sd_slot_t *s, const json_t *c, const char *protocol, char *key)
{
    slot_clear_conf(s);
    s->key = key;
    s->query_endpoint = tk_json_strdup(c, "query_endpoint", "");
    s->protocol = tk_xstrdup(protocol);
    s->data_path = tk_json_strdup(c, "data_path", "");
    s->parent_path = tk_json_strdup(c, "parent_data_path", "");
    s->port_path = tk_json_strdup(c, "port_data_path", "");
    s->target_path = tk_json_strdup(c, "target_path", "");
    s->nested = tk_json_bool(c, "use_nested_query", false);
    s->target_list = tk_json_bool(c, "use_target_list", false);
    s->returns_list = tk_json_bool(c, "endpoint_returns_list", false);
    /* Tyk: cache_timeout when the cache is on and it is set, else the gateway default. */
    int64_t t = tk_json_int(c, "cache_timeout", 0);
    s->ttl_s = !tk_json_bool(c, "cache_disabled", false) && t > 0 ? t : 0;
}

static gw_sd_slot_t *slot_for(const char *api_id)
{
    for (gw_sd_slot_t *s = sd.slots; s; s = s->next)
        if (strcmp(s->api_id, api_id) == 0)
            return s;
    gw_sd_slot_t *s = tk_xcalloc(1, sizeof(*s));
    s->api_id = tk_xstrdup(api_id);
    s->next = sd.slots;
    sd.slots = s;
    return s;
}

static void slot_activate(gw_sd_slot_t *s)
{
    if (!sd.base)
        return;
    if (!s->timer)
        s->timer = evtimer_new(sd.base, on_timer, s);
    fetch(s);
}

static void slot_deactivate(gw_sd_slot_t *s)
{
    if (s->inflight) {
        tk_httpc_cancel(s->inflight);
        s->inflight = NULL;
    }
    if (s->timer)
        evtimer_del(s->timer);
    s->due_ms = 0;
}

void gw_discovery_attach(gw_gen_t *g, const gw_conf_t *conf)
{
    sd.default_ttl_s = conf->service_discovery_default_cache_timeout > 0
                           ? conf->service_discovery_default_cache_timeout
                           : DEFAULT_TTL_S;
    for (gw_sd_slot_t *s = sd.slots; s; s = s->next)
        s->seen = s->changed = false;
    for (size_t i = 0; i < g->napis; i++) {
        gw_api_t *api = g->apis[i];
        json_t *c = tk_json_get_path(api->def, "proxy.service_discovery");
        if (!tk_json_bool(c, "use_discovery_service", false) || !api->api_id)
            continue;
        const char *protocol = tk_json_str(api->def, "protocol", "");
        char *dump = tk_json_dumps_compact(c);
        size_t klen = strlen(dump ? dump : "") + strlen(protocol) + 2;
        char *key = tk_xmalloc(klen);
        snprintf(key, klen, "%s|%s", dump ? dump : "", protocol);
        free(dump);
        gw_sd_slot_t *s = slot_for(api->api_id);
        if (!s->key || strcmp(s->key, key) != 0) {
            /* A different discovery setup: what the old one found no longer applies. */
            if (s->key) {
                slot_deactivate(s);
                publish(s, NULL);
                s->failing = s->empty_logged = false;
                s->changed = true;
            }
            slot_configure(s, c, protocol, key);
        } else {
            free(key);
        }
        json_t *proxy = tk_json_obj(api->def, "proxy");
        atomic_store(&s->load_balancing, tk_json_bool(proxy, "enable_load_balancing", false));
        atomic_store(&s->check_uptime,
                     tk_json_bool(proxy, "check_host_against_uptime_tests", false));
        s->seen = true;
        api->sd = s;
    }
    for (gw_sd_slot_t *s = sd.slots; s; s = s->next) {
        if (s->seen && (!s->active || s->changed)) {
            s->active = true;
            slot_activate(s);
        } else if (!s->seen && s->active) {
            s->active = false;
            slot_deactivate(s);
        }
    }
}

void gw_discovery_start(gw_server_t *srv, struct event_base *base)
{
    const gw_conf_t *conf = srv->conf;
    sd.srv = srv;
    sd.base = base;
    if (conf->turnpike_dns_nameservers.n) {
        sd.dns = evdns_base_new(base, 0);
        for (size_t k = 0; k < conf->turnpike_dns_nameservers.n; k++)
            evdns_base_nameserver_ip_add(sd.dns, conf->turnpike_dns_nameservers.v[k]);
        evdns_base_load_hosts(sd.dns, NULL);
    } else {
        sd.dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                          EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    }
    sd.sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
    struct timeval sw = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};
    event_add(sd.sweep_ev, &sw);
    atomic_store(&sd.kick_ev, event_new(base, -1, EV_PERSIST, on_kick, NULL));
    for (gw_sd_slot_t *s = sd.slots; s; s = s->next)
        if (s->active)
            slot_activate(s);
}

void gw_discovery_stop(void)
{
    for (gw_sd_slot_t *s = sd.slots; s; s = s->next)
        slot_deactivate(s);
    /* Cancelled lookups release themselves from the loop. */
    if (sd.base)
        event_base_loop(sd.base, EVLOOP_NONBLOCK);
    while (sd.slots) {
        gw_sd_slot_t *s = sd.slots;
        sd.slots = s->next;
        slot_deactivate(s);
        if (s->timer)
            event_free(s->timer);
        snap_free(atomic_load(&s->snap));
        while (s->retired) {
            sd_snap_t *r = s->retired;
            s->retired = r->next_retired;
            snap_free(r);
        }
        slot_clear_conf(s);
        free(s->api_id);
        free(s);
    }
    struct event *k = atomic_exchange(&sd.kick_ev, NULL);
    if (k)
        event_free(k);
    if (sd.sweep_ev)
        event_free(sd.sweep_ev);
    if (sd.dns)
        evdns_base_free(sd.dns, 1);
    memset(&sd, 0, sizeof(sd));
}

/* ---- worker side ---- */

static gw_target_t *arena_target(tk_arena_t *a, const gw_target_t *t)
{
    gw_target_t *o = tk_arena_zalloc(a, sizeof(*o));
    if (!o)
        return NULL;
    *o = *t;
    o->upcert = NULL; /* upstream client certificates apply to configured targets only */
    o->url = tk_arena_strdup(a, t->url);
    o->scheme = tk_arena_strdup(a, t->scheme);
    o->host = tk_arena_strdup(a, t->host);
    o->hostport = tk_arena_strdup(a, t->hostport);
    o->path = tk_arena_strdup(a, t->path);
    o->query = t->query ? tk_arena_strdup(a, t->query) : NULL;
    if (!o->url || !o->scheme || !o->host || !o->hostport || !o->path || (t->query && !o->query))
        return NULL;
    return o;
}

int gw_discovery_pick(gw_req_t *req)
{
    gw_api_t *api = (gw_api_t *)req->api;
    gw_sd_slot_t *s = api->sd;
    if (!s)
        return 0;
    atomic_fetch_add(&s->readers, 1);
    const sd_snap_t *snap = atomic_load(&s->snap);
    const gw_target_t *pick = NULL;
    bool have_list = snap != NULL, copy_failed = false;
    if (snap && snap->n) {
        if (!atomic_load_explicit(&s->load_balancing, memory_order_relaxed)) {
            pick = &snap->t[0];
        } else {
            size_t start = atomic_fetch_add_explicit(&api->rr, 1, memory_order_relaxed);
            bool check = atomic_load_explicit(&s->check_uptime, memory_order_relaxed);
            for (size_t k = 0; k < snap->n && !pick; k++) {
                const gw_target_t *t = &snap->t[(start + k) % snap->n];
                if (!check || !gw_uptime_host_down(t->hostport, strlen(t->hostport)))
                    pick = t;
            }
        }
        if (pick) {
            const gw_target_t *copy = arena_target(req->arena, pick);
            copy_failed = !copy;
            req->target = copy;
        }
    }
    atomic_fetch_sub(&s->readers, 1);
    if (!have_list)
        return 0;
    if (copy_failed) {
        gw_respond_error(req, 500, "There was a problem proxying the request");
        return -1;
    }
    if (pick)
        return 1;
    tk_log_error("[PROXY] [LOAD BALANCING] api=%s all hosts are down", api->api_id);
    static const char body[] = "all hosts are down\n";
    gw_respond(req, 503, "text/plain; charset=utf-8", body, sizeof(body) - 1,
               "X-Content-Type-Options: nosniff\r\n");
    return -1;
}

void gw_discovery_upstream_failed(const gw_api_t *api)
{
    gw_sd_slot_t *s = api ? api->sd : NULL;
    if (!s)
        return;
    atomic_store(&s->kick, true);
    struct event *k = atomic_load(&sd.kick_ev);
    if (k)
        event_active(k, EV_READ, 0);
}
