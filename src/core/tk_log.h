/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging to stderr as text (key=value) or JSON lines. */
#ifndef TK_LOG_H
#define TK_LOG_H

#include "tk_common.h"

enum tk_log_level {
    TK_LOG_ERROR = 0,
    TK_LOG_WARN = 1,
    TK_LOG_INFO = 2,
    TK_LOG_DEBUG = 3,
};

enum tk_log_format {
    TK_LOG_TEXT = 0,
    TK_LOG_JSON = 1,
};

/** Process-wide settings; call before threads start. @prefix names the daemon. */
void tk_log_setup(const char *prefix, enum tk_log_level level, enum tk_log_format format);
/** Parses "error"/"warn"/"info"/"debug" (Tyk's log_level names); unknown → info. */
enum tk_log_level tk_log_level_parse(const char *s);
extern enum tk_log_level tk_log_current_level;

/** Writes one line (one write(2), so lines from threads never interleave). */
void tk_log_write(enum tk_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define tk_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= tk_log_current_level)                                                       \
            tk_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

#define tk_log_error(...) tk_log(TK_LOG_ERROR, __VA_ARGS__)
#define tk_log_warn(...) tk_log(TK_LOG_WARN, __VA_ARGS__)
#define tk_log_info(...) tk_log(TK_LOG_INFO, __VA_ARGS__)
#define tk_log_debug(...) tk_log(TK_LOG_DEBUG, __VA_ARGS__)

#endif
