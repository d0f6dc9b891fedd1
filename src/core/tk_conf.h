/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Table-driven configuration: one table per daemon gives each setting's JSON path, its
 * environment-variable name, type, default, bounds and documentation. The same table loads
 * the JSON file, applies environment overrides, resolves secret references and renders the
 * reference docs.
 */
#ifndef TK_CONF_H
#define TK_CONF_H

#include "tk_common.h"

#include <jansson.h>
#include <stdio.h>

enum tk_conf_type {
    TK_CONF_BOOL = 0, /* bool */
    TK_CONF_INT,      /* int64_t */
    TK_CONF_FLOAT,    /* double */
    TK_CONF_STRING,   /* char * (malloc'd, never NULL after load: "" when unset) */
    TK_CONF_STRLIST,  /* tk_strlist_t */
    TK_CONF_JSON,     /* json_t * (a reference the target owns; NULL when unset) */
};

/* Flags on an entry. */
#define TK_CONF_SECRET 0x1u /* string may be env://, file://, secrets:// — resolved on load */
/* INT holding nanoseconds; the environment value may also be a Go duration ("10s", "1m30s"). */
#define TK_CONF_DURATION 0x2u

typedef struct tk_strlist {
    char **v;
    size_t n;
} tk_strlist_t;

typedef struct tk_conf_entry {
    const char *path; /* JSON path, '.'-separated: "http_server_options.use_ssl" */
    const char *env;  /* environment name after the prefix: "HTTPSERVEROPTIONS_USESSL" */
    enum tk_conf_type type;
    size_t offset;   /* offsetof() into the daemon's config struct */
    const char *def; /* default as text ("8080", "true", "a,b"); NULL = zero value */
    double min, max; /* bounds for INT/FLOAT when min < max */
    unsigned flags;
    const char *doc; /* one sentence for the reference docs */
} tk_conf_entry_t;

/* All problems found in one pass, reported together. */
typedef struct tk_conf_errors {
    char **msgs; /* "path: message" */
    size_t n;
} tk_conf_errors_t;

void tk_conf_errors_add(tk_conf_errors_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tk_conf_errors_free(tk_conf_errors_t *e);

/**
 * Fills @target from defaults, then @root (may be NULL), then environment variables named
 * @env_prefix + entry->env (e.g. "TYK_GW_" + "LISTENPORT"). If "<prefix>OMITCONFIGFILE" is true,
 * @root is ignored. String entries flagged TK_CONF_SECRET are then resolved with
 * tk_conf_resolve_secret(), using @secrets (a JSON object from the config's "secrets" key, or
 * NULL). Type and bound errors are appended to @errs. Returns TK_OK when @errs gained nothing.
 */
int tk_conf_load(const tk_conf_entry_t *table, size_t n, void *target, const char *env_prefix,
                 json_t *root, tk_conf_errors_t *errs);

/** Frees every string, list and JSON reference the table put in @target. */
void tk_conf_free(const tk_conf_entry_t *table, size_t n, void *target);

/**
 * The configuration file's top-level object, as a daemon's loader wants it: NULL (and nothing
 * reported) when the environment variable @omit_env is "true" (Tyk's *_OMITCONFIGFILE); NULL
 * with a message in @errs when @path is empty, unreadable, not JSON or not an object.
 */
json_t *tk_conf_read_file(const char *path, const char *omit_env, tk_conf_errors_t *errs);

/**
 * Resolves a secret reference as Tyk does: "env://NAME" → $NAME (Tyk also tries TYK_SECRET_NAME),
 * "file://PATH" → file contents without a trailing newline, "secrets://KEY" → @secrets[KEY].
 * Anything else is returned unchanged. Returns a malloc'd string, or NULL and a message in @errs.
 */
char *tk_conf_resolve_secret(const char *value, json_t *secrets, tk_conf_errors_t *errs,
                             const char *path);

/**
 * Rewrites every JSON entry's object so that it reflects the current value of each other entry
 * whose path lies below it (e.g. "slave_options.use_rpc" inside "slave_options"), creating the
 * object when it is NULL. tk_conf_load() calls this last; call it again after adjusting fields.
 */
void tk_conf_sync_json(const tk_conf_entry_t *table, size_t n, void *target);

/** The entry whose JSON path is @path, or NULL. */
const tk_conf_entry_t *tk_conf_find(const tk_conf_entry_t *table, size_t n, const char *path);

/**
 * Parses a boolean the way Go's strconv.ParseBool does (1 t T TRUE true True / 0 f F FALSE false
 * False). Returns false when @s is not one of those.
 */
bool tk_conf_parse_bool(const char *s, bool *out);

/** Parses a Go duration ("300ms", "1h2m3s", "-1.5h", "0") into nanoseconds. */
bool tk_conf_parse_duration(const char *s, int64_t *ns);

/** Writes a Markdown reference table (path, env name, type, default, doc) to @out. */
void tk_conf_write_docs(const tk_conf_entry_t *table, size_t n, const char *env_prefix, FILE *out);

#endif
