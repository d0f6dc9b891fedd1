/* SPDX-License-Identifier: Apache-2.0 */
/* OAuth key-change notifications (gw_oauth_notify.h). */
#include "gw_oauth_notify.h"

#include "gw_server.h"

#include "tk_httpc.h"
#include "tk_log.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTIFY_TIMEOUT_MS 10000
#define RETRY_SECONDS 10
#define MAX_ATTEMPTS 3

typedef struct note {
    struct note *prev, *next;
    struct event_base *base;
    struct evdns_base *dns;
    SSL_CTX *ssl;
    char *url, *headers, *body;
    int failures;
    struct event *retry;
} note_t;

/* Notifications in flight stay listed so none is ever unreachable (a gateway stopping with one
 * pending leaves it to the process exit rather than leaking it mid-run). */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static note_t *pending;

static void note_drop(note_t *n)
{
    pthread_mutex_lock(&pending_lock);
    if (n->prev)
        n->prev->next = n->next;
    else
        pending = n->next;
    if (n->next)
        n->next->prev = n->prev;
    pthread_mutex_unlock(&pending_lock);
    if (n->retry)
        event_free(n->retry);
    free(n->url);
    free(n->headers);
    free(n->body);
    free(n);
}

static void note_send(note_t *n);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    note_t *n = arg;
    event_free(n->retry);
    n->retry = NULL;
    note_send(n);
}

static void on_sent(int status, const char *body, size_t len, const char *err, void *arg)
{
    TK_UNUSED(body);
    TK_UNUSED(len);
    note_t *n = arg;
    if (status == 200) {
        note_drop(n);
        return;
    }
    if (status == 0)
        tk_log_error("oauth: notification to %s failed: %s", n->url, err ? err : "?");
    else
        tk_log_error("oauth: notification to %s answered %d", n->url, status);
    if (++n->failures >= MAX_ATTEMPTS) {
        tk_log_error("oauth: too many notification attempts, aborting");
        note_drop(n);
        return;
    }
    struct timeval tv = {RETRY_SECONDS, 0};
    n->retry = evtimer_new(n->base, on_retry, n);
    if (!n->retry || evtimer_add(n->retry, &tv) != 0)
        note_drop(n);
}

static void note_send(note_t *n)
{
    tk_httpc_opts_t o = {
        .base = n->base,
        .dns = n->dns,
        .ssl_ctx = n->ssl,
        .verify_host = true,
        .timeout_ms = NOTIFY_TIMEOUT_MS,
        .max_body = 64 * 1024,
        .method = "POST",
        .headers = n->headers,
        .body = n->body,
        .body_len = strlen(n->body),
    };
    if (!tk_httpc_get(&o, n->url, on_sent, n)) {
        tk_log_error("oauth: notification URL %s is not usable", n->url);
        note_drop(n);
    }
}

void gw_oauth_notify(gw_req_t *req, const char *auth_code, const char *new_token,
                     const char *refresh_token, const char *old_refresh_token)
{
    json_t *conf = json_object_get(req->api->def, "notifications");
    const char *url = json_string_value(json_object_get(conf, "oauth_on_keychange_url"));
    if (!url || !*url)
        return;
    const char *secret = json_string_value(json_object_get(conf, "shared_secret"));
    secret = secret ? secret : "";
    if (strpbrk(secret, "\r\n")) {
        tk_log_error("oauth: notifications.shared_secret of API %s cannot be a header",
                     req->api->api_id);
        return;
    }
    json_t *msg =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "auth_code", auth_code, "new_oauth_token", new_token,
                  "refresh_token", refresh_token, "old_refresh_token", old_refresh_token,
                  "notification_type", *old_refresh_token ? "refresh" : "new");
    char *body = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(msg);
    if (!body)
        return;
    gw_worker_t *w = req->conn->w;
    note_t *n = tk_xcalloc(1, sizeof(*n));
    n->base = w->base;
    n->dns = w->dns;
    n->ssl = w->srv->up_ssl_verify;
    n->url = tk_xstrdup(url);
    n->body = body;
    size_t hl = strlen(secret) + 160;
    n->headers = tk_xmalloc(hl);
    snprintf(n->headers, hl,
             "User-Agent: Tyk-Gatewy-Notifications\r\nContent-Type: application/json\r\n"
             "X-Tyk-Shared-Secret: %s\r\n",
             secret);
    pthread_mutex_lock(&pending_lock);
    n->next = pending;
    if (pending)
        pending->prev = n;
    pending = n;
    pthread_mutex_unlock(&pending_lock);
    note_send(n);
}
