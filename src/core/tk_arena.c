/* SPDX-License-Identifier: Apache-2.0 */
/* Block arena with a large-allocation list, cleanups and a hard footprint cap. */
#include "tk_arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ALIGN 16u

struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    max_align_t data[];
};

struct cleanup {
    struct cleanup *next;
    tk_cleanup_fn fn;
    void *ptr;
};

struct tk_arena {
    struct block *head;  /* current block for small allocations */
    struct block *first; /* kept across resets */
    struct block *large; /* dedicated blocks for big allocations */
    struct cleanup *cleanups;
    size_t block_size;
    size_t cap;
    size_t footprint;
};

static struct block *block_new(tk_arena_t *a, size_t size)
{
    size_t total = sizeof(struct block) + size;
    if (a->cap && a->footprint + total > a->cap)
        return NULL;
    struct block *b = tk_xmalloc(total);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    a->footprint += total;
    return b;
}

tk_arena_t *tk_arena_new(size_t block_size, size_t cap)
{
    tk_arena_t *a = tk_xcalloc(1, sizeof(*a));
    a->block_size = block_size ? block_size : 8192;
    a->cap = cap;
    a->first = a->head = block_new(a, a->block_size);
    TK_ASSERT(a->first != NULL);
    return a;
}

static void run_cleanups(tk_arena_t *a)
{
    while (a->cleanups) {
        struct cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->ptr);
    }
}

static void free_chain(tk_arena_t *a, struct block *b, struct block *keep)
{
    while (b) {
        struct block *n = b->next;
        if (b != keep) {
            a->footprint -= sizeof(struct block) + b->size;
            free(b);
        }
        b = n;
    }
}

void tk_arena_reset(tk_arena_t *a)
{
    run_cleanups(a);
    free_chain(a, a->large, NULL);
    a->large = NULL;
    free_chain(a, a->head, a->first);
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
}

void tk_arena_free(tk_arena_t *a)
{
    if (!a)
        return;
    tk_arena_reset(a);
    free(a->first);
    free(a);
}

void *tk_arena_alloc(tk_arena_t *a, size_t n)
{
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n > a->block_size / 4) {
        struct block *b = block_new(a, n);
        if (!b)
            return NULL;
        b->next = a->large;
        a->large = b;
        return b->data;
    }
    struct block *h = a->head;
    if (h->size - h->used < n) {
        struct block *b = block_new(a, a->block_size);
        if (!b)
            return NULL;
        b->next = h;
        a->head = h = b;
    }
    void *p = (char *)h->data + h->used;
    h->used += n;
    return p;
}

void *tk_arena_zalloc(tk_arena_t *a, size_t n)
{
    void *p = tk_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *tk_arena_strndup(tk_arena_t *a, const char *s, size_t n)
{
    char *p = tk_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *tk_arena_strdup(tk_arena_t *a, const char *s)
{
    return tk_arena_strndup(a, s, strlen(s));
}

char *tk_arena_printf(tk_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = tk_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int tk_arena_cleanup(tk_arena_t *a, tk_cleanup_fn fn, void *ptr)
{
    struct cleanup *c = tk_arena_alloc(a, sizeof(*c));
    if (!c)
        return TK_ERROR;
    c->fn = fn;
    c->ptr = ptr;
    c->next = a->cleanups;
    a->cleanups = c;
    return TK_OK;
}

size_t tk_arena_footprint(const tk_arena_t *a)
{
    return a->footprint;
}
