/* SPDX-License-Identifier: Apache-2.0 */
/* A small blocking HTTP client for threads that may block: the pump's HTTP sinks (influx,
 * elasticsearch, splunk), the dashboard's calls to a gateway, the gateway's calls to a dashboard.
 *
 * Sinks run in their own threads and may block (pump_sink.h), so this wraps libcurl's easy API:
 * one client per sink, reused between requests so keep-alive connections survive. Every request
 * has a connect and a total timeout, so a server that hangs costs at most that long. */
#ifndef TK_CURL_H
#define TK_CURL_H

#include "tk_common.h"

/** Seconds a request may take when the sink's "timeout" is 0 (Tyk: none; we never wait forever). */
#define TK_CURL_DEFAULT_TIMEOUT_S 10.0

typedef struct tk_curl_tls {
    bool insecure_skip_verify; /* no certificate chain or host name check */
    const char *ca_file;       /* PEM bundle to trust instead of the system store; NULL = system */
    const char *cert_file;     /* client certificate (PEM) for mTLS; NULL = none */
    const char *key_file;      /* its private key (PEM) */
    /* Name to send in SNI and to verify the certificate against, instead of the URL's host
     * (Tyk's ssl_server_name). The connection still goes to the URL's host and port. */
    const char *server_name;
} tk_curl_tls_t;

typedef struct tk_curl_request {
    const char *method; /* NULL = "POST" when there is a body, else "GET" */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines; may be NULL */
    const char *body;
    size_t body_len;
    const char *username; /* HTTP basic auth when non-NULL */
    const char *password;
    const tk_curl_tls_t *tls; /* may be NULL */
    double timeout_s;         /* whole request, connect included; <= 0 = the default */
    double connect_timeout_s; /* connecting alone; <= 0 = timeout_s */
    /* when not NULL, the request is abandoned soon after *abort becomes true (shutdown) */
    const _Atomic bool *abort;
} tk_curl_request_t;

typedef struct tk_curl_response {
    long status; /* HTTP status, 0 when no response arrived */
    char *body;  /* NUL-terminated (may be empty); never NULL after tk_curl_do */
    size_t body_len;
    char error[256]; /* why there is no response (timeout, refused, TLS...) */
} tk_curl_response_t;

typedef struct tk_curl_client tk_curl_client_t;

/** A client for one thread. Never touches the network. */
tk_curl_client_t *tk_curl_new(void);
void tk_curl_free(tk_curl_client_t *c);

/** Sends @req and waits for the answer. Returns 0 when a response arrived (any status: the caller
 * judges it), -1 when none did, with the reason in resp->error. Call tk_curl_response_free
 * either way. Response bodies above 64 MiB are cut there. */
int tk_curl_do(tk_curl_client_t *c, const tk_curl_request_t *req, tk_curl_response_t *resp);
void tk_curl_response_free(tk_curl_response_t *resp);

/** True for the statuses that say the server refused the request itself, so sending it again
 * cannot succeed: 400, 401, 403, 404, 413, 422 (pump_sink.h: write returns -2). 408, 429 and
 * 5xx are worth retrying and are not permanent. */
bool tk_curl_status_permanent(long status);

/** Effective timeout for a sink's "timeout" setting (0 or less = TK_CURL_DEFAULT_TIMEOUT_S). */
double tk_curl_timeout(double conf_timeout_s);

/** The User-Agent of every request; default "turnpike". Set once at start-up. */
void tk_curl_set_user_agent(const char *ua);

#endif
