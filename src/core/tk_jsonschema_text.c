/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How gojsonschema's messages print values: numbers the way Go's fmt prints a float64, enum and
 * const values the way Go's json.Marshal writes them. Plus JSON equality by value.
 */
#include "tk_jsonschema_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = tk_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* The shortest decimal digits that read back as @v: digits into @d (no dot), returns the
 * decimal exponent dp such that v = 0.d * 10^dp. @v must be finite and > 0. */
static int shortest_digits(double v, char *d, size_t *nd)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v || prec == 17)
            break;
    }
    /* buf is "D.DDDDe+XX" or "De+XX" */
    size_t n = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            d[n++] = *p;
    int exp10 = (int)strtol(p + 1, NULL, 10);
    while (n > 1 && d[n - 1] == '0')
        n--;
    d[n] = '\0';
    *nd = n;
    return exp10 + 1;
}

static void put_fixed(struct sbuf *b, const char *d, size_t nd, int dp)
{
    if (dp <= 0) {
        sb_puts(b, "0.");
        for (int i = 0; i < -dp; i++)
            sb_put(b, "0", 1);
        sb_put(b, d, nd);
    } else if ((size_t)dp >= nd) {
        sb_put(b, d, nd);
        for (size_t i = nd; i < (size_t)dp; i++)
            sb_put(b, "0", 1);
    } else {
        sb_put(b, d, (size_t)dp);
        sb_put(b, ".", 1);
        sb_put(b, d + dp, nd - (size_t)dp);
    }
}

/* Go's %e with shortest digits; @min_exp_digits is 2 for fmt, 1 for json's cleaned form. */
static void put_exp(struct sbuf *b, const char *d, size_t nd, int dp, int min_exp_digits)
{
    sb_put(b, d, 1);
    if (nd > 1) {
        sb_put(b, ".", 1);
        sb_put(b, d + 1, nd - 1);
    }
    int e = dp - 1;
    char tail[16];
    snprintf(tail, sizeof(tail), "e%c%0*d", e < 0 ? '-' : '+', min_exp_digits, e < 0 ? -e : e);
    sb_puts(b, tail);
}

static void put_float(struct sbuf *b, double v, bool json_style)
{
    if (isnan(v) || isinf(v)) {
        sb_puts(b, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        sb_puts(b, "0");
        return;
    }
    if (v < 0) {
        sb_put(b, "-", 1);
        v = -v;
    }
    char d[32];
    size_t nd;
    int dp = shortest_digits(v, d, &nd);
    if (json_style) {
        /* encoding/json: 'f' unless tiny or huge, and "e-07" written as "e-7" */
        if (v < 1e-6 || v >= 1e21)
            put_exp(b, d, nd, dp, 1);
        else
            put_fixed(b, d, nd, dp);
        return;
    }
    /* fmt %v: strconv 'g' with shortest digits switches to %e below 1e-4 and from 1e+06 */
    int x = dp - 1;
    if (x < -4 || x >= 6)
        put_exp(b, d, nd, dp, 2);
    else
        put_fixed(b, d, nd, dp);
}

char *tk__js_go_float(double v)
{
    struct sbuf b = {0};
    put_float(&b, v, false);
    return b.p;
}

static void put_json_string(struct sbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            sb_put(b, esc, 2);
        } else if (ch == '\n') {
            sb_puts(b, "\\n");
        } else if (ch == '\r') {
            sb_puts(b, "\\r");
        } else if (ch == '\t') {
            sb_puts(b, "\\t");
        } else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&') {
            /* Go escapes HTML-significant characters too */
            snprintf(esc, sizeof(esc), "\\u00%c%c", hex[ch >> 4], hex[ch & 15]);
            sb_put(b, esc, 6);
        } else if (ch == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            sb_puts(b, (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            i += 2;
        } else {
            sb_put(b, (const char *)&s[i], 1);
        }
    }
    sb_put(b, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_json(struct sbuf *b, const json_t *v, int depth)
{
    if (depth > TK_JSONSCHEMA_MAX_SCHEMA_DEPTH * 2) {
        sb_puts(b, "null");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        sb_puts(b, "null");
        break;
    case JSON_TRUE:
        sb_puts(b, "true");
        break;
    case JSON_FALSE:
        sb_puts(b, "false");
        break;
    case JSON_INTEGER: {
        char buf[24];
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sb_puts(b, buf);
        break;
    }
    case JSON_REAL:
        put_float(b, json_real_value(v), true);
        break;
    case JSON_STRING:
        put_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: {
        sb_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                sb_put(b, ",", 1);
            put_json(b, json_array_get(v, i), depth + 1);
        }
        sb_put(b, "]", 1);
        break;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = tk_xcalloc(n + 1, sizeof(*keys));
        const char *k;
        json_t *sub;
        json_object_foreach((json_t *)v, k, sub)
        {
            keys[i++] = k;
        }
        qsort(keys, n, sizeof(*keys), cmp_keys);
        sb_put(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i)
                sb_put(b, ",", 1);
            put_json_string(b, keys[i], strlen(keys[i]));
            sb_put(b, ":", 1);
            put_json(b, json_object_get(v, keys[i]), depth + 1);
        }
        sb_put(b, "}", 1);
        free(keys);
        break;
    }
    }
}

char *tk__js_go_json(const json_t *v)
{
    struct sbuf b = {0};
    sb_puts(&b, "");
    put_json(&b, v, 0);
    return b.p;
}

bool tk__js_equal(const json_t *a, const json_t *b, int depth)
{
    if (depth > 4096)
        return false;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!tk__js_equal(json_array_get(a, i), json_array_get(b, i), depth + 1))
                return false;
        return true;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *va;
        json_object_foreach((json_t *)a, k, va)
        {
            json_t *vb = json_object_get(b, k);
            if (!vb || !tk__js_equal(va, vb, depth + 1))
                return false;
        }
        return true;
    }
    default:
        return true; /* null, true, false: same type means equal */
    }
}
