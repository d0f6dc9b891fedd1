/* SPDX-License-Identifier: Apache-2.0 */
/* Every sink type the pump knows, by its pump.conf name. Each sink lives in sinks/sink_<type>.c. */
#include "pump_sink.h"

#include <strings.h>

/* Each helper that adds a sink declares it here and adds it to the table below. */
extern const pump_sink_ops_t pump_sink_stdout, pump_sink_csv, pump_sink_syslog;
extern const pump_sink_ops_t pump_sink_influx, pump_sink_elasticsearch, pump_sink_splunk;
extern const pump_sink_ops_t pump_sink_prometheus, pump_sink_statsd, pump_sink_dogstatsd,
    pump_sink_kafka;
extern const pump_sink_ops_t pump_sink_sql, pump_sink_sql_aggregate;

static const struct {
    const char *type;
    const pump_sink_ops_t *ops;
} registry[] = {
    {NULL, NULL}, /* placeholder so the table is never empty; skipped below */
    {"stdout", &pump_sink_stdout},
    {"csv", &pump_sink_csv},
    {"syslog", &pump_sink_syslog},
    {"influx", &pump_sink_influx},
    {"elasticsearch", &pump_sink_elasticsearch},
    {"splunk", &pump_sink_splunk},
    {"prometheus", &pump_sink_prometheus},
    {"statsd", &pump_sink_statsd},
    {"dogstatsd", &pump_sink_dogstatsd},
    {"kafka", &pump_sink_kafka},
    {"sql", &pump_sink_sql},
    {"sql_aggregate", &pump_sink_sql_aggregate},
    {"sql-aggregate", &pump_sink_sql_aggregate},
};

const pump_sink_ops_t *pump_sink_find(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < TK_ARRAY_LEN(registry); i++)
        if (registry[i].type && strcasecmp(registry[i].type, type) == 0)
            return registry[i].ops;
    return NULL;
}
