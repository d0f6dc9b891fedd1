/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Schema draft 4: compiling a schema document into js_node trees, resolving local $refs. */
#include "tk_jsonschema_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Compile state. The path is the JSON pointer of the place being compiled, for error messages. */
struct cc {
    tk_jsonschema_t *s;
    const json_t *root;
    char *err;
    size_t errlen;
    bool failed;
    char path[1024];
    size_t plen;
    /* json_t* -> node, open addressing; a schema object compiles to exactly one node */
    const json_t **map_keys;
    struct js_node **map_vals;
    size_t map_cap, map_n;
};

static void fail(struct cc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct cc *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    if (!c->err || c->errlen == 0)
        return;
    /* Keep the problem readable when the location is very long: show its tail only. */
    const char *where = c->path[0] ? c->path : "#";
    size_t wlen = strlen(where);
    int n = wlen > 160 ? snprintf(c->err, c->errlen, "...%s: ", where + wlen - 150)
                       : snprintf(c->err, c->errlen, "%s: ", where);
    if (n < 0 || (size_t)n >= c->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Appends "/seg" (escaped as a JSON pointer) to the path; returns the old length to restore. */
static size_t path_push(struct cc *c, const char *seg)
{
    size_t old = c->plen;
    size_t room = sizeof(c->path) - 1;
    if (c->plen < room)
        c->path[c->plen++] = '/';
    for (const char *p = seg; *p && c->plen + 2 < room; p++) {
        if (*p == '~' || *p == '/') {
            c->path[c->plen++] = '~';
            c->path[c->plen++] = *p == '~' ? '0' : '1';
        } else {
            c->path[c->plen++] = *p;
        }
    }
    c->path[c->plen] = '\0';
    return old;
}

static size_t path_push_index(struct cc *c, size_t i)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%zu", i);
    return path_push(c, buf);
}

static void path_pop(struct cc *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static size_t ptr_hash(const json_t *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static struct js_node *map_get(struct cc *c, const json_t *key)
{
    if (c->map_cap == 0)
        return NULL;
    for (size_t i = ptr_hash(key, c->map_cap);; i = (i + 1) & (c->map_cap - 1)) {
        if (c->map_keys[i] == NULL)
            return NULL;
        if (c->map_keys[i] == key)
            return c->map_vals[i];
    }
}

static void map_put(struct cc *c, const json_t *key, struct js_node *val)
{
    if ((c->map_n + 1) * 2 > c->map_cap) {
        size_t ncap = c->map_cap ? c->map_cap * 2 : 64;
        const json_t **nk = tk_xcalloc(ncap, sizeof(*nk));
        struct js_node **nv = tk_xcalloc(ncap, sizeof(*nv));
        for (size_t i = 0; i < c->map_cap; i++) {
            if (!c->map_keys[i])
                continue;
            size_t j = ptr_hash(c->map_keys[i], ncap);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = c->map_keys[i];
            nv[j] = c->map_vals[i];
        }
        free(c->map_keys);
        free(c->map_vals);
        c->map_keys = nk;
        c->map_vals = nv;
        c->map_cap = ncap;
    }
    size_t i = ptr_hash(key, c->map_cap);
    while (c->map_keys[i])
        i = (i + 1) & (c->map_cap - 1);
    c->map_keys[i] = key;
    c->map_vals[i] = val;
    c->map_n++;
}

static struct js_node *node_new(struct cc *c, const json_t *src)
{
    tk_jsonschema_t *s = c->s;
    if (s->nnodes == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->nodes = tk_xrealloc(s->nodes, s->cap * sizeof(*s->nodes));
    }
    struct js_node *n = tk_xcalloc(1, sizeof(*n));
    n->src = src;
    n->idx = s->nnodes;
    n->min_props = n->max_props = -1;
    n->min_items = n->max_items = -1;
    n->min_len = n->max_len = -1;
    s->nodes[s->nnodes++] = n;
    map_put(c, src, n);
    return n;
}

static struct js_node *compile_node(struct cc *c, const json_t *obj, int depth);

/* Compiles member @key of @parent as a subschema (must be an object). */
static struct js_node *compile_member(struct cc *c, const json_t *val, const char *key, int depth)
{
    size_t old = path_push(c, key);
    struct js_node *n = compile_node(c, val, depth + 1);
    path_pop(c, old);
    return n;
}

static bool regex_compile(struct cc *c, struct js_regex *re, const char *src, size_t len)
{
    int code;
    PCRE2_SIZE off;
    /* Go's regexp (what gojsonschema uses) is UTF-8 aware and unanchored; so is this. */
    re->code = pcre2_compile((PCRE2_SPTR)src, len, PCRE2_UTF, &code, &off, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        fail(c, "invalid regular expression '%.*s': %s at offset %zu", (int)TK_MIN(len, 200), src,
             (const char *)msg, (size_t)off);
        return false;
    }
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    re->src = tk_xstrndup(src, len);
    return true;
}

/* A non-negative integer keyword (minLength, maxItems ...); gojsonschema accepts 2.0 too. */
static bool get_count(struct cc *c, const json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return true;
    size_t old = path_push(c, key);
    double d = json_is_integer(v) ? (double)json_integer_value(v)
               : json_is_real(v)  ? json_real_value(v)
                                  : -1;
    bool ok = json_is_number(v) && d >= 0 && d == floor(d) && d < 9.0e18;
    if (!json_is_number(v))
        fail(c, "%s must be an integer", key);
    else if (!ok)
        fail(c, "%s must be a non-negative integer", key);
    else
        *out = json_is_integer(v) ? json_integer_value(v) : (int64_t)d;
    path_pop(c, old);
    return ok;
}

static bool get_number(struct cc *c, const json_t *obj, const char *key, bool *has, double *out,
                       char **text)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return true;
    if (!json_is_number(v)) {
        size_t old = path_push(c, key);
        fail(c, "%s must be a number", key);
        path_pop(c, old);
        return false;
    }
    *has = true;
    *out = json_number_value(v);
    *text = tk__js_go_float(*out);
    return true;
}

static bool get_bool(struct cc *c, const json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return true;
    if (!json_is_boolean(v)) {
        size_t old = path_push(c, key);
        fail(c, "%s must be a boolean", key);
        path_pop(c, old);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    {"null", JS_T_NULL},     {"boolean", JS_T_BOOLEAN}, {"integer", JS_T_INTEGER},
    {"number", JS_T_NUMBER}, {"string", JS_T_STRING},   {"array", JS_T_ARRAY},
    {"object", JS_T_OBJECT},
};

static unsigned type_bit(const char *name)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(type_names); i++)
        if (strcmp(type_names[i].name, name) == 0)
            return type_names[i].bit;
    return 0;
}

static void parse_type(struct cc *c, struct js_node *n, const json_t *v)
{
    size_t old = path_push(c, "type");
    if (json_is_string(v)) {
        n->types = type_bit(json_string_value(v));
        if (!n->types)
            fail(c, "type has an invalid value \"%s\"", json_string_value(v));
        else
            n->types_text = tk_xstrdup(json_string_value(v));
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        size_t cap = 2, len = 0;
        char *text = tk_xmalloc(cap + 1);
        text[len++] = '[';
        size_t i;
        json_t *t;
        json_array_foreach(v, i, t)
        {
            unsigned bit = json_is_string(t) ? type_bit(json_string_value(t)) : 0;
            if (!bit) {
                fail(c, "type items must be valid type names");
                break;
            }
            if (n->types & bit) {
                fail(c, "type %s is duplicated", json_string_value(t));
                break;
            }
            n->types |= bit;
            size_t l = strlen(json_string_value(t));
            text = tk_xrealloc(text, len + l + 3);
            if (i > 0)
                text[len++] = ',';
            memcpy(text + len, json_string_value(t), l);
            len += l;
        }
        text[len++] = ']';
        text[len] = '\0';
        /* gojsonschema prints a one-element list as the bare name */
        if (json_array_size(v) == 1 && !c->failed) {
            memmove(text, text + 1, len - 2);
            text[len - 2] = '\0';
        }
        n->types_text = text;
    } else {
        fail(c, "type must be a string or a non-empty array of strings");
    }
    path_pop(c, old);
}

/* An array of subschemas (allOf, anyOf, oneOf, items). */
static struct js_node **parse_schema_array(struct cc *c, const json_t *v, const char *key,
                                           size_t *count, int depth)
{
    size_t old = path_push(c, key);
    struct js_node **out = NULL;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        fail(c, "%s must be a non-empty array of schemas", key);
    } else {
        out = tk_xcalloc(json_array_size(v), sizeof(*out));
        for (size_t i = 0; i < json_array_size(v) && !c->failed; i++) {
            size_t o2 = path_push_index(c, i);
            out[i] = compile_node(c, json_array_get(v, i), depth + 1);
            path_pop(c, o2);
        }
        *count = json_array_size(v);
    }
    path_pop(c, old);
    return out;
}

/* A unique list of strings (required, array-form dependencies). */
static char **parse_string_set(struct cc *c, const json_t *v, const char *what, size_t *count)
{
    if (!json_is_array(v)) {
        fail(c, "%s must be an array of strings", what);
        return NULL;
    }
    char **out = tk_xcalloc(json_array_size(v) + 1, sizeof(*out));
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            fail(c, "%s items must be strings", what);
            break;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(out[j], json_string_value(e)) == 0) {
                fail(c, "%s items must be unique", what);
                break;
            }
        if (c->failed)
            break;
        out[i] = tk_xstrdup(json_string_value(e));
        *count = i + 1;
    }
    return out;
}

static void parse_extra(struct cc *c, const json_t *v, const char *key, enum js_extra *kind,
                        struct js_node **schema, int depth)
{
    if (json_is_boolean(v)) {
        *kind = json_is_true(v) ? JS_EXTRA_ANY : JS_EXTRA_NONE;
    } else if (json_is_object(v)) {
        *kind = JS_EXTRA_SCHEMA;
        *schema = compile_member(c, v, key, depth);
    } else {
        size_t old = path_push(c, key);
        fail(c, "%s must be a boolean or a schema", key);
        path_pop(c, old);
    }
}

static void parse_object_keywords(struct cc *c, struct js_node *n, const json_t *obj, int depth)
{
    json_t *v;
    if ((v = json_object_get(obj, "properties"))) {
        size_t old = path_push(c, "properties");
        if (!json_is_object(v)) {
            fail(c, "properties must be an object");
        } else {
            size_t cap = json_object_size(v);
            n->prop_names = tk_xcalloc(cap + 1, sizeof(char *));
            n->props = tk_xcalloc(cap + 1, sizeof(*n->props));
            const char *k;
            json_t *sub;
            json_object_foreach((json_t *)v, k, sub)
            {
                if (c->failed)
                    break;
                n->prop_names[n->nprops] = tk_xstrdup(k);
                n->props[n->nprops++] = compile_member(c, sub, k, depth);
            }
        }
        path_pop(c, old);
    }
    if ((v = json_object_get(obj, "required")) && !c->failed) {
        size_t old = path_push(c, "required");
        n->required = parse_string_set(c, v, "required", &n->nrequired);
        path_pop(c, old);
    }
    if ((v = json_object_get(obj, "additionalProperties")) && !c->failed)
        parse_extra(c, v, "additionalProperties", &n->additional_props, &n->additional_props_schema,
                    depth);
    if ((v = json_object_get(obj, "patternProperties")) && !c->failed) {
        size_t old = path_push(c, "patternProperties");
        if (!json_is_object(v)) {
            fail(c, "patternProperties must be an object");
        } else {
            size_t cap = json_object_size(v);
            n->patterns = tk_xcalloc(cap + 1, sizeof(*n->patterns));
            n->pattern_schemas = tk_xcalloc(cap + 1, sizeof(*n->pattern_schemas));
            const char *k;
            json_t *sub;
            json_object_foreach((json_t *)v, k, sub)
            {
                if (c->failed)
                    break;
                size_t o2 = path_push(c, k);
                bool ok = regex_compile(c, &n->patterns[n->npatterns], k, strlen(k));
                path_pop(c, o2);
                if (!ok)
                    break;
                n->pattern_schemas[n->npatterns++] = compile_member(c, sub, k, depth);
            }
        }
        path_pop(c, old);
    }
    if ((v = json_object_get(obj, "dependencies")) && !c->failed) {
        size_t old = path_push(c, "dependencies");
        if (!json_is_object(v)) {
            fail(c, "dependencies must be an object");
        } else {
            n->deps = tk_xcalloc(json_object_size(v) + 1, sizeof(*n->deps));
            const char *k;
            json_t *d;
            json_object_foreach((json_t *)v, k, d)
            {
                if (c->failed)
                    break;
                struct js_dep *dep = &n->deps[n->ndeps++];
                dep->key = tk_xstrdup(k);
                if (json_is_object(d)) {
                    dep->schema = compile_member(c, d, k, depth);
                } else {
                    size_t o2 = path_push(c, k);
                    if (json_is_array(d))
                        dep->names = parse_string_set(c, d, "dependency", &dep->nnames);
                    else
                        fail(c, "dependency must be a schema or an array of strings");
                    path_pop(c, o2);
                }
            }
        }
        path_pop(c, old);
    }
    if (!c->failed && get_count(c, obj, "minProperties", &n->min_props))
        get_count(c, obj, "maxProperties", &n->max_props);
    if (!c->failed && n->min_props >= 0 && n->max_props >= 0 && n->min_props > n->max_props)
        fail(c, "minProperties cannot be greater than maxProperties");
}

static void parse_array_keywords(struct cc *c, struct js_node *n, const json_t *obj, int depth)
{
    json_t *v;
    if ((v = json_object_get(obj, "items"))) {
        if (json_is_object(v)) {
            n->items = compile_member(c, v, "items", depth);
        } else if (json_is_array(v)) {
            n->has_items_tuple = true;
            if (json_array_size(v) > 0)
                n->items_tuple = parse_schema_array(c, v, "items", &n->nitems_tuple, depth);
        } else {
            size_t old = path_push(c, "items");
            fail(c, "items must be a schema or an array of schemas");
            path_pop(c, old);
        }
    }
    if ((v = json_object_get(obj, "additionalItems")) && !c->failed)
        parse_extra(c, v, "additionalItems", &n->additional_items, &n->additional_items_schema,
                    depth);
    if (!c->failed && get_count(c, obj, "minItems", &n->min_items) &&
        get_count(c, obj, "maxItems", &n->max_items))
        get_bool(c, obj, "uniqueItems", &n->unique_items);
    if (!c->failed && n->min_items >= 0 && n->max_items >= 0 && n->min_items > n->max_items)
        fail(c, "minItems cannot be greater than maxItems");
}

static void parse_string_keywords(struct cc *c, struct js_node *n, const json_t *obj)
{
    json_t *v;
    if (get_count(c, obj, "minLength", &n->min_len))
        get_count(c, obj, "maxLength", &n->max_len);
    if (!c->failed && n->min_len >= 0 && n->max_len >= 0 && n->min_len > n->max_len)
        fail(c, "minLength cannot be greater than maxLength");
    if ((v = json_object_get(obj, "pattern")) && !c->failed) {
        size_t old = path_push(c, "pattern");
        if (!json_is_string(v))
            fail(c, "pattern must be a string");
        else
            regex_compile(c, &n->pattern, json_string_value(v), json_string_length(v));
        path_pop(c, old);
    }
    if ((v = json_object_get(obj, "format")) && !c->failed) {
        if (!json_is_string(v)) {
            size_t old = path_push(c, "format");
            fail(c, "format must be a string");
            path_pop(c, old);
        } else {
            /* Unknown formats are ignored, as the draft allows. */
            n->format = tk__js_format_lookup(json_string_value(v));
            n->format_name = tk_xstrdup(json_string_value(v));
        }
    }
}

static void parse_number_keywords(struct cc *c, struct js_node *n, const json_t *obj)
{
    if (!get_number(c, obj, "minimum", &n->has_min, &n->min, &n->min_text) ||
        !get_number(c, obj, "maximum", &n->has_max, &n->max, &n->max_text) ||
        !get_number(c, obj, "multipleOf", &n->has_multiple, &n->multiple, &n->multiple_text) ||
        !get_bool(c, obj, "exclusiveMinimum", &n->excl_min) ||
        !get_bool(c, obj, "exclusiveMaximum", &n->excl_max))
        return;
    if (n->has_multiple && !(n->multiple > 0)) {
        size_t old = path_push(c, "multipleOf");
        fail(c, "multipleOf must be strictly greater than 0");
        path_pop(c, old);
    } else if (n->excl_min && !n->has_min) {
        fail(c, "exclusiveMinimum cannot be used without minimum");
    } else if (n->excl_max && !n->has_max) {
        fail(c, "exclusiveMaximum cannot be used without maximum");
    } else if (n->has_min && n->has_max && n->min > n->max) {
        fail(c, "minimum cannot be greater than maximum");
    }
}

/* enum values as gojsonschema prints them: each marshalled to JSON, joined by ", ". */
static char *join_json(const json_t *arr)
{
    size_t len = 0, cap = 64;
    char *out = tk_xmalloc(cap);
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        char *one = tk__js_go_json(e);
        size_t l = strlen(one);
        if (len + l + 3 > cap) {
            cap = (len + l + 3) * 2;
            out = tk_xrealloc(out, cap);
        }
        if (i > 0) {
            memcpy(out + len, ", ", 2);
            len += 2;
        }
        memcpy(out + len, one, l + 1);
        len += l;
        free(one);
    }
    return out;
}

static void parse_common_keywords(struct cc *c, struct js_node *n, const json_t *obj, int depth)
{
    json_t *v;
    if ((v = json_object_get(obj, "enum"))) {
        size_t old = path_push(c, "enum");
        if (!json_is_array(v) || json_array_size(v) == 0) {
            fail(c, "enum must be a non-empty array");
        } else {
            for (size_t i = 0; i < json_array_size(v) && !c->failed; i++)
                for (size_t j = 0; j < i; j++)
                    if (tk__js_equal(json_array_get(v, i), json_array_get(v, j), 0)) {
                        fail(c, "enum items must be unique");
                        break;
                    }
            if (!c->failed) {
                n->enum_values = json_deep_copy(v);
                n->enum_text = join_json(v);
            }
        }
        path_pop(c, old);
    }
    if ((v = json_object_get(obj, "const")) && !c->failed) {
        n->const_value = json_deep_copy(v);
        n->const_text = tk__js_go_json(v);
    }
    if ((v = json_object_get(obj, "allOf")) && !c->failed)
        n->all_of = parse_schema_array(c, v, "allOf", &n->nall, depth);
    if ((v = json_object_get(obj, "anyOf")) && !c->failed)
        n->any_of = parse_schema_array(c, v, "anyOf", &n->nany, depth);
    if ((v = json_object_get(obj, "oneOf")) && !c->failed)
        n->one_of = parse_schema_array(c, v, "oneOf", &n->none, depth);
    if ((v = json_object_get(obj, "not")) && !c->failed)
        n->not_schema = compile_member(c, v, "not", depth);
    if ((v = json_object_get(obj, "definitions")) && !c->failed) {
        /* Compiled even when unreferenced, so a broken definition is reported at load. */
        size_t old = path_push(c, "definitions");
        if (!json_is_object(v)) {
            fail(c, "definitions must be an object");
        } else {
            const char *k;
            json_t *sub;
            json_object_foreach((json_t *)v, k, sub)
            {
                if (c->failed)
                    break;
                compile_member(c, sub, k, depth);
            }
        }
        path_pop(c, old);
    }
}

static struct js_node *compile_node(struct cc *c, const json_t *obj, int depth)
{
    if (c->failed)
        return NULL;
    if (!json_is_object(obj)) {
        fail(c, "a schema must be a JSON object");
        return NULL;
    }
    if (depth > TK_JSONSCHEMA_MAX_SCHEMA_DEPTH) {
        fail(c, "schema nested deeper than %d levels", TK_JSONSCHEMA_MAX_SCHEMA_DEPTH);
        return NULL;
    }
    struct js_node *n = map_get(c, obj);
    if (n)
        return n;
    n = node_new(c, obj);
    json_t *v = json_object_get(obj, "$ref");
    if (v) {
        /* Draft 4: a $ref object is replaced by its target; sibling keywords do not apply. */
        if (!json_is_string(v)) {
            size_t old = path_push(c, "$ref");
            fail(c, "$ref must be a string");
            path_pop(c, old);
        } else {
            n->ref_text = tk_xstrdup(json_string_value(v));
        }
        return n;
    }
    if ((v = json_object_get(obj, "type")))
        parse_type(c, n, v);
    if (!c->failed)
        parse_object_keywords(c, n, obj, depth);
    if (!c->failed)
        parse_array_keywords(c, n, obj, depth);
    if (!c->failed)
        parse_string_keywords(c, n, obj);
    if (!c->failed)
        parse_number_keywords(c, n, obj);
    if (!c->failed)
        parse_common_keywords(c, n, obj, depth);
    return n;
}

/* Follows the local JSON pointer @ref ("#", "#/definitions/a~1b") inside the schema document. */
static const json_t *resolve_pointer(const json_t *root, const char *ref)
{
    if (ref[0] != '#')
        return NULL;
    const char *p = ref + 1;
    const json_t *cur = root;
    if (*p == '\0')
        return cur;
    if (*p != '/')
        return NULL;
    char seg[512];
    while (*p == '/') {
        p++;
        size_t len = 0;
        while (*p && *p != '/') {
            int ch = (unsigned char)*p++;
            if (ch == '~') {
                if (*p == '0')
                    ch = '~';
                else if (*p == '1')
                    ch = '/';
                else
                    return NULL;
                p++;
            } else if (ch == '%' && tk_hexval(p[0]) >= 0 && tk_hexval(p[1]) >= 0) {
                ch = tk_hexval(p[0]) * 16 + tk_hexval(p[1]);
                p += 2;
            }
            if (len + 1 >= sizeof(seg))
                return NULL;
            seg[len++] = (char)ch;
        }
        seg[len] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, seg, len);
        } else if (json_is_array(cur)) {
            char *end;
            if (len == 0 || (len > 1 && seg[0] == '0') || seg[0] < '0' || seg[0] > '9')
                return NULL;
            unsigned long idx = strtoul(seg, &end, 10);
            if (*end)
                return NULL;
            cur = json_array_get(cur, idx);
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
    }
    return *p == '\0' ? cur : NULL;
}

static void resolve_refs(struct cc *c)
{
    /* Compiling a target may append nodes with more $refs; the loop picks those up too. */
    for (size_t i = 0; i < c->s->nnodes && !c->failed; i++) {
        struct js_node *n = c->s->nodes[i];
        if (!n->ref_text)
            continue;
        const json_t *target = resolve_pointer(c->root, n->ref_text);
        if (!target) {
            snprintf(c->path, sizeof(c->path), "$ref \"%.200s\"", n->ref_text);
            fail(c, "cannot be resolved (only local JSON pointers into this schema are supported)");
            break;
        }
        snprintf(c->path, sizeof(c->path), "%.1000s", n->ref_text);
        c->plen = strlen(c->path);
        n->ref = compile_node(c, target, 0);
        free(n->ref_text);
        n->ref_text = NULL;
    }
}

/*
 * Refuses schemas whose validation would loop without consuming the document: a cycle through
 * $ref, allOf, anyOf, oneOf, not or schema dependencies all apply to the same instance.
 */
enum { WHITE = 0, GREY, BLACK };

static bool same_instance_cycle(struct js_node *n, unsigned char *color, tk_jsonschema_t *s,
                                int depth);

static bool visit(struct js_node *n, unsigned char *color, tk_jsonschema_t *s, int depth)
{
    if (!n)
        return false;
    return same_instance_cycle(n, color, s, depth + 1);
}

static bool same_instance_cycle(struct js_node *n, unsigned char *color, tk_jsonschema_t *s,
                                int depth)
{
    size_t i = n->idx;
    TK_UNUSED(s);
    if (color[i] == GREY || depth > TK_JSONSCHEMA_MAX_DEPTH)
        return true;
    if (color[i] == BLACK)
        return false;
    color[i] = GREY;
    bool cyc = visit(n->ref, color, s, depth) || visit(n->not_schema, color, s, depth);
    for (size_t k = 0; !cyc && k < n->nall; k++)
        cyc = visit(n->all_of[k], color, s, depth);
    for (size_t k = 0; !cyc && k < n->nany; k++)
        cyc = visit(n->any_of[k], color, s, depth);
    for (size_t k = 0; !cyc && k < n->none; k++)
        cyc = visit(n->one_of[k], color, s, depth);
    for (size_t k = 0; !cyc && k < n->ndeps; k++)
        cyc = visit(n->deps[k].schema, color, s, depth);
    color[i] = BLACK;
    return cyc;
}

tk_jsonschema_t *tk_jsonschema_compile(const json_t *schema, char *err, size_t errlen)
{
    struct cc c = {.err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    c.s = tk_xcalloc(1, sizeof(*c.s));
    c.root = schema;
    c.path[0] = '#';
    c.plen = 1;
    c.s->root = compile_node(&c, schema, 0);
    if (!c.failed)
        resolve_refs(&c);
    if (!c.failed) {
        unsigned char *color = tk_xcalloc(c.s->nnodes, 1);
        for (size_t i = 0; i < c.s->nnodes && !c.failed; i++) {
            if (same_instance_cycle(c.s->nodes[i], color, c.s, 0)) {
                snprintf(c.path, sizeof(c.path), "$ref");
                fail(&c, "schema refers back to itself without descending into the document "
                         "(or nests $ref/allOf/anyOf/oneOf/not too deeply)");
            }
        }
        free(color);
    }
    free(c.map_keys);
    free(c.map_vals);
    for (size_t i = 0; i < c.s->nnodes; i++)
        c.s->nodes[i]->src = NULL;
    if (c.failed) {
        tk_jsonschema_free(c.s);
        return NULL;
    }
    return c.s;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void free_node(struct js_node *n)
{
    free(n->ref_text);
    free(n->types_text);
    free_strv(n->prop_names, n->nprops);
    free(n->props);
    free_strv(n->required, n->nrequired);
    for (size_t i = 0; i < n->npatterns; i++) {
        free(n->patterns[i].src);
        pcre2_code_free(n->patterns[i].code);
    }
    free(n->patterns);
    free(n->pattern_schemas);
    for (size_t i = 0; i < n->ndeps; i++) {
        free(n->deps[i].key);
        free_strv(n->deps[i].names, n->deps[i].nnames);
    }
    free(n->deps);
    free(n->items_tuple);
    free(n->pattern.src);
    pcre2_code_free(n->pattern.code);
    free(n->format_name);
    free(n->min_text);
    free(n->max_text);
    free(n->multiple_text);
    json_decref(n->enum_values);
    free(n->enum_text);
    json_decref(n->const_value);
    free(n->const_text);
    free(n->all_of);
    free(n->any_of);
    free(n->one_of);
    free(n);
}

void tk_jsonschema_free(tk_jsonschema_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nnodes; i++)
        free_node(s->nodes[i]);
    free(s->nodes);
    free(s);
}
