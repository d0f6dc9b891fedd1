/* SPDX-License-Identifier: Apache-2.0 */
/* Audit records: building, storing, appending to the file, and the filtered list. */
#include "dash_audit.h"
#include "dash_util.h"

#include "tk_analytics.h"
#include "tk_hash.h"
#include "tk_log.h"

#include <ctype.h>
#include <errno.h>
#include <event2/http.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define PARAMS_MAX 12

/* The request path rebuilt from the route pattern, with every {...key...} segment masked to its
 * last four characters (keys appear in paths such as /api/keys/{keyId}). */
static void masked_url(const dash_req_t *req, char *out, size_t cap)
{
    const char *pat = req->route ? req->route->pattern : NULL;
    if (!pat) {
        snprintf(out, cap, "%s", req->path);
        return;
    }
    size_t o = 0, param = 0;
    out[0] = '\0';
    for (const char *p = pat; *p && o + 1 < cap;) {
        if (*p != '{') {
            out[o++] = *p++;
            out[o] = '\0';
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            break;
        bool secret = false;
        for (const char *q = p; q + 3 <= close; q++)
            if (strncasecmp(q, "key", 3) == 0)
                secret = true;
        const char *v = dash_param(req, param++);
        size_t vl = strlen(v);
        int n = secret ? snprintf(out + o, cap - o, "****%s", vl > 4 ? v + vl - 4 : "")
                       : snprintf(out + o, cap - o, "%s", v);
        o += n > 0 && (size_t)n < cap - o ? (size_t)n : cap - o - 1;
        p = close + 1;
    }
}

static void client_ip(dash_req_t *req, char *out, size_t cap)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
    char *addr = NULL; /* owned by the connection */
    ev_uint16_t port = 0;
    if (conn)
        evhttp_connection_get_peer(conn, &addr, &port);
    snprintf(out, cap, "%s", addr ? addr : "");
}

static void append_to_file(const char *path, const json_t *rec)
{
    char *line = json_dumps(rec, JSON_COMPACT);
    if (!line)
        return;
    size_t n = strlen(line);
    line[n] = '\n'; /* replaces the NUL: written with its length below */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    /* one write() with O_APPEND: records from several threads never interleave */
    if (fd < 0 || write(fd, line, n + 1) != (ssize_t)(n + 1))
        tk_log_warn("dashboard: audit log %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(line);
}

void dash_audit_record(dash_req_t *req)
{
    if (!req->conf->audit_enabled || !req->route || req->status >= 400)
        return;
    if (strncmp(req->path, "/api/", 5) != 0 && strncmp(req->path, "/admin/", 7) != 0)
        return;
    size_t pl = strlen(req->route->pattern);
    if (pl >= 7 && strcmp(req->route->pattern + pl - 7, "/search") == 0)
        return; /* a search sent as POST changes nothing */
    char id[25], req_id[37], date[64], ip[64], url[1024], action[160];
    dash_new_id(id);
    tk_uuid_str(req_id);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    client_ip(req, ip, sizeof(ip));
    masked_url(req, url, sizeof(url));
    snprintf(action, sizeof(action), "%s %s", req->route->method, req->route->pattern);
    const char *email =
        req->user ? json_string_value(json_object_get(req->user, "email_address")) : NULL;
    const char *uid = req->user ? json_string_value(json_object_get(req->user, "id")) : NULL;
    bool admin_api = req->route->auth == DASH_AUTH_ADMIN;
    /* the key order matters: the list filters match "method", "status" and "ip" as
     * `"name":value,` in the stored text, so none of them may come last */
    json_t *rec =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "id", id, "_id", id,
                  "req_id", req_id, "org_id", req->org_id ? req->org_id : "", "date", date,
                  "timestamp", (json_int_t)now, "ip", ip, "method", req->method, "url", url,
                  "action", action, "status", (json_int_t)req->status, "user",
                  email ? email : (admin_api ? "admin-api" : ""), "user_id", uid ? uid : "");
    if (!rec)
        return;
    if (dash_store_begin(req->store, true) != 0 ||
        dash_store_insert(req->store, DASH_AUDIT, req->org_id ? req->org_id : "", id, rec) !=
            DASH_STORE_OK ||
        dash_store_commit(req->store) != 0) {
        tk_log_warn("dashboard: could not store the audit record of %s %s: %s", req->method,
                    req->path, dash_store_error(req->store));
        if (dash_store_in_tx(req->store))
            dash_store_rollback(req->store);
    }
    if (*req->conf->audit_path)
        append_to_file(req->conf->audit_path, rec);
    json_decref(rec);
}

/* ---- the list -------------------------------------------------------------------------------- */

/* YYYY-MM-DD as Unix milliseconds at 00:00 UTC; false when malformed. */
static bool parse_day(const char *s, int64_t *ms)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    *ms = (int64_t)timegm(&tm) * 1000;
    return true;
}

static bool all_chars(const char *s, const char *allowed)
{
    return *s && strspn(s, allowed) == strlen(s);
}

struct filter {
    char where[1024];
    tk_sqlval_t params[PARAMS_MAX];
    char *owned[PARAMS_MAX];
    size_t n;
    tk_sqldb_t *db;
};

static void add(struct filter *f, const char *cond_fmt, char *value_owned)
{
    char p[16], cond[160];
    tk_sqldb_param(f->db, (int)f->n + 1, p);
    snprintf(cond, sizeof(cond), cond_fmt, p);
    size_t l = strlen(f->where);
    snprintf(f->where + l, sizeof(f->where) - l, " AND %s", cond);
    f->owned[f->n] = value_owned;
    f->params[f->n] = TK_SQLV_TEXT(((tk_str_t){.p = value_owned, .len = strlen(value_owned)}));
    f->n++;
}

static void add_int(struct filter *f, const char *cond_fmt, int64_t v)
{
    char p[16], cond[160];
    tk_sqldb_param(f->db, (int)f->n + 1, p);
    snprintf(cond, sizeof(cond), cond_fmt, p);
    size_t l = strlen(f->where);
    snprintf(f->where + l, sizeof(f->where) - l, " AND %s", cond);
    f->owned[f->n] = NULL;
    f->params[f->n++] = TK_SQLV_INT(v);
}

static char *printf_dup(const char *fmt, const char *v)
{
    size_t n = strlen(fmt) + strlen(v) + 1;
    char *s = tk_xmalloc(n);
    snprintf(s, n, fmt, v);
    return s;
}

/* Builds the WHERE clause from the query; stages a 400 and returns false on a bad filter. The
 * method, status and ip filters are checked to hold only safe characters and then matched as
 * `"name":value,` inside the stored JSON text (which this file writes, key order known). */
static bool build_filter(dash_req_t *req, struct filter *f)
{
    bool pg = tk_sqldb_kind(f->db) == TK_SQLDB_POSTGRES;
    snprintf(f->where, sizeof(f->where), " WHERE 1 = 1");
    add(f, "org_id = %s", tk_xstrdup(req->org_id));
    const char *v;
    if ((v = dash_query(req, "user")) && *v)
        add(f, "user_id = %s", tk_xstrdup(v));
    if ((v = dash_query(req, "action")) && *v)
        add(f, "action = %s", tk_xstrdup(v));
    if ((v = dash_query(req, "url")) && *v) /* a case-sensitive substring, as Tyk documents */
        add(f, pg ? "strpos(name, %s) > 0" : "instr(name, %s) > 0", tk_xstrdup(v));
    if ((v = dash_query(req, "method")) && *v) {
        if (strlen(v) > 16 ||
            !all_chars(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
            dash_reply_error(req, 400, "method must be an HTTP method such as POST");
            return false;
        }
        char upper[17];
        size_t i = 0;
        for (; v[i]; i++)
            upper[i] = (char)toupper((unsigned char)v[i]);
        upper[i] = '\0';
        add(f, "data LIKE %s", printf_dup("%%\"method\":\"%s\",%%", upper));
    }
    if ((v = dash_query(req, "status")) && *v) {
        if (strlen(v) != 3 || !all_chars(v, "0123456789")) {
            dash_reply_error(req, 400, "status must be an HTTP status code such as 200");
            return false;
        }
        add(f, "data LIKE %s", printf_dup("%%\"status\":%s,%%", v));
    }
    if ((v = dash_query(req, "ip")) && *v) {
        if (strlen(v) > 45 || !all_chars(v, "0123456789abcdefABCDEF.:")) {
            dash_reply_error(req, 400, "ip must be an IPv4 or IPv6 address");
            return false;
        }
        add(f, "data LIKE %s", printf_dup("%%\"ip\":\"%s\",%%", v));
    }
    int64_t ms;
    if ((v = dash_query(req, "from_date")) && *v) {
        if (!parse_day(v, &ms)) {
            dash_reply_error(req, 400, "from_date must be a date as YYYY-MM-DD");
            return false;
        }
        add_int(f, "created_at >= %s", ms);
    }
    if ((v = dash_query(req, "to_date")) && *v) {
        if (!parse_day(v, &ms)) {
            dash_reply_error(req, 400, "to_date must be a date as YYYY-MM-DD");
            return false;
        }
        add_int(f, "created_at < %s", ms + 86400000); /* the whole of that day */
    }
    return true;
}

static void filter_free(struct filter *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->owned[i]);
}

static int append_doc(void *ud, size_t ncols, const char *const *vals, const size_t *lens)
{
    json_t *doc = ncols >= 1 && vals[0] ? json_loadb(vals[0], lens[0], 0, NULL) : NULL;
    if (doc)
        json_array_append_new(ud, doc);
    return 0;
}

/* One CSV field: quoted when it holds a comma, quote or line break (quotes doubled). */
static void csv_field(tk_buf_t *b, const json_t *v)
{
    char num[32];
    const char *s = json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
    }
    if (!s)
        s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        tk_buf_append(b, s, strlen(s));
        return;
    }
    tk_buf_append(b, "\"", 1);
    for (const char *c = s; *c; c++) {
        if (*c == '"')
            tk_buf_append(b, "\"", 1);
        tk_buf_append(b, c, 1);
    }
    tk_buf_append(b, "\"", 1);
}

/* ?download=true: every match as a file, JSON (an array) or, with ?type=csv, CSV. */
static void reply_download(dash_req_t *req, json_t *items)
{
    const char *type = dash_query(req, "type");
    if (!type || strcasecmp(type, "csv") != 0) {
        char *text = json_dumps(items, JSON_COMPACT);
        dash_reply_raw(req, 200, "application/json", text ? text : "[]", text ? strlen(text) : 2);
        dash_reply_header(req, "Content-Disposition", "attachment; filename=\"audit-logs.json\"");
        free(text);
        return;
    }
    static const char *const cols[] = {"id",   "req_id", "org_id", "date", "timestamp", "ip",
                                       "user", "action", "method", "url",  "status"};
    tk_buf_t b = {0};
    for (size_t i = 0; i < TK_ARRAY_LEN(cols); i++) {
        if (i)
            tk_buf_append(&b, ",", 1);
        tk_buf_append(&b, cols[i], strlen(cols[i]));
    }
    tk_buf_append(&b, "\r\n", 2);
    size_t n;
    json_t *rec;
    json_array_foreach(items, n, rec)
    {
        for (size_t i = 0; i < TK_ARRAY_LEN(cols); i++) {
            if (i)
                tk_buf_append(&b, ",", 1);
            csv_field(&b, json_object_get(rec, cols[i]));
        }
        tk_buf_append(&b, "\r\n", 2);
    }
    dash_reply_raw(req, 200, "text/csv", b.data ? b.data : "", b.len);
    dash_reply_header(req, "Content-Disposition", "attachment; filename=\"audit-logs.csv\"");
    tk_buf_free(&b);
}

void dash_audit_list(dash_req_t *req)
{
    const char *table = dash_kind_desc(DASH_AUDIT)->table;
    struct filter f = {.db = dash_store_db(req->store)};
    if (!build_filter(req, &f)) {
        filter_free(&f);
        return;
    }
    char sql[1400], err[256];
    const char *dl = dash_query(req, "download");
    bool download = dl && (strcmp(dl, "true") == 0 || strcmp(dl, "1") == 0);
    int64_t total = 0, page = download ? 0 : dash_page(req),
            ps = req->conf->page_size > 0 ? req->conf->page_size : 10;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s%s", table, f.where);
    json_t *items = json_array();
    int rc = tk_sqldb_query_int(f.db, sql, f.params, f.n, &total, NULL, err, sizeof(err));
    if (rc == 0) {
        char limit[64] = "";
        if (page > 0)
            snprintf(limit, sizeof(limit), " LIMIT %" PRId64 " OFFSET %" PRId64, ps,
                     (page - 1) * ps);
        snprintf(sql, sizeof(sql), "SELECT data FROM %s%s ORDER BY created_at DESC, id DESC%s",
                 table, f.where, limit);
        rc = tk_sqldb_query_rows(f.db, sql, f.params, f.n, append_doc, items, err, sizeof(err));
    }
    filter_free(&f);
    if (rc != 0) {
        json_decref(items);
        tk_log_error("dashboard: audit log query: %s", err);
        dash_reply_error(req, 400, "could not retrieve audit records");
        return;
    }
    if (download) {
        reply_download(req, items);
        json_decref(items);
        return;
    }
    int64_t pages = page > 0 ? (total + ps - 1) / ps : 1;
    json_t *o = json_object();
    json_object_set_new(o, "audit_logs", items);
    json_object_set_new(o, "pages", json_integer(pages < 1 ? 1 : pages));
    dash_reply_json(req, 200, o);
}
