/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control thread: builds config generations on reload requests (control API, SIGHUP,
 * signed Redis notifications), watches Redis for health, publishes notifications, and runs
 * graceful shutdown.
 */
#include "gw_control_thread.h"
#include "gw_cache.h"
#include "gw_certstore.h"
#include "gw_dashboard.h"
#include "gw_discovery.h"
#include "gw_oauth_purge.h"
#include "gw_uptime.h"

#include "tk_hash.h"
#include "tk_log.h"
#include "tk_redis.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_CHANNEL "tyk.cluster.notifications"

#define DRL_PEER_TTL_MS 4000 /* Tyk forgets a silent peer after 4 s */
#define MAX_PEERS 256

struct peer {
    char id[64];
    uint64_t seen_ms;
};

struct control {
    struct peer peers[MAX_PEERS];
    size_t npeers;
    struct event *drl_ev;
    gw_server_t *srv;
    tk_redis_t *redis;
    tk_redis_t *sub;
    tk_redis_t *cache_redis; /* separate response cache store, or NULL */
    struct event *ping_ev;
    struct event *exit_check;
    struct event *grace_ev;
    struct event *sig[4];
    gw_uptime_t *uptime; /* NULL when uptime_tests.disable */
    gw_gen_t *latest;    /* newest generation, for the uptime checker */
};

static struct control *the_control;

void gw_redis_opts(const gw_conf_t *conf, tk_redis_opts_t *ro)
{
    int timeout = conf->storage_timeout > 0 ? (int)conf->storage_timeout * 1000 : 5000;
    *ro = (tk_redis_opts_t){
        .host = conf->storage_host,
        .port = (int)conf->storage_port,
        .username = conf->storage_username,
        .password = conf->storage_password,
        .database = (int)conf->storage_database,
        .connect_timeout_ms = timeout,
        .command_timeout_ms = timeout,
    };
}

uint64_t gw_server_request_reload(gw_server_t *srv)
{
    uint64_t t = atomic_fetch_add(&srv->reload_requested, 1) + 1;
    event_active(srv->reload_ev, EV_READ, 0);
    return t;
}

void gw_server_publish(gw_server_t *srv, const char *channel, const char *message)
{
    gw_publish_t *p = tk_xcalloc(1, sizeof(*p));
    p->channel = tk_xstrdup(channel);
    p->message = tk_xstrdup(message);
    tk_mailbox_post(srv->publish_mbox, p);
}

gw_gen_t *gw_build_generation(gw_server_t *srv, uint64_t seq)
{
    tk_conf_errors_t errs = {0};
    uint64_t t0 = tk_now_ns();
    gw_gen_t *g = gw_gen_build(srv->conf, seq, &errs);
    gw_certstore_attach(g, srv->conf); /* upstream and API listener certificates */
    gw_discovery_attach(g, srv->conf); /* service_discovery lists, before workers see g */
    for (size_t i = 0; i < errs.n; i++)
        tk_log_error("API load: %s (skipped)", errs.msgs[i]);
    tk_conf_errors_free(&errs);
    tk_log_info("loaded %zu APIs in %.1f ms (generation %llu)", g->napis,
                (double)(tk_now_ns() - t0) / 1e6, (unsigned long long)seq);
    if (the_control) { /* the uptime checks follow every new generation */
        gw_gen_ref(g);
        if (the_control->latest)
            gw_gen_unref(the_control->latest);
        the_control->latest = g;
        gw_uptime_set_gen(the_control->uptime, g);
    }
    return g;
}

static void on_reload(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    struct control *ctl = arg;
    gw_server_t *srv = ctl->srv;
    if (atomic_load(&srv->shutting_down))
        return;
    uint64_t target = atomic_load(&srv->reload_requested);
    if (target <= atomic_load(&srv->reload_done))
        return;
    gw_gen_t *g = gw_build_generation(srv, target);
    gw_workers_publish_gen(srv, g);
    gw_gen_unref(g);
    atomic_store(&srv->reload_done, target);
    atomic_store(&srv->reload_ok, true);
    /* Requests that arrived while building collapse into one more reload. */
    if (atomic_load(&srv->reload_requested) > target)
        event_active(srv->reload_ev, EV_READ, 0);
}

static void drop_publish(void *msg)
{
    gw_publish_t *p = msg;
    free(p->channel);
    free(p->message);
    free(p);
}

static void on_publish(void *msg, void *arg)
{
    struct control *ctl = arg;
    gw_publish_t *p = msg;
    if (tk_redis_cmd(ctl->redis, NULL, NULL, "PUBLISH %s %s", p->channel, p->message) != TK_OK)
        tk_log_warn("Redis unavailable: notification on %s not published", p->channel);
    drop_publish(p);
}

static void set_redis_state(gw_server_t *srv, bool up)
{
    bool was = atomic_exchange(&srv->redis_up, up);
    atomic_store(&srv->redis_checked_at, (int64_t)time(NULL));
    if (was != up)
        tk_log_info("Redis is %s", up ? "connected" : "unavailable");
}

static void on_redis_state(tk_redis_t *r, bool up, void *arg)
{
    TK_UNUSED(r);
    struct control *ctl = arg;
    set_redis_state(ctl->srv, up);
}

static void on_pong(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct control *ctl = arg;
    set_redis_state(ctl->srv, reply && reply->type != REDIS_REPLY_ERROR);
}

static void on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    struct control *ctl = arg;
    if (tk_redis_cmd(ctl->redis, on_pong, ctl, "PING") != TK_OK)
        set_redis_state(ctl->srv, false);
}

/* Counts live peers (dropping silent ones) and publishes N = peers + this gateway. */
static void drl_recount(struct control *ctl)
{
    uint64_t now = tk_now_ms();
    size_t k = 0;
    for (size_t i = 0; i < ctl->npeers; i++)
        if (now - ctl->peers[i].seen_ms <= DRL_PEER_TTL_MS)
            ctl->peers[k++] = ctl->peers[i];
    ctl->npeers = k;
    int n = (int)k + 1;
    if (atomic_exchange(&ctl->srv->drl_peers, n) != n)
        tk_log_info("DRL: %d gateway(s) share the rate limits", n);
}

static void drl_seen(struct control *ctl, const char *id)
{
    if (!id || !*id || strcmp(id, ctl->srv->node_id) == 0)
        return;
    for (size_t i = 0; i < ctl->npeers; i++) {
        if (strcmp(ctl->peers[i].id, id) == 0) {
            ctl->peers[i].seen_ms = tk_now_ms();
            return;
        }
    }
    if (ctl->npeers < MAX_PEERS) {
        struct peer *p = &ctl->peers[ctl->npeers++];
        snprintf(p->id, sizeof(p->id), "%s", id);
        p->seen_ms = tk_now_ms();
        drl_recount(ctl);
    }
}

/* Every drl_notification_frequency: announce this gateway (Tyk's NoticeGatewayDRLNotification). */
static void on_drl_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    struct control *ctl = arg;
    gw_server_t *srv = ctl->srv;
    drl_recount(ctl);
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "turnpike");
    json_t *payload = json_pack("{s:s,s:s,s:f,s:f,s:s}", "HostName", host, "ID", srv->node_id,
                                "LoadPerSec", 0.0, "Percentage", 0.0, "TagHash", "");
    char *ptext = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    char sig[65];
    gw_notification_sign("NoticeGatewayDRLNotification", ptext, srv->conf->node_secret, sig);
    json_t *n = json_pack("{s:s,s:s,s:s,s:i}", "command", "NoticeGatewayDRLNotification", "payload",
                          ptext, "signature", sig, "algorithm", 5);
    char *msg = json_dumps(n, JSON_COMPACT);
    json_decref(n);
    free(ptext);
    tk_redis_cmd(ctl->redis, NULL, NULL, "PUBLISH %s %s", NOTIFY_CHANNEL, msg);
    free(msg);
}

static bool is_reload_command(const char *c)
{
    static const char *const cmds[] = {"ApiUpdated", "ApiRemoved", "ApiAdded", "GroupReload",
                                       "PolicyChanged"};
    for (size_t i = 0; i < TK_ARRAY_LEN(cmds); i++)
        if (strcmp(c, cmds[i]) == 0)
            return true;
    return false;
}

static void on_notification(tk_redis_t *r, const char *channel, const char *msg, size_t len,
                            void *arg)
{
    TK_UNUSED(r);
    TK_UNUSED(channel);
    struct control *ctl = arg;
    gw_server_t *srv = ctl->srv;
    json_error_t err;
    json_t *n = json_loadb(msg, len, 0, &err);
    const char *cmd = json_string_value(json_object_get(n, "command"));
    const char *payload = json_string_value(json_object_get(n, "payload"));
    const char *sig = json_string_value(json_object_get(n, "signature"));
    if (!cmd) {
        tk_log_warn("pub/sub: ignoring malformed notification");
        json_decref(n);
        return;
    }
    if (!srv->conf->allow_insecure_configs) {
        char want[65];
        gw_notification_sign(cmd, payload ? payload : "", srv->conf->node_secret, want);
        if (!sig || strlen(sig) != 64 || CRYPTO_memcmp(sig, want, 64) != 0) {
            tk_log_warn("pub/sub: notification %s has a bad or missing signature, ignored", cmd);
            json_decref(n);
            return;
        }
    }
    if (strcmp(cmd, "NoticeGatewayDRLNotification") == 0 && payload) {
        json_t *p = json_loads(payload, 0, NULL);
        drl_seen(ctl, json_string_value(json_object_get(p, "ID")));
        json_decref(p);
    }
    if (strcmp(cmd, "KeySpaceUpdateNotification") == 0 && payload) {
        /* Comma-separated hashed keys, each maybe ":<suffix>"; drop them from every cache. */
        char *copy = tk_xstrdup(payload), *save = NULL;
        for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
            char *colon = strchr(k, ':');
            if (colon)
                *colon = '\0';
            if (*k)
                gw_sessions_evict(srv, k);
        }
        free(copy);
    }
    if (strcmp(cmd, GW_CACHE_NOTIFY_COMMAND) == 0 && payload && *payload) {
        /* An API's cached responses are dropped from this gateway's cache store. */
        if (gw_cache_purge(ctl->cache_redis ? ctl->cache_redis : ctl->redis, payload, NULL, NULL) !=
            TK_OK)
            tk_log_warn("pub/sub: cache of API %s not invalidated: Redis unavailable", payload);
    }
    if (strcmp(cmd, "OAuthPurgeLapsedTokens") == 0)
        gw_oauth_purge_notice(ctl->redis, srv->conf);
    if (is_reload_command(cmd)) {
        if (srv->conf->suppress_redis_signal_reload)
            tk_log_info("pub/sub: %s received, reload suppressed by config", cmd);
        else
            gw_server_request_reload(srv);
    }
    json_decref(n);
}

static void on_exit_check(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    struct control *ctl = arg;
    if (atomic_load(&ctl->srv->workers_alive) == 0)
        event_base_loopexit(ctl->srv->control_base, NULL);
}

static void on_grace_expired(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    struct control *ctl = arg;
    tk_log_warn("graceful shutdown timeout reached; closing remaining connections");
    gw_workers_stop(ctl->srv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    TK_UNUSED(what);
    struct control *ctl = arg;
    gw_server_t *srv = ctl->srv;
    if (sig == SIGHUP) {
        tk_log_info("SIGHUP: reloading APIs");
        gw_server_request_reload(srv);
        return;
    }
    if (atomic_exchange(&srv->shutting_down, true))
        return;
    tk_log_info("%s: draining in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    gw_workers_drain(srv);
    struct timeval grace = {srv->conf->graceful_shutdown_timeout_duration > 0
                                ? srv->conf->graceful_shutdown_timeout_duration
                                : 30,
                            0};
    event_add(ctl->grace_ev, &grace);
    struct timeval tick = {0, 50000};
    event_add(ctl->exit_check, &tick);
}

void gw_control_init(gw_server_t *srv)
{
    struct control *ctl = tk_xcalloc(1, sizeof(*ctl));
    ctl->srv = srv;
    tk_uuid_hex(srv->node_id);
    the_control = ctl;
    srv->control_base = event_base_new();
    /* Persistent events other threads fire with event_active(). */
    srv->reload_ev = event_new(srv->control_base, -1, EV_PERSIST, on_reload, ctl);
    srv->publish_mbox = tk_mailbox_new(srv->control_base, on_publish, ctl);
}

int gw_control_run(gw_server_t *srv)
{
    struct control *ctl = the_control;
    const gw_conf_t *conf = srv->conf;
    struct event_base *base = srv->control_base;
    tk_redis_opts_t ro;
    gw_redis_opts(conf, &ro);
    ctl->redis = tk_redis_new(base, &ro, on_redis_state, ctl);
    ctl->sub = tk_redis_new(base, &ro, NULL, NULL);
    if (gw_cache_store_separate(conf)) {
        tk_redis_opts_t co;
        gw_cache_redis_opts(conf, &co);
        ctl->cache_redis = tk_redis_new(base, &co, NULL, NULL);
    }
    tk_redis_subscribe(ctl->sub, NOTIFY_CHANNEL, on_notification, ctl);
    ctl->ping_ev = event_new(base, -1, EV_PERSIST, on_ping_timer, ctl);
    struct timeval ping = {2, 0};
    event_add(ctl->ping_ev, &ping);
    atomic_store(&srv->drl_peers, 1);
    ctl->drl_ev = event_new(base, -1, EV_PERSIST, on_drl_timer, ctl);
    struct timeval drl = {
        conf->drl_notification_frequency > 0 ? conf->drl_notification_frequency : 2, 0};
    event_add(ctl->drl_ev, &drl);
    ctl->uptime = gw_uptime_new(srv, base);
    gw_discovery_start(srv, base);
    gw_dashboard_start(srv); /* dashboard mode: register, beat, reload when registered */
    if (ctl->latest)
        gw_uptime_set_gen(ctl->uptime, ctl->latest);
    ctl->exit_check = event_new(base, -1, EV_PERSIST, on_exit_check, ctl);
    ctl->grace_ev = evtimer_new(base, on_grace_expired, ctl);
    const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
    for (size_t i = 0; i < TK_ARRAY_LEN(sigs); i++) {
        ctl->sig[i] = evsignal_new(base, sigs[i], on_signal, ctl);
        event_add(ctl->sig[i], NULL);
    }
    /* A reload requested before the loop started (none normally) is picked up here. */
    if (atomic_load(&srv->reload_requested) > atomic_load(&srv->reload_done))
        event_active(srv->reload_ev, EV_READ, 0);

    event_base_dispatch(base);

    for (size_t i = 0; i < TK_ARRAY_LEN(sigs); i++)
        event_free(ctl->sig[i]);
    event_free(ctl->ping_ev);
    event_free(ctl->drl_ev);
    event_free(ctl->exit_check);
    event_free(ctl->grace_ev);
    gw_uptime_free(ctl->uptime);
    gw_discovery_stop();
    gw_dashboard_stop();
    if (ctl->latest)
        gw_gen_unref(ctl->latest);
    tk_redis_free(ctl->sub);
    tk_redis_free(ctl->cache_redis);
    tk_redis_free(ctl->redis);
    event_free(srv->reload_ev);
    tk_mailbox_free(srv->publish_mbox, drop_publish);
    srv->reload_ev = NULL;
    srv->publish_mbox = NULL;
    event_base_free(base);
    srv->control_base = NULL;
    free(ctl);
    the_control = NULL;
    return TK_OK;
}
