/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificates: /api/certs, /api/certs/{id}, through the gateway's /tyk/certs control API (the
 * gateway's certificate manager owns the store in Redis). Certificates are added under the
 * caller's organisation, so their ids are "<org id><sha256 hex>"; an id without the caller's
 * org prefix is "not found", which keeps organisations from seeing each other's certificates.
 */
#include "dash_gateway.h"
#include "dash_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CERT_NOT_FOUND "Certificate with given SHA256 fingerprint not found"

static const char *find_bytes(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || hn < nn)
        return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
            return hay + i;
    return NULL;
}

/*
 * The certificate text of the request: the first part of a multipart/form-data body (Tyk's UI
 * uploads a file field), else the body itself. False (400 staged) when a multipart body is
 * malformed or the result is empty.
 */
static bool cert_text(dash_req_t *req, const char **out, size_t *len)
{
    const char *ct = dash_header(req, "content-type");
    const char *b = ct ? strcasestr(ct, "boundary=") : NULL;
    if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0 || !b) {
        *out = req->body ? req->body : "";
        *len = req->body ? req->body_len : 0;
    } else {
        b += 9;
        size_t bl = strcspn(b, ";");
        if (bl >= 2 && b[0] == '"' && b[bl - 1] == '"') {
            b++;
            bl -= 2;
        }
        char delim[256];
        if (bl == 0 || bl > 200) {
            dash_reply_error(req, 400, "Malformed multipart body: bad boundary");
            return false;
        }
        int dl = snprintf(delim, sizeof(delim), "--%.*s", (int)bl, b);
        const char *body = req->body ? req->body : "";
        size_t n = req->body ? req->body_len : 0;
        const char *start = find_bytes(body, n, delim, (size_t)dl);
        const char *hdr_end =
            start ? find_bytes(start, n - (size_t)(start - body), "\r\n\r\n", 4) : NULL;
        if (!hdr_end) {
            dash_reply_error(req, 400, "Malformed multipart body: no part found");
            return false;
        }
        const char *content = hdr_end + 4;
        char end_delim[260];
        int el = snprintf(end_delim, sizeof(end_delim), "\r\n%s", delim);
        const char *end = find_bytes(content, n - (size_t)(content - body), end_delim, (size_t)el);
        if (!end) {
            dash_reply_error(req, 400, "Malformed multipart body: the part does not end");
            return false;
        }
        *out = content;
        *len = (size_t)(end - content);
    }
    size_t i = 0;
    while (i < *len && ((*out)[i] == ' ' || (*out)[i] == '\n' || (*out)[i] == '\r'))
        i++;
    if (i == *len) {
        dash_reply_error(req, 400, "No certificate in the request (send a PEM body or file)");
        return false;
    }
    return true;
}

/* True when @id is one of the caller's certificate ids (org prefix, then 64 hex digits). */
static bool own_cert_id(const dash_req_t *req, const char *id)
{
    size_t ol = strlen(req->org_id);
    if (strncmp(id, req->org_id, ol) != 0 || strlen(id) != ol + 64)
        return false;
    for (const char *p = id + ol; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static char *certs_path(dash_req_t *req, const char *id, bool detailed)
{
    char *o = dash_gateway_escape(req->org_id);
    char *i = id ? dash_gateway_escape_segment(id) : NULL;
    size_t n = strlen(o) + (i ? strlen(i) : 0) + 64;
    char *p = tk_xmalloc(n);
    snprintf(p, n, "/tyk/certs%s%s?org_id=%s%s", i ? "/" : "", i ? i : "", o,
             detailed ? "&mode=detailed" : "");
    free(i);
    free(o);
    return p;
}

/* POST /api/certs: {"id","status","message"} as the gateway answers. */
static void add_cert(dash_req_t *req)
{
    const char *pem;
    size_t len;
    if (!cert_text(req, &pem, &len))
        return;
    char *path = certs_path(req, NULL, false);
    dash_gw_reply_t r;
    if (dash_gateway_call(req, "POST", path, pem, len, &r)) {
        const char *m = dash_gateway_message(&r, "Failed to add certificate");
        if (r.status == 200 && json_is_object(r.json))
            dash_reply_json(req, 200, json_incref(r.json));
        else if (r.status == 403 && strstr(m, "already exists"))
            dash_reply_error(req, 409, m); /* a duplicate, not a permission problem */
        else if (r.status == 403)
            dash_reply_error(req, 400, m); /* the gateway's "cannot decode" answers */
        else
            dash_gateway_relay_error(req, &r, "Failed to add certificate");
        dash_gw_reply_free(&r);
    }
    free(path);
}

/* GET /api/certs?p=&mode=detailed: {"certs":[ids or details], "pages":N}. */
static void list_certs(dash_req_t *req)
{
    const char *mode = dash_query(req, "mode");
    bool detailed = mode && strcmp(mode, "detailed") == 0;
    char *path = certs_path(req, NULL, detailed);
    dash_gw_reply_t r;
    if (dash_gateway_call(req, "GET", path, NULL, 0, &r)) {
        if (r.status == 200 && json_is_object(r.json)) {
            json_t *all = json_array();
            size_t i;
            json_t *v;
            json_array_foreach(json_object_get(r.json, "certs"), i, v)
            {
                const char *id = json_is_string(v) ? json_string_value(v)
                                                   : json_string_value(json_object_get(v, "id"));
                if (id && own_cert_id(req, id))
                    json_array_append(all, v);
            }
            int64_t p = dash_page(req), size = req->conf->page_size > 0 ? req->conf->page_size : 10;
            int64_t n = (int64_t)json_array_size(all), pages = n ? (n + size - 1) / size : 1;
            if (p > 0) {
                json_t *pg = json_array();
                for (int64_t k = (p - 1) * size; k < n && k < p * size; k++)
                    json_array_append(pg, json_array_get(all, (size_t)k));
                json_decref(all);
                all = pg;
            } else {
                pages = 1;
            }
            dash_reply_json(req, 200,
                            json_pack("{s:o,s:I}", "certs", all, "pages", (json_int_t)pages));
        } else {
            dash_gateway_relay_error(req, &r, "Failed to list certificates");
        }
        dash_gw_reply_free(&r);
    }
    free(path);
}

/* GET or DELETE one certificate of the caller's organisation. */
static void one_cert(dash_req_t *req, bool del)
{
    const char *id = dash_param(req, 0);
    if (!own_cert_id(req, id)) {
        dash_reply_error(req, 404, CERT_NOT_FOUND);
        return;
    }
    char *path = certs_path(req, id, false);
    dash_gw_reply_t r;
    if (dash_gateway_call(req, "GET", path, NULL, 0, &r)) {
        if (r.status == 404) {
            dash_reply_error(req, 404, CERT_NOT_FOUND);
        } else if (r.status != 200 || !json_is_object(r.json)) {
            dash_gateway_relay_error(req, &r, "Certificate lookup failed");
        } else if (!del) {
            dash_reply_json(req, 200, json_incref(r.json));
        } else {
            dash_gw_reply_t d;
            if (dash_gateway_call(req, "DELETE", path, NULL, 0, &d)) {
                if (d.status == 200)
                    dash_reply_status(req, 200, "OK", "Certificate deleted", NULL);
                else
                    dash_gateway_relay_error(req, &d, "Failed to delete certificate");
                dash_gw_reply_free(&d);
            }
        }
        dash_gw_reply_free(&r);
    }
    free(path);
}

static void get_cert(dash_req_t *req)
{
    one_cert(req, false);
}

static void delete_cert(dash_req_t *req)
{
    one_cert(req, true);
}

const dash_route_t dash_routes_certs[] = {
    {"GET", "/api/certs", DASH_AUTH_USER, "certs", list_certs},
    {"POST", "/api/certs", DASH_AUTH_USER, "certs", add_cert},
    {"GET", "/api/certs/{certId}", DASH_AUTH_USER, "certs", get_cert},
    {"DELETE", "/api/certs/{certId}", DASH_AUTH_USER, "certs", delete_cert},
    {NULL, NULL, 0, NULL, NULL},
};
