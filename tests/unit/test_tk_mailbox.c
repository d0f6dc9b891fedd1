/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for tk_mailbox: messages from other threads arrive in order on the owner's loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tk_mailbox.h"

#include <pthread.h>
#include <stdlib.h>

#define PER_THREAD 2000

struct sink {
    struct event_base *base;
    int count;
    int last_per_sender[2];
    bool in_order;
};

struct msg {
    int sender, seq;
};

static void on_msg(void *m, void *arg)
{
    struct msg *msg = m;
    struct sink *s = arg;
    if (msg->seq != s->last_per_sender[msg->sender] + 1)
        s->in_order = false;
    s->last_per_sender[msg->sender] = msg->seq;
    if (++s->count == 2 * PER_THREAD)
        event_base_loopbreak(s->base);
    free(msg);
}

struct sender {
    tk_mailbox_t *mb;
    int id;
};

static void *send_all(void *arg)
{
    struct sender *s = arg;
    for (int i = 1; i <= PER_THREAD; i++) {
        struct msg *m = malloc(sizeof(*m));
        m->sender = s->id;
        m->seq = i;
        tk_mailbox_post(s->mb, m);
    }
    return NULL;
}

static void test_two_senders_in_order(void **unused)
{
    TK_UNUSED(unused);
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    struct sink s = {.base = event_base_new_with_config(cfg), .in_order = true};
    event_config_free(cfg);
    tk_mailbox_t *mb = tk_mailbox_new(s.base, on_msg, &s);
    struct sender a = {mb, 0}, b = {mb, 1};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, send_all, &a);
    pthread_create(&tb, NULL, send_all, &b);
    struct timeval deadline = {10, 0};
    event_base_loopexit(s.base, &deadline);
    event_base_dispatch(s.base);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(s.count, 2 * PER_THREAD);
    assert_true(s.in_order);
    tk_mailbox_free(mb, free);
    event_base_free(s.base);
}

static int dropped;
static void count_drop(void *m)
{
    dropped++;
    free(m);
}

static void test_undelivered_messages_are_dropped_on_free(void **unused)
{
    TK_UNUSED(unused);
    struct sink s = {.base = event_base_new(), .in_order = true};
    tk_mailbox_t *mb = tk_mailbox_new(s.base, on_msg, &s);
    for (int i = 0; i < 3; i++)
        tk_mailbox_post(mb, calloc(1, sizeof(struct msg)));
    tk_mailbox_free(mb, count_drop);
    assert_int_equal(dropped, 3);
    assert_int_equal(s.count, 0);
    event_base_free(s.base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_senders_in_order),
        cmocka_unit_test(test_undelivered_messages_are_dropped_on_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
