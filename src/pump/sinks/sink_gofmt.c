/* SPDX-License-Identifier: Apache-2.0 */
/* Go text forms used by the metric and stream sinks (see the header). */
#include "sink_gofmt.h"

#include <stdio.h>
#include <time.h>

/* Writes ".123" for the fraction of a second without trailing zeros; nothing when it is 0. */
static size_t frac(int64_t nsec, char *out, size_t outlen)
{
    if (nsec <= 0 || nsec >= 1000000000 || outlen < 11)
        return 0;
    char digits[16];
    snprintf(digits, sizeof(digits), "%09lld", (long long)nsec);
    size_t n = 9;
    while (n > 0 && digits[n - 1] == '0')
        n--;
    out[0] = '.';
    memcpy(out + 1, digits, n);
    out[n + 1] = '\0';
    return n + 1;
}

static void local_tm(int64_t sec, struct tm *tm)
{
    time_t t = (time_t)sec;
    localtime_r(&t, tm);
}

void gofmt_time_string(int64_t sec, int64_t nsec, char *out, size_t outlen)
{
    struct tm tm;
    char date[32], zone[48], fr[16] = "";
    local_tm(sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z %Z", &tm);
    frac(nsec, fr, sizeof(fr));
    snprintf(out, outlen, "%s%s %s", date, fr, zone);
}

void gofmt_time_rfc3339nano(int64_t sec, int64_t nsec, char *out, size_t outlen)
{
    struct tm tm;
    char date[32], fr[16] = "", off[40];
    local_tm(sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    frac(nsec, fr, sizeof(fr));
    long gmtoff = tm.tm_gmtoff;
    if (gmtoff == 0) {
        snprintf(off, sizeof(off), "Z");
    } else {
        long a = gmtoff < 0 ? -gmtoff : gmtoff;
        snprintf(off, sizeof(off), "%c%02ld:%02ld", gmtoff < 0 ? '-' : '+', a / 3600,
                 (a / 60) % 60);
    }
    snprintf(out, outlen, "%s%s%s", date, fr, off);
}

/* Length of the valid UTF-8 sequence at @p (at most @n bytes), or 0 if it is invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t min;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2, min = 0x80, cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3, min = 0x800, cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void gofmt_json_quote(struct evbuffer *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    evbuffer_add(out, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            evbuffer_add(out, esc, 2);
            i++;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            evbuffer_add(out, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t", 2);
            i++;
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            evbuffer_add_printf(out, "\\u00%02x", c);
            i++;
        } else if (c < 0x80) {
            evbuffer_add(out, &p[i], 1);
            i++;
        } else {
            size_t n = utf8_len(p + i, len - i);
            if (n == 0) {
                evbuffer_add(out, "\\ufffd", 6);
                i++;
            } else if (n == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 &&
                       (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
                evbuffer_add(out, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                i += 3;
            } else {
                evbuffer_add(out, p + i, n);
                i += n;
            }
        }
    }
    evbuffer_add(out, "\"", 1);
}

char *gofmt_strdup(tk_str_t s)
{
    return s.p ? tk_xstrndup(s.p, s.len) : tk_xstrdup("");
}
