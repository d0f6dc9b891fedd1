/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: a private influxd 1.x (/usr/bin/influxd) with every directory in a temp dir and
 * every listener on a free loopback port. It can be stopped and started again on the same port
 * and data; influx_server_destroy stops it and removes the directory. */
#ifndef TEST_INFLUX_SERVER_H
#define TEST_INFLUX_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct influx_server {
    char dir[256];
    int http_port;
    int rpc_port; /* the backup/restore listener (bind-address), moved off 8088 */
    pid_t pid;
    char url[64]; /* "http://127.0.0.1:<http_port>" */
} influx_server_t;

/** Makes the temp dir and config, picks ports and starts influxd; fails the test if it does not
 * answer /ping within 30 s. */
void influx_server_init(influx_server_t *s);
/** Starts influxd again (same dir, same ports) after influx_server_stop. */
void influx_server_start(influx_server_t *s);
/** Stops influxd (SIGTERM, then SIGKILL) and reaps it; data stays. */
void influx_server_stop(influx_server_t *s);
/** Stops it and removes the directory. */
void influx_server_destroy(influx_server_t *s);
/** True when GET /ping answers 204. */
bool influx_server_ping(const influx_server_t *s);

#endif
