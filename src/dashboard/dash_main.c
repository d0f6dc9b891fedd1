/* SPDX-License-Identifier: Apache-2.0 */
/* turnpike-dashboard: load tyk_analytics.conf, migrate the database, serve. */
#include "dash_conf.h"
#include "dash_server.h"

#include "tk_cli.h"
#include "tk_curl.h"
#include "tk_log.h"
#include "tk_sqldb.h"
#include "tk_version.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *out)
{
    fputs("Usage: turnpike-dashboard [--conf=FILE] [--check] [--version] [--print-config-docs]\n"
          "Serves Tyk Dashboard's Admin API, Dashboard API and gateway sync endpoints.\n"
          "FILE is a tyk_analytics.conf (default ./tyk_analytics.conf); TYK_DB_* environment\n"
          "variables override it.\n",
          out);
}

static int report(const char *path, tk_conf_errors_t *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "turnpike-dashboard: %s: %s\n", path, errs->msgs[i]);
    return errs->n ? 1 : 0;
}

static dash_server_t *the_server;

/* A thread that waits for SIGINT/SIGTERM and stops the server (signals are blocked elsewhere).
 * SIGHUP (the init scripts' "reload") changes nothing: everything the dashboard serves lives in
 * its database, and tyk_analytics.conf is read at start. */
static void *signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    while (sigwait(set, &sig) == 0 && sig == SIGHUP)
        tk_log_info("dashboard: SIGHUP: nothing to reload (restart to apply tyk_analytics.conf "
                    "changes)");
    tk_log_info("dashboard: signal %d, stopping", sig);
    dash_server_stop(the_server);
    return NULL;
}

int main(int argc, char **argv)
{
    static const tk_cli_spec_t spec = {"turnpike-dashboard", usage, dash_conf_write_docs};
    tk_cli_t cli;
    int exit_rc = tk_cli_parse(&spec, argc, argv, &cli);
    if (exit_rc >= 0)
        return exit_rc;
    const char *path = cli.conf_path ? cli.conf_path : "tyk_analytics.conf";
    tk_sqldb_set_application_name("turnpike-dashboard");
    tk_curl_set_user_agent("turnpike-dashboard");

    dash_conf_t conf;
    tk_conf_errors_t errs = {0};
    int rc = dash_conf_load(&conf, path, &errs);
    tk_log_setup("dashboard", tk_log_level_parse(conf.log_level),
                 strcasecmp(conf.log_format, "json") == 0 ? TK_LOG_JSON : TK_LOG_TEXT);
    if (rc != TK_OK) {
        report(path, &errs);
        tk_conf_errors_free(&errs);
        dash_conf_free(&conf);
        return 1;
    }
    if (cli.check) {
        printf("%s: OK\n", path);
        dash_conf_free(&conf);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();

    dash_store_t *st = dash_store_new(conf.main_store.kind, conf.main_store.connection_string,
                                      (double)conf.sql_timeout);
    if (dash_store_migrate(st) != 0) {
        tk_log_error("dashboard: database %s: %s", conf.main_store.type, dash_store_error(st));
        dash_store_free(st);
        dash_conf_free(&conf);
        return 1;
    }
    dash_store_free(st);

    the_server = dash_server_new(&conf);
    if (!the_server) {
        dash_conf_free(&conf);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t sigth;
    pthread_create(&sigth, NULL, signal_thread, &set);
    pthread_detach(sigth);

    tk_log_info("turnpike-dashboard %s", TURNPIKE_VERSION);
    rc = dash_server_run(the_server);
    dash_server_free(the_server);
    dash_conf_free(&conf);
    tk_log_info("dashboard: stopped");
    return rc == 0 ? 0 : 1;
}
