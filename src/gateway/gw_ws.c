/* SPDX-License-Identifier: Apache-2.0 */
/* Upgrade detection and the 101 hand-over head (see gw_ws.h). */
#include "gw_ws.h"

#include <ctype.h>

bool gw_ws_upgrade_type(const gw_conf_t *conf, const tk_http_head_t *head, const char **type,
                        size_t *len)
{
    if (!conf->hso_enable_websockets || !head->upgrade)
        return false;
    bool conn_upgrade = false;
    const tk_http_hdr_t *up = NULL;
    for (uint32_t i = 0; i < head->nhdrs; i++) {
        const tk_http_hdr_t *h = &head->hdrs[i];
        if (tk_str_ieq(h->name, h->name_len, "connection") &&
            tk_http_value_has_token(h->value, h->value_len, "upgrade"))
            conn_upgrade = true;
        else if (!up && tk_str_ieq(h->name, h->name_len, "upgrade"))
            up = h;
    }
    if (!conn_upgrade || !up)
        return false;
    const char *v = up->value;
    size_t n = up->value_len;
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (!n)
        return false;
    *type = v;
    *len = n;
    return true;
}

void gw_ws_add_upgrade_headers(struct evbuffer *out, const char *type, size_t len)
{
    /* Tyk sets the type lower-cased (strings.ToLower of the Upgrade header). */
    evbuffer_add(out, "Connection: Upgrade\r\nUpgrade: ", 30);
    char buf[64];
    while (len) {
        size_t k = len < sizeof(buf) ? len : sizeof(buf);
        for (size_t i = 0; i < k; i++)
            buf[i] = (char)tolower((unsigned char)type[i]);
        evbuffer_add(out, buf, k);
        type += k;
        len -= k;
    }
    evbuffer_add(out, "\r\n", 2);
}

void gw_ws_write_switch(gw_req_t *req, const tk_http_head_t *resp)
{
    struct evbuffer *out = tk_stream_output(req->conn->st);
    evbuffer_add(out, "HTTP/1.1 101 Switching Protocols\r\n", 34);
    for (uint32_t i = 0; i < resp->nhdrs; i++) {
        const tk_http_hdr_t *h = &resp->hdrs[i];
        evbuffer_add(out, h->name, h->name_len);
        evbuffer_add(out, ": ", 2);
        evbuffer_add(out, h->value, h->value_len);
        evbuffer_add(out, "\r\n", 2);
    }
    if (req->resp_headers)
        evbuffer_add(out, req->resp_headers, strlen(req->resp_headers));
    evbuffer_add(out, "\r\n", 2);
    req->responded = true;
    req->status = 101;
}
