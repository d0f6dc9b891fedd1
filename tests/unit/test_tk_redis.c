/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for tk_redis against real redis-server processes started on free loopback ports. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "tk_log.h"
#include "tk_redis.h"

#include "redis_server.h"

static int main_port;
static pid_t main_pid;

/* ---- event loop driving ---------------------------------------------------------------------- */

static struct event_base *base;

static int setup(void **state)
{
    (void)state;
    base = test_loop_start();
    return 0;
}

static void release_all(void);

static int teardown(void **state)
{
    (void)state;
    release_all();
    test_loop_stop();
    base = NULL;
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    main_port = test_free_port();
    main_pid = test_redis_start(main_port, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_kill_all();
    return 0;
}

/* ---- client helpers -------------------------------------------------------------------------- */

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

/* A copy of one reply, so assertions can run after the client freed it. */
struct rep {
    int calls;
    bool null;
    int type;
    long long integer;
    size_t len;
    char str[512];
    size_t elements;
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
    if (reply->str) {
        o->len = reply->len;
        memcpy(o->str, reply->str, TK_MIN(reply->len, sizeof(o->str) - 1));
        o->str[TK_MIN(reply->len, sizeof(o->str) - 1)] = '\0';
    }
}

/* Clients a test has not released yet: teardown frees them when an assertion aborts a test
 * halfway, so one failure is not followed by a wall of leak reports. */
static tk_redis_t *live[8];

static void forget(tk_redis_t *r)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(live); i++)
        if (live[i] == r)
            live[i] = NULL;
}

static void release(tk_redis_t *r)
{
    forget(r);
    tk_redis_free(r);
}

static void release_all(void)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(live); i++)
        release(live[i]);
}

static tk_redis_t *client_opts(tk_redis_opts_t *o, struct conn_ctx *c)
{
    if (!o->port)
        o->port = main_port;
    tk_redis_t *r = tk_redis_new(base, o, on_state, c);
    assert_non_null(r);
    for (size_t i = 0; i < TK_ARRAY_LEN(live); i++) {
        if (!live[i]) {
            live[i] = r;
            break;
        }
    }
    return r;
}

static tk_redis_t *client(struct conn_ctx *c)
{
    tk_redis_opts_t o = {.host = "127.0.0.1", .backoff_min_ms = 50, .backoff_max_ms = 400};
    tk_redis_t *r = client_opts(&o, c);
    RUN_UNTIL(c->ups == 1, 3000);
    assert_int_equal(c->ups, 1);
    assert_true(tk_redis_connected(r));
    return r;
}

/* Sends one printf-style command and waits for its reply. */
#define CMD(r, o, ...)                                                                             \
    do {                                                                                           \
        memset((o), 0, sizeof(*(o)));                                                              \
        assert_int_equal(tk_redis_cmd((r), on_reply, (o), __VA_ARGS__), TK_OK);                    \
        RUN_UNTIL((o)->calls == 1, 3000);                                                          \
        assert_int_equal((o)->calls, 1);                                                           \
    } while (0)

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_not_connected_fails_fast(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_opts_t o = {.host = "localhost"};
    tk_redis_t *r = client_opts(&o, &c);
    struct rep rp = {0};
    /* Nothing happens before the loop runs: not connected, callback never called. */
    assert_false(tk_redis_connected(r));
    assert_int_equal(tk_redis_cmd(r, on_reply, &rp, "PING"), TK_ERROR);
    RUN_UNTIL(c.ups == 1, 3000);
    assert_int_equal(c.ups, 1);
    assert_int_equal(rp.calls, 0);
    CMD(r, &rp, "PING");
    assert_int_equal(rp.type, REDIS_REPLY_STATUS);
    assert_string_equal(rp.str, "PONG");
    release(r);
    assert_int_equal(c.downs, 0); /* freeing does not report a state change */
}

static void test_set_get_incr(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep rp;
    CMD(r, &rp, "SET %s %s", "tk:greeting", "hello world");
    assert_int_equal(rp.type, REDIS_REPLY_STATUS);
    assert_string_equal(rp.str, "OK");
    CMD(r, &rp, "GET %s", "tk:greeting");
    assert_int_equal(rp.type, REDIS_REPLY_STRING);
    assert_string_equal(rp.str, "hello world");
    CMD(r, &rp, "DEL tk:counter");
    CMD(r, &rp, "INCR tk:counter");
    assert_int_equal(rp.type, REDIS_REPLY_INTEGER);
    assert_int_equal(rp.integer, 1);
    CMD(r, &rp, "GET tk:missing");
    assert_int_equal(rp.type, REDIS_REPLY_NIL);

    const char *argv[] = {"INCRBY", "tk:counter", "41"};
    memset(&rp, 0, sizeof(rp));
    assert_int_equal(tk_redis_cmd_argv(r, on_reply, &rp, 3, argv, NULL), TK_OK);
    RUN_UNTIL(rp.calls == 1, 3000);
    assert_int_equal(rp.integer, 42);

    assert_int_equal(tk_redis_cmd(r, on_reply, &rp, ""), TK_ERROR);
    assert_int_equal(tk_redis_cmd_argv(r, on_reply, &rp, 0, NULL, NULL), TK_ERROR);
    CMD(r, &rp, "NOSUCHCOMMAND");
    assert_int_equal(rp.type, REDIS_REPLY_ERROR);
    release(r);
}

struct pipe_ctx {
    int next;
    int in_order;
};

static void on_pipe_reply(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)r;
    struct pipe_ctx *p = arg;
    p->next++;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == p->next)
        p->in_order++;
}

static void test_pipeline_1000(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep rp;
    CMD(r, &rp, "DEL tk:pipe");
    struct pipe_ctx p = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tk_redis_cmd(r, on_pipe_reply, &p, "INCR tk:pipe"), TK_OK);
    tk_redis_stats_t st;
    tk_redis_get_stats(r, &st);
    assert_int_equal(st.pending, 1000);
    RUN_UNTIL(p.next == 1000, 5000);
    assert_int_equal(p.next, 1000);
    assert_int_equal(p.in_order, 1000);
    tk_redis_get_stats(r, &st);
    assert_int_equal(st.pending, 0);
    release(r);
}

static void test_binary_safe(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    const char val[] = {'a', '\0', '\r', '\n', (char)0xff, ' ', '$', '*', '\0', 'z'};
    const char key[] = {'k', ' ', '\0', 'y'};
    struct rep rp;
    CMD(r, &rp, "SET %b %b", key, sizeof(key), val, sizeof(val));
    assert_string_equal(rp.str, "OK");
    CMD(r, &rp, "GET %b", key, sizeof(key));
    assert_int_equal(rp.type, REDIS_REPLY_STRING);
    assert_int_equal(rp.len, sizeof(val));
    assert_memory_equal(rp.str, val, sizeof(val));
    CMD(r, &rp, "STRLEN %b", key, sizeof(key));
    assert_int_equal(rp.integer, (long long)sizeof(val));

    /* The argv form with explicit lengths is binary-safe too. */
    const char *argv[] = {"SET", key, val};
    size_t lens[] = {3, sizeof(key), 3};
    memset(&rp, 0, sizeof(rp));
    assert_int_equal(tk_redis_cmd_argv(r, on_reply, &rp, 3, argv, lens), TK_OK);
    RUN_UNTIL(rp.calls == 1, 3000);
    CMD(r, &rp, "GET %b", key, sizeof(key));
    assert_int_equal(rp.len, 3);
    assert_memory_equal(rp.str, "a\0\r", 3);
    release(r);
}

static void test_auth(void **state)
{
    (void)state;
    int port = test_free_port();
    pid_t pid = test_redis_start(port, "s3cret pass");

    /* Right password. */
    struct conn_ctx c = {0};
    tk_redis_opts_t o = {.port = port, .password = "s3cret pass"};
    tk_redis_t *r = client_opts(&o, &c);
    RUN_UNTIL(c.ups == 1, 3000);
    assert_int_equal(c.ups, 1);
    struct rep rp;
    CMD(r, &rp, "PING");
    assert_string_equal(rp.str, "PONG");

    /* ACL user with username + password. */
    CMD(r, &rp, "ACL SETUSER alice on >wonderland ~* &* +@all");
    assert_string_equal(rp.str, "OK");
    struct conn_ctx c2 = {0};
    tk_redis_opts_t o2 = {.port = port, .username = "alice", .password = "wonderland"};
    tk_redis_t *r2 = client_opts(&o2, &c2);
    RUN_UNTIL(c2.ups == 1, 3000);
    assert_int_equal(c2.ups, 1);
    CMD(r2, &rp, "ACL WHOAMI");
    assert_string_equal(rp.str, "alice");
    release(r2);

    /* Wrong password: never up, commands refused, no state callbacks at all. */
    struct conn_ctx c3 = {0};
    tk_redis_opts_t o3 = {
        .port = port, .password = "wrong", .backoff_min_ms = 50, .backoff_max_ms = 100};
    tk_redis_t *r3 = client_opts(&o3, &c3);
    run_for(800);
    assert_int_equal(c3.ups, 0);
    assert_int_equal(c3.downs, 0);
    assert_false(tk_redis_connected(r3));
    memset(&rp, 0, sizeof(rp));
    assert_int_equal(tk_redis_cmd(r3, on_reply, &rp, "PING"), TK_ERROR);
    run_for(50);
    assert_int_equal(rp.calls, 0);
    tk_redis_stats_t st;
    tk_redis_get_stats(r3, &st);
    assert_int_equal(st.connects, 0);
    release(r3);

    /* No password against requirepass: up (no handshake), but the server refuses commands. */
    struct conn_ctx c4 = {0};
    tk_redis_opts_t o4 = {.port = port};
    tk_redis_t *r4 = client_opts(&o4, &c4);
    RUN_UNTIL(c4.ups == 1, 3000);
    CMD(r4, &rp, "GET x");
    assert_int_equal(rp.type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(rp.str, "NOAUTH"));
    release(r4);

    release(r);
    test_redis_stop(pid, SIGTERM);
}

static void test_select(void **state)
{
    (void)state;
    struct conn_ctx c3 = {0}, c0 = {0};
    tk_redis_opts_t o3 = {.database = 3};
    tk_redis_t *r3 = client_opts(&o3, &c3);
    tk_redis_opts_t o0 = {0};
    tk_redis_t *r0 = client_opts(&o0, &c0);
    RUN_UNTIL(c3.ups == 1 && c0.ups == 1, 3000);
    assert_int_equal(c3.ups + c0.ups, 2);
    struct rep rp;
    CMD(r0, &rp, "DEL tk:db");
    CMD(r3, &rp, "SET tk:db three");
    CMD(r3, &rp, "GET tk:db");
    assert_string_equal(rp.str, "three");
    CMD(r0, &rp, "GET tk:db");
    assert_int_equal(rp.type, REDIS_REPLY_NIL);
    CMD(r0, &rp, "SELECT 3");
    CMD(r0, &rp, "GET tk:db");
    assert_string_equal(rp.str, "three");
    /* The SELECT reply of the handshake must not have leaked into user callbacks. */
    tk_redis_stats_t st;
    tk_redis_get_stats(r3, &st);
    assert_int_equal(st.commands, 2);
    assert_int_equal(st.replies, 3);
    release(r3);
    release(r0);

    /* A database the server does not have: SELECT fails, the client never comes up. */
    struct conn_ctx cbad = {0};
    tk_redis_opts_t obad = {.database = 5000, .backoff_min_ms = 50};
    tk_redis_t *rbad = client_opts(&obad, &cbad);
    run_for(300);
    assert_int_equal(cbad.ups, 0);
    release(rbad);
}

static void test_eval(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep rp;
    CMD(r, &rp, "DEL tk:lua");
    CMD(r, &rp, "EVAL %s 1 %s %s", "return redis.call('INCRBY', KEYS[1], ARGV[1]) * 2", "tk:lua",
        "21");
    assert_int_equal(rp.type, REDIS_REPLY_INTEGER);
    assert_int_equal(rp.integer, 42);
    CMD(r, &rp, "EVAL %s 0", "return {1, 'two', 3}");
    assert_int_equal(rp.type, REDIS_REPLY_ARRAY);
    assert_int_equal(rp.elements, 3);
    CMD(r, &rp, "EVAL %s 0", "return redis.error_reply('boom')");
    assert_int_equal(rp.type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(rp.str, "boom"));
    release(r);
}

static void test_server_killed_and_restarted(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    struct rep blocked = {0}, after = {0};
    /* BLPOP parks the command server-side, so it is certainly in flight at the kill. */
    assert_int_equal(tk_redis_cmd(r, on_reply, &blocked, "BLPOP tk:never 10"), TK_OK);
    assert_int_equal(tk_redis_cmd(r, on_reply, &after, "PING"), TK_OK);
    run_for(100);
    assert_int_equal(blocked.calls, 0);

    test_redis_stop(main_pid, SIGKILL);
    RUN_UNTIL(c.downs == 1 && blocked.calls == 1 && after.calls == 1, 3000);
    assert_int_equal(c.downs, 1);
    assert_int_equal(blocked.calls, 1);
    assert_true(blocked.null);
    assert_int_equal(after.calls, 1);
    assert_true(after.null);
    assert_false(tk_redis_connected(r));
    struct rep rp = {0};
    assert_int_equal(tk_redis_cmd(r, on_reply, &rp, "PING"), TK_ERROR);

    /* Let a few reconnect attempts fail, then bring the server back on the same port. */
    run_for(300);
    assert_int_equal(c.downs, 1); /* one transition, however many failed attempts */
    main_pid = test_redis_start(main_port, NULL);
    RUN_UNTIL(c.ups == 2, 5000);
    assert_int_equal(c.ups, 2);
    CMD(r, &rp, "SET tk:after restart");
    assert_string_equal(rp.str, "OK");
    CMD(r, &rp, "GET tk:after");
    assert_string_equal(rp.str, "restart");
    tk_redis_stats_t st;
    tk_redis_get_stats(r, &st);
    assert_int_equal(st.connects, 2);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.failed, 2);
    release(r);
}

static void test_command_timeout(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_opts_t o = {.command_timeout_ms = 500, .backoff_min_ms = 50, .backoff_max_ms = 200};
    tk_redis_t *r = client_opts(&o, &c);
    RUN_UNTIL(c.ups == 1, 3000);
    assert_int_equal(c.ups, 1);

    struct rep rp = {0};
    uint64_t t0 = tk_now_ms();
    assert_int_equal(tk_redis_cmd(r, on_reply, &rp, "DEBUG SLEEP 2"), TK_OK);
    RUN_UNTIL(rp.calls == 1, 3000);
    uint64_t took = tk_now_ms() - t0;
    assert_int_equal(rp.calls, 1);
    assert_true(rp.null);
    assert_true(took >= 450 && took < 1500);
    assert_int_equal(c.downs, 1);
    tk_redis_stats_t st;
    tk_redis_get_stats(r, &st);
    assert_int_equal(st.timeouts, 1);

    /* The server is still asleep for a while, so early PINGs may time out as well; the client
     * must get back to a working connection on its own. */
    bool pong = false;
    uint64_t dl = tk_now_ms() + 8000;
    while (!pong && tk_now_ms() < dl) {
        RUN_UNTIL(tk_redis_connected(r), 1000);
        memset(&rp, 0, sizeof(rp));
        if (tk_redis_cmd(r, on_reply, &rp, "PING") != TK_OK)
            continue;
        RUN_UNTIL(rp.calls == 1, 2000);
        pong = rp.calls == 1 && !rp.null && strcmp(rp.str, "PONG") == 0;
    }
    assert_true(pong);
    release(r);
}

static void test_timeout_blocking_command(void **state)
{
    (void)state;
    /* Same as above with a server that stays responsive: recovery is immediate. */
    struct conn_ctx c = {0};
    tk_redis_opts_t o = {.command_timeout_ms = 300, .backoff_min_ms = 20};
    tk_redis_t *r = client_opts(&o, &c);
    RUN_UNTIL(c.ups == 1, 3000);
    struct rep rp = {0}, queued = {0};
    assert_int_equal(tk_redis_cmd(r, on_reply, &rp, "BLPOP tk:never 5"), TK_OK);
    assert_int_equal(tk_redis_cmd(r, on_reply, &queued, "PING"), TK_OK);
    RUN_UNTIL(rp.calls == 1 && queued.calls == 1, 2000);
    assert_true(rp.null);
    assert_true(queued.null); /* stuck behind the timed-out one on the same connection */
    RUN_UNTIL(c.ups == 2, 2000);
    assert_int_equal(c.ups, 2);
    CMD(r, &rp, "PING");
    assert_string_equal(rp.str, "PONG");
    release(r);
}

struct msg_ctx {
    int count;
    char channel[64];
    char payload[64];
    size_t len;
};

static void on_message(tk_redis_t *r, const char *channel, const char *msg, size_t len, void *arg)
{
    (void)r;
    struct msg_ctx *m = arg;
    m->count++;
    snprintf(m->channel, sizeof(m->channel), "%s", channel);
    m->len = len;
    memcpy(m->payload, msg, TK_MIN(len, sizeof(m->payload)));
}

struct numsub {
    long long n;
    int done;
};

/* PUBSUB NUMSUB replies [channel, count]. */
static void on_numsub(tk_redis_t *r, redisReply *reply, void *arg)
{
    (void)r;
    struct numsub *ns = arg;
    ns->done = 1;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
        ns->n = reply->element[1]->integer;
}

/* Polls PUBSUB NUMSUB through @pub until @channel has @want subscribers. */
static void wait_numsub(tk_redis_t *pub, const char *channel, long long want)
{
    uint64_t dl = tk_now_ms() + 3000;
    for (;;) {
        struct numsub ns = {-1, 0};
        assert_int_equal(tk_redis_cmd(pub, on_numsub, &ns, "PUBSUB NUMSUB %s", channel), TK_OK);
        RUN_UNTIL(ns.done, 2000);
        if (ns.n == want)
            return;
        assert_true(tk_now_ms() < dl);
        run_for(20);
    }
}

static void test_subscribe(void **state)
{
    (void)state;
    struct conn_ctx cs = {0};
    struct msg_ctx m = {0}, other = {0};
    tk_redis_opts_t os = {0};
    tk_redis_t *sub = client_opts(&os, &cs);
    /* Subscribing before the connection is up is allowed and takes effect on connect. */
    assert_int_equal(tk_redis_subscribe(sub, "tk:news", on_message, &m), TK_OK);
    RUN_UNTIL(cs.ups == 1, 3000);
    assert_int_equal(tk_redis_subscribe(sub, "tk:other", on_message, &other), TK_OK);

    struct conn_ctx cp = {0};
    tk_redis_t *pub = client(&cp);
    wait_numsub(pub, "tk:news", 1);
    wait_numsub(pub, "tk:other", 1);

    struct rep rp;
    CMD(pub, &rp, "PUBLISH tk:news %b", "hi\0there", (size_t)8);
    assert_int_equal(rp.integer, 1);
    RUN_UNTIL(m.count == 1, 3000);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.channel, "tk:news");
    assert_int_equal(m.len, 8);
    assert_memory_equal(m.payload, "hi\0there", 8);
    assert_int_equal(other.count, 0);

    CMD(pub, &rp, "PUBLISH tk:other %s", "x");
    RUN_UNTIL(other.count == 1, 3000);
    assert_int_equal(other.count, 1);
    assert_int_equal(m.count, 1);

    tk_redis_stats_t st;
    tk_redis_get_stats(sub, &st);
    assert_int_equal(st.messages, 2);
    assert_int_equal(st.pending, 0);
    release(sub);
    release(pub);
}

static void test_resubscribe_after_restart(void **state)
{
    (void)state;
    struct conn_ctx cs = {0}, cp = {0};
    struct msg_ctx m = {0};
    tk_redis_t *sub = client(&cs);
    assert_int_equal(tk_redis_subscribe(sub, "tk:events", on_message, &m), TK_OK);
    tk_redis_t *pub = client(&cp);
    wait_numsub(pub, "tk:events", 1);

    test_redis_stop(main_pid, SIGKILL);
    RUN_UNTIL(cs.downs == 1 && cp.downs == 1, 3000);
    assert_int_equal(cs.downs, 1);
    assert_int_equal(cp.downs, 1);
    main_pid = test_redis_start(main_port, NULL);
    RUN_UNTIL(cs.ups == 2 && cp.ups == 2, 5000);
    assert_int_equal(cs.ups, 2);
    assert_int_equal(cp.ups, 2);

    wait_numsub(pub, "tk:events", 1);
    struct rep rp;
    CMD(pub, &rp, "PUBLISH tk:events %s", "back");
    assert_int_equal(rp.integer, 1);
    RUN_UNTIL(m.count == 1, 3000);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.channel, "tk:events");
    assert_memory_equal(m.payload, "back", 4);
    release(sub);
    release(pub);
}

struct free_ctx {
    tk_redis_t *r;
    int calls, nulls;
};

static void on_reply_free(tk_redis_t *r, redisReply *reply, void *arg)
{
    struct free_ctx *f = arg;
    f->calls++;
    if (!reply)
        f->nulls++;
    if (f->calls == 1) {
        tk_redis_free(r);
        /* Still valid until we return, but refuses new work. */
        assert_false(tk_redis_connected(r));
        assert_int_equal(tk_redis_cmd(r, on_reply_free, f, "PING"), TK_ERROR);
        tk_redis_free(r); /* second call ignored */
    }
}

static void test_free_inside_reply_callback(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_t *r = client(&c);
    forget(r); /* freed by its own callback */
    struct free_ctx f = {.r = r};
    for (int i = 0; i < 5; i++)
        assert_int_equal(tk_redis_cmd(r, on_reply_free, &f, "PING"), TK_OK);
    RUN_UNTIL(f.calls == 5, 3000);
    assert_int_equal(f.calls, 5);
    assert_int_equal(f.nulls, 4); /* the first got PONG, the rest were failed by the free */
    assert_int_equal(c.downs, 0);
    run_for(50); /* nothing may fire on the freed client (ASan would catch it) */
}

static void on_state_free(tk_redis_t *r, bool up, void *arg)
{
    int *n = arg;
    (*n)++;
    if (up)
        tk_redis_free(r);
}

static void test_free_inside_state_callback(void **state)
{
    (void)state;
    int n = 0;
    tk_redis_opts_t o = {.port = main_port, .database = 1};
    tk_redis_t *r = tk_redis_new(base, &o, on_state_free, &n);
    assert_non_null(r);
    RUN_UNTIL(n == 1, 3000);
    assert_int_equal(n, 1);
    run_for(50);
    assert_int_equal(n, 1);
}

static void test_hostname_via_evdns(void **state)
{
    (void)state;
    /* Needs a name other than "localhost" that resolves to 127.0.0.1 without a DNS server;
     * containers usually map their hostname in /etc/hosts, which evdns reads. */
    char name[256] = {0};
    if (gethostname(name, sizeof(name) - 1) != 0 || !name[0])
        skip();
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(name, NULL, &hints, &ai) != 0)
        skip();
    bool loopback = ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr == htonl(0x7f000001);
    freeaddrinfo(ai);
    if (!loopback)
        skip();

    struct conn_ctx c = {0};
    tk_redis_opts_t o = {.host = name, .port = main_port};
    tk_redis_t *r = client_opts(&o, &c);
    RUN_UNTIL(c.ups == 1, 3000);
    assert_int_equal(c.ups, 1);
    struct rep rp;
    CMD(r, &rp, "PING");
    assert_string_equal(rp.str, "PONG");
    release(r);
}

static void test_connect_refused(void **state)
{
    (void)state;
    struct conn_ctx c = {0};
    tk_redis_opts_t o = {.port = test_free_port(), .backoff_min_ms = 10, .backoff_max_ms = 40};
    tk_redis_t *r = client_opts(&o, &c);
    run_for(300);
    assert_int_equal(c.ups, 0);
    assert_int_equal(c.downs, 0);
    assert_false(tk_redis_connected(r));
    release(r);
}

static void test_connect_timeout(void **state)
{
    (void)state;
    /* A listener that never accepts: TCP completes in the kernel, but AUTH is never answered,
     * so only the connect timeout can end each attempt. Count the attempts. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    socklen_t len = sizeof(sin);
    getsockname(lfd, (struct sockaddr *)&sin, &len);

    struct conn_ctx c = {0};
    tk_redis_opts_t o = {.port = ntohs(sin.sin_port),
                         .password = "x",
                         .connect_timeout_ms = 200,
                         .command_timeout_ms = 10000,
                         .backoff_min_ms = 20,
                         .backoff_max_ms = 20};
    tk_redis_t *r = client_opts(&o, &c);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    /* Accepted sockets stay open (never read): closing them would look like a server EOF. */
    int fds[64];
    int accepted = 0;
    uint64_t dl = tk_now_ms() + 1000;
    while (tk_now_ms() < dl) {
        event_base_loop(base, EVLOOP_ONCE);
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0 && accepted < (int)TK_ARRAY_LEN(fds))
            fds[accepted++] = fd;
        else if (fd >= 0)
            close(fd);
    }
    for (int i = 0; i < accepted; i++)
        close(fds[i]);
    close(lfd);
    /* ~1000 ms / (200 ms timeout + 20 ms backoff) attempts. */
    assert_true(accepted >= 3 && accepted <= 6);
    assert_int_equal(c.ups, 0);
    release(r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_redis_deadline("test_tk_redis", 110);
    tk_log_setup("test_tk_redis", TK_LOG_WARN, TK_LOG_TEXT);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_connected_fails_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_get_incr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_safe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_killed_and_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_blocking_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resubscribe_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_inside_reply_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_inside_state_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostname_via_evdns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
