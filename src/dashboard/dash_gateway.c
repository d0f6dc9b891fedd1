/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway control API client (see dash_gateway.h). */
#include "dash_gateway.h"

#include "tk_curl.h"
#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *escape(const char *s, const char *also_plain)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = tk_xmalloc(n * 3 + 1), *p = out;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~' || strchr(also_plain, *c)) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}

char *dash_gateway_escape(const char *s)
{
    return escape(s, "");
}

char *dash_gateway_escape_segment(const char *s)
{
    /* RFC 3986 pchar: unreserved, sub-delims, ':' and '@'. */
    return escape(s, "!$&'()*+,;=:@");
}

/* "http://127.0.0.1" + "8080" -> "http://127.0.0.1:8080" (a Host without a scheme gets http://,
 * an empty Port adds nothing). NULL when no Host is configured. */
static char *base_url(const dash_conf_t *c)
{
    const char *host = c->tyk_api_host ? c->tyk_api_host : "";
    const char *port = c->tyk_api_port ? c->tyk_api_port : "";
    if (!*host)
        return NULL;
    size_t hl = strlen(host);
    while (hl && host[hl - 1] == '/')
        hl--;
    bool scheme = strstr(host, "://") != NULL;
    size_t cap = hl + strlen(port) + 16;
    char *out = tk_xmalloc(cap);
    snprintf(out, cap, "%s%.*s%s%s", scheme ? "" : "http://", (int)hl, host, *port ? ":" : "",
             port);
    return out;
}

bool dash_gateway_call(dash_req_t *req, const char *method, const char *path_query,
                       const char *body, size_t body_len, dash_gw_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    char *base = base_url(req->conf);
    if (!base) {
        dash_reply_error(req, 503, "No gateway is configured (tyk_api_config.Host is empty)");
        return false;
    }
    size_t ul = strlen(base) + strlen(path_query) + 1;
    char *url = tk_xmalloc(ul);
    snprintf(url, ul, "%s%s", base, path_query);
    const char *secret = req->conf->tyk_api_secret ? req->conf->tyk_api_secret : "";
    size_t al = strlen(secret) + 32;
    char *auth = tk_xmalloc(al);
    snprintf(auth, al, "x-tyk-authorization: %s", secret);
    const char *headers[] = {auth, "Content-Type: application/json", "Accept: application/json",
                             NULL};
    tk_curl_request_t r = {.method = method,
                           .url = url,
                           .headers = headers,
                           .body = body,
                           .body_len = body ? body_len : 0,
                           .timeout_s = req->conf->gateway_timeout > 0
                                            ? (double)req->conf->gateway_timeout
                                            : TK_CURL_DEFAULT_TIMEOUT_S};
    tk_curl_response_t resp;
    /* One client per call: the dashboard makes few of these, and no connection state then
     * outlives the request thread's current handler. */
    tk_curl_client_t *cl = tk_curl_new();
    int rc = cl ? tk_curl_do(cl, &r, &resp) : -1;
    bool ok = false;
    char msg[512];
    if (!cl) {
        dash_reply_error(req, 500, "Out of memory");
    } else if (rc != 0) {
        tk_log_warn("gateway control API %s %s: %s", method, url, resp.error);
        snprintf(msg, sizeof(msg), "Could not reach the gateway at %s: %s", base, resp.error);
        dash_reply_error(req, 502, msg);
    } else {
        out->status = resp.status;
        out->json =
            resp.body_len ? json_loadb(resp.body, resp.body_len, JSON_DECODE_ANY, NULL) : NULL;
        if (!out->json && resp.status != 200 && resp.status != 404 && resp.status != 405) {
            /* A reply that is not the control API's JSON: something else answered. */
            tk_log_warn("gateway control API %s %s: HTTP %ld, not JSON", method, url, resp.status);
            snprintf(msg, sizeof(msg), "The gateway at %s answered HTTP %ld without JSON", base,
                     resp.status);
            dash_reply_error(req, 502, msg);
        } else if (resp.status == 403 &&
                   strcmp(dash_gateway_message(out, ""), "Attempted administrative access with "
                                                         "invalid or missing key!") == 0) {
            snprintf(msg, sizeof(msg),
                     "The gateway at %s refused the dashboard's secret (tyk_api_config.Secret)",
                     base);
            dash_reply_error(req, 502, msg);
        } else {
            ok = true;
        }
    }
    if (cl)
        tk_curl_response_free(&resp);
    tk_curl_free(cl);
    if (!ok) {
        json_decref(out->json);
        out->json = NULL;
    }
    free(auth);
    free(url);
    free(base);
    return ok;
}

void dash_gw_reply_free(dash_gw_reply_t *r)
{
    json_decref(r->json);
    r->json = NULL;
}

const char *dash_gateway_message(const dash_gw_reply_t *r, const char *fallback)
{
    const char *m = json_string_value(json_object_get(r->json, "message"));
    return m && *m ? m : fallback;
}

void dash_gateway_relay_error(dash_req_t *req, const dash_gw_reply_t *r, const char *what)
{
    const char *m = dash_gateway_message(r, NULL);
    char msg[512];
    if (r->status >= 400 && r->status < 500) {
        snprintf(msg, sizeof(msg), "%s", m ? m : what);
        dash_reply_error(req, (int)r->status, msg);
    } else if (m && (strstr(m, "Unmarshalling") || strstr(m, "malformed"))) {
        snprintf(msg, sizeof(msg), "%s: the body does not match the expected fields (%s)", what, m);
        dash_reply_error(req, 400, msg);
    } else {
        snprintf(msg, sizeof(msg), "%s: the gateway answered HTTP %ld%s%s", what, r->status,
                 m ? ": " : "", m ? m : "");
        dash_reply_error(req, 502, msg);
    }
}
