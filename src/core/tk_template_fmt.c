/* SPDX-License-Identifier: Apache-2.0 */
/* Go's fmt, strconv.Quote, encoding/json and mxj output rules for template values. */
#include "tk_template_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Deeper values print as "..." so hostile data cannot exhaust the stack. */
#define MAX_PRINT_DEPTH 512

/* ---- buffer ------------------------------------------------------------------------------ */

void tt_buf_add(struct tt_buf *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (b->max && b->len + n > b->max) {
        b->over = true;
        n = b->max > b->len ? b->max - b->len : 0;
        if (n == 0)
            return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = tk_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void tt_buf_adds(struct tt_buf *b, const char *s)
{
    tt_buf_add(b, s, strlen(s));
}

void tt_buf_addc(struct tt_buf *b, char c)
{
    tt_buf_add(b, &c, 1);
}

void tt_buf_printf(struct tt_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        tt_buf_add(b, small, (size_t)n);
        return;
    }
    char *big = tk_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tt_buf_add(b, big, (size_t)n);
    free(big);
}

void tt_buf_free(struct tt_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- types and floats -------------------------------------------------------------------- */

const char *tt_type_name(const json_t *v)
{
    if (!v || json_is_null(v))
        return "<nil>";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "map[string]interface {}";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float64";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "<nil>";
    }
}

/*
 * Shortest decimal digits that read back as @f (like Go's strconv with precision -1).
 * Fills @digits (no dot, no trailing zeros) and the decimal exponent of the first digit.
 */
static void shortest_digits(double f, char *digits, size_t dlen, int *exp10)
{
    char tmp[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f || prec == 17)
            break;
    }
    /* tmp = "d.ddde[+-]xx" (f is non-negative here) */
    size_t n = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && n + 1 < dlen)
            digits[n++] = *p;
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
    *exp10 = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
}

static void put_exp(struct tt_buf *b, int e)
{
    char tmp[16];
    snprintf(tmp, sizeof(tmp), "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    tt_buf_adds(b, tmp);
}

/* Formats like strconv.FormatFloat(f, fmt, -1, 64) for fmt 'e', 'f' or 'g' (eprec 6 for 'g'). */
static void fmt_float_shortest(struct tt_buf *b, double f, char fmt, int eprec)
{
    if (isnan(f)) {
        tt_buf_adds(b, "NaN");
        return;
    }
    if (isinf(f)) {
        tt_buf_adds(b, f > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (signbit(f)) {
        tt_buf_addc(b, '-');
        f = -f;
    }
    char d[32];
    int e;
    if (f == 0) {
        d[0] = '0';
        d[1] = 0;
        e = 0;
    } else {
        shortest_digits(f, d, sizeof(d), &e);
    }
    int nd = (int)strlen(d);
    if (fmt == 'g')
        fmt = (e < -4 || e >= eprec) ? 'e' : 'f';
    if (fmt == 'e') {
        tt_buf_addc(b, d[0]);
        if (nd > 1) {
            tt_buf_addc(b, '.');
            tt_buf_add(b, d + 1, (size_t)nd - 1);
        }
        put_exp(b, e);
        return;
    }
    /* 'f': digits placed around the decimal point, no trailing zeros after it */
    int dp = e + 1; /* digits before the point */
    if (dp <= 0) {
        tt_buf_adds(b, "0.");
        for (int i = 0; i < -dp; i++)
            tt_buf_addc(b, '0');
        tt_buf_add(b, d, (size_t)nd);
    } else if (dp >= nd) {
        tt_buf_add(b, d, (size_t)nd);
        for (int i = nd; i < dp; i++)
            tt_buf_addc(b, '0');
    } else {
        tt_buf_add(b, d, (size_t)dp);
        tt_buf_addc(b, '.');
        tt_buf_add(b, d + dp, (size_t)(nd - dp));
    }
}

void tt_fmt_float(struct tt_buf *b, double f)
{
    fmt_float_shortest(b, f, 'g', 6);
}

/* ---- %v ---------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of an object, sorted as Go's fmt and encoding/json sort map keys. malloc'd. */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    size_t cnt = json_object_size(obj);
    const char **keys = tk_xcalloc(cnt ? cnt : 1, sizeof(*keys));
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        keys[i++] = k;
    }
    qsort(keys, i, sizeof(*keys), cmp_str);
    *n = i;
    return keys;
}

static void fmt_value_depth(struct tt_buf *b, const json_t *v, unsigned depth)
{
    if (depth > MAX_PRINT_DEPTH) {
        tt_buf_adds(b, "...");
        return;
    }
    if (!v || json_is_null(v)) {
        tt_buf_adds(b, "<nil>");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        tt_buf_add(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        tt_buf_printf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        tt_fmt_float(b, json_real_value(v));
        break;
    case JSON_TRUE:
        tt_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        tt_buf_adds(b, "false");
        break;
    case JSON_ARRAY:
        tt_buf_addc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                tt_buf_addc(b, ' ');
            fmt_value_depth(b, json_array_get(v, i), depth + 1);
        }
        tt_buf_addc(b, ']');
        break;
    case JSON_OBJECT: {
        size_t n;
        const char **keys = sorted_keys(v, &n);
        tt_buf_adds(b, "map[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                tt_buf_addc(b, ' ');
            tt_buf_adds(b, keys[i]);
            tt_buf_addc(b, ':');
            fmt_value_depth(b, json_object_get(v, keys[i]), depth + 1);
        }
        tt_buf_addc(b, ']');
        free(keys);
        break;
    }
    default:
        break;
    }
}

void tt_fmt_value(struct tt_buf *b, const json_t *v)
{
    fmt_value_depth(b, v, 0);
}

void tt_fmt_sprint(struct tt_buf *b, json_t **argv, size_t argc)
{
    bool prev_string = false;
    for (size_t i = 0; i < argc; i++) {
        bool is_string = argv[i] && json_is_string(argv[i]);
        if (i > 0 && !is_string && !prev_string)
            tt_buf_addc(b, ' ');
        tt_fmt_value(b, argv[i]);
        prev_string = is_string;
    }
}

/* ---- strconv.Quote ----------------------------------------------------------------------- */

static size_t decode_rune(const unsigned char *s, size_t n, uint32_t *r)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *r = c;
        return 1;
    }
    size_t len = c >= 0xF0 && c < 0xF8 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || len > n) {
        *r = 0xFFFD;
        return 0;
    }
    uint32_t v = c & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *r = 0xFFFD;
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF)) {
        *r = 0xFFFD;
        return 0;
    }
    *r = v;
    return len;
}

/* A rough unicode.IsPrint for the code points that commonly matter. */
static bool rune_printable(uint32_t r)
{
    if (r < 0x20 || (r >= 0x7F && r <= 0xA0) || r == 0xAD)
        return false;
    if (r == 0x2028 || r == 0x2029 || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB))
        return false;
    if (r >= 0xE000 && r <= 0xF8FF) /* private use */
        return false;
    return true;
}

void tt_fmt_quote(struct tt_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    tt_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t len = decode_rune((const unsigned char *)s + i, n - i, &r);
        if (len == 0) {
            char e[4] = {'\\', 'x', hex[(unsigned char)s[i] >> 4], hex[(unsigned char)s[i] & 15]};
            tt_buf_add(b, e, 4);
            i++;
            continue;
        }
        switch (r) {
        case '\a':
            tt_buf_adds(b, "\\a");
            break;
        case '\b':
            tt_buf_adds(b, "\\b");
            break;
        case '\f':
            tt_buf_adds(b, "\\f");
            break;
        case '\n':
            tt_buf_adds(b, "\\n");
            break;
        case '\r':
            tt_buf_adds(b, "\\r");
            break;
        case '\t':
            tt_buf_adds(b, "\\t");
            break;
        case '\v':
            tt_buf_adds(b, "\\v");
            break;
        case '\\':
            tt_buf_adds(b, "\\\\");
            break;
        case '"':
            tt_buf_adds(b, "\\\"");
            break;
        default:
            if (rune_printable(r)) {
                tt_buf_add(b, s + i, len);
            } else if (r < 0x80) {
                char e[4] = {'\\', 'x', hex[r >> 4], hex[r & 15]};
                tt_buf_add(b, e, 4);
            } else if (r < 0x10000) {
                tt_buf_printf(b, "\\u%04x", r);
            } else {
                tt_buf_printf(b, "\\U%08x", r);
            }
        }
        i += len;
    }
    tt_buf_addc(b, '"');
}

/* ---- printf ------------------------------------------------------------------------------ */

struct spec {
    bool minus, plus, sharp, space, zero;
    int width, prec; /* -1 = absent */
    char verb;
};

/* Pads @s (already formatted) to the width, in runes, as Go does. */
static void pad(struct tt_buf *b, const struct spec *sp, const char *s, size_t n, bool numeric)
{
    size_t runes = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            runes++;
    }
    int fill = sp->width > 0 && (size_t)sp->width > runes ? sp->width - (int)runes : 0;
    if (fill == 0) {
        tt_buf_add(b, s, n);
        return;
    }
    if (sp->minus) {
        tt_buf_add(b, s, n);
        for (int i = 0; i < fill; i++)
            tt_buf_addc(b, ' ');
        return;
    }
    if (sp->zero && numeric) {
        size_t sign = n > 0 && (s[0] == '-' || s[0] == '+' || s[0] == ' ') ? 1 : 0;
        tt_buf_add(b, s, sign);
        for (int i = 0; i < fill; i++)
            tt_buf_addc(b, '0');
        tt_buf_add(b, s + sign, n - sign);
        return;
    }
    for (int i = 0; i < fill; i++)
        tt_buf_addc(b, ' ');
    tt_buf_add(b, s, n);
}

static void bad_verb(struct tt_buf *b, char verb, const json_t *v)
{
    tt_buf_printf(b, "%%!%c(", verb);
    if (!v || json_is_null(v)) {
        tt_buf_adds(b, "<nil>");
    } else {
        tt_buf_adds(b, tt_type_name(v));
        tt_buf_addc(b, '=');
        tt_fmt_value(b, v);
    }
    tt_buf_addc(b, ')');
}

static void fmt_one(struct tt_buf *b, const struct spec *sp, const json_t *v, unsigned depth);

static void fmt_int(struct tt_buf *b, const struct spec *sp, long long iv)
{
    char tmp[80];
    unsigned long long mag = iv < 0 ? 0ull - (unsigned long long)iv : (unsigned long long)iv;
    const char *sign = iv < 0 ? "-" : sp->plus ? "+" : sp->space ? " " : "";
    switch (sp->verb) {
    case 'd':
    case 'v':
        snprintf(tmp, sizeof(tmp), "%s%llu", sign, mag);
        break;
    case 'x':
        snprintf(tmp, sizeof(tmp), "%s%s%llx", sign, sp->sharp ? "0x" : "", mag);
        break;
    case 'X':
        snprintf(tmp, sizeof(tmp), "%s%s%llX", sign, sp->sharp ? "0X" : "", mag);
        break;
    case 'o':
        snprintf(tmp, sizeof(tmp), "%s%s%llo", sign, sp->sharp ? "0" : "", mag);
        break;
    case 'b': {
        char bits[72];
        int n = 0;
        do {
            bits[n++] = (char)('0' + (mag & 1));
            mag >>= 1;
        } while (mag);
        size_t o = (size_t)snprintf(tmp, sizeof(tmp), "%s", sign);
        while (n > 0 && o + 1 < sizeof(tmp))
            tmp[o++] = bits[--n];
        tmp[o] = 0;
        break;
    }
    case 'c': {
        struct tt_buf r = {0};
        uint32_t cp = iv < 0 || iv > 0x10FFFF ? 0xFFFD : (uint32_t)iv;
        char u[4];
        size_t un = 0;
        if (cp < 0x80) {
            u[un++] = (char)cp;
        } else if (cp < 0x800) {
            u[un++] = (char)(0xC0 | (cp >> 6));
            u[un++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            u[un++] = (char)(0xE0 | (cp >> 12));
            u[un++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[un++] = (char)(0x80 | (cp & 0x3F));
        } else {
            u[un++] = (char)(0xF0 | (cp >> 18));
            u[un++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            u[un++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[un++] = (char)(0x80 | (cp & 0x3F));
        }
        tt_buf_add(&r, u, un);
        pad(b, sp, r.p, r.len, false);
        tt_buf_free(&r);
        return;
    }
    case 'q': {
        /* a Go rune literal; only the plain ASCII cases are rendered exactly */
        if (iv >= 0x20 && iv < 0x7F && iv != '\'' && iv != '\\')
            snprintf(tmp, sizeof(tmp), "'%c'", (char)iv);
        else
            snprintf(tmp, sizeof(tmp), "'\\x%02llx'", mag & 0xFF);
        break;
    }
    default: {
        json_t *j = json_integer(iv);
        bad_verb(b, sp->verb, j);
        json_decref(j);
        return;
    }
    }
    pad(b, sp, tmp, strlen(tmp), true);
}

static void fmt_real(struct tt_buf *b, const struct spec *sp, double f)
{
    struct tt_buf r = {0};
    char verb = sp->verb;
    if (verb == 'v')
        verb = 'g';
    if (isnan(f) || isinf(f)) {
        tt_buf_adds(&r, isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf");
        pad(b, sp, r.p, r.len, false);
        tt_buf_free(&r);
        return;
    }
    switch (verb) {
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
        if ((verb == 'g' || verb == 'G') && sp->prec < 0) {
            if (sp->plus && !signbit(f))
                tt_buf_addc(&r, '+');
            fmt_float_shortest(&r, f, 'g', 6);
            if (verb == 'G') {
                for (size_t i = 0; i < r.len; i++)
                    r.p[i] = r.p[i] == 'e' ? 'E' : r.p[i];
            }
            break;
        }
        char cfmt[16];
        snprintf(cfmt, sizeof(cfmt), "%%%s%s.*%c", sp->plus ? "+" : "", sp->sharp ? "#" : "",
                 verb == 'F' ? 'f' : verb);
        tt_buf_printf(&r, cfmt, sp->prec < 0 ? 6 : sp->prec, f);
        break;
    }
    default: {
        json_t *j = json_real(f);
        bad_verb(b, sp->verb, j);
        json_decref(j);
        return;
    }
    }
    pad(b, sp, r.p ? r.p : "", r.len, true);
    tt_buf_free(&r);
}

static void fmt_string(struct tt_buf *b, const struct spec *sp, const char *s, size_t n)
{
    struct tt_buf r = {0};
    switch (sp->verb) {
    case 's':
    case 'v': {
        size_t use = n;
        if (sp->prec >= 0) {
            /* precision counts runes */
            size_t runes = 0, i = 0;
            for (; i < n; i++) {
                if (((unsigned char)s[i] & 0xC0) != 0x80) {
                    if (runes == (size_t)sp->prec)
                        break;
                    runes++;
                }
            }
            use = i;
        }
        pad(b, sp, s, use, false);
        return;
    }
    case 'q':
        tt_fmt_quote(&r, s, n);
        break;
    case 'x':
    case 'X': {
        const char *hex = sp->verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        for (size_t i = 0; i < n; i++) {
            tt_buf_addc(&r, hex[(unsigned char)s[i] >> 4]);
            tt_buf_addc(&r, hex[(unsigned char)s[i] & 15]);
        }
        break;
    }
    default: {
        json_t *j = json_stringn_nocheck(s, n);
        bad_verb(b, sp->verb, j);
        json_decref(j);
        return;
    }
    }
    pad(b, sp, r.p ? r.p : "", r.len, false);
    tt_buf_free(&r);
}

static void fmt_one(struct tt_buf *b, const struct spec *sp, const json_t *v, unsigned depth)
{
    if (depth > MAX_PRINT_DEPTH) {
        tt_buf_adds(b, "...");
        return;
    }
    if (!v || json_is_null(v)) {
        if (sp->verb == 'v' || sp->verb == 's') {
            if (sp->verb == 's') {
                tt_buf_adds(b, "%!s(<nil>)");
                return;
            }
            pad(b, sp, "<nil>", 5, false);
            return;
        }
        bad_verb(b, sp->verb, NULL);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        fmt_string(b, sp, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        fmt_int(b, sp, (long long)json_integer_value(v));
        return;
    case JSON_REAL:
        fmt_real(b, sp, json_real_value(v));
        return;
    case JSON_TRUE:
    case JSON_FALSE:
        if (sp->verb == 't' || sp->verb == 'v') {
            const char *s = json_is_true(v) ? "true" : "false";
            pad(b, sp, s, strlen(s), false);
        } else {
            bad_verb(b, sp->verb, v);
        }
        return;
    case JSON_ARRAY: {
        /* the verb applies to each element */
        struct tt_buf r = {0};
        struct spec inner = *sp;
        inner.width = -1;
        tt_buf_addc(&r, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                tt_buf_addc(&r, ' ');
            fmt_one(&r, &inner, json_array_get(v, i), depth + 1);
        }
        tt_buf_addc(&r, ']');
        pad(b, sp, r.p, r.len, false);
        tt_buf_free(&r);
        return;
    }
    case JSON_OBJECT: {
        struct tt_buf r = {0};
        struct spec inner = *sp;
        inner.width = -1;
        size_t n;
        const char **keys = sorted_keys(v, &n);
        tt_buf_adds(&r, "map[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                tt_buf_addc(&r, ' ');
            fmt_string(&r, &inner, keys[i], strlen(keys[i]));
            tt_buf_addc(&r, ':');
            fmt_one(&r, &inner, json_object_get(v, keys[i]), depth + 1);
        }
        tt_buf_addc(&r, ']');
        free(keys);
        pad(b, sp, r.p, r.len, false);
        tt_buf_free(&r);
        return;
    }
    default:
        return;
    }
}

void tt_fmt_printf(struct tt_buf *b, const char *fmt, size_t flen, json_t **argv, size_t argc)
{
    size_t argi = 0;
    for (size_t i = 0; i < flen;) {
        if (fmt[i] != '%') {
            size_t j = i;
            while (j < flen && fmt[j] != '%')
                j++;
            tt_buf_add(b, fmt + i, j - i);
            i = j;
            continue;
        }
        i++;
        struct spec sp = {.width = -1, .prec = -1};
        for (; i < flen; i++) {
            char c = fmt[i];
            if (c == '-')
                sp.minus = true;
            else if (c == '+')
                sp.plus = true;
            else if (c == '#')
                sp.sharp = true;
            else if (c == ' ')
                sp.space = true;
            else if (c == '0')
                sp.zero = !sp.minus;
            else
                break;
        }
        while (i < flen && fmt[i] >= '0' && fmt[i] <= '9') {
            sp.width = (sp.width < 0 ? 0 : sp.width) * 10 + (fmt[i] - '0');
            if (sp.width > 1000000)
                sp.width = 1000000;
            i++;
        }
        if (i < flen && fmt[i] == '.') {
            i++;
            sp.prec = 0;
            while (i < flen && fmt[i] >= '0' && fmt[i] <= '9') {
                sp.prec = sp.prec * 10 + (fmt[i] - '0');
                if (sp.prec > 1000)
                    sp.prec = 1000;
                i++;
            }
        }
        if (i >= flen) {
            tt_buf_adds(b, "%!(NOVERB)");
            break;
        }
        sp.verb = fmt[i++];
        if (sp.verb == '%') {
            tt_buf_addc(b, '%');
            continue;
        }
        if (argi >= argc) {
            tt_buf_printf(b, "%%!%c(MISSING)", sp.verb);
            continue;
        }
        fmt_one(b, &sp, argv[argi++], 0);
    }
    if (argi < argc) {
        tt_buf_adds(b, "%!(EXTRA ");
        for (size_t k = argi; k < argc; k++) {
            if (k > argi)
                tt_buf_adds(b, ", ");
            tt_buf_adds(b, tt_type_name(argv[k]));
            tt_buf_addc(b, '=');
            tt_fmt_value(b, argv[k]);
        }
        tt_buf_addc(b, ')');
    }
}

/* ---- encoding/json ----------------------------------------------------------------------- */

static void json_string_go(struct tt_buf *b, const char *s, size_t n, bool escape_html)
{
    static const char hex[] = "0123456789abcdef";
    tt_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '"':
                tt_buf_adds(b, "\\\"");
                break;
            case '\\':
                tt_buf_adds(b, "\\\\");
                break;
            case '\b':
                tt_buf_adds(b, "\\b");
                break;
            case '\f':
                tt_buf_adds(b, "\\f");
                break;
            case '\n':
                tt_buf_adds(b, "\\n");
                break;
            case '\r':
                tt_buf_adds(b, "\\r");
                break;
            case '\t':
                tt_buf_adds(b, "\\t");
                break;
            default:
                if (c < 0x20 || (escape_html && (c == '<' || c == '>' || c == '&'))) {
                    char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                    tt_buf_add(b, e, 6);
                } else {
                    tt_buf_addc(b, (char)c);
                }
            }
            i++;
            continue;
        }
        uint32_t r;
        size_t len = decode_rune((const unsigned char *)s + i, n - i, &r);
        if (len == 0) {
            tt_buf_adds(b, "\\ufffd");
            i++;
            continue;
        }
        if (r == 0x2028 || r == 0x2029)
            tt_buf_printf(b, "\\u%04x", r);
        else
            tt_buf_add(b, s + i, len);
        i += len;
    }
    tt_buf_addc(b, '"');
}

static void json_float_go(struct tt_buf *b, double f)
{
    double a = fabs(f);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        struct tt_buf t = {0};
        fmt_float_shortest(&t, f, 'e', 0);
        /* encoding/json writes e-7, not e-07 */
        if (t.len >= 4 && t.p[t.len - 4] == 'e' && t.p[t.len - 3] == '-' && t.p[t.len - 2] == '0') {
            t.p[t.len - 2] = t.p[t.len - 1];
            t.len--;
        }
        tt_buf_add(b, t.p, t.len);
        tt_buf_free(&t);
        return;
    }
    fmt_float_shortest(b, f, 'f', 0);
}

static void newline_indent(struct tt_buf *b, const char *indent, unsigned level)
{
    tt_buf_addc(b, '\n');
    for (unsigned i = 0; i < level; i++)
        tt_buf_adds(b, indent);
}

void tt_json_marshal(struct tt_buf *b, const json_t *v, bool escape_html, const char *indent,
                     unsigned depth)
{
    if (depth > MAX_PRINT_DEPTH) {
        tt_buf_adds(b, "null");
        return;
    }
    if (!v) {
        tt_buf_adds(b, "null");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        tt_buf_adds(b, "null");
        break;
    case JSON_TRUE:
        tt_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        tt_buf_adds(b, "false");
        break;
    case JSON_INTEGER:
        tt_buf_printf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        json_float_go(b, json_real_value(v));
        break;
    case JSON_STRING:
        json_string_go(b, json_string_value(v), json_string_length(v), escape_html);
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        tt_buf_addc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                tt_buf_addc(b, ',');
            if (indent)
                newline_indent(b, indent, depth + 1);
            tt_json_marshal(b, json_array_get(v, i), escape_html, indent, depth + 1);
        }
        if (indent && n)
            newline_indent(b, indent, depth);
        tt_buf_addc(b, ']');
        break;
    }
    case JSON_OBJECT: {
        size_t n;
        const char **keys = sorted_keys(v, &n);
        tt_buf_addc(b, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                tt_buf_addc(b, ',');
            if (indent)
                newline_indent(b, indent, depth + 1);
            json_string_go(b, keys[i], strlen(keys[i]), escape_html);
            tt_buf_adds(b, indent ? ": " : ":");
            tt_json_marshal(b, json_object_get(v, keys[i]), escape_html, indent, depth + 1);
        }
        if (indent && n)
            newline_indent(b, indent, depth);
        tt_buf_addc(b, '}');
        free(keys);
        break;
    }
    }
}

/* ---- mxj Map.Xml() ----------------------------------------------------------------------- */

static void xml_escape(struct tt_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            tt_buf_adds(b, "&amp;");
            break;
        case '<':
            tt_buf_adds(b, "&lt;");
            break;
        case '>':
            tt_buf_adds(b, "&gt;");
            break;
        case '"':
            tt_buf_adds(b, "&quot;");
            break;
        case '\'':
            tt_buf_adds(b, "&apos;");
            break;
        default:
            tt_buf_addc(b, s[i]);
        }
    }
}

static void xml_scalar(struct tt_buf *b, const json_t *v)
{
    if (json_is_string(v))
        xml_escape(b, json_string_value(v), json_string_length(v));
    else
        tt_fmt_value(b, v);
}

static void xml_elem(struct tt_buf *b, const char *tag, const json_t *v, unsigned depth)
{
    if (depth > MAX_PRINT_DEPTH)
        return;
    if (v && json_is_array(v)) {
        /* a list is the element repeated */
        for (size_t i = 0; i < json_array_size(v); i++)
            xml_elem(b, tag, json_array_get(v, i), depth + 1);
        return;
    }
    tt_buf_addc(b, '<');
    tt_buf_adds(b, tag);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        tt_buf_adds(b, "/>");
        return;
    }
    if (!json_is_object(v)) {
        tt_buf_addc(b, '>');
        xml_scalar(b, v);
        tt_buf_printf(b, "</%s>", tag);
        return;
    }
    size_t n;
    const char **keys = sorted_keys(v, &n);
    bool has_body = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_object_get(v, keys[i]);
        if (keys[i][0] == '-' && keys[i][1] && !json_is_object(c) && !json_is_array(c)) {
            tt_buf_printf(b, " %s=\"", keys[i] + 1);
            if (c && !json_is_null(c))
                xml_scalar(b, c);
            tt_buf_addc(b, '"');
        } else {
            has_body = true;
        }
    }
    if (!has_body) {
        tt_buf_adds(b, "/>");
        free(keys);
        return;
    }
    tt_buf_addc(b, '>');
    const json_t *text = json_object_get(v, "#text");
    if (text && !json_is_object(text) && !json_is_array(text) && !json_is_null(text))
        xml_scalar(b, text);
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_object_get(v, keys[i]);
        if (strcmp(keys[i], "#text") == 0)
            continue;
        if (keys[i][0] == '-' && keys[i][1] && !json_is_object(c) && !json_is_array(c))
            continue;
        xml_elem(b, keys[i], c, depth + 1);
    }
    tt_buf_printf(b, "</%s>", tag);
    free(keys);
}

void tt_xml_marshal(struct tt_buf *b, const json_t *v)
{
    if (v && json_is_object(v)) {
        if (json_object_size(v) == 1) {
            const char *k;
            json_t *val;
            json_object_foreach((json_t *)v, k, val)
            {
                if (json_is_array(val))
                    xml_elem(b, "doc", v, 0);
                else
                    xml_elem(b, k, val, 0);
            }
            return;
        }
        xml_elem(b, "doc", v, 0);
        return;
    }
    /* Not a map: Go's xml.MarshalIndent names the element after the Go type. */
    if (!v || json_is_null(v))
        return;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                tt_buf_addc(b, '\n');
            tt_xml_marshal(b, json_array_get(v, i));
        }
        return;
    }
    const char *tag = tt_type_name(v);
    tt_buf_printf(b, "<%s>", tag);
    xml_scalar(b, v);
    tt_buf_printf(b, "</%s>", tag);
}
