/* SPDX-License-Identifier: Apache-2.0 */
/* Bidirectional splice with backpressure and half-close (see gw_tunnel.h). */
#include "gw_tunnel.h"

#include <stdlib.h>
#include <sys/socket.h>

/* Per direction: stop reading the source above HIGH bytes queued for the sink, resume at LOW. */
#define HIGH_WATER (256 * 1024)
#define LOW_WATER (64 * 1024)

struct side {
    tk_stream_t *st;
    bool eof;      /* this side's input ended */
    bool paused;   /* not read: the other side's output is full */
    bool shut_wr;  /* our write side towards this peer is shut down */
    uint64_t read; /* bytes read from this side and passed on */
};

struct gw_tunnel {
    struct event_base *base;
    struct side s[2];
    struct event *defer_ev; /* first pump, then the done notification */
    struct event *idle_ev;
    int64_t idle_s;
    bool started;
    bool finished;
    gw_tunnel_done_fn done;
    void *arg;
};

static int side_of(const gw_tunnel_t *t, const tk_stream_t *st)
{
    return t->s[0].st == st ? 0 : 1;
}

static size_t out_len(gw_tunnel_t *t, int i)
{
    return evbuffer_get_length(tk_stream_output(t->s[i].st));
}

/* Ends the tunnel; the owner hears of it from the loop, outside any stream callback. */
static void finish(gw_tunnel_t *t)
{
    if (t->finished)
        return;
    t->finished = true;
    tk_stream_read(t->s[0].st, false);
    tk_stream_read(t->s[1].st, false);
    if (t->idle_ev)
        evtimer_del(t->idle_ev);
    event_active(t->defer_ev, 0, 1);
}

static void check_done(gw_tunnel_t *t)
{
    if (t->s[0].eof && t->s[1].eof && out_len(t, 0) == 0 && out_len(t, 1) == 0)
        finish(t);
}

/* Side @j will get nothing more: once its output is flushed, shut our write side (a TLS
 * stream cannot half-close under bufferevent_openssl, so there the whole tunnel ends). */
static void maybe_shut(gw_tunnel_t *t, int j)
{
    struct side *d = &t->s[j];
    if (d->shut_wr || !t->s[1 - j].eof || out_len(t, j) > 0)
        return;
    d->shut_wr = true;
    if (tk_stream_ssl(d->st)) {
        finish(t);
        return;
    }
    int fd = tk_stream_fd(d->st);
    if (fd >= 0)
        shutdown(fd, SHUT_WR);
    check_done(t);
}

/* Moves what side @i has read to the other side's output. */
static void pump(gw_tunnel_t *t, int i)
{
    struct evbuffer *in = tk_stream_input(t->s[i].st);
    struct evbuffer *out = tk_stream_output(t->s[1 - i].st);
    size_t n = evbuffer_get_length(in);
    if (n) {
        evbuffer_add_buffer(out, in);
        t->s[i].read += n;
    }
    if (!t->s[i].paused && !t->s[i].eof && evbuffer_get_length(out) > HIGH_WATER) {
        t->s[i].paused = true;
        tk_stream_read(t->s[i].st, false);
    }
}

static void touch_idle(gw_tunnel_t *t)
{
    if (t->idle_ev) {
        struct timeval tv = {t->idle_s, 0};
        evtimer_add(t->idle_ev, &tv);
    }
}

static void on_read(tk_stream_t *st, void *arg)
{
    gw_tunnel_t *t = arg;
    if (t->finished || !t->started)
        return; /* the first pump picks it up */
    touch_idle(t);
    pump(t, side_of(t, st));
}

/* Side @j's output went down: resume its source, or finish a half-close. */
static void on_drain(tk_stream_t *st, void *arg)
{
    gw_tunnel_t *t = arg;
    if (t->finished)
        return;
    int j = side_of(t, st);
    struct side *src = &t->s[1 - j];
    if (src->paused && out_len(t, j) <= LOW_WATER) {
        src->paused = false;
        tk_stream_read(src->st, true);
        /* A TLS stream may have buffered input while paused. */
        if (evbuffer_get_length(tk_stream_input(src->st)))
            pump(t, 1 - j);
    }
    maybe_shut(t, j);
}

static void on_event(tk_stream_t *st, int what, void *arg)
{
    gw_tunnel_t *t = arg;
    if (t->finished || (what & TK_STREAM_CONNECTED))
        return;
    int i = side_of(t, st);
    if (what & TK_STREAM_ERROR) {
        finish(t);
        return;
    }
    /* End of input: pass on what is left, then shut the other side once it is flushed. */
    pump(t, i);
    t->s[i].eof = true;
    tk_stream_read(st, false);
    tk_stream_set_lowmark(t->s[1 - i].st, 0);
    maybe_shut(t, 1 - i);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    finish(arg);
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_tunnel_t *t = arg;
    if (t->finished) {
        t->done(t, t->arg);
        return;
    }
    t->started = true;
    pump(t, 0);
    pump(t, 1);
}

gw_tunnel_t *gw_tunnel_new(struct event_base *base, tk_stream_t *a, tk_stream_t *b,
                           int64_t idle_timeout_s, gw_tunnel_done_fn done, void *arg)
{
    gw_tunnel_t *t = tk_xcalloc(1, sizeof(*t));
    t->base = base;
    t->s[0].st = a;
    t->s[1].st = b;
    t->done = done;
    t->arg = arg;
    t->defer_ev = event_new(base, -1, 0, on_defer, t);
    if (idle_timeout_s > 0) {
        t->idle_s = idle_timeout_s;
        t->idle_ev = evtimer_new(base, on_idle, t);
        touch_idle(t);
    }
    for (int i = 0; i < 2; i++) {
        tk_stream_setcb(t->s[i].st, on_read, on_drain, on_event, t);
        tk_stream_set_lowmark(t->s[i].st, LOW_WATER);
        tk_stream_read(t->s[i].st, true);
    }
    /* Deferred: the caller may be inside one of these streams' callbacks (a parser that has
     * not yet consumed the bytes before the switch). */
    event_active(t->defer_ev, 0, 1);
    return t;
}

void gw_tunnel_free(gw_tunnel_t *t)
{
    if (!t)
        return;
    event_free(t->defer_ev);
    if (t->idle_ev)
        event_free(t->idle_ev);
    tk_stream_free(t->s[0].st);
    tk_stream_free(t->s[1].st);
    free(t);
}

uint64_t gw_tunnel_bytes(const gw_tunnel_t *t, bool a_to_b)
{
    return t->s[a_to_b ? 0 : 1].read;
}
