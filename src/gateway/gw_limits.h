/* SPDX-License-Identifier: Apache-2.0 */
/* Rate limiters and quotas that read and write Redis exactly as Tyk does (plus Tyk's in-memory
 * DRL). */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#include "tk_common.h"
#include "tk_redis.h"

/*
 * Everything here is asynchronous and belongs to one event-loop thread: a tk_redis_t client and a
 * gw_drl_t are only ever used from the thread that owns them. Redis keys, members, scores and
 * TTLs are the ones Tyk writes (gateway/session_manager.go, internal/rate/), so Tyk and Turnpike
 * gateways can share one Redis and agree on every counter.
 *
 * Every Redis call returns TK_OK when its callback will run exactly once, or TK_ERROR when the
 * command could not be queued (Redis not connected, bad arguments); the callback is then NOT
 * called and the caller treats that as "unavailable" (a 503, never a false 429/403).
 */

/** Outcome of one limiter or quota check. */
typedef struct gw_limit_result {
    bool blocked;       /* the request is over the limit (429 rate / 403 quota) */
    int64_t limit;      /* rate (requests per window) or quota_max */
    int64_t remaining;  /* what is left; -1 when the limiter does not know (sentinel) */
    int64_t reset_unix; /* unix seconds: next free slot (rate) or quota renewal (quota) */
    bool unavailable;   /* Redis could not answer: blocked/limit/remaining are meaningless */
} gw_limit_result_t;

/** Result callback; @r is only valid during the call. */
typedef void (*gw_limit_cb)(void *arg, const gw_limit_result_t *r);

/** Callback of gw_limits_check: both results of one request, valid only during the call. */
typedef void (*gw_limits_cb)(void *arg, const gw_limit_result_t *rate,
                             const gw_limit_result_t *quota);

/* ---- Redis sliding log (enable_redis_rolling_limiter, DRL fallback) ------------------------- */

/**
 * Sliding-log rate limit on the ZSET @key (e.g. "rate-limit-<hash>"), one round trip: EVALSHA of
 * our own script (EVAL once when the server answers NOSCRIPT, which also caches it). The script
 * trims entries older than now-per, counts, adds member = score = now in nanoseconds, sets
 * EXPIRE per, exactly as Tyk's sliding_log_add.lua. @rate and @per are truncated to integers as
 * Tyk does. Blocked iff count > rate-1, or count > rate-2 with @sentinel_threshold (Tyk's
 * drl_enable_sentinel_rate_limiter), in which case a block also does SET <key>.BLOCKED 1 NX EX
 * per. The result's reset is the time the oldest counted entry leaves the window (0 seconds
 * from now while requests remain). @key is copied.
 */
int gw_rl_sliding_log(tk_redis_t *r, const char *key, double rate, double per,
                      bool sentinel_threshold, gw_limit_cb cb, void *arg);

/**
 * Sentinel limiter (enable_sentinel_rate_limiter): blocked iff TTL of "<key>.BLOCKED" > 0. The
 * sliding-log update is pipelined right behind the TTL check and finishes after @cb has run;
 * when the log says "block" (threshold rate-2) "<key>.BLOCKED" is SET NX EX per. The result has
 * remaining = -1 and reset = now + the sentinel's TTL, as Tyk reports it. @key is copied.
 */
int gw_rl_sentinel(tk_redis_t *r, const char *key, double rate, double per, gw_limit_cb cb,
                   void *arg);

/**
 * Fixed window (enable_fixed_window_rate_limiter, TykTechnologies/exp FixedWindowRedis): one
 * pipelined INCR + PEXPIRE of "<key>/<window start in unix nanoseconds>", the window being now
 * truncated to a multiple of @per since Go's zero time (Go's time.Truncate); PEXPIRE is the time
 * left in the window. Blocked iff the counter > (int64)rate. @key is copied.
 */
int gw_rl_fixed_window(tk_redis_t *r, const char *key, double rate, double per, gw_limit_cb cb,
                       void *arg);

/* ---- Quota ----------------------------------------------------------------------------------- */

/**
 * Tyk's RedisQuotaExceeded on @key ("quota-..."), in one round trip. The script runs Tyk's
 * commands in Tyk's order: PTTL; when the key is missing (-2) or has no expiry (-1) and
 * @renewal_rate > 0, SET key 0 EX renewal_rate; then INCR. Tyk takes "<key>-lock" around the
 * SET only to keep other gateways out of the gap between PTTL and SET; a script is atomic, so
 * the result equals a Tyk run with no interleaving. The counter increments even when blocked.
 * blocked iff value-1 >= @quota_max; remaining = max(0, quota_max - value); reset_unix = when
 * the key expires (now when it never does). @quota_max <= 0 means no quota: @cb is not called
 * and TK_DECLINED is returned without touching Redis.
 */
int gw_quota_check(tk_redis_t *r, const char *key, int64_t quota_max, int64_t renewal_rate,
                   gw_limit_cb cb, void *arg);

/**
 * Tyk's ResetQuota: one DEL of @n (1..64) keys (the caller passes "quota-<hash>", its scoped
 * variants and "rate-limit-<hash>.BLOCKED"). @cb may be NULL; its result only carries unavailable.
 */
int gw_quota_reset(tk_redis_t *r, const char *const *keys, size_t n, gw_limit_cb cb, void *arg);

/* ---- One exchange per request ------------------------------------------------------------- */

/**
 * Sliding log on @rl_key and quota on @quota_key in ONE command (so one exchange): one script
 * call that runs the sliding log first and, like Tyk's ForwardMessage, only touches the quota
 * when the rate limit passed (a rate-limited request never consumes quota). @rate <= 0 or a
 * NULL @rl_key skips the rate limit; @quota_max <= 0 or a NULL @quota_key skips the quota.
 * Skipped or not-reached parts come back with blocked=false and limit=0; when both are
 * skipped @cb runs before this returns, without Redis. Both keys are named in
 * one script, so this needs a non-cluster Redis (tk_redis talks to one node anyway).
 */
int gw_limits_check(tk_redis_t *r, const char *rl_key, double rate, double per,
                    const char *quota_key, int64_t quota_max, int64_t renewal_rate, gw_limits_cb cb,
                    void *arg);

/* ---- In-memory DRL token bucket (Tyk's default limiter) ------------------------------------ */

typedef struct gw_drl gw_drl_t;

/**
 * A per-worker bucket store without locks. At most @max_entries buckets are kept (0 = 65536);
 * a bucket untouched for @idle_ns (0 = 10 minutes, Tyk's memorycache TTL) is dropped, and when
 * full the least recently used one is evicted.
 */
gw_drl_t *gw_drl_new(size_t max_entries, uint64_t idle_ns);
/** Frees the store; NULL is accepted. */
void gw_drl_free(gw_drl_t *d);
/** Number of buckets held right now. */
size_t gw_drl_count(const gw_drl_t *d);

/**
 * Tyk's limitDRL for one request: bucket "<key>:<last_updated>" (just @key when @last_updated is
 * NULL, Tyk's custom-key case), capacity max(rate*100, token_value) fixed when the bucket is
 * created, window (int64)per seconds restarting at the first request after it ends; each
 * request takes @token_value (100 * live gateways; <= 0 means 100) or is blocked. @now_ns is
 * the monotonic clock. Fills @out (remaining = tokens left / token_value) and returns
 * out->blocked.
 */
bool gw_drl_allow(gw_drl_t *d, const char *key, const char *last_updated, double rate, double per,
                  int64_t token_value, uint64_t now_ns, gw_limit_result_t *out);

/**
 * Tyk's limitDRL dry run (used between throttle retries): true when the bucket for @key /
 * @last_updated exists, has no tokens left and its window has not ended yet. Takes nothing.
 */
bool gw_drl_peek(gw_drl_t *d, const char *key, const char *last_updated, uint64_t now_ns);

/* ---- Key names (Tyk §7.2) -------------------------------------------------------------------- */

/**
 * "rate-limit-[<scope>-]<key_hash>[-<endpoint_suffix>]" built like Tyk's rate.Prefix (each part
 * trimmed of '-', empty parts skipped). @scope and @endpoint_suffix may be NULL or "". Writes a
 * NUL-terminated name to @buf; returns its length or TK_ERROR when @cap is too small.
 */
int gw_key_rate_limit(char *buf, size_t cap, const char *scope, const char *key_hash,
                      const char *endpoint_suffix);
/** "quota-[<scope>-]<key>" (Tyk concatenates, no trimming). Returns length or TK_ERROR. */
int gw_key_quota(char *buf, size_t cap, const char *scope, const char *key);
/** API-level limiter key "rate-limit-apilimiter-<org_id><api_id>". Returns length or TK_ERROR. */
int gw_key_apilimiter(char *buf, size_t cap, const char *org_id, const char *api_id);
/** "<rl_key>.BLOCKED", the sentinel key. Returns length or TK_ERROR. */
int gw_key_sentinel(char *buf, size_t cap, const char *rl_key);

/* ---- X-RateLimit-* headers (Tyk internal/rate/headers.go) ----------------------------------- */

/** The three header values as decimal strings. */
typedef struct gw_limit_headers {
    char limit[24];     /* X-RateLimit-Limit */
    char remaining[24]; /* X-RateLimit-Remaining, never negative */
    char reset[24];     /* X-RateLimit-Reset, unix seconds */
} gw_limit_headers_t;

/**
 * Formats X-RateLimit-* from a result. With rate_limit_response_headers = "rate_limits" pass the
 * rate-limit result; with "quotas" (the default) pass the quota result (or a result built from the
 * session's quota_max / quota_remaining / quota_renews). A NULL or unavailable result gives
 * "0", "0", "0" like Tyk's sender for a missing session.
 */
void gw_limit_headers(const gw_limit_result_t *r, gw_limit_headers_t *out);

#endif
