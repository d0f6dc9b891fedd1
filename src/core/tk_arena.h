/* SPDX-License-Identifier: Apache-2.0 */
/* Per-request memory arena: bump allocation in blocks, cleanups, and a hard cap. */
#ifndef TK_ARENA_H
#define TK_ARENA_H

#include "tk_common.h"

typedef struct tk_arena tk_arena_t;
typedef void (*tk_cleanup_fn)(void *ptr);

/**
 * Creates an arena whose blocks are @block_size bytes and whose total footprint may not exceed
 * @cap bytes (0 = no cap). Allocations larger than a quarter block get blocks of their own.
 */
tk_arena_t *tk_arena_new(size_t block_size, size_t cap);

/** Frees every block after running the cleanups in reverse order of registration. */
void tk_arena_free(tk_arena_t *a);

/** Runs cleanups and releases all but the first block, keeping the arena usable. */
void tk_arena_reset(tk_arena_t *a);

/** Returns 16-byte aligned memory, or NULL when the cap would be exceeded. */
void *tk_arena_alloc(tk_arena_t *a, size_t n);
void *tk_arena_zalloc(tk_arena_t *a, size_t n);
char *tk_arena_strndup(tk_arena_t *a, const char *s, size_t n);
char *tk_arena_strdup(tk_arena_t *a, const char *s);
/** printf into the arena; NULL when over the cap. */
char *tk_arena_printf(tk_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Registers @fn(@ptr) to run when the arena is reset or freed. Returns TK_ERROR over the cap. */
int tk_arena_cleanup(tk_arena_t *a, tk_cleanup_fn fn, void *ptr);

/** Bytes currently held from the system (blocks, including unused tails). */
size_t tk_arena_footprint(const tk_arena_t *a);

#endif
