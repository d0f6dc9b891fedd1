/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: a recording HTTP server on libevent's evhttp, run in its own thread. */
#include "http_recorder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct http_recorder {
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    pthread_t thread;
    atomic_bool stop;
    int port;
    char url[64];

    pthread_mutex_t mu; /* guards everything below */
    http_rec_request_t *reqs;
    size_t n_reqs;
    int status;
    char *content_type;
    char *body;
    int fail_left, fail_status;
    bool hang;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    http_recorder_t *r = arg;
    http_rec_request_t rec = {0};
    const char *m = "OTHER";
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        m = "GET";
        break;
    case EVHTTP_REQ_POST:
        m = "POST";
        break;
    case EVHTTP_REQ_PUT:
        m = "PUT";
        break;
    case EVHTTP_REQ_DELETE:
        m = "DELETE";
        break;
    case EVHTTP_REQ_HEAD:
        m = "HEAD";
        break;
    default:
        break;
    }
    snprintf(rec.method, sizeof(rec.method), "%s", m);
    rec.uri = dup_str(evhttp_request_get_uri(req));
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    for (struct evkeyval *kv = hs->tqh_first; kv; kv = kv->next.tqe_next) {
        rec.headers = realloc(rec.headers, (rec.n_headers + 1) * sizeof(http_rec_header_t));
        rec.headers[rec.n_headers].name = dup_str(kv->key);
        rec.headers[rec.n_headers].value = dup_str(kv->value);
        rec.n_headers++;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    rec.body_len = evbuffer_get_length(in);
    rec.body = malloc(rec.body_len + 1);
    evbuffer_copyout(in, rec.body, rec.body_len);
    rec.body[rec.body_len] = '\0';

    pthread_mutex_lock(&r->mu);
    r->reqs = realloc(r->reqs, (r->n_reqs + 1) * sizeof(*r->reqs));
    r->reqs[r->n_reqs++] = rec;
    bool hang = r->hang;
    int status = r->status;
    const char *body = r->body;
    const char *ctype = r->content_type;
    if (r->fail_left > 0) {
        r->fail_left--;
        status = r->fail_status;
        body = "injected failure";
        ctype = "text/plain";
    }
    if (!hang) {
        struct evbuffer *out = evbuffer_new();
        if (body)
            evbuffer_add(out, body, strlen(body));
        if (ctype)
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
        evhttp_send_reply(req, status, status < 300 ? "OK" : "Error", out);
        evbuffer_free(out);
    }
    pthread_mutex_unlock(&r->mu);
    /* A hung request stays with its connection; evhttp_free releases both at stop. */
}

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    http_recorder_t *r = arg;
    if (atomic_load(&r->stop))
        event_base_loopbreak(r->base);
}

static void *run(void *arg)
{
    http_recorder_t *r = arg;
    event_base_dispatch(r->base);
    return NULL;
}

http_recorder_t *http_recorder_start(void)
{
    http_recorder_t *r = calloc(1, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->status = 200;
    r->base = event_base_new();
    r->http = evhttp_new(r->base);
    evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(r->http, on_request, r);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(r->http, "127.0.0.1", 0);
    if (!bs) {
        evhttp_free(r->http);
        event_base_free(r->base);
        free(r);
        return NULL;
    }
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len);
    r->port = ntohs(sin.sin_port);
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", r->port);
    r->tick = event_new(r->base, -1, EV_PERSIST, on_tick, r);
    struct timeval tv = {0, 10000};
    event_add(r->tick, &tv);
    pthread_create(&r->thread, NULL, run, r);
    return r;
}

void http_rec_request_free(http_rec_request_t *req)
{
    free(req->uri);
    for (size_t i = 0; i < req->n_headers; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    free(req->body);
    memset(req, 0, sizeof(*req));
}

void http_recorder_clear(http_recorder_t *r)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n_reqs; i++)
        http_rec_request_free(&r->reqs[i]);
    free(r->reqs);
    r->reqs = NULL;
    r->n_reqs = 0;
    pthread_mutex_unlock(&r->mu);
}

void http_recorder_stop(http_recorder_t *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    event_free(r->tick);
    evhttp_free(r->http);
    event_base_free(r->base);
    http_recorder_clear(r);
    free(r->body);
    free(r->content_type);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int http_recorder_port(const http_recorder_t *r)
{
    return r->port;
}

const char *http_recorder_url(const http_recorder_t *r)
{
    return r->url;
}

void http_recorder_reply(http_recorder_t *r, int status, const char *content_type, const char *body)
{
    pthread_mutex_lock(&r->mu);
    r->status = status;
    free(r->body);
    free(r->content_type);
    r->body = body ? dup_str(body) : NULL;
    r->content_type = content_type ? dup_str(content_type) : NULL;
    pthread_mutex_unlock(&r->mu);
}

void http_recorder_fail_next(http_recorder_t *r, int n, int status)
{
    pthread_mutex_lock(&r->mu);
    r->fail_left = n;
    r->fail_status = status;
    pthread_mutex_unlock(&r->mu);
}

void http_recorder_hang(http_recorder_t *r, bool on)
{
    pthread_mutex_lock(&r->mu);
    r->hang = on;
    pthread_mutex_unlock(&r->mu);
}

size_t http_recorder_count(http_recorder_t *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_reqs;
    pthread_mutex_unlock(&r->mu);
    return n;
}

bool http_recorder_get(http_recorder_t *r, size_t i, http_rec_request_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&r->mu);
    bool ok = i < r->n_reqs;
    if (ok) {
        const http_rec_request_t *src = &r->reqs[i];
        memcpy(out->method, src->method, sizeof(out->method));
        out->uri = dup_str(src->uri);
        out->n_headers = src->n_headers;
        out->headers = calloc(src->n_headers + 1, sizeof(http_rec_header_t));
        for (size_t k = 0; k < src->n_headers; k++) {
            out->headers[k].name = dup_str(src->headers[k].name);
            out->headers[k].value = dup_str(src->headers[k].value);
        }
        out->body_len = src->body_len;
        out->body = malloc(src->body_len + 1);
        memcpy(out->body, src->body, src->body_len + 1);
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

const char *http_rec_header(const http_rec_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}
