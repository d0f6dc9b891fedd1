/* SPDX-License-Identifier: Apache-2.0 */
/* Health and counters over libevent's evhttp (HTTP/1.x, small bodies: all this needs). */
#include "pump_health.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>

struct pump_health {
    struct evhttp *http;
    char health[256];
    char stats[256];
    pump_stats_fn fn;
    void *arg;
};

static void reply(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    pump_health_t *h = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path)
        path = "/";
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
        evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        reply(req, 405, "Method Not Allowed", "{\"error\": \"method not allowed\"}");
        return;
    }
    if (strcmp(path, h->health) == 0) {
        reply(req, 200, "OK", "{\"status\": \"ok\"}");
        return;
    }
    if (strcmp(path, h->stats) == 0) {
        json_t *s = h->fn(h->arg);
        char *text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(s);
        reply(req, 200, "OK", text ? text : "{}");
        free(text);
        return;
    }
    reply(req, 404, "Not Found", "{\"error\": \"not found\"}");
}

pump_health_t *pump_health_start(struct event_base *base, int port, const char *health_name,
                                 const char *stats_name, pump_stats_fn stats, void *arg, char *err,
                                 size_t errlen)
{
    pump_health_t *h = tk_xcalloc(1, sizeof(*h));
    snprintf(h->health, sizeof(h->health), "/%s",
             health_name[0] == '/' ? health_name + 1 : health_name);
    snprintf(h->stats, sizeof(h->stats), "/%s", stats_name[0] == '/' ? stats_name + 1 : stats_name);
    h->fn = stats;
    h->arg = arg;
    h->http = evhttp_new(base);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(h->http, on_request, h);
    if (evhttp_bind_socket(h->http, "0.0.0.0", (ev_uint16_t)port) != 0) {
        snprintf(err, errlen, "health_check_endpoint_port: cannot listen on port %d", port);
        pump_health_free(h);
        return NULL;
    }
    return h;
}

void pump_health_free(pump_health_t *h)
{
    if (!h)
        return;
    if (h->http)
        evhttp_free(h->http);
    free(h);
}
