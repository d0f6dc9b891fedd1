/* SPDX-License-Identifier: Apache-2.0 */
/* Go string literal unquoting (tk_gostr.h). */
#include "tk_gostr.h"

static int hexval(char c)
{
    return tk_hexval((unsigned char)c);
}

static void put_utf8(char *out, size_t *n, uint32_t r)
{
    if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        out[(*n)++] = (char)r;
    } else if (r < 0x800) {
        out[(*n)++] = (char)(0xC0 | (r >> 6));
        out[(*n)++] = (char)(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (r >> 12));
        out[(*n)++] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (r & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (r >> 18));
        out[(*n)++] = (char)(0x80 | ((r >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (r & 0x3F));
    }
}

bool tk_go_unquote(const char *s, size_t n, char quote, char *out, size_t *outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        if (++i >= n)
            return false;
        c = s[i++];
        switch (c) {
        case 'a':
            out[o++] = '\a';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'v':
            out[o++] = '\v';
            break;
        case '\\':
            out[o++] = '\\';
            break;
        case '\'':
        case '"':
            if (c != quote)
                return false;
            out[o++] = c;
            break;
        case 'x':
        case 'u':
        case 'U': {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            if (i + (size_t)digits > n)
                return false;
            uint32_t v = 0;
            for (int d = 0; d < digits; d++) {
                int h = hexval(s[i + (size_t)d]);
                if (h < 0)
                    return false;
                v = v * 16 + (uint32_t)h;
            }
            i += (size_t)digits;
            if (c == 'x') {
                out[o++] = (char)v;
            } else {
                if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                    return false;
                put_utf8(out, &o, v);
            }
            break;
        }
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
            if (i + 2 > n)
                return false;
            uint32_t v = (uint32_t)(c - '0');
            for (int d = 0; d < 2; d++) {
                char e = s[i + (size_t)d];
                if (e < '0' || e > '7')
                    return false;
                v = v * 8 + (uint32_t)(e - '0');
            }
            if (v > 255)
                return false;
            i += 2;
            out[o++] = (char)v;
            break;
        }
        default:
            return false;
        }
    }
    *outn = o;
    return true;
}
