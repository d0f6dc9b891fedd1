/* SPDX-License-Identifier: Apache-2.0 */
/* Percent-decoding. */
#include "tk_url.h"

char *tk_url_unescape(tk_arena_t *a, const char *s, size_t n, bool plus, bool strict)
{
    char *out = tk_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 1 < n ? tk_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? tk_hexval((unsigned char)s[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                out[o++] = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
            if (strict)
                return NULL;
        }
        out[o++] = plus && s[i] == '+' ? ' ' : s[i];
    }
    out[o] = '\0';
    return out;
}
