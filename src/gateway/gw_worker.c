/* SPDX-License-Identifier: Apache-2.0 */
/* Worker threads: one event loop each, SO_REUSEPORT listeners, generation hand-over, draining. */
#include "tk_net.h"
#include "gw_cache.h"
#include "gw_handlers.h"
#include "gw_session.h"
#include "gw_tcp.h"

#include "tk_log.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

void gw_pool_sweep(gw_worker_t *w, uint64_t max_idle_ms);
void gw_pool_free(gw_worker_t *w);

gw_sref_t *gw_sref_new(void)
{
    gw_sref_t *r = tk_xcalloc(1, sizeof(*r));
    r->refs = 1;
    r->s = tk_xcalloc(1, sizeof(*r->s));
    return r;
}

void gw_sref_get(gw_sref_t *r)
{
    r->refs++;
}

void gw_sref_put(gw_sref_t *r)
{
    if (r && --r->refs == 0) {
        gw_session_free(r->s);
        free(r->s);
        free(r);
    }
}

void gw_session_cache_free(void *v)
{
    gw_sref_put(v);
}

gw_genref_t *gw_worker_gen_acquire(gw_worker_t *w)
{
    gw_genref_t *r = w->cur;
    r->inflight++;
    return r;
}

void gw_worker_gen_release(gw_genref_t *r)
{
    if (--r->inflight == 0 && r->retired) {
        gw_gen_unref(r->gen);
        free(r);
    }
}

static void set_gen(gw_worker_t *w, gw_gen_t *gen)
{
    gw_genref_t *r = tk_xcalloc(1, sizeof(*r));
    r->gen = gen; /* the caller's reference moves here */
    gw_genref_t *old = w->cur;
    w->cur = r;
    atomic_store(&w->gen_seq, gen->seq);
    if (old) {
        old->retired = true;
        if (old->inflight == 0) {
            gw_gen_unref(old->gen);
            free(old);
        }
    }
}

const char *gw_worker_date(gw_worker_t *w)
{
    time_t now = time(NULL);
    if (now != w->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_sec = now;
    }
    return w->date;
}

static void worker_post_key(gw_worker_t *w, int type, gw_gen_t *gen, const char *key)
{
    gw_msg_t *m = tk_xcalloc(1, sizeof(*m));
    m->type = type;
    m->gen = gen;
    m->key = key ? tk_xstrdup(key) : NULL;
    tk_mailbox_post(w->mbox, m);
}

static void worker_post(gw_worker_t *w, int type, gw_gen_t *gen)
{
    worker_post_key(w, type, gen, NULL);
}

void gw_sessions_evict(gw_server_t *srv, const char *key)
{
    for (size_t i = 0; i < srv->nworkers; i++)
        worker_post_key(&srv->workers[i], GW_MSG_EVICT, NULL, key);
}

static void drain_now(gw_worker_t *w);

static void on_msg(void *msg, void *arg)
{
    gw_msg_t *m = msg;
    gw_worker_t *w = arg;
    if (m->type == GW_MSG_GEN) {
        set_gen(w, m->gen);
        gw_tcp_sync(w);
        gw_reload_waiters_wake(w);
    } else if (m->type == GW_MSG_EVICT) {
        tk_ttlmap_del(w->sessions, m->key);
    } else if (m->type == GW_MSG_DRAIN) {
        drain_now(w);
    } else {
        event_base_loopbreak(w->base);
    }
    free(m->key);
    free(m);
}

static void drop_msg(void *msg)
{
    gw_msg_t *m = msg;
    if (m->gen)
        gw_gen_unref(m->gen);
    free(m->key);
    free(m);
}

void gw_workers_publish_gen(gw_server_t *srv, gw_gen_t *gen)
{
    for (size_t i = 0; i < srv->nworkers; i++) {
        gw_gen_ref(gen);
        worker_post(&srv->workers[i], GW_MSG_GEN, gen);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    gw_worker_t *w = arg;
    bool control = w->nlisteners > 1 && l == w->listeners[1];
    gw_conn_accept(w, fd, sa, len, control);
}

static int listen_on(gw_worker_t *w, const char *addr, int port, bool control)
{
    struct sockaddr_storage ss;
    int len = tk_sockaddr_listen(addr, port, &ss);
    if (!len) {
        tk_log_error("listen_address %s is not an IP address", addr);
        return TK_ERROR;
    }
    struct evconnlistener *l = evconnlistener_new_bind(
        w->base, on_accept, w,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
        1024, (struct sockaddr *)&ss, len);
    if (!l) {
        tk_log_error("cannot listen on %s:%d: %s", *addr ? addr : "*", port,
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return TK_ERROR;
    }
    w->listener_is_control[w->nlisteners] = control;
    w->listeners[w->nlisteners++] = l;
    return TK_OK;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_worker_t *w = arg;
    int64_t idle = w->srv->conf->turnpike_upstream_idle_timeout;
    gw_pool_sweep(w, (uint64_t)(idle > 0 ? idle : 90) * 1000u);
}

static void *worker_main(void *arg)
{
    gw_worker_t *w = arg;
    const gw_conf_t *conf = w->srv->conf;
    if (conf->turnpike_cpu_affinity) {
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1) {
            int want = w->id % CPU_COUNT(&set), seen = 0;
            for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
                if (!CPU_ISSET(cpu, &set))
                    continue;
                if (seen++ == want) {
                    cpu_set_t one;
                    CPU_ZERO(&one);
                    CPU_SET(cpu, &one);
                    pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
                    break;
                }
            }
        }
    }
    w->reload_recheck = evtimer_new(w->base, gw_reload_waiters_recheck, w);
    struct event *sweep = event_new(w->base, -1, EV_PERSIST, on_sweep, w);
    struct timeval tv = {5, 0};
    event_add(sweep, &tv);
    event_base_dispatch(w->base);
    gw_analytics_shutdown(w->analytics);
    event_free(sweep);
    event_free(w->reload_recheck);
    w->reload_recheck = NULL;
    atomic_fetch_sub(&w->srv->workers_alive, 1);
    return NULL;
}

static size_t cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        return (size_t)CPU_COUNT(&set);
    return 1;
}

int gw_workers_start(gw_server_t *srv, gw_gen_t *first)
{
    const gw_conf_t *conf = srv->conf;
    size_t n = conf->turnpike_workers > 0 ? (size_t)conf->turnpike_workers : cpu_count();
    srv->nworkers = n;
    srv->workers = tk_xcalloc(n, sizeof(*srv->workers));
    gw_analytics_prepare(srv);
    bool separate = conf->control_api_port && conf->control_api_port != conf->listen_port;
    for (size_t i = 0; i < n; i++) {
        gw_worker_t *w = &srv->workers[i];
        w->id = (int)i;
        w->srv = srv;
        /* Only this worker's thread touches its base (others post to the mailbox). */
        struct event_config *cfg = event_config_new();
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
        w->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
        w->mbox = tk_mailbox_new(w->base, on_msg, w);
        tk_redis_opts_t ro;
        gw_redis_opts(conf, &ro);
        w->redis = tk_redis_new(w->base, &ro, NULL, NULL);
        if (gw_cache_store_separate(conf)) {
            gw_cache_redis_opts(conf, &ro);
            w->cache_redis = tk_redis_new(w->base, &ro, NULL, NULL);
        }
        w->sessions = tk_ttlmap_new(100000, gw_session_cache_free);
        w->oauth_clients = tk_ttlmap_new(10000, NULL);
        w->analytics = gw_analytics_new(w);
        if (conf->turnpike_dns_nameservers.n) {
            w->dns = evdns_base_new(w->base, 0);
            for (size_t k = 0; k < conf->turnpike_dns_nameservers.n; k++)
                evdns_base_nameserver_ip_add(w->dns, conf->turnpike_dns_nameservers.v[k]);
            evdns_base_load_hosts(w->dns, NULL);
        } else {
            w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                                 EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        }
        evdns_base_set_option(w->dns, "randomize-case:", "0");
        evdns_base_set_option(w->dns, "timeout:", "3");
        evdns_base_set_option(w->dns, "attempts:", "2");
        gw_gen_ref(first);
        set_gen(w, first);
        gw_tcp_sync(w);
        if (listen_on(w, conf->listen_address, (int)conf->listen_port, false) != TK_OK)
            return TK_ERROR;
        if (separate &&
            listen_on(w, conf->listen_address, (int)conf->control_api_port, true) != TK_OK)
            return TK_ERROR;
    }
    atomic_store(&srv->workers_alive, (int)n);
    for (size_t i = 0; i < n; i++)
        pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]);
    return TK_OK;
}

static void drain_now(gw_worker_t *w)
{
    w->draining = true;
    for (size_t i = 0; i < w->nlisteners; i++) {
        evconnlistener_free(w->listeners[i]);
        w->listeners[i] = NULL;
    }
    w->nlisteners = 0;
    gw_tcp_close(w);
    gw_conns_drain(w);
    gw_pool_sweep(w, 0);
    if (w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

void gw_workers_drain(gw_server_t *srv)
{
    for (size_t i = 0; i < srv->nworkers; i++)
        worker_post(&srv->workers[i], GW_MSG_DRAIN, NULL);
}

void gw_workers_stop(gw_server_t *srv)
{
    for (size_t i = 0; i < srv->nworkers; i++)
        worker_post(&srv->workers[i], GW_MSG_STOP, NULL);
}

void gw_workers_join(gw_server_t *srv)
{
    for (size_t i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i].thread, NULL);
}

int gw_workers_free(gw_server_t *srv)
{
    for (size_t i = 0; i < srv->nworkers; i++)
        if (srv->workers[i].nconns)
            return TK_ERROR;
    for (size_t i = 0; i < srv->nworkers; i++) {
        gw_worker_t *w = &srv->workers[i];
        for (size_t k = 0; k < w->nlisteners; k++)
            evconnlistener_free(w->listeners[k]);
        gw_tcp_close(w);
        gw_pool_free(w);
        gw_analytics_free(w->analytics);
        w->analytics = NULL;
        tk_redis_free(w->redis);
        tk_redis_free(w->cache_redis);
        tk_ttlmap_free(w->sessions);
        tk_ttlmap_free(w->oauth_clients);
        tk_mailbox_free(w->mbox, drop_msg);
        evdns_base_free(w->dns, 0);
        if (w->cur) {
            w->cur->retired = true;
            if (w->cur->inflight == 0) {
                gw_gen_unref(w->cur->gen);
                free(w->cur);
            }
        }
        event_base_free(w->base);
    }
    free(srv->workers);
    srv->workers = NULL;
    srv->nworkers = 0;
    return TK_OK;
}
