/* SPDX-License-Identifier: Apache-2.0 */
/* A small blocking HTTP client for the pump's HTTP-based sinks (influx, elasticsearch, splunk).
 *
 * Sinks run in their own threads and may block (pump_sink.h), so this wraps libcurl's easy API:
 * one client per sink, reused between requests so keep-alive connections survive. Every request
 * has a connect and a total timeout, so a server that hangs costs at most that long. */
#ifndef PUMP_HTTP_H
#define PUMP_HTTP_H

#include "tk_common.h"

/** Seconds a request may take when the sink's "timeout" is 0 (Tyk: none; we never wait forever). */
#define PUMP_HTTP_DEFAULT_TIMEOUT_S 10.0

typedef struct pump_http_tls {
    bool insecure_skip_verify; /* no certificate chain or host name check */
    const char *ca_file;       /* PEM bundle to trust instead of the system store; NULL = system */
    const char *cert_file;     /* client certificate (PEM) for mTLS; NULL = none */
    const char *key_file;      /* its private key (PEM) */
    /* Name to send in SNI and to verify the certificate against, instead of the URL's host
     * (Tyk's ssl_server_name). The connection still goes to the URL's host and port. */
    const char *server_name;
} pump_http_tls_t;

typedef struct pump_http_request {
    const char *method; /* NULL = "POST" when there is a body, else "GET" */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines; may be NULL */
    const char *body;
    size_t body_len;
    const char *username; /* HTTP basic auth when non-NULL */
    const char *password;
    const pump_http_tls_t *tls; /* may be NULL */
    double timeout_s;           /* whole request, connect included; <= 0 = the default */
} pump_http_request_t;

typedef struct pump_http_response {
    long status; /* HTTP status, 0 when no response arrived */
    char *body;  /* NUL-terminated (may be empty); never NULL after pump_http_do */
    size_t body_len;
    char error[256]; /* why there is no response (timeout, refused, TLS...) */
} pump_http_response_t;

typedef struct pump_http_client pump_http_client_t;

/** A client for one thread. Never touches the network. */
pump_http_client_t *pump_http_new(void);
void pump_http_free(pump_http_client_t *c);

/** Sends @req and waits for the answer. Returns 0 when a response arrived (any status: the caller
 * judges it), -1 when none did, with the reason in resp->error. Call pump_http_response_free
 * either way. Response bodies above 64 MiB are cut there. */
int pump_http_do(pump_http_client_t *c, const pump_http_request_t *req, pump_http_response_t *resp);
void pump_http_response_free(pump_http_response_t *resp);

/** True for the statuses that say the server refused the request itself, so sending it again
 * cannot succeed: 400, 401, 403, 404, 413, 422 (pump_sink.h: write returns -2). 408, 429 and
 * 5xx are worth retrying and are not permanent. */
bool pump_http_status_permanent(long status);

/** Effective timeout for a sink's "timeout" setting (0 or less = PUMP_HTTP_DEFAULT_TIMEOUT_S). */
double pump_http_timeout(double conf_timeout_s);

#endif
