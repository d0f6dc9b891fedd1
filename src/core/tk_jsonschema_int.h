/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the JSON Schema validator: the compiled form shared by compile, validate and text. */
#ifndef TK_JSONSCHEMA_INT_H
#define TK_JSONSCHEMA_INT_H

#include "tk_jsonschema.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* JSON types as a bit set; "integer" is its own bit so "number" can include it. */
enum js_type {
    JS_T_NULL = 1 << 0,
    JS_T_BOOLEAN = 1 << 1,
    JS_T_INTEGER = 1 << 2,
    JS_T_NUMBER = 1 << 3,
    JS_T_STRING = 1 << 4,
    JS_T_ARRAY = 1 << 5,
    JS_T_OBJECT = 1 << 6,
};

enum js_format {
    JS_F_NONE = 0,
    JS_F_DATE_TIME,
    JS_F_DATE,
    JS_F_TIME,
    JS_F_EMAIL,
    JS_F_HOSTNAME,
    JS_F_IPV4,
    JS_F_IPV6,
    JS_F_URI,
    JS_F_URI_REFERENCE,
    JS_F_UUID,
    JS_F_REGEX,
    JS_F_JSON_POINTER,
    JS_F_REL_JSON_POINTER,
};

/* additionalProperties / additionalItems */
enum js_extra {
    JS_EXTRA_ANY = 0, /* absent or true */
    JS_EXTRA_NONE,    /* false */
    JS_EXTRA_SCHEMA,
};

struct js_node;

struct js_regex {
    char *src;
    pcre2_code *code;
};

struct js_dep {
    char *key;
    char **names; /* array form */
    size_t nnames;
    struct js_node *schema; /* schema form */
};

/* One compiled (sub)schema. Every node is owned by tk_jsonschema's node list. */
struct js_node {
    size_t idx;        /* position in tk_jsonschema's node list */
    const json_t *src; /* the schema object while compiling (NULL afterwards) */
    struct js_node *ref;
    char *ref_text; /* "$ref" value while unresolved */

    unsigned types;   /* 0: untyped */
    char *types_text; /* "object" or "[string,null]" as gojsonschema prints it */

    /* object */
    size_t nprops;
    char **prop_names;
    struct js_node **props;
    size_t nrequired;
    char **required;
    enum js_extra additional_props;
    struct js_node *additional_props_schema;
    size_t npatterns;
    struct js_regex *patterns;
    struct js_node **pattern_schemas;
    size_t ndeps;
    struct js_dep *deps;
    int64_t min_props, max_props; /* -1: absent */

    /* array */
    struct js_node *items; /* single-schema form */
    size_t nitems_tuple;
    struct js_node **items_tuple; /* array form */
    bool has_items_tuple;
    enum js_extra additional_items;
    struct js_node *additional_items_schema;
    int64_t min_items, max_items;
    bool unique_items;

    /* string */
    int64_t min_len, max_len;
    struct js_regex pattern;
    enum js_format format;
    char *format_name;

    /* number */
    bool has_min, has_max, excl_min, excl_max, has_multiple;
    double min, max, multiple;
    char *min_text, *max_text, *multiple_text; /* as gojsonschema prints them */

    /* any type */
    json_t *enum_values; /* owned copy */
    char *enum_text;     /* `"a", "b", "c"` */
    json_t *const_value;
    char *const_text;
    size_t nall, nany, none;
    struct js_node **all_of, **any_of, **one_of;
    struct js_node *not_schema;
};

struct tk_jsonschema {
    struct js_node *root;
    struct js_node **nodes;
    size_t nnodes, cap;
};

/** Writes @v as Go's fmt "%v" prints a float64 ("1e+06", "0.5", "18"). Returns a malloc'd copy. */
char *tk__js_go_float(double v);

/** Serialises @v like Go's json.Marshal (compact, sorted keys, \u003c for <). malloc'd. */
char *tk__js_go_json(const json_t *v);

/** JSON equality with numbers compared by value (1 == 1.0). */
bool tk__js_equal(const json_t *a, const json_t *b, int depth);

/** True when @s (length @len) matches @fmt the way gojsonschema's format checkers accept it. */
bool tk__js_format_ok(enum js_format fmt, const char *s, size_t len);

/** Looks up a draft-4 format name; JS_F_NONE for unknown names (which are ignored). */
enum js_format tk__js_format_lookup(const char *name);

#endif
