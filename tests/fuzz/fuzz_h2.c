/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the HTTP/2 frame path of a client connection (gw_conn.c + gw_h2.c). The
 * input arrives, after the client preface, on a real gateway connection over a socketpair; the
 * routing step is replaced by a stub that answers in the ways handlers do (whole response,
 * streamed body with trailers, body read first) so that the stream life cycle, flow control and
 * the response path run too. The rest of the gateway (APIs, Redis, upstreams) is left out: it
 * is the same code HTTP/1 requests reach and has its own tests.
 */
#include "gw_h2.h"

#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static gw_conf_t conf;
static gw_server_t srv;
static gw_worker_t worker;
static gw_genref_t genref;

static void answer(gw_req_t *req)
{
    gw_respond(req, 200, "text/plain", "ok", 2, "X-Stub: 1\r\n");
}

static void stub_route(gw_req_t *req)
{
    const char *p = req->path;
    if (p[1] == 's') { /* a streamed body larger than the client's window, then trailers */
        struct evbuffer *h = evbuffer_new();
        evbuffer_add_printf(h, "Content-Type: application/grpc\r\nConnection: close\r\n");
        gw_req_write_head(req, 200, h, -1, true);
        evbuffer_free(h);
        static char chunk[16384];
        for (int i = 0; i < 6; i++)
            gw_req_write_body(req, chunk, sizeof(chunk));
        struct evbuffer *t = evbuffer_new();
        evbuffer_add_printf(t, "Grpc-Status: 0\r\nGrpc-Message: fine\r\n");
        gw_req_write_trailers(req, t);
        evbuffer_free(t);
        gw_req_finish(req);
        return;
    }
    if (p[1] == 'a') { /* the response cannot be completed */
        gw_req_write_head(req, 200, NULL, -1, true);
        gw_req_write_body(req, "x", 1);
        gw_req_abort(req);
        return;
    }
    if (p[1] == 'b' && !req->body_done) { /* the body first */
        req->kind = GW_REQ_BUFFERED;
        req->handler = answer;
        req->body = evbuffer_new();
        req->body_limit = 4096;
        gw_req_resume_body(req);
        return;
    }
    answer(req);
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    conf.hso_enable_http2 = true;
    conf.turnpike_max_header_size = 4096;
    conf.turnpike_header_timeout = 5;
    conf.turnpike_idle_timeout = 5;
    conf.turnpike_max_request_memory = 1 << 20;
    srv.conf = &conf;
    worker.srv = &srv;
    worker.base = event_base_new();
    worker.cur = &genref;
    gw_h2_route = stub_route;
}

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    gw_conn_accept(&worker, sv[0], (struct sockaddr *)&sa, sizeof(sa), false);
    /* Odd first byte: the preface comes in two pieces (detection waits for the rest). The
     * HTTP/1 path is not fuzzed here (fuzz_http1 has the parser; its router needs a gateway). */
    size_t first = size && (data[0] & 1) ? 10 : sizeof(PREFACE) - 1;
    (void)!write(sv[1], PREFACE, first);
    if (first < sizeof(PREFACE) - 1) {
        event_base_loop(worker.base, EVLOOP_NONBLOCK);
        (void)!write(sv[1], PREFACE + first, sizeof(PREFACE) - 1 - first);
    }
    size_t off = 0;
    char sink[65536];
    for (int round = 0; round < 64 && worker.nconns; round++) {
        if (off < size) {
            ssize_t n = write(sv[1], data + off, size - off);
            if (n > 0)
                off += (size_t)n;
        }
        event_base_loop(worker.base, EVLOOP_NONBLOCK);
        while (read(sv[1], sink, sizeof(sink)) > 0) {
        }
        if (off >= size && round > 8)
            break;
    }
    close(sv[1]); /* the client goes away: everything it held is released */
    for (int round = 0; round < 64 && worker.nconns; round++)
        event_base_loop(worker.base, EVLOOP_NONBLOCK);
    return 0;
}
