/* SPDX-License-Identifier: Apache-2.0 */
/* Aborting allocators, assertions, clocks and small string helpers. */
#include "tk_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

_Noreturn void tk_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "turnpike: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

static _Noreturn void oom(size_t n)
{
    fprintf(stderr, "turnpike: out of memory allocating %zu bytes\n", n);
    abort();
}

void *tk_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *tk_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *tk_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *tk_xstrdup(const char *s)
{
    return tk_xstrndup(s, strlen(s));
}

char *tk_xstrndup(const char *s, size_t n)
{
    char *p = tk_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

bool tk_str_ieq(const char *p, size_t len, const char *s)
{
    return strlen(s) == len && strncasecmp(p, s, len) == 0;
}

uint64_t tk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tk_now_ms(void)
{
    return tk_now_ns() / 1000000u;
}

uint64_t tk_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t tk_fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

int tk_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void tk_fmt_rfc3339(int64_t unix_s, char out[32])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
