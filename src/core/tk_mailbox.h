/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mailbox into one thread's event loop: any thread posts, the owner's loop receives the
 * messages in order. An eventfd wakes the loop, so the receiving event base needs no locks.
 */
#ifndef TK_MAILBOX_H
#define TK_MAILBOX_H

#include "tk_common.h"

#include <event2/event.h>

typedef struct tk_mailbox tk_mailbox_t;

/** Called on the owner's thread for each message, in posting order. */
typedef void (*tk_mailbox_fn)(void *msg, void *arg);

tk_mailbox_t *tk_mailbox_new(struct event_base *base, tk_mailbox_fn on_msg, void *arg);
/** Posts @msg from any thread. */
void tk_mailbox_post(tk_mailbox_t *mb, void *msg);
/** Frees the mailbox on the owner's thread; undelivered messages go to @drop (if not NULL). */
void tk_mailbox_free(tk_mailbox_t *mb, void (*drop)(void *msg));

#endif
