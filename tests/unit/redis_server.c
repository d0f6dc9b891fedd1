/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: private redis-server processes on free loopback ports, killed whatever happens. */
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

#include <time.h>

#include "redis_server.h"

/* ---- redis-server processes ---------------------------------------------------------------- */

#define MAX_SERVERS 4

static pid_t servers[MAX_SERVERS]; /* every live child, so atexit/alarm can always kill it */
static const char *test_name = "test";

static void track(pid_t pid)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i] == 0) {
            servers[i] = pid;
            return;
        }
    }
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i] == pid)
            servers[i] = 0;
}

void test_redis_kill_all(void)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i] > 0) {
            kill(servers[i], SIGKILL);
            waitpid(servers[i], NULL, 0);
            servers[i] = 0;
        }
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = ": hard deadline reached, aborting\n";
    ssize_t w = write(STDERR_FILENO, test_name, strlen(test_name));
    w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i] > 0)
            kill(servers[i], SIGKILL);
    _exit(1);
}

/* Binds port 0 on loopback to let the kernel pick a free port, then releases it. */
int test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* True once something on @port answers PING with any RESP line (+PONG or -NOAUTH). */
bool test_redis_answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && write(fd, "PING\r\n", 6) == 6) {
        char c = 0;
        ok = read(fd, &c, 1) == 1 && (c == '+' || c == '-');
    }
    close(fd);
    return ok;
}

pid_t test_redis_start(int port, const char *password)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Dies with us even when a sanitizer abort skips atexit and the group teardown. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        const char *argv[16] = {
            "redis-server", "--port", portstr,        "--bind", "127.0.0.1",
            "--save",       "",       "--appendonly", "no",     "--enable-debug-command",
            "local"};
        int argc = 11;
        if (password) {
            argv[argc++] = "--requirepass";
            argv[argc++] = password;
        }
        argv[argc] = NULL;
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    track(pid);
    for (int i = 0; i < 250; i++) {
        if (test_redis_answers(port))
            return pid;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            untrack(pid);
            fail_msg("redis-server exited early (status %d)", status);
        }
        usleep(20000);
    }
    fail_msg("redis-server on port %d did not answer", port);
    return -1;
}

void test_redis_stop(pid_t pid, int sig)
{
    kill(pid, sig);
    waitpid(pid, NULL, 0);
    untrack(pid);
}

void test_redis_deadline(const char *name, unsigned seconds)
{
    test_name = name;
    signal(SIGALRM, on_alarm);
    alarm(seconds);
    atexit(test_redis_kill_all);
}

struct event_base *test_base;
static struct event *tick;

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    (void)arg;
}

struct event_base *test_loop_start(void)
{
    test_base = event_base_new();
    tick = event_new(test_base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 10000};
    event_add(tick, &tv);
    return test_base;
}

void test_loop_stop(void)
{
    event_free(tick);
    event_base_free(test_base);
    tick = NULL;
    test_base = NULL;
}

uint64_t test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void run_for(int ms)
{
    RUN_UNTIL(false, ms);
}
