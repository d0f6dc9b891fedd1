/* SPDX-License-Identifier: Apache-2.0 */
/* Go's text forms that Tyk Pump's sinks put on the wire, reproduced for the metric and stream
 * sinks: time.Time's String() and MarshalJSON() forms, and encoding/json's string quoting. */
#ifndef SINK_GOFMT_H
#define SINK_GOFMT_H

#include "tk_common.h"

#include <event2/buffer.h>

/** time.Time.String() of time.Unix(sec, nsec) in local time:
 * "2006-01-02 15:04:05.999999999 -0700 MST" (fraction without trailing zeros, none when 0). */
void gofmt_time_string(int64_t sec, int64_t nsec, char *out, size_t outlen);

/** time.Time.MarshalJSON() without the quotes, in local time: RFC 3339 with nanoseconds,
 * "2006-01-02T15:04:05.999999999Z07:00" ("Z" when the offset is zero). */
void gofmt_time_rfc3339nano(int64_t sec, int64_t nsec, char *out, size_t outlen);

/** Appends @s as encoding/json quotes it: "..." with \" \\ \n \r \t, other control characters and
 * < > & U+2028 U+2029 as \uXXXX, invalid UTF-8 as \ufffd. */
void gofmt_json_quote(struct evbuffer *out, const char *s, size_t len);

/** A NUL-terminated copy of a slice (never NULL). */
char *gofmt_strdup(tk_str_t s);

#endif
