/* SPDX-License-Identifier: Apache-2.0 */
/* Go-compatible time and month strings, and small buffer helpers. */
#include "sink_text.h"

#include <stdio.h>
#include <time.h>

void sink_go_time(tk_an_time_t t, char *out, size_t outlen)
{
    time_t sec = (time_t)t.sec;
    struct tm tm;
    if (!localtime_r(&sec, &tm)) {
        snprintf(out, outlen, "%lld", (long long)t.sec);
        return;
    }
    char frac[16] = "";
    if (t.nsec > 0 && t.nsec < 1000000000) {
        snprintf(frac, sizeof(frac), ".%09lld", (long long)t.nsec);
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = 0;
    }
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, sign, off / 3600,
             (off % 3600) / 60, tm.tm_zone ? tm.tm_zone : "UTC");
}

void sink_go_month(int m, char *out, size_t outlen)
{
    static const char *names[] = {"January",   "February", "March",    "April",
                                  "May",       "June",     "July",     "August",
                                  "September", "October",  "November", "December"};
    if (m >= 1 && m <= 12)
        snprintf(out, outlen, "%s", names[m - 1]);
    else
        snprintf(out, outlen, "%%!Month(%d)", m);
}

void sink_rfc3339_now(char *out, size_t outlen, bool utc)
{
    time_t now = time(NULL);
    struct tm tm;
    if (utc)
        gmtime_r(&now, &tm);
    else
        localtime_r(&now, &tm);
    if (utc || tm.tm_gmtoff == 0) {
        strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return;
    }
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(out, outlen, "%s%c%02ld:%02ld", base, sign, off / 3600, (off % 3600) / 60);
}

void sink_buf_str(tk_buf_t *b, const char *s)
{
    tk_buf_append(b, s, strlen(s));
}

void sink_buf_u64(tk_buf_t *b, uint64_t v)
{
    char tmp[24];
    size_t n = tk_fmt_u64(tmp, v);
    tk_buf_append(b, tmp, n);
}
