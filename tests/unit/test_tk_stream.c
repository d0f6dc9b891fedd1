/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_stream on real sockets: coalesced writes, reads, EOF, connect, backpressure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

struct state {
    struct event_base *base;
    int reads, drains, events, last_event;
    size_t got;
};

static void on_read(tk_stream_t *s, void *arg)
{
    struct state *st = arg;
    st->reads++;
    struct evbuffer *in = tk_stream_input(s);
    st->got += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_drain(tk_stream_t *s, void *arg)
{
    TK_UNUSED(s);
    ((struct state *)arg)->drains++;
}

static void on_event(tk_stream_t *s, int what, void *arg)
{
    TK_UNUSED(s);
    struct state *st = arg;
    st->events++;
    st->last_event = what;
}

static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = {0, ms * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void test_writes_coalesce_and_arrive(void **unused)
{
    TK_UNUSED(unused);
    struct state st = {0};
    struct event_base *base = event_base_new();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nonblock(sv[0]);
    nonblock(sv[1]);
    tk_stream_t *a = tk_stream_new(base, sv[0], NULL, false);
    tk_stream_t *b = tk_stream_new(base, sv[1], NULL, false);
    tk_stream_setcb(a, on_read, on_drain, on_event, &st);
    tk_stream_setcb(b, on_read, NULL, on_event, &st);
    for (int i = 0; i < 100; i++)
        evbuffer_add(tk_stream_output(a), "0123456789", 10);
    run_for(base, 50);
    assert_int_equal(st.got, 1000);
    assert_int_equal(st.drains, 1); /* one flush for all hundred additions */
    tk_stream_free(a);
    run_for(base, 50);
    assert_int_equal(st.last_event, TK_STREAM_EOF);
    tk_stream_free(b);
    event_base_free(base);
}

static void test_large_write_waits_for_the_reader(void **unused)
{
    TK_UNUSED(unused);
    struct state st = {0};
    struct event_base *base = event_base_new();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nonblock(sv[0]);
    nonblock(sv[1]);
    tk_stream_t *a = tk_stream_new(base, sv[0], NULL, false);
    tk_stream_t *b = tk_stream_new(base, sv[1], NULL, false);
    tk_stream_setcb(a, on_read, on_drain, on_event, &st);
    tk_stream_setcb(b, on_read, NULL, on_event, &st);
    tk_stream_read(b, false); /* the reader holds back: the kernel buffers fill */
    static char big[8 << 20];
    evbuffer_add(tk_stream_output(a), big, sizeof(big));
    run_for(base, 50);
    assert_true(evbuffer_get_length(tk_stream_output(a)) > 0);
    assert_int_equal(st.got, 0);
    tk_stream_read(b, true);
    for (int i = 0; i < 100 && st.got < sizeof(big); i++)
        run_for(base, 20);
    assert_int_equal(st.got, sizeof(big));
    assert_int_equal(evbuffer_get_length(tk_stream_output(a)), 0);
    tk_stream_free(a);
    tk_stream_free(b);
    event_base_free(base);
}

static void test_connect_ok_and_refused(void **unused)
{
    TK_UNUSED(unused);
    struct state st = {0};
    struct event_base *base = event_base_new();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    socklen_t sl = sizeof(sa);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);

    tk_stream_t *c = tk_stream_new(base, -1, NULL, false);
    tk_stream_setcb(c, on_read, NULL, on_event, &st);
    assert_int_equal(tk_stream_connect(c, (struct sockaddr *)&sa, sizeof(sa)), TK_OK);
    evbuffer_add(tk_stream_output(c), "ping", 4); /* queued until connected */
    run_for(base, 50);
    assert_int_equal(st.last_event, TK_STREAM_CONNECTED);
    int afd = accept(lfd, NULL, NULL);
    char buf[8] = {0};
    assert_int_equal(read(afd, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "ping");
    close(afd);
    tk_stream_free(c);

    /* The port stops listening: connecting now fails with an error event. */
    close(lfd);
    st.events = 0;
    tk_stream_t *r = tk_stream_new(base, -1, NULL, false);
    tk_stream_setcb(r, on_read, NULL, on_event, &st);
    if (tk_stream_connect(r, (struct sockaddr *)&sa, sizeof(sa)) == TK_OK) {
        run_for(base, 50);
        assert_int_equal(st.last_event, TK_STREAM_ERROR);
    }
    tk_stream_free(r);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_coalesce_and_arrive),
        cmocka_unit_test(test_large_write_waits_for_the_reader),
        cmocka_unit_test(test_connect_ok_and_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
