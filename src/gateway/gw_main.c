/* SPDX-License-Identifier: Apache-2.0 */
/* turnpike-gateway: command line, configuration, start-up and shutdown. */
#include "gw_control_thread.h"
#include "gw_events.h"
#include "gw_jsvm_pool.h"
#include "tk_cli.h"
#include "gw_limits.h"
#include "gw_server.h"
#include "gw_tls.h"

#include "tk_log.h"
#include "tk_version.h"

#include <errno.h>
#include <sched.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: turnpike-gateway [--conf=FILE] [--check] [--version] [--help]\n"
            "\n"
            "A Tyk-compatible API gateway. Reads Tyk's tyk.conf keys (and TYK_GW_* environment\n"
            "overrides) and classic API definitions from app_path.\n"
            "\n"
            "  --conf=FILE           configuration file (default: tyk.conf, then "
            "/etc/tyk/tyk.conf)\n"
            "  --check               load the configuration and every API definition, report\n"
            "                        every problem, and exit (non-zero if any)\n"
            "  --print-config-docs   print the configuration reference (Markdown)\n"
            "  --version             print the version\n"
            "  --help                this text\n"
            "\n"
            "Logs go to standard error (log_level, log_format \"json\" for JSON lines).\n");
}

static const char *default_conf(void)
{
    if (access("tyk.conf", R_OK) == 0)
        return "tyk.conf";
    return "/etc/tyk/tyk.conf";
}

/* turnpike_jsvm_threads, or as many as there will be workers (gw_workers_start's count). */
static unsigned jsvm_threads(const gw_conf_t *conf)
{
    if (conf->turnpike_jsvm_threads > 0)
        return (unsigned)conf->turnpike_jsvm_threads;
    if (conf->turnpike_workers > 0)
        return (unsigned)conf->turnpike_workers;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    return 1;
}

static void write_pid(const char *path)
{
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "w");
    if (!f) {
        tk_log_warn("cannot write pid file %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

int main(int argc, char **argv)
{
    static const tk_cli_spec_t spec = {"turnpike-gateway", usage, gw_conf_write_docs};
    tk_cli_t cli;
    int exit_rc = tk_cli_parse(&spec, argc, argv, &cli);
    if (exit_rc >= 0)
        return exit_rc;
    const char *conf_path = cli.conf_path;
    bool check = cli.check;
    if (!conf_path)
        conf_path = default_conf();

    gw_conf_t *conf = tk_xcalloc(1, sizeof(*conf));
    tk_conf_errors_t errs = {0};
    int rc = gw_conf_load(conf, conf_path, &errs);
    tk_log_setup("gateway", tk_log_level_parse(conf->log_level),
                 conf->log_format && strcmp(conf->log_format, "json") == 0 ? TK_LOG_JSON
                                                                           : TK_LOG_TEXT);
    gw_server_t srv = {.conf = conf, .conf_path = (char *)conf_path};
    if (rc != TK_OK && !check) {
        for (size_t i = 0; i < errs.n; i++)
            tk_log_error("config %s: %s", conf_path, errs.msgs[i]);
        tk_log_error("refusing to start: %zu problem(s) in %s", errs.n, conf_path);
        tk_conf_errors_free(&errs);
        gw_conf_free(conf);
        free(conf);
        return 1;
    }
    if (check) {
        /* Report everything at once: config problems, then every API definition. */
        gw_gen_t *g = gw_gen_build(conf, 1, &errs);
        gw_tls_setup(&srv, &errs);
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "error: %s\n", errs.msgs[i]);
        printf("%s: %zu API definition(s) loaded, %zu problem(s)\n", conf_path, g->napis, errs.n);
        int bad = errs.n > 0;
        gw_gen_unref(g);
        gw_tls_free(&srv);
        tk_conf_errors_free(&errs);
        gw_conf_free(conf);
        free(conf);
        return bad ? 1 : 0;
    }
    if (gw_tls_setup(&srv, &errs) != TK_OK) {
        for (size_t i = 0; i < errs.n; i++)
            tk_log_error("%s", errs.msgs[i]);
        tk_conf_errors_free(&errs);
        gw_tls_free(&srv);
        gw_conf_free(conf);
        free(conf);
        return 1;
    }
    tk_conf_errors_free(&errs);

    /* Signals are handled by the control thread's loop; workers never see them. */
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    srv.drl = gw_drl_new(0, 0);
    pthread_mutex_init(&srv.drl_lock, NULL);
    srv.offload = tk_offload_new(2);
    srv.jsvm_pool = gw_jsvm_pool_new(jsvm_threads(conf));
    gw_control_init(&srv);
    gw_events_start(&srv);
    gw_gen_t *first = gw_build_generation(&srv, 0);
    atomic_store(&srv.reload_ok, true);
    if (gw_workers_start(&srv, first) != TK_OK) {
        gw_gen_unref(first);
        return 1;
    }
    gw_gen_unref(first);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    write_pid(conf->pid_file_location);
    tk_log_info("turnpike-gateway %s listening on %s:%lld with %zu worker(s)", TURNPIKE_VERSION,
                conf->listen_address[0] ? conf->listen_address : "*", (long long)conf->listen_port,
                srv.nworkers);

    gw_control_run(&srv);
    gw_workers_join(&srv);
    gw_events_stop();             /* after the workers: nothing fires any more */
    tk_offload_free(srv.offload); /* after the workers: nothing submits any more */
    srv.offload = NULL;
    gw_jsvm_pool_free(srv.jsvm_pool); /* after the workers, before their loops are freed */
    srv.jsvm_pool = NULL;
    if (gw_workers_free(&srv) != TK_OK) {
        /* Forced shutdown left connections open; the process exit closes them. */
        tk_log_info("stopped (connections closed at the graceful shutdown timeout)");
        fflush(stderr);
        _exit(0);
    }
    tk_log_info("stopped");
    if (conf->pid_file_location && *conf->pid_file_location)
        unlink(conf->pid_file_location);
    gw_tls_free(&srv);
    gw_analytics_release(&srv);
    gw_drl_free(srv.drl);
    gw_conf_free(conf);
    free(conf);
    return 0;
}
