/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A single-threaded string-keyed map whose entries expire: the gateway's per-worker session
 * cache and similar. Bounded: when full, the entry closest to expiry in the probed bucket goes.
 */
#ifndef TK_TTLMAP_H
#define TK_TTLMAP_H

#include "tk_common.h"

typedef struct tk_ttlmap tk_ttlmap_t;
typedef void (*tk_ttlmap_free_fn)(void *value);

/** @max_entries bounds memory; @free_value releases values that are replaced, evicted or dropped.
 */
tk_ttlmap_t *tk_ttlmap_new(size_t max_entries, tk_ttlmap_free_fn free_value);
void tk_ttlmap_free(tk_ttlmap_t *m);

/** Stores @value under @key until @expires_ms (tk_now_ms() clock). Replaces an older value. */
void tk_ttlmap_put(tk_ttlmap_t *m, const char *key, void *value, uint64_t expires_ms);
/** The live value for @key, or NULL (an expired entry is dropped). */
void *tk_ttlmap_get(tk_ttlmap_t *m, const char *key, uint64_t now_ms);
/** Drops @key if present. Returns true if something was removed. */
bool tk_ttlmap_del(tk_ttlmap_t *m, const char *key);
/** Drops every entry whose key starts with @prefix. */
size_t tk_ttlmap_del_prefix(tk_ttlmap_t *m, const char *prefix);
size_t tk_ttlmap_count(const tk_ttlmap_t *m);

#endif
