/* SPDX-License-Identifier: Apache-2.0 */
/* TCP / TLS proxy APIs: per-worker listeners that follow reloads, and the splice (gw_tcp.h). */
#include "tk_net.h"
#include "gw_tcp.h"
#include "gw_iplist.h"
#include "gw_tunnel.h"

#include "tk_log.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct tcp_listener {
    struct tcp_listener *next;
    struct gw_tcp *owner;
    int port;
    bool tls;
    bool seen; /* still wanted by the generation being synced */
    struct evconnlistener *l;
    const gw_api_t *api; /* in the worker's current generation */
    gw_iplist_t *allow, *deny;
} tcp_listener_t;

typedef struct tcp_sess {
    struct tcp_sess *prev, *next;
    struct gw_tcp *owner;
    tk_stream_t *client, *up;
    gw_tunnel_t *tun;
    struct evdns_getaddrinfo_request *dns;
    struct dns_wait *dns_wait; /* the pending lookup's callback argument */
    struct event *kill_ev;     /* frees the session from the loop, outside stream callbacks */
    char *host;
    int port;
    bool up_tls, verify;
    char api_id[64];
} tcp_sess_t;

/* A lookup outlives a cancelled session (libevent reports the cancel later): its callback
 * argument is this small record, detached from the session on cancel and freed by the callback. */
struct dns_wait {
    tcp_sess_t *s;
};

typedef struct gw_tcp {
    gw_worker_t *w;
    tcp_listener_t *ls;
    tcp_sess_t *sess;
} gw_tcp_t;

static gw_tcp_t *tcp_of(gw_worker_t *w)
{
    if (!w->tcp) {
        gw_tcp_t *t = tk_xcalloc(1, sizeof(*t));
        t->w = w;
        w->tcp = t;
    }
    return w->tcp;
}

/* ---- sessions ---- */

static void sess_free(tcp_sess_t *s)
{
    gw_tcp_t *t = s->owner;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->sess = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->dns_wait) {
        s->dns_wait->s = NULL;
        if (s->dns)
            evdns_getaddrinfo_cancel(s->dns);
    }
    if (s->tun) {
        gw_tunnel_free(s->tun); /* owns both streams */
    } else {
        tk_stream_free(s->client);
        tk_stream_free(s->up);
    }
    event_free(s->kill_ev);
    free(s->host);
    free(s);
}

static void on_kill(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    sess_free(arg);
}

/* Ends a session from anywhere, callbacks included. */
static void sess_kill(tcp_sess_t *s)
{
    if (s->client)
        tk_stream_read(s->client, false);
    event_active(s->kill_ev, 0, 1);
}

static void on_tunnel_done(gw_tunnel_t *tun, void *arg)
{
    TK_UNUSED(tun);
    sess_free(arg);
}

/* Before the upstream is connected the client is not read; only failures matter. */
static void on_client_event(tk_stream_t *st, int what, void *arg)
{
    TK_UNUSED(st);
    if (what & (TK_STREAM_EOF | TK_STREAM_ERROR))
        sess_kill(arg);
}

static void on_idle_read(tk_stream_t *st, void *arg)
{
    TK_UNUSED(st);
    TK_UNUSED(arg);
}

static void on_up_event(tk_stream_t *st, int what, void *arg)
{
    TK_UNUSED(st);
    tcp_sess_t *s = arg;
    if (s->tun)
        return;
    if (what & TK_STREAM_CONNECTED) {
        int one = 1;
        int fd = tk_stream_fd(s->up);
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* Tyk's tcp proxy sets no read or write deadline: by default no idle timeout. */
        s->tun =
            gw_tunnel_new(s->owner->w->base, s->client, s->up,
                          s->owner->w->srv->conf->turnpike_tunnel_idle_timeout, on_tunnel_done, s);
        return;
    }
    tk_log_warn("api=%s tcp upstream %s:%d: connection failed", s->api_id, s->host, s->port);
    sess_kill(s); /* Tyk closes the client when the dial fails */
}

static void connect_addr(tcp_sess_t *s, struct sockaddr *sa, int salen)
{
    gw_server_t *srv = s->owner->w->srv;
    SSL *ssl = NULL;
    if (s->up_tls) {
        ssl = SSL_new(s->verify ? srv->up_ssl_verify : srv->up_ssl_noverify);
        tk_ssl_set_peer(ssl, s->host, s->verify);
    }
    s->up = tk_stream_new(s->owner->w->base, -1, ssl, false);
    if (!s->up) {
        sess_kill(s);
        return;
    }
    tk_stream_setcb(s->up, on_idle_read, NULL, on_up_event, s);
    tk_stream_allow_dirty_shutdown(s->up);
    if (tk_stream_connect(s->up, sa, salen) != TK_OK) {
        tk_log_warn("api=%s tcp upstream %s:%d: connect failed", s->api_id, s->host, s->port);
        sess_kill(s);
    }
}

static void on_dns(int err, struct evutil_addrinfo *res, void *arg)
{
    struct dns_wait *dw = arg;
    tcp_sess_t *s = dw->s;
    free(dw);
    if (!s) { /* cancelled: the session is gone */
        if (res)
            evutil_freeaddrinfo(res);
        return;
    }
    s->dns = NULL;
    s->dns_wait = NULL;
    if (err || !res) {
        tk_log_warn("api=%s tcp upstream %s: lookup failed: %s", s->api_id, s->host,
                    evutil_gai_strerror(err));
        if (res)
            evutil_freeaddrinfo(res);
        sess_kill(s);
        return;
    }
    struct sockaddr_storage ss;
    int len = tk_sockaddr_from_ai(res, s->port, &ss);
    evutil_freeaddrinfo(res);
    connect_addr(s, (struct sockaddr *)&ss, len);
}

static void sess_connect(tcp_sess_t *s)
{
    struct sockaddr_storage ss;
    int len = tk_sockaddr_from_ip(s->host, s->port, &ss);
    if (len) {
        connect_addr(s, (struct sockaddr *)&ss, len);
        return;
    }
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* The callback may run (and clear dns_wait) before evdns_getaddrinfo returns. */
    s->dns_wait = tk_xcalloc(1, sizeof(*s->dns_wait));
    s->dns_wait->s = s;
    struct evdns_getaddrinfo_request *r =
        evdns_getaddrinfo(s->owner->w->dns, s->host, NULL, &hints, on_dns, s->dns_wait);
    if (s->dns_wait)
        s->dns = r;
}

/* ---- accepting ---- */

static bool peer_ip(const struct sockaddr *sa, uint8_t ip[16])
{
    if (sa->sa_family == AF_INET) {
        memset(ip, 0, 10);
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

static bool list_has(const gw_iplist_t *l, const uint8_t ip[16])
{
    for (size_t i = 0; i < l->n; i++) {
        const gw_ipnet_t *n = &l->nets[i];
        unsigned full = n->bits / 8, rest = n->bits % 8;
        if (memcmp(n->addr, ip, full) != 0)
            continue;
        if (rest && (ip[full] & (uint8_t)(0xffu << (8 - rest))) != n->addr[full])
            continue;
        return true;
    }
    return false;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    TK_UNUSED(l);
    TK_UNUSED(len);
    tcp_listener_t *tl = arg;
    gw_tcp_t *t = tl->owner;
    gw_worker_t *w = t->w;
    const gw_api_t *api = tl->api;
    uint8_t ip[16];
    bool have_ip = peer_ip(sa, ip);
    if (w->draining || !api || (tl->allow && (!have_ip || !list_has(tl->allow, ip))) ||
        (tl->deny && have_ip && list_has(tl->deny, ip))) {
        if (api && !w->draining)
            tk_log_debug("api=%s tcp: connection from a disallowed address closed", api->api_id);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    tcp_sess_t *s = tk_xcalloc(1, sizeof(*s));
    s->owner = t;
    s->kill_ev = event_new(w->base, -1, 0, on_kill, s);
    s->client = tk_stream_new(w->base, fd, tl->tls ? SSL_new(w->srv->listen_ssl) : NULL, true);
    if (!s->client) {
        close(fd);
        event_free(s->kill_ev);
        free(s);
        return;
    }
    s->next = t->sess;
    if (t->sess)
        t->sess->prev = s;
    t->sess = s;
    snprintf(s->api_id, sizeof(s->api_id), "%s", api->api_id);
    tk_stream_setcb(s->client, on_idle_read, NULL, on_client_event, s);
    tk_stream_allow_dirty_shutdown(s->client);
    tk_stream_read(s->client, false); /* until the upstream answers */
    const gw_target_t *tg = &api->target;
    s->host = tk_xstrdup(tg->host);
    s->port = tg->port;
    s->up_tls = tg->tls;
    s->verify = !(w->srv->conf->proxy_ssl_insecure_skip_verify || api->ssl_insecure_skip_verify);
    sess_connect(s);
}

/* ---- listeners ---- */

static int api_listen_port(const gw_api_t *api)
{
    json_t *p = json_object_get(api->def, "listen_port");
    return json_is_integer(p) ? (int)json_integer_value(p) : 0;
}

/* Tyk's CheckPortWhiteList: ports_whitelist[protocol] lists "ports" and "ranges" {from, to}. */
static bool port_allowed(const gw_conf_t *conf, const char *proto, int port)
{
    if (conf->disable_ports_whitelist)
        return true;
    json_t *e = json_object_get(conf->ports_whitelist, proto);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(e, "ports"), i, v)
    {
        if (json_is_integer(v) && json_integer_value(v) == port)
            return true;
    }
    json_array_foreach(json_object_get(e, "ranges"), i, v)
    {
        json_t *from = json_object_get(v, "from"), *to = json_object_get(v, "to");
        if (json_is_integer(from) && json_is_integer(to) && port >= json_integer_value(from) &&
            port <= json_integer_value(to))
            return true;
    }
    return false;
}

static struct evconnlistener *open_listener(gw_worker_t *w, int port, tcp_listener_t *tl)
{
    const char *addr = w->srv->conf->listen_address;
    struct sockaddr_storage ss;
    int len = tk_sockaddr_listen(addr, port, &ss);
    if (!len)
        return NULL;
    return evconnlistener_new_bind(w->base, on_accept, tl,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                       LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
                                   1024, (struct sockaddr *)&ss, len);
}

static void listener_free(tcp_listener_t *tl)
{
    if (tl->l)
        evconnlistener_free(tl->l);
    gw_iplist_free(tl->allow);
    gw_iplist_free(tl->deny);
    free(tl);
}

static tcp_listener_t *find_listener(gw_tcp_t *t, int port)
{
    for (tcp_listener_t *tl = t->ls; tl; tl = tl->next)
        if (tl->port == port)
            return tl;
    return NULL;
}

/* Why @api cannot have a listener, or NULL. */
static const char *refuse(const gw_worker_t *w, const gw_api_t *api, int port, bool tls)
{
    const gw_conf_t *conf = w->srv->conf;
    if (port <= 0 || port > 65535)
        return "needs a listen_port";
    if (port == conf->listen_port || port == conf->control_api_port)
        return "TCP service can't have the same port as main gateway listen port";
    if (!port_allowed(conf, tls ? "tls" : "tcp", port))
        return "trying to open disabled port (ports_whitelist)";
    if (strcmp(api->target.scheme, "tcp") != 0 && strcmp(api->target.scheme, "tls") != 0)
        return "target_url must be tcp:// or tls://";
    if (tls && !w->srv->listen_ssl)
        return "protocol tls needs the gateway's certificates (http_server_options.use_ssl)";
    return NULL;
}

void gw_tcp_sync(gw_worker_t *w)
{
    if (w->draining)
        return;
    gw_tcp_t *t = tcp_of(w);
    const gw_gen_t *gen = w->cur->gen;
    bool log = w->id == 0; /* every worker does the same: say it once */
    for (tcp_listener_t *tl = t->ls; tl; tl = tl->next) {
        tl->seen = false;
        tl->api = NULL;
    }
    for (size_t i = 0; i < gen->napis; i++) {
        const gw_api_t *api = gen->apis[i];
        if (!api->tcp_proto || !api->active)
            continue;
        bool tls = strcmp(json_string_value(json_object_get(api->def, "protocol")), "tls") == 0;
        int port = api_listen_port(api);
        const char *why = refuse(w, api, port, tls);
        tcp_listener_t *tl = why ? NULL : find_listener(t, port);
        if (!why && tl && tl->seen)
            why = "another tcp/tls API already uses this listen_port";
        if (why) {
            if (log)
                tk_log_error("API %s (%s:%d): %s", api->api_id, tls ? "tls" : "tcp", port, why);
            continue;
        }
        if (tl && tl->tls != tls) { /* same port, other protocol: reopen */
            evconnlistener_free(tl->l);
            tl->l = NULL;
        }
        if (!tl) {
            tl = tk_xcalloc(1, sizeof(*tl));
            tl->owner = t;
            tl->port = port;
            tl->next = t->ls;
            t->ls = tl;
        }
        tl->tls = tls;
        if (!tl->l) {
            tl->l = open_listener(w, port, tl);
            if (!tl->l) {
                tk_log_error("API %s: cannot listen on port %d: %s", api->api_id, port,
                             evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
                continue; /* seen stays false: dropped below */
            }
            if (log)
                tk_log_info("API %s: %s proxy listening on port %d", api->api_id,
                            tls ? "tls" : "tcp", port);
        }
        tl->seen = true;
        tl->api = api;
        gw_iplist_free(tl->allow);
        gw_iplist_free(tl->deny);
        tl->allow = gw_iplist_enabled(api, "enable_ip_whitelisting", "allowed_ips")
                        ? gw_iplist_build(api, "allowed_ips")
                        : NULL;
        tl->deny = gw_iplist_enabled(api, "enable_ip_blacklisting", "blacklisted_ips")
                       ? gw_iplist_build(api, "blacklisted_ips")
                       : NULL;
    }
    for (tcp_listener_t **pp = &t->ls; *pp;) {
        tcp_listener_t *tl = *pp;
        if (tl->seen) {
            pp = &tl->next;
            continue;
        }
        if (log && tl->l)
            tk_log_info("tcp proxy port %d no longer used: closed", tl->port);
        *pp = tl->next;
        listener_free(tl);
    }
}

void gw_tcp_close(gw_worker_t *w)
{
    gw_tcp_t *t = w->tcp;
    if (!t)
        return;
    while (t->ls) {
        tcp_listener_t *tl = t->ls;
        t->ls = tl->next;
        listener_free(tl);
    }
    /* Tyk's TCP proxy stops its connections on shutdown too. */
    while (t->sess)
        sess_free(t->sess);
    free(t);
    w->tcp = NULL;
}
