/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for gw_limits: Tyk-compatible limiters and quotas against a real redis-server. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "gw_limits.h"
#include "tk_redis.h"

#include "redis_server.h"

static pid_t server_pid; /* 0 when no server runs */
static int server_port;

static void start_server(void)
{
    server_pid = test_redis_start(server_port, NULL);
}

static void kill_server(void)
{
    if (server_pid > 0) {
        test_redis_stop(server_pid, SIGKILL);
        server_pid = 0;
    }
}

/* ---- loop ------------------------------------------------------------------------------------ */

static struct event_base *base;
static tk_redis_t *live[4];

struct conn_ctx {
    int ups, downs;
};

static void on_state(tk_redis_t *r, bool up, void *arg)
{
    (void)r;
    struct conn_ctx *c = arg;
    if (up)
        c->ups++;
    else
        c->downs++;
}

static tk_redis_t *client(struct conn_ctx *c)
{
    tk_redis_opts_t o = {.host = "127.0.0.1",
                         .port = server_port,
                         .backoff_min_ms = 50,
                         .backoff_max_ms = 200,
                         .command_timeout_ms = 2000};
    tk_redis_t *r = tk_redis_new(base, &o, on_state, c);
    assert_non_null(r);
    for (size_t i = 0; i < TK_ARRAY_LEN(live); i++) {
        if (!live[i]) {
            live[i] = r;
            break;
        }
    }
    RUN_UNTIL(c->ups >= 1, 3000);
    assert_true(tk_redis_connected(r));
    return r;
}

static void release(tk_redis_t *r)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(live); i++)
        if (live[i] == r)
            live[i] = NULL;
    tk_redis_free(r);
}

static int setup(void **state)
{
    (void)state;
    base = test_loop_start();
    if (server_pid == 0)
        start_server();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < TK_ARRAY_LEN(live); i++)
        release(live[i]);
    test_loop_stop();
    base = NULL;
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    server_port = test_free_port();
    start_server();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kill_server();
    return 0;
}

/* ---- raw commands ---------------------------------------------------------------------------- */

struct rep {
    int calls;
    bool null;
    int type;
    long long integer;
    char str[256];
    size_t elements;
    char el[64][48]; /* first elements of an array reply, as text */
};

static void on_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)r;
    struct rep *o = arg;
    o->calls++;
    o->null = reply == NULL;
    if (!reply)
        return;
    o->type = reply->type;
    o->integer = reply->integer;
    o->elements = reply->elements;
    if (reply->str)
        snprintf(o->str, sizeof(o->str), "%.*s", (int)reply->len, reply->str);
    for (size_t i = 0; i < reply->elements && i < 64; i++) {
        redisReply *e = reply->element[i];
        if (e->str)
            snprintf(o->el[i], sizeof(o->el[i]), "%.*s", (int)e->len, e->str);
        else
            snprintf(o->el[i], sizeof(o->el[i]), "%lld", e->integer);
    }
}

#define CMD(r, o, ...)                                                                             \
    do {                                                                                           \
        memset((o), 0, sizeof(*(o)));                                                              \
        assert_int_equal(tk_redis_cmd((r), on_reply, (o), __VA_ARGS__), TK_OK);                    \
        RUN_UNTIL((o)->calls == 1, 3000);                                                          \
        assert_int_equal((o)->calls, 1);                                                           \
        assert_false((o)->null);                                                                   \
    } while (0)

/* ---- result collection ----------------------------------------------------------------------- */

struct tally {
    int done, admitted, blocked, unavailable;
    gw_limit_result_t last;
    int64_t min_remaining;
};

static void on_result(void *arg, const gw_limit_result_t *r)
{
    struct tally *t = arg;
    t->done++;
    if (r->unavailable)
        t->unavailable++;
    else if (r->blocked)
        t->blocked++;
    else
        t->admitted++;
    t->last = *r;
}

struct pair {
    int done;
    gw_limit_result_t rate, quota;
};

static void on_pair(void *arg, const gw_limit_result_t *rate, const gw_limit_result_t *quota)
{
    struct pair *p = arg;
    p->done++;
    p->rate = *rate;
    p->quota = *quota;
}

static int pairs_done(const struct pair *ps, int n)
{
    int all = 0;
    for (int i = 0; i < n; i++)
        all += ps[i].done;
    return all;
}

static int64_t wall_s(void)
{
    return (int64_t)(tk_wall_ns() / 1000000000u);
}

/* ---- pure helpers ---------------------------------------------------------------------------- */

static void test_key_names(void **state)
{
    (void)state;
    char b[128];
    assert_int_equal(gw_key_rate_limit(b, sizeof(b), NULL, "abc123", NULL), 17);
    assert_string_equal(b, "rate-limit-abc123");
    gw_key_rate_limit(b, sizeof(b), "pol1", "abc123", "deadbeef");
    assert_string_equal(b, "rate-limit-pol1-abc123-deadbeef");
    gw_key_rate_limit(b, sizeof(b), "", "abc123", "");
    assert_string_equal(b, "rate-limit-abc123");
    /* rate.Prefix trims '-' from each part. */
    gw_key_rate_limit(b, sizeof(b), "-pol-", "abc", NULL);
    assert_string_equal(b, "rate-limit-pol-abc");
    assert_int_equal(gw_key_rate_limit(b, 10, NULL, "abc123", NULL), TK_ERROR);

    gw_key_quota(b, sizeof(b), NULL, "abc123");
    assert_string_equal(b, "quota-abc123");
    gw_key_quota(b, sizeof(b), "pol1", "abc123");
    assert_string_equal(b, "quota-pol1-abc123");
    assert_int_equal(gw_key_quota(b, 8, NULL, "abc123"), TK_ERROR);

    gw_key_apilimiter(b, sizeof(b), "org1", "api1");
    assert_string_equal(b, "rate-limit-apilimiter-org1api1");
    gw_key_sentinel(b, sizeof(b), "rate-limit-abc");
    assert_string_equal(b, "rate-limit-abc.BLOCKED");
}

static void test_headers(void **state)
{
    (void)state;
    gw_limit_headers_t h;
    gw_limit_result_t r = {.limit = 100, .remaining = 42, .reset_unix = 1700000000};
    gw_limit_headers(&r, &h);
    assert_string_equal(h.limit, "100");
    assert_string_equal(h.remaining, "42");
    assert_string_equal(h.reset, "1700000000");
    r.remaining = -1; /* sentinel: unknown → 0 */
    gw_limit_headers(&r, &h);
    assert_string_equal(h.remaining, "0");
    gw_limit_headers(NULL, &h);
    assert_string_equal(h.limit, "0");
    assert_string_equal(h.reset, "0");
}

/* ---- sliding log ----------------------------------------------------------------------------- */

static void test_sliding_log(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    const char *key = "rate-limit-sl1";
    struct rep o;
    CMD(r, &o, "DEL %s", key);

    struct tally t = {0};
    int64_t t0 = wall_s();
    for (int i = 0; i < 50; i++)
        assert_int_equal(gw_rl_sliding_log(r, key, 10, 2, false, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 50, 5000);
    assert_int_equal(t.done, 50);
    assert_int_equal(t.admitted, 10);
    assert_int_equal(t.blocked, 40);
    /* The last blocked one: no slot left, next slot once the oldest entry leaves the window. */
    assert_int_equal(t.last.limit, 10);
    assert_int_equal(t.last.remaining, 0);
    assert_true(t.last.reset_unix >= t0 + 1 && t.last.reset_unix <= t0 + 3);

    CMD(r, &o, "TYPE %s", key);
    assert_string_equal(o.str, "zset");
    CMD(r, &o, "ZCARD %s", key);
    assert_int_equal(o.integer, 50); /* blocked requests are logged too */
    CMD(r, &o, "TTL %s", key);
    assert_true(o.integer >= 1 && o.integer <= 2);
    CMD(r, &o, "ZRANGE %s 0 9 WITHSCORES", key);
    assert_int_equal(o.elements, 20);
    for (int i = 0; i < 20; i += 2) {
        /* member: the nanosecond timestamp in decimal; score: the same number. */
        assert_int_equal(strlen(o.el[i]), 19);
        assert_int_equal(strspn(o.el[i], "0123456789"), 19);
        assert_true(strtod(o.el[i], NULL) == strtod(o.el[i + 1], NULL));
        long long ns = strtoll(o.el[i], NULL, 10);
        assert_true(ns / 1000000000LL >= t0 - 1 && ns / 1000000000LL <= t0 + 2);
    }

    /* After the window, requests pass again. */
    run_for(2100);
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < 5; i++)
        assert_int_equal(gw_rl_sliding_log(r, key, 10, 2, false, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 5, 3000);
    assert_int_equal(t.admitted, 5);
    assert_int_equal(t.last.remaining, 5);
    CMD(r, &o, "ZCARD %s", key);
    assert_int_equal(o.integer, 5);
    release(r);
}

static void test_two_gateways_share_key(void **state)
{
    (void)state;
    struct conn_ctx c1 = {0}, c2 = {0};
    tk_redis_t *a = client(&c1);
    tk_redis_t *b = client(&c2);
    const char *key = "rate-limit-shared";
    struct rep o;
    CMD(a, &o, "DEL %s", key);
    struct tally ta = {0}, tb = {0};
    /* Ten rounds of 50 + 50 in flight on both connections at once; since a single client gets
     * at most 50 per round, both gateways must have admitted some of the 100. */
    for (int round = 1; round <= 10; round++) {
        for (int i = 0; i < 50; i++) {
            assert_int_equal(gw_rl_sliding_log(a, key, 100, 10, false, on_result, &ta), TK_OK);
            assert_int_equal(gw_rl_sliding_log(b, key, 100, 10, false, on_result, &tb), TK_OK);
        }
        RUN_UNTIL(ta.done == 50 * round && tb.done == 50 * round, 5000);
    }
    assert_int_equal(ta.done + tb.done, 1000);
    assert_int_equal(ta.unavailable + tb.unavailable, 0);
    assert_int_equal(ta.admitted + tb.admitted, 100);
    assert_true(ta.admitted > 0 && tb.admitted > 0);
    CMD(a, &o, "ZCARD %s", key);
    assert_int_equal(o.integer, 1000);
    release(a);
    release(b);
}

static void test_noscript_fallback(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep o;
    CMD(r, &o, "DEL rate-limit-ns");
    CMD(r, &o, "SCRIPT FLUSH");
    struct tally t = {0};
    assert_int_equal(gw_rl_sliding_log(r, "rate-limit-ns", 3, 10, false, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 1, 3000);
    assert_int_equal(t.admitted, 1);
    assert_int_equal(t.last.remaining, 2);
    /* The EVAL cached the script again: the next call is one EVALSHA. */
    tk_redis_stats_t s0, s1;
    tk_redis_get_stats(r, &s0);
    assert_int_equal(gw_rl_sliding_log(r, "rate-limit-ns", 3, 10, false, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 2, 3000);
    tk_redis_get_stats(r, &s1);
    assert_int_equal(s1.commands - s0.commands, 1);
    assert_int_equal(t.admitted, 2);

    /* Any other script error (here WRONGTYPE) is "unavailable", never a block. */
    CMD(r, &o, "SET rate-limit-wt notazset");
    assert_int_equal(gw_rl_sliding_log(r, "rate-limit-wt", 3, 10, false, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 3, 3000);
    assert_int_equal(t.unavailable, 1);
    assert_int_equal(t.blocked, 0);
    release(r);
}

/* ---- quota ----------------------------------------------------------------------------------- */

static void test_quota(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    const char *key = "quota-q1";
    struct rep o;
    CMD(r, &o, "DEL %s", key);

    struct tally t = {0};
    int64_t t0 = wall_s();
    for (int i = 0; i < 200; i++)
        assert_int_equal(gw_quota_check(r, key, 50, 2, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 200, 5000);
    assert_int_equal(t.admitted, 50);
    assert_int_equal(t.blocked, 150);
    assert_int_equal(t.last.limit, 50);
    assert_int_equal(t.last.remaining, 0);
    assert_true(t.last.reset_unix >= t0 && t.last.reset_unix <= t0 + 3);
    CMD(r, &o, "GET %s", key);
    assert_string_equal(o.str, "200"); /* the counter also counts blocked requests */
    CMD(r, &o, "TTL %s", key);
    assert_true(o.integer >= 1 && o.integer <= 2);

    /* Renewal once the key expired: a new period starts at 1. */
    run_for(2200);
    memset(&t, 0, sizeof(t));
    assert_int_equal(gw_quota_check(r, key, 50, 2, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 1, 3000);
    assert_int_equal(t.admitted, 1);
    assert_int_equal(t.last.remaining, 49);
    CMD(r, &o, "GET %s", key);
    assert_string_equal(o.str, "1");

    /* A counter without expiry (legacy) is renewed as well. */
    CMD(r, &o, "SET %s 500", key);
    assert_int_equal(gw_quota_check(r, key, 50, 2, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 2, 3000);
    assert_int_equal(t.admitted, 2);
    CMD(r, &o, "TTL %s", key);
    assert_true(o.integer >= 1 && o.integer <= 2);

    /* quota_max <= 0: no quota, Redis untouched. */
    assert_int_equal(gw_quota_check(r, key, 0, 2, on_result, &t), TK_DECLINED);
    release(r);
}

static void test_quota_never_renews_and_reset(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    const char *key = "quota-q2";
    struct rep o;
    CMD(r, &o, "DEL %s", key);
    struct tally t = {0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(gw_quota_check(r, key, 3, 0, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 5, 3000);
    assert_int_equal(t.admitted, 3);
    assert_int_equal(t.blocked, 2);
    CMD(r, &o, "TTL %s", key);
    assert_int_equal(o.integer, -1); /* never expires */
    run_for(1100);
    memset(&t, 0, sizeof(t));
    assert_int_equal(gw_quota_check(r, key, 3, -1, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 1, 3000);
    assert_int_equal(t.blocked, 1);

    /* ResetQuota: DEL of the quota key and the sentinel; the next request starts over. */
    CMD(r, &o, "SET rate-limit-q2.BLOCKED 1");
    const char *keys[] = {key, "rate-limit-q2.BLOCKED"};
    struct tally rt = {0};
    assert_int_equal(gw_quota_reset(r, keys, 2, on_result, &rt), TK_OK);
    RUN_UNTIL(rt.done == 1, 3000);
    assert_int_equal(rt.unavailable, 0);
    CMD(r, &o, "EXISTS %s rate-limit-q2.BLOCKED", key);
    assert_int_equal(o.integer, 0);
    assert_int_equal(gw_quota_check(r, key, 3, 0, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 2, 3000);
    assert_int_equal(t.admitted, 1);
    assert_int_equal(t.last.remaining, 2);
    release(r);
}

/* ---- combined -------------------------------------------------------------------------------- */

static void test_combined_one_exchange(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep o;
    CMD(r, &o, "DEL rate-limit-cb quota-cb");
    /* Warm the script cache so every call below is exactly one EVALSHA. */
    struct pair p = {0};
    assert_int_equal(gw_limits_check(r, "rate-limit-warm", 1, 1, NULL, 0, 0, on_pair, &p), TK_OK);
    RUN_UNTIL(p.done == 1, 3000);

    for (int i = 1; i <= 7; i++) {
        tk_redis_stats_t s0, s1;
        tk_redis_get_stats(r, &s0);
        memset(&p, 0, sizeof(p));
        assert_int_equal(gw_limits_check(r, "rate-limit-cb", 5, 10, "quota-cb", 3, 60, on_pair, &p),
                         TK_OK);
        RUN_UNTIL(p.done == 1, 3000);
        assert_int_equal(p.done, 1);
        tk_redis_get_stats(r, &s1);
        assert_int_equal(s1.commands - s0.commands, 1); /* one command ... */
        assert_int_equal(s1.replies - s0.replies, 1);   /* ... one reply: one exchange */
        assert_false(p.rate.unavailable);
        assert_false(p.quota.unavailable);
        assert_int_equal(p.rate.limit, 5);
        if (i <= 5) {
            assert_false(p.rate.blocked);
            assert_int_equal(p.rate.remaining, 5 - i);
            assert_int_equal(p.quota.limit, 3);
            assert_int_equal(p.quota.blocked, i > 3);
            assert_int_equal(p.quota.remaining, i <= 3 ? 3 - i : 0);
        } else {
            /* Rate-limited requests never reach the quota (Tyk's ForwardMessage order). */
            assert_true(p.rate.blocked);
            assert_false(p.quota.blocked);
            assert_int_equal(p.quota.limit, 0);
        }
    }
    CMD(r, &o, "GET quota-cb");
    assert_string_equal(o.str, "5");
    CMD(r, &o, "TTL quota-cb");
    assert_true(o.integer > 55 && o.integer <= 60);
    CMD(r, &o, "ZCARD rate-limit-cb");
    assert_int_equal(o.integer, 7);

    /* Many requests written back to back share one write and one read on the wire. */
    struct pair ps[20];
    memset(ps, 0, sizeof(ps));
    tk_redis_stats_t s0, s1;
    tk_redis_get_stats(r, &s0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(
            gw_limits_check(r, "rate-limit-cb2", 100, 10, "quota-cb2", 100, 60, on_pair, &ps[i]),
            TK_OK);
    RUN_UNTIL(pairs_done(ps, 20) == 20, 3000);
    assert_int_equal(pairs_done(ps, 20), 20);
    tk_redis_get_stats(r, &s1);
    assert_int_equal(s1.commands - s0.commands, 20);
    assert_int_equal(ps[19].quota.remaining, 80);
    assert_int_equal(ps[19].rate.remaining, 80);
    CMD(r, &o, "DEL rate-limit-cb2 quota-cb2");
    release(r);
}

/* ---- sentinel and fixed window --------------------------------------------------------------- */

static void test_sentinel(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    const char *key = "rate-limit-sent";
    struct rep o;
    CMD(r, &o, "DEL %s %s.BLOCKED", key, key);
    struct tally t = {0};
    for (int i = 0; i < 20; i++)
        assert_int_equal(gw_rl_sentinel(r, key, 5, 3, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 20, 3000);
    run_for(100); /* the log updates and the SET NX land after the answers */
    /* The sentinel goes up only once a log reply said "block", so most of this burst, written
     * in one go, was checked before it existed; at least rate-1 requests always pass. */
    assert_int_equal(t.unavailable, 0);
    assert_true(t.admitted >= 4);
    CMD(r, &o, "GET %s.BLOCKED", key);
    assert_string_equal(o.str, "1");
    CMD(r, &o, "TTL %s.BLOCKED", key);
    assert_true(o.integer >= 2 && o.integer <= 3);
    CMD(r, &o, "ZCARD %s", key);
    assert_int_equal(o.integer, 20);

    memset(&t, 0, sizeof(t));
    int64_t t0 = wall_s();
    assert_int_equal(gw_rl_sentinel(r, key, 5, 3, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 1, 3000);
    assert_int_equal(t.blocked, 1);
    assert_int_equal(t.last.remaining, -1);
    assert_int_equal(t.last.limit, 5);
    assert_true(t.last.reset_unix >= t0 + 1 && t.last.reset_unix <= t0 + 4);

    /* Sliding log with the sentinel threshold (drl_enable_sentinel_rate_limiter): rate-2. */
    CMD(r, &o, "DEL rate-limit-sent2 rate-limit-sent2.BLOCKED");
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < 6; i++)
        assert_int_equal(gw_rl_sliding_log(r, "rate-limit-sent2", 5, 4, true, on_result, &t),
                         TK_OK);
    RUN_UNTIL(t.done == 6, 3000);
    assert_int_equal(t.admitted, 4);
    run_for(50);
    CMD(r, &o, "TTL rate-limit-sent2.BLOCKED");
    assert_true(o.integer >= 3 && o.integer <= 4);
    release(r);
}

static void test_fixed_window(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep o;
    CMD(r, &o, "FLUSHDB");
    struct tally t = {0};
    for (int i = 0; i < 10; i++)
        assert_int_equal(gw_rl_fixed_window(r, "rate-limit-fw", 5, 60, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 10, 3000);
    /* A window boundary may fall inside the burst; then both windows admit up to 5. */
    assert_true(t.admitted == 5 || (t.admitted > 5 && t.admitted <= 10));
    CMD(r, &o, "KEYS rate-limit-fw/*");
    assert_true(o.elements >= 1);
    const char *ns = o.el[0] + strlen("rate-limit-fw/");
    assert_int_equal(strspn(ns, "0123456789"), strlen(ns));
    /* 62135596800 is a multiple of 60, so Go's truncation lands on unix minutes too. */
    assert_int_equal(strtoll(ns, NULL, 10) % 60000000000LL, 0);
    char k[96];
    snprintf(k, sizeof(k), "%s", o.el[0]);
    CMD(r, &o, "PTTL %s", k);
    assert_true(o.integer > 0 && o.integer <= 60000);
    release(r);
}

/* ---- DRL ------------------------------------------------------------------------------------- */

static void test_drl(void **state)
{
    (void)state;
    gw_drl_t *d = gw_drl_new(0, 0);
    gw_limit_result_t res;
    uint64_t now = 1000000000000ull;
    int ok = 0;
    for (int i = 0; i < 30; i++)
        ok += !gw_drl_allow(d, "rate-limit-k", "t1", 10, 1, 100, now + (uint64_t)i, &res);
    assert_int_equal(ok, 10);
    assert_true(res.blocked);
    assert_int_equal(res.limit, 10);
    assert_int_equal(res.remaining, 0);

    /* The window is over after per seconds: the bucket refills. */
    now += 1100000000ull;
    ok = 0;
    for (int i = 0; i < 30; i++)
        ok += !gw_drl_allow(d, "rate-limit-k", "t1", 10, 1, 100, now + (uint64_t)i, &res);
    assert_int_equal(ok, 10);

    /* A key update (new last_updated) gets a fresh bucket. */
    assert_false(gw_drl_allow(d, "rate-limit-k", "t2", 10, 1, 100, now + 100, &res));
    assert_int_equal(res.remaining, 9);

    /* Two gateways: token value 200 → each node admits half the rate. */
    ok = 0;
    for (int i = 0; i < 30; i++)
        ok += !gw_drl_allow(d, "rate-limit-n2", "t1", 10, 10, 200, now + (uint64_t)i, &res);
    assert_int_equal(ok, 5);

    /* Capacity never drops below one token value (rate 1, N = 3). */
    ok = 0;
    for (int i = 0; i < 5; i++)
        ok += !gw_drl_allow(d, "rate-limit-low", NULL, 1, 10, 300, now + (uint64_t)i, &res);
    assert_int_equal(ok, 1);
    gw_drl_free(d);

    /* Memory cap and idle eviction. */
    d = gw_drl_new(16, 1000000000ull);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        gw_drl_allow(d, key, "x", 10, 1, 100, now, &res);
        assert_true(gw_drl_count(d) <= 16);
    }
    assert_int_equal(gw_drl_count(d), 16);
    /* The newest buckets are kept: k999 is still drained by one request. */
    assert_false(gw_drl_allow(d, "k999", "x", 10, 1, 100, now + 1, &res));
    assert_int_equal(res.remaining, 8);
    for (int i = 0; i < 4; i++)
        gw_drl_allow(d, "fresh", NULL, 10, 1, 100, now + 2000000000ull + (uint64_t)i, &res);
    assert_true(gw_drl_count(d) <= 16 - 8 + 1);
    gw_drl_free(d);
}

/* ---- Redis down ------------------------------------------------------------------------------ */

static void test_redis_down_and_back(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep o;
    CMD(r, &o, "DEL rate-limit-down quota-down");

    /* DEBUG SLEEP keeps everything behind it in flight while the server dies. */
    struct rep sleeper = {0};
    assert_int_equal(tk_redis_cmd(r, on_reply, &sleeper, "DEBUG SLEEP 2"), TK_OK);
    struct tally t = {0};
    struct pair p = {0};
    for (int i = 0; i < 10; i++)
        assert_int_equal(gw_rl_sliding_log(r, "rate-limit-down", 5, 10, false, on_result, &t),
                         TK_OK);
    assert_int_equal(gw_quota_check(r, "quota-down", 5, 60, on_result, &t), TK_OK);
    assert_int_equal(gw_rl_sentinel(r, "rate-limit-down", 5, 10, on_result, &t), TK_OK);
    assert_int_equal(gw_limits_check(r, "rate-limit-down", 5, 10, "quota-down", 5, 60, on_pair, &p),
                     TK_OK);
    run_for(100);
    assert_int_equal(t.done, 0);

    uint64_t killed = tk_now_ms();
    kill_server();
    RUN_UNTIL(t.done == 12 && p.done == 1, 3000);
    assert_true(tk_now_ms() - killed < 1000);
    assert_int_equal(t.done, 12);
    assert_int_equal(t.unavailable, 12);
    assert_int_equal(t.blocked, 0);
    assert_int_equal(p.done, 1);
    assert_true(p.rate.unavailable && p.quota.unavailable);

    /* While down nothing can be queued: TK_ERROR, no callback, no crash. */
    assert_int_equal(gw_rl_sliding_log(r, "rate-limit-down", 5, 10, false, on_result, &t),
                     TK_ERROR);
    assert_int_equal(gw_quota_check(r, "quota-down", 5, 60, on_result, &t), TK_ERROR);
    assert_int_equal(gw_limits_check(r, "a", 1, 1, "b", 1, 1, on_pair, &p), TK_ERROR);
    run_for(50);
    assert_int_equal(t.done, 12);

    /* Back on the same port (empty script cache): NOSCRIPT is handled transparently. */
    start_server();
    RUN_UNTIL(c.ups == 2, 5000);
    assert_int_equal(c.ups, 2);
    memset(&t, 0, sizeof(t));
    assert_int_equal(gw_rl_sliding_log(r, "rate-limit-down", 5, 10, false, on_result, &t), TK_OK);
    assert_int_equal(gw_quota_check(r, "quota-down", 5, 60, on_result, &t), TK_OK);
    RUN_UNTIL(t.done == 2, 3000);
    assert_int_equal(t.admitted, 2);
    assert_int_equal(t.unavailable, 0);
    release(r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_redis_deadline("test_gw_limits", 110);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_drl),
        cmocka_unit_test_setup_teardown(test_sliding_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_gateways_share_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noscript_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_never_renews_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_combined_one_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_and_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
