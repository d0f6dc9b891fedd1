/* SPDX-License-Identifier: Apache-2.0 */
/* Chained hash map with per-entry expiry and a hard size bound. */
#include "tk_ttlmap.h"

#include <stdlib.h>

struct entry {
    struct entry *next;
    uint64_t hash;
    uint64_t expires_ms;
    void *value;
    char key[];
};

struct tk_ttlmap {
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count, max;
    tk_ttlmap_free_fn free_value;
};

/* FNV-1a: short keys, no adversarial control over them beyond what a hash flood could do to a
 * bounded map (the size cap keeps chains short on average). */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

tk_ttlmap_t *tk_ttlmap_new(size_t max_entries, tk_ttlmap_free_fn free_value)
{
    tk_ttlmap_t *m = tk_xcalloc(1, sizeof(*m));
    m->max = max_entries ? max_entries : 1;
    m->nbuckets = 64;
    while (m->nbuckets < m->max / 2)
        m->nbuckets *= 2;
    m->buckets = tk_xcalloc(m->nbuckets, sizeof(*m->buckets));
    m->free_value = free_value;
    return m;
}

static void drop(tk_ttlmap_t *m, struct entry **pp)
{
    struct entry *e = *pp;
    *pp = e->next;
    if (m->free_value)
        m->free_value(e->value);
    free(e);
    m->count--;
}

void tk_ttlmap_free(tk_ttlmap_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++)
        while (m->buckets[i])
            drop(m, &m->buckets[i]);
    free(m->buckets);
    free(m);
}

static struct entry **find(tk_ttlmap_t *m, const char *key, uint64_t h)
{
    struct entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
            return pp;
    return NULL;
}

/* Makes room: expired entries first, else the soonest-to-expire entry near @h. */
static void evict_one(tk_ttlmap_t *m, uint64_t h, uint64_t now_ms)
{
    struct entry **victim = NULL;
    for (size_t probe = 0; probe < m->nbuckets && !victim; probe++) {
        struct entry **pp = &m->buckets[(h + probe) & (m->nbuckets - 1)];
        for (; *pp; pp = &(*pp)->next) {
            if ((*pp)->expires_ms <= now_ms) {
                drop(m, pp);
                return;
            }
            if (!victim || (*pp)->expires_ms < (*victim)->expires_ms)
                victim = pp;
        }
    }
    if (victim)
        drop(m, victim);
}

void tk_ttlmap_put(tk_ttlmap_t *m, const char *key, void *value, uint64_t expires_ms)
{
    uint64_t h = hash_str(key);
    struct entry **pp = find(m, key, h);
    if (pp)
        drop(m, pp);
    if (m->count >= m->max)
        evict_one(m, h, tk_now_ms());
    size_t kl = strlen(key);
    struct entry *e = tk_xmalloc(sizeof(*e) + kl + 1);
    memcpy(e->key, key, kl + 1);
    e->hash = h;
    e->expires_ms = expires_ms;
    e->value = value;
    struct entry **b = &m->buckets[h & (m->nbuckets - 1)];
    e->next = *b;
    *b = e;
    m->count++;
}

void *tk_ttlmap_get(tk_ttlmap_t *m, const char *key, uint64_t now_ms)
{
    struct entry **pp = find(m, key, hash_str(key));
    if (!pp)
        return NULL;
    if ((*pp)->expires_ms <= now_ms) {
        drop(m, pp);
        return NULL;
    }
    return (*pp)->value;
}

bool tk_ttlmap_del(tk_ttlmap_t *m, const char *key)
{
    struct entry **pp = find(m, key, hash_str(key));
    if (!pp)
        return false;
    drop(m, pp);
    return true;
}

size_t tk_ttlmap_del_prefix(tk_ttlmap_t *m, const char *prefix)
{
    size_t n = 0, pl = strlen(prefix);
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry **pp = &m->buckets[i];
        while (*pp) {
            if (strncmp((*pp)->key, prefix, pl) == 0) {
                drop(m, pp);
                n++;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    return n;
}

size_t tk_ttlmap_count(const tk_ttlmap_t *m)
{
    return m->count;
}
