/* SPDX-License-Identifier: Apache-2.0 */
/* Sink "sql_aggregate" ("sql-aggregate"): Tyk's per-org aggregates (hourly, or per minute) into
 * tyk_aggregated / tyk_aggregated_YYYYMMDD, one row per (bucket, org, dimension, value). Rows
 * are upserted additively and the sink's cursor commits in the same transaction, so a batch is
 * counted exactly once however often it is offered. */
#include "pump_sql_tables.h"

#include "tk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlagg_sink {
    pump_sqlsink_t base;
    pump_agg_opts_t opts;
    char **ignore_tags;
    size_t n_ignore_tags;
    int64_t threshold_tags; /* warn when one aggregate has more tags; -1 = never */
} sqlagg_sink_t;

static void sqlagg_destroy(void *state)
{
    sqlagg_sink_t *s = state;
    if (!s)
        return;
    pump_sqlsink_fini(&s->base);
    for (size_t i = 0; i < s->n_ignore_tags; i++)
        free(s->ignore_tags[i]);
    free(s->ignore_tags);
    free(s);
}

/* A list option given as a JSON array of strings, or (from the environment) a comma-separated
 * string. */
static int string_list(const json_t *v, const char *key, char ***out, size_t *n, char *err,
                       size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        const char *p = json_string_value(v);
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (len) {
                *out = tk_xrealloc(*out, (*n + 1) * sizeof(char *));
                (*out)[(*n)++] = tk_xstrndup(p, len);
            }
            p += len + (e ? 1 : 0);
        }
        return 0;
    }
    if (!json_is_array(v)) {
        snprintf(err, errlen, "meta.%s must be a list of strings", key);
        return -1;
    }
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x)) {
            snprintf(err, errlen, "meta.%s[%zu] must be a string", key, i);
            for (size_t k = 0; k < *n; k++)
                free((*out)[k]);
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
        *out = tk_xrealloc(*out, (*n + 1) * sizeof(char *));
        (*out)[(*n)++] = tk_xstrdup(json_string_value(x));
    }
    return 0;
}

static int sqlagg_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    sqlagg_sink_t *s = tk_xcalloc(1, sizeof(*s));
    if (pump_sqlsink_init(&s->base, conf, err, errlen) != 0) {
        free(s);
        return -1;
    }
    const json_t *meta = conf->meta;
    if (string_list(pump_sqlsink_meta(meta, "ignore_tag_prefix_list"), "ignore_tag_prefix_list",
                    &s->ignore_tags, &s->n_ignore_tags, err, errlen) != 0)
        goto fail;
    char **ign = NULL;
    size_t n_ign = 0;
    if (string_list(pump_sqlsink_meta(meta, "ignore_aggregations"), "ignore_aggregations", &ign,
                    &n_ign, err, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < n_ign; i++) {
        enum pump_agg_dim d;
        if (pump_agg_dim_parse(ign[i], &d))
            s->opts.ignore_dims |= 1u << d;
        else /* Tyk warns and skips unknown names */
            tk_log_warn("sql_aggregate: ignore_aggregations entry \"%s\" is not a dimension; "
                        "skipped",
                        ign[i]);
        free(ign[i]);
    }
    free(ign);
    s->opts.track_all_paths = pump_sqlsink_meta_bool(meta, "track_all_paths", false);
    s->opts.ignore_tags = (const char *const *)s->ignore_tags;
    s->opts.n_ignore_tags = s->n_ignore_tags;
    int64_t minutes = pump_sqlsink_meta_int(meta, "aggregation_time", 60);
    if (minutes < 1 || minutes > 60) {
        snprintf(err, errlen, "meta.aggregation_time must be between 1 and 60 minutes");
        goto fail;
    }
    if (pump_sqlsink_meta_bool(meta, "store_analytics_per_minute", false))
        minutes = 1;
    s->opts.aggregation_minutes = (int)minutes;
    s->threshold_tags = pump_sqlsink_meta_int(meta, "threshold_len_tag_list", 1000);
    if (s->threshold_tags == 0)
        s->threshold_tags = 1000;
    *state = s;
    return 0;
fail:
    sqlagg_destroy(s);
    return -1;
}

static void warn_many_tags_cb(void *ctx, const pump_agg_t *a)
{
    const sqlagg_sink_t *s = ctx;
    if (s->threshold_tags < 0)
        return;
    size_t tags = 0;
    for (size_t i = 0; i < a->n_entries; i++)
        tags += a->entries[i].dim == PUMP_AGG_TAGS;
    if ((int64_t)tags > s->threshold_tags)
        tk_log_warn("sql_aggregate: org %s has %zu distinct tags in one aggregate (threshold_len_"
                    "tag_list %lld); consider ignore_tag_prefix_list",
                    a->org_id, tags, (long long)s->threshold_tags);
}

static int sqlagg_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    sqlagg_sink_t *s = state;
    pump_sqlsink_t *b = &s->base;
    uint64_t cursor = 0;
    if (pump_sqlsink_begin(b, &cursor, err, errlen) != 0)
        return -1;
    if (batch->last_seq <= cursor) { /* already counted before a restart */
        pump_sqlsink_abort(b);
        return 0;
    }
    pump_agg_tables_t groups = {0};
    for (size_t i = 0; i < batch->n; i++) {
        if (batch->items[i].seq <= cursor)
            continue;
        const tk_analytics_record_t *rec = batch->items[i].rec;
        char table[96];
        pump_sqlt_table_name(table, sizeof(table), PUMP_SQLT_AGG, b->sharded, rec->timestamp);
        pump_agg_add(pump_agg_tables_get(&groups, table, &s->opts), rec);
    }
    int rc = pump_sqlsink_write_aggs(b, &groups, warn_many_tags_cb, s, err, errlen);
    if (rc != 0) {
        bool bad_data = tk_sqldb_error_permanent(b->db); /* e.g. a counter out of range: -2 */
        pump_sqlsink_abort(b);
        return bad_data ? -2 : -1;
    }
    return pump_sqlsink_commit(b, batch->last_seq, err, errlen);
}

static int sqlagg_durable_seq(void *state, uint64_t *seq, char *err, size_t errlen)
{
    sqlagg_sink_t *s = state;
    return pump_sqlsink_durable_seq(&s->base, seq, err, errlen);
}

const pump_sink_ops_t pump_sink_sql_aggregate = {
    .type = "sql_aggregate",
    .create = sqlagg_create,
    .write = sqlagg_write,
    .durable_seq = sqlagg_durable_seq,
    .destroy = sqlagg_destroy,
};
