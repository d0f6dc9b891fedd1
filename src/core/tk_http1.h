/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.x message parsing on llhttp: a request or response head is collected into one
 * growable buffer (bounded by a size limit), bodies are handed over piece by piece as they
 * arrive, already de-chunked. The parser pauses after a head that announces a body and after
 * every complete message, so the owner decides when to go on (pipelining-safe).
 */
#ifndef TK_HTTP1_H
#define TK_HTTP1_H

#include "tk_common.h"

#include <event2/buffer.h>
#include <sys/types.h>

typedef struct tk_http_hdr {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} tk_http_hdr_t;

typedef struct tk_http_head {
    const char *method; /* requests */
    const char *url;
    uint32_t method_len;
    uint32_t url_len;
    int status; /* responses */
    uint8_t major, minor;
    bool keep_alive; /* llhttp_should_keep_alive() at head time */
    bool chunked;    /* Transfer-Encoding: chunked */
    bool has_body;   /* a body follows (length > 0, chunked, or read-until-close) */
    bool upgrade;    /* Connection: upgrade requested */
    bool expect_continue;
    int64_t content_length; /* -1 when absent */
    tk_http_hdr_t *hdrs;
    uint32_t nhdrs;
} tk_http_head_t;

typedef struct tk_h1_parser tk_h1_parser_t;

/* Callback results. */
enum {
    TK_H1_CONTINUE = 0,
    TK_H1_SKIP_BODY = 1, /* on_head of a response to HEAD / 1xx / 204 / 304 */
    TK_H1_ABORT = -1,
};

typedef struct tk_h1_callbacks {
    /** Head complete. @head stays valid until the next message begins. */
    int (*on_head)(void *ud, tk_http_head_t *head);
    /** A piece of the decoded body. */
    int (*on_body)(void *ud, const char *p, size_t n);
    /** Message complete; the parser is paused until tk_h1_parser_resume(). */
    int (*on_done)(void *ud);
} tk_h1_callbacks_t;

/* tk_h1_parser_feed() results. */
enum tk_h1_status {
    TK_H1_OK = 0,          /* all bytes consumed, wants more */
    TK_H1_PAUSED_HEAD = 1, /* head with body delivered; resume to read the body */
    TK_H1_PAUSED_DONE = 2, /* message complete; resume for the next message */
    TK_H1_E_HEAD_TOO_LARGE = -10,
    TK_H1_E_PARSE = -11,
    TK_H1_E_ABORTED = -12,
    TK_H1_E_UPGRADE = -13, /* request asked for a protocol upgrade (not handled here) */
};

/** Creates a parser for requests (@request true) or responses. @max_head bounds the head. */
tk_h1_parser_t *tk_h1_parser_new(bool request, size_t max_head, const tk_h1_callbacks_t *cb,
                                 void *ud);
void tk_h1_parser_free(tk_h1_parser_t *p);

/**
 * Parses up to @len bytes; stores how many were consumed in @consumed (the rest must be fed
 * again after a resume). Returns an enum tk_h1_status.
 */
int tk_h1_parser_feed(tk_h1_parser_t *p, const char *data, size_t len, size_t *consumed);
/**
 * Feeds what @in holds, piece by piece, and drains what the parser consumed. Stops at the first
 * status other than TK_H1_OK, or between pieces once *@stop becomes true (backpressure set by a
 * callback). Returns that status (TK_H1_OK when everything was consumed or it stopped early).
 */
int tk_h1_parser_feed_buffer(tk_h1_parser_t *p, struct evbuffer *in, const bool *stop);
/** Continues after TK_H1_PAUSED_HEAD / TK_H1_PAUSED_DONE. */
void tk_h1_parser_resume(tk_h1_parser_t *p);
/** Signals EOF; completes a read-until-close body. Returns TK_H1_PAUSED_DONE or an error. */
int tk_h1_parser_finish(tk_h1_parser_t *p);
/** True between a message's first byte and its end. */
bool tk_h1_parser_in_message(const tk_h1_parser_t *p);
/** Readable reason for the last error. */
const char *tk_h1_parser_error(const tk_h1_parser_t *p);
/** Tells a response parser that the request was HEAD (no body whatever the head says). */
void tk_h1_parser_expect_no_body(tk_h1_parser_t *p, bool no_body);

/** Finds the first header named @name (case-insensitive); NULL if absent. */
const tk_http_hdr_t *tk_http_head_find(const tk_http_head_t *h, const char *name);

/** True if the comma-separated header value contains @token (case-insensitive). */
bool tk_http_value_has_token(const char *v, size_t len, const char *token);

/** Standard reason phrase for a status code ("OK", "Not Found"...); "Unknown" otherwise. */
const char *tk_http_reason(int status);

#endif
