/* SPDX-License-Identifier: Apache-2.0 */
/* The Redis side of the pump: a blocking hiredis connection in its own thread. */
#include "pump_redis.h"
#include "tk_thread.h"

#include "tk_log.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* KEYS: source list, in-flight list, in-flight id, batch counter.
 * ARGV: chunk (0 = all), expire seconds when chunking, journal's last batch id, kind.
 * Returns {-1, 0} when a batch is already in flight, {0, 0} when the list is empty, else
 * {batch id, records moved}. The id is kept above the journal's last one even if Redis lost
 * the counter, so "id == journal's last batch id" always means "already journaled".
 * Taking the whole list is a RENAME (O(1), whatever the backlog); only a partial chunk is
 * copied. */
static const char take_script[] =
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {-1, 0} end\n"
    "local n = tonumber(ARGV[1])\n"
    "local len = redis.call('LLEN', KEYS[1])\n"
    "if len == 0 then return {0, 0} end\n"
    "local id = redis.call('INCR', KEYS[4])\n"
    "local floor = tonumber(ARGV[3])\n"
    "if id <= floor then id = floor + 1; redis.call('SET', KEYS[4], id) end\n"
    "local moved = len\n"
    "if n <= 0 or n >= len then\n"
    "  redis.call('RENAME', KEYS[1], KEYS[2])\n"
    "  redis.call('PERSIST', KEYS[2])\n"
    "else\n"
    "  local items = redis.call('LRANGE', KEYS[1], 0, n - 1)\n"
    "  redis.call('LTRIM', KEYS[1], #items, -1)\n"
    "  if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
    "  for i = 1, #items, 1000 do\n"
    "    redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 999, #items)))\n"
    "  end\n"
    "  moved = #items\n"
    "end\n"
    "redis.call('SET', KEYS[3], id .. ':' .. ARGV[4])\n"
    "return {id, moved}\n";

/* The in-flight list is read and journaled this many records at a time, so a large backlog
 * never needs one huge reply (or one long command). */
#define PIECE 5000

struct pump_redis {
    const pump_conf_t *c;
    pump_journal_t *j;
    redisContext *ctx;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    _Atomic bool stop;
    _Atomic bool connected;
    _Atomic uint64_t batches, records, errors, outages;
    char last_error[256]; /* under mu */
    bool in_outage;
    char inflight[512], inflight_id[512], counter[512];
};

static const char *kind_name(int kind)
{
    return kind == PUMP_KIND_UPTIME ? "uptime" : "analytics";
}

static void note_error(pump_redis_t *r, const char *msg)
{
    atomic_fetch_add(&r->errors, 1);
    pthread_mutex_lock(&r->mu);
    snprintf(r->last_error, sizeof(r->last_error), "%.200s", msg);
    pthread_mutex_unlock(&r->mu);
}

/* Sleeps @ms unless stopping; false when stopping. */
static bool pause_ms(pump_redis_t *r, int64_t ms)
{
    return tk_sleep_unless(&r->mu, &r->cond, &r->stop, ms);
}

static void disconnect(pump_redis_t *r)
{
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    atomic_store(&r->connected, false);
}

/* A reply that is NULL (connection broken) drops the connection; returns NULL then, or for an
 * error reply (which is logged). */
static redisReply *checked(pump_redis_t *r, redisReply *rep, const char *what)
{
    if (!rep) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s: %s", what,
                 r->ctx && r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
        note_error(r, msg);
        if (!r->in_outage) {
            tk_log_error("Redis: %s; will reconnect (records stay in Redis)", msg);
            atomic_fetch_add(&r->outages, 1);
        }
        r->in_outage = true;
        disconnect(r);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s: %s", what, rep->str);
        note_error(r, msg);
        tk_log_error("Redis: %s", msg);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static bool try_connect(pump_redis_t *r)
{
    const pump_conf_t *c = r->c;
    struct timeval tv = {c->redis_timeout > 0 ? c->redis_timeout : 5, 0};
    redisContext *ctx = redisConnectWithTimeout(c->redis_host, (int)c->redis_port, tv);
    char msg[300] = "";
    if (!ctx || ctx->err) {
        snprintf(msg, sizeof(msg), "connect to %s:%" PRId64 ": %s", c->redis_host, c->redis_port,
                 ctx ? ctx->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(ctx, tv);
    r->ctx = ctx;
    if (*c->redis_password) {
        redisReply *rep = *c->redis_username ? redisCommand(ctx, "AUTH %s %s", c->redis_username,
                                                            c->redis_password)
                                             : redisCommand(ctx, "AUTH %s", c->redis_password);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(msg, sizeof(msg), "AUTH at %s:%" PRId64 ": %s", c->redis_host, c->redis_port,
                     rep ? rep->str : ctx->errstr);
            if (rep)
                freeReplyObject(rep);
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (c->redis_database > 0) {
        redisReply *rep = redisCommand(ctx, "SELECT %d", (int)c->redis_database);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(msg, sizeof(msg), "SELECT %" PRId64 ": %s", c->redis_database,
                     rep ? rep->str : ctx->errstr);
            if (rep)
                freeReplyObject(rep);
            goto fail;
        }
        freeReplyObject(rep);
    }
    atomic_store(&r->connected, true);
    if (r->in_outage)
        tk_log_info("Redis at %s:%" PRId64 " is back; taking records again", c->redis_host,
                    c->redis_port);
    r->in_outage = false;
    return true;
fail:
    if (ctx)
        redisFree(ctx);
    r->ctx = NULL;
    note_error(r, msg);
    if (!r->in_outage) {
        tk_log_error("Redis unavailable (%s); records stay in Redis, retrying", msg);
        atomic_fetch_add(&r->outages, 1);
    }
    r->in_outage = true;
    return false;
}

/* Journals the in-flight list as batch @id from its @skip-th record on (the ones before are
 * already in the journal), in pieces, then deletes the in-flight keys. Returns records
 * journaled, -1 on a Redis error, -2 when the journal refused them. */
static int64_t journal_inflight(pump_redis_t *r, uint64_t id, int kind, uint64_t skip)
{
    redisReply *rep = checked(r, redisCommand(r->ctx, "LLEN %s", r->inflight), "LLEN");
    if (!rep)
        return -1;
    uint64_t len =
        rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 ? (uint64_t)rep->integer : 0;
    freeReplyObject(rep);
    size_t k = 0;
    for (uint64_t off = skip; off < len; off += PIECE) {
        rep = checked(r,
                      redisCommand(r->ctx, "LRANGE %s %" PRIu64 " %" PRIu64, r->inflight, off,
                                   off + PIECE - 1),
                      "LRANGE");
        if (!rep)
            return -1;
        size_t n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
        tk_str_t *recs = tk_xcalloc(n ? n : 1, sizeof(*recs));
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (rep->element[i]->type == REDIS_REPLY_STRING)
                recs[m++] = (tk_str_t){rep->element[i]->str, rep->element[i]->len};
        char err[512];
        int rc = pump_journal_append(r->j, kind, id, recs, m, err, sizeof(err));
        free(recs);
        freeReplyObject(rep);
        if (rc != TK_OK) {
            note_error(r, err);
            tk_log_error("%s; batch %" PRIu64 " stays in Redis (%s) and is retried", err, id,
                         r->inflight);
            return -2;
        }
        k += m;
        if (n < PIECE)
            break;
    }
    rep = checked(r, redisCommand(r->ctx, "DEL %s %s", r->inflight, r->inflight_id), "DEL");
    if (!rep)
        return -1; /* journaled; the next start-up sees the id and only deletes */
    freeReplyObject(rep);
    atomic_fetch_add(&r->batches, 1);
    atomic_fetch_add(&r->records, k);
    tk_log_debug("batch %" PRIu64 ": %zu %s record(s) journaled", id, k, kind_name(kind));
    return (int64_t)k;
}

/* Finishes a batch a previous run (or a failed journal write) left in flight. */
static int recover_inflight(pump_redis_t *r)
{
    redisReply *rep = checked(r, redisCommand(r->ctx, "GET %s", r->inflight_id), "GET");
    if (!rep)
        return -1;
    uint64_t id = 0;
    int kind = PUMP_KIND_ANALYTICS;
    bool have = rep->type == REDIS_REPLY_STRING;
    if (have) {
        char kbuf[32] = "";
        unsigned long long v = 0;
        if (sscanf(rep->str, "%llu:%31s", &v, kbuf) >= 1)
            id = v;
        if (strcmp(kbuf, "uptime") == 0)
            kind = PUMP_KIND_UPTIME;
    }
    freeReplyObject(rep);
    if (!have) {
        rep = checked(r, redisCommand(r->ctx, "LLEN %s", r->inflight), "LLEN");
        if (!rep)
            return -1;
        long long len = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        freeReplyObject(rep);
        if (len == 0)
            return 0;
        id = pump_journal_last_batch(r->j) + 1; /* no id stored: journal it under a fresh one */
    }
    uint64_t skip = 0;
    if (id != 0 && id == pump_journal_last_batch(r->j)) {
        /* The journal has all or the first part of it (a pump stopped mid-way). */
        skip = pump_journal_last_batch_count(r->j);
        rep = checked(r, redisCommand(r->ctx, "LLEN %s", r->inflight), "LLEN");
        if (!rep)
            return -1;
        uint64_t len =
            rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 ? (uint64_t)rep->integer : 0;
        freeReplyObject(rep);
        if (skip >= len) {
            tk_log_info("in-flight batch %" PRIu64 " is already in the journal; removing it "
                        "from Redis",
                        id);
            rep = checked(r, redisCommand(r->ctx, "DEL %s %s", r->inflight, r->inflight_id), "DEL");
            if (!rep)
                return -1;
            freeReplyObject(rep);
            return 0;
        }
    }
    tk_log_info("recovering in-flight batch %" PRIu64 " (%s) into the journal from record %" PRIu64,
                id, kind_name(kind), skip);
    int64_t n = journal_inflight(r, id, kind, skip);
    return n < 0 ? (int)n : 0;
}

/* Moves one chunk of @key into the journal. Returns records moved, or <0 on error. */
static int64_t take(pump_redis_t *r, const char *key, int kind)
{
    const pump_conf_t *c = r->c;
    char chunk[24], expire[24], floor[24];
    snprintf(chunk, sizeof(chunk), "%" PRId64, c->purge_chunk);
    snprintf(expire, sizeof(expire), "%" PRId64,
             c->purge_chunk > 0 ? c->storage_expiration_time : 0);
    snprintf(floor, sizeof(floor), "%" PRIu64, pump_journal_last_batch(r->j));
    const char *argv[] = {"EVAL",     take_script, "4",    key,   r->inflight,    r->inflight_id,
                          r->counter, chunk,       expire, floor, kind_name(kind)};
    redisReply *rep = checked(r, redisCommandArgv(r->ctx, (int)TK_ARRAY_LEN(argv), argv, NULL),
                              "EVAL (take batch)");
    if (!rep)
        return -1;
    int64_t id = 0, n = 0;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
        id = rep->element[0]->integer;
        n = rep->element[1]->integer;
    }
    freeReplyObject(rep);
    if (id < 0) {
        int rc = recover_inflight(r);
        return rc < 0 ? rc : 0;
    }
    if (n == 0)
        return 0;
    return journal_inflight(r, (uint64_t)id, kind, 0);
}

/* One purge cycle over every list Tyk's pump visits. Returns <0 when Redis went away. */
static int cycle(pump_redis_t *r)
{
    const pump_conf_t *c = r->c;
    int rc = recover_inflight(r);
    if (rc < 0)
        return rc;
    char keys[12][512];
    int kinds[12];
    size_t nkeys = 0;
    snprintf(keys[nkeys], sizeof(keys[0]), "%styk-system-analytics", c->key_prefix);
    kinds[nkeys++] = PUMP_KIND_ANALYTICS;
    for (int i = 0; i < 10; i++) {
        snprintf(keys[nkeys], sizeof(keys[0]), "%styk-system-analytics_%d", c->key_prefix, i);
        kinds[nkeys++] = PUMP_KIND_ANALYTICS;
    }
    if (c->uptime_sink && !c->dont_purge_uptime_data) {
        snprintf(keys[nkeys], sizeof(keys[0]), "host-checker:tyk-uptime-analytics");
        kinds[nkeys++] = PUMP_KIND_UPTIME;
    }
    for (size_t i = 0; i < nkeys; i++) {
        for (;;) {
            if (atomic_load(&r->stop) || pump_journal_full(r->j))
                return 0;
            int64_t n = take(r, keys[i], kinds[i]);
            if (n == -1)
                return -1;
            if (n == -2)
                return 0; /* journal refused: try again next cycle */
            /* Unlike Tyk (one chunk per list per cycle) a full chunk means more is waiting. */
            if (c->purge_chunk == 0 || n < c->purge_chunk)
                break;
        }
    }
    return 0;
}

static void *redis_main(void *arg)
{
    pump_redis_t *r = arg;
    int backoff = 100;
    while (!atomic_load(&r->stop)) {
        if (!r->ctx && !try_connect(r)) {
            if (!pause_ms(r, backoff))
                break;
            backoff = TK_MIN(backoff * 2, 5000);
            continue;
        }
        backoff = 100;
        if (cycle(r) < 0)
            continue; /* reconnect straight away; try_connect backs off */
        if (!pause_ms(r, r->c->purge_delay * 1000))
            break;
    }
    disconnect(r);
    return NULL;
}

pump_redis_t *pump_redis_start(const pump_conf_t *c, pump_journal_t *j)
{
    pump_redis_t *r = tk_xcalloc(1, sizeof(*r));
    r->c = c;
    r->j = j;
    snprintf(r->inflight, sizeof(r->inflight), "turnpike-pump:inflight:%s", c->pump_id);
    snprintf(r->inflight_id, sizeof(r->inflight_id), "turnpike-pump:inflight-id:%s", c->pump_id);
    snprintf(r->counter, sizeof(r->counter), "turnpike-pump:batch-counter:%s", c->pump_id);
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->th, NULL, redis_main, r) != 0) {
        tk_log_error("cannot start the Redis thread");
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cond);
        free(r);
        return NULL;
    }
    return r;
}

void pump_redis_stop(pump_redis_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    free(r);
}

json_t *pump_redis_stats(pump_redis_t *r)
{
    pthread_mutex_lock(&r->mu);
    json_t *o = json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:s, s:s}", "connected", atomic_load(&r->connected), "batches",
        (json_int_t)atomic_load(&r->batches), "records", (json_int_t)atomic_load(&r->records),
        "errors", (json_int_t)atomic_load(&r->errors), "outages",
        (json_int_t)atomic_load(&r->outages), "last_error", r->last_error, "inflight_key",
        r->inflight);
    pthread_mutex_unlock(&r->mu);
    return o;
}
