/* SPDX-License-Identifier: Apache-2.0 */
/* Plain-socket streams with few syscalls per request; TLS streams on bufferevent_openssl. */
#include "tk_stream.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#define READ_SIZE 16384

struct tk_stream {
    struct event_base *base;
    int fd;
    /* plain sockets */
    struct evbuffer *in, *out;
    struct event *rev, *wev, *flush_ev;
    struct evbuffer_cb_entry *out_cb;
    bool reading; /* rev is added */
    bool writing; /* wev is added */
    bool connecting;
    bool flush_pending;
    bool want_read;
    /* TLS */
    struct bufferevent *bev;
    size_t lowmark;
    tk_stream_read_cb on_read;
    tk_stream_drain_cb on_drain;
    tk_stream_event_cb on_event;
    void *arg;
};

/* ---- plain sockets ---- */

static void set_reading(tk_stream_t *s, bool on)
{
    if (on == s->reading)
        return;
    s->reading = on;
    if (on)
        event_add(s->rev, NULL);
    else
        event_del(s->rev);
}

static void set_writing(tk_stream_t *s, bool on)
{
    if (on == s->writing)
        return;
    s->writing = on;
    if (on)
        event_add(s->wev, NULL);
    else
        event_del(s->wev);
}

static void do_write(tk_stream_t *s)
{
    if (s->connecting)
        return;
    size_t len = evbuffer_get_length(s->out);
    if (len > 0) {
        int n = evbuffer_write(s->out, s->fd);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            set_writing(s, false);
            s->on_event(s, TK_STREAM_ERROR, s->arg);
            return;
        }
        len = evbuffer_get_length(s->out);
    }
    set_writing(s, len > 0);
    if (len <= s->lowmark && s->on_drain)
        s->on_drain(s, s->arg);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    tk_stream_t *s = arg;
    s->flush_pending = false;
    if (!s->writing)
        do_write(s);
}

/* Output grew: write once the current callback round is over, coalescing every addition. */
static void on_out_change(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    TK_UNUSED(b);
    tk_stream_t *s = arg;
    if (info->n_added && !s->flush_pending && !s->writing && !s->connecting) {
        s->flush_pending = true;
        event_active(s->flush_ev, EV_WRITE, 1);
    }
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(what);
    tk_stream_t *s = arg;
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(s->in, READ_SIZE, v, 2);
    if (nv <= 0)
        return;
    struct iovec iov[2];
    for (int i = 0; i < nv; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
    }
    ssize_t n = readv(fd, iov, nv);
    if (n > 0) {
        size_t left = (size_t)n;
        for (int i = 0; i < nv; i++) {
            size_t take = left < v[i].iov_len ? left : v[i].iov_len;
            v[i].iov_len = take;
            left -= take;
        }
        evbuffer_commit_space(s->in, v, nv);
        s->on_read(s, s->arg);
        return;
    }
    evbuffer_commit_space(s->in, v, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    set_reading(s, false);
    s->on_event(s, n == 0 ? TK_STREAM_EOF : TK_STREAM_ERROR, s->arg);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(what);
    tk_stream_t *s = arg;
    if (s->connecting) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err == EINPROGRESS)
            return;
        s->connecting = false;
        if (err) {
            set_writing(s, false);
            errno = err;
            s->on_event(s, TK_STREAM_ERROR, s->arg);
            return;
        }
        set_reading(s, s->want_read);
        s->on_event(s, TK_STREAM_CONNECTED, s->arg);
    }
    do_write(s);
}

/* ---- TLS through bufferevent_openssl ---- */

static void bev_read(struct bufferevent *bev, void *arg)
{
    TK_UNUSED(bev);
    tk_stream_t *s = arg;
    s->on_read(s, s->arg);
}

static void bev_write(struct bufferevent *bev, void *arg)
{
    TK_UNUSED(bev);
    tk_stream_t *s = arg;
    if (s->on_drain)
        s->on_drain(s, s->arg);
}

static void bev_event(struct bufferevent *bev, short events, void *arg)
{
    TK_UNUSED(bev);
    tk_stream_t *s = arg;
    if (events & BEV_EVENT_CONNECTED)
        s->on_event(s, TK_STREAM_CONNECTED, s->arg);
    else if (events & BEV_EVENT_ERROR)
        s->on_event(s, TK_STREAM_ERROR, s->arg);
    else if (events & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT))
        s->on_event(s, TK_STREAM_EOF, s->arg);
}

/* ---- interface ---- */

tk_stream_t *tk_stream_new(struct event_base *base, int fd, SSL *ssl, bool accepting)
{
    tk_stream_t *s = tk_xcalloc(1, sizeof(*s));
    s->base = base;
    s->fd = fd;
    s->want_read = true;
    if (ssl) {
        s->bev = bufferevent_openssl_socket_new(
            base, fd, ssl, accepting ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
            BEV_OPT_CLOSE_ON_FREE);
        if (!s->bev) {
            free(s);
            return NULL;
        }
        bufferevent_setcb(s->bev, bev_read, bev_write, bev_event, s);
        bufferevent_enable(s->bev, EV_READ | EV_WRITE);
        return s;
    }
    s->in = evbuffer_new();
    s->out = evbuffer_new();
    s->out_cb = evbuffer_add_cb(s->out, on_out_change, s);
    s->flush_ev = event_new(base, -1, 0, on_flush, s);
    if (fd >= 0) {
        s->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, s);
        s->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, s);
        set_reading(s, true);
    }
    return s;
}

void tk_stream_setcb(tk_stream_t *s, tk_stream_read_cb on_read, tk_stream_drain_cb on_drain,
                     tk_stream_event_cb on_event, void *arg)
{
    s->on_read = on_read;
    s->on_drain = on_drain;
    s->on_event = on_event;
    s->arg = arg;
}

int tk_stream_connect(tk_stream_t *s, const struct sockaddr *sa, int len)
{
    if (s->bev)
        return bufferevent_socket_connect(s->bev, sa, len) == 0 ? TK_OK : TK_ERROR;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return TK_ERROR;
    s->fd = fd;
    s->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_readable, s);
    s->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_writable, s);
    if (connect(fd, sa, (socklen_t)len) == 0) {
        set_reading(s, s->want_read);
        event_active(s->wev, EV_WRITE, 1); /* reports CONNECTED from the loop */
        s->connecting = true;
        return TK_OK;
    }
    if (errno != EINPROGRESS)
        return TK_ERROR;
    s->connecting = true;
    set_writing(s, true);
    return TK_OK;
}

void tk_stream_free(tk_stream_t *s)
{
    if (!s)
        return;
    if (s->bev) {
        bufferevent_free(s->bev);
        free(s);
        return;
    }
    if (s->rev)
        event_free(s->rev);
    if (s->wev)
        event_free(s->wev);
    event_free(s->flush_ev);
    evbuffer_remove_cb_entry(s->out, s->out_cb);
    evbuffer_free(s->in);
    evbuffer_free(s->out);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

struct evbuffer *tk_stream_input(tk_stream_t *s)
{
    return s->bev ? bufferevent_get_input(s->bev) : s->in;
}

struct evbuffer *tk_stream_output(tk_stream_t *s)
{
    return s->bev ? bufferevent_get_output(s->bev) : s->out;
}

void tk_stream_read(tk_stream_t *s, bool on)
{
    if (s->bev) {
        if (on)
            bufferevent_enable(s->bev, EV_READ);
        else
            bufferevent_disable(s->bev, EV_READ);
        return;
    }
    s->want_read = on;
    if (!s->connecting && s->rev)
        set_reading(s, on);
}

void tk_stream_set_lowmark(tk_stream_t *s, size_t low)
{
    s->lowmark = low;
    if (s->bev)
        bufferevent_setwatermark(s->bev, EV_WRITE, low, 0);
}

void tk_stream_allow_dirty_shutdown(tk_stream_t *s)
{
    if (s->bev)
        bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
}

int tk_stream_fd(const tk_stream_t *s)
{
    return s->bev ? bufferevent_getfd(s->bev) : s->fd;
}

SSL *tk_stream_ssl(tk_stream_t *s)
{
    return s->bev ? bufferevent_openssl_get_ssl(s->bev) : NULL;
}

unsigned long tk_stream_ssl_error(tk_stream_t *s)
{
    return s->bev ? bufferevent_get_openssl_error(s->bev) : 0;
}
