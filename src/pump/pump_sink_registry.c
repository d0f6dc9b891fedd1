/* SPDX-License-Identifier: Apache-2.0 */
/* Every sink type the pump knows, by its pump.conf name. Each sink lives in sinks/sink_<type>.c. */
#include "pump_sink.h"

#include <strings.h>

/* Each helper that adds a sink declares it here and adds it to the table below. */

static const struct {
    const char *type;
    const pump_sink_ops_t *ops;
} registry[] = {
    {NULL, NULL}, /* placeholder so the table is never empty; skipped below */
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
