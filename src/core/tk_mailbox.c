/* SPDX-License-Identifier: Apache-2.0 */
/* Cross-thread message queue woken through an eventfd. */
#include "tk_mailbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct node {
    struct node *next;
    void *msg;
};

struct tk_mailbox {
    pthread_mutex_t lock;
    struct node *head, **tail;
    int fd;
    struct event *ev;
    tk_mailbox_fn on_msg;
    void *arg;
};

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(what);
    tk_mailbox_t *mb = arg;
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    TK_UNUSED(n);
    pthread_mutex_lock(&mb->lock);
    struct node *list = mb->head;
    mb->head = NULL;
    mb->tail = &mb->head;
    pthread_mutex_unlock(&mb->lock);
    while (list) {
        struct node *next = list->next;
        void *msg = list->msg;
        free(list);
        mb->on_msg(msg, mb->arg);
        list = next;
    }
}

tk_mailbox_t *tk_mailbox_new(struct event_base *base, tk_mailbox_fn on_msg, void *arg)
{
    tk_mailbox_t *mb = tk_xcalloc(1, sizeof(*mb));
    pthread_mutex_init(&mb->lock, NULL);
    mb->tail = &mb->head;
    mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    TK_ASSERT(mb->fd >= 0);
    mb->on_msg = on_msg;
    mb->arg = arg;
    mb->ev = event_new(base, mb->fd, EV_READ | EV_PERSIST, on_wake, mb);
    event_add(mb->ev, NULL);
    return mb;
}

void tk_mailbox_post(tk_mailbox_t *mb, void *msg)
{
    struct node *n = tk_xmalloc(sizeof(*n));
    n->next = NULL;
    n->msg = msg;
    pthread_mutex_lock(&mb->lock);
    *mb->tail = n;
    mb->tail = &n->next;
    pthread_mutex_unlock(&mb->lock);
    uint64_t one = 1;
    ssize_t w = write(mb->fd, &one, sizeof(one));
    TK_UNUSED(w);
}

void tk_mailbox_free(tk_mailbox_t *mb, void (*drop)(void *msg))
{
    if (!mb)
        return;
    event_free(mb->ev);
    close(mb->fd);
    while (mb->head) {
        struct node *n = mb->head;
        mb->head = n->next;
        if (drop)
            drop(n->msg);
        free(n);
    }
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}
