/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 exactly as Go's encoding/base64 reads and writes it (Tyk's tokens, JWTs, secrets). */
#include "tk_base64.h"

#include <stdlib.h>

static const char std_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *tk_b64_encode(const void *data, size_t len, bool url, bool padded, size_t *outlen)
{
    const char *b64chars = url ? url_chars : std_chars;
    const unsigned char *p = data;
    size_t n = (len + 2) / 3 * 4;
    char *out = tk_xmalloc(n + 1);
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = b64chars[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = b64chars[(v >> 6) & 63];
        else if (padded)
            out[o++] = '=';
        if (padded)
            out[o++] = '=';
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
}

static int b64_val(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

unsigned char *tk_b64_decode(const char *in, size_t len, bool url, bool padded, size_t *out_len)
{
    unsigned char *out = tk_xmalloc(len / 4 * 3 + 4);
    size_t o = 0;
    uint32_t acc = 0;
    int n = 0;   /* symbols in the current quantum, padding included */
    int pad = 0; /* '=' seen in the current quantum */
    bool done = false;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\r' || c == '\n') /* Go's decoder drops these anywhere */
            continue;
        if (done)
            goto fail;
        if (c == '=') {
            /* Only "xx==" and "xxx=" are valid final quanta. */
            if (!padded || (pad == 0 && n < 2))
                goto fail;
            pad++;
            n++;
            if (n == 4)
                done = true;
            continue;
        }
        if (pad)
            goto fail;
        int v = b64_val(c, url);
        if (v < 0)
            goto fail;
        acc = (acc << 6) | (uint32_t)v;
        if (++n == 4) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
            n = 0;
        }
    }

    int data = n - pad; /* symbols carrying data in the last quantum */
    if (padded && n != 0 && !done)
        goto fail;
    if (!padded && n == 1)
        goto fail;
    /* Trailing bits need not be zero: Go's default (non-strict) decoders allow them. */
    if (data == 2) {
        out[o++] = (unsigned char)(acc >> 4);
    } else if (data == 3) {
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    } else if (data == 1) {
        goto fail;
    }
    out[o] = 0;
    if (out_len)
        *out_len = o;
    return out;
fail:
    free(out);
    return NULL;
}
