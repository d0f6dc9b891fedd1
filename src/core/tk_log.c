/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging: one formatted line per event, written with a single write(2). */
#include "tk_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum tk_log_level tk_log_current_level = TK_LOG_INFO;
static enum tk_log_format log_format = TK_LOG_TEXT;
static const char *log_prefix = "turnpike";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void tk_log_setup(const char *prefix, enum tk_log_level level, enum tk_log_format format)
{
    if (prefix)
        log_prefix = prefix;
    tk_log_current_level = level;
    log_format = format;
}

enum tk_log_level tk_log_level_parse(const char *s)
{
    if (!s)
        return TK_LOG_INFO;
    if (!strcasecmp(s, "error") || !strcasecmp(s, "fatal") || !strcasecmp(s, "panic"))
        return TK_LOG_ERROR;
    if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
        return TK_LOG_WARN;
    if (!strcasecmp(s, "debug") || !strcasecmp(s, "trace"))
        return TK_LOG_DEBUG;
    return TK_LOG_INFO;
}

/* Appends @s JSON-escaped to buf at *off, never past cap. */
static void json_escape(char *buf, size_t cap, size_t *off, const char *s)
{
    for (; *s && *off + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*off)++] = '\\';
            buf[(*off)++] = (char)c;
        } else if (c < 0x20) {
            *off += (size_t)snprintf(buf + *off, cap - *off, "\\u%04x", c);
        } else {
            buf[(*off)++] = (char)c;
        }
    }
}

void tk_log_write(enum tk_log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof(ts) - tl, ".%03ldZ", now.tv_nsec / 1000000);

    char line[2600];
    size_t off = 0;
    if (log_format == TK_LOG_JSON) {
        off =
            (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"prefix\":\"",
                             ts, level_names[level]);
        json_escape(line, sizeof(line), &off, log_prefix);
        off += (size_t)snprintf(line + off, sizeof(line) - off, "\",\"msg\":\"");
        json_escape(line, sizeof(line), &off, msg);
        off += (size_t)snprintf(line + off, sizeof(line) - off, "\"}\n");
    } else {
        off = (size_t)snprintf(line, sizeof(line), "time=%s level=%s prefix=%s msg=\"%s\"\n", ts,
                               level_names[level], log_prefix, msg);
    }
    if (off >= sizeof(line)) {
        off = sizeof(line) - 1;
        line[off - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w;
}
