/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_offload: jobs run off the loop, completions come back on the loop thread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_offload.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctx {
    struct event_base *base;
    pthread_t loop_thread;
    int expected, done, ok, errors;
    int last_seq;
    bool in_order, on_loop, work_off_loop;
    _Atomic int worked;
};

struct jarg {
    struct ctx *c;
    int seq;
    int sleep_ms;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void work(void *arg)
{
    struct jarg *j = arg;
    if (pthread_equal(pthread_self(), j->c->loop_thread))
        j->c->work_off_loop = false;
    if (j->sleep_ms)
        sleep_ms(j->sleep_ms);
    atomic_fetch_add(&j->c->worked, 1);
}

static void done(void *arg, int status)
{
    struct jarg *j = arg;
    struct ctx *c = j->c;
    if (!pthread_equal(pthread_self(), c->loop_thread))
        c->on_loop = false;
    if (j->seq != c->last_seq + 1)
        c->in_order = false;
    c->last_seq = j->seq;
    if (status == TK_OK)
        c->ok++;
    else
        c->errors++;
    if (++c->done == c->expected)
        event_base_loopbreak(c->base);
    free(j);
}

static void ctx_init(struct ctx *c, int expected)
{
    memset(c, 0, sizeof(*c));
    c->base = event_base_new();
    c->loop_thread = pthread_self();
    c->expected = expected;
    c->in_order = c->on_loop = c->work_off_loop = true;
}

static struct jarg *jarg(struct ctx *c, int seq, int ms)
{
    struct jarg *j = calloc(1, sizeof(*j));
    j->c = c;
    j->seq = seq;
    j->sleep_ms = ms;
    return j;
}

static void run_loop(struct ctx *c)
{
    struct timeval tv = {20, 0}; /* a hang fails the test instead of blocking it */
    event_base_loopexit(c->base, &tv);
    event_base_dispatch(c->base);
}

static void test_many_jobs(void **state)
{
    (void)state;
    struct ctx c;
    ctx_init(&c, 2000);
    tk_offload_t *p = tk_offload_new(0);
    tk_offload_port_t *port = tk_offload_port_new(c.base);
    for (int i = 1; i <= c.expected; i++)
        assert_int_equal(tk_offload_submit(p, port, work, done, jarg(&c, i, 0)), TK_OK);
    run_loop(&c);
    assert_int_equal(c.done, c.expected);
    assert_int_equal(c.ok, c.expected);
    assert_int_equal(atomic_load(&c.worked), c.expected);
    assert_true(c.on_loop);
    assert_true(c.work_off_loop);
    tk_offload_port_free(port);
    tk_offload_free(p);
    event_base_free(c.base);
}

/* One pool thread: completions arrive in submission order. */
static void test_order(void **state)
{
    (void)state;
    struct ctx c;
    ctx_init(&c, 500);
    tk_offload_t *p = tk_offload_new(1);
    tk_offload_port_t *port = tk_offload_port_new(c.base);
    for (int i = 1; i <= c.expected; i++)
        tk_offload_submit(p, port, work, done, jarg(&c, i, 0));
    run_loop(&c);
    assert_int_equal(c.done, c.expected);
    assert_true(c.in_order);
    assert_true(c.on_loop);
    tk_offload_port_free(port);
    tk_offload_free(p);
    event_base_free(c.base);
}

/* The loop stays free while the pool works: a timer fires during a slow job. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (*(int *)arg)++;
}

static void test_loop_not_blocked(void **state)
{
    (void)state;
    struct ctx c;
    ctx_init(&c, 1);
    tk_offload_t *p = tk_offload_new(2);
    tk_offload_port_t *port = tk_offload_port_new(c.base);
    int ticks = 0;
    struct event *t = event_new(c.base, -1, EV_PERSIST, on_tick, &ticks);
    struct timeval tv = {0, 10000};
    event_add(t, &tv);
    tk_offload_submit(p, port, work, done, jarg(&c, 1, 300));
    run_loop(&c);
    assert_int_equal(c.ok, 1);
    assert_true(ticks >= 5);
    event_free(t);
    tk_offload_port_free(port);
    tk_offload_free(p);
    event_base_free(c.base);
}

/* Shutdown: the running job finishes (TK_OK), queued ones complete with TK_ERROR. */
static void test_shutdown_cancels_queued(void **state)
{
    (void)state;
    struct ctx c;
    ctx_init(&c, 11);
    tk_offload_t *p = tk_offload_new(1);
    tk_offload_port_t *port = tk_offload_port_new(c.base);
    tk_offload_submit(p, port, work, done, jarg(&c, 1, 200));
    sleep_ms(50); /* the first job is running */
    for (int i = 2; i <= 11; i++)
        tk_offload_submit(p, port, work, done, jarg(&c, i, 0));
    tk_offload_free(p);
    run_loop(&c);
    assert_int_equal(c.done, 11);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.errors, 10);
    assert_int_equal(atomic_load(&c.worked), 1);
    assert_true(c.in_order);
    assert_true(c.on_loop);
    tk_offload_port_free(port);
    event_base_free(c.base);
}

/* A port freed before its job ends: the completion runs on the pool thread with TK_ERROR;
 * one freed with undelivered completions runs them (TK_ERROR) at free. No leaks either way. */
static void test_port_freed_first(void **state)
{
    (void)state;
    struct ctx c;
    ctx_init(&c, 2);
    tk_offload_t *p = tk_offload_new(1);
    tk_offload_port_t *port = tk_offload_port_new(c.base);
    tk_offload_submit(p, port, work, done, jarg(&c, 1, 0));
    sleep_ms(100); /* completed and posted, never delivered (the loop does not run) */
    tk_offload_submit(p, port, work, done, jarg(&c, 2, 200));
    tk_offload_port_free(port); /* job 1: TK_ERROR here; job 2 still running */
    assert_int_equal(c.errors, 1);
    tk_offload_free(p); /* job 2 completes on the pool thread */
    assert_int_equal(c.done, 2);
    assert_int_equal(c.errors, 2);
    assert_false(c.on_loop);
    event_base_free(c.base);
}

static void *thread_port_user(void *arg)
{
    struct event_base *base = arg;
    tk_offload_port_t *a = tk_offload_thread_port(base);
    tk_offload_port_t *b = tk_offload_thread_port(base);
    return a == b ? a : NULL;
}

static void test_thread_port(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    pthread_t t;
    void *r = NULL;
    pthread_create(&t, NULL, thread_port_user, base);
    pthread_join(t, &r); /* the port was freed at thread exit (ASan checks the leak) */
    assert_non_null(r);
    event_base_free(base);
}

static void test_bcrypt(void **state)
{
    (void)state;
    char *h = tk_bcrypt_hash("s3cret", 4);
    assert_non_null(h);
    assert_int_equal(strncmp(h, "$2a$04$", 7), 0);
    assert_int_equal(strlen(h), 60);
    assert_true(tk_bcrypt_is_hash(h));
    assert_true(tk_bcrypt_check(h, "s3cret"));
    assert_false(tk_bcrypt_check(h, "s3cre"));
    assert_false(tk_bcrypt_check(h, ""));
    h[2] = 'b';
    assert_true(tk_bcrypt_check(h, "s3cret"));
    h[2] = 'y';
    assert_true(tk_bcrypt_check(h, "s3cret"));
    h[2] = 'x';
    assert_false(tk_bcrypt_check(h, "s3cret"));
    free(h);
    /* A published $2a$ test vector (crypt_blowfish / OpenBSD). */
    assert_true(
        tk_bcrypt_check("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"));
    assert_false(tk_bcrypt_check("plain", "plain"));
    assert_false(tk_bcrypt_check("", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_jobs),        cmocka_unit_test(test_order),
        cmocka_unit_test(test_loop_not_blocked), cmocka_unit_test(test_shutdown_cancels_queued),
        cmocka_unit_test(test_port_freed_first), cmocka_unit_test(test_thread_port),
        cmocka_unit_test(test_bcrypt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
