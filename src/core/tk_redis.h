/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Asynchronous Redis client on libevent: RESP over our own connections, hiredis used only as
 * the reply parser (redisReader) and command formatter. One client = one connection owned by
 * one event_base (one thread). Pipelining is natural: commands queue in order, replies are
 * matched in order. Reconnects with exponential backoff; commands issued while disconnected
 * fail immediately with a NULL reply so callers never hang.
 */
#ifndef TK_REDIS_H
#define TK_REDIS_H

#include "tk_common.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>

typedef struct tk_redis tk_redis_t;

typedef struct tk_redis_opts {
    const char *host;       /* default "127.0.0.1" */
    int port;               /* default 6379 */
    const char *username;   /* ACL user, "" = none */
    const char *password;   /* "" = no AUTH */
    int database;           /* SELECT n when > 0 */
    int connect_timeout_ms; /* default 5000 */
    int command_timeout_ms; /* default 5000; a command without a reply by then fails */
    int backoff_min_ms;     /* default 100 */
    int backoff_max_ms;     /* default 5000 */
} tk_redis_opts_t;

/**
 * Reply callback. @reply is NULL when the command failed (not connected, timeout, connection
 * lost); it is owned by the client and freed after the callback returns.
 */
typedef void (*tk_redis_cb)(tk_redis_t *r, redisReply *reply, void *arg);

/** Connection state callback: @up is true after connect + AUTH + SELECT succeed. */
typedef void (*tk_redis_state_cb)(tk_redis_t *r, bool up, void *arg);

/**
 * Creates a client and starts connecting. @opts may be NULL; zero fields take the defaults
 * above and the options' strings are copied. The first connection attempt starts from the
 * loop, so no callback runs before this returns. The client must only be used from @base's
 * thread. The process must ignore SIGPIPE (libevent writes to sockets with writev).
 */
tk_redis_t *tk_redis_new(struct event_base *base, const tk_redis_opts_t *opts,
                         tk_redis_state_cb on_state, void *state_arg);
/**
 * Closes the connection; pending callbacks are called with NULL (the state callback is not
 * called). NULL is accepted. Safe to call from inside any of the client's own callbacks: the
 * client is then destroyed once that callback returns to the client, and until then every
 * command fails with TK_ERROR. A second call for the same client is ignored.
 */
void tk_redis_free(tk_redis_t *r);

/** True between the state callback's up=true and up=false (commands are then accepted). */
bool tk_redis_connected(const tk_redis_t *r);

/** Sends a command (argv form). Returns TK_OK if queued, TK_ERROR if not connected (the
 *  callback is then NOT called). @cb may be NULL to ignore the reply. */
int tk_redis_cmd_argv(tk_redis_t *r, tk_redis_cb cb, void *arg, int argc, const char **argv,
                      const size_t *argvlen);
/** Sends one command already in RESP form (exactly one "*<n>\r\n..." array; the caller
 *  formats it, e.g. for large pipelined writes). Same contract as tk_redis_cmd_argv. */
int tk_redis_cmd_resp(tk_redis_t *r, tk_redis_cb cb, void *arg, const void *resp, size_t len);

/** printf-style command as hiredis's redisFormatCommand understands it ("SET %s %b"). */
int tk_redis_cmd(tk_redis_t *r, tk_redis_cb cb, void *arg, const char *fmt, ...);

/**
 * Subscribes this client to @channel (the client then only receives messages). @on_message is
 * called for every message; after a reconnect the subscription is renewed automatically.
 * Subscribing while disconnected is allowed (SUBSCRIBE is sent when the client comes up);
 * subscribing again to the same channel replaces the callback. @channel is copied. Returns
 * TK_OK, or TK_ERROR for a NULL/empty channel or a client being freed. Once subscribed, only
 * (UN)SUBSCRIBE/PING-like commands are valid on this client (RESP2 rules).
 */
typedef void (*tk_redis_msg_cb)(tk_redis_t *r, const char *channel, const char *msg, size_t len,
                                void *arg);
int tk_redis_subscribe(tk_redis_t *r, const char *channel, tk_redis_msg_cb on_message, void *arg);

/** Counters of one client, for metrics and tests. */
typedef struct tk_redis_stats {
    uint64_t commands;    /* user commands queued */
    uint64_t replies;     /* replies delivered to callbacks (internal ones included) */
    uint64_t failed;      /* callbacks completed with NULL */
    uint64_t timeouts;    /* connections dropped because a command timed out */
    uint64_t connects;    /* times the client came up */
    uint64_t disconnects; /* times an up connection went down */
    uint64_t messages;    /* pub/sub messages delivered */
    size_t pending;       /* commands waiting for a reply right now */
} tk_redis_stats_t;

/** Copies the client's counters into @out. */
void tk_redis_get_stats(const tk_redis_t *r, tk_redis_stats_t *out);

#endif
