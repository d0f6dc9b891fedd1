/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A buffered, non-blocking byte stream on one socket, built for the proxy's hot path: the read
 * event stays armed (no epoll_ctl per request), reads go straight into the input buffer without
 * FIONREAD, and output is written in one writev at the end of the current callback round,
 * arming a write event only when the kernel pushes back. TLS streams use libevent's OpenSSL
 * bufferevent underneath with the same interface.
 */
#ifndef TK_STREAM_H
#define TK_STREAM_H

#include "tk_common.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

typedef struct tk_stream tk_stream_t;

enum tk_stream_what {
    TK_STREAM_CONNECTED = 1,
    TK_STREAM_EOF = 2,
    TK_STREAM_ERROR = 4,
};

/** New input is in tk_stream_input(). */
typedef void (*tk_stream_read_cb)(tk_stream_t *s, void *arg);
/** Output went down to the low mark (called after writes that leave it at or below). */
typedef void (*tk_stream_drain_cb)(tk_stream_t *s, void *arg);
/** Connected, end of input, or an error (see enum tk_stream_what). */
typedef void (*tk_stream_event_cb)(tk_stream_t *s, int what, void *arg);

/**
 * Wraps @fd (non-blocking, or -1 to connect later). With @ssl the stream speaks TLS: as a
 * server when @accepting, else as a client. The stream owns @fd and @ssl.
 */
tk_stream_t *tk_stream_new(struct event_base *base, int fd, SSL *ssl, bool accepting);
/** Closes the socket and frees everything. Not from inside this stream's own callbacks. */
void tk_stream_free(tk_stream_t *s);

void tk_stream_setcb(tk_stream_t *s, tk_stream_read_cb on_read, tk_stream_drain_cb on_drain,
                     tk_stream_event_cb on_event, void *arg);
/** Starts a non-blocking connect; TK_STREAM_CONNECTED or TK_STREAM_ERROR follows. */
int tk_stream_connect(tk_stream_t *s, const struct sockaddr *sa, int len);

struct evbuffer *tk_stream_input(tk_stream_t *s);
struct evbuffer *tk_stream_output(tk_stream_t *s);

/** Stops or restarts reading (backpressure). */
void tk_stream_read(tk_stream_t *s, bool on);
/** on_drain fires when the output is at or below @low bytes after a write. */
void tk_stream_set_lowmark(tk_stream_t *s, size_t low);
/** Tolerate a TLS peer that closes without close_notify. */
void tk_stream_allow_dirty_shutdown(tk_stream_t *s);

int tk_stream_fd(const tk_stream_t *s);
/** The TLS connection of a TLS stream (NULL for plain sockets). */
SSL *tk_stream_ssl(tk_stream_t *s);
/** The OpenSSL error behind the last TK_STREAM_ERROR (0 if none). */
unsigned long tk_stream_ssl_error(tk_stream_t *s);

#endif
