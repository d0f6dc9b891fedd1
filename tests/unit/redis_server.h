/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: start and stop private redis-server processes for unit tests. */
#ifndef TEST_REDIS_SERVER_H
#define TEST_REDIS_SERVER_H

#include <stdbool.h>
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

#endif
