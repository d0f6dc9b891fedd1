/* SPDX-License-Identifier: Apache-2.0 */
/* Return codes, allocation helpers and small macros shared by every Turnpike module. */
#ifndef TK_COMMON_H
#define TK_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

/* Function results: 0 or a negative value, the same numbers nginx uses. */
enum tk_rc {
    TK_OK = 0,
    TK_ERROR = -1,
    TK_AGAIN = -2,
    TK_DONE = -4,
    TK_DECLINED = -5,
};

#define TK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TK_UNUSED(x) ((void)(x))
#define TK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define TK_LIKELY(x) __builtin_expect(!!(x), 1)
#define TK_UNLIKELY(x) __builtin_expect(!!(x), 0)

/** Logs the failed expression and aborts; stays on in release builds. */
#define TK_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (TK_UNLIKELY(!(x)))                                                                     \
            tk_assert_fail(#x, __FILE__, __LINE__);                                                \
    } while (0)

_Noreturn void tk_assert_fail(const char *expr, const char *file, int line);

/** malloc/calloc/realloc/strdup that abort on out-of-memory instead of returning NULL. */
void *tk_xmalloc(size_t n);
void *tk_xcalloc(size_t nmemb, size_t size);
void *tk_xrealloc(void *p, size_t n);
char *tk_xstrdup(const char *s);
char *tk_xstrndup(const char *s, size_t n);

/** A byte slice that does not own its memory. */
typedef struct tk_str {
    const char *p;
    size_t len;
} tk_str_t;

#define TK_STR(lit) ((tk_str_t){(lit), sizeof(lit) - 1})

/** Case-insensitive comparison of a slice with a NUL-terminated string. */
bool tk_str_ieq(const char *p, size_t len, const char *s);

/** The value of hex digit @c (either case), or -1. */
int tk_hexval(int c);

/** Writes @v in decimal to @out (room for 20 digits); returns the length. No NUL. */
size_t tk_fmt_u64(char *out, uint64_t v);

/** @unix_s as RFC 3339 in UTC to the second ("2026-11-26T16:17:22Z", as Go marshals a UTC
 *  time.Time without fraction) into @out (at least 32 bytes). */
void tk_fmt_rfc3339(int64_t unix_s, char out[32]);

/** Monotonic clock in nanoseconds / milliseconds; wall clock in nanoseconds. */
uint64_t tk_now_ns(void);
uint64_t tk_now_ms(void);
uint64_t tk_wall_ns(void);

#endif
