/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validating a document against a compiled schema. The walk, the order of checks and the
 * wording follow gojsonschema (what Tyk uses), so a client sees the same messages:
 * errors are "field: description", where field is the path below "(root)" ("address.city",
 * "tags.0") or, for errors about one named property (required, additionalProperties), that name.
 * anyOf/oneOf report the closest-matching branch's errors, chosen by the same kind of score.
 */
#include "tk_jsonschema_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* A position in the document: a linked list on the C stack, rendered only on error. */
struct ctx {
    const struct ctx *up;
    const char *key; /* NULL for an array index */
    size_t index;
};

struct walk {
    int depth;
    uint64_t steps, max_steps; /* work done: schema visits, plus errors built and dropped */
    bool exhausted;
};

struct result {
    char **errs;
    size_t n, cap, dropped;
    int score;
    struct walk *w;
};

static void validate(struct walk *w, const struct js_node *n, const json_t *doc,
                     const struct ctx *cx, struct result *r);

static void ctx_render(const struct ctx *cx, char *buf, size_t len, size_t *pos)
{
    if (cx->up) {
        ctx_render(cx->up, buf, len, pos);
        if (*pos + 1 < len)
            buf[(*pos)++] = '.';
    }
    char num[24];
    const char *seg = cx->key;
    if (!seg) {
        snprintf(num, sizeof(num), "%zu", cx->index);
        seg = num;
    }
    size_t l = strlen(seg);
    if (*pos + l >= len)
        l = len - 1 - *pos;
    memcpy(buf + *pos, seg, l);
    *pos += l;
    buf[*pos] = '\0';
}

/* The "field" gojsonschema shows: the context without its "(root)." prefix. */
static void field_of(const struct ctx *cx, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    ctx_render(cx, buf, len, &pos);
    static const char root_dot[] = "(root).";
    if (strncmp(buf, root_dot, sizeof(root_dot) - 1) == 0)
        memmove(buf, buf + sizeof(root_dot) - 1, strlen(buf) - (sizeof(root_dot) - 1) + 1);
}

static void add_error_field(struct result *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error_field(struct result *r, const char *field, const char *fmt, ...)
{
    r->score -= 2;    /* an error outweighs the +1 its check would have scored */
    r->w->steps += 8; /* formatting and keeping a message costs more than a visit */
    if (r->n >= TK_JSONSCHEMA_MAX_ERRORS) {
        r->dropped++;
        return;
    }
    char desc[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    size_t len = strlen(field) + 2 + strlen(desc) + 1;
    char *msg = tk_xmalloc(len);
    snprintf(msg, len, "%s: %s", field, desc);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->errs = tk_xrealloc(r->errs, r->cap * sizeof(*r->errs));
    }
    r->errs[r->n++] = msg;
}

#define ADD_ERROR(r, cx, ...)                                                                      \
    do {                                                                                           \
        char field_[512];                                                                          \
        field_of((cx), field_, sizeof(field_));                                                    \
        add_error_field((r), field_, __VA_ARGS__);                                                 \
    } while (0)

static void result_free(struct result *r)
{
    struct walk *w = r->w;
    if (w)
        w->steps += r->n;
    for (size_t i = 0; i < r->n; i++)
        free(r->errs[i]);
    free(r->errs);
    memset(r, 0, sizeof(*r));
    r->w = w;
}

/* Moves @from's errors and score into @to. */
static void merge(struct result *to, struct result *from)
{
    for (size_t i = 0; i < from->n; i++) {
        if (to->n >= TK_JSONSCHEMA_MAX_ERRORS) {
            to->dropped++;
            free(from->errs[i]);
            continue;
        }
        if (to->n == to->cap) {
            to->cap = to->cap ? to->cap * 2 : 4;
            to->errs = tk_xrealloc(to->errs, to->cap * sizeof(*to->errs));
        }
        to->errs[to->n++] = from->errs[i];
    }
    to->dropped += from->dropped;
    to->score += from->score;
    free(from->errs);
    struct walk *w = from->w;
    memset(from, 0, sizeof(*from));
    from->w = w;
}

static void sub_validate(struct walk *w, const struct js_node *n, const json_t *doc,
                         const struct ctx *cx, struct result *out)
{
    memset(out, 0, sizeof(*out));
    out->w = w;
    validate(w, n, doc, cx, out);
}

static bool valid(const struct result *r)
{
    return r->n == 0 && r->dropped == 0;
}

static void check_combinators(struct walk *w, const struct js_node *n, const json_t *doc,
                              const struct ctx *cx, struct result *r)
{
    if (n->nany) {
        bool ok = false;
        struct result best = {0};
        bool have_best = false;
        for (size_t i = 0; i < n->nany && !ok; i++) {
            struct result sub;
            sub_validate(w, n->any_of[i], doc, cx, &sub);
            ok = valid(&sub);
            if (!ok && (!have_best || sub.score > best.score)) {
                result_free(&best);
                best = sub;
                have_best = true;
            } else {
                result_free(&sub);
            }
        }
        if (!ok) {
            ADD_ERROR(r, cx, "Must validate at least one schema (anyOf)");
            merge(r, &best);
        }
        result_free(&best);
    }
    if (n->none) {
        size_t matched = 0;
        struct result best = {0};
        bool have_best = false;
        for (size_t i = 0; i < n->none; i++) {
            struct result sub;
            sub_validate(w, n->one_of[i], doc, cx, &sub);
            if (valid(&sub)) {
                matched++;
            } else if (matched == 0 && (!have_best || sub.score > best.score)) {
                result_free(&best);
                best = sub;
                have_best = true;
                continue;
            }
            result_free(&sub);
        }
        if (matched != 1) {
            ADD_ERROR(r, cx, "Must validate one and only one schema (oneOf)");
            if (matched == 0)
                merge(r, &best);
        }
        result_free(&best);
    }
    if (n->nall) {
        size_t matched = 0;
        for (size_t i = 0; i < n->nall; i++) {
            struct result sub;
            sub_validate(w, n->all_of[i], doc, cx, &sub);
            if (valid(&sub))
                matched++;
            merge(r, &sub);
        }
        if (matched != n->nall)
            ADD_ERROR(r, cx, "Must validate all the schemas (allOf)");
    }
    if (n->not_schema) {
        struct result sub;
        sub_validate(w, n->not_schema, doc, cx, &sub);
        if (valid(&sub))
            ADD_ERROR(r, cx, "Must not validate the schema (not)");
        result_free(&sub);
    }
    if (n->ndeps && json_is_object(doc)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)doc, key, val)
        {
            for (size_t d = 0; d < n->ndeps; d++) {
                const struct js_dep *dep = &n->deps[d];
                if (strcmp(dep->key, key) != 0)
                    continue;
                for (size_t k = 0; k < dep->nnames; k++)
                    if (!json_object_get(doc, dep->names[k]))
                        ADD_ERROR(r, cx, "Has a dependency on %s", dep->names[k]);
                if (dep->schema)
                    validate(w, dep->schema, doc, cx, r);
            }
        }
    }
    r->score++;
}

static void check_common(const struct js_node *n, const json_t *doc, const struct ctx *cx,
                         struct result *r)
{
    if (n->const_value && !tk__js_equal(doc, n->const_value, 0)) {
        char field[512];
        field_of(cx, field, sizeof(field));
        add_error_field(r, field, "%s does not match: %.900s", field, n->const_text);
    }
    if (n->enum_values) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(n->enum_values) && !found; i++)
            found = tk__js_equal(doc, json_array_get(n->enum_values, i), 0);
        if (!found) {
            char field[512];
            field_of(cx, field, sizeof(field));
            add_error_field(r, field, "%s must be one of the following: %.900s", field,
                            n->enum_text);
        }
    }
    r->score++;
}

static bool regex_search(const struct js_regex *re, const char *s, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static void check_array(struct walk *w, const struct js_node *n, const json_t *doc,
                        const struct ctx *cx, struct result *r)
{
    size_t count = json_array_size(doc);
    if (n->items) {
        for (size_t i = 0; i < count; i++) {
            struct ctx sub = {cx, NULL, i};
            struct result sr;
            sub_validate(w, n->items, json_array_get(doc, i), &sub, &sr);
            merge(r, &sr);
        }
    } else if (n->nitems_tuple) {
        size_t i;
        for (i = 0; i < n->nitems_tuple && i < count; i++) {
            struct ctx sub = {cx, NULL, i};
            struct result sr;
            sub_validate(w, n->items_tuple[i], json_array_get(doc, i), &sub, &sr);
            merge(r, &sr);
        }
        if (count > n->nitems_tuple) {
            if (n->additional_items == JS_EXTRA_NONE) {
                ADD_ERROR(r, cx, "No additional items allowed on array");
            } else if (n->additional_items == JS_EXTRA_SCHEMA) {
                for (; i < count; i++) {
                    struct ctx sub = {cx, NULL, i};
                    struct result sr;
                    sub_validate(w, n->additional_items_schema, json_array_get(doc, i), &sub, &sr);
                    merge(r, &sr);
                }
            }
        }
    }
    if (n->min_items >= 0 && count < (uint64_t)n->min_items)
        ADD_ERROR(r, cx, "Array must have at least %" PRId64 " items", n->min_items);
    if (n->max_items >= 0 && count > (uint64_t)n->max_items)
        ADD_ERROR(r, cx, "Array must have at most %" PRId64 " items", n->max_items);
    if (n->unique_items) {
        /* One error per later duplicate, as gojsonschema reports them. */
        for (size_t j = 1; j < count; j++)
            for (size_t i = 0; i < j; i++)
                if (tk__js_equal(json_array_get(doc, i), json_array_get(doc, j), 0)) {
                    ADD_ERROR(r, cx, "array items must be unique");
                    break;
                }
    }
    r->score++;
}

static bool matches_property(const struct js_node *n, const char *key)
{
    for (size_t i = 0; i < n->nprops; i++)
        if (strcmp(n->prop_names[i], key) == 0)
            return true;
    return false;
}

/* Validates @val against every patternProperties schema whose pattern matches @key. */
static bool check_patterns(struct walk *w, const struct js_node *n, const char *key,
                           const json_t *val, const struct ctx *cx, struct result *r)
{
    bool any = false;
    for (size_t i = 0; i < n->npatterns; i++) {
        if (!regex_search(&n->patterns[i], key, strlen(key)))
            continue;
        any = true;
        struct ctx sub = {cx, key, 0};
        struct result sr;
        sub_validate(w, n->pattern_schemas[i], val, &sub, &sr);
        merge(r, &sr);
    }
    if (any)
        r->score++;
    return any;
}

static void check_object(struct walk *w, const struct js_node *n, const json_t *doc,
                         const struct ctx *cx, struct result *r)
{
    size_t count = json_object_size(doc);
    if (n->min_props >= 0 && count < (uint64_t)n->min_props)
        ADD_ERROR(r, cx, "Must have at least %" PRId64 " properties", n->min_props);
    if (n->max_props >= 0 && count > (uint64_t)n->max_props)
        ADD_ERROR(r, cx, "Must have at most %" PRId64 " properties", n->max_props);
    for (size_t i = 0; i < n->nrequired; i++) {
        if (json_object_get(doc, n->required[i]))
            r->score++;
        else
            add_error_field(r, n->required[i], "%s is required", n->required[i]);
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)doc, key, val)
    {
        bool named = matches_property(n, key);
        bool patterned = check_patterns(w, n, key, val, cx, r);
        if (named || patterned)
            continue;
        if (n->additional_props == JS_EXTRA_NONE) {
            add_error_field(r, key, "Additional property %s is not allowed", key);
        } else if (n->additional_props == JS_EXTRA_SCHEMA) {
            /* gojsonschema validates these at the object's own position, not the member's */
            struct result sr;
            sub_validate(w, n->additional_props_schema, val, cx, &sr);
            merge(r, &sr);
        }
    }
    r->score++;
}

/* Unicode code points in valid UTF-8 (jansson only produces valid UTF-8). */
static size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static void check_string(const struct js_node *n, const json_t *doc, const struct ctx *cx,
                         struct result *r)
{
    const char *s = json_string_value(doc);
    size_t len = json_string_length(doc);
    if (n->min_len >= 0 || n->max_len >= 0) {
        size_t runes = utf8_count(s, len);
        if (n->min_len >= 0 && runes < (uint64_t)n->min_len)
            ADD_ERROR(r, cx, "String length must be greater than or equal to %" PRId64, n->min_len);
        if (n->max_len >= 0 && runes > (uint64_t)n->max_len)
            ADD_ERROR(r, cx, "String length must be less than or equal to %" PRId64, n->max_len);
    }
    if (n->pattern.code && !regex_search(&n->pattern, s, len))
        ADD_ERROR(r, cx, "Does not match pattern '%.900s'", n->pattern.src);
    if (n->format != JS_F_NONE && !tk__js_format_ok(n->format, s, len))
        ADD_ERROR(r, cx, "Does not match format '%.200s'", n->format_name);
    r->score++;
}

/* multipleOf with a relative tolerance, so 0.3 is a multiple of 0.1 as the decimal text says. */
static bool is_multiple(double v, double m)
{
    double q = v / m;
    if (!isfinite(q))
        return false;
    double rq = nearbyint(q);
    return fabs(q - rq) <= 1e-9 * TK_MAX(1.0, fabs(rq));
}

static void check_number(const struct js_node *n, const json_t *doc, const struct ctx *cx,
                         struct result *r)
{
    double v = json_number_value(doc);
    if (n->has_multiple && !is_multiple(v, n->multiple))
        ADD_ERROR(r, cx, "Must be a multiple of %s", n->multiple_text);
    if (n->has_max) {
        if (n->excl_max && v >= n->max)
            ADD_ERROR(r, cx, "Must be less than %s", n->max_text);
        else if (!n->excl_max && v > n->max)
            ADD_ERROR(r, cx, "Must be less than or equal to %s", n->max_text);
    }
    if (n->has_min) {
        if (n->excl_min && v <= n->min)
            ADD_ERROR(r, cx, "Must be greater than %s", n->min_text);
        else if (!n->excl_min && v < n->min)
            ADD_ERROR(r, cx, "Must be greater than or equal to %s", n->min_text);
    }
    r->score++;
}

static bool is_integral(const json_t *doc)
{
    if (json_is_integer(doc))
        return true;
    double d = json_real_value(doc);
    return isfinite(d) && d == floor(d);
}

/* Returns false (after recording the error) when @doc's type is not allowed by @n. */
static bool check_type(const struct js_node *n, const json_t *doc, const struct ctx *cx,
                       struct result *r)
{
    if (!n->types)
        return true;
    unsigned have;
    const char *given;
    switch (json_typeof(doc)) {
    case JSON_NULL:
        have = JS_T_NULL, given = "null";
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        have = JS_T_BOOLEAN, given = "boolean";
        break;
    case JSON_STRING:
        have = JS_T_STRING, given = "string";
        break;
    case JSON_ARRAY:
        have = JS_T_ARRAY, given = "array";
        break;
    case JSON_OBJECT:
        have = JS_T_OBJECT, given = "object";
        break;
    default:
        if (is_integral(doc))
            have = JS_T_NUMBER | JS_T_INTEGER, given = "integer";
        else
            have = JS_T_NUMBER, given = "number";
        break;
    }
    if (n->types & have)
        return true;
    ADD_ERROR(r, cx, "Invalid type. Expected: %s, given: %s", n->types_text, given);
    return false;
}

static void validate(struct walk *w, const struct js_node *n, const json_t *doc,
                     const struct ctx *cx, struct result *r)
{
    /* anyOf/oneOf over recursive $refs can cost exponential time on a hostile document */
    if (w->exhausted || ++w->steps > w->max_steps) {
        w->exhausted = true;
        return;
    }
    if (++w->depth > TK_JSONSCHEMA_MAX_DEPTH) {
        ADD_ERROR(r, cx, "Internal Error document or schema nested deeper than %d levels",
                  TK_JSONSCHEMA_MAX_DEPTH);
        w->depth--;
        return;
    }
    while (n->ref) /* draft 4: the target replaces the whole $ref object */
        n = n->ref;
    if (check_type(n, doc, cx, r)) {
        check_combinators(w, n, doc, cx, r);
        switch (json_typeof(doc)) {
        case JSON_ARRAY:
            check_array(w, n, doc, cx, r);
            break;
        case JSON_OBJECT:
            check_object(w, n, doc, cx, r);
            break;
        case JSON_STRING:
            check_string(n, doc, cx, r);
            break;
        case JSON_INTEGER:
        case JSON_REAL:
            check_number(n, doc, cx, r);
            break;
        default:
            break;
        }
        check_common(n, doc, cx, r);
        if (json_is_object(doc)) {
            for (size_t i = 0; i < n->nprops; i++) {
                json_t *val = json_object_get(doc, n->prop_names[i]);
                if (!val)
                    continue;
                struct ctx sub = {cx, n->prop_names[i], 0};
                validate(w, n->props[i], val, &sub, r);
            }
        }
        r->score++;
    }
    w->depth--;
}

/* Values in @v (bounded by depth; what is deeper than that is never reached anyway). */
static uint64_t count_values(const json_t *v, int depth)
{
    uint64_t n = 1;
    if (depth > TK_JSONSCHEMA_MAX_DEPTH)
        return n;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            n += count_values(json_array_get(v, i), depth + 1);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *sub;
        json_object_foreach((json_t *)v, k, sub)
        {
            n += count_values(sub, depth + 1);
        }
    }
    return n;
}

bool tk_jsonschema_validate(const tk_jsonschema_t *s, const json_t *doc,
                            tk_jsonschema_result_t *res)
{
    struct walk w = {0};
    w.max_steps = TK_JSONSCHEMA_BASE_STEPS + TK_JSONSCHEMA_STEPS_PER_VALUE * count_values(doc, 0);
    struct ctx root = {NULL, "(root)", 0};
    struct result r = {.w = &w};
    validate(&w, s->root, doc, &root, &r);
    if (w.exhausted)
        add_error_field(&r, "(root)",
                        "Internal Error validation needed more than %" PRIu64 " steps",
                        w.max_steps);
    bool ok = valid(&r);
    if (res) {
        res->errors = r.errs;
        res->n = r.n;
        res->dropped = r.dropped;
    } else {
        result_free(&r);
    }
    return ok;
}

char *tk_jsonschema_result_join(const tk_jsonschema_result_t *res, const char *sep)
{
    size_t seplen = strlen(sep), len = 0;
    for (size_t i = 0; i < res->n; i++)
        len += strlen(res->errors[i]) + seplen;
    char *out = tk_xmalloc(len + 1), *p = out;
    for (size_t i = 0; i < res->n; i++) {
        if (i) {
            memcpy(p, sep, seplen);
            p += seplen;
        }
        size_t l = strlen(res->errors[i]);
        memcpy(p, res->errors[i], l);
        p += l;
    }
    *p = '\0';
    return out;
}

void tk_jsonschema_result_clear(tk_jsonschema_result_t *res)
{
    for (size_t i = 0; i < res->n; i++)
        free(res->errors[i]);
    free(res->errors);
    memset(res, 0, sizeof(*res));
}
