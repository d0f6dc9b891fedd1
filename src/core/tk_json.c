/* SPDX-License-Identifier: Apache-2.0 */
/* Small jansson helpers shared by the config loader and the API-definition parsers. */
#include "tk_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void format_error(const char *name, const json_error_t *je, char *err, size_t errlen)
{
    if (!err || errlen == 0)
        return;
    if (je->line > 0)
        snprintf(err, errlen, "%s:%d:%d: %s", name, je->line, je->column, je->text);
    else
        snprintf(err, errlen, "%s: %s", name, je->text);
}

json_t *tk_json_load_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    json_error_t je;
    /* JSON_DECODE_ANY: a file holding a bare value is still JSON; callers check the type. */
    json_t *v = json_loadf(f, JSON_DECODE_ANY, &je);
    fclose(f);
    if (!v)
        format_error(path, &je, err, errlen);
    return v;
}

json_t *tk_json_load_buf(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!v)
        format_error(name ? name : "<input>", &je, err, errlen);
    return v;
}

const char *tk_json_str(const json_t *obj, const char *key, const char *def)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : def;
}

int64_t tk_json_int(const json_t *obj, const char *key, int64_t def)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Only integral reals within range convert; 1.5 is not an integer. */
        if (d == (double)(int64_t)d && d >= -9.2e18 && d <= 9.2e18)
            return (int64_t)d;
    }
    return def;
}

double tk_json_num(const json_t *obj, const char *key, double def)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : def;
}

bool tk_json_bool(const json_t *obj, const char *key, bool def)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *tk_json_obj(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

json_t *tk_json_arr(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

char *tk_json_strdup(const json_t *obj, const char *key, const char *def)
{
    const char *s = tk_json_str(obj, key, def);
    return s ? tk_xstrdup(s) : NULL;
}

bool tk_json_has(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return v && !json_is_null(v);
}

json_t *tk_json_get_path(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;
    for (;;) {
        if (!json_is_object(cur))
            return NULL;
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        json_t *next = json_object_getn(cur, p, len);
        if (!next || !dot)
            return next;
        cur = next;
        p = dot + 1;
    }
}

int tk_json_set_path(json_t *root, const char *path, json_t *value)
{
    if (!json_is_object(root)) {
        json_decref(value);
        return TK_ERROR;
    }
    json_t *cur = root;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot)
            return json_object_setn_new(cur, p, strlen(p), value) == 0 ? TK_OK : TK_ERROR;
        size_t len = (size_t)(dot - p);
        json_t *next = json_object_getn(cur, p, len);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_setn_new(cur, p, len, next);
        }
        cur = next;
        p = dot + 1;
    }
}

char **tk_json_strv(const json_t *arr, size_t *n)
{
    if (!json_is_array(arr)) {
        if (n)
            *n = 0;
        return NULL;
    }
    size_t cap = json_array_size(arr), k = 0, i;
    char **v = tk_xcalloc(cap + 1, sizeof(*v));
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e))
            v[k++] = tk_xstrdup(json_string_value(e));
    }
    if (n)
        *n = k;
    return v;
}

void tk_json_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

char *tk_json_dumps_compact(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

char *tk_json_dumps_pretty(const json_t *v)
{
    return v ? json_dumps(v, JSON_INDENT(4) | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

const char *tk_json_type_name(const json_t *v)
{
    if (!v)
        return "missing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

json_t *tk_json_map_leaves(json_t *v, json_t *(*leaf)(json_t *scalar))
{
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) json_object_set_new(o, k, tk_json_map_leaves(x, leaf));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(a, tk_json_map_leaves(x, leaf));
        return a;
    }
    return leaf(v);
}
