/* SPDX-License-Identifier: Apache-2.0 */
/* A fixed thread pool for blocking jobs whose completions return to the submitter's loop. */
#include "tk_offload.h"

#include "tk_log.h"
#include "tk_mailbox.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct tk_offload_port {
    pthread_mutex_t lock; /* orders posts against the port being freed */
    bool closed;
    tk_mailbox_t *mb;
    _Atomic int refs; /* the owner's plus one per job in flight */
};

struct job {
    struct job *next;
    tk_offload_port_t *port;
    tk_offload_work_fn work;
    tk_offload_done_fn done;
    void *arg;
    int status;
};

struct tk_offload {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, **tail;
    bool stopping;
    unsigned nthreads;
    pthread_t *threads;
};

static void port_unref(tk_offload_port_t *port)
{
    if (atomic_fetch_sub(&port->refs, 1) == 1) {
        pthread_mutex_destroy(&port->lock);
        free(port);
    }
}

/* A job is over: its completion goes to the port's loop, or runs here if the port is gone. */
static void complete(struct job *j)
{
    tk_offload_port_t *port = j->port;
    pthread_mutex_lock(&port->lock);
    bool closed = port->closed;
    if (!closed)
        tk_mailbox_post(port->mb, j);
    pthread_mutex_unlock(&port->lock);
    if (closed) {
        j->done(j->arg, TK_ERROR);
        free(j);
    }
    port_unref(port);
}

static void *pool_main(void *arg)
{
    tk_offload_t *p = arg;
    /* Below the event loops: a loop thread waking up preempts blocking work at once. Linux
     * applies a thread's nice value to that thread only; failure just keeps the default. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) != 0)
        tk_log_debug("offload: setpriority: %s", strerror(errno));
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (!p->head)
            break;
        struct job *j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = &p->head;
        bool cancel = p->stopping;
        pthread_mutex_unlock(&p->lock);
        if (!cancel)
            j->work(j->arg);
        j->status = cancel ? TK_ERROR : TK_OK;
        complete(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

tk_offload_t *tk_offload_new(unsigned nthreads)
{
    tk_offload_t *p = tk_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->tail = &p->head;
    p->nthreads = nthreads ? nthreads : 2;
    p->threads = tk_xcalloc(p->nthreads, sizeof(*p->threads));
    for (unsigned i = 0; i < p->nthreads; i++)
        TK_ASSERT(pthread_create(&p->threads[i], NULL, pool_main, p) == 0);
    return p;
}

void tk_offload_free(tk_offload_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int tk_offload_submit(tk_offload_t *p, tk_offload_port_t *port, tk_offload_work_fn work,
                      tk_offload_done_fn done, void *arg)
{
    struct job *j = tk_xcalloc(1, sizeof(*j));
    j->port = port;
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        free(j);
        return TK_ERROR;
    }
    atomic_fetch_add(&port->refs, 1);
    *p->tail = j;
    p->tail = &j->next;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return TK_OK;
}

/* On the port's loop thread. */
static void on_done(void *msg, void *arg)
{
    TK_UNUSED(arg);
    struct job *j = msg;
    j->done(j->arg, j->status);
    free(j);
}

static void drop_done(void *msg)
{
    struct job *j = msg;
    j->done(j->arg, TK_ERROR);
    free(j);
}

tk_offload_port_t *tk_offload_port_new(struct event_base *base)
{
    tk_offload_port_t *port = tk_xcalloc(1, sizeof(*port));
    pthread_mutex_init(&port->lock, NULL);
    atomic_init(&port->refs, 1);
    port->mb = tk_mailbox_new(base, on_done, port);
    return port;
}

void tk_offload_port_free(tk_offload_port_t *port)
{
    if (!port)
        return;
    pthread_mutex_lock(&port->lock);
    port->closed = true;
    tk_mailbox_t *mb = port->mb;
    port->mb = NULL;
    pthread_mutex_unlock(&port->lock);
    /* No post can reach @mb any more: drain what is queued (TK_ERROR) and free it. */
    tk_mailbox_free(mb, drop_done);
    port_unref(port);
}

static pthread_key_t thread_port_key;
static pthread_once_t thread_port_once = PTHREAD_ONCE_INIT;

static void thread_port_dtor(void *v)
{
    tk_offload_port_free(v);
}

static void thread_port_init(void)
{
    TK_ASSERT(pthread_key_create(&thread_port_key, thread_port_dtor) == 0);
}

tk_offload_port_t *tk_offload_thread_port(struct event_base *base)
{
    pthread_once(&thread_port_once, thread_port_init);
    tk_offload_port_t *port = pthread_getspecific(thread_port_key);
    if (!port) {
        port = tk_offload_port_new(base);
        pthread_setspecific(thread_port_key, port);
    }
    return port;
}

/* ---- bcrypt ---- */

bool tk_bcrypt_is_hash(const char *hash)
{
    return hash && hash[0] == '$' && hash[1] == '2' &&
           (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$';
}

char *tk_bcrypt_hash(const char *password, int cost)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (cost <= 0)
        cost = 10;
    if (!crypt_gensalt_rn("$2a$", (unsigned long)cost, NULL, 0, salt, (int)sizeof(salt)) &&
        !crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, salt, (int)sizeof(salt)))
        return NULL;
    struct crypt_data *cd = tk_xcalloc(1, sizeof(*cd));
    const char *h = crypt_r(password, salt, cd);
    char *out = NULL;
    if (h && tk_bcrypt_is_hash(h)) {
        out = tk_xstrdup(h);
        out[2] = 'a'; /* Go writes $2a$; $2a$ and $2b$ agree on passwords under 256 bytes */
    }
    free(cd);
    return out;
}

bool tk_bcrypt_check(const char *hash, const char *password)
{
    if (!tk_bcrypt_is_hash(hash))
        return false;
    struct crypt_data *cd = tk_xcalloc(1, sizeof(*cd));
    const char *h = crypt_r(password, hash, cd);
    bool ok = false;
    size_t n = strlen(hash);
    if (h && h[0] != '*' && strlen(h) == n) {
        unsigned char diff = 0;
        for (size_t i = 0; i < n; i++)
            diff |= (unsigned char)(h[i] ^ hash[i]);
        ok = diff == 0;
    }
    free(cd);
    return ok;
}
