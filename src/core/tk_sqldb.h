/* SPDX-License-Identifier: Apache-2.0 */
/* A small blocking SQL layer over PostgreSQL (libpq) and SQLite for use inside one thread (a pump
 * sink, a dashboard worker).
 *
 * One tk_sqldb_t is one connection. Nothing touches the network until tk_sqldb_connect();
 * every call that needs the server connects first, so a database that was down simply makes
 * the next call fail with a message. When PostgreSQL drops the connection (restart, network),
 * the handle notices, closes it and reconnects on the next call. Not thread-safe: one thread
 * owns a handle. */
#ifndef TK_SQLDB_H
#define TK_SQLDB_H

#include "tk_analytics.h"

enum tk_sqldb_kind {
    TK_SQLDB_POSTGRES = 1,
    TK_SQLDB_SQLITE,
};

/** One value of a row, typed so each backend can encode it natively. */
enum tk_sqltype {
    TK_SQL_NULL = 0,
    TK_SQL_TEXT,
    TK_SQL_INT,
    TK_SQL_REAL,
    TK_SQL_BOOL,
    TK_SQL_TIME,
};

typedef struct tk_sqlval {
    enum tk_sqltype type;
    tk_str_t s;     /* TEXT; not copied: must live until the call returns */
    int64_t i;      /* INT, BOOL */
    double d;       /* REAL */
    tk_an_time_t t; /* TIME (stored as UTC) */
} tk_sqlval_t;

#define TK_SQLV_TEXT(str) ((tk_sqlval_t){.type = TK_SQL_TEXT, .s = (str)})
#define TK_SQLV_INT(v) ((tk_sqlval_t){.type = TK_SQL_INT, .i = (int64_t)(v)})
#define TK_SQLV_REAL(v) ((tk_sqlval_t){.type = TK_SQL_REAL, .d = (double)(v)})
#define TK_SQLV_BOOL(v) ((tk_sqlval_t){.type = TK_SQL_BOOL, .i = (v) ? 1 : 0})
#define TK_SQLV_TIME(v) ((tk_sqlval_t){.type = TK_SQL_TIME, .t = (v)})

typedef struct tk_sqldb tk_sqldb_t;

/**
 * Maps pump.conf's meta "type" to a backend: "postgres" (also "postgresql") or "sqlite"
 * (also "sqlite3"). "mysql" and anything else give -1 with a message saying so.
 */
int tk_sqldb_kind_parse(const char *type, enum tk_sqldb_kind *kind, char *err, size_t errlen);

/**
 * A handle for @conninfo: for PostgreSQL a libpq key=value string or postgres:// URL (gorm-style
 * keys libpq does not know, such as TimeZone, are passed to the server as run-time settings);
 * for SQLite a file path or file: URI. @timeout_s bounds connecting (and SQLite's busy wait);
 * 0 means 10 s. Never touches the network.
 */
tk_sqldb_t *tk_sqldb_new(enum tk_sqldb_kind kind, const char *conninfo, double timeout_s);
void tk_sqldb_free(tk_sqldb_t *db);
enum tk_sqldb_kind tk_sqldb_kind(const tk_sqldb_t *db);

/** Connects unless already connected. 0, or -1 with the server's/library's reason in @err. */
int tk_sqldb_connect(tk_sqldb_t *db, char *err, size_t errlen);
/** Closes the connection (the next call reconnects). */
void tk_sqldb_disconnect(tk_sqldb_t *db);

/** Runs one or more statements without parameters or results. */
int tk_sqldb_exec(tk_sqldb_t *db, const char *sql, char *err, size_t errlen);

/** True when the last failed statement since tk_sqldb_begin was refused for its data, so the
 * same rows would be refused again: PostgreSQL SQLSTATE class 22 (data exception: invalid
 * input, invalid UTF-8, value out of range) or 54000 (e.g. an index row too large), SQLite
 * SQLITE_TOOBIG. Connection loss, locks, timeouts and everything else are not. */
bool tk_sqldb_error_permanent(const tk_sqldb_t *db);

/** True when the last failed statement broke a unique or primary key (PostgreSQL 23505, SQLite
 * SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY). */
bool tk_sqldb_error_conflict(const tk_sqldb_t *db);

/** Rows inserted, updated or deleted (or returned) by the last tk_sqldb_query_rows. */
int64_t tk_sqldb_changes(const tk_sqldb_t *db);

/** The name PostgreSQL shows for this process's connections (pg_stat_activity); default
 * "turnpike". Set once at start-up, before any connection. */
void tk_sqldb_set_application_name(const char *name);

/** BEGIN / COMMIT; rollback never fails (a dead connection rolls back by itself). */
int tk_sqldb_begin(tk_sqldb_t *db, char *err, size_t errlen);
int tk_sqldb_commit(tk_sqldb_t *db, char *err, size_t errlen);
void tk_sqldb_rollback(tk_sqldb_t *db);

/**
 * Runs @sql with @nparams parameters ($1.. for PostgreSQL, ? for SQLite: write the query with
 * tk_sqldb_param()) and reads the first column of the first row as an integer into *@out;
 * *@found says whether there was a row (either may be NULL).
 */
int tk_sqldb_query_int(tk_sqldb_t *db, const char *sql, const tk_sqlval_t *params, size_t nparams,
                       int64_t *out, bool *found, char *err, size_t errlen);

/**
 * One result row: @vals[i] is column i as text (NULL for SQL NULL; @lens its length). Valid only
 * during the call. Return 0 to go on, anything else to stop (tk_sqldb_query_rows returns it).
 */
typedef int (*tk_sqldb_row_cb)(void *ud, size_t ncols, const char *const *vals, const size_t *lens);

/** Runs @sql with parameters and calls @cb (may be NULL) for every result row. */
int tk_sqldb_query_rows(tk_sqldb_t *db, const char *sql, const tk_sqlval_t *params, size_t nparams,
                        tk_sqldb_row_cb cb, void *ud, char *err, size_t errlen);

/** Runs @sql with parameters, ignoring any result rows. */
int tk_sqldb_exec_params(tk_sqldb_t *db, const char *sql, const tk_sqlval_t *params, size_t nparams,
                         char *err, size_t errlen);

/** Writes the placeholder for parameter @n (1-based) for this backend into @out. */
const char *tk_sqldb_param(const tk_sqldb_t *db, int n, char out[16]);

/**
 * Inserts @nrows rows of @ncols values (row-major in @vals) into @table (@cols names its
 * columns, already quoted where needed). With @conflict NULL the rows are appended (COPY on
 * PostgreSQL); otherwise @conflict is appended to every INSERT (e.g. an ON CONFLICT clause) and
 * rows go in multi-row statements of at most @chunk rows. Call inside a transaction.
 */
int tk_sqldb_insert(tk_sqldb_t *db, const char *table, const char *const *cols, size_t ncols,
                    const tk_sqlval_t *vals, size_t nrows, const char *conflict, size_t chunk,
                    char *err, size_t errlen);

/** True when @name is a safe SQL identifier (letters, digits, underscore; not empty). */
bool tk_sqldb_ident_ok(const char *name);

#endif
