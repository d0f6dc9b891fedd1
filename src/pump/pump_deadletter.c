/* SPDX-License-Identifier: Apache-2.0 */
/* Dead-letter files: one fsync'd JSON line per record a sink's server rejected for good. */
#include "pump_deadletter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pump_deadletter {
    char *dir;
    char path[4200];
    int fd; /* -1 until the first record */
};

pump_deadletter_t *pump_deadletter_new(const char *dir, const char *sink_name)
{
    pump_deadletter_t *d = tk_xcalloc(1, sizeof(*d));
    d->dir = tk_xstrdup(dir);
    d->fd = -1;
    char safe[256];
    size_t k = 0;
    for (const char *p = sink_name; *p && k + 1 < sizeof(safe); p++)
        safe[k++] = (strchr("/\\. ", *p) == NULL) ? *p : '_';
    safe[k] = 0;
    snprintf(d->path, sizeof(d->path), "%s/deadletter-%s.jsonl", dir, safe);
    return d;
}

void pump_deadletter_free(pump_deadletter_t *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d->dir);
    free(d);
}

const char *pump_deadletter_path(const pump_deadletter_t *d)
{
    return d->path;
}

static int open_file(pump_deadletter_t *d, char *err, size_t errlen)
{
    bool existed = access(d->path, F_OK) == 0;
    d->fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (d->fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", d->path, strerror(errno));
        return -1;
    }
    if (!existed) { /* the new name must survive a crash too */
        int dfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

int pump_deadletter_add(pump_deadletter_t *d, json_t *record, uint64_t seq, const char *why,
                        char *err, size_t errlen)
{
    json_object_set_new(record, "journal_seq", json_integer((json_int_t)seq));
    json_object_set_new(record, "error", json_string(why && *why ? why : "rejected"));
    char *line = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(record);
    if (!line) {
        snprintf(err, errlen, "cannot encode journal seq %llu as JSON", (unsigned long long)seq);
        return -1;
    }
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps' NUL becomes the line end: one write() per line */
    int rc = -1;
    if (d->fd < 0 && open_file(d, err, errlen) != 0)
        goto out;
    off_t before = lseek(d->fd, 0, SEEK_END);
    ssize_t w = write(d->fd, line, len + 1);
    if (w != (ssize_t)(len + 1) || fsync(d->fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", d->path,
                 w >= 0 && w != (ssize_t)(len + 1) ? "short write" : strerror(errno));
        /* A torn line would break the file's one-record-per-line promise: cut it off. */
        if (before >= 0 && ftruncate(d->fd, before) != 0) {
            /* nothing more to do: the error above is already being reported */
        }
        close(d->fd);
        d->fd = -1;
        goto out;
    }
    rc = 0;
out:
    free(line);
    return rc;
}
