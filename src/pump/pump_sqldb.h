/* SPDX-License-Identifier: Apache-2.0 */
/* A small blocking SQL layer over PostgreSQL (libpq) and SQLite for use inside one sink thread.
 *
 * One pump_sqldb_t is one connection. Nothing touches the network until pump_sqldb_connect();
 * every call that needs the server connects first, so a database that was down simply makes
 * the next call fail with a message. When PostgreSQL drops the connection (restart, network),
 * the handle notices, closes it and reconnects on the next call. Not thread-safe: one thread
 * owns a handle. */
#ifndef PUMP_SQLDB_H
#define PUMP_SQLDB_H

#include "tk_analytics.h"

enum pump_sqldb_kind {
    PUMP_SQLDB_POSTGRES = 1,
    PUMP_SQLDB_SQLITE,
};

/** One value of a row, typed so each backend can encode it natively. */
enum pump_sqltype {
    PUMP_SQL_NULL = 0,
    PUMP_SQL_TEXT,
    PUMP_SQL_INT,
    PUMP_SQL_REAL,
    PUMP_SQL_BOOL,
    PUMP_SQL_TIME,
};

typedef struct pump_sqlval {
    enum pump_sqltype type;
    tk_str_t s;     /* TEXT; not copied: must live until the call returns */
    int64_t i;      /* INT, BOOL */
    double d;       /* REAL */
    tk_an_time_t t; /* TIME (stored as UTC) */
} pump_sqlval_t;

#define PUMP_SQLV_TEXT(str) ((pump_sqlval_t){.type = PUMP_SQL_TEXT, .s = (str)})
#define PUMP_SQLV_INT(v) ((pump_sqlval_t){.type = PUMP_SQL_INT, .i = (int64_t)(v)})
#define PUMP_SQLV_REAL(v) ((pump_sqlval_t){.type = PUMP_SQL_REAL, .d = (double)(v)})
#define PUMP_SQLV_BOOL(v) ((pump_sqlval_t){.type = PUMP_SQL_BOOL, .i = (v) ? 1 : 0})
#define PUMP_SQLV_TIME(v) ((pump_sqlval_t){.type = PUMP_SQL_TIME, .t = (v)})

typedef struct pump_sqldb pump_sqldb_t;

/**
 * Maps pump.conf's meta "type" to a backend: "postgres" (also "postgresql") or "sqlite"
 * (also "sqlite3"). "mysql" and anything else give -1 with a message saying so.
 */
int pump_sqldb_kind_parse(const char *type, enum pump_sqldb_kind *kind, char *err, size_t errlen);

/**
 * A handle for @conninfo: for PostgreSQL a libpq key=value string or postgres:// URL (gorm-style
 * keys libpq does not know, such as TimeZone, are passed to the server as run-time settings);
 * for SQLite a file path or file: URI. @timeout_s bounds connecting (and SQLite's busy wait);
 * 0 means 10 s. Never touches the network.
 */
pump_sqldb_t *pump_sqldb_new(enum pump_sqldb_kind kind, const char *conninfo, double timeout_s);
void pump_sqldb_free(pump_sqldb_t *db);
enum pump_sqldb_kind pump_sqldb_kind(const pump_sqldb_t *db);

/** Connects unless already connected. 0, or -1 with the server's/library's reason in @err. */
int pump_sqldb_connect(pump_sqldb_t *db, char *err, size_t errlen);
/** Closes the connection (the next call reconnects). */
void pump_sqldb_disconnect(pump_sqldb_t *db);

/** Runs one or more statements without parameters or results. */
int pump_sqldb_exec(pump_sqldb_t *db, const char *sql, char *err, size_t errlen);

/** True when the last failed statement since pump_sqldb_begin was refused for its data, so the
 * same rows would be refused again: PostgreSQL SQLSTATE class 22 (data exception: invalid
 * input, invalid UTF-8, value out of range) or 54000 (e.g. an index row too large), SQLite
 * SQLITE_TOOBIG. Connection loss, locks, timeouts and everything else are not. */
bool pump_sqldb_error_permanent(const pump_sqldb_t *db);

/** BEGIN / COMMIT; rollback never fails (a dead connection rolls back by itself). */
int pump_sqldb_begin(pump_sqldb_t *db, char *err, size_t errlen);
int pump_sqldb_commit(pump_sqldb_t *db, char *err, size_t errlen);
void pump_sqldb_rollback(pump_sqldb_t *db);

/**
 * Runs @sql with @nparams parameters ($1.. for PostgreSQL, ? for SQLite: write the query with
 * pump_sqldb_param()) and reads the first column of the first row as an integer into *@out;
 * *@found says whether there was a row (either may be NULL).
 */
int pump_sqldb_query_int(pump_sqldb_t *db, const char *sql, const pump_sqlval_t *params,
                         size_t nparams, int64_t *out, bool *found, char *err, size_t errlen);

/** Runs @sql with parameters, ignoring any result rows. */
int pump_sqldb_exec_params(pump_sqldb_t *db, const char *sql, const pump_sqlval_t *params,
                           size_t nparams, char *err, size_t errlen);

/** Writes the placeholder for parameter @n (1-based) for this backend into @out. */
const char *pump_sqldb_param(const pump_sqldb_t *db, int n, char out[16]);

/**
 * Inserts @nrows rows of @ncols values (row-major in @vals) into @table (@cols names its
 * columns, already quoted where needed). With @conflict NULL the rows are appended (COPY on
 * PostgreSQL); otherwise @conflict is appended to every INSERT (e.g. an ON CONFLICT clause) and
 * rows go in multi-row statements of at most @chunk rows. Call inside a transaction.
 */
int pump_sqldb_insert(pump_sqldb_t *db, const char *table, const char *const *cols, size_t ncols,
                      const pump_sqlval_t *vals, size_t nrows, const char *conflict, size_t chunk,
                      char *err, size_t errlen);

/** True when @name is a safe SQL identifier (letters, digits, underscore; not empty). */
bool pump_sqldb_ident_ok(const char *name);

#endif
