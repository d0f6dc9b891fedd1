/* SPDX-License-Identifier: Apache-2.0 */
/* Append-only segment files between Redis and the sinks (format in pump_journal.h). */
#include "pump_journal.h"

#include "tk_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct seg {
    uint64_t first; /* seq of its first entry (its name) */
    uint64_t size;  /* bytes that are complete and fsync'd */
};

struct pump_journal {
    char *dir;
    uint64_t seg_bytes, max_bytes;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct seg *segs; /* oldest first; the last one is being written */
    size_t nsegs, cap;
    int wfd;
    uint64_t head;             /* highest visible seq */
    uint64_t last_batch;       /* batch id of the entry at head */
    uint64_t last_batch_count; /* entries of last_batch (a batch never spans two segments) */
    uint64_t total;
    uint64_t full_events, crc_errors;
    bool full_logged;
};

/* ---- CRC-32 (reflected 0xEDB88320, as zlib) ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t pump_crc32(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = buf;
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian helpers ---- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* An entry's header, decoded and checked against its payload. */
struct hdr {
    uint32_t len;
    uint32_t crc;
    int kind;
    uint64_t batch, seq;
};

static void parse_hdr(const unsigned char *h, struct hdr *out)
{
    out->len = get32(h);
    out->crc = get32(h + 4);
    out->kind = h[8];
    out->batch = get64(h + 12);
    out->seq = get64(h + 20);
}

static bool hdr_crc_ok(const unsigned char *h, const void *payload, const struct hdr *d)
{
    uint32_t c = pump_crc32(0, h + 8, PUMP_JOURNAL_HDR - 8);
    c = pump_crc32(c, payload, d->len);
    return c == d->crc;
}

static void seg_path(const pump_journal_t *j, uint64_t first, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/seg-%020" PRIu64 ".tpj", j->dir, first);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static void segs_push(pump_journal_t *j, uint64_t first, uint64_t size)
{
    if (j->nsegs == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 16;
        j->segs = tk_xrealloc(j->segs, j->cap * sizeof(*j->segs));
    }
    j->segs[j->nsegs++] = (struct seg){first, size};
}

static int cmp_seg(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Walks a segment from the start and returns the length of its valid prefix; fills the last
 * entry's seq/batch (untouched when the segment has no valid entry). */
static uint64_t scan_segment(int fd, uint64_t first, uint64_t *last_seq, uint64_t *last_batch,
                             uint64_t *last_count)
{
    uint64_t off = 0, expect = first;
    unsigned char h[PUMP_JOURNAL_HDR];
    char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        if (pread(fd, h, sizeof(h), (off_t)off) != (ssize_t)sizeof(h))
            break;
        struct hdr d;
        parse_hdr(h, &d);
        if (d.seq != expect || (d.kind != PUMP_KIND_ANALYTICS && d.kind != PUMP_KIND_UPTIME))
            break;
        if (d.len > cap) {
            cap = d.len;
            buf = tk_xrealloc(buf, cap);
        }
        if (d.len && pread(fd, buf, d.len, (off_t)(off + sizeof(h))) != (ssize_t)d.len)
            break;
        if (!hdr_crc_ok(h, buf, &d))
            break;
        off += sizeof(h) + d.len;
        *last_seq = d.seq;
        *last_count = d.batch == *last_batch ? *last_count + 1 : 1;
        *last_batch = d.batch;
        expect++;
    }
    free(buf);
    return off;
}

static int create_segment(pump_journal_t *j, uint64_t first, char *err, size_t errlen)
{
    char path[4200];
    seg_path(j, first, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create journal segment %s: %s", path, strerror(errno));
        return -1;
    }
    if (fsync_dir(j->dir) != 0) {
        snprintf(err, errlen, "cannot sync journal directory %s: %s", j->dir, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    if (j->wfd >= 0)
        close(j->wfd);
    j->wfd = fd;
    pthread_mutex_lock(&j->mu);
    segs_push(j, first, 0);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

pump_journal_t *pump_journal_open(const char *dir, uint64_t segment_bytes, uint64_t max_bytes,
                                  char *err, size_t errlen)
{
    if (mkdir_p(dir) != 0) {
        snprintf(err, errlen, "cannot create journal directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open journal directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    pump_journal_t *j = tk_xcalloc(1, sizeof(*j));
    j->dir = tk_xstrdup(dir);
    j->seg_bytes = segment_bytes ? segment_bytes : 64u << 20;
    j->max_bytes = max_bytes;
    j->wfd = -1;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);

    struct dirent *de;
    while ((de = readdir(d))) {
        unsigned long long first;
        char tail[8];
        if (sscanf(de->d_name, "seg-%20llu.%7s", &first, tail) == 2 && strcmp(tail, "tpj") == 0 &&
            strlen(de->d_name) == 28)
            segs_push(j, first, 0);
    }
    closedir(d);
    if (j->nsegs > 1)
        qsort(j->segs, j->nsegs, sizeof(*j->segs), cmp_seg);

    /* The newest segment may end in a torn write: keep its valid prefix. An empty newest
     * segment (crash right after a rotation) is dropped so the previous one tells the last
     * batch id. */
    while (j->nsegs > 0) {
        struct seg *s = &j->segs[j->nsegs - 1];
        char path[4200];
        seg_path(j, s->first, path, sizeof(path));
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open journal segment %s: %s", path, strerror(errno));
            pump_journal_close(j);
            return NULL;
        }
        struct stat st;
        fstat(fd, &st);
        uint64_t last_seq = 0, last_batch = 0, last_count = 0;
        uint64_t valid = scan_segment(fd, s->first, &last_seq, &last_batch, &last_count);
        if ((uint64_t)st.st_size != valid) {
            tk_log_warn("journal %s: cutting %" PRIu64 " byte(s) of torn or corrupt tail", path,
                        (uint64_t)st.st_size - valid);
            if (ftruncate(fd, (off_t)valid) != 0 || fsync(fd) != 0) {
                snprintf(err, errlen, "cannot truncate journal segment %s: %s", path,
                         strerror(errno));
                close(fd);
                pump_journal_close(j);
                return NULL;
            }
        }
        close(fd);
        if (valid == 0 && j->nsegs > 1) {
            unlink(path);
            j->nsegs--;
            continue;
        }
        s->size = valid;
        j->head = valid ? last_seq : s->first - 1;
        j->last_batch = last_batch;
        j->last_batch_count = last_count;
        break;
    }
    for (size_t i = 0; i + 1 < j->nsegs; i++) {
        char path[4200];
        struct stat st;
        seg_path(j, j->segs[i].first, path, sizeof(path));
        j->segs[i].size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    for (size_t i = 0; i < j->nsegs; i++)
        j->total += j->segs[i].size;

    if (j->nsegs == 0) {
        /* A new journal starts its seqs at the wall clock in microseconds, so they stay above
         * any seq a sink stored for a journal that was deleted (a SQL sink's durable_seq). */
        uint64_t first = tk_wall_ns() / 1000u;
        if (create_segment(j, first, err, errlen) != 0) {
            pump_journal_close(j);
            return NULL;
        }
        j->head = first - 1;
    } else {
        char path[4200];
        seg_path(j, j->segs[j->nsegs - 1].first, path, sizeof(path));
        j->wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (j->wfd < 0) {
            snprintf(err, errlen, "cannot open journal segment %s: %s", path, strerror(errno));
            pump_journal_close(j);
            return NULL;
        }
    }
    return j;
}

void pump_journal_close(pump_journal_t *j)
{
    if (!j)
        return;
    if (j->wfd >= 0)
        close(j->wfd);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cond);
    free(j->segs);
    free(j->dir);
    free(j);
}

bool pump_journal_full(pump_journal_t *j)
{
    pthread_mutex_lock(&j->mu);
    bool full = j->max_bytes && j->total >= j->max_bytes;
    if (full) {
        if (!j->full_logged)
            tk_log_error("journal %s is full (%" PRIu64 " bytes, journal_max_bytes %" PRIu64
                         "): no more records are taken from Redis until sinks catch up",
                         j->dir, j->total, j->max_bytes);
        j->full_logged = true;
        j->full_events++;
    } else if (j->full_logged) {
        tk_log_info("journal %s has room again; taking records from Redis", j->dir);
        j->full_logged = false;
    }
    pthread_mutex_unlock(&j->mu);
    return full;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int pump_journal_append(pump_journal_t *j, int kind, uint64_t batch, const tk_str_t *recs, size_t n,
                        char *err, size_t errlen)
{
    if (n == 0)
        return TK_OK;
    struct seg *cur = &j->segs[j->nsegs - 1];
    /* Rotate only between batches, so a batch's entries are always in one segment (recovery
     * counts them there). */
    if (cur->size >= j->seg_bytes && batch != j->last_batch &&
        create_segment(j, j->head + 1, err, errlen) != 0)
        return TK_ERROR;
    cur = &j->segs[j->nsegs - 1];

    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += PUMP_JOURNAL_HDR + recs[i].len;
    unsigned char *buf = tk_xmalloc(total);
    unsigned char *p = buf;
    uint64_t seq = j->head;
    for (size_t i = 0; i < n; i++) {
        put32(p, (uint32_t)recs[i].len);
        p[8] = (unsigned char)kind;
        p[9] = p[10] = p[11] = 0;
        put64(p + 12, batch);
        put64(p + 20, ++seq);
        if (recs[i].len)
            memcpy(p + PUMP_JOURNAL_HDR, recs[i].p, recs[i].len);
        uint32_t c = pump_crc32(0, p + 8, PUMP_JOURNAL_HDR - 8);
        put32(p + 4, pump_crc32(c, p + PUMP_JOURNAL_HDR, recs[i].len));
        p += PUMP_JOURNAL_HDR + recs[i].len;
    }
    int rc = write_all(j->wfd, (const char *)buf, total);
    if (rc == 0)
        rc = fdatasync(j->wfd);
    free(buf);
    if (rc != 0) {
        snprintf(err, errlen, "journal write in %s failed: %s", j->dir, strerror(errno));
        /* Cut whatever part made it so the next append continues a clean file. */
        if (ftruncate(j->wfd, (off_t)cur->size) != 0)
            tk_log_error("journal %s: cannot cut a failed write: %s", j->dir, strerror(errno));
        return TK_ERROR;
    }
    pthread_mutex_lock(&j->mu);
    cur->size += total;
    j->total += total;
    j->head = seq;
    j->last_batch_count = batch == j->last_batch ? j->last_batch_count + n : n;
    j->last_batch = batch;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->mu);
    return TK_OK;
}

uint64_t pump_journal_last_batch(pump_journal_t *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t b = j->last_batch;
    pthread_mutex_unlock(&j->mu);
    return b;
}

uint64_t pump_journal_last_batch_count(pump_journal_t *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t n = j->last_batch_count;
    pthread_mutex_unlock(&j->mu);
    return n;
}

uint64_t pump_journal_head(pump_journal_t *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t h = j->head;
    pthread_mutex_unlock(&j->mu);
    return h;
}

uint64_t pump_journal_tail(pump_journal_t *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t t = j->nsegs ? j->segs[0].first - 1 : j->head;
    pthread_mutex_unlock(&j->mu);
    return t;
}

bool pump_journal_wait(pump_journal_t *j, uint64_t after, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->mu);
    if (j->head <= after)
        pthread_cond_timedwait(&j->cond, &j->mu, &ts);
    bool more = j->head > after;
    pthread_mutex_unlock(&j->mu);
    return more;
}

void pump_journal_wake(pump_journal_t *j)
{
    pthread_mutex_lock(&j->mu);
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->mu);
}

void pump_journal_release(pump_journal_t *j, uint64_t upto)
{
    pthread_mutex_lock(&j->mu);
    size_t drop = 0;
    while (drop + 1 < j->nsegs && j->segs[drop + 1].first - 1 <= upto) {
        char path[4200];
        seg_path(j, j->segs[drop].first, path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT) {
            tk_log_warn("journal: cannot delete %s: %s", path, strerror(errno));
            break;
        }
        tk_log_debug("journal: deleted %s (every sink is past it)", path);
        j->total -= j->segs[drop].size;
        drop++;
    }
    if (drop) {
        memmove(j->segs, j->segs + drop, (j->nsegs - drop) * sizeof(*j->segs));
        j->nsegs -= drop;
    }
    pthread_mutex_unlock(&j->mu);
}

void pump_journal_get_stats(pump_journal_t *j, pump_journal_stats_t *out)
{
    pthread_mutex_lock(&j->mu);
    out->head_seq = j->head;
    out->bytes = j->total;
    out->segments = j->nsegs;
    out->last_batch = j->last_batch;
    out->full_events = j->full_events;
    out->crc_errors = j->crc_errors;
    out->full = j->max_bytes && j->total >= j->max_bytes;
    pthread_mutex_unlock(&j->mu);
}

/* ---- readers ---- */

struct pump_journal_reader {
    pump_journal_t *j;
    int fd;
    uint64_t seg_first; /* segment open in fd */
    uint64_t off;       /* offset of the entry with seq next_seq */
    uint64_t next_seq;
    char *buf;
    size_t cap;
};

pump_journal_reader_t *pump_journal_reader_new(pump_journal_t *j)
{
    pump_journal_reader_t *r = tk_xcalloc(1, sizeof(*r));
    r->j = j;
    r->fd = -1;
    return r;
}

void pump_journal_reader_free(pump_journal_reader_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}

/* Where the segment that holds @seq is and how much of it is readable, under the lock.
 * Returns false when there is nothing at or after @seq. */
static bool locate(pump_journal_t *j, uint64_t seq, uint64_t *first, uint64_t *size,
                   uint64_t *next_first, uint64_t *head)
{
    pthread_mutex_lock(&j->mu);
    *head = j->head;
    bool ok = j->nsegs > 0 && seq <= j->head;
    if (ok) {
        size_t i = 0;
        while (i + 1 < j->nsegs && j->segs[i + 1].first <= seq)
            i++;
        *first = j->segs[i].first;
        *size = j->segs[i].size;
        *next_first = i + 1 < j->nsegs ? j->segs[i + 1].first : 0;
    }
    pthread_mutex_unlock(&j->mu);
    return ok;
}

static void reserve(pump_journal_reader_t *r, size_t need)
{
    if (need <= r->cap)
        return;
    size_t cap = r->cap ? r->cap : 65536;
    while (cap < need)
        cap *= 2;
    r->buf = tk_xrealloc(r->buf, cap);
    r->cap = cap;
}

size_t pump_journal_read(pump_journal_reader_t *r, uint64_t after, pump_journal_entry_t *out,
                         size_t max)
{
    pump_journal_t *j = r->j;
    size_t n = 0, used = 0;
    uint64_t want = after + 1;
    while (n < max) {
        uint64_t first, size, next_first, head;
        if (!locate(j, want, &first, &size, &next_first, &head))
            break;
        if (r->fd < 0 || r->seg_first != first || r->next_seq > want) {
            if (r->fd >= 0)
                close(r->fd);
            char path[4200];
            seg_path(j, first, path, sizeof(path));
            r->fd = open(path, O_RDONLY | O_CLOEXEC);
            if (r->fd < 0) {
                tk_log_error("journal: cannot open %s: %s", path, strerror(errno));
                break;
            }
            r->seg_first = first;
            r->off = 0;
            r->next_seq = first;
        }
        if (r->off >= size) {
            if (!next_first)
                break; /* at the end of what is written */
            want = TK_MAX(want, next_first);
            close(r->fd);
            r->fd = -1;
            continue;
        }
        unsigned char h[PUMP_JOURNAL_HDR];
        struct hdr d = {0};
        bool ok = pread(r->fd, h, sizeof(h), (off_t)r->off) == (ssize_t)sizeof(h);
        if (ok) {
            parse_hdr(h, &d);
            ok = d.seq == r->next_seq && r->off + sizeof(h) + d.len <= size;
        }
        if (ok) {
            reserve(r, used + d.len + 1);
            ok = d.len == 0 ||
                 pread(r->fd, r->buf + used, d.len, (off_t)(r->off + sizeof(h))) == (ssize_t)d.len;
            ok = ok && hdr_crc_ok(h, r->buf + used, &d);
        }
        if (!ok) {
            char path[4200];
            seg_path(j, first, path, sizeof(path));
            tk_log_error("journal %s: corrupt entry at offset %" PRIu64 " (seq %" PRIu64
                         "); skipping the rest of this segment",
                         path, r->off, r->next_seq);
            pthread_mutex_lock(&j->mu);
            j->crc_errors++;
            pthread_mutex_unlock(&j->mu);
            /* Continue with the next segment, or with whatever is appended after this point. */
            if (next_first) {
                want = TK_MAX(want, next_first);
                close(r->fd);
                r->fd = -1;
            } else {
                r->off = size;
                r->next_seq = head + 1;
                want = TK_MAX(want, head + 1);
            }
            continue;
        }
        r->off += sizeof(h) + d.len;
        r->next_seq++;
        if (d.seq < want)
            continue; /* before the cursor: skipping forward inside the segment */
        /* Pointers are set at the end: the buffer may still move. */
        out[n++] =
            (pump_journal_entry_t){d.seq, d.batch, d.kind, (const char *)(uintptr_t)used, d.len};
        used += d.len;
        want = d.seq + 1;
    }
    for (size_t i = 0; i < n; i++)
        out[i].data = r->buf + (uintptr_t)out[i].data;
    return n;
}
