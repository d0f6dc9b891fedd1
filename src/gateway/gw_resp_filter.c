/* SPDX-License-Identifier: Apache-2.0 */
/* Registering response filters, and small edits of a header block (gw_resp_filter.h). */
#include "gw_resp_filter.h"

#include <strings.h>

int gw_resp_filter_add(gw_req_t *req, const gw_resp_filter_def_t *def, void *arg)
{
    if (req->n_resp_filters >= GW_RESP_FILTER_MAX)
        return TK_ERROR;
    req->resp_filters[req->n_resp_filters] = def;
    req->resp_filter_args[req->n_resp_filters] = arg;
    req->n_resp_filters++;
    return TK_OK;
}

/* True when @line ("Name: value\r\n") is a header called @name. */
static bool name_is(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    return len > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0;
}

void gw_hdrs_remove(struct evbuffer *hdrs, const char *name)
{
    size_t len = evbuffer_get_length(hdrs);
    if (!len)
        return;
    const char *p = (const char *)evbuffer_pullup(hdrs, -1);
    struct evbuffer *out = evbuffer_new();
    size_t at = 0;
    while (at < len) {
        const char *eol = memchr(p + at, '\n', len - at);
        size_t ll = eol ? (size_t)(eol - (p + at)) + 1 : len - at;
        if (!name_is(p + at, ll, name))
            evbuffer_add(out, p + at, ll);
        at += ll;
    }
    evbuffer_drain(hdrs, len);
    evbuffer_add_buffer(hdrs, out);
    evbuffer_free(out);
}

void gw_hdrs_add(struct evbuffer *hdrs, const char *name, const char *value)
{
    evbuffer_add_printf(hdrs, "%s: %s\r\n", name, value);
}

const char *gw_hdrs_get(gw_req_t *req, struct evbuffer *hdrs, const char *name)
{
    size_t len = evbuffer_get_length(hdrs);
    const char *p = len ? (const char *)evbuffer_pullup(hdrs, -1) : "";
    size_t at = 0;
    while (at < len) {
        const char *eol = memchr(p + at, '\n', len - at);
        size_t ll = eol ? (size_t)(eol - (p + at)) + 1 : len - at;
        if (name_is(p + at, ll, name)) {
            const char *v = p + at + strlen(name) + 1;
            const char *end = p + at + ll;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
                end--;
            return tk_arena_strndup(req->arena, v, (size_t)(end - v));
        }
        at += ll;
    }
    return NULL;
}

bool gw_resp_filter_head(gw_req_t *req, int *status, struct evbuffer *hdrs, bool head_req)
{
    bool hold = false;
    for (uint8_t i = 0; i < req->n_resp_filters; i++) {
        if (req->resp_filters[i]->on_head)
            req->resp_filters[i]->on_head(req, req->resp_filter_args[i], status, hdrs);
        hold = hold || req->resp_filters[i]->on_body;
    }
    if (!hold || head_req || *status == 204 || *status == 304)
        return false;
    req->resp_buffering = true;
    req->resp_hold_status = *status;
    req->resp_hold_hdrs = hdrs;
    req->resp_hold_body = evbuffer_new();
    return true;
}
