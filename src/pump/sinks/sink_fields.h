/* SPDX-License-Identifier: Apache-2.0 */
/* Record values in the JSON forms Tyk Pump's HTTP sinks send (Go's encoding/json of the
 * AnalyticsRecord fields), shared by sink_influx.c, sink_elasticsearch.c and sink_splunk.c. */
#ifndef SINK_FIELDS_H
#define SINK_FIELDS_H

#include "tk_analytics.h"

#include <jansson.h>

/** A JSON string of @s; invalid UTF-8 bytes become U+FFFD as Go's encoder does. */
json_t *sink_json_str(tk_str_t s);
json_t *sink_json_strn(const char *p, size_t n);

/** Go's time.Time JSON form (RFC 3339 with nanoseconds, trailing zeros cut) in local time. */
void sink_time_rfc3339nano(tk_an_time_t t, char *out, size_t n);
/** Go's time.Time.String() form ("2006-01-02 15:04:05.999999999 -0700 MST") in local time. */
void sink_time_go_string(tk_an_time_t t, char *out, size_t n);

/** The value Tyk's sinks map under @name (Splunk's full mapping: method, host, path, raw_path,
 * content_length, user_agent, response_code, api_key, time_stamp, api_version, api_name, api_id,
 * org_id, oauth_id, raw_request, request_time, raw_response, ip_address, geo, network, latency,
 * tags, alias, track_path). NULL for any other name. New reference. */
json_t *sink_field_value(const tk_analytics_record_t *r, const char *name);
/** True when @name is one of the names sink_field_value knows. */
bool sink_field_known(const char *name);

/** Tags as Go encodes a []string: an array, or null when there are none. */
json_t *sink_tags_json(const tk_analytics_record_t *r);

/** Tyk's default field list for influx and splunk (method ... ip_address, 14 names). */
extern const char *const sink_default_fields[];
extern const size_t sink_default_fields_len;

/** Reads meta[@key] as a list of strings into a malloc'd NULL-terminated array (NULL when the
 * key is absent or empty). Returns 0, or -1 with a message when it is not a list of strings. */
int sink_meta_strings(const json_t *meta, const char *key, char ***out, char *err, size_t errlen);
void sink_strings_free(char **list);
/** meta[@key] as a string (NULL when absent, empty or not a string). */
const char *sink_meta_str(const json_t *meta, const char *key);
/** meta[@key] as a bool (true, or the strings "true"/"1" as env overrides give them). */
bool sink_meta_bool(const json_t *meta, const char *key);
/** meta[@key] as an integer (numbers or numeric strings); @dflt when absent. -1 on junk. */
int sink_meta_int(const json_t *meta, const char *key, long long dflt, long long *out, char *err,
                  size_t errlen);

#endif
