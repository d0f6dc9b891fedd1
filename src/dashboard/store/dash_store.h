/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard's storage: every object (organisation, user, API, policy, ...) is a JSON
 * document in its kind's table, with the few fields that are looked up or must be unique copied
 * into their own indexed columns. The same SQL runs on SQLite and PostgreSQL (tk_sqldb).
 *
 * One dash_store_t is one database connection, owned by one request thread. A request that
 * writes runs in one transaction (dash_store_begin/commit), so nothing is ever stored half-way;
 * PostgreSQL's unique indexes and row locks keep several dashboards on one database consistent.
 */
#ifndef DASH_STORE_H
#define DASH_STORE_H

#include "tk_common.h"
#include "tk_sqldb.h"

#include <jansson.h>

/* The kinds of object, one table each. */
enum dash_kind {
    DASH_ORG = 0,
    DASH_USER,
    DASH_USER_GROUP,
    DASH_API,
    DASH_POLICY,
    DASH_HOOK,
    DASH_AUDIT,
    DASH_PORTAL_DEVELOPER,
    DASH_PORTAL_CATALOGUE,
    DASH_PORTAL_KEY_REQUEST,
    DASH_PORTAL_CONFIG,
    DASH_PORTAL_PAGE,
    DASH_PORTAL_MENU,
    DASH_PORTAL_DOC,
    DASH_ASSET,
    DASH_KIND_COUNT,
};

/* What a kind's table holds besides id, org_id, name, data and the timestamps. */
typedef struct dash_kind_desc {
    const char *table; /* SQL table name */
    const char *what;  /* for messages: "API", "user" */
    /* up to two extra indexed text columns, each filled from a top-level (or dotted) JSON path
     * of the document; NULL when unused */
    const char *col[2];
    const char *path[2];
    const char *name_path; /* JSON path copied into the "name" column (searched by q=) */
} dash_kind_desc_t;

const dash_kind_desc_t *dash_kind_desc(enum dash_kind k);

/* Outcome of a store call. */
enum dash_store_rc {
    DASH_STORE_OK = 0,
    DASH_STORE_NOT_FOUND = 1,
    DASH_STORE_CONFLICT = 2, /* a unique column (or the id) is taken */
    DASH_STORE_ERROR = -1,   /* database error: the message is in dash_store_error() */
};

typedef struct dash_store dash_store_t;

/** A connection for @kind/@conninfo (nothing is opened yet). */
dash_store_t *dash_store_new(enum tk_sqldb_kind kind, const char *conninfo, double timeout_s);
void dash_store_free(dash_store_t *st);
/** The last error's text. */
const char *dash_store_error(const dash_store_t *st);
tk_sqldb_t *dash_store_db(dash_store_t *st);

/** Creates or upgrades the schema (idempotent; safe when several dashboards start at once). */
int dash_store_migrate(dash_store_t *st);

/** Starts a transaction; @write takes SQLite's write lock at once (BEGIN IMMEDIATE) so a busy
 *  database fails here rather than halfway; reads take no lock. */
int dash_store_begin(dash_store_t *st, bool write);
int dash_store_commit(dash_store_t *st);
void dash_store_rollback(dash_store_t *st);
bool dash_store_in_tx(const dash_store_t *st);

/**
 * Serialises writers of (@k, @org) across dashboards until the transaction ends, for checks
 * that span rows (a listen path that must be unique among an org's APIs). SQLite's
 * BEGIN IMMEDIATE already serialises every writer.
 */
int dash_store_lock(dash_store_t *st, enum dash_kind k, const char *org);

/** The document with @id (in @org when @org is not NULL) into *@out (new reference). */
int dash_store_get(dash_store_t *st, enum dash_kind k, const char *org, const char *id,
                   json_t **out);
/** The document whose extra column @col (0 or 1) equals @value (in @org when not NULL). */
int dash_store_find(dash_store_t *st, enum dash_kind k, const char *org, int col, const char *value,
                    json_t **out);

/** Inserts @doc under @id. CONFLICT when the id or a unique column is taken. */
int dash_store_insert(dash_store_t *st, enum dash_kind k, const char *org, const char *id,
                      const json_t *doc);
/** Replaces the document @id (in @org when not NULL). NOT_FOUND when there is none. */
int dash_store_update(dash_store_t *st, enum dash_kind k, const char *org, const char *id,
                      const json_t *doc);
/** Deletes @id (in @org when not NULL). NOT_FOUND when there was none. */
int dash_store_delete(dash_store_t *st, enum dash_kind k, const char *org, const char *id);

typedef struct dash_list_query {
    const char *org; /* NULL: every org */
    const char *q;   /* case-insensitive substring of the name column; NULL/"" = any */
    int col;         /* with @value: only rows whose extra column @col equals @value */
    const char *value;
    int64_t page; /* 1-based; <= 0 = everything */
    int64_t page_size;
    bool newest_first; /* order by created_at descending (default: ascending, then id) */
} dash_list_query_t;

/** Matching documents into *@out (a new array) and the number of pages into *@pages (at least
 *  1; with page <= 0 always 1). */
int dash_store_list(dash_store_t *st, enum dash_kind k, const dash_list_query_t *q, json_t **out,
                    int64_t *pages);
/** How many documents match (@q's page fields are ignored). */
int dash_store_count(dash_store_t *st, enum dash_kind k, const dash_list_query_t *q,
                     int64_t *count);

/** Generic key/value rows (dashboard settings, the nonce chain when Redis is absent...). */
int dash_store_kv_get(dash_store_t *st, const char *key, char **value);
int dash_store_kv_set(dash_store_t *st, const char *key, const char *value);

#endif
