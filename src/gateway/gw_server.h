/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process-wide gateway state and the worker threads. Each worker owns an event loop, its own
 * SO_REUSEPORT listeners, DNS resolver, upstream keep-alive pool and a reference to the
 * current config generation. The control thread builds generations and posts them to workers.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "gw_analytics.h"
#include "gw_conf.h"
#include "gw_gen.h"
#include "tk_hash.h"
#include "tk_mailbox.h"
#include "tk_offload.h"
#include "tk_redis.h"
#include "tk_ttlmap.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct gw_server gw_server_t;
typedef struct gw_worker gw_worker_t;
typedef struct gw_conn gw_conn_t;
typedef struct gw_req gw_req_t;
typedef struct gw_upconn gw_upconn_t;

/* A worker's hold on one generation: requests count themselves here, without atomics. */
typedef struct gw_genref {
    gw_gen_t *gen;
    uint32_t inflight;
    bool retired;
} gw_genref_t;

/* Idle upstream connections for one (scheme, host, port, TLS settings) key. */
typedef struct gw_pool_bucket {
    struct gw_pool_bucket *next;
    char *key;
    gw_upconn_t *idle; /* singly linked through upconn->next_idle */
    size_t nidle;
} gw_pool_bucket_t;

/* A message to a worker thread (its event base takes no locks, so nothing else touches it). */
typedef struct gw_msg {
    enum { GW_MSG_GEN, GW_MSG_DRAIN, GW_MSG_STOP, GW_MSG_EVICT } type;
    gw_gen_t *gen;
    char *key; /* GW_MSG_EVICT: the session cache key (hashed key) */
} gw_msg_t;

struct gw_worker {
    int id;
    tk_mailbox_t *mbox;      /* gw_msg_t from other threads */
    tk_redis_t *redis;       /* this worker's own connection (sessions, limits) */
    tk_redis_t *cache_redis; /* response cache store when separate (gw_cache.h), else NULL */
    tk_ttlmap_t *sessions;   /* local session cache: hashed key → gw_session_t */
    /* "<api_id>\n<client_id>" -> OAuth client present or deleted, kept 1 s (mw_oauth2_key.c) */
    tk_ttlmap_t *oauth_clients;
    gw_server_t *srv;
    pthread_t thread;
    struct event_base *base;
    struct evdns_base *dns;
    struct evconnlistener *listeners[2];
    bool listener_is_control[2];
    size_t nlisteners;
    gw_genref_t *cur;
    gw_conn_t *conns; /* every open client connection */
    size_t nconns;
    gw_pool_bucket_t *pool;
    /* tcp/tls proxy API listeners and connections (gw_tcp.h) */
    struct gw_tcp *tcp;
    void *h2up;                   /* upstream HTTP/2 sessions (gw_proxy_h2.c) */
    gw_req_t *reload_waiters;     /* /tyk/reload?block=true requests */
    struct event *reload_recheck; /* waiters wait for the other workers to catch up */
    _Atomic uint64_t gen_seq;     /* the generation this worker serves */
    bool draining;
    struct gw_analytics *analytics; /* NULL when analytics are off */
    char date[40];                  /* cached "Date:" value */
    time_t date_sec;
};

/* A message from a worker to the control thread (Redis PUBLISH). */
typedef struct gw_publish {
    char *channel;
    char *message;
} gw_publish_t;

struct gw_server {
    gw_conf_t *conf;
    char *conf_path;
    gw_worker_t *workers;
    size_t nworkers;
    SSL_CTX *listen_ssl;
    SSL_CTX *up_ssl_verify;
    SSL_CTX *up_ssl_noverify;
    struct event_base *control_base;
    struct event *reload_ev;
    tk_mailbox_t *publish_mbox; /* gw_publish_t for the control thread */
    _Atomic uint64_t reload_requested;
    _Atomic uint64_t reload_done;
    _Atomic bool redis_up;
    _Atomic int64_t redis_checked_at; /* unix seconds of the last Redis state change/check */
    _Atomic bool shutting_down;
    _Atomic bool reload_ok; /* at least one successful API load */
    _Atomic int workers_alive;
    struct gw_drl *drl;    /* in-memory rate limiter shared by the workers */
    _Atomic int drl_peers; /* live gateways sharing this Redis, this one included (DRL) */
    char node_id[40];      /* this gateway's id in DRL notifications */
    pthread_mutex_t drl_lock;
    tk_offload_t *offload; /* blocking jobs (bcrypt) off the workers' loops; NULL: run inline */
    struct gw_jsvm_pool *jsvm_pool; /* JS plugin calls (turnpike_jsvm_threads); NULL: inline */
    gw_analytics_stats_t analytics_stats;
    void *geoip; /* MaxMind database for analytics (gw_analytics_geo.c), or NULL */
};

/** Redis connection options from tyk.conf's storage section. */
void gw_redis_opts(const gw_conf_t *conf, tk_redis_opts_t *ro);
/** The analytics store's options: analytics_storage when enable_separate_analytics_store, else
 *  the main storage (analytics and uptime records go there, as Tyk does). */
void gw_analytics_redis_opts(const gw_conf_t *conf, tk_redis_opts_t *ro);
/** Asks the control thread for a reload; returns the ticket the reload will satisfy. */
uint64_t gw_server_request_reload(gw_server_t *srv);
/** Queues a Redis PUBLISH done by the control thread. */
void gw_server_publish(gw_server_t *srv, const char *channel, const char *message);
/* Cluster notifications are signed by tk_notification_sign (shared with the dashboard). */
#define gw_notification_sign tk_notification_sign

/** Creates workers and their listeners (returns TK_ERROR if a port cannot be bound). */
int gw_workers_start(gw_server_t *srv, gw_gen_t *first);
/** Hands @gen to every worker (each worker takes its own reference). */
void gw_workers_publish_gen(gw_server_t *srv, gw_gen_t *gen);
/** Stops accepting, lets in-flight requests finish; workers exit when idle. */
void gw_workers_drain(gw_server_t *srv);
/** Ends the worker loops now (after the graceful timeout). */
void gw_workers_stop(gw_server_t *srv);
void gw_workers_join(gw_server_t *srv);
/** Frees worker state after join; TK_ERROR (nothing freed) if connections are still open. */
int gw_workers_free(gw_server_t *srv);

/* A session shared by the worker's cache and the requests using it (one thread: plain count). */
typedef struct gw_sref {
    uint32_t refs;
    struct gw_session *s;
} gw_sref_t;

/** A new reference-counted session (refs = 1), empty. */
gw_sref_t *gw_sref_new(void);
void gw_sref_get(gw_sref_t *r);
void gw_sref_put(gw_sref_t *r);
/** The session cache's value destructor (drops the cache's reference). */
void gw_session_cache_free(void *sref);
/** Drops @key (a hashed key, as in "apikey-<key>") from every worker's session cache. */
void gw_sessions_evict(gw_server_t *srv, const char *key);

/** Takes the worker's current generation for a request / gives it back. */
gw_genref_t *gw_worker_gen_acquire(gw_worker_t *w);
void gw_worker_gen_release(gw_genref_t *ref);

/** Cached "Date" header value for this second. */
const char *gw_worker_date(gw_worker_t *w);

#endif
