/* SPDX-License-Identifier: Apache-2.0 */
/* A small Prometheus metric store: counter and histogram families with labels, rendered in the
 * text exposition format 0.0.4 the way Go's client_golang renders them (families sorted by name,
 * label pairs sorted by label name, series sorted by label values, floats in Go's shortest 'g'
 * form), so a scrape of turnpike-pump reads like a scrape of Tyk Pump.
 *
 * Thread safety: one mutex per registry. Writers take it around a batch of updates with
 * prom_registry_lock/unlock; prom_registry_render takes it itself. */
#ifndef PUMP_PROM_REGISTRY_H
#define PUMP_PROM_REGISTRY_H

#include <event2/buffer.h>
#include <stddef.h>

typedef enum prom_kind {
    PROM_COUNTER,
    PROM_HISTOGRAM,
} prom_kind_t;

typedef struct prom_family prom_family_t;
typedef struct prom_registry prom_registry_t;

prom_registry_t *prom_registry_new(void);
void prom_registry_free(prom_registry_t *reg);

/** Adds a family. @labels are copied. For histograms @buckets (strictly increasing upper bounds,
 * without +Inf) are copied; counters ignore them. Returns NULL if @name is already registered. */
prom_family_t *prom_family_add(prom_registry_t *reg, const char *name, const char *help,
                               prom_kind_t kind, const char *const *labels, size_t nlabels,
                               const double *buckets, size_t nbuckets);

void prom_registry_lock(prom_registry_t *reg);
void prom_registry_unlock(prom_registry_t *reg);

/* Both need the registry lock held; @values has one entry per label, in the family's order. */
void prom_counter_add(prom_family_t *fam, const char *const *values, double v);
void prom_histogram_observe(prom_family_t *fam, const char *const *values, double v);

/** Appends the whole registry in text format 0.0.4 to @out. Families without series are left out,
 * as client_golang does. */
void prom_registry_render(prom_registry_t *reg, struct evbuffer *out);

/** Go's strconv.FormatFloat(v, 'g', -1, 64), which the exposition format uses for every value. */
void prom_format_float(double v, char *out, size_t outlen);

#endif
