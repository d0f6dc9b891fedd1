/* SPDX-License-Identifier: Apache-2.0 */
/* JS threads with batched completions (gw_jsvm_pool.h). */
#include "gw_jsvm_pool.h"

#include "tk_mailbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_WORKERS 4097      /* turnpike_workers is at most 4096 */
#define HOLD_NS (500 * 1000u) /* longest a finished job waits for company */
#define HOLD_MAX 64

typedef struct pjob {
    struct pjob *next;
    tk_offload_work_fn work;
    tk_offload_done_fn done;
    void *arg;
    int worker;
} pjob_t;

/* A worker's side: its inbox, and the jobs it queued during this turn of its loop (handed to
 * the JS threads together at the end of the turn: one wake-up per batch). Made on the worker's
 * thread at its first submit; freed by gw_jsvm_pool_free. */
typedef struct wslot {
    gw_jsvm_pool_t *pool;
    tk_mailbox_t *inbox;
    struct event *hand_over;
    pjob_t *staged, **stail;
} wslot_t;

struct gw_jsvm_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pjob_t *head, **tail;
    bool stopping;
    unsigned nthreads;
    pthread_t *threads;
    _Atomic(wslot_t *) slots[MAX_WORKERS];
};

/* The finished jobs a JS thread holds, oldest first. */
static _Thread_local struct {
    gw_jsvm_pool_t *pool; /* NULL on threads that are not JS threads */
    pjob_t *held, **tail;
    size_t nheld;
    uint64_t since;
} me;

/* A batch (a chain of jobs of one worker) arrives on that worker. */
static void on_batch(void *msg, void *arg)
{
    TK_UNUSED(arg);
    for (pjob_t *j = msg; j;) {
        pjob_t *next = j->next;
        j->done(j->arg, TK_OK);
        free(j);
        j = next;
    }
}

static void drop_batch(void *msg)
{
    for (pjob_t *j = msg; j;) {
        pjob_t *next = j->next;
        j->done(j->arg, TK_ERROR);
        free(j);
        j = next;
    }
}

void gw_jsvm_pool_flush(void)
{
    if (!me.pool || !me.held)
        return;
    pjob_t *rest = me.held;
    me.held = NULL;
    me.tail = &me.held;
    me.nheld = 0;
    while (rest) {
        /* one chain per worker, in completion order */
        int w = rest->worker;
        pjob_t *chain = NULL, **ct = &chain, *left = NULL, **lt = &left;
        for (pjob_t *j = rest; j;) {
            pjob_t *next = j->next;
            j->next = NULL;
            if (j->worker == w) {
                *ct = j;
                ct = &j->next;
            } else {
                *lt = j;
                lt = &j->next;
            }
            j = next;
        }
        wslot_t *ws = atomic_load_explicit(&me.pool->slots[w], memory_order_acquire);
        tk_mailbox_post(ws->inbox, chain);
        rest = left;
    }
}

void gw_jsvm_pool_flush_if_due(void)
{
    if (me.held && (me.nheld >= HOLD_MAX || tk_now_ns() - me.since >= HOLD_NS))
        gw_jsvm_pool_flush();
}

static void hold(pjob_t *j)
{
    j->next = NULL;
    if (!me.held)
        me.since = tk_now_ns();
    *me.tail = j;
    me.tail = &j->next;
    me.nheld++;
}

static void *js_main(void *arg)
{
    gw_jsvm_pool_t *p = arg;
    me.pool = p;
    me.held = NULL;
    me.tail = &me.held;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (!p->head && me.held) {
            /* the queue ran dry: hand back what is done before sleeping */
            pthread_mutex_unlock(&p->lock);
            gw_jsvm_pool_flush();
            pthread_mutex_lock(&p->lock);
            continue;
        }
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stopping)
            break;
        pjob_t *j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = &p->head;
        pthread_mutex_unlock(&p->lock);
        j->work(j->arg);
        hold(j);
        gw_jsvm_pool_flush_if_due();
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    gw_jsvm_pool_flush(); /* into inboxes that live until gw_jsvm_pool_free */
    return NULL;
}

gw_jsvm_pool_t *gw_jsvm_pool_new(unsigned nthreads)
{
    gw_jsvm_pool_t *p = tk_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->tail = &p->head;
    p->nthreads = nthreads ? nthreads : 1;
    p->threads = tk_xcalloc(p->nthreads, sizeof(*p->threads));
    for (unsigned i = 0; i < p->nthreads; i++)
        TK_ASSERT(pthread_create(&p->threads[i], NULL, js_main, p) == 0);
    return p;
}

void gw_jsvm_pool_free(gw_jsvm_pool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    drop_batch(p->head); /* never started */
    for (size_t i = 0; i < MAX_WORKERS; i++) {
        wslot_t *ws = atomic_load(&p->slots[i]);
        if (!ws)
            continue;
        event_free(ws->hand_over);
        drop_batch(ws->staged);
        tk_mailbox_free(ws->inbox, drop_batch);
        free(ws);
    }
    free(p->threads);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* End of the worker's loop turn: the staged jobs join the queue together. */
static void on_hand_over(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    wslot_t *ws = arg;
    gw_jsvm_pool_t *p = ws->pool;
    pjob_t *first = ws->staged, **last = ws->stail;
    ws->staged = NULL;
    ws->stail = &ws->staged;
    if (!first)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        drop_batch(first);
        return;
    }
    *p->tail = first;
    p->tail = last;
    if (first->next)
        pthread_cond_broadcast(&p->cond);
    else
        pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int gw_jsvm_pool_submit(gw_jsvm_pool_t *p, int worker_id, struct event_base *base,
                        tk_offload_work_fn work, tk_offload_done_fn done, void *arg)
{
    if (worker_id < 0 || worker_id >= MAX_WORKERS)
        return TK_ERROR;
    wslot_t *ws = atomic_load_explicit(&p->slots[worker_id], memory_order_relaxed);
    if (!ws) {
        ws = tk_xcalloc(1, sizeof(*ws));
        ws->pool = p;
        ws->inbox = tk_mailbox_new(base, on_batch, NULL);
        ws->hand_over = event_new(base, -1, 0, on_hand_over, ws);
        ws->stail = &ws->staged;
        atomic_store_explicit(&p->slots[worker_id], ws, memory_order_release);
    }
    pthread_mutex_lock(&p->lock);
    bool stopping = p->stopping;
    pthread_mutex_unlock(&p->lock);
    if (stopping)
        return TK_ERROR;
    pjob_t *j = tk_xcalloc(1, sizeof(*j));
    j->work = work;
    j->done = done;
    j->arg = arg;
    j->worker = worker_id;
    bool first = ws->staged == NULL;
    *ws->stail = j;
    ws->stail = &j->next;
    if (first) /* runs after the events already active in this turn of the loop */
        event_active(ws->hand_over, 0, 0);
    return TK_OK;
}
