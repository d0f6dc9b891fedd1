/* SPDX-License-Identifier: Apache-2.0 */
/* turnpike-pump: command line, start-up, signals and orderly shutdown. */
#include "pump_conf.h"
#include "tk_cli.h"
#include "pump_health.h"
#include "pump_journal.h"
#include "pump_redis.h"
#include "pump_runner.h"

#include "tk_curl.h"
#include "tk_log.h"
#include "tk_sqldb.h"
#include "tk_version.h"

#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: turnpike-pump [-c FILE | --conf=FILE] [--check] [--version] [--help]\n"
            "\n"
            "A Tyk Pump compatible analytics pump. Reads Tyk Pump's pump.conf keys (and TYK_PMP_*\n"
            "environment overrides; TYK_PMP_OMITCONFIGFILE=true uses the environment only),\n"
            "takes analytics records from Redis into a local journal, and writes them to every\n"
            "configured sink without losing a batch when a sink fails.\n"
            "\n"
            "  -c, --conf=FILE       configuration file (default: pump.conf)\n"
            "  --check               load the configuration, build every sink, report every\n"
            "                        problem and exit (non-zero if any)\n"
            "  --print-config-docs   print the configuration reference (Markdown)\n"
            "  --version             print the version\n"
            "  --help                this text\n");
}

struct app {
    pump_conf_t *conf;
    pump_journal_t *journal;
    pump_runner_t *runner;
    pump_redis_t *redis;
    struct event_base *base;
};

static json_t *collect_stats(void *arg)
{
    struct app *a = arg;
    pump_journal_stats_t js;
    pump_journal_get_stats(a->journal, &js);
    return json_pack("{s:s, s:s, s:o, s:{s:s, s:I, s:I, s:I, s:I, s:b, s:I, s:I}, s:o}", "pump_id",
                     a->conf->pump_id, "version", TURNPIKE_VERSION, "redis",
                     pump_redis_stats(a->redis), "journal", "dir", a->conf->journal_dir, "head_seq",
                     (json_int_t)js.head_seq, "bytes", (json_int_t)js.bytes, "segments",
                     (json_int_t)js.segments, "last_batch", (json_int_t)js.last_batch, "full",
                     js.full, "full_events", (json_int_t)js.full_events, "crc_errors",
                     (json_int_t)js.crc_errors, "sinks", pump_runner_stats(a->runner));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    TK_UNUSED(what);
    struct app *a = arg;
    if (sig == SIGHUP) {
        /* Logs go to standard error and files are reopened on every write: nothing to do. */
        tk_log_info("SIGHUP: log output reopened (standard error); configuration is read at "
                    "start-up only");
        return;
    }
    tk_log_info("%s: stopping (finishing the current take and writes)",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(a->base);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    struct app *a = arg;
    pump_journal_release(a->journal, pump_runner_min_cursor(a->runner));
}

static int report(const char *conf_path, tk_conf_errors_t *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        tk_log_error("config %s: %s", conf_path, errs->msgs[i]);
    tk_log_error("refusing to start: %zu problem(s) in %s", errs->n, conf_path);
    return 1;
}

int main(int argc, char **argv)
{
    static const tk_cli_spec_t spec = {"turnpike-pump", usage, pump_conf_write_docs};
    tk_cli_t cli;
    int exit_rc = tk_cli_parse(&spec, argc, argv, &cli);
    if (exit_rc >= 0)
        return exit_rc;
    const char *conf_path = cli.conf_path ? cli.conf_path : "pump.conf";
    bool check = cli.check;
    tk_sqldb_set_application_name("turnpike-pump");
    tk_curl_set_user_agent("turnpike-pump");

    pump_conf_t conf;
    tk_conf_errors_t errs = {0};
    int rc = pump_conf_load(&conf, conf_path, &errs);
    tk_log_setup("pump", tk_log_level_parse(conf.log_level),
                 conf.log_format && strcasecmp(conf.log_format, "json") == 0 ? TK_LOG_JSON
                                                                             : TK_LOG_TEXT);
    struct app app = {.conf = &conf};
    if (check) {
        if (rc == TK_OK)
            app.runner = pump_runner_new(&conf, NULL, &errs); /* builds and checks every sink */
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "error: %s\n", errs.msgs[i]);
        printf("%s: %zu pump(s)%s, %zu problem(s)\n", conf_path, conf.nsinks,
               conf.uptime_sink ? " + uptime" : "", errs.n);
        int bad = errs.n > 0;
        pump_runner_free(app.runner);
        tk_conf_errors_free(&errs);
        pump_conf_free(&conf);
        return bad ? 1 : 0;
    }
    if (errs.n) {
        int ret = report(conf_path, &errs);
        tk_conf_errors_free(&errs);
        pump_conf_free(&conf);
        return ret;
    }
    if (conf.nsinks == 0)
        tk_log_warn("no pumps configured: records are journaled and then dropped");

    char err[512];
    app.journal = pump_journal_open(conf.journal_dir, (uint64_t)conf.journal_segment_bytes,
                                    (uint64_t)conf.journal_max_bytes, err, sizeof(err));
    if (!app.journal) {
        tk_log_error("journal_dir: %s", err);
        pump_conf_free(&conf);
        return 1;
    }
    app.runner = pump_runner_new(&conf, app.journal, &errs);
    if (!app.runner) {
        int ret = report(conf_path, &errs);
        tk_conf_errors_free(&errs);
        pump_journal_close(app.journal);
        pump_conf_free(&conf);
        return ret;
    }

    /* Threads inherit a mask without the stop signals: only the event loop sees them. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    app.base = event_base_new();
    pump_health_t *health = pump_health_start(
        app.base, (int)conf.health_check_endpoint_port, conf.health_check_endpoint_name,
        conf.stats_endpoint_name, collect_stats, &app, err, sizeof(err));
    if (!health) {
        tk_log_error("%s", err);
        pump_runner_free(app.runner);
        event_base_free(app.base);
        pump_journal_close(app.journal);
        pump_conf_free(&conf);
        return 1;
    }
    pump_runner_start(app.runner);
    app.redis = pump_redis_start(&conf, app.journal);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    struct event *sigs[3];
    int signums[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(app.base, signums[i], on_signal, &app);
        event_add(sigs[i], NULL);
    }
    struct event *tick = event_new(app.base, -1, EV_PERSIST, on_tick, &app);
    struct timeval one = {1, 0};
    event_add(tick, &one);

    tk_log_info("turnpike-pump %s (pump id %s): %zu pump(s), Redis %s:%" PRId64
                ", journal %s, health on :%" PRId64 "/%s",
                TURNPIKE_VERSION, conf.pump_id, conf.nsinks, conf.redis_host, conf.redis_port,
                conf.journal_dir, conf.health_check_endpoint_port, conf.health_check_endpoint_name);
    event_base_dispatch(app.base);

    pump_redis_stop(app.redis);
    app.redis = NULL;
    pump_runner_stop(app.runner);
    pump_journal_release(app.journal, pump_runner_min_cursor(app.runner));
    for (int i = 0; i < 3; i++)
        event_free(sigs[i]);
    event_free(tick);
    pump_health_free(health);
    pump_runner_free(app.runner);
    event_base_free(app.base);
    pump_journal_close(app.journal);
    tk_conf_errors_free(&errs);
    pump_conf_free(&conf);
    tk_log_info("stopped");
    return 0;
}
