/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: a tiny HTTP server (libevent evhttp, own thread, 127.0.0.1, kernel-chosen port)
 * that records every request and answers as told: a fixed reply, N failures first, or never. */
#ifndef TEST_HTTP_RECORDER_H
#define TEST_HTTP_RECORDER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct http_rec_header {
    char *name;
    char *value;
} http_rec_header_t;

typedef struct http_rec_request {
    char method[16];
    char *uri; /* path and query as sent */
    http_rec_header_t *headers;
    size_t n_headers;
    char *body; /* NUL-terminated */
    size_t body_len;
} http_rec_request_t;

typedef struct http_recorder http_recorder_t;

/** Starts the server; it answers 200 with an empty body until told otherwise. */
http_recorder_t *http_recorder_start(void);
/** Stops the thread, closes every connection (hung ones too) and frees everything. */
void http_recorder_stop(http_recorder_t *r);
int http_recorder_port(const http_recorder_t *r);
/** "http://127.0.0.1:<port>" */
const char *http_recorder_url(const http_recorder_t *r);

/** The answer to every following request (@body may be NULL). */
void http_recorder_reply(http_recorder_t *r, int status, const char *content_type,
                         const char *body);
/** The next @n requests get @status (with a short text body) instead of the normal reply. */
void http_recorder_fail_next(http_recorder_t *r, int n, int status);
/** While on, requests are recorded but never answered. */
void http_recorder_hang(http_recorder_t *r, bool on);

size_t http_recorder_count(http_recorder_t *r);
/** A copy of request @i (free with http_rec_request_free), or false when there is none. */
bool http_recorder_get(http_recorder_t *r, size_t i, http_rec_request_t *out);
void http_rec_request_free(http_rec_request_t *req);
/** The first header named @name (any case), or NULL. */
const char *http_rec_header(const http_rec_request_t *req, const char *name);
void http_recorder_clear(http_recorder_t *r);

#endif
