/* SPDX-License-Identifier: Apache-2.0 */
/* Percent-decoding as Go's net/url does it, for query strings and paths. */
#ifndef TK_URL_H
#define TK_URL_H

#include "tk_arena.h"
#include "tk_common.h"

/**
 * Decodes @n bytes of @s into a NUL-terminated copy in @a: "%XX" becomes that byte and, with
 * @plus (query strings), '+' a space. A malformed escape ('%' not followed by two hex digits)
 * makes it return NULL when @strict (Go's QueryUnescape / PathUnescape), else it is copied as it
 * is. NULL also when @a is out of room.
 */
char *tk_url_unescape(tk_arena_t *a, const char *s, size_t n, bool plus, bool strict);

#endif
