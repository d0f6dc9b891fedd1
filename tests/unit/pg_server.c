/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: a private PostgreSQL server in a temp dir, always stopped and removed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <libpq-fe.h>

#include "pg_server.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"

static test_pg_t *live[4]; /* servers to kill at exit whatever happens */

static void kill_live(void)
{
    for (int i = 0; i < 4; i++) {
        if (live[i] && live[i]->pid > 0) {
            kill(live[i]->pid, SIGQUIT); /* immediate shutdown, children too */
            waitpid(live[i]->pid, NULL, 0);
            live[i]->pid = 0;
        }
    }
}

static void track(test_pg_t *pg)
{
    static bool registered;
    if (!registered) {
        atexit(kill_live);
        registered = true;
    }
    for (int i = 0; i < 4; i++) {
        if (live[i] == pg)
            return;
        if (!live[i]) {
            live[i] = pg;
            return;
        }
    }
}

static int free_port(void)
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

/* PostgreSQL refuses to run as root: children drop to the `postgres` user first. */
static void drop_root(void)
{
    if (geteuid() != 0)
        return;
    struct passwd *pw = getpwnam("postgres");
    if (!pw)
        _exit(126);
    if (initgroups("postgres", pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        _exit(126);
}

static pid_t spawn(char *const argv[], const char *logpath, bool die_with_us)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        drop_root();
        if (die_with_us) /* after setuid, which clears it */
            prctl(PR_SET_PDEATHSIG, SIGQUIT);
        int fd = open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, STDIN_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

void test_pg_init(test_pg_t *pg)
{
    memset(pg, 0, sizeof(*pg));
    snprintf(pg->dir, sizeof(pg->dir), "/tmp/turnpike-pg-XXXXXX");
    assert_non_null(mkdtemp(pg->dir));
    chmod(pg->dir, 0755);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        assert_non_null(pw);
        assert_int_equal(chown(pg->dir, pw->pw_uid, pw->pw_gid), 0);
    }
    snprintf(pg->data, sizeof(pg->data), "%s/data", pg->dir);
    char log[200];
    snprintf(log, sizeof(log), "%s/initdb.log", pg->dir);
    char *argv[] = {PG_BIN "/initdb", "-D",        pg->data, "-A",   "trust", "-U",
                    "postgres",       "--no-sync", "-E",     "UTF8", NULL};
    pid_t pid = spawn(argv, log, false);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("initdb failed (status %d), see %s", status, log);
    pg->port = free_port();
    snprintf(pg->conninfo, sizeof(pg->conninfo),
             "host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", pg->port);
}

void test_pg_start(test_pg_t *pg)
{
    char port[16], log[200], listen[] = "listen_addresses=127.0.0.1";
    snprintf(port, sizeof(port), "%d", pg->port);
    snprintf(log, sizeof(log), "%s/postgres.log", pg->dir);
    char *argv[] = {
        PG_BIN "/postgres",   "-D", pg->data, "-p", port, "-k", pg->dir, "-c", listen, "-c",
        "max_connections=20", NULL};
    pg->pid = spawn(argv, log, true);
    track(pg);
    for (int i = 0; i < 300; i++) {
        if (PQping(pg->conninfo) == PQPING_OK)
            return;
        int status;
        if (waitpid(pg->pid, &status, WNOHANG) == pg->pid) {
            pg->pid = 0;
            fail_msg("postgres exited early (status %d), see %s", status, log);
        }
        usleep(50000);
    }
    fail_msg("postgres on port %d did not come up, see %s", pg->port, log);
}

void test_pg_stop(test_pg_t *pg)
{
    if (pg->pid <= 0)
        return;
    kill(pg->pid, SIGINT); /* "fast" shutdown */
    waitpid(pg->pid, NULL, 0);
    pg->pid = 0;
}

void test_pg_destroy(test_pg_t *pg)
{
    test_pg_stop(pg);
    if (pg->dir[0]) {
        char *argv[] = {"/bin/rm", "-rf", pg->dir, NULL};
        pid_t pid = fork();
        if (pid == 0) {
            execv(argv[0], argv);
            _exit(127);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
        pg->dir[0] = '\0';
    }
}
