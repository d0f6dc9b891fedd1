/* SPDX-License-Identifier: Apache-2.0 */
/* SCAN a pattern a batch at a time and run a command on each batch (gw_redis_scan.h). */
#include "gw_redis_scan.h"

#include "gw_handlers.h"

#include "tk_log.h"

#include <stdlib.h>
#include <string.h>

#define SCAN_COUNT "1000"
#define MAX_PREFIX 8

typedef struct scan {
    char *pattern;
    char *prefix[MAX_PREFIX];
    size_t nprefix;
    char cursor[32]; /* where the next SCAN starts; "0" once the scan is complete */
    long long total;
    void (*done)(bool ok, long long total, void *arg);
    void *arg;
} scan_t;

static void on_scan(tk_redis_t *r, redisReply *reply, void *arg);

static void scan_end(scan_t *s, bool ok)
{
    s->done(ok, s->total, s->arg);
    for (size_t i = 0; i < s->nprefix; i++)
        free(s->prefix[i]);
    free(s->pattern);
    free(s);
}

static int send_scan(tk_redis_t *r, scan_t *s)
{
    const char *argv[] = {"SCAN", s->cursor, "MATCH", s->pattern, "COUNT", SCAN_COUNT};
    return tk_redis_cmd_argv(r, on_scan, s, 6, argv, NULL);
}

/* The next SCAN, or the end once the cursor is back at 0. */
static void scan_next(tk_redis_t *r, scan_t *s)
{
    if (strcmp(s->cursor, "0") == 0)
        scan_end(s, true);
    else if (send_scan(r, s) != TK_OK)
        scan_end(s, false);
}

static void on_batch_done(tk_redis_t *r, redisReply *reply, void *arg)
{
    scan_t *s = arg;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            tk_log_error("redis: %s over keys %s failed: %s", s->prefix[0], s->pattern, reply->str);
        scan_end(s, false);
        return;
    }
    s->total += reply->integer;
    scan_next(r, s);
}

static void on_scan(tk_redis_t *r, redisReply *reply, void *arg)
{
    scan_t *s = arg;
    if (!gw_redis_is_scan_reply(reply) || reply->element[0]->len >= sizeof(s->cursor)) {
        scan_end(s, false);
        return;
    }
    memcpy(s->cursor, reply->element[0]->str, reply->element[0]->len + 1);
    redisReply *keys = reply->element[1];
    if (!keys->elements) {
        scan_next(r, s);
        return;
    }
    size_t n = s->nprefix + keys->elements;
    const char **argv = tk_xcalloc(n, sizeof(*argv));
    size_t *lens = tk_xcalloc(n, sizeof(*lens));
    for (size_t i = 0; i < s->nprefix; i++) {
        argv[i] = s->prefix[i];
        lens[i] = strlen(s->prefix[i]);
    }
    for (size_t i = 0; i < keys->elements; i++) {
        argv[s->nprefix + i] = keys->element[i]->str ? keys->element[i]->str : "";
        lens[s->nprefix + i] = keys->element[i]->str ? keys->element[i]->len : 0;
    }
    int rc = tk_redis_cmd_argv(r, on_batch_done, s, (int)n, argv, lens);
    free(argv);
    free(lens);
    if (rc != TK_OK)
        scan_end(s, false);
}

int gw_redis_scan_each(tk_redis_t *r, const char *pattern, const char *const *prefix,
                       size_t nprefix, void (*done)(bool ok, long long total, void *arg), void *arg)
{
    TK_ASSERT(nprefix >= 1 && nprefix <= MAX_PREFIX);
    scan_t *s = tk_xcalloc(1, sizeof(*s));
    s->pattern = tk_xstrdup(pattern);
    for (size_t i = 0; i < nprefix; i++)
        s->prefix[i] = tk_xstrdup(prefix[i]);
    s->nprefix = nprefix;
    s->done = done;
    s->arg = arg;
    memcpy(s->cursor, "0", 2);
    if (send_scan(r, s) != TK_OK) {
        for (size_t i = 0; i < nprefix; i++)
            free(s->prefix[i]);
        free(s->pattern);
        free(s);
        return TK_ERROR;
    }
    return TK_OK;
}
