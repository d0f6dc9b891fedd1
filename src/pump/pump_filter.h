/* SPDX-License-Identifier: Apache-2.0 */
/* Per-sink record selection (Tyk Pump's filters) and shaping (omit/trim/decode/ignore). */
#ifndef PUMP_FILTER_H
#define PUMP_FILTER_H

#include "pump_conf.h"
#include "tk_analytics.h"

/** True when @r passes @f: the skip lists are checked first, then the allow lists (an empty
 * list allows everything). */
bool pump_filter_match(const pump_filters_t *f, const tk_analytics_record_t *r);

/** How one sink wants its records shaped, from its own settings and the global ones. */
typedef struct pump_shape {
    bool omit_detailed;   /* drop raw_request / raw_response */
    int64_t max_size;     /* trim raw_request / raw_response to this many bytes; 0 = keep */
    bool request_decoded; /* base64-decode raw_request */
    bool response_decoded;
    const tk_strlist_t *ignore_fields; /* JSON names of fields to zero */
} pump_shape_t;

void pump_shape_init(pump_shape_t *sh, const pump_conf_t *g, const pump_sink_cfg_t *s);

/** Memory that shaped records point into; free after the batch is written. */
typedef struct pump_scratch {
    void **v;
    size_t n, cap;
} pump_scratch_t;

void pump_scratch_free(pump_scratch_t *s);

/** Applies @sh to @r (a shallow copy of a decoded record; arrays are never freed through it). */
void pump_shape_apply(const pump_shape_t *sh, tk_analytics_record_t *r, pump_scratch_t *scratch);

/** True when @name is a JSON field name ignore_fields can zero. */
bool pump_filter_known_field(const char *name);

#endif
