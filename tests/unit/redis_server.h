/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: start and stop private redis-server processes for unit tests. */
#ifndef TEST_REDIS_SERVER_H
#define TEST_REDIS_SERVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/** A loopback port the kernel just handed out (bound, then released). */
int test_free_port(void);
/** True once something on @port answers PING with a RESP line (+PONG or -NOAUTH). */
bool test_redis_answers(int port);
/** Starts redis-server on @port (optional requirepass); fails the test if it does not answer. */
pid_t test_redis_start(int port, const char *password);
/** Stops one server with @sig and reaps it. */
void test_redis_stop(pid_t pid, int sig);
/** Kills every server started here. */
void test_redis_kill_all(void);
/** Aborts the whole test binary after @seconds (killing the servers); also kills them at exit. */
void test_redis_deadline(const char *name, unsigned seconds);

/* ---- driving a libevent loop in tests ---- */

extern struct event_base *test_base;

/** Creates test_base with a 10 ms tick, so every loop iteration is bounded. */
struct event_base *test_loop_start(void);
void test_loop_stop(void);
uint64_t test_now_ms(void);

/** Runs test_base until @cond holds or @ms pass: a broken client can never hang a test. */
#define RUN_UNTIL(cond, ms)                                                                        \
    do {                                                                                           \
        uint64_t dl_ = test_now_ms() + (uint64_t)(ms);                                             \
        while (!(cond) && test_now_ms() < dl_)                                                     \
            event_base_loop(test_base, EVLOOP_ONCE);                                               \
    } while (0)

/** Runs the loop for @ms. */
void run_for(int ms);

#endif
