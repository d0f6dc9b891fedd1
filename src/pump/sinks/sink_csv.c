/* SPDX-License-Identifier: Apache-2.0 */
/* "csv" sink: Tyk's CSV pump layout — one file per hour named <year>-<Month>-<day>-<hour>.csv
 * in meta.csv_dir, a header row of Tyk's field names, Go's encoding/csv quoting. */
#include "pump_sink.h"
#include "sink_text.h"

#include "tk_json.h"
#include "tk_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* analytics.AnalyticsRecord.GetFieldNames() in tyk-pump. */
static const char *const csv_header[] = {
    "Method",
    "Host",
    "Path",
    "RawPath",
    "ContentLength",
    "UserAgent",
    "Day",
    "Month",
    "Year",
    "Hour",
    "ResponseCode",
    "APIKey",
    "TimeStamp",
    "APIVersion",
    "APIName",
    "APIID",
    "OrgID",
    "OauthID",
    "RequestTime",
    "RawRequest",
    "RawResponse",
    "IPAddress",
    "GeoData.Country.ISOCode",
    "GeoData.City.GeoNameID",
    "GeoData.City.Names",
    "GeoData.Location.Latitude",
    "GeoData.Location.Longitude",
    "GeoData.Location.TimeZone",
    "NetworkStats.OpenConnections",
    "NetworkStats.ClosedConnection",
    "NetworkStats.BytesIn",
    "NetworkStats.BytesOut",
    "Latency.Total",
    "Latency.Upstream",
    "Tags",
    "Alias",
    "TrackPath",
    "ExpireAt",
};

/* Exactly once across crashes: before a batch is appended, an intent file records the CSV
 * file and its size; after the data is fsync'd it records the batch's last seq instead. A crash in
 * between leaves the intent, and durable_seq() cuts the file back to that size. */
struct csv_sink {
    char *dir;
    char *state_path;
    uint64_t done;
};

static int state_write(struct csv_sink *s, const char *text)
{
    char tmp[4400];
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->state_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int rc = (write(fd, text, n) == (ssize_t)n && fsync(fd) == 0) ? 0 : -1;
    close(fd);
    if (rc == 0)
        rc = rename(tmp, s->state_path);
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return rc;
}

static int state_done(struct csv_sink *s, uint64_t seq)
{
    char text[64];
    snprintf(text, sizeof(text), "done %llu\n", (unsigned long long)seq);
    return state_write(s, text);
}

static int csv_durable_seq(void *state, uint64_t *seq, char *err, size_t errlen)
{
    struct csv_sink *s = state;
    FILE *f = fopen(s->state_path, "r");
    if (!f) {
        *seq = s->done = 0;
        return 0;
    }
    unsigned long long done = 0, size = 0;
    char path[4096] = "";
    int n = fscanf(f, "done %llu pending %llu %4095[^\n]", &done, &size, path);
    fclose(f);
    if (n == 3) {
        /* A batch was being appended when the pump stopped: take it back. */
        struct stat st;
        if (stat(path, &st) == 0 && (unsigned long long)st.st_size > size) {
            if (truncate(path, (off_t)size) != 0) {
                snprintf(err, errlen, "cannot roll back %s: %s", path, strerror(errno));
                return -1;
            }
            tk_log_warn("csv: rolled back an unfinished batch at the end of %s", path);
        }
        if (state_done(s, done) != 0) {
            snprintf(err, errlen, "cannot write %s: %s", s->state_path, strerror(errno));
            return -1;
        }
    }
    *seq = s->done = done;
    return 0;
}

/* One field the way Go's csv.Writer writes it (comma separator, "\n" line ends). */
static void csv_field(tk_buf_t *b, const char *p, size_t n, bool first)
{
    if (!first)
        tk_buf_append(b, ",", 1);
    bool quote = false;
    if (n == 2 && p[0] == '\\' && p[1] == '.')
        quote = true;
    for (size_t i = 0; i < n && !quote; i++)
        if (p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n')
            quote = true;
    if (n && !quote && (p[0] == ' ' || p[0] == '\t' || p[0] == '\v' || p[0] == '\f'))
        quote = true;
    if (!quote) {
        tk_buf_append(b, p, n);
        return;
    }
    tk_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            tk_buf_append(b, "\"\"", 2);
        else
            tk_buf_append(b, &p[i], 1);
    }
    tk_buf_append(b, "\"", 1);
}

static void f_str(tk_buf_t *b, tk_str_t s)
{
    csv_field(b, s.p ? s.p : "", s.len, false);
}

static void f_cstr(tk_buf_t *b, const char *s)
{
    csv_field(b, s, strlen(s), false);
}

/* strconv.FormatUint(uint64(v), 10): negative values wrap as in Go. */
static void f_u64(tk_buf_t *b, int64_t v)
{
    char tmp[24];
    size_t n = tk_fmt_u64(tmp, (uint64_t)v);
    csv_field(b, tmp, n, false);
}

static int cmp_names(const void *a, const void *b)
{
    const tk_an_name_t *x = a, *y = b;
    size_t n = TK_MIN(x->key.len, y->key.len);
    int c = memcmp(x->key.p, y->key.p, n);
    return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

static void csv_row(tk_buf_t *b, const tk_analytics_record_t *r)
{
    char tmp[128];
    csv_field(b, r->method.p ? r->method.p : "", r->method.len, true);
    f_str(b, r->host);
    f_str(b, r->path);
    f_str(b, r->raw_path);
    f_u64(b, r->content_length);
    f_str(b, r->user_agent);
    f_u64(b, r->day);
    sink_go_month(r->month, tmp, sizeof(tmp));
    f_cstr(b, tmp);
    f_u64(b, r->year);
    f_u64(b, r->hour);
    f_u64(b, r->response_code);
    f_str(b, r->api_key);
    sink_go_time(r->timestamp, tmp, sizeof(tmp));
    f_cstr(b, tmp);
    f_str(b, r->api_version);
    f_str(b, r->api_name);
    f_str(b, r->api_id);
    f_str(b, r->org_id);
    f_str(b, r->oauth_id);
    f_u64(b, r->request_time);
    f_str(b, r->raw_request);
    f_str(b, r->raw_response);
    f_str(b, r->ip_address);
    f_str(b, r->geo.country_iso_code);
    f_u64(b, (int64_t)r->geo.city_geoname_id);
    /* City names sorted by key, "k:v;k:v". */
    tk_buf_t names = {0};
    if (r->geo.n_city_names) {
        tk_an_name_t *sorted = tk_xmalloc(r->geo.n_city_names * sizeof(*sorted));
        memcpy(sorted, r->geo.city_names, r->geo.n_city_names * sizeof(*sorted));
        qsort(sorted, r->geo.n_city_names, sizeof(*sorted), cmp_names);
        for (size_t i = 0; i < r->geo.n_city_names; i++) {
            if (i)
                tk_buf_append(&names, ";", 1);
            tk_buf_append(&names, sorted[i].key.p, sorted[i].key.len);
            tk_buf_append(&names, ":", 1);
            tk_buf_append(&names, sorted[i].value.p, sorted[i].value.len);
        }
        free(sorted);
    }
    csv_field(b, names.data ? names.data : "", names.len, false);
    tk_buf_free(&names);
    /* uint64(float64) on amd64 truncates through int64 for values in range. */
    f_u64(b, (int64_t)r->geo.latitude);
    f_u64(b, (int64_t)r->geo.longitude);
    f_str(b, r->geo.time_zone);
    f_u64(b, r->network.open_connections);
    f_u64(b, r->network.closed_connections);
    f_u64(b, r->network.bytes_in);
    f_u64(b, r->network.bytes_out);
    f_u64(b, r->latency.total);
    f_u64(b, r->latency.upstream);
    tk_buf_t tags = {0};
    for (size_t i = 0; i < r->n_tags; i++) {
        if (i)
            tk_buf_append(&tags, ";", 1);
        tk_buf_append(&tags, r->tags[i].p, r->tags[i].len);
    }
    csv_field(b, tags.data ? tags.data : "", tags.len, false);
    tk_buf_free(&tags);
    f_str(b, r->alias);
    f_cstr(b, r->track_path ? "true" : "false");
    sink_go_time(r->expire_at, tmp, sizeof(tmp));
    f_cstr(b, tmp);
    tk_buf_append(b, "\n", 1);
}

/* mkdir -p, as Go's os.MkdirAll. */
static int mkdir_all(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static int csv_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    json_t *d = json_object_get(conf->meta, "csv_dir");
    if (d && !json_is_string(d)) {
        snprintf(err, errlen, "meta.csv_dir: must be a string (a directory)");
        return -1;
    }
    struct csv_sink *s = tk_xcalloc(1, sizeof(*s));
    const char *dir = d ? json_string_value(d) : "";
    s->dir = tk_xstrdup(*dir ? dir : ".");
    char sp[4400];
    snprintf(sp, sizeof(sp), "%s/.turnpike-csv-%s.state", s->dir, conf->name);
    s->state_path = tk_xstrdup(sp);
    /* As Tyk does: create it now; a failure is only logged (writes fail and retry later). */
    if (mkdir_all(s->dir) != 0)
        tk_log_warn("%s: cannot create csv_dir %s: %s", conf->name, s->dir, strerror(errno));
    *state = s;
    return 0;
}

static int csv_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    struct csv_sink *s = state;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char month[24];
    sink_go_month(tm.tm_mon + 1, month, sizeof(month));
    char path[4300];
    snprintf(path, sizeof(path), "%s/%d-%s-%d-%d.csv", s->dir, tm.tm_year + 1900, month, tm.tm_mday,
             tm.tm_hour);
    if (mkdir_all(s->dir) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", s->dir, strerror(errno));
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    char intent[4500];
    snprintf(intent, sizeof(intent), "done %llu pending %llu %s\n", (unsigned long long)s->done,
             (unsigned long long)st.st_size, path);
    if (state_write(s, intent) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", s->state_path, strerror(errno));
        close(fd);
        return -1;
    }
    tk_buf_t b = {0};
    if (st.st_size == 0) {
        for (size_t i = 0; i < TK_ARRAY_LEN(csv_header); i++)
            csv_field(&b, csv_header[i], strlen(csv_header[i]), i == 0);
        tk_buf_append(&b, "\n", 1);
    }
    for (size_t i = 0; i < batch->n; i++)
        csv_row(&b, batch->items[i].rec);
    const char *p = b.data;
    size_t left = b.len;
    int rc = 0;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = -1;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -1;
    if (rc != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        /* Take back a partial batch so the retry does not leave half a copy behind. */
        if (ftruncate(fd, st.st_size) != 0)
            tk_log_error("csv: cannot cut a failed write in %s: %s", path, strerror(errno));
    }
    close(fd);
    tk_buf_free(&b);
    if (rc == 0 && state_done(s, batch->last_seq) != 0) {
        /* Without the mark the batch counts as not written: take it back so the retry (or a
         * restart's roll-back) leaves exactly one copy. */
        snprintf(err, errlen, "cannot write %s: %s", s->state_path, strerror(errno));
        if (truncate(path, st.st_size) != 0)
            tk_log_error("csv: cannot roll back %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        s->done = batch->last_seq;
    return rc;
}

static void csv_destroy(void *state)
{
    struct csv_sink *s = state;
    free(s->dir);
    free(s->state_path);
    free(s);
}

const pump_sink_ops_t pump_sink_csv = {
    .type = "csv",
    .create = csv_create,
    .write = csv_write,
    .durable_seq = csv_durable_seq,
    .destroy = csv_destroy,
};
