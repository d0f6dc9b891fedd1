/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Uptime tests, as Tyk's host checker behaves (gateway/host_checker.go and
 * host_checker_manager.go), on the control thread's event loop: every check is asynchronous,
 * at most checker_pool_size run at once, and nothing here ever blocks the loop.
 *
 * Counting follows Tyk exactly, quirks included: failures add up per check URL (a success
 * before the limit does not reset them); at failure_trigger_sample_size the host is down, and
 * it takes as many successes again to bring it back up.
 */
#include "tk_net.h"
#include "gw_uptime.h"
#include "gw_events.h"

#include "tk_analytics.h"
#include "tk_base64.h"
#include "tk_httpc.h"
#include "tk_log.h"
#include "tk_redis.h"
#include "tk_stream.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define KEY_PREFIX "host-checker:"
#define UPTIME_LIST KEY_PREFIX "tyk-uptime-analytics"
#define LEADER_KEY KEY_PREFIX "PollerActiveInstanceID"
#define DOWN_KEY KEY_PREFIX "PollerCheckerInstance:"
#define LEADER_TTL_S 15   /* Tyk: the poller key lives 15 s ... */
#define LEADER_EVERY_S 10 /* ... and is renewed every 10 s */
#define FOLLOW_EVERY_MS 1000
#define DEFAULT_INTERVAL_S 10       /* time_wait 0 */
#define HTTP_DEFAULT_TIMEOUT_MS 500 /* Tyk's HostCheckerClient timeout */
#define TCP_DEFAULT_TIMEOUT_MS 10000
#define FLUSH_AFTER_MS 200
#define FLUSH_AT 200
#define HUNDRED_YEARS_S (365LL * 100 * 24 * 3600) /* Tyk's expiry for expire_utime_after 0 */
#define TCP_ERROR_CODE 521                        /* Tyk records this code for TCP errors */

/* ---- down flags: written by the control thread, read lock-free by workers ---------------- */

/* Open addressing on a 64-bit hash of the lower-cased host; slots are never reused, so a
 * reader that finds its key reads a flag that only ever belongs to that host. */
#define DOWN_SLOTS 4096
static _Atomic uint64_t down_keys[DOWN_SLOTS];
static _Atomic bool down_vals[DOWN_SLOTS];
static _Atomic int down_count; /* 0: readers return at once */

static uint64_t host_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)tolower((unsigned char)s[i]);
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

bool gw_uptime_host_down(const char *hostport, size_t len)
{
    if (atomic_load_explicit(&down_count, memory_order_relaxed) == 0)
        return false;
    uint64_t h = host_hash(hostport, len);
    for (size_t i = 0; i < DOWN_SLOTS; i++) {
        size_t s = (size_t)(h + i) & (DOWN_SLOTS - 1);
        uint64_t k = atomic_load_explicit(&down_keys[s], memory_order_acquire);
        if (k == 0)
            return false;
        if (k == h)
            return atomic_load_explicit(&down_vals[s], memory_order_relaxed);
    }
    return false;
}

/* Returns true when the flag changed. */
static bool set_host_down(const char *host, bool down)
{
    uint64_t h = host_hash(host, strlen(host));
    for (size_t i = 0; i < DOWN_SLOTS; i++) {
        size_t s = (size_t)(h + i) & (DOWN_SLOTS - 1);
        uint64_t k = atomic_load_explicit(&down_keys[s], memory_order_relaxed);
        if (k == h) {
            bool was = atomic_exchange(&down_vals[s], down);
            if (was != down)
                atomic_fetch_add(&down_count, down ? 1 : -1);
            return was != down;
        }
        if (k == 0) {
            if (!down)
                return false;
            atomic_store(&down_vals[s], true);
            atomic_store_explicit(&down_keys[s], h, memory_order_release);
            atomic_fetch_add(&down_count, 1);
            return true;
        }
    }
    tk_log_warn("[HOST CHECKER] host table full: %s is not tracked for load balancing", host);
    return false;
}

/* ---- the check list ---------------------------------------------------------------------- */

typedef struct cmd {
    bool send; /* else expect */
    char *msg;
    size_t len;
} cmd_t;

struct probe;

typedef struct check {
    char *url;    /* check_list[].url as written: the key Tyk tracks samples by */
    char *api_id; /* API the check came from */
    char *host;   /* host[:port] of the URL: the down marker's name */
    bool tcp, tls;
    char *dial_host; /* tcp/tls */
    int dial_port;
    char *method, *headers, *body; /* http */
    size_t body_len;
    cmd_t *cmds;
    size_t ncmds;
    uint64_t timeout_ms;
    int64_t expire_after; /* uptime_tests.config.expire_utime_after */
    /* Tyk's HostSample */
    bool sampled, reached;
    int count;
    bool queued;
    struct probe *probe;
} check_t;

typedef struct probe {
    gw_uptime_t *u;
    check_t *c; /* NULL once cancelled */
    uint64_t t0;
    tk_httpc_t *http;
    /* tcp / tls */
    tk_stream_t *st;
    struct evdns_getaddrinfo_request *dns_req;
    bool dns_cancelled;
    struct event *timer, *done_ev;
    size_t cmd_i;
    bool connected, finished, tcp_error;
    int status;
} probe_t;

struct gw_uptime {
    gw_server_t *srv;
    const gw_conf_t *conf;
    struct event_base *base;
    struct evdns_base *dns;
    tk_redis_t *redis;
    gw_gen_t *gen;
    check_t *checks;
    size_t nchecks;
    uint64_t list_seq;
    size_t cursor, inflight, pool;
    int limit;
    int check_timeout_s; /* Tyk's checkTimeout: the round interval and the marker TTL base */
    bool polling, decided, closing;
    char leader_key[300];
    struct event *tick_ev, *leader_ev, *follow_ev, *flush_ev;
    tk_buf_t batch;
    size_t *offs; /* record boundaries in batch */
    size_t nrec, caprec;
};

static void probe_start(gw_uptime_t *u, check_t *c);
static void probe_cancel(gw_uptime_t *u, check_t *c);

static void check_clear(check_t *c)
{
    free(c->url);
    free(c->api_id);
    free(c->host);
    free(c->dial_host);
    free(c->method);
    free(c->headers);
    free(c->body);
    for (size_t i = 0; i < c->ncmds; i++)
        free(c->cmds[i].msg);
    free(c->cmds);
}

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return true;
    return false;
}

/* "scheme://[user@]host[:port]/..." → host[:port]; NULL if there is no host. */
static char *url_host(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    return n ? tk_xstrndup(p, n) : NULL;
}

/* host:port (or [v6]:port) into @c->dial_host / dial_port. */
static bool split_hostport(check_t *c)
{
    const char *hp = c->host;
    const char *colon;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb || rb[1] != ':')
            return false;
        c->dial_host = tk_xstrndup(hp + 1, (size_t)(rb - hp - 1));
        colon = rb + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon || colon == hp)
            return false;
        c->dial_host = tk_xstrndup(hp, (size_t)(colon - hp));
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!end || *end || port <= 0 || port > 65535)
        return false;
    c->dial_port = (int)port;
    return true;
}

/* One check_list entry (Tyk's HostCheckObject). Returns false with @why on a bad entry. */
static bool check_parse(check_t *c, json_t *e, const char **why)
{
    const char *url = json_string_value(json_object_get(e, "url"));
    if (!url || !*url) {
        *why = "no url";
        return false;
    }
    c->url = tk_xstrdup(url);
    const char *proto = json_string_value(json_object_get(e, "protocol"));
    c->tcp = proto && (strcasecmp(proto, "tcp") == 0 || strcasecmp(proto, "tls") == 0);
    c->tls = proto && strcasecmp(proto, "tls") == 0;
    /* timeout is a Go time.Duration: nanoseconds */
    json_t *to = json_object_get(e, "timeout");
    int64_t ns = json_is_integer(to) ? json_integer_value(to)
                 : json_is_real(to)  ? (int64_t)json_real_value(to)
                                     : 0;
    c->timeout_ms = ns > 0 ? (uint64_t)(ns + 999999) / 1000000
                           : (c->tcp ? TCP_DEFAULT_TIMEOUT_MS : HTTP_DEFAULT_TIMEOUT_MS);
    c->host = url_host(url);
    if (!c->host) {
        *why = "the url has no host";
        return false;
    }
    if (c->tcp) {
        if (!split_hostport(c)) {
            *why = "tcp/tls checks need host:port";
            return false;
        }
        json_t *cmds = json_object_get(e, "commands");
        size_t n = json_array_size(cmds);
        c->cmds = n ? tk_xcalloc(n, sizeof(*c->cmds)) : NULL;
        for (size_t i = 0; i < n; i++) {
            json_t *ce = json_array_get(cmds, i);
            const char *name = json_string_value(json_object_get(ce, "name"));
            const char *msg = json_string_value(json_object_get(ce, "message"));
            if (!name || (strcmp(name, "send") != 0 && strcmp(name, "expect") != 0) || !msg) {
                *why = "commands[] entries need name send|expect and a message";
                return false;
            }
            cmd_t *cm = &c->cmds[c->ncmds++];
            cm->send = strcmp(name, "send") == 0;
            cm->msg = tk_xstrdup(msg);
            cm->len = strlen(msg);
        }
        return true;
    }
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        *why = "http checks need an http:// or https:// url";
        return false;
    }
    const char *method = json_string_value(json_object_get(e, "method"));
    c->method = tk_xstrdup(method && *method ? method : "GET");
    for (char *m = c->method; *m; m++) {
        if (!isalpha((unsigned char)*m)) {
            *why = "bad method";
            return false;
        }
        *m = (char)toupper((unsigned char)*m);
    }
    /* Connection: close and the body length are added by tk_httpc. */
    struct evbuffer *h = evbuffer_new();
    bool ua = false;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(e, "headers"), k, v)
    {
        const char *sv = json_string_value(v);
        if (!sv || !*k || has_ctl(k) || has_ctl(sv) || strchr(k, ':'))
            continue;
        if (strcasecmp(k, "Connection") == 0 || strcasecmp(k, "Content-Length") == 0 ||
            strcasecmp(k, "Host") == 0)
            continue;
        ua |= strcasecmp(k, "User-Agent") == 0;
        evbuffer_add_printf(h, "%s: %s\r\n", k, sv);
    }
    if (!ua)
        evbuffer_add_printf(h, "User-Agent: Turnpike\r\n");
    size_t hl = evbuffer_get_length(h);
    c->headers = tk_xmalloc(hl + 1);
    evbuffer_remove(h, c->headers, hl);
    c->headers[hl] = '\0';
    evbuffer_free(h);
    /* The body is base64 in the definition (Tyk decodes it with StdEncoding). */
    const char *body = json_string_value(json_object_get(e, "body"));
    if (body && *body) {
        unsigned char *raw = tk_b64_decode(body, strlen(body), false, true, &c->body_len);
        if (!raw) {
            *why = "body is not valid base64";
            return false;
        }
        c->body = (char *)raw;
    }
    return true;
}

static check_t *find_check(check_t *list, size_t n, const char *url)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].url, url) == 0)
            return &list[i];
    return NULL;
}

static bool host_checked(const check_t *list, size_t n, const char *host)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(list[i].host, host) == 0)
            return true;
    return false;
}

void gw_uptime_set_gen(gw_uptime_t *u, gw_gen_t *g)
{
    if (!u)
        return;
    gw_gen_ref(g);
    check_t *list = NULL;
    size_t n = 0, cap = 0;
    size_t nwith = 0;
    for (size_t a = 0; a < g->napis; a++) {
        gw_api_t *api = g->apis[a];
        json_t *ut = json_object_get(api->def, "uptime_tests");
        json_t *cl = json_object_get(ut, "check_list");
        if (!json_array_size(cl) || json_is_true(json_object_get(ut, "disabled")))
            continue;
        if (nwith++ == 0)
            tk_log_info("[HOST CHECKER] Loading uptime tests...");
        json_t *exp = json_object_get(json_object_get(ut, "config"), "expire_utime_after");
        size_t i;
        json_t *e;
        json_array_foreach(cl, i, e)
        {
            check_t c = {0};
            const char *why = NULL;
            if (!check_parse(&c, e, &why)) {
                tk_log_warn("[HOST CHECKER] ---> Adding uptime test failed: api=%s %s: %s",
                            api->api_id, c.url ? c.url : "(no url)", why);
                check_clear(&c);
                continue;
            }
            c.api_id = tk_xstrdup(api->api_id);
            c.expire_after = json_is_integer(exp) ? json_integer_value(exp) : 0;
            tk_log_info("[HOST CHECKER] ---> Adding uptime test: %s", c.url);
            /* Tyk keeps its list in a map keyed by URL: a later entry replaces an earlier one. */
            check_t *dup = find_check(list, n, c.url);
            if (dup) {
                check_clear(dup);
                *dup = c;
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                list = tk_xrealloc(list, cap * sizeof(*list));
            }
            list[n++] = c;
        }
    }
    /* Sample counts and checks in flight carry over by URL; the rest is cancelled. */
    for (size_t i = 0; i < u->nchecks; i++) {
        check_t *old = &u->checks[i];
        check_t *nw = find_check(list, n, old->url);
        if (nw) {
            nw->sampled = old->sampled;
            nw->reached = old->reached;
            nw->count = old->count;
            nw->queued = old->queued;
            nw->probe = old->probe;
            if (nw->probe)
                nw->probe->c = nw;
            old->probe = NULL;
        } else {
            probe_cancel(u, old);
            if (!host_checked(list, n, old->host))
                set_host_down(old->host, false);
        }
    }
    for (size_t i = 0; i < u->nchecks; i++)
        check_clear(&u->checks[i]);
    free(u->checks);
    u->checks = list;
    u->nchecks = n;
    u->cursor = 0;
    u->list_seq++;
    if (u->gen)
        gw_gen_unref(u->gen);
    u->gen = g;
}

/* ---- records --------------------------------------------------------------------------- */

static tk_str_t str_of(const char *s)
{
    return (tk_str_t){s ? s : "", s ? strlen(s) : 0};
}

static void on_pushed(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    size_t n = (size_t)(uintptr_t)arg;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        tk_log_warn("[HOST CHECKER] Redis did not store %zu uptime record(s): %s", n,
                    reply ? reply->str : "no reply");
}

static void flush_records(gw_uptime_t *u)
{
    if (!u->nrec)
        return;
    size_t n = u->nrec;
    const char **argv = tk_xcalloc(n + 2, sizeof(*argv));
    size_t *lens = tk_xcalloc(n + 2, sizeof(*lens));
    argv[0] = "RPUSH";
    lens[0] = 5;
    argv[1] = UPTIME_LIST;
    lens[1] = strlen(UPTIME_LIST);
    for (size_t i = 0; i < n; i++) {
        size_t end = i + 1 < n ? u->offs[i + 1] : u->batch.len;
        argv[i + 2] = u->batch.data + u->offs[i];
        lens[i + 2] = end - u->offs[i];
    }
    if (tk_redis_cmd_argv(u->redis, on_pushed, (void *)(uintptr_t)n, (int)(n + 2), argv, lens) !=
        TK_OK)
        tk_log_warn("[HOST CHECKER] Redis unavailable: %zu uptime record(s) dropped", n);
    free(argv);
    free(lens);
    u->batch.len = 0;
    u->nrec = 0;
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    flush_records(arg);
}

/* Tyk's RecordUptimeAnalytics. */
static void record(gw_uptime_t *u, const check_t *c, bool tcp_error, int status, double ms)
{
    uint64_t now = tk_wall_ns();
    time_t sec = (time_t)(now / 1000000000ULL);
    struct tm tm;
    localtime_r(&sec, &tm);
    gw_api_t *api = u->gen ? gw_gen_find_api(u->gen, c->api_id) : NULL;
    int64_t expire = c->expire_after ? c->expire_after : HUNDRED_YEARS_S;
    tk_uptime_record_t r = {
        .url = str_of(c->url),
        .request_time = (int64_t)ms,
        .response_code = tcp_error ? TCP_ERROR_CODE : status,
        .tcp_error = tcp_error,
        .server_error = status > 200, /* Tyk: anything above 200, before the 521 override */
        .day = tm.tm_mday,
        .month = tm.tm_mon + 1,
        .year = tm.tm_year + 1900,
        .hour = tm.tm_hour,
        .minute = tm.tm_min,
        .timestamp = {(int64_t)sec, (int64_t)(now % 1000000000ULL)},
        .expire_at = {(int64_t)sec + expire, (int64_t)(now % 1000000000ULL)},
        .api_id = str_of(c->api_id),
        .org_id = str_of(api ? api->org_id : ""),
    };
    if (u->nrec == u->caprec) {
        u->caprec = u->caprec ? u->caprec * 2 : 32;
        u->offs = tk_xrealloc(u->offs, u->caprec * sizeof(*u->offs));
    }
    u->offs[u->nrec++] = u->batch.len;
    tk_uptime_encode(&r, &u->batch);
    if (u->nrec >= FLUSH_AT) {
        flush_records(u);
        return;
    }
    if (u->nrec == 1) {
        struct timeval tv = {0, FLUSH_AFTER_MS * 1000};
        evtimer_add(u->flush_ev, &tv);
    }
}

/* ---- host state (Tyk's HostReporter, OnHostDown, OnHostBackUp) --------------------------- */

static void host_down(gw_uptime_t *u, const check_t *c)
{
    char key[512];
    snprintf(key, sizeof(key), DOWN_KEY "%s", c->host);
    int ttl = u->check_timeout_s * u->limit;
    tk_redis_cmd(u->redis, NULL, NULL, "SET %s 1 EX %d", key, ttl > 0 ? ttl : 1);
    if (set_host_down(c->host, true))
        tk_log_warn("[HOST CHECKER MANAGER] Host is DOWN: %s", c->url);
}

static void host_up(gw_uptime_t *u, const check_t *c)
{
    char key[512];
    snprintf(key, sizeof(key), DOWN_KEY "%s", c->host);
    tk_redis_cmd(u->redis, NULL, NULL, "DEL %s", key);
    set_host_down(c->host, false);
    tk_log_warn("[HOST CHECKER MANAGER] Host is UP:   %s", c->url);
}

static void report(gw_uptime_t *u, check_t *c, bool tcp_error, int status, double ms)
{
    if (tcp_error || status != 200) {
        int count = c->sampled ? c->count + 1 : 1;
        if (count >= u->limit) {
            tk_log_warn("[HOST CHECKER] [HOST DOWN]: %s", c->url);
            if (!c->reached) {
                c->reached = c->sampled = true;
                c->count = count;
            }
            host_down(u, c);
            gw_event_host(gw_gen_find_api(u->gen, c->api_id), true, c->url, c->host, status,
                          tcp_error);
        } else {
            tk_log_warn("[HOST CHECKER] [HOST DOWN BUT NOT REACHED LIMIT]: %s", c->url);
            c->sampled = true;
            c->count = count;
        }
    } else if (c->sampled && c->reached) {
        if (c->count - 1 <= 0) {
            c->sampled = c->reached = false;
            c->count = 0;
            tk_log_warn("[HOST CHECKER] [HOST UP]: %s", c->url);
            host_up(u, c);
            gw_event_host(gw_gen_find_api(u->gen, c->api_id), false, c->url, c->host, status,
                          tcp_error);
        } else {
            c->count--;
            tk_log_warn("[HOST CHECKER] [HOST UP BUT NOT REACHED LIMIT]: %s", c->url);
        }
    }
    if (u->conf->uptime_tests_config_enable_uptime_analytics)
        record(u, c, tcp_error, status, ms);
}

/* ---- running checks -------------------------------------------------------------------- */

static void pump(gw_uptime_t *u)
{
    for (size_t seen = 0; seen < u->nchecks && u->inflight < u->pool; seen++) {
        check_t *c = &u->checks[u->cursor];
        u->cursor = (u->cursor + 1) % u->nchecks;
        if (c->queued && !c->probe)
            probe_start(u, c);
    }
}

static void probe_free(probe_t *p)
{
    if (p->st)
        tk_stream_free(p->st);
    if (p->timer)
        event_free(p->timer);
    if (p->done_ev)
        event_free(p->done_ev);
    free(p);
}

/* A probe ended (from the loop, outside every stream callback): report, free, start more. */
static void probe_complete(probe_t *p, bool tcp_error, int status)
{
    gw_uptime_t *u = p->u;
    check_t *c = p->c;
    double ms = (double)(tk_now_ns() - p->t0) / 1e6;
    u->inflight--;
    probe_free(p);
    if (c) {
        c->probe = NULL;
        report(u, c, tcp_error, status, ms);
    }
    if (!u->closing && u->polling)
        pump(u);
}

static void on_http_done(int status, const char *body, size_t len, const char *err, void *arg)
{
    TK_UNUSED(body);
    TK_UNUSED(len);
    probe_t *p = arg;
    p->http = NULL; /* tk_httpc frees itself after this callback */
    if (status == 0 && p->c)
        tk_log_debug("[HOST CHECKER] %s: %s", p->c->url, err ? err : "failed");
    probe_complete(p, status == 0, status);
}

/* TCP and TLS: connect, then the send/expect commands; 200 when it all went through. */
static void tcp_finish(probe_t *p, bool tcp_error)
{
    if (p->finished)
        return;
    p->finished = true;
    p->tcp_error = tcp_error;
    p->status = p->connected ? 200 : 0;
    if (p->st)
        tk_stream_read(p->st, false);
    event_del(p->timer);
    event_active(p->done_ev, EV_TIMEOUT, 0);
}

static void on_tcp_done_ev(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    probe_t *p = arg;
    probe_complete(p, p->tcp_error, p->status);
}

static void on_tcp_timeout(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    probe_t *p = arg;
    if (p->c)
        tk_log_error("[HOST CHECKER] %s: %s timed out", p->c->url,
                     p->connected ? "expect" : "connect");
    tcp_finish(p, true);
}

static void tcp_run_cmds(probe_t *p)
{
    const check_t *c = p->c;
    struct evbuffer *in = tk_stream_input(p->st);
    while (c && p->cmd_i < c->ncmds) {
        const cmd_t *cm = &c->cmds[p->cmd_i];
        if (cm->send) {
            evbuffer_add(tk_stream_output(p->st), cm->msg, cm->len);
            p->cmd_i++;
            continue;
        }
        if (evbuffer_get_length(in) < cm->len)
            return; /* wait for more */
        const char *got = (const char *)evbuffer_pullup(in, (ssize_t)cm->len);
        if (cm->len && memcmp(got, cm->msg, cm->len) != 0) {
            tk_log_error("[HOST CHECKER] Failed expectation expected \"%s\" got \"%.*s\"", cm->msg,
                         (int)cm->len, got);
            tcp_finish(p, true);
            return;
        }
        evbuffer_drain(in, cm->len);
        p->cmd_i++;
    }
    tcp_finish(p, false);
}

static void on_tcp_read(tk_stream_t *s, void *arg)
{
    TK_UNUSED(s);
    probe_t *p = arg;
    if (!p->finished)
        tcp_run_cmds(p);
}

static void on_tcp_event(tk_stream_t *s, int what, void *arg)
{
    TK_UNUSED(s);
    probe_t *p = arg;
    if (p->finished)
        return;
    if (what & TK_STREAM_CONNECTED) {
        p->connected = true;
        tcp_run_cmds(p);
        return;
    }
    if (p->c)
        tk_log_error("[HOST CHECKER] Could not connect to host: %s: %s", p->c->url,
                     (what & TK_STREAM_ERROR) ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                              : "connection closed");
    tcp_finish(p, true);
}

static void tcp_connect(probe_t *p, struct sockaddr *sa, int salen)
{
    gw_uptime_t *u = p->u;
    const check_t *c = p->c;
    SSL *ssl = NULL;
    if (c->tls) {
        bool verify = !u->conf->proxy_ssl_insecure_skip_verify;
        ssl = SSL_new(verify ? u->srv->up_ssl_verify : u->srv->up_ssl_noverify);
        if (!ssl) {
            tcp_finish(p, true);
            return;
        }
        tk_ssl_set_peer(ssl, c->dial_host, verify);
    }
    p->st = tk_stream_new(u->base, -1, ssl, false);
    tk_stream_setcb(p->st, on_tcp_read, NULL, on_tcp_event, p);
    if (c->tls)
        tk_stream_allow_dirty_shutdown(p->st);
    if (tk_stream_connect(p->st, sa, salen) != TK_OK)
        tcp_finish(p, true);
}

static void on_tcp_dns(int err, struct evutil_addrinfo *res, void *arg)
{
    probe_t *p = arg;
    p->dns_req = NULL;
    if (p->dns_cancelled) { /* cancelled: nobody else holds the probe */
        if (res)
            evutil_freeaddrinfo(res);
        probe_free(p);
        return;
    }
    if (err || !res || p->finished) {
        if (res)
            evutil_freeaddrinfo(res);
        if (p->c)
            tk_log_error("[HOST CHECKER] Could not connect to host: %s: lookup failed", p->c->url);
        tcp_finish(p, true);
        return;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    int len = (int)res->ai_addrlen;
    evutil_freeaddrinfo(res);
    tk_sockaddr_set_port(&ss, p->c->dial_port);
    tcp_connect(p, (struct sockaddr *)&ss, len);
}

static void tcp_start(probe_t *p)
{
    gw_uptime_t *u = p->u;
    const check_t *c = p->c;
    p->timer = evtimer_new(u->base, on_tcp_timeout, p);
    p->done_ev = event_new(u->base, -1, 0, on_tcp_done_ev, p);
    struct timeval tv = {(time_t)(c->timeout_ms / 1000),
                         (suseconds_t)(c->timeout_ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
    struct sockaddr_storage ss;
    const char *h = strcasecmp(c->dial_host, "localhost") == 0 ? "127.0.0.1" : c->dial_host;
    int len = tk_sockaddr_from_ip(h, c->dial_port, &ss);
    if (!len) {
        struct evutil_addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        struct evdns_getaddrinfo_request *r =
            evdns_getaddrinfo(u->dns, c->dial_host, NULL, &hints, on_tcp_dns, p);
        if (r) /* the callback may already have run */
            p->dns_req = r;
        return;
    }
    tcp_connect(p, (struct sockaddr *)&ss, len);
}

static void probe_start(gw_uptime_t *u, check_t *c)
{
    tk_log_debug("[HOST CHECKER] Checking: %s", c->url);
    c->queued = false;
    probe_t *p = tk_xcalloc(1, sizeof(*p));
    p->u = u;
    p->c = c;
    p->t0 = tk_now_ns();
    c->probe = p;
    u->inflight++;
    if (c->tcp) {
        tcp_start(p);
        return;
    }
    bool verify = !u->conf->proxy_ssl_insecure_skip_verify;
    tk_httpc_opts_t o = {
        .base = u->base,
        .dns = u->dns,
        .ssl_ctx = verify ? u->srv->up_ssl_verify : u->srv->up_ssl_noverify,
        .verify_host = verify,
        .timeout_ms = c->timeout_ms,
        .method = c->method,
        .headers = c->headers,
        .body = c->body,
        .body_len = c->body_len,
        .status_only = true,
    };
    p->http = tk_httpc_get(&o, c->url, on_http_done, p);
    if (!p->http) { /* Tyk: "Could not create request", and no report */
        tk_log_error("[HOST CHECKER] Could not create request: %s", c->url);
        c->probe = NULL;
        u->inflight--;
        probe_free(p);
    }
}

/* Drops @c's probe without a report (list changed, poller stopped, shutdown). */
static void probe_cancel(gw_uptime_t *u, check_t *c)
{
    probe_t *p = c->probe;
    c->queued = false;
    if (!p)
        return;
    c->probe = NULL;
    p->c = NULL;
    u->inflight--;
    if (p->http) {
        tk_httpc_cancel(p->http); /* its callback will not run */
        probe_free(p);
        return;
    }
    if (p->dns_req) { /* the resolver calls back with a cancel error; free there */
        struct evdns_getaddrinfo_request *r = p->dns_req;
        p->dns_req = NULL;
        p->dns_cancelled = true;
        evdns_getaddrinfo_cancel(r);
        return;
    }
    probe_free(p);
}

static void cancel_all(gw_uptime_t *u)
{
    for (size_t i = 0; i < u->nchecks; i++)
        probe_cancel(u, &u->checks[i]);
}

/* A round: every check not still running from the last one is queued. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_uptime_t *u = arg;
    for (size_t i = 0; i < u->nchecks; i++)
        if (!u->checks[i].probe)
            u->checks[i].queued = true;
    pump(u);
}

/* ---- who polls (Tyk's AmIPolling), and following the poller's markers -------------------- */

static int round_interval_s(const gw_uptime_t *u)
{
    int t = u->check_timeout_s;
    if (t <= 5)
        return t;
    return t - 3 + (int)(tk_now_ns() % 6); /* Tyk staggers intervals above 5 s by ±3 s */
}

static void become(gw_uptime_t *u, bool poll)
{
    bool first = !u->decided;
    u->decided = true;
    if (poll && !u->polling) {
        tk_log_info("[HOST CHECKER] Starting Poller");
        u->polling = true;
        event_del(u->follow_ev);
        /* As in Tyk, a new poller starts with no host down; its own checks decide. */
        for (size_t i = 0; i < u->nchecks; i++)
            set_host_down(u->checks[i].host, false);
        struct timeval tv = {round_interval_s(u), 0};
        evtimer_add(u->tick_ev, &tv);
    } else if (!poll && (u->polling || first)) {
        if (u->polling)
            tk_log_info("[HOST CHECKER] New master found, no tests running");
        u->polling = false;
        event_del(u->tick_ev);
        cancel_all(u);
        for (size_t i = 0; i < u->nchecks; i++) { /* Tyk resets samples when the poller stops */
            u->checks[i].sampled = u->checks[i].reached = false;
            u->checks[i].count = 0;
        }
        struct timeval tv = {0, FOLLOW_EVERY_MS * 1000};
        event_add(u->follow_ev, &tv);
    }
}

static void on_leader_claimed(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    gw_uptime_t *u = arg;
    if (u->closing)
        return;
    /* OK: ours. Nil: another gateway won the race. No reply: Redis is away and, as Tyk, we
     * assume control. */
    become(u, !reply || reply->type != REDIS_REPLY_NIL);
}

static void on_leader_get(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    gw_uptime_t *u = arg;
    if (u->closing)
        return;
    const char *id = u->srv->node_id;
    if (reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, id) != 0) {
        become(u, false);
        return;
    }
    bool ours = reply && reply->type == REDIS_REPLY_STRING;
    int rc = ours ? tk_redis_cmd(u->redis, on_leader_claimed, u, "SET %s %s EX %d", u->leader_key,
                                 id, LEADER_TTL_S)
                  : tk_redis_cmd(u->redis, on_leader_claimed, u, "SET %s %s EX %d NX",
                                 u->leader_key, id, LEADER_TTL_S);
    if (rc != TK_OK)
        become(u, true);
}

static void leader_check(gw_uptime_t *u)
{
    if (tk_redis_cmd(u->redis, on_leader_get, u, "GET %s", u->leader_key) != TK_OK)
        become(u, true); /* Tyk: no answer from the store means "assume control" */
}

static void on_leader_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    leader_check(arg);
}

static void on_redis_state(tk_redis_t *r, bool up, void *arg)
{
    TK_UNUSED(r);
    gw_uptime_t *u = arg;
    if (up && !u->closing)
        leader_check(u);
}

struct follow {
    gw_uptime_t *u;
    uint64_t seq;
};

static void on_markers(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    struct follow *f = arg;
    gw_uptime_t *u = f->u;
    bool current = !u->closing && f->seq == u->list_seq && !u->polling;
    free(f);
    if (!current || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != u->nchecks)
        return;
    /* A host is down when any check on it has a marker (all checks of a host share one). */
    for (size_t i = 0; i < u->nchecks; i++) {
        redisReply *e = reply->element[i];
        bool down = e->type == REDIS_REPLY_STRING && strcmp(e->str, "1") == 0;
        if (down || !host_checked(u->checks, i, u->checks[i].host))
            set_host_down(u->checks[i].host, down);
    }
}

/* Not the poller: mirror the poller's down markers (Tyk reads them per request instead). */
static void on_follow_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_uptime_t *u = arg;
    if (!u->nchecks || u->polling)
        return;
    const char **argv = tk_xcalloc(u->nchecks + 1, sizeof(*argv));
    char **keys = tk_xcalloc(u->nchecks, sizeof(*keys));
    argv[0] = "MGET";
    for (size_t i = 0; i < u->nchecks; i++) {
        size_t n = strlen(DOWN_KEY) + strlen(u->checks[i].host) + 1;
        keys[i] = tk_xmalloc(n);
        snprintf(keys[i], n, DOWN_KEY "%s", u->checks[i].host);
        argv[i + 1] = keys[i];
    }
    struct follow *f = tk_xcalloc(1, sizeof(*f));
    f->u = u;
    f->seq = u->list_seq;
    if (tk_redis_cmd_argv(u->redis, on_markers, f, (int)u->nchecks + 1, argv, NULL) != TK_OK)
        free(f);
    for (size_t i = 0; i < u->nchecks; i++)
        free(keys[i]);
    free(keys);
    free(argv);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

gw_uptime_t *gw_uptime_new(gw_server_t *srv, struct event_base *base)
{
    const gw_conf_t *conf = srv->conf;
    if (conf->uptime_tests_disable) {
        tk_log_info("[HOST CHECKER] uptime tests are disabled (uptime_tests.disable)");
        return NULL;
    }
    gw_uptime_t *u = tk_xcalloc(1, sizeof(*u));
    u->srv = srv;
    u->conf = conf;
    u->base = base;
    u->limit = conf->uptime_tests_config_failure_trigger_sample_size > 0
                   ? (int)conf->uptime_tests_config_failure_trigger_sample_size
                   : 3;
    u->check_timeout_s = conf->uptime_tests_config_time_wait > 0
                             ? (int)conf->uptime_tests_config_time_wait
                             : DEFAULT_INTERVAL_S;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    u->pool = conf->uptime_tests_config_checker_pool_size > 0
                  ? (size_t)conf->uptime_tests_config_checker_pool_size
                  : (size_t)(cpus > 0 ? cpus : 1);
    const char *group = conf->uptime_tests_poller_group;
    snprintf(u->leader_key, sizeof(u->leader_key), "%s%s%s", LEADER_KEY, group && *group ? "." : "",
             group && *group ? group : "");
    if (conf->turnpike_dns_nameservers.n) {
        u->dns = evdns_base_new(base, 0);
        for (size_t k = 0; k < conf->turnpike_dns_nameservers.n; k++)
            evdns_base_nameserver_ip_add(u->dns, conf->turnpike_dns_nameservers.v[k]);
        evdns_base_load_hosts(u->dns, NULL);
    } else {
        u->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                          EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    }
    tk_redis_opts_t ro;
    gw_analytics_redis_opts(conf, &ro); /* Tyk keeps uptime data in the analytics store */
    u->redis = tk_redis_new(base, &ro, on_redis_state, u);
    u->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, u);
    u->follow_ev = event_new(base, -1, EV_PERSIST, on_follow_timer, u);
    u->flush_ev = evtimer_new(base, on_flush_timer, u);
    u->leader_ev = event_new(base, -1, EV_PERSIST, on_leader_timer, u);
    struct timeval lt = {LEADER_EVERY_S, 0};
    event_add(u->leader_ev, &lt);
    tk_log_info("[HOST CHECKER] uptime checker ready: rounds every ~%d s, %d failure(s) mark a "
                "host down, %zu check(s) at once, analytics %s",
                u->check_timeout_s, u->limit, u->pool,
                conf->uptime_tests_config_enable_uptime_analytics ? "on" : "off");
    return u;
}

void gw_uptime_free(gw_uptime_t *u)
{
    if (!u)
        return;
    u->closing = true;
    cancel_all(u);
    flush_records(u);
    /* Let cancelled HTTP checks release themselves and the last RPUSH go out. */
    event_base_loop(u->base, EVLOOP_NONBLOCK);
    tk_redis_free(u->redis);
    event_free(u->tick_ev);
    event_free(u->follow_ev);
    event_free(u->flush_ev);
    event_free(u->leader_ev);
    evdns_base_free(u->dns, 1);
    for (size_t i = 0; i < u->nchecks; i++)
        check_clear(&u->checks[i]);
    free(u->checks);
    if (u->gen)
        gw_gen_unref(u->gen);
    tk_buf_free(&u->batch);
    free(u->offs);
    free(u);
}
