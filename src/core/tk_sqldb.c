/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking PostgreSQL (libpq) / SQLite access for one thread: connect, exec, rows, bulk insert. */
#include "tk_sqldb.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#define STMT_CACHE 4

struct tk_sqldb {
    enum tk_sqldb_kind kind;
    char *conninfo;
    double timeout_s;
    PGconn *pg;
    sqlite3 *lite;
    struct {
        char *sql;
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE]; /* SQLite prepared statements, reused across batches */
    unsigned cache_next;
    tk_buf_t scratch; /* encoded parameter text / COPY data */
    bool data_error;  /* see tk_sqldb_error_permanent */
    bool conflict;    /* see tk_sqldb_error_conflict */
    int64_t changes;  /* rows changed by the last statement */
};

static const char *app_name = "turnpike";

void tk_sqldb_set_application_name(const char *name)
{
    app_name = name;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* libpq messages end with a newline; one-line errors read better in logs */
    size_t n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
    for (char *p = err; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

int tk_sqldb_kind_parse(const char *type, enum tk_sqldb_kind *kind, char *err, size_t errlen)
{
    if (type && (strcasecmp(type, "postgres") == 0 || strcasecmp(type, "postgresql") == 0)) {
        *kind = TK_SQLDB_POSTGRES;
        return 0;
    }
    if (type && (strcasecmp(type, "sqlite") == 0 || strcasecmp(type, "sqlite3") == 0)) {
        *kind = TK_SQLDB_SQLITE;
        return 0;
    }
    if (type && strcasecmp(type, "mysql") == 0)
        seterr(err, errlen, "meta.type \"mysql\" is not supported: use \"postgres\" or \"sqlite\"");
    else
        seterr(err, errlen,
               "meta.type \"%s\" is not a supported SQL database: use \"postgres\" or "
               "\"sqlite\"",
               type ? type : "");
    return -1;
}

tk_sqldb_t *tk_sqldb_new(enum tk_sqldb_kind kind, const char *conninfo, double timeout_s)
{
    tk_sqldb_t *db = tk_xcalloc(1, sizeof(*db));
    db->kind = kind;
    db->conninfo = tk_xstrdup(conninfo ? conninfo : "");
    db->timeout_s = timeout_s > 0 ? timeout_s : 10;
    return db;
}

enum tk_sqldb_kind tk_sqldb_kind(const tk_sqldb_t *db)
{
    return db->kind;
}

void tk_sqldb_disconnect(tk_sqldb_t *db)
{
    for (unsigned i = 0; i < STMT_CACHE; i++) {
        if (db->cache[i].stmt)
            sqlite3_finalize(db->cache[i].stmt);
        free(db->cache[i].sql);
        db->cache[i].stmt = NULL;
        db->cache[i].sql = NULL;
    }
    if (db->pg)
        PQfinish(db->pg);
    db->pg = NULL;
    if (db->lite)
        sqlite3_close_v2(db->lite);
    db->lite = NULL;
}

void tk_sqldb_free(tk_sqldb_t *db)
{
    if (!db)
        return;
    tk_sqldb_disconnect(db);
    tk_buf_free(&db->scratch);
    free(db->conninfo);
    free(db);
}

/* ---- PostgreSQL connection string ------------------------------------------------------------ */

static bool pg_known_keyword(const char *key)
{
    PQconninfoOption *opts = PQconndefaults();
    bool known = false;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            known = true;
    PQconninfoFree(opts);
    return known;
}

static void append_quoted(tk_buf_t *b, const char *s, size_t n)
{
    tk_buf_append(b, "'", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'' || s[i] == '\\')
            tk_buf_append(b, "\\", 1);
        tk_buf_append(b, &s[i], 1);
    }
    tk_buf_append(b, "'", 1);
}

/* gorm's DSNs are libpq key=value strings plus pgx extras (TimeZone=...). libpq refuses unknown
 * keys, so those move into `options` as server run-time settings, which is what pgx does. */
static char *pg_rewrite_conninfo(const char *in)
{
    if (strncmp(in, "postgres://", 11) == 0 || strncmp(in, "postgresql://", 13) == 0)
        return tk_xstrdup(in);
    tk_buf_t out = {0}, extra = {0};
    const char *p = in;
    char key[64];
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t kl = 0;
        while (*p && *p != '=' && !isspace((unsigned char)*p)) {
            if (kl + 1 < sizeof(key))
                key[kl++] = *p;
            p++;
        }
        key[kl] = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '=')
            p++;
        while (isspace((unsigned char)*p))
            p++;
        tk_buf_t val = {0};
        if (*p == '\'') {
            p++;
            while (*p && *p != '\'') {
                if (*p == '\\' && p[1])
                    p++;
                tk_buf_append(&val, p, 1);
                p++;
            }
            if (*p == '\'')
                p++;
        } else {
            while (*p && !isspace((unsigned char)*p)) {
                if (*p == '\\' && p[1])
                    p++;
                tk_buf_append(&val, p, 1);
                p++;
            }
        }
        if (kl == 0) {
            tk_buf_free(&val);
            continue;
        }
        if (strcmp(key, "options") != 0 && !pg_known_keyword(key)) {
            /* "-c key=value", escaping spaces as libpq's options parser expects */
            tk_buf_append(&extra, " -c ", 4);
            tk_buf_append(&extra, key, kl);
            tk_buf_append(&extra, "=", 1);
            for (size_t i = 0; i < val.len; i++) {
                if (val.data[i] == ' ' || val.data[i] == '\\')
                    tk_buf_append(&extra, "\\", 1);
                tk_buf_append(&extra, &val.data[i], 1);
            }
        } else if (strcmp(key, "options") == 0) {
            tk_buf_append(&extra, " ", 1);
            tk_buf_append(&extra, val.data ? val.data : "", val.len);
        } else {
            tk_buf_append(&out, key, kl);
            tk_buf_append(&out, "=", 1);
            append_quoted(&out, val.data ? val.data : "", val.len);
            tk_buf_append(&out, " ", 1);
        }
        tk_buf_free(&val);
    }
    if (extra.len) {
        tk_buf_append(&out, "options=", 8);
        append_quoted(&out, extra.data + 1, extra.len - 1);
    }
    tk_buf_append(&out, "", 1);
    tk_buf_free(&extra);
    return out.data;
}

static int pg_connect(tk_sqldb_t *db, char *err, size_t errlen)
{
    char *conninfo = pg_rewrite_conninfo(db->conninfo);
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%d", (int)(db->timeout_s < 2 ? 2 : db->timeout_s));
    /* connect_timeout first so that one given in the connection string wins */
    const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
    const char *vals[] = {timeout, conninfo, app_name, NULL};
    db->pg = PQconnectdbParams(keys, vals, 1);
    free(conninfo);
    if (!db->pg || PQstatus(db->pg) != CONNECTION_OK) {
        seterr(err, errlen, "postgres connect: %s",
               db->pg ? PQerrorMessage(db->pg) : "out of memory");
        tk_sqldb_disconnect(db);
        return -1;
    }
    return 0;
}

static void ignore_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int lite_connect(tk_sqldb_t *db, char *err, size_t errlen)
{
    if (!db->conninfo[0]) {
        seterr(err, errlen, "sqlite: connection_string (the database file) is empty");
        return -1;
    }
    int rc = sqlite3_open_v2(
        db->conninfo, &db->lite,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        seterr(err, errlen, "sqlite open %s: %s", db->conninfo,
               db->lite ? sqlite3_errmsg(db->lite) : sqlite3_errstr(rc));
        tk_sqldb_disconnect(db);
        return -1;
    }
    sqlite3_busy_timeout(db->lite, (int)(db->timeout_s * 1000));
    /* WAL: readers (the dashboard) never block the pump; FULL: a commit survives power loss,
     * which the cursor-in-the-same-transaction guarantee relies on. */
    char *msg = NULL;
    if (sqlite3_exec(db->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     &msg) != SQLITE_OK) {
        seterr(err, errlen, "sqlite open %s: %s", db->conninfo, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        tk_sqldb_disconnect(db);
        return -1;
    }
    return 0;
}

int tk_sqldb_connect(tk_sqldb_t *db, char *err, size_t errlen)
{
    if (db->kind == TK_SQLDB_POSTGRES) {
        if (db->pg && PQstatus(db->pg) == CONNECTION_OK)
            return 0;
        tk_sqldb_disconnect(db);
        if (pg_connect(db, err, errlen) != 0)
            return -1;
        PQsetNoticeProcessor(db->pg, ignore_notice, NULL);
        return 0;
    }
    if (db->lite)
        return 0;
    return lite_connect(db, err, errlen);
}

/* After a failed PostgreSQL call: a dropped connection is closed so the next call reconnects. */
static void pg_check_alive(tk_sqldb_t *db)
{
    if (db->pg && PQstatus(db->pg) == CONNECTION_BAD)
        tk_sqldb_disconnect(db);
}

static int pg_result_ok(tk_sqldb_t *db, PGresult *res, const char *what, char *err, size_t errlen)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
        return 0;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && (strncmp(state, "22", 2) == 0 || strcmp(state, "54000") == 0))
        db->data_error = true;
    if (state && strcmp(state, "23505") == 0)
        db->conflict = true;
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = PQerrorMessage(db->pg);
    seterr(err, errlen, "postgres %s: %s", what, msg);
    return -1;
}

int tk_sqldb_exec(tk_sqldb_t *db, const char *sql, char *err, size_t errlen)
{
    if (tk_sqldb_connect(db, err, errlen) != 0)
        return -1;
    if (db->kind == TK_SQLDB_POSTGRES) {
        PGresult *res = PQexec(db->pg, sql);
        int rc = pg_result_ok(db, res, "exec", err, errlen);
        PQclear(res);
        if (rc != 0)
            pg_check_alive(db);
        return rc;
    }
    char *msg = NULL;
    if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
        seterr(err, errlen, "sqlite exec: %s", msg ? msg : sqlite3_errmsg(db->lite));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

bool tk_sqldb_error_permanent(const tk_sqldb_t *db)
{
    return db->data_error;
}

bool tk_sqldb_error_conflict(const tk_sqldb_t *db)
{
    return db->conflict;
}

int64_t tk_sqldb_changes(const tk_sqldb_t *db)
{
    return db->changes;
}

int tk_sqldb_begin(tk_sqldb_t *db, char *err, size_t errlen)
{
    db->data_error = false;
    /* IMMEDIATE: take SQLite's write lock now, so a busy database fails here, not mid-batch */
    return tk_sqldb_exec(db, db->kind == TK_SQLDB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", err,
                         errlen);
}

int tk_sqldb_commit(tk_sqldb_t *db, char *err, size_t errlen)
{
    return tk_sqldb_exec(db, "COMMIT", err, errlen);
}

void tk_sqldb_rollback(tk_sqldb_t *db)
{
    if (db->kind == TK_SQLDB_POSTGRES) {
        if (db->pg && PQstatus(db->pg) == CONNECTION_OK) {
            PGresult *res = PQexec(db->pg, "ROLLBACK");
            PQclear(res);
            pg_check_alive(db);
        }
        return;
    }
    if (db->lite && !sqlite3_get_autocommit(db->lite))
        sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
}

const char *tk_sqldb_param(const tk_sqldb_t *db, int n, char out[16])
{
    if (db->kind == TK_SQLDB_POSTGRES)
        snprintf(out, 16, "$%d", n);
    else
        snprintf(out, 16, "?%d", n);
    return out;
}

bool tk_sqldb_ident_ok(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

/* ---- value encoding -------------------------------------------------------------------------- */

/* Appends @s as valid UTF-8 without NUL bytes: PostgreSQL rejects both, and one bad record must
 * not block a sink forever. Invalid sequences become U+FFFD. */
static void append_utf8(tk_buf_t *b, const char *s, size_t n, bool copy_escape)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = 0;
        if (c < 0x80)
            len = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80)
                ok = false;
        if (ok && len == 3) {
            unsigned char c1 = (unsigned char)s[i + 1];
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0))
                ok = false; /* overlong / surrogate */
        }
        if (ok && len == 4) {
            unsigned char c1 = (unsigned char)s[i + 1];
            if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))
                ok = false;
        }
        if (!ok) {
            tk_buf_append(b, "\xEF\xBF\xBD", 3);
            i++;
            continue;
        }
        if (len == 1) {
            if (c == 0) {
                i++;
                continue;
            }
            if (copy_escape && (c == '\\' || c == '\n' || c == '\r' || c == '\t')) {
                const char *e = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
                tk_buf_append(b, e, 2);
                i++;
                continue;
            }
        }
        tk_buf_append(b, s + i, len);
        i += len;
    }
}

static size_t fmt_time(char *out, size_t cap, tk_an_time_t t, bool pg)
{
    int64_t sec = t.sec, nsec = t.nsec;
    while (nsec < 0) {
        nsec += 1000000000;
        sec--;
    }
    while (nsec >= 1000000000) {
        nsec -= 1000000000;
        sec++;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int n;
    if (pg) /* timestamptz keeps microseconds */
        n = snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06" PRId64 "+00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nsec / 1000);
    else /* gorm's SQLite text form, with nanoseconds */
        n = snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%09" PRId64 "+00:00",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     nsec);
    return n > 0 ? (size_t)n : 0;
}

/* Appends the PostgreSQL text form of @v (no NUL terminator). */
static void pg_append_value(tk_buf_t *b, const tk_sqlval_t *v, bool copy_escape)
{
    char tmp[64];
    size_t n;
    switch (v->type) {
    case TK_SQL_NULL:
        break;
    case TK_SQL_TEXT:
        append_utf8(b, v->s.p ? v->s.p : "", v->s.len, copy_escape);
        break;
    case TK_SQL_INT:
        n = (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, v->i);
        tk_buf_append(b, tmp, n);
        break;
    case TK_SQL_REAL:
        n = (size_t)snprintf(tmp, sizeof(tmp), "%.17g", v->d);
        tk_buf_append(b, tmp, n);
        break;
    case TK_SQL_BOOL:
        tk_buf_append(b, v->i ? "true" : "false", v->i ? 4 : 5);
        break;
    case TK_SQL_TIME:
        n = fmt_time(tmp, sizeof(tmp), v->t, true);
        tk_buf_append(b, tmp, n);
        break;
    }
}

/* Encodes @n values as NUL-terminated strings in db->scratch and points @out at them. */
static void pg_params(tk_sqldb_t *db, const tk_sqlval_t *vals, size_t n, const char **out)
{
    size_t *offs = tk_xmalloc((n ? n : 1) * sizeof(size_t));
    db->scratch.len = 0;
    for (size_t i = 0; i < n; i++) {
        offs[i] = db->scratch.len;
        pg_append_value(&db->scratch, &vals[i], false);
        tk_buf_append(&db->scratch, "", 1);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = vals[i].type == TK_SQL_NULL ? NULL : db->scratch.data + offs[i];
    free(offs);
}

static int lite_bind(tk_sqldb_t *db, sqlite3_stmt *st, int idx, const tk_sqlval_t *v)
{
    char tmp[64];
    size_t n;
    switch (v->type) {
    case TK_SQL_NULL:
        return sqlite3_bind_null(st, idx);
    case TK_SQL_TEXT:
        return sqlite3_bind_text(st, idx, v->s.p ? v->s.p : "", (int)v->s.len, SQLITE_TRANSIENT);
    case TK_SQL_INT:
    case TK_SQL_BOOL:
        return sqlite3_bind_int64(st, idx, v->i);
    case TK_SQL_REAL:
        return sqlite3_bind_double(st, idx, v->d);
    case TK_SQL_TIME:
        n = fmt_time(tmp, sizeof(tmp), v->t, false);
        return sqlite3_bind_text(st, idx, tmp, (int)n, SQLITE_TRANSIENT);
    }
    (void)db;
    return SQLITE_MISUSE;
}

static sqlite3_stmt *lite_prepare(tk_sqldb_t *db, const char *sql, char *err, size_t errlen)
{
    for (unsigned i = 0; i < STMT_CACHE; i++) {
        if (db->cache[i].sql && strcmp(db->cache[i].sql, sql) == 0) {
            sqlite3_reset(db->cache[i].stmt);
            sqlite3_clear_bindings(db->cache[i].stmt);
            return db->cache[i].stmt;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->lite, sql, -1, &st, NULL) != SQLITE_OK) {
        seterr(err, errlen, "sqlite prepare: %s", sqlite3_errmsg(db->lite));
        return NULL;
    }
    unsigned slot = db->cache_next++ % STMT_CACHE;
    if (db->cache[slot].stmt)
        sqlite3_finalize(db->cache[slot].stmt);
    free(db->cache[slot].sql);
    db->cache[slot].sql = tk_xstrdup(sql);
    db->cache[slot].stmt = st;
    return st;
}

/* Binds @params, steps once (or until done), and leaves the first row readable. Returns
 * SQLITE_ROW / SQLITE_DONE, or -1 with @err set. */
static int lite_run(tk_sqldb_t *db, sqlite3_stmt *st, const tk_sqlval_t *params, size_t nparams,
                    char *err, size_t errlen)
{
    for (size_t i = 0; i < nparams; i++) {
        if (lite_bind(db, st, (int)i + 1, &params[i]) != SQLITE_OK) {
            seterr(err, errlen, "sqlite bind: %s", sqlite3_errmsg(db->lite));
            return -1;
        }
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        if (sqlite3_errcode(db->lite) == SQLITE_TOOBIG)
            db->data_error = true;
        if (sqlite3_extended_errcode(db->lite) == SQLITE_CONSTRAINT_UNIQUE ||
            sqlite3_extended_errcode(db->lite) == SQLITE_CONSTRAINT_PRIMARYKEY)
            db->conflict = true;
        seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(db->lite));
        sqlite3_reset(st);
        return -1;
    }
    return rc;
}

struct first_int {
    int64_t v;
    bool found;
};

static int take_first_int(void *ud, size_t ncols, const char *const *vals, const size_t *lens)
{
    (void)lens;
    struct first_int *f = ud;
    f->found = true;
    f->v = ncols > 0 && vals[0] ? strtoll(vals[0], NULL, 10) : 0;
    return 1; /* the first row is all we want */
}

int tk_sqldb_query_int(tk_sqldb_t *db, const char *sql, const tk_sqlval_t *params, size_t nparams,
                       int64_t *out, bool *found, char *err, size_t errlen)
{
    struct first_int f = {0};
    int rc = tk_sqldb_query_rows(db, sql, params, nparams, take_first_int, &f, err, errlen);
    if (found)
        *found = f.found;
    if (out && f.found)
        *out = f.v;
    return rc < 0 ? -1 : 0;
}

int tk_sqldb_exec_params(tk_sqldb_t *db, const char *sql, const tk_sqlval_t *params, size_t nparams,
                         char *err, size_t errlen)
{
    return tk_sqldb_query_rows(db, sql, params, nparams, NULL, NULL, err, errlen);
}

static int pg_rows(tk_sqldb_t *db, PGresult *res, tk_sqldb_row_cb cb, void *ud)
{
    int nrows = PQntuples(res), ncols = PQnfields(res);
    const char **vals = tk_xcalloc(ncols ? (size_t)ncols : 1, sizeof(char *));
    size_t *lens = tk_xcalloc(ncols ? (size_t)ncols : 1, sizeof(size_t));
    int rc = 0;
    for (int r = 0; r < nrows && rc == 0 && cb; r++) {
        for (int c = 0; c < ncols; c++) {
            vals[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
            lens[c] = vals[c] ? (size_t)PQgetlength(res, r, c) : 0;
        }
        rc = cb(ud, (size_t)ncols, vals, lens);
    }
    const char *tuples = PQcmdTuples(res);
    db->changes = tuples && *tuples ? strtoll(tuples, NULL, 10) : nrows;
    free(vals);
    free(lens);
    return rc;
}

static int lite_rows(tk_sqldb_t *db, sqlite3_stmt *st, int step, tk_sqldb_row_cb cb, void *ud,
                     char *err, size_t errlen)
{
    int ncols = sqlite3_column_count(st);
    const char **vals = tk_xcalloc(ncols ? (size_t)ncols : 1, sizeof(char *));
    size_t *lens = tk_xcalloc(ncols ? (size_t)ncols : 1, sizeof(size_t));
    int rc = 0;
    while (step == SQLITE_ROW && rc == 0 && cb) {
        for (int c = 0; c < ncols; c++) {
            vals[c] = (const char *)sqlite3_column_text(st, c);
            lens[c] = vals[c] ? (size_t)sqlite3_column_bytes(st, c) : 0;
        }
        rc = cb(ud, (size_t)ncols, vals, lens);
        if (rc == 0) {
            step = sqlite3_step(st);
            if (step != SQLITE_ROW && step != SQLITE_DONE) {
                seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(db->lite));
                rc = -1;
            }
        }
    }
    db->changes = sqlite3_changes(db->lite);
    free(vals);
    free(lens);
    return rc;
}

int tk_sqldb_query_rows(tk_sqldb_t *db, const char *sql, const tk_sqlval_t *params, size_t nparams,
                        tk_sqldb_row_cb cb, void *ud, char *err, size_t errlen)
{
    db->conflict = false;
    db->changes = 0;
    if (tk_sqldb_connect(db, err, errlen) != 0)
        return -1;
    if (db->kind == TK_SQLDB_POSTGRES) {
        const char **pv = tk_xcalloc(nparams ? nparams : 1, sizeof(char *));
        pg_params(db, params, nparams, pv);
        PGresult *res = PQexecParams(db->pg, sql, (int)nparams, NULL, pv, NULL, NULL, 0);
        free(pv);
        int rc = pg_result_ok(db, res, "query", err, errlen);
        if (rc == 0)
            rc = pg_rows(db, res, cb, ud);
        else
            pg_check_alive(db);
        PQclear(res);
        return rc;
    }
    sqlite3_stmt *st = lite_prepare(db, sql, err, errlen);
    if (!st)
        return -1;
    int step = lite_run(db, st, params, nparams, err, errlen);
    int rc = step < 0 ? -1 : lite_rows(db, st, step, cb, ud, err, errlen);
    sqlite3_reset(st);
    return rc;
}

/* ---- bulk insert ----------------------------------------------------------------------------- */

static void append_cols(tk_buf_t *b, const char *table, const char *const *cols, size_t ncols)
{
    tk_buf_append(b, table, strlen(table));
    tk_buf_append(b, " (", 2);
    for (size_t c = 0; c < ncols; c++) {
        if (c)
            tk_buf_append(b, ",", 1);
        tk_buf_append(b, cols[c], strlen(cols[c]));
    }
    tk_buf_append(b, ")", 1);
}

static int pg_copy(tk_sqldb_t *db, const char *table, const char *const *cols, size_t ncols,
                   const tk_sqlval_t *vals, size_t nrows, char *err, size_t errlen)
{
    tk_buf_t sql = {0};
    tk_buf_append(&sql, "COPY ", 5);
    append_cols(&sql, table, cols, ncols);
    tk_buf_append(&sql, " FROM STDIN", 12); /* includes the NUL */
    PGresult *res = PQexec(db->pg, sql.data);
    tk_buf_free(&sql);
    if (pg_result_ok(db, res, "copy", err, errlen) != 0) {
        PQclear(res);
        pg_check_alive(db);
        return -1;
    }
    PQclear(res);
    int rc = 0;
    db->scratch.len = 0;
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const tk_sqlval_t *v = &vals[r * ncols + c];
            if (c)
                tk_buf_append(&db->scratch, "\t", 1);
            if (v->type == TK_SQL_NULL)
                tk_buf_append(&db->scratch, "\\N", 2);
            else
                pg_append_value(&db->scratch, v, true);
        }
        tk_buf_append(&db->scratch, "\n", 1);
        if (db->scratch.len >= 1 << 20 || r + 1 == nrows) {
            if (PQputCopyData(db->pg, db->scratch.data, (int)db->scratch.len) != 1) {
                seterr(err, errlen, "postgres copy: %s", PQerrorMessage(db->pg));
                rc = -1;
            }
            db->scratch.len = 0;
        }
    }
    if (PQputCopyEnd(db->pg, rc == 0 ? NULL : "aborted") != 1 && rc == 0) {
        seterr(err, errlen, "postgres copy: %s", PQerrorMessage(db->pg));
        rc = -1;
    }
    while ((res = PQgetResult(db->pg)) != NULL) {
        if (rc == 0 && pg_result_ok(db, res, "copy", err, errlen) != 0)
            rc = -1;
        PQclear(res);
    }
    if (rc != 0)
        pg_check_alive(db);
    return rc;
}

static char *insert_sql(const tk_sqldb_t *db, const char *table, const char *const *cols,
                        size_t ncols, size_t nrows, const char *conflict)
{
    tk_buf_t sql = {0};
    char ph[16];
    tk_buf_append(&sql, "INSERT INTO ", 12);
    append_cols(&sql, table, cols, ncols);
    tk_buf_append(&sql, " VALUES ", 8);
    int n = 1;
    for (size_t r = 0; r < nrows; r++) {
        tk_buf_append(&sql, r ? ",(" : "(", r ? 2 : 1);
        for (size_t c = 0; c < ncols; c++) {
            if (c)
                tk_buf_append(&sql, ",", 1);
            tk_sqldb_param(db, n++, ph);
            tk_buf_append(&sql, ph, strlen(ph));
        }
        tk_buf_append(&sql, ")", 1);
    }
    if (conflict) {
        tk_buf_append(&sql, " ", 1);
        tk_buf_append(&sql, conflict, strlen(conflict));
    }
    tk_buf_append(&sql, "", 1);
    return sql.data;
}

int tk_sqldb_insert(tk_sqldb_t *db, const char *table, const char *const *cols, size_t ncols,
                    const tk_sqlval_t *vals, size_t nrows, const char *conflict, size_t chunk,
                    char *err, size_t errlen)
{
    if (nrows == 0 || ncols == 0)
        return 0;
    if (tk_sqldb_connect(db, err, errlen) != 0)
        return -1;
    if (db->kind == TK_SQLDB_POSTGRES) {
        if (!conflict)
            return pg_copy(db, table, cols, ncols, vals, nrows, err, errlen);
        size_t max = 65535 / ncols; /* the protocol's parameter limit */
        if (chunk == 0 || chunk > max)
            chunk = max;
        for (size_t r = 0; r < nrows; r += chunk) {
            size_t n = TK_MIN(chunk, nrows - r);
            char *sql = insert_sql(db, table, cols, ncols, n, conflict);
            const char **pv = tk_xcalloc(n * ncols, sizeof(char *));
            pg_params(db, vals + r * ncols, n * ncols, pv);
            PGresult *res = PQexecParams(db->pg, sql, (int)(n * ncols), NULL, pv, NULL, NULL, 0);
            free(pv);
            free(sql);
            int rc = pg_result_ok(db, res, "insert", err, errlen);
            PQclear(res);
            if (rc != 0) {
                pg_check_alive(db);
                return -1;
            }
        }
        return 0;
    }
    /* SQLite: one prepared single-row statement, stepped per row inside the caller's
     * transaction, is faster than building big multi-row statements. */
    char *sql = insert_sql(db, table, cols, ncols, 1, conflict);
    sqlite3_stmt *st = lite_prepare(db, sql, err, errlen);
    free(sql);
    if (!st)
        return -1;
    for (size_t r = 0; r < nrows; r++) {
        if (r) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        if (lite_run(db, st, vals + r * ncols, ncols, err, errlen) < 0)
            return -1;
    }
    sqlite3_reset(st);
    return 0;
}
