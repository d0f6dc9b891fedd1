/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking HTTP requests for sink threads, on libcurl's easy API. */
#include "tk_curl.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *user_agent = "turnpike";

void tk_curl_set_user_agent(const char *ua)
{
    user_agent = ua;
}

#define MAX_BODY (64u * 1024u * 1024u)

struct tk_curl_client {
    CURL *easy; /* kept between requests: its connection cache gives keep-alive */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe; every sink thread creates its client through here. */
static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

tk_curl_client_t *tk_curl_new(void)
{
    pthread_once(&global_once, global_init);
    tk_curl_client_t *c = tk_xcalloc(1, sizeof(*c));
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(c);
        return NULL;
    }
    return c;
}

void tk_curl_free(tk_curl_client_t *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->easy);
    free(c);
}

bool tk_curl_status_permanent(long status)
{
    switch (status) {
    case 400: /* malformed: influx line protocol, a bad JSON document */
    case 401: /* credentials refused */
    case 403:
    case 404: /* no such index/collector/database */
    case 413: /* body too large */
    case 422: /* understood but not acceptable */
        return true;
    default:
        return false;
    }
}

double tk_curl_timeout(double conf_timeout_s)
{
    return conf_timeout_s > 0 ? conf_timeout_s : TK_CURL_DEFAULT_TIMEOUT_S;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    tk_curl_response_t *r = userdata;
    size_t n = size * nmemb;
    size_t keep = r->body_len < MAX_BODY ? TK_MIN(n, MAX_BODY - r->body_len) : 0;
    if (keep) {
        r->body = tk_xrealloc(r->body, r->body_len + keep + 1);
        memcpy(r->body + r->body_len, ptr, keep);
        r->body_len += keep;
        r->body[r->body_len] = '\0';
    }
    return n; /* the rest is dropped, not an error */
}

/* For ssl_server_name: the URL's host becomes @server_name (so SNI and verification use it),
 * CURLOPT_CONNECT_TO sends the connection to the real host, and Host keeps the real name. */
static int apply_server_name(CURL *easy, const char *url, const char *server_name,
                             struct curl_slist **connect_to, struct curl_slist **headers,
                             char **new_url)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *out = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto done;
    char line[512];
    snprintf(line, sizeof(line), "%s:%s:%s:%s", server_name, port, host, port);
    *connect_to = curl_slist_append(*connect_to, line);
    char *explicit_port = NULL;
    bool has_port = curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK;
    snprintf(line, sizeof(line), "Host: %s%s%s", host, has_port ? ":" : "",
             has_port ? explicit_port : "");
    curl_free(explicit_port);
    *headers = curl_slist_append(*headers, line);
    if (curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
        goto done;
    *new_url = tk_xstrdup(out);
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, *connect_to);
    rc = 0;
done:
    curl_free(host);
    curl_free(port);
    curl_free(out);
    curl_url_cleanup(u);
    return rc;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return atomic_load((const _Atomic bool *)ud) ? 1 : 0; /* non-zero aborts the transfer */
}

int tk_curl_do(tk_curl_client_t *c, const tk_curl_request_t *req, tk_curl_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->body = tk_xcalloc(1, 1);
    CURL *e = c->easy;
    curl_easy_reset(e);

    struct curl_slist *headers = NULL, *connect_to = NULL;
    char *url_copy = NULL;
    const char *url = req->url;
    const tk_curl_tls_t *tls = req->tls;

    if (tls && tls->server_name && *tls->server_name && strncasecmp(url, "https:", 6) == 0) {
        if (apply_server_name(e, url, tls->server_name, &connect_to, &headers, &url_copy) != 0) {
            snprintf(resp->error, sizeof(resp->error), "cannot apply ssl_server_name to %s", url);
            curl_slist_free_all(headers);
            curl_slist_free_all(connect_to);
            return -1;
        }
        url = url_copy;
    }
    for (const char *const *h = req->headers; h && *h; h++)
        headers = curl_slist_append(headers, *h);
    /* Without this curl waits up to a second for "100 Continue" before sending large bodies. */
    headers = curl_slist_append(headers, "Expect:");

    long timeout_ms = (long)(tk_curl_timeout(req->timeout_s) * 1000.0);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM-based DNS timeouts */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_s > 0 ? (long)(req->connect_timeout_s * 1000.0)
                                                : timeout_ms);
    if (req->abort) {
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)req->abort);
    }
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent);
    if (req->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    const char *method = req->method ? req->method : (req->body ? "POST" : "GET");
    if (strcmp(method, "GET") == 0 && !req->body)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0 || !req->body)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (req->username) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, req->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    if (tls) {
        if (tls->insecure_skip_verify) {
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (tls->ca_file && *tls->ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca_file);
        if (tls->cert_file && *tls->cert_file)
            curl_easy_setopt(e, CURLOPT_SSLCERT, tls->cert_file);
        if (tls->key_file && *tls->key_file)
            curl_easy_setopt(e, CURLOPT_SSLKEY, tls->key_file);
    }

    CURLcode rc = curl_easy_perform(e);
    int ret = 0;
    if (rc != CURLE_OK) {
        snprintf(resp->error, sizeof(resp->error), "%s: %s", url,
                 *errbuf ? errbuf : curl_easy_strerror(rc));
        resp->status = 0;
        ret = -1;
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    /* The handle keeps pointers into these until the next reset; drop them now. */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    curl_slist_free_all(connect_to);
    free(url_copy);
    return ret;
}

void tk_curl_response_free(tk_curl_response_t *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
