/* SPDX-License-Identifier: Apache-2.0 */
/* Asynchronous Redis client: a bufferevent connection per client, hiredis only as RESP codec. */
#include "tk_redis.h"
#include "tk_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/util.h>

/*
 * Life of a connection:
 *
 *   IDLE --(reconnect timer)--> CONNECTING --(TCP up)--> HANDSHAKE --(AUTH/SELECT ok)--> UP
 *     ^                              |                       |                          |
 *     +------------------------------+-----------------------+--------------------------+
 *                        (error, EOF, connect timeout, command timeout)
 *
 * Every drop fails all pending callbacks with NULL and arms the reconnect timer with the current
 * backoff. The state callback fires only on UP and on leaving UP, so a client that never
 * authenticates never reports up (and therefore never reports down either).
 *
 * Reentrancy: every libevent entry point brackets its work with enter()/leave(). A
 * tk_redis_free() inside a user callback only marks the client; the last leave() destroys it.
 */

enum conn_state {
    ST_IDLE = 0,
    ST_CONNECTING = 1,
    ST_HANDSHAKE = 2,
    ST_UP = 3,
};

/* Internal commands of the handshake, passed as the callback argument for log messages. */
enum hs_cmd {
    HS_AUTH = 1,
    HS_SELECT = 2,
};

struct pending {
    tk_redis_cb cb;
    void *arg;
    uint64_t deadline_ms; /* 0 = no timeout */
};

struct sub {
    struct sub *next;
    char *channel;
    tk_redis_msg_cb cb;
    void *arg;
};

struct tk_redis {
    struct event_base *base;
    char *host;
    int port;
    char *username;
    char *password;
    int database;
    int connect_timeout_ms;
    int command_timeout_ms; /* <= 0 after defaults: disabled */
    int backoff_min_ms;
    int backoff_max_ms;
    tk_redis_state_cb on_state;
    void *state_arg;

    enum conn_state state;
    struct bufferevent *bev;
    redisReader *reader;
    struct evdns_base *dns; /* created on the first hostname that is not a literal */
    uint64_t gen;           /* bumped whenever a connection is torn down */
    int handshake_left;     /* AUTH/SELECT replies still expected */
    bool sub_mode;          /* SUBSCRIBE sent on this connection */
    bool ever_up;
    unsigned failures; /* failed attempts since the last UP, for log throttling */

    /* FIFO of commands awaiting replies: a ring buffer that doubles when full. */
    struct pending *q;
    size_t qcap, qhead, qlen;

    struct event *reconnect_ev;
    struct event *connect_timer;
    struct event *cmd_timer;
    int backoff_ms;
    uint64_t rng;

    struct sub *subs;

    int depth;           /* nesting of libevent entry points currently running */
    bool free_requested; /* tk_redis_free() called; destroy when depth drops to 0 */

    tk_redis_stats_t stats;
};

static void conn_lost(tk_redis_t *r, const char *why);
static void start_connect(tk_redis_t *r);

/* ---- small helpers ---------------------------------------------------------------------- */

static void ms_to_tv(int ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

static uint64_t next_rand(tk_redis_t *r)
{
    /* xorshift64: jitter only needs to differ between clients, not to be unpredictable. */
    uint64_t x = r->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->rng = x;
    return x;
}

static void q_push(tk_redis_t *r, tk_redis_cb cb, void *arg)
{
    if (r->qlen == r->qcap) {
        size_t ncap = r->qcap ? r->qcap * 2 : 16;
        struct pending *nq = tk_xmalloc(ncap * sizeof(*nq));
        for (size_t i = 0; i < r->qlen; i++)
            nq[i] = r->q[(r->qhead + i) % r->qcap];
        free(r->q);
        r->q = nq;
        r->qcap = ncap;
        r->qhead = 0;
    }
    struct pending *p = &r->q[(r->qhead + r->qlen) % r->qcap];
    p->cb = cb;
    p->arg = arg;
    p->deadline_ms = r->command_timeout_ms > 0 ? tk_now_ms() + (uint64_t)r->command_timeout_ms : 0;
    r->qlen++;

    /* The timer only ever looks at the head; arming it when the queue fills from empty is
     * enough, because on expiry it re-arms itself for whatever the head is by then. */
    if (p->deadline_ms && !evtimer_pending(r->cmd_timer, NULL)) {
        struct timeval tv;
        ms_to_tv(r->command_timeout_ms, &tv);
        evtimer_add(r->cmd_timer, &tv);
    }
}

static struct pending q_pop(tk_redis_t *r)
{
    struct pending p = r->q[r->qhead];
    r->qhead = (r->qhead + 1) % r->qcap;
    r->qlen--;
    return p;
}

/* Calls every pending callback with NULL, oldest first. No command can be queued meanwhile
 * because the state is no longer UP. */
static void fail_pending(tk_redis_t *r)
{
    while (r->qlen > 0) {
        struct pending p = q_pop(r);
        r->stats.failed++;
        if (p.cb)
            p.cb(r, NULL, p.arg);
    }
}

/* Writes one already-formatted command and queues its callback. */
static void send_raw(tk_redis_t *r, const char *cmd, size_t len, tk_redis_cb cb, void *arg)
{
    bufferevent_write(r->bev, cmd, len);
    q_push(r, cb, arg);
}

/* Formats and sends an internal command; internal formats never fail. */
static void send_internal(tk_redis_t *r, tk_redis_cb cb, void *arg, int argc, const char **argv)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
    TK_ASSERT(len > 0 && cmd);
    send_raw(r, cmd, (size_t)len, cb, arg);
    redisFreeCommand(cmd);
}

/* ---- connection teardown ---------------------------------------------------------------- */

static void close_conn(tk_redis_t *r)
{
    if (r->bev) {
        /* Safe inside the bufferevent's own callbacks: libevent holds a reference there, and
         * bufferevent_free() clears the callbacks so nothing more is delivered for it. */
        bufferevent_free(r->bev);
        r->bev = NULL;
    }
    if (r->reader) {
        redisReaderFree(r->reader);
        r->reader = NULL;
    }
    evtimer_del(r->connect_timer);
    evtimer_del(r->cmd_timer);
    r->state = ST_IDLE;
    r->sub_mode = false;
    r->handshake_left = 0;
    r->gen++;
}

static void schedule_reconnect(tk_redis_t *r)
{
    int delay = r->backoff_ms;
    if (delay > 0)
        delay += (int)(next_rand(r) % (uint64_t)(delay / 10 + 1)); /* up to +10% jitter */
    r->backoff_ms = TK_MIN(r->backoff_ms * 2, r->backoff_max_ms);
    struct timeval tv;
    ms_to_tv(delay, &tv);
    evtimer_add(r->reconnect_ev, &tv);
}

/* Drops the current connection (or connection attempt) for @why and plans the next attempt. */
static void conn_lost(tk_redis_t *r, const char *why)
{
    bool was_up = r->state == ST_UP;
    close_conn(r);
    fail_pending(r);
    if (was_up) {
        r->stats.disconnects++;
        r->backoff_ms = r->backoff_min_ms;
        r->failures = 1;
        tk_log_warn("redis %s:%d: connection lost: %s", r->host, r->port, why);
        if (r->on_state && !r->free_requested)
            r->on_state(r, false, r->state_arg);
    } else {
        /* A server that stays away would otherwise log once per backoff step forever. */
        if (r->failures++ == 0)
            tk_log_warn("redis %s:%d: connect failed: %s", r->host, r->port, why);
        else
            tk_log_debug("redis %s:%d: connect failed: %s", r->host, r->port, why);
    }
    if (!r->free_requested)
        schedule_reconnect(r);
}

/* ---- entry-point bracketing and destruction ----------------------------------------------- */

static void destroy(tk_redis_t *r)
{
    close_conn(r);
    fail_pending(r);
    event_free(r->reconnect_ev);
    event_free(r->connect_timer);
    event_free(r->cmd_timer);
    if (r->dns)
        evdns_base_free(r->dns, 0);
    while (r->subs) {
        struct sub *s = r->subs;
        r->subs = s->next;
        free(s->channel);
        free(s);
    }
    free(r->q);
    free(r->host);
    free(r->username);
    free(r->password);
    free(r);
}

static void enter(tk_redis_t *r)
{
    r->depth++;
}

static void leave(tk_redis_t *r)
{
    if (--r->depth == 0 && r->free_requested)
        destroy(r);
}

/* ---- connection setup -------------------------------------------------------------------- */

static void send_subscribe(tk_redis_t *r, const struct sub *s);

static void became_up(tk_redis_t *r)
{
    evtimer_del(r->connect_timer);
    r->state = ST_UP;
    r->backoff_ms = r->backoff_min_ms;
    r->stats.connects++;
    if (r->ever_up || r->failures > 0)
        tk_log_info("redis %s:%d: connected", r->host, r->port);
    r->ever_up = true;
    r->failures = 0;
    for (const struct sub *s = r->subs; s; s = s->next)
        send_subscribe(r, s);
    if (r->on_state)
        r->on_state(r, true, r->state_arg);
}

static void on_handshake_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    if (!reply)
        return; /* the connection is already being torn down */
    const char *what = (uintptr_t)arg == HS_AUTH ? "AUTH" : "SELECT";
    if (reply->type == REDIS_REPLY_ERROR) {
        /* A wrong password is retried with backoff like any failure (the server may be
         * reconfigured), but only the first attempt of a series is logged as an error. */
        if (r->failures == 0)
            tk_log_error("redis %s:%d: %s failed: %s", r->host, r->port, what, reply->str);
        else
            tk_log_debug("redis %s:%d: %s failed: %s", r->host, r->port, what, reply->str);
        conn_lost(r, what);
        return;
    }
    if (--r->handshake_left == 0)
        became_up(r);
}

static void on_connected(tk_redis_t *r)
{
    evutil_socket_t fd = bufferevent_getfd(r->bev);
    int one = 1;
    /* Small pipelined commands must not wait for Nagle; keepalive finds dead idle peers. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));

    r->reader = redisReaderCreate();
    TK_ASSERT(r->reader);
    r->state = ST_HANDSHAKE;
    r->handshake_left = 0;
    if (r->password[0]) {
        const char *argv[3] = {"AUTH", r->username, r->password};
        if (r->username[0])
            send_internal(r, on_handshake_reply, (void *)(uintptr_t)HS_AUTH, 3, argv);
        else {
            argv[1] = r->password;
            send_internal(r, on_handshake_reply, (void *)(uintptr_t)HS_AUTH, 2, argv);
        }
        r->handshake_left++;
    }
    if (r->database > 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->database);
        const char *argv[2] = {"SELECT", db};
        send_internal(r, on_handshake_reply, (void *)(uintptr_t)HS_SELECT, 2, argv);
        r->handshake_left++;
    }
    if (r->handshake_left == 0)
        became_up(r);
}

static bool is_message(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
           reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len == 7 &&
           memcmp(reply->element[0]->str, "message", 7) == 0 &&
           reply->element[1]->type == REDIS_REPLY_STRING &&
           reply->element[2]->type == REDIS_REPLY_STRING;
}

static void dispatch_message(tk_redis_t *r, const redisReply *reply)
{
    const redisReply *ch = reply->element[1], *payload = reply->element[2];
    for (struct sub *s = r->subs; s; s = s->next) {
        if (strlen(s->channel) == ch->len && memcmp(s->channel, ch->str, ch->len) == 0) {
            r->stats.messages++;
            /* Return right away: the callback may add subscriptions to the list. */
            s->cb(r, ch->str, payload->str, payload->len, s->arg);
            return;
        }
    }
}

/* Hands every complete reply in the reader to its callback, in order. Stops when the
 * connection is replaced or the client freed from inside a callback. */
static void process_replies(tk_redis_t *r)
{
    uint64_t gen = r->gen;
    for (;;) {
        void *out = NULL;
        if (redisReaderGetReply(r->reader, &out) != REDIS_OK) {
            char why[160];
            snprintf(why, sizeof(why), "protocol error: %s", redisReaderGetError(r->reader));
            conn_lost(r, why);
            return;
        }
        if (!out)
            return;
        redisReply *reply = out;
        if (r->sub_mode && is_message(reply)) {
            dispatch_message(r, reply);
        } else if (r->qlen == 0) {
            freeReplyObject(reply);
            conn_lost(r, "reply without a pending command");
            return;
        } else {
            struct pending p = q_pop(r);
            r->stats.replies++;
            if (p.cb)
                p.cb(r, reply, p.arg);
        }
        freeReplyObject(reply);
        if (r->gen != gen || r->free_requested)
            return;
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    tk_redis_t *r = arg;
    enter(r);
    struct evbuffer *in = bufferevent_get_input(bev);
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v[16];
        int n = evbuffer_peek(in, -1, NULL, v, 16);
        size_t total = 0;
        for (int i = 0; i < n && i < 16; i++) {
            if (redisReaderFeed(r->reader, v[i].iov_base, v[i].iov_len) != REDIS_OK) {
                conn_lost(r, "reader out of memory");
                goto out;
            }
            total += v[i].iov_len;
        }
        evbuffer_drain(in, total);
    }
    process_replies(r);
out:
    leave(r);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    tk_redis_t *r = arg;
    enter(r);
    if (what & BEV_EVENT_CONNECTED) {
        on_connected(r);
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        char why[160];
        int dns_err = bufferevent_socket_get_dns_error(bev);
        if (dns_err)
            snprintf(why, sizeof(why), "resolve: %s", evutil_gai_strerror(dns_err));
        else if (what & BEV_EVENT_EOF)
            snprintf(why, sizeof(why), "closed by server");
        else
            snprintf(why, sizeof(why), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        conn_lost(r, why);
    }
    leave(r);
}

static void on_connect_timeout(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    tk_redis_t *r = arg;
    enter(r);
    if (r->state == ST_CONNECTING || r->state == ST_HANDSHAKE)
        conn_lost(r, "connect timeout");
    leave(r);
}

static void on_cmd_timer(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    tk_redis_t *r = arg;
    enter(r);
    if (r->qlen > 0 && r->state != ST_IDLE) {
        uint64_t now = tk_now_ms(), dl = r->q[r->qhead].deadline_ms;
        if (dl && now >= dl) {
            /* Replies are matched by position, so one lost reply poisons the connection:
             * the only safe recovery is a new one. */
            r->stats.timeouts++;
            char why[64];
            snprintf(why, sizeof(why), "command timed out after %d ms", r->command_timeout_ms);
            conn_lost(r, why);
        } else if (dl) {
            struct timeval tv;
            ms_to_tv((int)(dl - now), &tv);
            evtimer_add(r->cmd_timer, &tv);
        }
    }
    leave(r);
}

static void on_reconnect(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    tk_redis_t *r = arg;
    enter(r);
    start_connect(r);
    leave(r);
}

/* Fills @ss from an IP literal; "localhost" is taken as 127.0.0.1 so it never needs DNS. */
static bool parse_literal(const char *host, int port, struct sockaddr_storage *ss, int *sslen)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, h, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *sslen = sizeof(*sin);
        return true;
    }
    /* Accept the bracketed form too ("[::1]"), as URLs write it. */
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']' && n - 2 < sizeof(buf)) {
        memcpy(buf, h + 1, n - 2);
        buf[n - 2] = '\0';
        h = buf;
    }
    if (inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof(*sin6);
        return true;
    }
    return false;
}

static void start_connect(tk_redis_t *r)
{
    TK_ASSERT(r->state == ST_IDLE && !r->bev);
    r->bev = bufferevent_socket_new(r->base, -1, BEV_OPT_CLOSE_ON_FREE);
    TK_ASSERT(r->bev);
    bufferevent_setcb(r->bev, on_read, NULL, on_event, r);
    bufferevent_enable(r->bev, EV_READ | EV_WRITE);
    r->state = ST_CONNECTING;

    struct timeval tv;
    ms_to_tv(r->connect_timeout_ms, &tv);
    evtimer_add(r->connect_timer, &tv);

    struct sockaddr_storage ss;
    int sslen = 0;
    int rc;
    if (parse_literal(r->host, r->port, &ss, &sslen)) {
        rc = bufferevent_socket_connect(r->bev, (struct sockaddr *)&ss, sslen);
    } else {
        if (!r->dns) {
            /* DISABLE_WHEN_INACTIVE: an idle resolver must not keep event_base_dispatch alive. */
            r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                                 EVDNS_BASE_DISABLE_WHEN_INACTIVE);
            if (!r->dns) {
                conn_lost(r, "cannot initialise DNS resolver");
                return;
            }
        }
        rc = bufferevent_socket_connect_hostname(r->bev, r->dns, AF_UNSPEC, r->host, r->port);
    }
    /* Errors found later arrive through on_event; a synchronous failure is handled here. The
     * bufferevent may already have been freed by a deferred error path, hence the state check. */
    if (rc < 0 && r->state == ST_CONNECTING)
        conn_lost(r, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* ---- public API ----------------------------------------------------------------------- */

static char *dup_or(const char *s, const char *dflt)
{
    return tk_xstrdup(s && s[0] ? s : dflt);
}

tk_redis_t *tk_redis_new(struct event_base *base, const tk_redis_opts_t *opts,
                         tk_redis_state_cb on_state, void *state_arg)
{
    TK_ASSERT(base);
    tk_redis_opts_t o = {0};
    if (opts)
        o = *opts;
    tk_redis_t *r = tk_xcalloc(1, sizeof(*r));
    r->base = base;
    r->host = dup_or(o.host, "127.0.0.1");
    r->port = o.port > 0 ? o.port : 6379;
    r->username = dup_or(o.username, "");
    r->password = dup_or(o.password, "");
    r->database = o.database;
    r->connect_timeout_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 5000;
    r->command_timeout_ms = o.command_timeout_ms > 0 ? o.command_timeout_ms : 5000;
    r->backoff_min_ms = o.backoff_min_ms > 0 ? o.backoff_min_ms : 100;
    r->backoff_max_ms = o.backoff_max_ms > 0 ? o.backoff_max_ms : 5000;
    if (r->backoff_max_ms < r->backoff_min_ms)
        r->backoff_max_ms = r->backoff_min_ms;
    r->backoff_ms = r->backoff_min_ms;
    r->on_state = on_state;
    r->state_arg = state_arg;
    r->rng = (tk_now_ns() ^ (uint64_t)(uintptr_t)r) | 1;

    r->reconnect_ev = evtimer_new(base, on_reconnect, r);
    r->connect_timer = evtimer_new(base, on_connect_timeout, r);
    r->cmd_timer = evtimer_new(base, on_cmd_timer, r);
    TK_ASSERT(r->reconnect_ev && r->connect_timer && r->cmd_timer);

    /* Connect from the loop, not from here, so no callback can run before we return. */
    struct timeval zero = {0, 0};
    evtimer_add(r->reconnect_ev, &zero);
    return r;
}

void tk_redis_free(tk_redis_t *r)
{
    if (!r || r->free_requested)
        return;
    r->free_requested = true;
    if (r->depth == 0)
        destroy(r);
}

bool tk_redis_connected(const tk_redis_t *r)
{
    return r && r->state == ST_UP && !r->free_requested;
}

int tk_redis_cmd_argv(tk_redis_t *r, tk_redis_cb cb, void *arg, int argc, const char **argv,
                      const size_t *argvlen)
{
    if (!tk_redis_connected(r) || argc <= 0)
        return TK_ERROR;
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len <= 0 || !cmd)
        return TK_ERROR;
    r->stats.commands++;
    send_raw(r, cmd, (size_t)len, cb, arg);
    redisFreeCommand(cmd);
    return TK_OK;
}

int tk_redis_cmd_resp(tk_redis_t *r, tk_redis_cb cb, void *arg, const void *resp, size_t len)
{
    if (!tk_redis_connected(r) || len < 4 || ((const char *)resp)[0] != '*')
        return TK_ERROR;
    r->stats.commands++;
    send_raw(r, resp, len, cb, arg);
    return TK_OK;
}

int tk_redis_cmd(tk_redis_t *r, tk_redis_cb cb, void *arg, const char *fmt, ...)
{
    if (!tk_redis_connected(r))
        return TK_ERROR;
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    /* An empty format yields "*0\r\n", which Redis silently ignores: the callback would
     * only ever see a timeout, so refuse it here. */
    if (len <= 0 || !cmd || strncmp(cmd, "*0\r\n", 4) == 0) {
        if (cmd)
            redisFreeCommand(cmd);
        return TK_ERROR;
    }
    r->stats.commands++;
    send_raw(r, cmd, (size_t)len, cb, arg);
    redisFreeCommand(cmd);
    return TK_OK;
}

static void on_subscribe_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)arg;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        tk_log_error("redis %s:%d: SUBSCRIBE failed: %s", r->host, r->port, reply->str);
}

static void send_subscribe(tk_redis_t *r, const struct sub *s)
{
    const char *argv[2] = {"SUBSCRIBE", s->channel};
    send_internal(r, on_subscribe_reply, NULL, 2, argv);
    r->sub_mode = true;
}

int tk_redis_subscribe(tk_redis_t *r, const char *channel, tk_redis_msg_cb on_message, void *arg)
{
    if (!r || r->free_requested || !channel || !channel[0] || !on_message)
        return TK_ERROR;
    for (struct sub *s = r->subs; s; s = s->next) {
        if (strcmp(s->channel, channel) == 0) {
            s->cb = on_message;
            s->arg = arg;
            return TK_OK;
        }
    }
    struct sub *s = tk_xcalloc(1, sizeof(*s));
    s->channel = tk_xstrdup(channel);
    s->cb = on_message;
    s->arg = arg;
    s->next = r->subs;
    r->subs = s;
    if (r->state == ST_UP)
        send_subscribe(r, s);
    return TK_OK;
}

void tk_redis_get_stats(const tk_redis_t *r, tk_redis_stats_t *out)
{
    *out = r->stats;
    out->pending = r->qlen;
}
