/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: a private PostgreSQL 15 server (initdb into a temp dir, a free loopback port,
 * trust authentication), run as the `postgres` user when the tests run as root. */
#ifndef TEST_PG_SERVER_H
#define TEST_PG_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct test_pg {
    char dir[128]; /* temp dir: data/ and the unix socket live here */
    char data[160];
    int port;
    pid_t pid;          /* the postmaster, 0 when stopped */
    char conninfo[256]; /* "host=127.0.0.1 port=N user=postgres dbname=postgres sslmode=disable" */
} test_pg_t;

/** Creates the cluster (initdb) and picks a port; fails the test on error. */
void test_pg_init(test_pg_t *pg);
/** Starts the server and waits until it accepts connections. */
void test_pg_start(test_pg_t *pg);
/** Fast shutdown, as `pg_ctl stop -m fast`: clients are disconnected. Data is kept. */
void test_pg_stop(test_pg_t *pg);
/** Stops the server and removes its directory. */
void test_pg_destroy(test_pg_t *pg);

#endif
