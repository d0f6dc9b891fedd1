/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk-compatible rate limiters (sliding log, sentinel, fixed window, DRL) and quotas. */
#include "gw_limits.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tk_log.h"

#define NS_PER_S INT64_C(1000000000)

/*
 * One script serves the sliding log, the quota and both together, so there is one SHA to keep
 * cached. ARGV: 1 mode (bit 1 = rate, bit 2 = quota), 2 now_ns, 3 window start ns, 4 rate,
 * 5 per, 6 subtractor, 7 renewal seconds. KEYS: the log key when bit 1, then the quota key when
 * bit 2. Reply: {count, remaining, earliest member, rate blocked, quota value, quota pttl}.
 *
 * The rate part issues the same commands, with the same arguments, as Tyk's
 * internal/rate/scripts/sliding_log_add.lua: ZREMRANGEBYSCORE -inf start, ZCARD, ZADD with the
 * nanosecond timestamp as both score and member, EXPIRE per, and ZRANGE -rate -rate for the
 * oldest entry still counted when full. The quota part is Tyk's RedisQuotaExceeded
 * (PTTL, SET 0 EX renewal when missing or without expiry, INCR), atomic instead of locked. A
 * blocked rate limit returns before the quota, as Tyk's ForwardMessage returns before quotas.
 */
static const char limits_script[] = "local mode = tonumber(ARGV[1])\n"
                                    "local nk = 1\n"
                                    "local res = {-1, -1, '', 0, -1, -2}\n"
                                    "if mode % 2 == 1 then\n"
                                    "  local zkey = KEYS[nk]\n"
                                    "  nk = nk + 1\n"
                                    "  local stamp = ARGV[2]\n"
                                    "  local cap = tonumber(ARGV[4])\n"
                                    "  redis.call('ZREMRANGEBYSCORE', zkey, '-inf', ARGV[3])\n"
                                    "  local seen = redis.call('ZCARD', zkey)\n"
                                    "  redis.call('ZADD', zkey, stamp, stamp)\n"
                                    "  redis.call('EXPIRE', zkey, ARGV[5])\n"
                                    "  local left = cap - seen - 1\n"
                                    "  if left < 0 then left = 0 end\n"
                                    "  local first = stamp\n"
                                    "  if seen >= cap then\n"
                                    "    local hit = redis.call('ZRANGE', zkey, -cap, -cap)\n"
                                    "    if hit[1] then first = hit[1] end\n"
                                    "  end\n"
                                    "  res[1] = seen\n"
                                    "  res[2] = left\n"
                                    "  res[3] = first\n"
                                    "  if seen > cap - tonumber(ARGV[6]) then\n"
                                    "    res[4] = 1\n"
                                    "    return res\n"
                                    "  end\n"
                                    "end\n"
                                    "if mode >= 2 then\n"
                                    "  local qkey = KEYS[nk]\n"
                                    "  local renew = tonumber(ARGV[7])\n"
                                    "  local ttl = redis.call('PTTL', qkey)\n"
                                    "  if ttl < 0 and renew > 0 then\n"
                                    "    redis.call('SET', qkey, 0, 'EX', renew)\n"
                                    "    ttl = renew * 1000\n"
                                    "  end\n"
                                    "  res[5] = redis.call('INCR', qkey)\n"
                                    "  res[6] = ttl\n"
                                    "end\n"
                                    "return res\n";

static char script_sha[41];
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

static void compute_sha(void)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    if (!EVP_Digest(limits_script, sizeof(limits_script) - 1, md, &n, EVP_sha1(), NULL) ||
        n != 20) {
        /* Without a SHA every call takes the EVAL path, which still works. */
        script_sha[0] = '\0';
        return;
    }
    for (unsigned int i = 0; i < n; i++) {
        script_sha[2 * i] = hex[md[i] >> 4];
        script_sha[2 * i + 1] = hex[md[i] & 15];
    }
    script_sha[40] = '\0';
}

/* Wall-clock nanoseconds, strictly increasing per thread: two requests from one worker in the
 * same nanosecond would otherwise collide on one ZSET member and count once. */
static int64_t stamp_ns(void)
{
    static _Thread_local int64_t last;
    int64_t now = (int64_t)tk_wall_ns();
    if (now <= last)
        now = last + 1;
    last = now;
    return now;
}

static size_t fmt_i64(char *out, size_t cap, int64_t v)
{
    int n = snprintf(out, cap, "%" PRId64, v);
    return n < 0 ? 0 : (size_t)n;
}

/* ---- request context ------------------------------------------------------------------------ */

enum req_kind {
    REQ_SLIDING = 0,
    REQ_SENTINEL,
    REQ_QUOTA,
    REQ_COMBINED,
    REQ_FIXED,
};

enum { MODE_RATE = 1, MODE_QUOTA = 2 };

struct lreq {
    tk_redis_t *r;
    enum req_kind kind;
    gw_limit_cb cb;
    gw_limits_cb cb2;
    void *arg;
    int refs; /* replies still expected (sentinel: TTL + script) */
    unsigned mode;
    bool retried;      /* EVAL already sent after NOSCRIPT */
    bool set_sentinel; /* a blocking log sets <key>.BLOCKED */
    int64_t rate, per; /* truncated like Tyk's int64(rate), int64(per) */
    int64_t subtractor;
    int64_t quota_max, renewal;
    int64_t now_ns;
    int64_t reset_unix; /* fixed window: precomputed */
    char *rl_key;       /* point into buf */
    char *q_key;
    char buf[];
};

static struct lreq *req_new(tk_redis_t *r, enum req_kind kind, const char *rl_key,
                            const char *q_key)
{
    size_t l1 = rl_key ? strlen(rl_key) + 1 : 0;
    size_t l2 = q_key ? strlen(q_key) + 1 : 0;
    struct lreq *q = tk_xcalloc(1, sizeof(*q) + l1 + l2);
    q->r = r;
    q->kind = kind;
    q->refs = 1;
    if (rl_key) {
        q->rl_key = q->buf;
        memcpy(q->rl_key, rl_key, l1);
    }
    if (q_key) {
        q->q_key = q->buf + l1;
        memcpy(q->q_key, q_key, l2);
    }
    return q;
}

static void req_unref(struct lreq *q)
{
    if (--q->refs <= 0)
        free(q);
}

static void on_script(tk_redis_t *r, redisReply *reply, void *arg);

/* Sends the script by SHA, or its whole text with @eval. */
static int send_script(struct lreq *q, bool eval)
{
    const char *argv[12];
    size_t lens[12];
    char nums[7][24];
    int argc = 0;
    int nkeys = 0;

    pthread_once(&sha_once, compute_sha);
    if (!script_sha[0])
        eval = true;
    argv[argc] = eval ? "EVAL" : "EVALSHA";
    lens[argc] = strlen(argv[argc]);
    argc++;
    argv[argc] = eval ? limits_script : script_sha;
    lens[argc] = eval ? sizeof(limits_script) - 1 : 40;
    argc++;
    int nk_at = argc++;
    if (q->mode & MODE_RATE) {
        argv[argc] = q->rl_key;
        lens[argc++] = strlen(q->rl_key);
        nkeys++;
    }
    if (q->mode & MODE_QUOTA) {
        argv[argc] = q->q_key;
        lens[argc++] = strlen(q->q_key);
        nkeys++;
    }
    char nk[4] = {(char)('0' + nkeys), 0, 0, 0};
    argv[nk_at] = nk;
    lens[nk_at] = 1;

    int64_t vals[7] = {(int64_t)q->mode, q->now_ns, q->now_ns - q->per * NS_PER_S, q->rate, q->per,
                       q->subtractor,    q->renewal};
    for (int i = 0; i < 7; i++) {
        lens[argc] = fmt_i64(nums[i], sizeof(nums[i]), vals[i]);
        argv[argc++] = nums[i];
    }
    return tk_redis_cmd_argv(q->r, on_script, q, argc, argv, lens);
}

/* Fire-and-forget SET <key>.BLOCKED 1 NX EX per, Tyk's sentinel write on a blocking log. */
static void set_sentinel(tk_redis_t *r, const char *rl_key, int64_t per)
{
    char key[1024];
    char ex[24];
    if (gw_key_sentinel(key, sizeof(key), rl_key) < 0)
        return;
    /* Tyk passes time.Duration(per) seconds; below 1 s go-redis would store it without expiry,
     * blocking the key for good, so one second is the floor here. */
    fmt_i64(ex, sizeof(ex), per > 0 ? per : 1);
    const char *argv[6] = {"SET", key, "1", "NX", "EX", ex};
    tk_redis_cmd_argv(r, NULL, NULL, 6, argv, NULL);
}

static int64_t reply_int(const redisReply *e)
{
    if (!e)
        return 0;
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if ((e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) && e->str)
        return strtoll(e->str, NULL, 10);
    return 0;
}

/* Builds the rate result from the script reply, as Tyk's SetCountScript + smoothingFn do. */
static void rate_result(const struct lreq *q, const redisReply *rep, gw_limit_result_t *out)
{
    int64_t count = reply_int(rep->element[0]);
    int64_t remaining = reply_int(rep->element[1]);
    int64_t earliest = reply_int(rep->element[2]);
    if (earliest <= 0)
        earliest = q->now_ns;
    int64_t reset_ns = 0;
    if (remaining <= 0) {
        reset_ns = earliest + q->per * NS_PER_S - q->now_ns;
        if (reset_ns < 0)
            reset_ns = 0;
    }
    out->limit = q->rate;
    out->remaining = remaining;
    out->reset_unix = (q->now_ns + reset_ns) / NS_PER_S;
    out->blocked = count > q->rate - q->subtractor;
}

static void quota_result(const struct lreq *q, const redisReply *rep, gw_limit_result_t *out)
{
    int64_t value = reply_int(rep->element[4]);
    int64_t pttl = reply_int(rep->element[5]);
    out->limit = q->quota_max;
    out->blocked = value - 1 >= q->quota_max;
    out->remaining = out->blocked ? 0 : TK_MAX(0, q->quota_max - value);
    /* Tyk: expiredAt = now + PTTL, where go-redis turns -1/-2 into nanoseconds, i.e. now. */
    int64_t ttl_ns = pttl > 0 ? pttl * INT64_C(1000000) : 0;
    out->reset_unix = (q->now_ns + ttl_ns) / NS_PER_S;
}

static void deliver_unavailable(struct lreq *q)
{
    gw_limit_result_t u = {.unavailable = true};
    if (q->kind == REQ_COMBINED)
        q->cb2(q->arg, &u, &u);
    else if (q->kind != REQ_SENTINEL && q->cb)
        q->cb(q->arg, &u);
}

static void on_script(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)r;
    struct lreq *q = arg;
    if (reply && reply->type == REDIS_REPLY_ERROR && !q->retried && reply->str &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        /* The server lost its script cache (restart, SCRIPT FLUSH): EVAL caches it again. */
        q->retried = true;
        if (send_script(q, true) == TK_OK)
            return;
        reply = NULL;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 6) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            tk_log_error("rate limit script failed: %s", reply->str ? reply->str : "?");
        deliver_unavailable(q);
        req_unref(q);
        return;
    }

    gw_limit_result_t rate = {0}, quota = {0};
    if (q->mode & MODE_RATE) {
        rate_result(q, reply, &rate);
        if (rate.blocked && q->set_sentinel)
            set_sentinel(q->r, q->rl_key, q->per);
    }
    if ((q->mode & MODE_QUOTA) && reply_int(reply->element[4]) > 0)
        quota_result(q, reply, &quota);

    switch (q->kind) {
    case REQ_COMBINED:
        q->cb2(q->arg, &rate, &quota);
        break;
    case REQ_QUOTA:
        q->cb(q->arg, &quota);
        break;
    case REQ_SLIDING:
        q->cb(q->arg, &rate);
        break;
    default: /* sentinel: the caller already has its answer from the TTL */
        break;
    }
    req_unref(q);
}

static void fill_rate(struct lreq *q, double rate, double per)
{
    q->rate = (int64_t)rate;
    q->per = (int64_t)per;
    q->now_ns = stamp_ns();
}

int gw_rl_sliding_log(tk_redis_t *r, const char *key, double rate, double per,
                      bool sentinel_threshold, gw_limit_cb cb, void *arg)
{
    if (!r || !key || !cb || !tk_redis_connected(r))
        return TK_ERROR;
    struct lreq *q = req_new(r, REQ_SLIDING, key, NULL);
    q->cb = cb;
    q->arg = arg;
    q->mode = MODE_RATE;
    q->subtractor = sentinel_threshold ? 2 : 1;
    q->set_sentinel = sentinel_threshold;
    fill_rate(q, rate, per);
    if (send_script(q, false) != TK_OK) {
        free(q);
        return TK_ERROR;
    }
    return TK_OK;
}

static void on_sentinel_ttl(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)r;
    struct lreq *q = arg;
    gw_limit_result_t res = {.limit = q->rate, .remaining = -1};
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        res.unavailable = true;
    } else {
        int64_t ttl = reply->integer > 0 ? reply->integer : 0;
        res.blocked = ttl > 0;
        res.reset_unix = q->now_ns / NS_PER_S + ttl;
    }
    q->cb(q->arg, &res);
    req_unref(q);
}

int gw_rl_sentinel(tk_redis_t *r, const char *key, double rate, double per, gw_limit_cb cb,
                   void *arg)
{
    if (!r || !key || !cb || !tk_redis_connected(r))
        return TK_ERROR;
    char skey[1024];
    if (gw_key_sentinel(skey, sizeof(skey), key) < 0)
        return TK_ERROR;
    struct lreq *q = req_new(r, REQ_SENTINEL, key, NULL);
    q->cb = cb;
    q->arg = arg;
    q->mode = MODE_RATE;
    q->subtractor = 2;
    q->set_sentinel = true;
    fill_rate(q, rate, per);
    const char *argv[2] = {"TTL", skey};
    if (tk_redis_cmd_argv(r, on_sentinel_ttl, q, 2, argv, NULL) != TK_OK) {
        free(q);
        return TK_ERROR;
    }
    /* The log update rides in the same write, after the check, as Tyk's deferred goroutine. */
    q->refs = 2;
    if (send_script(q, false) != TK_OK)
        req_unref(q);
    return TK_OK;
}

/* ---- fixed window --------------------------------------------------------------------------- */

static void on_fixed_incr(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)r;
    struct lreq *q = arg;
    gw_limit_result_t res = {.limit = q->rate, .reset_unix = q->reset_unix};
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        res.unavailable = true;
    } else {
        res.blocked = reply->integer > q->rate;
        res.remaining = TK_MAX(0, q->rate - reply->integer);
    }
    q->cb(q->arg, &res);
    free(q);
}

int gw_rl_fixed_window(tk_redis_t *r, const char *key, double rate, double per, gw_limit_cb cb,
                       void *arg)
{
    if (!r || !key || !cb || !tk_redis_connected(r))
        return TK_ERROR;
    int64_t win_ns = (int64_t)(per * (double)NS_PER_S);
    int64_t now = stamp_ns();
    int64_t into = 0;
    if (win_ns > 0) {
        /* Go's Time.Truncate counts from January 1 of year 1, 62135596800 s before the Unix
         * epoch; the sum overflows int64, hence 128 bits. */
        unsigned __int128 abs_ns =
            (unsigned __int128)62135596800u * (unsigned __int128)NS_PER_S + (unsigned __int128)now;
        into = (int64_t)(abs_ns % (unsigned __int128)win_ns);
    }
    int64_t start = now - into;
    int64_t ttl_ns = win_ns - into;
    char wkey[1100];
    int n = snprintf(wkey, sizeof(wkey), "%s/%" PRId64, key, start);
    if (n < 0 || (size_t)n >= sizeof(wkey))
        return TK_ERROR;

    struct lreq *q = req_new(r, REQ_FIXED, NULL, NULL);
    q->cb = cb;
    q->arg = arg;
    q->rate = (int64_t)rate;
    q->now_ns = now;
    q->reset_unix = (now + ttl_ns) / NS_PER_S;
    const char *incr[2] = {"INCR", wkey};
    if (tk_redis_cmd_argv(r, on_fixed_incr, q, 2, incr, NULL) != TK_OK) {
        free(q);
        return TK_ERROR;
    }
    /* go-redis sends PEXPIRE in whole milliseconds, at least 1 for a positive duration. */
    int64_t ms = ttl_ns / 1000000;
    if (ms <= 0)
        ms = 1;
    char mss[24];
    fmt_i64(mss, sizeof(mss), ms);
    const char *pexp[3] = {"PEXPIRE", wkey, mss};
    tk_redis_cmd_argv(r, NULL, NULL, 3, pexp, NULL);
    return TK_OK;
}

/* ---- quota ----------------------------------------------------------------------------------- */

int gw_quota_check(tk_redis_t *r, const char *key, int64_t quota_max, int64_t renewal_rate,
                   gw_limit_cb cb, void *arg)
{
    if (quota_max <= 0)
        return TK_DECLINED;
    if (!r || !key || !cb || !tk_redis_connected(r))
        return TK_ERROR;
    struct lreq *q = req_new(r, REQ_QUOTA, NULL, key);
    q->cb = cb;
    q->arg = arg;
    q->mode = MODE_QUOTA;
    q->quota_max = quota_max;
    q->renewal = renewal_rate > 0 ? renewal_rate : 0;
    q->subtractor = 1;
    q->now_ns = stamp_ns();
    if (send_script(q, false) != TK_OK) {
        free(q);
        return TK_ERROR;
    }
    return TK_OK;
}

struct reset_ctx {
    gw_limit_cb cb;
    void *arg;
};

static void on_reset(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)r;
    struct reset_ctx *c = arg;
    gw_limit_result_t res = {.unavailable = !reply || reply->type == REDIS_REPLY_ERROR};
    c->cb(c->arg, &res);
    free(c);
}

int gw_quota_reset(tk_redis_t *r, const char *const *keys, size_t n, gw_limit_cb cb, void *arg)
{
    if (!r || !keys || n == 0 || n > 64 || !tk_redis_connected(r))
        return TK_ERROR;
    const char *argv[65];
    argv[0] = "DEL";
    for (size_t i = 0; i < n; i++) {
        if (!keys[i])
            return TK_ERROR;
        argv[i + 1] = keys[i];
    }
    struct reset_ctx *c = NULL;
    if (cb) {
        c = tk_xmalloc(sizeof(*c));
        c->cb = cb;
        c->arg = arg;
    }
    if (tk_redis_cmd_argv(r, c ? on_reset : NULL, c, (int)n + 1, argv, NULL) != TK_OK) {
        free(c);
        return TK_ERROR;
    }
    return TK_OK;
}

int gw_limits_check(tk_redis_t *r, const char *rl_key, double rate, double per,
                    const char *quota_key, int64_t quota_max, int64_t renewal_rate, gw_limits_cb cb,
                    void *arg)
{
    if (!r || !cb || !tk_redis_connected(r))
        return TK_ERROR;
    unsigned mode = 0;
    if (rl_key && rate > 0)
        mode |= MODE_RATE;
    if (quota_key && quota_max > 0)
        mode |= MODE_QUOTA;
    if (!mode) {
        /* Nothing to ask Redis; answer like Tyk does for unlimited keys. */
        gw_limit_result_t none = {0};
        cb(arg, &none, &none);
        return TK_OK;
    }
    struct lreq *q = req_new(r, REQ_COMBINED, (mode & MODE_RATE) ? rl_key : NULL,
                             (mode & MODE_QUOTA) ? quota_key : NULL);
    q->cb2 = cb;
    q->arg = arg;
    q->mode = mode;
    q->subtractor = 1;
    q->quota_max = quota_max;
    q->renewal = renewal_rate > 0 ? renewal_rate : 0;
    fill_rate(q, rate, per);
    if (send_script(q, false) != TK_OK) {
        free(q);
        return TK_ERROR;
    }
    return TK_OK;
}

/* ---- DRL buckets ----------------------------------------------------------------------------- */

struct bucket {
    struct bucket *hnext;       /* hash chain */
    struct bucket *prev, *next; /* LRU list, most recent first */
    uint64_t hash;
    uint64_t last_used;
    uint64_t reset_ns;
    uint64_t capacity;
    uint64_t remaining;
    char key[];
};

struct gw_drl {
    struct bucket **table;
    size_t mask;
    size_t count, max;
    uint64_t idle_ns;
    struct bucket *head, *tail;
};

gw_drl_t *gw_drl_new(size_t max_entries, uint64_t idle_ns)
{
    gw_drl_t *d = tk_xcalloc(1, sizeof(*d));
    d->max = max_entries ? max_entries : 65536;
    d->idle_ns = idle_ns ? idle_ns : UINT64_C(600) * (uint64_t)NS_PER_S;
    size_t size = 16;
    while (size < d->max)
        size <<= 1;
    d->table = tk_xcalloc(size, sizeof(*d->table));
    d->mask = size - 1;
    return d;
}

void gw_drl_free(gw_drl_t *d)
{
    if (!d)
        return;
    struct bucket *b = d->head;
    while (b) {
        struct bucket *n = b->next;
        free(b);
        b = n;
    }
    free(d->table);
    free(d);
}

size_t gw_drl_count(const gw_drl_t *d)
{
    return d ? d->count : 0;
}

static void lru_unlink(gw_drl_t *d, struct bucket *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        d->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        d->tail = b->prev;
    b->prev = b->next = NULL;
}

static void lru_push(gw_drl_t *d, struct bucket *b)
{
    b->prev = NULL;
    b->next = d->head;
    if (d->head)
        d->head->prev = b;
    d->head = b;
    if (!d->tail)
        d->tail = b;
}

static void bucket_drop(gw_drl_t *d, struct bucket *b)
{
    struct bucket **pp = &d->table[b->hash & d->mask];
    while (*pp && *pp != b)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = b->hnext;
    lru_unlink(d, b);
    d->count--;
    free(b);
}

/* FNV-1a over "<key>:<last_updated>" (or just key) without building the string. */
static uint64_t bucket_hash(const char *key, const char *lu)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    if (lu) {
        h = (h ^ ':') * UINT64_C(1099511628211);
        for (const unsigned char *p = (const unsigned char *)lu; *p; p++)
            h = (h ^ *p) * UINT64_C(1099511628211);
    }
    return h;
}

static bool bucket_is(const struct bucket *b, const char *key, size_t klen, const char *lu)
{
    if (strncmp(b->key, key, klen) != 0)
        return false;
    if (!lu)
        return b->key[klen] == '\0';
    return b->key[klen] == ':' && strcmp(b->key + klen + 1, lu) == 0;
}

bool gw_drl_allow(gw_drl_t *d, const char *key, const char *last_updated, double rate, double per,
                  int64_t token_value, uint64_t now_ns, gw_limit_result_t *out)
{
    gw_limit_result_t res = {.limit = (int64_t)rate};
    uint64_t tv = token_value > 0 ? (uint64_t)token_value : 100;
    /* Tyk: time.Duration(per) * time.Second, so the window is whole seconds. */
    uint64_t window = per >= 1 ? (uint64_t)(int64_t)per * (uint64_t)NS_PER_S : 0;

    /* Idle buckets go first (Tyk's memorycache forgets a bucket 10 minutes after its last use). */
    for (int i = 0; i < 8 && d->tail && now_ns - d->tail->last_used > d->idle_ns; i++)
        bucket_drop(d, d->tail);

    uint64_t h = bucket_hash(key, last_updated);
    size_t klen = strlen(key);
    struct bucket *b = d->table[h & d->mask];
    while (b && !(b->hash == h && bucket_is(b, key, klen, last_updated)))
        b = b->hnext;

    if (b) {
        lru_unlink(d, b);
    } else {
        if (d->count >= d->max)
            bucket_drop(d, d->tail);
        size_t lulen = last_updated ? strlen(last_updated) + 1 : 0;
        b = tk_xcalloc(1, sizeof(*b) + klen + lulen + 1);
        memcpy(b->key, key, klen);
        if (last_updated) {
            b->key[klen] = ':';
            memcpy(b->key + klen + 1, last_updated, lulen);
        }
        b->hash = h;
        /* Tyk: capacity uint(rate * RequestTokenValue), raised to one token value. */
        double c = rate * 100.0;
        b->capacity = c > 0 ? (uint64_t)c : 0;
        if (b->capacity < tv)
            b->capacity = tv;
        b->remaining = b->capacity;
        b->reset_ns = now_ns + window;
        b->hnext = d->table[h & d->mask];
        d->table[h & d->mask] = b;
        d->count++;
    }
    lru_push(d, b);
    b->last_used = now_ns;

    if (now_ns > b->reset_ns) {
        b->reset_ns = now_ns + window;
        b->remaining = b->capacity;
    }
    if (tv > b->remaining) {
        res.blocked = true;
    } else {
        b->remaining -= tv;
    }
    res.remaining = (int64_t)(b->remaining / tv);
    res.reset_unix = (int64_t)((tk_wall_ns() + (b->reset_ns - now_ns)) / (uint64_t)NS_PER_S);
    if (out)
        *out = res;
    return res.blocked;
}

bool gw_drl_peek(gw_drl_t *d, const char *key, const char *last_updated, uint64_t now_ns)
{
    uint64_t h = bucket_hash(key, last_updated);
    size_t klen = strlen(key);
    struct bucket *b = d->table[h & d->mask];
    while (b && !(b->hash == h && bucket_is(b, key, klen, last_updated)))
        b = b->hnext;
    /* Tyk: Remaining() == 0 && now before Reset(); a missing bucket would be created full. */
    return b && b->remaining == 0 && now_ns < b->reset_ns;
}

/* ---- key names ------------------------------------------------------------------------------- */

/* Appends @s to buf at *pos, failing when it does not fit with the terminating NUL. */
static bool put(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (*pos + n >= cap)
        return false;
    memcpy(buf + *pos, s, n);
    *pos += n;
    buf[*pos] = '\0';
    return true;
}

/* One part of Tyk's rate.Prefix: trimmed of '-' on both ends, skipped when empty. */
static bool put_part(char *buf, size_t cap, size_t *pos, const char *p)
{
    if (!p)
        return true;
    size_t n = strlen(p);
    while (n && p[0] == '-') {
        p++;
        n--;
    }
    while (n && p[n - 1] == '-')
        n--;
    if (!n)
        return true;
    if (*pos > 0 && !put(buf, cap, pos, "-", 1))
        return false;
    return put(buf, cap, pos, p, n);
}

int gw_key_rate_limit(char *buf, size_t cap, const char *scope, const char *key_hash,
                      const char *endpoint_suffix)
{
    size_t pos = 0;
    if (!buf || cap == 0)
        return TK_ERROR;
    buf[0] = '\0';
    if (!put_part(buf, cap, &pos, "rate-limit-") || !put_part(buf, cap, &pos, scope) ||
        !put_part(buf, cap, &pos, key_hash) || !put_part(buf, cap, &pos, endpoint_suffix))
        return TK_ERROR;
    return (int)pos;
}

int gw_key_quota(char *buf, size_t cap, const char *scope, const char *key)
{
    size_t pos = 0;
    if (!buf || cap == 0 || !key)
        return TK_ERROR;
    buf[0] = '\0';
    if (!put(buf, cap, &pos, "quota-", 6))
        return TK_ERROR;
    if (scope && scope[0] &&
        (!put(buf, cap, &pos, scope, strlen(scope)) || !put(buf, cap, &pos, "-", 1)))
        return TK_ERROR;
    if (!put(buf, cap, &pos, key, strlen(key)))
        return TK_ERROR;
    return (int)pos;
}

int gw_key_apilimiter(char *buf, size_t cap, const char *org_id, const char *api_id)
{
    char id[512];
    int n = snprintf(id, sizeof(id), "apilimiter-%s%s", org_id ? org_id : "", api_id ? api_id : "");
    if (n < 0 || (size_t)n >= sizeof(id))
        return TK_ERROR;
    return gw_key_rate_limit(buf, cap, NULL, id, NULL);
}

int gw_key_sentinel(char *buf, size_t cap, const char *rl_key)
{
    size_t pos = 0;
    if (!buf || cap == 0 || !rl_key)
        return TK_ERROR;
    buf[0] = '\0';
    if (!put(buf, cap, &pos, rl_key, strlen(rl_key)) || !put(buf, cap, &pos, ".BLOCKED", 8))
        return TK_ERROR;
    return (int)pos;
}

/* ---- headers --------------------------------------------------------------------------------- */

void gw_limit_headers(const gw_limit_result_t *r, gw_limit_headers_t *out)
{
    int64_t limit = 0, remaining = 0, reset = 0;
    if (r && !r->unavailable) {
        limit = r->limit;
        remaining = r->remaining > 0 ? r->remaining : 0;
        reset = r->reset_unix;
    }
    fmt_i64(out->limit, sizeof(out->limit), limit);
    fmt_i64(out->remaining, sizeof(out->remaining), remaining);
    fmt_i64(out->reset, sizeof(out->reset), reset);
}
