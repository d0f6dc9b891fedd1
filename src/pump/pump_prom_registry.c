/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus counters and histograms with labels, and their text exposition (see the header). */
#include "pump_prom_registry.h"

#include "tk_common.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct prom_series {
    char **values;    /* one per label */
    double value;     /* counter */
    uint64_t *counts; /* histogram: observations per bucket (not cumulative), +Inf last */
    double sum;
    uint64_t count;
} prom_series_t;

struct prom_family {
    char *name;
    char *help;
    prom_kind_t kind;
    char **labels;
    size_t nlabels;
    size_t *label_order; /* label indexes sorted by label name (render order) */
    double *buckets;
    size_t nbuckets;
    prom_series_t **series;
    size_t nseries, capseries;
    /* open-addressing index over series, keyed by the label values */
    size_t *slots; /* series index + 1; 0 = empty */
    size_t nslots;
};

struct prom_registry {
    pthread_mutex_t mu;
    prom_family_t **fams;
    size_t nfams;
};

prom_registry_t *prom_registry_new(void)
{
    prom_registry_t *reg = tk_xcalloc(1, sizeof(*reg));
    pthread_mutex_init(&reg->mu, NULL);
    return reg;
}

static void series_free(prom_series_t *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->counts);
    free(s);
}

void prom_registry_free(prom_registry_t *reg)
{
    if (!reg)
        return;
    for (size_t f = 0; f < reg->nfams; f++) {
        prom_family_t *fam = reg->fams[f];
        for (size_t i = 0; i < fam->nseries; i++)
            series_free(fam->series[i], fam->nlabels);
        for (size_t i = 0; i < fam->nlabels; i++)
            free(fam->labels[i]);
        free(fam->labels);
        free(fam->label_order);
        free(fam->buckets);
        free(fam->series);
        free(fam->slots);
        free(fam->name);
        free(fam->help);
        free(fam);
    }
    free(reg->fams);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

/* qsort has no context argument; each thread sorts with its own pointer. */
static _Thread_local const prom_family_t *sort_fam;

static int cmp_label_idx(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return strcmp(sort_fam->labels[x], sort_fam->labels[y]);
}

prom_family_t *prom_family_add(prom_registry_t *reg, const char *name, const char *help,
                               prom_kind_t kind, const char *const *labels, size_t nlabels,
                               const double *buckets, size_t nbuckets)
{
    for (size_t f = 0; f < reg->nfams; f++)
        if (strcmp(reg->fams[f]->name, name) == 0)
            return NULL;
    prom_family_t *fam = tk_xcalloc(1, sizeof(*fam));
    fam->name = tk_xstrdup(name);
    fam->help = tk_xstrdup(help ? help : "");
    fam->kind = kind;
    fam->nlabels = nlabels;
    fam->labels = tk_xcalloc(nlabels ? nlabels : 1, sizeof(char *));
    fam->label_order = tk_xcalloc(nlabels ? nlabels : 1, sizeof(size_t));
    for (size_t i = 0; i < nlabels; i++) {
        fam->labels[i] = tk_xstrdup(labels[i]);
        fam->label_order[i] = i;
    }
    pthread_mutex_lock(&reg->mu);
    sort_fam = fam;
    qsort(fam->label_order, nlabels, sizeof(size_t), cmp_label_idx);
    if (kind == PROM_HISTOGRAM) {
        fam->nbuckets = nbuckets;
        fam->buckets = tk_xcalloc(nbuckets ? nbuckets : 1, sizeof(double));
        if (nbuckets)
            memcpy(fam->buckets, buckets, nbuckets * sizeof(double));
    }
    reg->fams = tk_xrealloc(reg->fams, (reg->nfams + 1) * sizeof(*reg->fams));
    reg->fams[reg->nfams++] = fam;
    pthread_mutex_unlock(&reg->mu);
    return fam;
}

void prom_registry_lock(prom_registry_t *reg)
{
    pthread_mutex_lock(&reg->mu);
}

void prom_registry_unlock(prom_registry_t *reg)
{
    pthread_mutex_unlock(&reg->mu);
}

static uint64_t hash_values(const prom_family_t *fam, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < fam->nlabels; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("a","bc") differs from ("ab","c") */
    }
    return h;
}

static bool series_matches(const prom_family_t *fam, const prom_series_t *s,
                           const char *const *values)
{
    for (size_t i = 0; i < fam->nlabels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

static void index_insert(prom_family_t *fam, size_t idx)
{
    size_t mask = fam->nslots - 1;
    size_t i = (size_t)hash_values(fam, (const char *const *)fam->series[idx]->values) & mask;
    while (fam->slots[i])
        i = (i + 1) & mask;
    fam->slots[i] = idx + 1;
}

static prom_series_t *series_get(prom_family_t *fam, const char *const *values)
{
    if (fam->nslots) {
        size_t mask = fam->nslots - 1;
        for (size_t i = (size_t)hash_values(fam, values) & mask; fam->slots[i];
             i = (i + 1) & mask) {
            prom_series_t *s = fam->series[fam->slots[i] - 1];
            if (series_matches(fam, s, values))
                return s;
        }
    }
    prom_series_t *s = tk_xcalloc(1, sizeof(*s));
    s->values = tk_xcalloc(fam->nlabels ? fam->nlabels : 1, sizeof(char *));
    for (size_t i = 0; i < fam->nlabels; i++)
        s->values[i] = tk_xstrdup(values[i]);
    if (fam->kind == PROM_HISTOGRAM)
        s->counts = tk_xcalloc(fam->nbuckets + 1, sizeof(uint64_t));
    if (fam->nseries == fam->capseries) {
        fam->capseries = fam->capseries ? fam->capseries * 2 : 16;
        fam->series = tk_xrealloc(fam->series, fam->capseries * sizeof(*fam->series));
    }
    fam->series[fam->nseries++] = s;
    if (fam->nseries * 2 > fam->nslots) { /* keep the load under one half */
        free(fam->slots);
        fam->nslots = fam->nslots ? fam->nslots * 2 : 64;
        while (fam->nseries * 2 > fam->nslots)
            fam->nslots *= 2;
        fam->slots = tk_xcalloc(fam->nslots, sizeof(size_t));
        for (size_t i = 0; i < fam->nseries; i++)
            index_insert(fam, i);
    } else {
        index_insert(fam, fam->nseries - 1);
    }
    return s;
}

void prom_counter_add(prom_family_t *fam, const char *const *values, double v)
{
    series_get(fam, values)->value += v;
}

void prom_histogram_observe(prom_family_t *fam, const char *const *values, double v)
{
    prom_series_t *s = series_get(fam, values);
    size_t b = 0;
    while (b < fam->nbuckets && v > fam->buckets[b])
        b++;
    s->counts[b]++; /* b == nbuckets is the +Inf bucket */
    s->sum += v;
    s->count++;
}

void prom_format_float(double v, char *out, size_t outlen)
{
    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(out, outlen, "0");
        return;
    }
    /* Go's shortest form: the fewest significant digits that read back as @v... */
    char tmp[64];
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(tmp, sizeof(tmp), "%.*e", digits - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*e", digits - 1, v);
    int exp10 = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
    /* ...printed with %e when the exponent is < -4 or >= 6 (Go uses 6 for the shortest 'g'). */
    if (exp10 < -4 || exp10 >= 6)
        snprintf(out, outlen, "%s", tmp);
    else
        snprintf(out, outlen, "%.*f", TK_MAX(0, digits - 1 - exp10), v);
}

static void add_escaped(struct evbuffer *out, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            evbuffer_add(out, "\\\\", 2);
        else if (*p == '\n')
            evbuffer_add(out, "\\n", 2);
        else if (quote && *p == '"')
            evbuffer_add(out, "\\\"", 2);
        else
            evbuffer_add(out, p, 1);
    }
}

/* Writes `name{a="x",b="y"[,le="..."]} value\n`, labels in label-name order. */
static void add_sample(struct evbuffer *out, const prom_family_t *fam, const prom_series_t *s,
                       const char *suffix, const char *le, double value)
{
    char num[64];
    evbuffer_add_printf(out, "%s%s", fam->name, suffix);
    if (fam->nlabels || le) {
        evbuffer_add(out, "{", 1);
        for (size_t k = 0; k < fam->nlabels; k++) {
            size_t i = fam->label_order[k];
            evbuffer_add_printf(out, "%s%s=\"", k ? "," : "", fam->labels[i]);
            add_escaped(out, s->values[i], true);
            evbuffer_add(out, "\"", 1);
        }
        if (le)
            evbuffer_add_printf(out, "%sle=\"%s\"", fam->nlabels ? "," : "", le);
        evbuffer_add(out, "}", 1);
    }
    prom_format_float(value, num, sizeof(num));
    evbuffer_add_printf(out, " %s\n", num);
}

static int cmp_series(const void *a, const void *b)
{
    const prom_series_t *x = *(prom_series_t *const *)a, *y = *(prom_series_t *const *)b;
    for (size_t k = 0; k < sort_fam->nlabels; k++) {
        size_t i = sort_fam->label_order[k];
        int c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return 0;
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(prom_family_t *const *)a)->name, (*(prom_family_t *const *)b)->name);
}

static void render_family(prom_family_t *fam, struct evbuffer *out)
{
    evbuffer_add_printf(out, "# HELP %s ", fam->name);
    add_escaped(out, fam->help, false);
    evbuffer_add_printf(out, "\n# TYPE %s %s\n", fam->name,
                        fam->kind == PROM_COUNTER ? "counter" : "histogram");
    prom_series_t **sorted = tk_xmalloc(fam->nseries * sizeof(*sorted));
    memcpy(sorted, fam->series, fam->nseries * sizeof(*sorted));
    sort_fam = fam;
    qsort(sorted, fam->nseries, sizeof(*sorted), cmp_series);
    for (size_t i = 0; i < fam->nseries; i++) {
        const prom_series_t *s = sorted[i];
        if (fam->kind == PROM_COUNTER) {
            add_sample(out, fam, s, "", NULL, s->value);
            continue;
        }
        uint64_t cumulative = 0;
        char le[64];
        for (size_t b = 0; b < fam->nbuckets; b++) {
            cumulative += s->counts[b];
            prom_format_float(fam->buckets[b], le, sizeof(le));
            add_sample(out, fam, s, "_bucket", le, (double)cumulative);
        }
        add_sample(out, fam, s, "_bucket", "+Inf", (double)s->count);
        add_sample(out, fam, s, "_sum", NULL, s->sum);
        add_sample(out, fam, s, "_count", NULL, (double)s->count);
    }
    free(sorted);
}

void prom_registry_render(prom_registry_t *reg, struct evbuffer *out)
{
    pthread_mutex_lock(&reg->mu);
    prom_family_t **fams = tk_xmalloc((reg->nfams ? reg->nfams : 1) * sizeof(*fams));
    if (reg->nfams)
        memcpy(fams, reg->fams, reg->nfams * sizeof(*fams));
    qsort(fams, reg->nfams, sizeof(*fams), cmp_family);
    for (size_t f = 0; f < reg->nfams; f++)
        if (fams[f]->nseries)
            render_family(fams[f], out);
    free(fams);
    pthread_mutex_unlock(&reg->mu);
}
