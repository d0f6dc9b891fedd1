/* SPDX-License-Identifier: Apache-2.0 */
/* Text forms Tyk Pump's Go code produces, shared by the stdout, csv and syslog sinks. */
#ifndef SINK_TEXT_H
#define SINK_TEXT_H

#include "tk_analytics.h"

/** Go's time.Time.String() in local time: "2006-01-02 15:04:05.999999999 -0700 MST". */
void sink_go_time(tk_an_time_t t, char *out, size_t outlen);
/** Go's time.Month.String(): "January".."December", else "%!Month(<n>)". */
void sink_go_month(int m, char *out, size_t outlen);
/** RFC 3339 of now, in UTC ("2006-01-02T15:04:05Z"), as logrus stamps entries. */
void sink_rfc3339_now(char *out, size_t outlen, bool utc);

void sink_buf_str(tk_buf_t *b, const char *s);
void sink_buf_u64(tk_buf_t *b, uint64_t v);

#endif
