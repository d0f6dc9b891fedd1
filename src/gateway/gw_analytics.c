/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-worker analytics writer: encoded records collect in a batch that is pushed with one
 * RPUSH when it is full or 200 ms old (Tyk's gateway does the same with a channel and a pool of
 * goroutines). A batch Redis does not acknowledge is appended to this worker's spool file; spool
 * files are pushed back, one RPUSH per file, once Redis answers again. The spool is bounded
 * (turnpike_analytics_spool_max_bytes); only then are records dropped, counted and logged.
 *
 * Spool file: a sequence of [u32 little-endian length][msgpack record]; files rotate at 4 MiB
 * so that each replays as a single command. A torn last record (crash mid-write) is ignored.
 */
#include "gw_analytics.h"
#include "gw_analytics_int.h"
#include "gw_handlers.h"

#include "tk_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLUSH_MS 200
#define SPOOL_ROTATE_BYTES (4u << 20)
#define SHUTDOWN_WAIT_MS 3000

/* One batch on its way to Redis (its records stay here until acknowledged). */
typedef struct batch {
    gw_analytics_t *a;
    tk_buf_t buf; /* records back to back */
    size_t *offs; /* offs[i] = start of record i; offs[n] = buf.len */
    size_t n, offs_cap;
    char *replay_path; /* set for a spool file being replayed */
} batch_t;

static void batch_free(batch_t *b)
{
    tk_buf_free(&b->buf);
    free(b->offs);
    free(b->replay_path);
    free(b);
}

static void batch_add_off(batch_t *b, size_t off)
{
    if (b->n + 2 > b->offs_cap) {
        b->offs_cap = b->offs_cap ? b->offs_cap * 2 : 1024;
        b->offs = tk_xrealloc(b->offs, b->offs_cap * sizeof(*b->offs));
    }
    b->offs[b->n] = off;
}

/* A finished batch: kept as the worker's spare (its buffers stay allocated and warm, so the
 * next batch neither reallocates nor faults in fresh pages), or freed. */
static void batch_done(batch_t *b)
{
    gw_analytics_t *a = b->a;
    if (!b->replay_path && !a->spare) {
        b->buf.len = 0;
        b->n = 0;
        a->spare = b;
        return;
    }
    batch_free(b);
}

/* ---- spool ---- */

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s", dir) >= sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static void spool_close(gw_analytics_t *a)
{
    if (a->spool_fd >= 0) {
        fsync(a->spool_fd);
        close(a->spool_fd);
        a->spool_fd = -1;
        a->spool_file_bytes = 0;
    }
}

static bool spool_open(gw_analytics_t *a)
{
    if (a->spool_fd >= 0 && a->spool_file_bytes < SPOOL_ROTATE_BYTES)
        return true;
    spool_close(a);
    const char *dir = a->conf->turnpike_analytics_spool_dir;
    if (!dir || !*dir || mkdir_p(dir) != 0)
        return false;
    char path[4200];
    snprintf(path, sizeof(path), "%s/w%d-%ld-%06llu.spool", dir, a->w->id, (long)getpid(),
             (unsigned long long)++a->spool_seq);
    a->spool_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return a->spool_fd >= 0;
}

static void note_drop(gw_analytics_t *a, size_t n, const char *why)
{
    gw_analytics_stats_t *st = &a->w->srv->analytics_stats;
    uint64_t total = atomic_fetch_add(&st->dropped, n) + n;
    uint64_t now = tk_now_ms();
    if (now - a->drop_logged_ms > 10000) {
        a->drop_logged_ms = now;
        tk_log_error("analytics: %zu record(s) dropped (%s); %llu dropped since start", n, why,
                     (unsigned long long)total);
    }
}

/* Appends records [from, b->n) of @b to the spool; what does not fit is dropped and counted. */
static void spool_batch(gw_analytics_t *a, batch_t *b, size_t from)
{
    gw_analytics_stats_t *st = &a->w->srv->analytics_stats;
    uint64_t max = (uint64_t)a->conf->turnpike_analytics_spool_max_bytes;
    size_t i = from;
    for (; i < b->n; i++) {
        size_t len = b->offs[i + 1] - b->offs[i];
        /* Reserve the room first: workers spool at the same time. */
        if (atomic_fetch_add(&st->spool_bytes, len + 4) + len + 4 > max) {
            atomic_fetch_sub(&st->spool_bytes, len + 4);
            note_drop(a, b->n - i, "analytics spool full");
            return;
        }
        if (!spool_open(a)) {
            atomic_fetch_sub(&st->spool_bytes, len + 4);
            note_drop(a, b->n - i, "analytics spool directory not writable");
            return;
        }
        uint8_t hdr[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                          (uint8_t)(len >> 24)};
        struct iovec iov[2] = {{hdr, 4}, {b->buf.data + b->offs[i], len}};
        ssize_t wr = writev(a->spool_fd, iov, 2);
        if (wr != (ssize_t)(len + 4)) {
            /* A short write leaves a torn record that replay ignores; start a new file. */
            atomic_fetch_sub(&st->spool_bytes, len + 4);
            spool_close(a);
            note_drop(a, b->n - i, errno == ENOSPC ? "disk full" : "spool write failed");
            return;
        }
        a->spool_file_bytes += len + 4;
        atomic_fetch_add(&st->spooled, 1);
    }
    if (!a->spool_logged) {
        a->spool_logged = true;
        tk_log_warn("analytics: Redis unavailable, records are kept in %s until it returns",
                    a->conf->turnpike_analytics_spool_dir);
    }
}

/* ---- pushing ---- */

static void maybe_replay(gw_analytics_t *a);

static void set_expiry(gw_analytics_t *a, const char *key)
{
    int64_t ttl = a->conf->analytics_config_storage_expiration_time;
    if (ttl <= 0)
        return;
    /* Tyk sets the list's TTL only when it has none. */
    char ttls[24];
    snprintf(ttls, sizeof(ttls), "%lld", (long long)ttl);
    const char *argv[] = {"EVAL",
                          "if redis.call('TTL', KEYS[1]) == -1 then "
                          "redis.call('EXPIRE', KEYS[1], ARGV[1]) end",
                          "1", key, ttls};
    tk_redis_cmd_argv(a->redis, NULL, NULL, 5, argv, NULL);
}

static void on_pushed(tk_redis_t *r, redisReply *reply, void *arg)
{
    TK_UNUSED(r);
    batch_t *b = arg;
    gw_analytics_t *a = b->a;
    gw_analytics_stats_t *st = &a->w->srv->analytics_stats;
    a->inflight--;
    bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
    if (b->replay_path) {
        a->replaying = false;
        if (ok) {
            struct stat sb;
            if (stat(b->replay_path, &sb) == 0)
                atomic_fetch_sub(&st->spool_bytes, (uint64_t)sb.st_size);
            unlink(b->replay_path);
            atomic_fetch_add(&st->replayed, b->n);
            atomic_fetch_add(&st->pushed, b->n);
            tk_log_info("analytics: %zu spooled record(s) pushed to Redis", b->n);
            maybe_replay(a);
        }
        batch_free(b);
        return;
    }
    if (ok) {
        atomic_fetch_add(&st->pushed, b->n);
        a->spool_logged = false;
    } else {
        spool_batch(a, b, 0);
    }
    batch_done(b);
}

static const char *list_key(gw_analytics_t *a)
{
    if (a->conf->analytics_config_enable_multiple_analytics_keys) {
        static const char *const keys[] = {
            "analytics-tyk-system-analytics_0", "analytics-tyk-system-analytics_1",
            "analytics-tyk-system-analytics_2", "analytics-tyk-system-analytics_3",
            "analytics-tyk-system-analytics_4", "analytics-tyk-system-analytics_5",
            "analytics-tyk-system-analytics_6", "analytics-tyk-system-analytics_7",
            "analytics-tyk-system-analytics_8", "analytics-tyk-system-analytics_9"};
        a->rng = a->rng * 6364136223846793005ull + 1442695040888963407ull;
        return keys[(a->rng >> 33) % 10];
    }
    return "analytics-tyk-system-analytics";
}

/* Sends @b with one RPUSH; on failure its records go to the spool. Takes ownership. */
static void push_batch(gw_analytics_t *a, batch_t *b)
{
    if (b->n == 0) {
        batch_free(b);
        return;
    }
    const char *key = list_key(a);
    int rc = TK_ERROR;
    if (a->redis && tk_redis_connected(a->redis)) {
        /* RPUSH key rec... written in RESP directly: formatting thousands of arguments
         * through hiredis costs more than building the records. */
        tk_buf_t *resp = &a->resp; /* reused: stays allocated between batches */
        resp->len = 0;
        tk_buf_t cmd = *resp;
        tk_buf_reserve(&cmd, b->buf.len + b->n * 16 + 64);
        char num[24];
        size_t kl = strlen(key);
        cmd.data[cmd.len++] = '*';
        cmd.len += tk_fmt_u64(cmd.data + cmd.len, (uint64_t)b->n + 2);
        static const char rpush[] = "\r\n$5\r\nRPUSH\r\n$";
        tk_buf_append(&cmd, rpush, sizeof(rpush) - 1);
        cmd.len += tk_fmt_u64(cmd.data + cmd.len, (uint64_t)kl);
        tk_buf_append(&cmd, "\r\n", 2);
        tk_buf_append(&cmd, key, kl);
        tk_buf_append(&cmd, "\r\n", 2);
        for (size_t i = 0; i < b->n; i++) {
            size_t len = b->offs[i + 1] - b->offs[i];
            num[0] = '$';
            size_t nl = 1 + tk_fmt_u64(num + 1, (uint64_t)len);
            num[nl++] = '\r';
            num[nl++] = '\n';
            tk_buf_append(&cmd, num, nl);
            tk_buf_append(&cmd, b->buf.data + b->offs[i], len);
            tk_buf_append(&cmd, "\r\n", 2);
        }
        rc = tk_redis_cmd_resp(a->redis, on_pushed, b, cmd.data, cmd.len);
        *resp = cmd;
    }
    if (rc != TK_OK) {
        if (b->replay_path) {
            a->replaying = false;
            batch_free(b);
            return;
        }
        spool_batch(a, b, 0);
        batch_done(b);
        return;
    }
    a->inflight++;
    set_expiry(a, key);
}

static void flush(gw_analytics_t *a)
{
    if (!a->cur || a->cur->n == 0)
        return;
    batch_t *b = a->cur;
    a->cur = NULL;
    b->offs[b->n] = b->buf.len;
    push_batch(a, b);
}

/* Reads a spool file into a batch; a torn last record is left out. */
static batch_t *load_spool_file(gw_analytics_t *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    batch_t *b = tk_xcalloc(1, sizeof(*b));
    b->a = a;
    b->replay_path = tk_xstrdup(path);
    uint8_t hdr[4];
    while (fread(hdr, 1, 4, f) == 4) {
        size_t len =
            (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
        if (len > SPOOL_ROTATE_BYTES * 4)
            break;
        size_t off = b->buf.len;
        tk_buf_reserve(&b->buf, len);
        if (fread(b->buf.data + off, 1, len, f) != len)
            break;
        b->buf.len += len;
        batch_add_off(b, off);
        b->n++;
    }
    fclose(f);
    if (b->offs)
        b->offs[b->n] = b->buf.len;
    return b;
}

static bool is_mine(const gw_analytics_t *a, const char *name)
{
    size_t n = strlen(name);
    if (n < 7 || strcmp(name + n - 6, ".spool") != 0)
        return false;
    if (a->w->id == 0 && strncmp(name, "replay-", 7) == 0)
        return true;
    char pre[32];
    int pl = snprintf(pre, sizeof(pre), "w%d-", a->w->id);
    return strncmp(name, pre, (size_t)pl) == 0;
}

/* Pushes the oldest spool file of this worker back into Redis, if any. */
static void maybe_replay(gw_analytics_t *a)
{
    if (a->replaying || !a->redis || !tk_redis_connected(a->redis) ||
        atomic_load(&a->w->srv->analytics_stats.spool_bytes) == 0)
        return;
    const char *dir = a->conf->turnpike_analytics_spool_dir;
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    if (!d)
        return;
    char best[256] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_mine(a, e->d_name) || strlen(e->d_name) >= sizeof(best))
            continue;
        if (!*best || strcmp(e->d_name, best) < 0)
            snprintf(best, sizeof(best), "%s", e->d_name);
    }
    closedir(d);
    if (!*best)
        return;
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, best);
    if (a->spool_fd >= 0) {
        /* Never replay the file still being appended to: close it first. */
        spool_close(a);
    }
    batch_t *b = load_spool_file(a, path);
    if (!b)
        return;
    if (b->n == 0) {
        struct stat sb;
        if (stat(path, &sb) == 0)
            atomic_fetch_sub(&a->w->srv->analytics_stats.spool_bytes, (uint64_t)sb.st_size);
        unlink(path);
        batch_free(b);
        return;
    }
    a->replaying = true;
    push_batch(a, b);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    TK_UNUSED(fd);
    TK_UNUSED(what);
    gw_analytics_t *a = arg;
    flush(a);
    maybe_replay(a);
}

static void on_redis_state(tk_redis_t *r, bool up, void *arg)
{
    TK_UNUSED(r);
    gw_analytics_t *a = arg;
    if (up)
        maybe_replay(a);
}

/* Adds one encoded record to the current batch (called by the record builder). */
void gw_analytics_push_encoded(gw_analytics_t *a, const tk_analytics_record_t *rec)
{
    if (!a->cur) {
        if (a->spare) {
            a->cur = a->spare;
            a->spare = NULL;
        } else {
            a->cur = tk_xcalloc(1, sizeof(*a->cur));
            a->cur->a = a;
            tk_buf_reserve(&a->cur->buf, 16384);
        }
    }
    batch_t *b = a->cur;
    batch_add_off(b, b->buf.len);
    tk_analytics_encode(rec, &b->buf);
    b->n++;
    atomic_fetch_add(&a->w->srv->analytics_stats.recorded, 1);
    if (b->n >= a->batch_limit)
        flush(a);
}

/* ---- lifecycle ---- */

void gw_analytics_redis_opts(const gw_conf_t *conf, tk_redis_opts_t *ro)
{
    gw_redis_opts(conf, ro);
    if (!conf->enable_separate_analytics_store)
        return;
    ro->host = conf->analytics_storage_host;
    ro->port = (int)conf->analytics_storage_port;
    ro->username = conf->analytics_storage_username;
    ro->password = conf->analytics_storage_password;
    ro->database = (int)conf->analytics_storage_database;
    if (conf->analytics_storage_timeout > 0)
        ro->connect_timeout_ms = ro->command_timeout_ms =
            (int)conf->analytics_storage_timeout * 1000;
}

void gw_analytics_prepare(gw_server_t *srv)
{
    const gw_conf_t *conf = srv->conf;
    if (!conf->enable_analytics)
        return;
    srv->geoip = gw_geoip_open(conf);
    const char *dir = conf->turnpike_analytics_spool_dir;
    if (!dir || !*dir)
        return;
    if (mkdir_p(dir) != 0) {
        tk_log_warn("analytics: spool directory %s cannot be created (%s); records are dropped "
                    "while Redis is unreachable",
                    dir, strerror(errno));
        return;
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    uint64_t total = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 7 || strcmp(e->d_name + l - 6, ".spool") != 0)
            continue;
        char from[4400], to[4400];
        snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
        if (strncmp(e->d_name, "replay-", 7) == 0) {
            snprintf(to, sizeof(to), "%s", from);
        } else {
            snprintf(to, sizeof(to), "%s/replay-%ld-%06llu.spool", dir, (long)getpid(),
                     (unsigned long long)++n);
            if (rename(from, to) != 0)
                continue;
        }
        struct stat sb;
        if (stat(to, &sb) == 0)
            total += (uint64_t)sb.st_size;
    }
    closedir(d);
    atomic_store(&srv->analytics_stats.spool_bytes, total);
    if (total)
        tk_log_info("analytics: %llu bytes of spooled records from an earlier run will be pushed "
                    "once Redis answers",
                    (unsigned long long)total);
}

gw_analytics_t *gw_analytics_new(gw_worker_t *w)
{
    const gw_conf_t *conf = w->srv->conf;
    if (!conf->enable_analytics)
        return NULL;
    gw_analytics_t *a = tk_xcalloc(1, sizeof(*a));
    a->w = w;
    a->conf = conf;
    a->spool_fd = -1;
    a->rng = tk_wall_ns() ^ ((uint64_t)w->id << 32);
    size_t per = (size_t)conf->analytics_config_records_buffer_size / w->srv->nworkers;
    a->batch_limit = per ? per : 1;
    tk_redis_opts_t ro;
    gw_analytics_redis_opts(conf, &ro);
    a->redis = tk_redis_new(w->base, &ro, on_redis_state, a);
    a->timer = event_new(w->base, -1, EV_PERSIST, on_timer, a);
    struct timeval tv = {0, FLUSH_MS * 1000};
    event_add(a->timer, &tv);
    return a;
}

void gw_analytics_shutdown(gw_analytics_t *a)
{
    if (!a)
        return;
    flush(a);
    uint64_t deadline = tk_now_ms() + SHUTDOWN_WAIT_MS;
    while (a->inflight > 0 && tk_now_ms() < deadline)
        event_base_loop(a->w->base, EVLOOP_ONCE);
    /* Unacknowledged batches come back through on_pushed(NULL) and are spooled. */
    tk_redis_free(a->redis);
    a->redis = NULL;
    spool_close(a);
}

void gw_analytics_free(gw_analytics_t *a)
{
    if (!a)
        return;
    if (a->timer)
        event_free(a->timer);
    flush(a);
    tk_redis_free(a->redis);
    spool_close(a);
    if (a->spare)
        batch_free(a->spare);
    tk_buf_free(&a->resp);
    free(a);
}

void gw_analytics_release(gw_server_t *srv)
{
    gw_geoip_close(srv->geoip);
    srv->geoip = NULL;
}

json_t *gw_analytics_stats_json(const gw_server_t *srv)
{
    const gw_analytics_stats_t *st = &srv->analytics_stats;
    return json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "enabled", srv->conf->enable_analytics, "recorded",
        (json_int_t)atomic_load(&st->recorded), "pushed", (json_int_t)atomic_load(&st->pushed),
        "spooled", (json_int_t)atomic_load(&st->spooled), "replayed",
        (json_int_t)atomic_load(&st->replayed), "dropped", (json_int_t)atomic_load(&st->dropped),
        "spool_bytes", (json_int_t)atomic_load(&st->spool_bytes));
}
