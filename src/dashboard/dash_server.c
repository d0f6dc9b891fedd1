/* SPDX-License-Identifier: Apache-2.0 */
/* Request threads, routing, authentication, permission checks and transactional replies. */
#include "dash_server.h"
#include "dash_audit.h"
#include "dash_rbac.h"
#include "dash_routes.h"
#include "dash_users.h"

#include "tk_hash.h"
#include "tk_log.h"
#include "tk_net.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOTIFY_CHANNEL "tyk.cluster.notifications"

struct dash_worker {
    dash_server_t *srv;
    int id;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    dash_store_t *store;
    tk_sqldb_t *analytics; /* NULL until first used */
    redisContext *redis;
    uint64_t redis_retry_ms; /* do not reconnect before this (after a failure) */
};

struct dash_server {
    const dash_conf_t *conf;
    int fd;
    int port;
    size_t nworkers;
    dash_worker_t *workers;
};

/* ---- request accessors ----------------------------------------------------------------------- */

const char *dash_query(dash_req_t *req, const char *name)
{
    if (!req->query) {
        struct evkeyvalq *q = tk_xcalloc(1, sizeof(*q));
        q->tqh_first = NULL; /* TAILQ_INIT */
        q->tqh_last = &q->tqh_first;
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req->ev);
        const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
        if (qs)
            evhttp_parse_query_str(qs, q);
        req->query = q;
    }
    return evhttp_find_header(req->query, name);
}

const char *dash_header(dash_req_t *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const char *dash_param(const dash_req_t *req, size_t i)
{
    return i < req->nparams ? req->params[i] : "";
}

int64_t dash_page(dash_req_t *req)
{
    const char *p = dash_query(req, "p");
    if (!p || !*p)
        return 0;
    char *end = NULL;
    long long v = strtoll(p, &end, 10);
    return end && *end == '\0' ? (int64_t)v : 0;
}

json_t *dash_body_object(dash_req_t *req)
{
    if (req->body_len == 0) {
        dash_reply_error(req, 400, "Request body is empty");
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        char msg[300];
        snprintf(msg, sizeof(msg), "Malformed JSON body: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        dash_reply_error(req, 400, msg);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        dash_reply_error(req, 400, "Request body must be a JSON object");
        return NULL;
    }
    return v;
}

/* ---- staged replies -------------------------------------------------------------------------- */

void dash_reply_raw(dash_req_t *req, int status, const char *content_type, const char *body,
                    size_t len)
{
    free(req->resp);
    req->resp = tk_xmalloc(len + 1);
    memcpy(req->resp, body, len);
    req->resp[len] = '\0';
    req->resp_len = len;
    req->status = status;
    req->content_type = content_type;
}

void dash_reply_json(dash_req_t *req, int status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    if (!s) {
        dash_reply_raw(req, 500, "application/json",
                       "{\"Status\":\"Error\",\"Message\":\"Marshalling failed\",\"Meta\":null}",
                       63);
        return;
    }
    dash_reply_raw(req, status, "application/json", s, strlen(s));
    free(s);
}

void dash_reply_status(dash_req_t *req, int status, const char *status_word, const char *msg,
                       json_t *meta)
{
    json_t *o = json_object();
    json_object_set_new(o, "Status", json_string(status_word));
    json_object_set_new(o, "Message", json_string(msg ? msg : ""));
    json_object_set_new(o, "Meta", meta ? meta : json_null());
    dash_reply_json(req, status, o);
}

void dash_reply_error(dash_req_t *req, int status, const char *msg)
{
    dash_reply_status(req, status, "Error", msg, NULL);
}

void dash_reply_store_error(dash_req_t *req, const char *what)
{
    tk_log_error("dashboard: %s %s: %s: %s", req->method, req->path, what,
                 dash_store_error(req->store));
    dash_reply_error(req, 500, "Database error");
}

void dash_reply_header(dash_req_t *req, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(req->ev), name, value);
}

/* ---- Redis ----------------------------------------------------------------------------------- */

redisContext *dash_redis(dash_req_t *req)
{
    dash_worker_t *w = req->w;
    if (w->redis)
        return w->redis;
    if (tk_now_ms() < w->redis_retry_ms)
        return NULL;
    const dash_conf_t *c = req->conf;
    struct timeval tv = {.tv_sec = c->redis_timeout, .tv_usec = 0};
    redisContext *ctx = redisConnectWithTimeout(c->redis_host, (int)c->redis_port, tv);
    if (!ctx || ctx->err) {
        tk_log_warn("dashboard: redis %s:%d: %s", c->redis_host, (int)c->redis_port,
                    ctx ? ctx->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(ctx, tv);
    redisReply *rep = NULL;
    if (*c->redis_password) {
        rep = *c->redis_username
                  ? redisCommand(ctx, "AUTH %s %s", c->redis_username, c->redis_password)
                  : redisCommand(ctx, "AUTH %s", c->redis_password);
        bool ok = rep && rep->type != REDIS_REPLY_ERROR;
        freeReplyObject(rep);
        if (!ok)
            goto fail;
    }
    if (c->redis_database > 0) {
        rep = redisCommand(ctx, "SELECT %d", (int)c->redis_database);
        bool ok = rep && rep->type != REDIS_REPLY_ERROR;
        freeReplyObject(rep);
        if (!ok)
            goto fail;
    }
    w->redis = ctx;
    return ctx;
fail:
    if (ctx)
        redisFree(ctx);
    w->redis_retry_ms = tk_now_ms() + 1000;
    return NULL;
}

static redisReply *redis_checked(dash_req_t *req, redisReply *rep)
{
    if (!rep) {
        tk_log_warn("dashboard: redis: %s", req->w->redis->errstr);
        redisFree(req->w->redis);
        req->w->redis = NULL;
    }
    return rep;
}

redisReply *dash_redis_cmd(dash_req_t *req, const char *fmt, ...)
{
    redisContext *ctx = dash_redis(req);
    if (!ctx)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(ctx, fmt, ap);
    va_end(ap);
    return redis_checked(req, rep);
}

redisReply *dash_redis_argv(dash_req_t *req, int argc, const char **argv, const size_t *lens)
{
    redisContext *ctx = dash_redis(req);
    if (!ctx)
        return NULL;
    return redis_checked(req, redisCommandArgv(ctx, argc, argv, lens));
}

tk_sqldb_t *dash_analytics_db(dash_req_t *req)
{
    dash_worker_t *w = req->w;
    if (!w->analytics)
        w->analytics = tk_sqldb_new(req->conf->analytics_store.kind,
                                    req->conf->analytics_store.connection_string,
                                    (double)req->conf->sql_timeout);
    return w->analytics;
}

void dash_notify(dash_req_t *req, const char *command, const char *payload)
{
    if (!req->notices)
        req->notices = json_array();
    json_array_append_new(req->notices,
                          json_pack("{s:s,s:s}", "command", command, "payload", payload));
}

static void publish_notices(dash_req_t *req)
{
    size_t i;
    json_t *n;
    json_array_foreach(req->notices, i, n)
    {
        const char *cmd = json_string_value(json_object_get(n, "command"));
        const char *payload = json_string_value(json_object_get(n, "payload"));
        char sig[65];
        tk_notification_sign(cmd, payload, req->conf->shared_node_secret, sig);
        json_t *msg = json_pack("{s:s,s:s,s:s,s:i}", "command", cmd, "payload", payload,
                                "signature", sig, "algorithm", 5);
        char *text = json_dumps(msg, JSON_COMPACT);
        json_decref(msg);
        redisReply *rep = dash_redis_cmd(req, "PUBLISH %s %s", NOTIFY_CHANNEL, text);
        if (!rep)
            tk_log_warn("dashboard: could not publish %s to gateways (Redis down); they pick "
                        "the change up at their next reload",
                        cmd);
        freeReplyObject(rep);
        free(text);
    }
}

/* ---- routing --------------------------------------------------------------------------------- */

/* Matches @path against @pattern; on success fills @req's params. Returns the number of literal
 * segments (the more, the more specific), or -1. */
static int match(const char *pattern, const char *path, dash_req_t *req)
{
    char *caps[DASH_MAX_PARAMS];
    size_t ncaps = 0;
    int literals = 0;
    const char *p = pattern, *s = path;
    while (*p == '/' && *s == '/') {
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || ncaps == DASH_MAX_PARAMS)
                goto fail;
            caps[ncaps] = tk_xstrndup(s, sl);
            char *dec = evhttp_uridecode(caps[ncaps], 0, NULL);
            free(caps[ncaps]);
            caps[ncaps++] = dec ? dec : tk_xstrdup("");
        } else {
            if (pl != sl || memcmp(p, s, pl) != 0)
                goto fail;
            literals++;
        }
        p += pl;
        s += sl;
    }
    if (*p || (*s && strcmp(s, "/") != 0))
        goto fail;
    if (req) {
        for (size_t i = 0; i < req->nparams; i++)
            free(req->params[i]);
        memcpy(req->params, caps, ncaps * sizeof(char *));
        req->nparams = ncaps;
    } else {
        for (size_t i = 0; i < ncaps; i++)
            free(caps[i]);
    }
    return literals;
fail:
    for (size_t i = 0; i < ncaps; i++)
        free(caps[i]);
    return -1;
}

/* The most specific route for the path; *@path_known says whether any method matched. */
static const dash_route_t *route_find(dash_req_t *req, bool *path_known)
{
    const dash_route_t *best = NULL;
    int best_score = -1;
    *path_known = false;
    for (const dash_route_t *const *t = dash_route_tables; *t; t++) {
        for (const dash_route_t *r = *t; r->pattern; r++) {
            int score = match(r->pattern, req->path, NULL);
            if (score < 0)
                continue;
            *path_known = true;
            bool method_ok = strcmp(r->method, req->method) == 0 ||
                             (strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
            if (method_ok && score > best_score) {
                best = r;
                best_score = score;
            }
        }
    }
    if (best)
        match(best->pattern, req->path, req);
    return best;
}

/* ---- authentication -------------------------------------------------------------------------- */

static bool secret_eq(const char *given, const char *secret)
{
    size_t n = strlen(secret);
    return given && n > 0 && strlen(given) == n && CRYPTO_memcmp(given, secret, n) == 0;
}

/* Routes a user may call on itself without the "users" permission (Tyk's self-service
 * exceptions): read its own record, and renew its own access key. */
static bool self_service(const dash_req_t *req)
{
    static const char *const routes[][2] = {
        {"GET", "/api/users/{id}"},
        {"PUT", "/api/users/{id}/actions/key/reset"},
    };
    const char *self = json_string_value(json_object_get(req->user, "id"));
    if (!self || req->nparams < 1 || strcmp(req->params[0], self) != 0)
        return false;
    for (size_t i = 0; i < TK_ARRAY_LEN(routes); i++)
        if (strcmp(req->route->method, routes[i][0]) == 0 &&
            strcmp(req->route->pattern, routes[i][1]) == 0)
            return true;
    return false;
}

/* The user a request speaks for: the access key in "authorization", or else the dashboard
 * session named by the "authorisation" cookie (set by /tap). */
static int find_caller(dash_req_t *req, json_t **user)
{
    const char *key = dash_header(req, "authorization");
    if (key && strncasecmp(key, "Bearer ", 7) == 0)
        key = key + 7;
    if (key && *key)
        return dash_store_find(req->store, DASH_USER, NULL, 1, key, user);
    char *uid = dash_user_session_lookup(req);
    if (!uid)
        return DASH_STORE_NOT_FOUND;
    int rc = dash_store_get(req->store, DASH_USER, NULL, uid, user);
    free(uid);
    return rc;
}

/* Checks the caller against the route; stages the refusal and returns false when refused. */
static bool authenticate(dash_req_t *req)
{
    const dash_route_t *r = req->route;
    switch (r->auth) {
    case DASH_AUTH_NONE:
        return true;
    case DASH_AUTH_ADMIN:
        if (secret_eq(dash_header(req, "admin-auth"), req->conf->admin_secret))
            return true;
        dash_reply_error(req, 401, "Not authorised");
        return false;
    case DASH_AUTH_NODE:
        if (secret_eq(dash_header(req, "authorization"), req->conf->shared_node_secret))
            return true;
        dash_reply_error(req, 403, "Not authorised");
        return false;
    case DASH_AUTH_USER:
        break;
    }
    json_t *user = NULL;
    int rc = find_caller(req, &user);
    if (rc == DASH_STORE_ERROR) {
        dash_reply_store_error(req, "user lookup");
        return false;
    }
    /* an inactive (or revoked) user is refused like an unknown one */
    if (rc != DASH_STORE_OK || !json_is_true(json_object_get(user, "active"))) {
        json_decref(user);
        dash_reply_error(req, 401, "Not authorised");
        return false;
    }
    req->user = user;
    req->org_id = json_string_value(json_object_get(user, "org_id"));
    if (!req->org_id)
        req->org_id = "";
    json_t *perms = dash_rbac_effective(req, user);
    req->user_is_admin = dash_rbac_is_admin(perms);
    /* a search sent as POST (Tyk's /api/users/search) only reads */
    size_t pl = strlen(r->pattern);
    bool search = pl >= 7 && strcmp(r->pattern + pl - 7, "/search") == 0;
    bool write = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 && !search;
    bool ok = !r->perm || dash_rbac_allows(perms, r->perm, write) || self_service(req);
    json_decref(perms);
    if (!ok)
        dash_rbac_deny(req);
    return ok;
}

/* ---- one request ----------------------------------------------------------------------------- */

static void send_reply(dash_req_t *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
    evhttp_add_header(h, "Content-Type",
                      req->content_type ? req->content_type : "application/json");
    struct evbuffer *b = evbuffer_new();
    if (req->resp_len && strcmp(req->method, "HEAD") != 0)
        evbuffer_add(b, req->resp, req->resp_len);
    evhttp_send_reply(req->ev, req->status ? req->status : 500, NULL, b);
    evbuffer_free(b);
}

static void run_handler(dash_req_t *req)
{
    bool writes = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
    /* every request runs in a transaction: reads see one snapshot, writes land whole or not */
    if (dash_store_begin(req->store, writes) != 0) {
        tk_log_error("dashboard: database unavailable: %s", dash_store_error(req->store));
        dash_reply_error(req, 503, "Database unavailable");
        return;
    }
    if (authenticate(req))
        req->route->handler(req);
    if (!req->status)
        dash_reply_error(req, 500, "No reply");
    if (!dash_store_in_tx(req->store))
        return; /* the handler ended it itself */
    if (req->status >= 400 || !writes) {
        dash_store_rollback(req->store);
        return;
    }
    if (dash_store_commit(req->store) != 0) {
        tk_log_error("dashboard: %s %s: commit failed: %s", req->method, req->path,
                     dash_store_error(req->store));
        json_decref(req->notices);
        req->notices = NULL;
        dash_reply_error(req, 500, "Database error: the change was not saved");
        return;
    }
    dash_audit_record(req); /* audit.enabled: the change is stored, so record it */
}

static void on_request(struct evhttp_request *ev, void *arg)
{
    dash_worker_t *w = arg;
    dash_req_t req = {.ev = ev, .w = w, .conf = w->srv->conf, .store = w->store};
    switch (evhttp_request_get_command(ev)) {
    case EVHTTP_REQ_GET:
        req.method = "GET";
        break;
    case EVHTTP_REQ_POST:
        req.method = "POST";
        break;
    case EVHTTP_REQ_PUT:
        req.method = "PUT";
        break;
    case EVHTTP_REQ_DELETE:
        req.method = "DELETE";
        break;
    case EVHTTP_REQ_PATCH:
        req.method = "PATCH";
        break;
    case EVHTTP_REQ_HEAD:
        req.method = "HEAD";
        break;
    case EVHTTP_REQ_OPTIONS:
        req.method = "OPTIONS";
        break;
    default:
        req.method = "OTHER";
        break;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    req.path = evhttp_uridecode(raw && *raw ? raw : "/", 0, NULL);
    if (!req.path)
        req.path = tk_xstrdup("/");
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    req.body_len = evbuffer_get_length(in);
    req.body = tk_xmalloc(req.body_len + 1);
    evbuffer_remove(in, req.body, req.body_len);
    req.body[req.body_len] = '\0';

    bool path_known = false;
    req.route = route_find(&req, &path_known);
    if (!req.route) {
        if (path_known)
            dash_reply_error(&req, 405, "Method not allowed");
        else
            dash_reply_error(&req, 404, "Not found");
    } else {
        run_handler(&req);
    }
    send_reply(&req);
    if (req.notices)
        publish_notices(&req);
    tk_log_debug("dashboard: %s %s -> %d", req.method, req.path, req.status);

    json_decref(req.notices);
    json_decref(req.user);
    for (size_t i = 0; i < req.nparams; i++)
        free(req.params[i]);
    if (req.query) {
        evhttp_clear_headers(req.query);
        free(req.query);
    }
    free(req.resp);
    free(req.body);
    free(req.path);
}

/* ---- threads --------------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    dash_worker_t *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

static int listen_socket(const dash_conf_t *c, int *port_out)
{
    struct sockaddr_storage ss;
    int alen = tk_sockaddr_listen(c->listen_address, (int)c->listen_port, &ss);
    if (alen <= 0) {
        tk_log_error("dashboard: turnpike_listen_address \"%s\" is not an IP address",
                     c->listen_address);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss,
             ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) !=
            0 ||
        listen(fd, 1024) != 0) {
        tk_log_error("dashboard: cannot listen on port %d: %s", (int)c->listen_port,
                     strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof(bound);
    getsockname(fd, (struct sockaddr *)&bound, &bl);
    *port_out = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    return fd;
}

dash_server_t *dash_server_new(const dash_conf_t *conf)
{
    int port = 0;
    int fd = listen_socket(conf, &port);
    if (fd < 0)
        return NULL;
    dash_server_t *srv = tk_xcalloc(1, sizeof(*srv));
    srv->conf = conf;
    srv->fd = fd;
    srv->port = port;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    srv->nworkers = conf->workers > 0 ? (size_t)conf->workers : (size_t)(ncpu > 2 ? ncpu : 2);
    return srv;
}

int dash_server_port(const dash_server_t *srv)
{
    return srv->port;
}

int dash_server_run(dash_server_t *srv)
{
    const dash_conf_t *c = srv->conf;
    srv->workers = tk_xcalloc(srv->nworkers, sizeof(dash_worker_t));
    for (size_t i = 0; i < srv->nworkers; i++) {
        dash_worker_t *w = &srv->workers[i];
        w->srv = srv;
        w->id = (int)i;
        w->base = event_base_new();
        w->http = evhttp_new(w->base);
        w->store = dash_store_new(c->main_store.kind, c->main_store.connection_string,
                                  (double)c->sql_timeout);
        evhttp_set_max_body_size(w->http, (ev_ssize_t)c->max_body_size);
        evhttp_set_max_headers_size(w->http, 64 * 1024);
        /* read and drop the rest of a too-large body before answering 413, so the client sees the
         * answer instead of a reset */
        evhttp_set_flags(w->http, EVHTTP_SERVER_LINGERING_CLOSE);
        evhttp_set_timeout(w->http, 60);
        evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                                EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                                EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
        evhttp_set_gencb(w->http, on_request, w);
        /* each listener owns (and closes) its own descriptor of the one socket */
        if (!evhttp_accept_socket_with_handle(w->http, dup(srv->fd))) {
            tk_log_error("dashboard: cannot accept on the listening socket");
            return -1;
        }
        pthread_create(&w->thread, NULL, worker_main, w);
    }
    tk_log_info("dashboard: listening on port %d with %zu request threads (%s storage)", srv->port,
                srv->nworkers, c->main_store.kind == TK_SQLDB_POSTGRES ? "postgres" : "sqlite");
    for (size_t i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i].thread, NULL);
    return 0;
}

void dash_server_stop(dash_server_t *srv)
{
    for (size_t i = 0; srv->workers && i < srv->nworkers; i++)
        if (srv->workers[i].base)
            event_base_loopexit(srv->workers[i].base, NULL);
}

void dash_server_free(dash_server_t *srv)
{
    if (!srv)
        return;
    for (size_t i = 0; srv->workers && i < srv->nworkers; i++) {
        dash_worker_t *w = &srv->workers[i];
        evhttp_free(w->http);
        event_base_free(w->base);
        dash_store_free(w->store);
        tk_sqldb_free(w->analytics);
        if (w->redis)
            redisFree(w->redis);
    }
    free(srv->workers);
    close(srv->fd);
    free(srv);
}
