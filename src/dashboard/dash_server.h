/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard's HTTP server: a few request threads, each with its own libevent loop and
 * evhttp server accepting on one shared listening socket, its own database connection and its
 * own Redis connection. Handlers run to completion on their thread and may block (on SQL, Redis,
 * a gateway's control API): the dashboard is not on the data path, and blocking keeps every
 * handler a plain sequence of steps inside one transaction.
 *
 * A handler never writes to the socket itself: it stages its reply (dash_reply_*). A request
 * that may write runs in a transaction that commits only when the staged status is below 400,
 * and only then is the reply sent and are queued notifications published, so a client never
 * sees "OK" for something that was not stored.
 */
#ifndef DASH_SERVER_H
#define DASH_SERVER_H

#include "dash_conf.h"
#include "store/dash_store.h"

#include <hiredis/hiredis.h>
#include <jansson.h>

struct evhttp_request;
typedef struct dash_worker dash_worker_t;
typedef struct dash_req dash_req_t;

/* Who may call a route. */
enum dash_auth {
    DASH_AUTH_NONE = 0, /* anyone (health) */
    DASH_AUTH_ADMIN,    /* admin-auth: <admin_secret> (Admin API) */
    DASH_AUTH_USER,     /* authorization: <a user's access_key> (Dashboard API) */
    DASH_AUTH_NODE,     /* authorization: <shared_node_secret> (gateways: /register, /system) */
};

typedef struct dash_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/apis/{id}": {name} matches one segment */
    enum dash_auth auth;
    const char *perm; /* DASH_AUTH_USER: RBAC section ("apis"); NULL = any active user */
    void (*handler)(dash_req_t *req);
} dash_route_t;

#define DASH_MAX_PARAMS 8 /* analytics: an id, then a 6-segment date range */

struct dash_req {
    struct evhttp_request *ev;
    dash_worker_t *w;
    const dash_conf_t *conf;
    dash_store_t *store;
    const char *method;
    char *path; /* decoded, without the query */
    const dash_route_t *route;
    char *params[DASH_MAX_PARAMS]; /* {name} segments, decoded, in order */
    size_t nparams;
    char *body; /* NUL-terminated copy of the request body */
    size_t body_len;
    /* DASH_AUTH_USER: the caller */
    json_t *user;       /* the user document */
    const char *org_id; /* the caller's org (points into user) */
    bool user_is_admin; /* user_permissions grant IsAdmin (or are empty) */
    /* staged reply */
    int status;
    char *resp;
    size_t resp_len;
    const char *content_type;
    json_t *notices; /* queued gateway notifications: [{command, payload}] */
    void *query;     /* struct evkeyvalq *, parsed on first dash_query() */
};

/* ---- request ---- */

/** Query parameter @name (decoded), or NULL. */
const char *dash_query(dash_req_t *req, const char *name);
/** Request header @name (case-insensitive), or NULL. */
const char *dash_header(dash_req_t *req, const char *name);
/** Path parameter @i ({...} segments in order). */
const char *dash_param(const dash_req_t *req, size_t i);
/** ?p= as Tyk reads it: 1-based page, <= 0 (or absent) = everything. */
int64_t dash_page(dash_req_t *req);
/**
 * The body as a JSON object (new reference). On an empty, malformed or non-object body it
 * stages 400 with a message saying what is wrong and returns NULL.
 */
json_t *dash_body_object(dash_req_t *req);

/* ---- reply (staged; sent after the transaction commits) ---- */

/** @body is stolen. */
void dash_reply_json(dash_req_t *req, int status, json_t *body);
/** Tyk's ApiResponse: {"Status": @status_word, "Message": @msg, "Meta": @meta (stolen, may be
 *  NULL → null)}. */
void dash_reply_status(dash_req_t *req, int status, const char *status_word, const char *msg,
                       json_t *meta);
/** {"Status":"Error","Message":@msg,"Meta":null}. */
void dash_reply_error(dash_req_t *req, int status, const char *msg);
/** 500 for a store failure (logs the database's message; the client sees a generic one). */
void dash_reply_store_error(dash_req_t *req, const char *what);
/** A raw body with @content_type. */
void dash_reply_raw(dash_req_t *req, int status, const char *content_type, const char *body,
                    size_t len);
/** Adds a response header. */
void dash_reply_header(dash_req_t *req, const char *name, const char *value);

/* ---- resources of this thread ---- */

/** This thread's Redis connection (connected on first use), or NULL when Redis is down. */
redisContext *dash_redis(dash_req_t *req);
/** Runs a command on this thread's Redis; NULL when Redis is down (the connection is dropped
 *  and retried on the next call). Free the reply with freeReplyObject. */
redisReply *dash_redis_cmd(dash_req_t *req, const char *fmt, ...);
redisReply *dash_redis_argv(dash_req_t *req, int argc, const char **argv, const size_t *lens);

/** This thread's connection to the analytics database (storage.analytics: where the pump's sql
 *  and sql_aggregate sinks write), opened on first use. */
tk_sqldb_t *dash_analytics_db(dash_req_t *req);

/** Queues a signed notification on tyk.cluster.notifications, sent after the commit. */
void dash_notify(dash_req_t *req, const char *command, const char *payload);

/* ---- server ---- */

typedef struct dash_server dash_server_t;

/** Binds the listening socket; -1 on failure (logged). */
dash_server_t *dash_server_new(const dash_conf_t *conf);
/** Starts the request threads and serves until dash_server_stop(). */
int dash_server_run(dash_server_t *srv);
/** From a signal handler's event or another thread: stop accepting, finish, return from run. */
void dash_server_stop(dash_server_t *srv);
void dash_server_free(dash_server_t *srv);
/** The port actually bound (for listen_port 0 in tests). */
int dash_server_port(const dash_server_t *srv);

#endif
