/* SPDX-License-Identifier: Apache-2.0 */
/* Document tables over tk_sqldb: schema, CRUD, paging, locks. */
#include "dash_store.h"

#include "tk_json.h"
#include "tk_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_MAX 1024

static const dash_kind_desc_t kinds[DASH_KIND_COUNT] = {
    [DASH_ORG] =
        {"tyk_organizations", "organisation", {"cname", NULL}, {"cname", NULL}, "owner_name"},
    [DASH_USER] = {"tyk_analytics_users",
                   "user",
                   {"email_address", "access_key"},
                   {"email_address", "access_key"},
                   "email_address"},
    [DASH_USER_GROUP] =
        {"tyk_analytics_usergroups", "user group", {NULL, NULL}, {NULL, NULL}, "name"},
    [DASH_API] = {"tyk_apis",
                  "API",
                  {"api_id", "listen_path"},
                  {"api_definition.api_id", "api_definition.proxy.listen_path"},
                  "api_definition.name"},
    [DASH_POLICY] = {"tyk_policies", "policy", {"policy_id", NULL}, {"id", NULL}, "name"},
    [DASH_HOOK] = {"tyk_webhooks", "webhook", {NULL, NULL}, {NULL, NULL}, "name"},
    [DASH_AUDIT] =
        {"tyk_audit_logs", "audit record", {"user_id", "action"}, {"user", "action"}, "url"},
    [DASH_PORTAL_DEVELOPER] =
        {"portal_developers", "developer", {"email", NULL}, {"email", NULL}, "email"},
    [DASH_PORTAL_CATALOGUE] = {"portal_catalogue", "catalogue", {NULL, NULL}, {NULL, NULL}, NULL},
    [DASH_PORTAL_KEY_REQUEST] =
        {"portal_key_requests", "key request", {"by_user", NULL}, {"by_user", NULL}, NULL},
    [DASH_PORTAL_CONFIG] =
        {"portal_configurations", "portal configuration", {NULL, NULL}, {NULL, NULL}, NULL},
    [DASH_PORTAL_PAGE] = {"portal_pages", "page", {"slug", NULL}, {"slug", NULL}, "title"},
    [DASH_PORTAL_MENU] = {"portal_menus", "menu", {NULL, NULL}, {NULL, NULL}, NULL},
    [DASH_PORTAL_DOC] =
        {"portal_documentation", "documentation", {"api_id", NULL}, {"api_id", NULL}, NULL},
    [DASH_ASSET] = {"tyk_assets", "asset", {"kind", NULL}, {"kind", NULL}, "name"},
};

/* Columns that must be unique, beyond every table's id. */
static const char *const unique_indexes[] = {
    "CREATE UNIQUE INDEX IF NOT EXISTS tyk_analytics_users_key ON tyk_analytics_users "
    "(access_key)",
    "CREATE UNIQUE INDEX IF NOT EXISTS tyk_apis_api_id_unique ON tyk_apis (api_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS tyk_policies_policy_id_unique ON tyk_policies "
    "(policy_id)",
};

struct dash_store {
    tk_sqldb_t *db;
    char err[512];
    bool in_tx;
};

const dash_kind_desc_t *dash_kind_desc(enum dash_kind k)
{
    return &kinds[k];
}

dash_store_t *dash_store_new(enum tk_sqldb_kind kind, const char *conninfo, double timeout_s)
{
    dash_store_t *st = tk_xcalloc(1, sizeof(*st));
    st->db = tk_sqldb_new(kind, conninfo, timeout_s);
    return st;
}

void dash_store_free(dash_store_t *st)
{
    if (!st)
        return;
    tk_sqldb_free(st->db);
    free(st);
}

const char *dash_store_error(const dash_store_t *st)
{
    return st->err;
}

tk_sqldb_t *dash_store_db(dash_store_t *st)
{
    return st->db;
}

static int failed(dash_store_t *st)
{
    return tk_sqldb_error_conflict(st->db) ? DASH_STORE_CONFLICT : DASH_STORE_ERROR;
}

/* ---- schema ---------------------------------------------------------------------------------- */

static int exec(dash_store_t *st, const char *sql)
{
    return tk_sqldb_exec(st->db, sql, st->err, sizeof(st->err)) == 0 ? 0 : DASH_STORE_ERROR;
}

static int create_tables(dash_store_t *st)
{
    char sql[SQL_MAX];
    for (int k = 0; k < DASH_KIND_COUNT; k++) {
        const dash_kind_desc_t *d = &kinds[k];
        char extra[96] = "";
        for (int c = 0; c < 2; c++) {
            size_t l = strlen(extra);
            if (d->col[c])
                snprintf(extra + l, sizeof(extra) - l, ", %s TEXT", d->col[c]);
        }
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE IF NOT EXISTS %s (id TEXT PRIMARY KEY, org_id TEXT NOT NULL "
                 "DEFAULT '', name TEXT NOT NULL DEFAULT ''%s, data TEXT NOT NULL, "
                 "created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
                 d->table, extra);
        if (exec(st, sql) != 0)
            return DASH_STORE_ERROR;
        snprintf(sql, sizeof(sql), "CREATE INDEX IF NOT EXISTS %s_org ON %s (org_id, created_at)",
                 d->table, d->table);
        if (exec(st, sql) != 0)
            return DASH_STORE_ERROR;
        for (int c = 0; c < 2; c++) {
            if (!d->col[c])
                continue;
            snprintf(sql, sizeof(sql), "CREATE INDEX IF NOT EXISTS %s_%s ON %s (%s)", d->table,
                     d->col[c], d->table, d->col[c]);
            if (exec(st, sql) != 0)
                return DASH_STORE_ERROR;
        }
    }
    for (size_t i = 0; i < TK_ARRAY_LEN(unique_indexes); i++)
        if (exec(st, unique_indexes[i]) != 0)
            return DASH_STORE_ERROR;
    return exec(st, "CREATE TABLE IF NOT EXISTS dash_kv (key TEXT PRIMARY KEY, value TEXT NOT "
                    "NULL)");
}

int dash_store_migrate(dash_store_t *st)
{
    if (dash_store_begin(st, true) != 0)
        return DASH_STORE_ERROR;
    /* several dashboards may start at once on one PostgreSQL: one migrates, the others wait */
    if (tk_sqldb_kind(st->db) == TK_SQLDB_POSTGRES &&
        exec(st, "SELECT pg_advisory_xact_lock(7243170101)") != 0)
        goto fail;
    if (exec(st, "CREATE TABLE IF NOT EXISTS dash_schema (version BIGINT NOT NULL)") != 0)
        goto fail;
    int64_t version = 0;
    bool found = false;
    if (tk_sqldb_query_int(st->db, "SELECT max(version) FROM dash_schema", NULL, 0, &version,
                           &found, st->err, sizeof(st->err)) != 0)
        goto fail;
    if (version < 1) {
        if (create_tables(st) != 0 || exec(st, "INSERT INTO dash_schema (version) VALUES (1)"))
            goto fail;
        tk_log_info("dashboard: database schema created (version 1)");
    }
    return dash_store_commit(st);
fail:
    dash_store_rollback(st);
    return DASH_STORE_ERROR;
}

/* ---- transactions ---------------------------------------------------------------------------- */

int dash_store_begin(dash_store_t *st, bool write)
{
    int rc = write ? tk_sqldb_begin(st->db, st->err, sizeof(st->err))
                   : tk_sqldb_exec(st->db, "BEGIN", st->err, sizeof(st->err));
    if (rc != 0)
        return DASH_STORE_ERROR;
    st->in_tx = true;
    return 0;
}

int dash_store_commit(dash_store_t *st)
{
    st->in_tx = false;
    if (tk_sqldb_commit(st->db, st->err, sizeof(st->err)) != 0) {
        tk_sqldb_rollback(st->db);
        return DASH_STORE_ERROR;
    }
    return 0;
}

void dash_store_rollback(dash_store_t *st)
{
    st->in_tx = false;
    tk_sqldb_rollback(st->db);
}

bool dash_store_in_tx(const dash_store_t *st)
{
    return st->in_tx;
}

int dash_store_lock(dash_store_t *st, enum dash_kind k, const char *org)
{
    if (tk_sqldb_kind(st->db) != TK_SQLDB_POSTGRES)
        return 0;
    /* FNV-1a of kind and org: a 64-bit advisory lock id */
    uint64_t h = 1469598103934665603ull ^ (uint64_t)k;
    for (const char *p = org ? org : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    tk_sqlval_t v = TK_SQLV_INT((int64_t)h);
    return tk_sqldb_exec_params(st->db, "SELECT pg_advisory_xact_lock($1)", &v, 1, st->err,
                                sizeof(st->err)) == 0
               ? 0
               : DASH_STORE_ERROR;
}

/* ---- documents ------------------------------------------------------------------------------- */

static tk_str_t str_of(const char *s)
{
    return (tk_str_t){.p = s ? s : "", .len = s ? strlen(s) : 0};
}

/* The text of the JSON value at @path of @doc when it is a string (or a number), else NULL. */
static char *extract(const json_t *doc, const char *path)
{
    if (!path)
        return NULL;
    const json_t *v = tk_json_get_path(doc, path);
    if (json_is_string(v))
        return json_string_length(v) ? tk_xstrdup(json_string_value(v)) : NULL;
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return tk_xstrdup(b);
    }
    return NULL;
}

struct one_doc {
    json_t *doc;
};

static int take_doc(void *ud, size_t ncols, const char *const *vals, const size_t *lens)
{
    struct one_doc *o = ud;
    if (ncols < 1 || !vals[0])
        return 0;
    json_decref(o->doc);
    o->doc = json_loadb(vals[0], lens[0], 0, NULL);
    return 1; /* one row is enough */
}

static int get_where(dash_store_t *st, enum dash_kind k, const char *org, const char *col,
                     const char *value, json_t **out)
{
    char sql[SQL_MAX], p1[16], p2[16];
    tk_sqlval_t params[2] = {TK_SQLV_TEXT(str_of(value)), TK_SQLV_TEXT(str_of(org))};
    snprintf(sql, sizeof(sql), "SELECT data FROM %s WHERE %s = %s%s%s", kinds[k].table, col,
             tk_sqldb_param(st->db, 1, p1), org ? " AND org_id = " : "",
             org ? tk_sqldb_param(st->db, 2, p2) : "");
    struct one_doc o = {0};
    int rc = tk_sqldb_query_rows(st->db, sql, params, org ? 2 : 1, take_doc, &o, st->err,
                                 sizeof(st->err));
    if (rc < 0) {
        json_decref(o.doc);
        return DASH_STORE_ERROR;
    }
    if (!o.doc)
        return DASH_STORE_NOT_FOUND;
    *out = o.doc;
    return DASH_STORE_OK;
}

int dash_store_get(dash_store_t *st, enum dash_kind k, const char *org, const char *id,
                   json_t **out)
{
    return get_where(st, k, org, "id", id, out);
}

int dash_store_find(dash_store_t *st, enum dash_kind k, const char *org, int col, const char *value,
                    json_t **out)
{
    if (col < 0 || col > 1 || !kinds[k].col[col])
        return DASH_STORE_NOT_FOUND;
    return get_where(st, k, org, kinds[k].col[col], value, out);
}

/* The values every write binds: id, org, name, col0, col1, data, now. */
struct row {
    char *name, *c0, *c1, *data;
    tk_sqlval_t v[7];
};

static void row_build(struct row *r, enum dash_kind k, const char *org, const char *id,
                      const json_t *doc)
{
    const dash_kind_desc_t *d = &kinds[k];
    r->name = extract(doc, d->name_path);
    r->c0 = extract(doc, d->path[0]);
    r->c1 = extract(doc, d->path[1]);
    r->data = json_dumps(doc, JSON_COMPACT);
    r->v[0] = TK_SQLV_TEXT(str_of(id));
    r->v[1] = TK_SQLV_TEXT(str_of(org));
    r->v[2] = TK_SQLV_TEXT(str_of(r->name));
    r->v[3] = r->c0 ? TK_SQLV_TEXT(str_of(r->c0)) : (tk_sqlval_t){.type = TK_SQL_NULL};
    r->v[4] = r->c1 ? TK_SQLV_TEXT(str_of(r->c1)) : (tk_sqlval_t){.type = TK_SQL_NULL};
    r->v[5] = TK_SQLV_TEXT(str_of(r->data));
    r->v[6] = TK_SQLV_INT((int64_t)(tk_wall_ns() / 1000000));
}

static void row_free(struct row *r)
{
    free(r->name);
    free(r->c0);
    free(r->c1);
    free(r->data);
}

int dash_store_insert(dash_store_t *st, enum dash_kind k, const char *org, const char *id,
                      const json_t *doc)
{
    const dash_kind_desc_t *d = &kinds[k];
    struct row r;
    row_build(&r, k, org, id, doc);
    char sql[SQL_MAX], p[7][16];
    for (int i = 0; i < 7; i++)
        tk_sqldb_param(st->db, i + 1, p[i]);
    char cols[128] = "", vals[128] = "";
    tk_sqlval_t params[7];
    size_t n = 0;
    params[n++] = r.v[0];
    params[n++] = r.v[1];
    params[n++] = r.v[2];
    for (int c = 0; c < 2; c++) {
        if (!d->col[c])
            continue;
        size_t cl = strlen(cols), vl = strlen(vals);
        snprintf(cols + cl, sizeof(cols) - cl, ", %s", d->col[c]);
        snprintf(vals + vl, sizeof(vals) - vl, ", %s", p[n]);
        params[n++] = r.v[3 + c];
    }
    char pd[16], pt[16];
    tk_sqldb_param(st->db, (int)n + 1, pd);
    tk_sqldb_param(st->db, (int)n + 2, pt);
    params[n++] = r.v[5];
    params[n++] = r.v[6];
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s (id, org_id, name%s, data, created_at, updated_at) VALUES (%s, %s, "
             "%s%s, %s, %s, %s)",
             d->table, cols, p[0], p[1], p[2], vals, pd, pt, pt);
    int rc = tk_sqldb_exec_params(st->db, sql, params, n, st->err, sizeof(st->err));
    row_free(&r);
    return rc == 0 ? DASH_STORE_OK : failed(st);
}

int dash_store_update(dash_store_t *st, enum dash_kind k, const char *org, const char *id,
                      const json_t *doc)
{
    const dash_kind_desc_t *d = &kinds[k];
    struct row r;
    row_build(&r, k, org, id, doc);
    char sql[SQL_MAX], p[8][16];
    for (int i = 0; i < 8; i++)
        tk_sqldb_param(st->db, i + 1, p[i]);
    tk_sqlval_t params[8];
    size_t n = 0;
    char sets[160] = "";
    params[n++] = r.v[2]; /* name */
    for (int c = 0; c < 2; c++) {
        if (!d->col[c])
            continue;
        size_t l = strlen(sets);
        snprintf(sets + l, sizeof(sets) - l, ", %s = %s", d->col[c], p[n]);
        params[n++] = r.v[3 + c];
    }
    size_t pdata = n, ptime = n + 1, pid = n + 2, porg = n + 3;
    params[n++] = r.v[5];
    params[n++] = r.v[6];
    params[n++] = r.v[0];
    if (org)
        params[n++] = r.v[1];
    snprintf(sql, sizeof(sql),
             "UPDATE %s SET name = %s%s, data = %s, updated_at = %s WHERE id = %s%s%s", d->table,
             p[0], sets, p[pdata], p[ptime], p[pid], org ? " AND org_id = " : "",
             org ? p[porg] : "");
    int rc = tk_sqldb_exec_params(st->db, sql, params, n, st->err, sizeof(st->err));
    row_free(&r);
    if (rc != 0)
        return failed(st);
    return tk_sqldb_changes(st->db) > 0 ? DASH_STORE_OK : DASH_STORE_NOT_FOUND;
}

int dash_store_delete(dash_store_t *st, enum dash_kind k, const char *org, const char *id)
{
    char sql[SQL_MAX], p1[16], p2[16];
    tk_sqlval_t params[2] = {TK_SQLV_TEXT(str_of(id)), TK_SQLV_TEXT(str_of(org))};
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = %s%s%s", kinds[k].table,
             tk_sqldb_param(st->db, 1, p1), org ? " AND org_id = " : "",
             org ? tk_sqldb_param(st->db, 2, p2) : "");
    if (tk_sqldb_exec_params(st->db, sql, params, org ? 2 : 1, st->err, sizeof(st->err)) != 0)
        return DASH_STORE_ERROR;
    return tk_sqldb_changes(st->db) > 0 ? DASH_STORE_OK : DASH_STORE_NOT_FOUND;
}

/* ---- lists ----------------------------------------------------------------------------------- */

/* WHERE clause and parameters for @q; returns the number of parameters. */
static size_t list_where(dash_store_t *st, enum dash_kind k, const dash_list_query_t *q,
                         char *where, size_t cap, tk_sqlval_t *params, char *like, size_t likecap)
{
    size_t n = 0;
    char p[16];
    snprintf(where, cap, " WHERE 1 = 1");
    if (q->org) {
        size_t l = strlen(where);
        snprintf(where + l, cap - l, " AND org_id = %s", tk_sqldb_param(st->db, (int)n + 1, p));
        params[n++] = TK_SQLV_TEXT(str_of(q->org));
    }
    if (q->q && *q->q) {
        /* escape LIKE's wildcards so q= is a plain substring */
        size_t o = 0;
        like[o++] = '%';
        for (const char *s = q->q; *s && o + 3 < likecap; s++) {
            if (*s == '%' || *s == '_' || *s == '\\')
                like[o++] = '\\';
            like[o++] = *s;
        }
        like[o++] = '%';
        like[o] = '\0';
        size_t l = strlen(where);
        snprintf(where + l, cap - l, " AND lower(name) LIKE lower(%s) ESCAPE '\\'",
                 tk_sqldb_param(st->db, (int)n + 1, p));
        params[n++] = TK_SQLV_TEXT(str_of(like));
    }
    if (q->value && q->col >= 0 && q->col <= 1 && kinds[k].col[q->col]) {
        size_t l = strlen(where);
        snprintf(where + l, cap - l, " AND %s = %s", kinds[k].col[q->col],
                 tk_sqldb_param(st->db, (int)n + 1, p));
        params[n++] = TK_SQLV_TEXT(str_of(q->value));
    }
    return n;
}

int dash_store_count(dash_store_t *st, enum dash_kind k, const dash_list_query_t *q, int64_t *count)
{
    char where[512], like[512], sql[SQL_MAX];
    tk_sqlval_t params[4];
    size_t n = list_where(st, k, q, where, sizeof(where), params, like, sizeof(like));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s%s", kinds[k].table, where);
    *count = 0;
    return tk_sqldb_query_int(st->db, sql, params, n, count, NULL, st->err, sizeof(st->err)) == 0
               ? 0
               : DASH_STORE_ERROR;
}

static int append_doc(void *ud, size_t ncols, const char *const *vals, const size_t *lens)
{
    json_t *arr = ud;
    if (ncols >= 1 && vals[0]) {
        json_t *doc = json_loadb(vals[0], lens[0], 0, NULL);
        if (doc)
            json_array_append_new(arr, doc);
    }
    return 0;
}

int dash_store_list(dash_store_t *st, enum dash_kind k, const dash_list_query_t *q, json_t **out,
                    int64_t *pages)
{
    int64_t total = 0;
    if (pages) {
        if (dash_store_count(st, k, q, &total) != 0)
            return DASH_STORE_ERROR;
        int64_t ps = q->page_size > 0 ? q->page_size : 10;
        *pages = q->page > 0 ? (total + ps - 1) / ps : 1;
        if (*pages < 1)
            *pages = 1;
    }
    char where[512], like[512], sql[SQL_MAX], limit[64] = "";
    tk_sqlval_t params[4];
    size_t n = list_where(st, k, q, where, sizeof(where), params, like, sizeof(like));
    if (q->page > 0) {
        int64_t ps = q->page_size > 0 ? q->page_size : 10;
        snprintf(limit, sizeof(limit), " LIMIT %" PRId64 " OFFSET %" PRId64, ps,
                 (q->page - 1) * ps);
    }
    snprintf(sql, sizeof(sql), "SELECT data FROM %s%s ORDER BY created_at %s, id%s", kinds[k].table,
             where, q->newest_first ? "DESC" : "ASC", limit);
    json_t *arr = json_array();
    if (tk_sqldb_query_rows(st->db, sql, params, n, append_doc, arr, st->err, sizeof(st->err)) !=
        0) {
        json_decref(arr);
        return DASH_STORE_ERROR;
    }
    *out = arr;
    return DASH_STORE_OK;
}

/* ---- key/value ------------------------------------------------------------------------------- */

static int take_text(void *ud, size_t ncols, const char *const *vals, const size_t *lens)
{
    char **out = ud;
    if (ncols >= 1 && vals[0])
        *out = tk_xstrndup(vals[0], lens[0]);
    return 1;
}

int dash_store_kv_get(dash_store_t *st, const char *key, char **value)
{
    char sql[128], p[16];
    *value = NULL;
    snprintf(sql, sizeof(sql), "SELECT value FROM dash_kv WHERE key = %s",
             tk_sqldb_param(st->db, 1, p));
    tk_sqlval_t v = TK_SQLV_TEXT(str_of(key));
    if (tk_sqldb_query_rows(st->db, sql, &v, 1, take_text, value, st->err, sizeof(st->err)) < 0)
        return DASH_STORE_ERROR;
    return *value ? DASH_STORE_OK : DASH_STORE_NOT_FOUND;
}

int dash_store_kv_set(dash_store_t *st, const char *key, const char *value)
{
    char sql[256], p1[16], p2[16];
    snprintf(sql, sizeof(sql),
             "INSERT INTO dash_kv (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET "
             "value = excluded.value",
             tk_sqldb_param(st->db, 1, p1), tk_sqldb_param(st->db, 2, p2));
    tk_sqlval_t v[2] = {TK_SQLV_TEXT(str_of(key)), TK_SQLV_TEXT(str_of(value))};
    return tk_sqldb_exec_params(st->db, sql, v, 2, st->err, sizeof(st->err)) == 0
               ? 0
               : DASH_STORE_ERROR;
}
