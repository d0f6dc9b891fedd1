/* SPDX-License-Identifier: Apache-2.0 */
/* Sink threads: cursor, decode, filters, batches, retries with backoff, dead letters, counters. */
#include "pump_runner.h"
#include "tk_thread.h"

#include "pump_bisect.h"
#include "pump_deadletter.h"
#include "pump_filter.h"
#include "pump_sink.h"
#include "tk_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000

struct sink {
    pump_runner_t *run;
    const pump_sink_cfg_t *cfg;
    const pump_sink_ops_t *ops;
    void *state;
    pump_sink_conf_t sconf;
    pump_shape_t shape;
    pthread_t th;
    bool started;
    char cursor_path[4200];
    _Atomic uint64_t cursor, in, written, retried, skipped, decode_errors, dead_lettered;
    pump_deadletter_t *dead; /* records the sink's server rejected for good */
    _Atomic bool failing;
    pthread_mutex_t err_mu;
    char last_error[512];
};

struct pump_runner {
    const pump_conf_t *conf;
    pump_journal_t *j;
    struct sink *sinks;
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    _Atomic bool stop;
};

/* ---- cursor files ---- */

static void cursor_path(const pump_conf_t *c, const char *name, char *out, size_t outlen)
{
    char safe[256];
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof(safe); p++)
        safe[k++] = (strchr("/\\. ", *p) == NULL) ? *p : '_';
    safe[k] = 0;
    snprintf(out, outlen, "%s/cursor-%s", c->journal_dir, safe);
}

static uint64_t cursor_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

/* Written to a temporary file, synced, then renamed over the old one: a crash leaves either the
 * old or the new cursor, never a torn one. */
static int cursor_store(const char *path, const char *dir, uint64_t v)
{
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
    if (write(fd, buf, (size_t)len) != len || fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0)
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---- the sink thread ---- */

static void set_error(struct sink *s, const char *err)
{
    pthread_mutex_lock(&s->err_mu);
    snprintf(s->last_error, sizeof(s->last_error), "%s", err);
    pthread_mutex_unlock(&s->err_mu);
}

/* Sleeps @ms unless stopping; false when stopping. */
static bool pause_ms(pump_runner_t *r, int ms)
{
    return tk_sleep_unless(&r->mu, &r->cond, &r->stop, ms);
}

static void maybe_tick(struct sink *s, uint64_t *last_tick)
{
    if (!s->ops->tick)
        return;
    uint64_t now = tk_now_ms();
    if (now - *last_tick >= 1000) {
        s->ops->tick(s->state);
        *last_tick = now;
    }
}

/* Calls write (or write_uptime) until it succeeds or the batch is rejected for good. Returns 0
 * (written), -2 (rejected: the reason in @why) or -1 (stopping first). */
static int write_with_retry(struct sink *s, const void *batch, size_t n, char *why, size_t whylen)
{
    int backoff = BACKOFF_MIN_MS;
    for (;;) {
        char err[512] = "";
        uint64_t t0 = tk_now_ms();
        int rc = s->cfg->uptime
                     ? s->ops->write_uptime(s->state, (const pump_uptime_batch_t *)batch, err,
                                            sizeof(err))
                     : s->ops->write(s->state, (const pump_batch_t *)batch, err, sizeof(err));
        uint64_t took = tk_now_ms() - t0;
        if (s->cfg->timeout_s > 0 && (double)took > s->cfg->timeout_s * 1000.0)
            tk_log_warn("%s took %.1fs to write %zu record(s), more than its timeout of %gs",
                        s->cfg->name, (double)took / 1000.0, n, s->cfg->timeout_s);
        if (rc == 0) {
            if (atomic_exchange(&s->failing, false))
                tk_log_info("%s: writing again after errors", s->cfg->name);
            atomic_fetch_add(&s->written, n);
            return 0;
        }
        if (rc == -2) {
            snprintf(why, whylen, "%s", *err ? err : "rejected by the server");
            if (n > 1)
                tk_log_warn("%s rejected a batch of %zu record(s) for good (%s); splitting it to "
                            "find the bad record(s)",
                            s->cfg->name, n, why);
            return -2;
        }
        atomic_fetch_add(&s->retried, 1);
        atomic_store(&s->failing, true);
        set_error(s, err);
        tk_log_error("Error writing to %s: %s (%zu record(s) kept; retrying in %ds)", s->cfg->name,
                     *err ? err : "unknown error", n, backoff / 1000);
        if (!pause_ms(s->run, backoff))
            return -1;
        backoff = TK_MIN(backoff * 2, BACKOFF_MAX_MS);
    }
}

/* One batch as pump_bisect sees it: either analytics items or uptime items. */
struct bisect_ctx {
    struct sink *s;
    const pump_item_t *items;
    const pump_uptime_item_t *uitems;
    size_t n;
    uint64_t last_seq; /* the whole batch's, filtered-out records included */
};

static int bisect_write(void *arg, size_t off, size_t n, char *err, size_t errlen)
{
    struct bisect_ctx *c = arg;
    /* A part's position ends at its own last record, except the part that ends the batch. */
    bool tail = off + n == c->n;
    if (c->uitems) {
        pump_uptime_batch_t b = {c->uitems + off, n,
                                 tail ? c->last_seq : c->uitems[off + n - 1].seq};
        return write_with_retry(c->s, &b, n, err, errlen);
    }
    pump_batch_t b = {c->items + off, n, tail ? c->last_seq : c->items[off + n - 1].seq};
    return write_with_retry(c->s, &b, n, err, errlen);
}

/* Keeps one rejected record in the dead-letter file; a file that cannot be written is retried
 * like a failing sink (the cursor must not pass a record that is kept nowhere). */
static int bisect_reject(void *arg, size_t idx, const char *why)
{
    struct bisect_ctx *c = arg;
    struct sink *s = c->s;
    uint64_t seq = c->uitems ? c->uitems[idx].seq : c->items[idx].seq;
    int backoff = BACKOFF_MIN_MS;
    for (;;) {
        json_t *rec = c->uitems ? tk_uptime_to_json(c->uitems[idx].rec)
                                : tk_analytics_to_json(c->items[idx].rec);
        char err[512] = "";
        if (pump_deadletter_add(s->dead, rec, seq, why, err, sizeof(err)) == 0)
            break;
        atomic_store(&s->failing, true);
        set_error(s, err);
        tk_log_error("%s: journal seq %" PRIu64 " was rejected and cannot be dead-lettered: %s "
                     "(retrying in %ds)",
                     s->cfg->name, seq, err, backoff / 1000);
        if (!pause_ms(s->run, backoff))
            return -1;
        backoff = TK_MIN(backoff * 2, BACKOFF_MAX_MS);
    }
    atomic_fetch_add(&s->dead_lettered, 1);
    set_error(s, why);
    tk_log_error("%s rejected journal seq %" PRIu64 " for good: %s; the record is kept in %s",
                 s->cfg->name, seq, why, pump_deadletter_path(s->dead));
    return 0;
}

static const pump_bisect_cb_t bisect_cb = {bisect_write, bisect_reject};

static void *sink_main(void *arg)
{
    struct sink *s = arg;
    pump_runner_t *r = s->run;
    const pump_conf_t *c = r->conf;
    int want_kind = s->cfg->uptime ? PUMP_KIND_UPTIME : PUMP_KIND_ANALYTICS;

    /* A sink that keeps its own cursor next to its data knows best what it already has. */
    uint64_t cursor = cursor_load(s->cursor_path);
    if (s->ops->durable_seq) {
        int backoff = BACKOFF_MIN_MS;
        for (;;) {
            uint64_t d = 0;
            char err[512] = "";
            if (s->ops->durable_seq(s->state, &d, err, sizeof(err)) == 0) {
                cursor = TK_MAX(cursor, d);
                break;
            }
            tk_log_error("%s: cannot read its stored position: %s (retrying in %ds)", s->cfg->name,
                         err, backoff / 1000);
            set_error(s, err);
            if (!pause_ms(r, backoff))
                return NULL;
            backoff = TK_MIN(backoff * 2, BACKOFF_MAX_MS);
        }
    }
    if (cursor == 0)
        cursor = pump_journal_tail(r->j); /* a new sink starts with what the journal holds */
    atomic_store(&s->cursor, cursor);

    size_t cap = (size_t)c->batch_size;
    pump_journal_entry_t *ents = tk_xcalloc(cap, sizeof(*ents));
    tk_analytics_record_t *recs = tk_xcalloc(cap, sizeof(*recs));
    tk_uptime_record_t *urecs = tk_xcalloc(cap, sizeof(*urecs));
    pump_item_t *items = tk_xcalloc(cap, sizeof(*items));
    pump_uptime_item_t *uitems = tk_xcalloc(cap, sizeof(*uitems));
    pump_journal_reader_t *rd = pump_journal_reader_new(r->j);
    uint64_t last_tick = tk_now_ms();

    while (!atomic_load(&r->stop)) {
        maybe_tick(s, &last_tick);
        size_t n = pump_journal_read(rd, cursor, ents, cap);
        if (n == 0) {
            pump_journal_wait(r->j, cursor, 1000);
            continue;
        }
        size_t nrec = 0, nitems = 0;
        pump_scratch_t scratch = {0};
        for (size_t i = 0; i < n; i++) {
            if (ents[i].kind != want_kind)
                continue;
            atomic_fetch_add(&s->in, 1);
            char err[256] = "";
            if (s->cfg->uptime) {
                if (tk_uptime_decode(ents[i].data, ents[i].len, &urecs[nitems], err, sizeof(err)) !=
                    0) {
                    atomic_fetch_add(&s->decode_errors, 1);
                    tk_log_error("%s: journal seq %" PRIu64 ": not an uptime record (%s); skipped",
                                 s->cfg->name, ents[i].seq, err);
                    continue;
                }
                uitems[nitems] = (pump_uptime_item_t){ents[i].seq, &urecs[nitems]};
                nitems++;
                continue;
            }
            if (tk_analytics_decode(ents[i].data, ents[i].len, &recs[nrec], err, sizeof(err)) !=
                0) {
                atomic_fetch_add(&s->decode_errors, 1);
                tk_log_error("%s: journal seq %" PRIu64 ": not an analytics record (%s); skipped",
                             s->cfg->name, ents[i].seq, err);
                continue;
            }
            tk_analytics_record_t *orig = &recs[nrec++];
            if (!pump_filter_match(&s->cfg->filters, orig)) {
                atomic_fetch_add(&s->skipped, 1);
                continue;
            }
            /* Shaping works on a copy so the decoder's own arrays are freed untouched. */
            tk_analytics_record_t *shaped = tk_xmalloc(sizeof(*shaped));
            *shaped = *orig;
            shaped->owned_ = NULL;
            pump_shape_apply(&s->shape, shaped, &scratch);
            items[nitems++] = (pump_item_t){ents[i].seq, shaped};
            if (scratch.n == scratch.cap) {
                scratch.cap = scratch.cap ? scratch.cap * 2 : 16;
                scratch.v = tk_xrealloc(scratch.v, scratch.cap * sizeof(void *));
            }
            scratch.v[scratch.n++] = shaped;
        }
        uint64_t last = ents[n - 1].seq;
        struct bisect_ctx bc = {s, s->cfg->uptime ? NULL : items, s->cfg->uptime ? uitems : NULL,
                                nitems, last};
        bool ok = pump_bisect_write(&bisect_cb, &bc, nitems) == 0;
        for (size_t i = 0; i < nrec; i++)
            tk_analytics_record_free(&recs[i]);
        pump_scratch_free(&scratch);
        if (!ok)
            break; /* stopping in the middle of retries: the batch stays in the journal */
        cursor = last;
        atomic_store(&s->cursor, cursor);
        if (cursor_store(s->cursor_path, c->journal_dir, cursor) != 0)
            tk_log_error("%s: cannot store its cursor in %s: %s (records may be written again "
                         "after a restart)",
                         s->cfg->name, s->cursor_path, strerror(errno));
    }
    pump_journal_reader_free(rd);
    free(ents);
    free(recs);
    free(urecs);
    free(items);
    free(uitems);
    return NULL;
}

/* ---- building and running ---- */

static bool mongo_type(const char *t)
{
    return strncmp(t, "mongo", 5) == 0;
}

static void sink_init(pump_runner_t *r, struct sink *s, const pump_sink_cfg_t *cfg,
                      tk_conf_errors_t *errs)
{
    s->run = r;
    s->cfg = cfg;
    pthread_mutex_init(&s->err_mu, NULL);
    const char *where = cfg->uptime ? "uptime_pump_config" : "pumps";
    s->ops = pump_sink_find(cfg->type);
    if (!s->ops) {
        if (mongo_type(cfg->type))
            tk_conf_errors_add(errs,
                               "%s.%s.type: \"%s\" is not supported by turnpike-pump (MongoDB "
                               "sinks are not implemented; use sql)",
                               where, cfg->name, cfg->type);
        else
            tk_conf_errors_add(errs, "%s.%s.type: unknown pump type \"%s\"", where, cfg->name,
                               cfg->type);
        return;
    }
    if (cfg->uptime && !s->ops->write_uptime) {
        tk_conf_errors_add(errs, "%s: sink type \"%s\" cannot store uptime records", where,
                           cfg->type);
        s->ops = NULL;
        return;
    }
    for (size_t i = 0; i < cfg->ignore_fields.n; i++)
        if (!pump_filter_known_field(cfg->ignore_fields.v[i]))
            tk_log_warn("%s.%s.ignore_fields: no field \"%s\" in analytics records", where,
                        cfg->name, cfg->ignore_fields.v[i]);
    s->sconf =
        (pump_sink_conf_t){cfg->name, cfg->type, cfg->meta, cfg->pump, cfg->timeout_s, cfg->uptime};
    pump_shape_init(&s->shape, r->conf, cfg);
    cursor_path(r->conf, cfg->name, s->cursor_path, sizeof(s->cursor_path));
    s->dead = pump_deadletter_new(r->conf->journal_dir, cfg->name);
    char err[512] = "";
    if (s->ops->create(&s->sconf, &s->state, err, sizeof(err)) != 0) {
        tk_conf_errors_add(errs, "%s.%s: %s", where, cfg->name, *err ? err : "invalid");
        s->ops = NULL;
        s->state = NULL;
    }
}

pump_runner_t *pump_runner_new(const pump_conf_t *conf, pump_journal_t *j, tk_conf_errors_t *errs)
{
    pump_runner_t *r = tk_xcalloc(1, sizeof(*r));
    r->conf = conf;
    r->j = j;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    size_t total = conf->nsinks + (conf->uptime_sink ? 1 : 0);
    r->sinks = tk_xcalloc(total ? total : 1, sizeof(*r->sinks));
    size_t before = errs->n;
    for (size_t i = 0; i < conf->nsinks; i++)
        sink_init(r, &r->sinks[r->n++], &conf->sinks[i], errs);
    if (conf->uptime_sink)
        sink_init(r, &r->sinks[r->n++], conf->uptime_sink, errs);
    if (errs->n != before) {
        pump_runner_free(r);
        return NULL;
    }
    return r;
}

void pump_runner_start(pump_runner_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct sink *s = &r->sinks[i];
        if (pthread_create(&s->th, NULL, sink_main, s) == 0)
            s->started = true;
        else
            tk_log_error("%s: cannot start its thread", s->cfg->name);
        tk_log_info("%s (%s) started", s->cfg->name, s->cfg->type);
    }
}

void pump_runner_stop(pump_runner_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    pump_journal_wake(r->j);
    for (size_t i = 0; i < r->n; i++) {
        if (r->sinks[i].started)
            pthread_join(r->sinks[i].th, NULL);
        r->sinks[i].started = false;
    }
}

void pump_runner_free(pump_runner_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        struct sink *s = &r->sinks[i];
        if (s->ops && s->state && s->ops->destroy)
            s->ops->destroy(s->state);
        pump_deadletter_free(s->dead);
        pthread_mutex_destroy(&s->err_mu);
    }
    free(r->sinks);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    free(r);
}

uint64_t pump_runner_min_cursor(pump_runner_t *r)
{
    uint64_t head = pump_journal_head(r->j);
    uint64_t min = head;
    for (size_t i = 0; i < r->n; i++)
        min = TK_MIN(min, atomic_load(&r->sinks[i].cursor));
    return min;
}

json_t *pump_runner_stats(pump_runner_t *r)
{
    json_t *out = json_object();
    uint64_t head = pump_journal_head(r->j);
    for (size_t i = 0; i < r->n; i++) {
        struct sink *s = &r->sinks[i];
        uint64_t cur = atomic_load(&s->cursor);
        pthread_mutex_lock(&s->err_mu);
        json_t *e = json_pack(
            "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "type", s->cfg->type,
            "uptime", s->cfg->uptime, "in", (json_int_t)atomic_load(&s->in), "written",
            (json_int_t)atomic_load(&s->written), "retried", (json_int_t)atomic_load(&s->retried),
            "skipped", (json_int_t)atomic_load(&s->skipped), "decode_errors",
            (json_int_t)atomic_load(&s->decode_errors), "dead_lettered",
            (json_int_t)atomic_load(&s->dead_lettered), "cursor", (json_int_t)cur, "lag",
            (json_int_t)(head > cur ? head - cur : 0), "failing", atomic_load(&s->failing),
            "last_error", s->last_error);
        pthread_mutex_unlock(&s->err_mu);
        json_object_set_new(out, s->cfg->name, e);
    }
    return out;
}
