/* SPDX-License-Identifier: Apache-2.0 */
/* Small jansson helpers: file loading with positioned errors, typed getters, dotted paths. */
#ifndef TK_JSON_H
#define TK_JSON_H

#include "tk_common.h"

#include <jansson.h>

/**
 * Parses the JSON file at @path. Any JSON value is accepted at the top level. On failure returns
 * NULL and writes "path:line:col: message" (or "path: strerror") into @err (size @errlen, may be
 * NULL). The caller owns the returned reference (json_decref).
 */
json_t *tk_json_load_file(const char *path, char *err, size_t errlen);

/**
 * Parses @len bytes of @text. @name is used as the "file" part of the error message
 * ("name:line:col: message"). Returns a new reference or NULL.
 */
json_t *tk_json_load_buf(const char *text, size_t len, const char *name, char *err, size_t errlen);

/**
 * Typed getters on an object member. Each returns @def when @obj is not an object, the key is
 * absent, the value is null or has the wrong type. Returned strings point into @obj.
 * tk_json_int accepts integers and integral reals; tk_json_num accepts integers and reals.
 */
const char *tk_json_str(const json_t *obj, const char *key, const char *def);
int64_t tk_json_int(const json_t *obj, const char *key, int64_t def);
double tk_json_num(const json_t *obj, const char *key, double def);
bool tk_json_bool(const json_t *obj, const char *key, bool def);

/** Member @key of @obj when it is an object / array, else NULL. Borrowed reference. */
json_t *tk_json_obj(const json_t *obj, const char *key);
json_t *tk_json_arr(const json_t *obj, const char *key);

/** Like tk_json_str but returns a malloc'd copy (of @def when missing; NULL if @def is NULL). */
char *tk_json_strdup(const json_t *obj, const char *key, const char *def);

/** True when @obj has member @key and it is not JSON null. */
bool tk_json_has(const json_t *obj, const char *key);

/**
 * Follows a '.'-separated path of object keys ("http_server_options.use_ssl"). Returns the
 * borrowed value or NULL when any step is missing or not an object.
 */
json_t *tk_json_get_path(const json_t *root, const char *path);

/**
 * Sets @value at the '.'-separated @path under the object @root, creating intermediate objects
 * (replacing non-object intermediates). Steals the @value reference in all cases.
 * Returns TK_OK, or TK_ERROR when @root is not an object.
 */
int tk_json_set_path(json_t *root, const char *path, json_t *value);

/**
 * Copies every string element of the array @arr into a malloc'd, NULL-terminated vector and
 * stores its length in @n (may be NULL). Non-string elements are skipped. Returns NULL for a
 * non-array. Free with tk_json_strv_free().
 */
char **tk_json_strv(const json_t *arr, size_t *n);
void tk_json_strv_free(char **v);

/** Serialises @v compactly / indented by 4 with sorted keys. malloc'd; free() it. NULL on error. */
char *tk_json_dumps_compact(const json_t *v);
char *tk_json_dumps_pretty(const json_t *v);

/** Short name of the JSON type of @v ("object", "string", "integer", ... or "missing"). */
const char *tk_json_type_name(const json_t *v);

/** A deep copy of @v in which every scalar (string, number, boolean, null) is replaced by
 *  @leaf(scalar) (a new reference); objects and arrays keep their shape. */
json_t *tk_json_map_leaves(json_t *v, json_t *(*leaf)(json_t *scalar));

#endif
