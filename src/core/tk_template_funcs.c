/* SPDX-License-Identifier: Apache-2.0 */
/* Template functions: Go's builtins, the sprig subset Tyk users write, Tyk's
 * jsonMarshal/xmlMarshal. */
#include "tk_template_int.h"
#include "tk_base64.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

json_t *tt_fail(struct tt_call *c, const char *fmt, ...)
{
    if (c->err)
        return NULL;
    struct tt_buf b = {0};
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tt_buf_adds(&b, msg);
    c->err = b.p ? b.p : tk_xstrdup("");
    return NULL;
}

bool tt_truth(const json_t *v)
{
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_TRUE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    }
    return false;
}

static json_t *str_result(struct tt_buf *b)
{
    json_t *r = json_stringn_nocheck(b->p ? b->p : "", b->len);
    tt_buf_free(b);
    return r;
}

static const char *sval(const json_t *v)
{
    return json_string_value(v);
}

static size_t slen(const json_t *v)
{
    return json_string_length(v);
}

/* ---- comparisons ------------------------------------------------------------------------- */

enum basic { B_INVALID, B_BOOL, B_INT, B_FLOAT, B_STRING, B_OTHER };

static enum basic basic_kind(const json_t *v)
{
    if (!v || json_is_null(v))
        return B_INVALID;
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        return B_BOOL;
    case JSON_INTEGER:
        return B_INT;
    case JSON_REAL:
        return B_FLOAT;
    case JSON_STRING:
        return B_STRING;
    default:
        return B_OTHER;
    }
}

int tt_compare(const json_t *a, const json_t *b, bool ordered, char **err)
{
    enum basic ka = basic_kind(a), kb = basic_kind(b);
    if (ordered) {
        if (ka == B_INVALID || ka == B_OTHER || kb == B_INVALID || kb == B_OTHER || ka == B_BOOL ||
            kb == B_BOOL) {
            *err = tk_xstrdup("invalid type for comparison");
            return -2;
        }
    }
    if (ka != kb) {
        if (ka != B_INVALID && kb != B_INVALID) {
            *err = tk_xstrdup("incompatible types for comparison");
            return -2;
        }
        return 1; /* nil vs something: unequal */
    }
    switch (ka) {
    case B_INVALID:
        return 0;
    case B_BOOL:
        return json_is_true(a) == json_is_true(b) ? 0 : 1;
    case B_INT: {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    case B_FLOAT: {
        double x = json_real_value(a), y = json_real_value(b);
        return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
    }
    case B_STRING: {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), TK_MIN(la, lb));
        if (c == 0)
            c = la < lb ? -1 : la > lb ? 1 : 0;
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    default:
        *err = tk_xstrdup("non-comparable types");
        return -2;
    }
}

static json_t *fn_eq(struct tt_call *c)
{
    if (c->argc < 2)
        return tt_fail(c, "missing argument for comparison");
    for (size_t i = 1; i < c->argc; i++) {
        char *err = NULL;
        int r = tt_compare(c->argv[0], c->argv[i], false, &err);
        if (err) {
            c->err = err;
            return NULL;
        }
        if (r == 0)
            return json_true();
    }
    return json_false();
}

static json_t *fn_ne(struct tt_call *c)
{
    char *err = NULL;
    int r = tt_compare(c->argv[0], c->argv[1], false, &err);
    if (err) {
        c->err = err;
        return NULL;
    }
    return json_boolean(r != 0);
}

static json_t *ordered(struct tt_call *c, int want_lt, bool or_equal)
{
    char *err = NULL;
    int r = tt_compare(c->argv[0], c->argv[1], true, &err);
    if (err) {
        c->err = err;
        return NULL;
    }
    if (r == 2)
        return json_false(); /* NaN */
    if (r == 0)
        return json_boolean(or_equal);
    return json_boolean(want_lt ? r < 0 : r > 0);
}

static json_t *fn_lt(struct tt_call *c)
{
    return ordered(c, 1, false);
}
static json_t *fn_le(struct tt_call *c)
{
    return ordered(c, 1, true);
}
static json_t *fn_gt(struct tt_call *c)
{
    return ordered(c, 0, false);
}
static json_t *fn_ge(struct tt_call *c)
{
    return ordered(c, 0, true);
}

/* ---- Go builtins ------------------------------------------------------------------------- */

static json_t *fn_not(struct tt_call *c)
{
    return json_boolean(!tt_truth(c->argv[0]));
}

static json_t *fn_len(struct tt_call *c)
{
    const json_t *v = c->argv[0];
    if (!v || json_is_null(v))
        return tt_fail(c, "len of nil pointer");
    if (json_is_string(v))
        return json_integer((json_int_t)slen(v));
    if (json_is_array(v))
        return json_integer((json_int_t)json_array_size(v));
    if (json_is_object(v))
        return json_integer((json_int_t)json_object_size(v));
    return tt_fail(c, "len of type %s", tt_type_name(v));
}

static bool index_arg(struct tt_call *c, const json_t *ix, size_t cap, bool inclusive,
                      json_int_t *out)
{
    if (!ix || json_is_null(ix)) {
        tt_fail(c, "cannot index slice/array with nil");
        return false;
    }
    if (!json_is_integer(ix)) {
        tt_fail(c, "cannot index slice/array with type %s", tt_type_name(ix));
        return false;
    }
    json_int_t x = json_integer_value(ix);
    if (x < 0 || (inclusive ? (size_t)x > cap : (size_t)x >= cap)) {
        tt_fail(c, "index out of range: %lld", (long long)x);
        return false;
    }
    *out = x;
    return true;
}

static json_t *fn_index(struct tt_call *c)
{
    json_t *item = c->argv[0];
    if (!item || json_is_null(item))
        return tt_fail(c, "index of untyped nil");
    json_incref(item);
    for (size_t i = 1; i < c->argc; i++) {
        json_t *ix = c->argv[i];
        json_t *next = NULL;
        if (!item || json_is_null(item)) {
            json_decref(item);
            return tt_fail(c, "index of nil pointer");
        }
        if (json_is_array(item) || json_is_string(item)) {
            size_t n = json_is_array(item) ? json_array_size(item) : slen(item);
            json_int_t x;
            if (!index_arg(c, ix, n, false, &x)) {
                json_decref(item);
                return NULL;
            }
            next = json_is_array(item) ? json_incref(json_array_get(item, (size_t)x))
                                       : json_integer((unsigned char)sval(item)[x]);
        } else if (json_is_object(item)) {
            if (!ix || !json_is_string(ix)) {
                json_decref(item);
                if (!ix || json_is_null(ix))
                    return tt_fail(c, "value is nil; should be of type string");
                return tt_fail(c, "value has type %s; should be string", tt_type_name(ix));
            }
            next = json_object_get(item, sval(ix));
            next = next ? json_incref(next) : json_null();
        } else {
            json_decref(item);
            return tt_fail(c, "can't index item of type %s", tt_type_name(item));
        }
        json_decref(item);
        item = next;
    }
    return item;
}

static json_t *fn_slice(struct tt_call *c)
{
    json_t *item = c->argv[0];
    if (!item || json_is_null(item))
        return tt_fail(c, "slice of untyped nil");
    if (c->argc > 4)
        return tt_fail(c, "too many slice indexes: %zu", c->argc - 1);
    bool is_str = json_is_string(item);
    if (!is_str && !json_is_array(item))
        return tt_fail(c, "can't slice item of type %s", tt_type_name(item));
    if (is_str && c->argc == 4)
        return tt_fail(c, "cannot 3-index slice a string");
    size_t n = is_str ? slen(item) : json_array_size(item);
    json_int_t idx[3] = {0, (json_int_t)n, (json_int_t)n};
    for (size_t i = 1; i < c->argc; i++) {
        if (!index_arg(c, c->argv[i], n, true, &idx[i - 1]))
            return NULL;
    }
    if (idx[0] > idx[1])
        return tt_fail(c, "invalid slice index: %lld > %lld", (long long)idx[0], (long long)idx[1]);
    if (c->argc == 4 && idx[1] > idx[2])
        return tt_fail(c, "invalid slice index: %lld > %lld", (long long)idx[1], (long long)idx[2]);
    if (is_str)
        return json_stringn_nocheck(sval(item) + idx[0], (size_t)(idx[1] - idx[0]));
    json_t *out = json_array();
    for (json_int_t i = idx[0]; i < idx[1]; i++)
        json_array_append(out, json_array_get(item, (size_t)i));
    return out;
}

static json_t *fn_print(struct tt_call *c)
{
    struct tt_buf b = {0};
    tt_fmt_sprint(&b, c->argv, c->argc);
    return str_result(&b);
}

static json_t *fn_println(struct tt_call *c)
{
    struct tt_buf b = {0};
    for (size_t i = 0; i < c->argc; i++) {
        if (i)
            tt_buf_addc(&b, ' ');
        tt_fmt_value(&b, c->argv[i]);
    }
    tt_buf_addc(&b, '\n');
    return str_result(&b);
}

static json_t *fn_printf(struct tt_call *c)
{
    struct tt_buf b = {0};
    tt_fmt_printf(&b, sval(c->argv[0]), slen(c->argv[0]), c->argv + 1, c->argc - 1);
    return str_result(&b);
}

/* html/js/urlquery see one string argument as is, else fmt.Sprint of all of them. */
static void eval_args(struct tt_call *c, struct tt_buf *b)
{
    if (c->argc == 1 && c->argv[0] && json_is_string(c->argv[0]))
        tt_buf_add(b, sval(c->argv[0]), slen(c->argv[0]));
    else
        tt_fmt_sprint(b, c->argv, c->argc);
}

static json_t *fn_html(struct tt_call *c)
{
    struct tt_buf in = {0}, out = {0};
    eval_args(c, &in);
    for (size_t i = 0; i < in.len; i++) {
        switch (in.p[i]) {
        case '"':
            tt_buf_adds(&out, "&#34;");
            break;
        case '\'':
            tt_buf_adds(&out, "&#39;");
            break;
        case '&':
            tt_buf_adds(&out, "&amp;");
            break;
        case '<':
            tt_buf_adds(&out, "&lt;");
            break;
        case '>':
            tt_buf_adds(&out, "&gt;");
            break;
        case 0:
            tt_buf_adds(&out, "\xEF\xBF\xBD");
            break;
        default:
            tt_buf_addc(&out, in.p[i]);
        }
    }
    tt_buf_free(&in);
    return str_result(&out);
}

static json_t *fn_js(struct tt_call *c)
{
    static const char hex[] = "0123456789ABCDEF";
    struct tt_buf in = {0}, out = {0};
    eval_args(c, &in);
    for (size_t i = 0; i < in.len; i++) {
        unsigned char ch = (unsigned char)in.p[i];
        switch (ch) {
        case '\\':
            tt_buf_adds(&out, "\\\\");
            break;
        case '\'':
            tt_buf_adds(&out, "\\'");
            break;
        case '"':
            tt_buf_adds(&out, "\\\"");
            break;
        case '<':
            tt_buf_adds(&out, "\\u003C");
            break;
        case '>':
            tt_buf_adds(&out, "\\u003E");
            break;
        case '&':
            tt_buf_adds(&out, "\\u0026");
            break;
        case '=':
            tt_buf_adds(&out, "\\u003D");
            break;
        default:
            if (ch < ' ') {
                char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
                tt_buf_add(&out, e, 6);
            } else {
                tt_buf_addc(&out, (char)ch);
            }
        }
    }
    tt_buf_free(&in);
    return str_result(&out);
}

static json_t *fn_urlquery(struct tt_call *c)
{
    static const char hex[] = "0123456789ABCDEF";
    struct tt_buf in = {0}, out = {0};
    eval_args(c, &in);
    for (size_t i = 0; i < in.len; i++) {
        unsigned char ch = (unsigned char)in.p[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            tt_buf_addc(&out, (char)ch);
        } else if (ch == ' ') {
            tt_buf_addc(&out, '+');
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            tt_buf_add(&out, e, 3);
        }
    }
    tt_buf_free(&in);
    return str_result(&out);
}

/* and/or are evaluated by the executor (short-circuit); these are never called. */
static json_t *fn_unreachable(struct tt_call *c)
{
    return tt_fail(c, "internal error");
}

/* ---- Tyk --------------------------------------------------------------------------------- */

static json_t *fn_json_marshal(struct tt_call *c)
{
    struct tt_buf b = {0};
    tt_json_marshal(&b, c->argv[0], true, NULL, 0);
    return str_result(&b);
}

static json_t *fn_xml_marshal(struct tt_call *c)
{
    struct tt_buf b = {0};
    tt_xml_marshal(&b, c->argv[0]);
    return str_result(&b);
}

/* ---- sprig: strings ---------------------------------------------------------------------- */

/* sprig's strval: strings as is, anything else fmt %v. */
static void strval(struct tt_buf *b, const json_t *v)
{
    tt_fmt_value(b, v);
}

static json_t *map_ascii(struct tt_call *c, int (*f)(int))
{
    struct tt_buf b = {0};
    const char *s = sval(c->argv[0]);
    for (size_t i = 0; i < slen(c->argv[0]); i++) {
        unsigned char ch = (unsigned char)s[i];
        tt_buf_addc(&b, ch < 0x80 ? (char)f(ch) : (char)ch);
    }
    return str_result(&b);
}

static int up(int ch)
{
    return ch >= 'a' && ch <= 'z' ? ch - 32 : ch;
}
static int low(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static json_t *fn_upper(struct tt_call *c)
{
    return map_ascii(c, up);
}
static json_t *fn_lower(struct tt_call *c)
{
    return map_ascii(c, low);
}

static json_t *fn_title(struct tt_call *c)
{
    struct tt_buf b = {0};
    const char *s = sval(c->argv[0]);
    bool prev_sep = true;
    for (size_t i = 0; i < slen(c->argv[0]); i++) {
        unsigned char ch = (unsigned char)s[i];
        bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch >= 0x80;
        tt_buf_addc(&b, prev_sep && ch < 0x80 ? (char)up(ch) : (char)ch);
        prev_sep = !letter;
    }
    return str_result(&b);
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static json_t *fn_trim(struct tt_call *c)
{
    const char *s = sval(c->argv[0]);
    size_t a = 0, e = slen(c->argv[0]);
    while (a < e && is_ws(s[a]))
        a++;
    while (e > a && is_ws(s[e - 1]))
        e--;
    return json_stringn_nocheck(s + a, e - a);
}

static bool has_prefix(const json_t *s, const json_t *p)
{
    return slen(s) >= slen(p) && memcmp(sval(s), sval(p), slen(p)) == 0;
}

static bool has_suffix(const json_t *s, const json_t *p)
{
    return slen(s) >= slen(p) && memcmp(sval(s) + slen(s) - slen(p), sval(p), slen(p)) == 0;
}

/* sprig puts the operand last so it reads well in pipelines: trimPrefix "pre" .s */
static json_t *fn_trim_prefix(struct tt_call *c)
{
    const json_t *p = c->argv[0], *s = c->argv[1];
    if (has_prefix(s, p))
        return json_stringn_nocheck(sval(s) + slen(p), slen(s) - slen(p));
    return json_incref((json_t *)s);
}

static json_t *fn_trim_suffix(struct tt_call *c)
{
    const json_t *p = c->argv[0], *s = c->argv[1];
    if (has_suffix(s, p))
        return json_stringn_nocheck(sval(s), slen(s) - slen(p));
    return json_incref((json_t *)s);
}

static json_t *fn_has_prefix(struct tt_call *c)
{
    return json_boolean(has_prefix(c->argv[1], c->argv[0]));
}

static json_t *fn_has_suffix(struct tt_call *c)
{
    return json_boolean(has_suffix(c->argv[1], c->argv[0]));
}

static const char *find(const char *h, size_t hn, const char *n, size_t nn)
{
    if (nn == 0)
        return h;
    return memmem(h, hn, n, nn);
}

static json_t *fn_contains(struct tt_call *c)
{
    const json_t *sub = c->argv[0], *s = c->argv[1];
    return json_boolean(find(sval(s), slen(s), sval(sub), slen(sub)) != NULL);
}

/* strings.Replace(src, old, new, -1): an empty old inserts new around every rune. */
static json_t *fn_replace(struct tt_call *c)
{
    const json_t *old = c->argv[0], *nw = c->argv[1], *src = c->argv[2];
    struct tt_buf b = {0};
    const char *s = sval(src);
    size_t n = slen(src);
    if (slen(old) == 0) {
        tt_buf_add(&b, sval(nw), slen(nw));
        for (size_t i = 0; i < n; i++) {
            tt_buf_addc(&b, s[i]);
            if (i + 1 >= n || ((unsigned char)s[i + 1] & 0xC0) != 0x80)
                tt_buf_add(&b, sval(nw), slen(nw));
        }
        return str_result(&b);
    }
    size_t i = 0;
    while (i < n) {
        const char *hit = find(s + i, n - i, sval(old), slen(old));
        if (!hit) {
            tt_buf_add(&b, s + i, n - i);
            break;
        }
        tt_buf_add(&b, s + i, (size_t)(hit - (s + i)));
        tt_buf_add(&b, sval(nw), slen(nw));
        i = (size_t)(hit - s) + slen(old);
    }
    if (n == 0)
        return json_string("");
    return str_result(&b);
}

static json_t *fn_repeat(struct tt_call *c)
{
    json_int_t count = json_integer_value(c->argv[0]);
    const json_t *s = c->argv[1];
    if (count < 0)
        return tt_fail(c, "strings: negative Repeat count");
    if ((double)count * (double)slen(s) > 64.0 * 1024 * 1024)
        return tt_fail(c, "strings: Repeat output length overflow");
    struct tt_buf b = {0};
    for (json_int_t i = 0; i < count; i++)
        tt_buf_add(&b, sval(s), slen(s));
    return str_result(&b);
}

static json_t *fn_nospace(struct tt_call *c)
{
    struct tt_buf b = {0};
    const char *s = sval(c->argv[0]);
    for (size_t i = 0; i < slen(c->argv[0]); i++) {
        if (!is_ws(s[i]))
            tt_buf_addc(&b, s[i]);
    }
    return str_result(&b);
}

/* sprig substr: byte offsets; start < 0 means 0, end < 0 or past the end means the end. */
static json_t *fn_substr(struct tt_call *c)
{
    json_int_t start = json_integer_value(c->argv[0]), end = json_integer_value(c->argv[1]);
    const json_t *s = c->argv[2];
    json_int_t n = (json_int_t)slen(s);
    if (start < 0)
        return json_stringn_nocheck(sval(s), (size_t)(end < 0 || end > n ? n : end));
    if (end < 0 || end > n)
        end = n;
    if (start > end)
        return tt_fail(c, "slice bounds out of range [%lld:%lld]", (long long)start,
                       (long long)end);
    return json_stringn_nocheck(sval(s) + start, (size_t)(end - start));
}

static json_t *fn_trunc(struct tt_call *c)
{
    json_int_t k = json_integer_value(c->argv[0]);
    const json_t *s = c->argv[1];
    json_int_t n = (json_int_t)slen(s);
    if (k < 0 && n + k > 0)
        return json_stringn_nocheck(sval(s) + n + k, (size_t)-k);
    if (k >= 0 && n > k)
        return json_stringn_nocheck(sval(s), (size_t)k);
    return json_incref((json_t *)s);
}

static json_t *fn_quote(struct tt_call *c)
{
    struct tt_buf b = {0};
    bool first = true;
    for (size_t i = 0; i < c->argc; i++) {
        if (!c->argv[i] || json_is_null(c->argv[i]))
            continue;
        if (!first)
            tt_buf_addc(&b, ' ');
        first = false;
        struct tt_buf s = {0};
        strval(&s, c->argv[i]);
        tt_fmt_quote(&b, s.p ? s.p : "", s.len);
        tt_buf_free(&s);
    }
    return str_result(&b);
}

static json_t *fn_squote(struct tt_call *c)
{
    struct tt_buf b = {0};
    bool first = true;
    for (size_t i = 0; i < c->argc; i++) {
        if (!c->argv[i] || json_is_null(c->argv[i]))
            continue;
        if (!first)
            tt_buf_addc(&b, ' ');
        first = false;
        tt_buf_addc(&b, '\'');
        strval(&b, c->argv[i]);
        tt_buf_addc(&b, '\'');
    }
    return str_result(&b);
}

static json_t *fn_cat(struct tt_call *c)
{
    struct tt_buf b = {0};
    bool first = true;
    for (size_t i = 0; i < c->argc; i++) {
        if (!c->argv[i] || json_is_null(c->argv[i]))
            continue;
        if (!first)
            tt_buf_addc(&b, ' ');
        first = false;
        strval(&b, c->argv[i]);
    }
    return str_result(&b);
}

static json_t *indent_impl(struct tt_call *c, bool leading_newline)
{
    json_int_t k = json_integer_value(c->argv[0]);
    if (k < 0 || k > 1000)
        k = k < 0 ? 0 : 1000;
    const char *s = sval(c->argv[1]);
    struct tt_buf b = {0};
    if (leading_newline)
        tt_buf_addc(&b, '\n');
    for (json_int_t i = 0; i < k; i++)
        tt_buf_addc(&b, ' ');
    for (size_t i = 0; i < slen(c->argv[1]); i++) {
        tt_buf_addc(&b, s[i]);
        if (s[i] == '\n') {
            for (json_int_t j = 0; j < k; j++)
                tt_buf_addc(&b, ' ');
        }
    }
    return str_result(&b);
}

static json_t *fn_indent(struct tt_call *c)
{
    return indent_impl(c, false);
}
static json_t *fn_nindent(struct tt_call *c)
{
    return indent_impl(c, true);
}

/* sprig join: a list's non-nil elements as strings; a lone value is its own string. */
static json_t *fn_join(struct tt_call *c)
{
    const json_t *sep = c->argv[0], *v = c->argv[1];
    struct tt_buf b = {0};
    if (v && json_is_array(v)) {
        bool first = true;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                continue;
            if (!first)
                tt_buf_add(&b, sval(sep), slen(sep));
            first = false;
            strval(&b, e);
        }
    } else if (v && !json_is_null(v)) {
        strval(&b, v);
    }
    return str_result(&b);
}

static json_t *split_impl(struct tt_call *c, bool as_dict)
{
    const json_t *sep = c->argv[0], *src = c->argv[1];
    json_t *out = as_dict ? json_object() : json_array();
    const char *s = sval(src);
    size_t n = slen(src), i = 0, idx = 0;
    for (;;) {
        const char *hit = NULL;
        if (slen(sep) == 0) {
            /* strings.Split with "" splits into runes */
            if (i >= n)
                break;
            size_t j = i + 1;
            while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80)
                j++;
            hit = s + j;
            if (j >= n)
                hit = NULL;
        } else {
            hit = find(s + i, n - i, sval(sep), slen(sep));
        }
        size_t end = hit ? (size_t)(hit - s) : n;
        json_t *part = json_stringn_nocheck(s + i, end - i);
        if (as_dict) {
            char key[32];
            snprintf(key, sizeof(key), "_%zu", idx);
            json_object_set_new(out, key, part);
        } else {
            json_array_append_new(out, part);
        }
        idx++;
        if (!hit)
            break;
        i = end + slen(sep);
    }
    return out;
}

static json_t *fn_split(struct tt_call *c)
{
    return split_impl(c, true);
}
static json_t *fn_split_list(struct tt_call *c)
{
    return split_impl(c, false);
}

static json_t *fn_b64enc(struct tt_call *c)
{
    size_t n;
    char *e = tk_b64_encode(sval(c->argv[0]), slen(c->argv[0]), false, true, &n);
    json_t *r = json_stringn_nocheck(e, n);
    free(e);
    return r;
}

/* sprig returns the error text itself when the input is not base64. */
static json_t *fn_b64dec(struct tt_call *c)
{
    size_t n;
    unsigned char *d = tk_b64_decode(sval(c->argv[0]), slen(c->argv[0]), false, true, &n);
    if (!d)
        return json_string("illegal base64 data at input byte 0");
    json_t *r = json_stringn_nocheck((const char *)d, n);
    free(d);
    return r;
}

static json_t *fn_to_string(struct tt_call *c)
{
    struct tt_buf b = {0};
    strval(&b, c->argv[0]);
    return str_result(&b);
}

static json_t *fn_to_json(struct tt_call *c)
{
    struct tt_buf b = {0};
    tt_json_marshal(&b, c->argv[0], true, NULL, 0);
    return str_result(&b);
}

static json_t *fn_to_pretty_json(struct tt_call *c)
{
    struct tt_buf b = {0};
    tt_json_marshal(&b, c->argv[0], true, "  ", 0);
    return str_result(&b);
}

static json_t *fn_to_raw_json(struct tt_call *c)
{
    struct tt_buf b = {0};
    tt_json_marshal(&b, c->argv[0], false, NULL, 0);
    return str_result(&b);
}

/* ---- sprig: defaults and collections ----------------------------------------------------- */

/* sprig's empty(): nil, zero numbers, false, and empty strings/lists/maps. */
static bool is_empty(const json_t *v)
{
    return !tt_truth(v);
}

static json_t *fn_empty(struct tt_call *c)
{
    return json_boolean(is_empty(c->argv[0]));
}

static json_t *fn_default(struct tt_call *c)
{
    if (c->argc < 2 || is_empty(c->argv[1]))
        return c->argv[0] ? json_incref(c->argv[0]) : NULL;
    return json_incref(c->argv[1]);
}

static json_t *fn_coalesce(struct tt_call *c)
{
    for (size_t i = 0; i < c->argc; i++) {
        if (!is_empty(c->argv[i]))
            return json_incref(c->argv[i]);
    }
    return NULL;
}

static json_t *fn_ternary(struct tt_call *c)
{
    json_t *v = json_is_true(c->argv[2]) ? c->argv[0] : c->argv[1];
    return v ? json_incref(v) : NULL;
}

static json_t *fn_list(struct tt_call *c)
{
    json_t *out = json_array();
    for (size_t i = 0; i < c->argc; i++)
        json_array_append_new(out, c->argv[i] ? json_incref(c->argv[i]) : json_null());
    return out;
}

static json_t *fn_dict(struct tt_call *c)
{
    json_t *out = json_object();
    for (size_t i = 0; i < c->argc; i += 2) {
        struct tt_buf k = {0};
        strval(&k, c->argv[i]);
        json_t *v =
            i + 1 < c->argc && c->argv[i + 1] ? json_incref(c->argv[i + 1]) : json_string("");
        json_object_setn_new_nocheck(out, k.p ? k.p : "", k.len, v);
        tt_buf_free(&k);
    }
    return out;
}

static json_t *fn_has_key(struct tt_call *c)
{
    return json_boolean(c->argv[0] &&
                        json_object_getn(c->argv[0], sval(c->argv[1]), slen(c->argv[1])) != NULL);
}

static json_t *fn_get(struct tt_call *c)
{
    json_t *v =
        c->argv[0] ? json_object_getn(c->argv[0], sval(c->argv[1]), slen(c->argv[1])) : NULL;
    return v ? json_incref(v) : json_string("");
}

static json_t *fn_keys(struct tt_call *c)
{
    /* Go's map order is random; sorted is one of the orders Tyk may produce. */
    json_t *out = json_array();
    for (size_t i = 0; i < c->argc; i++) {
        if (!c->argv[i])
            continue;
        const char *k;
        json_t *v;
        json_object_foreach(c->argv[i], k, v)
        {
            json_array_append_new(out, json_string_nocheck(k));
        }
    }
    return out;
}

static json_t *fn_first(struct tt_call *c)
{
    const json_t *l = c->argv[0];
    if (!l || !json_is_array(l))
        return tt_fail(c, "Cannot find first on type %s", tt_type_name(l));
    return json_array_size(l) ? json_incref(json_array_get(l, 0)) : NULL;
}

static json_t *fn_last(struct tt_call *c)
{
    const json_t *l = c->argv[0];
    if (!l || !json_is_array(l))
        return tt_fail(c, "Cannot find last on type %s", tt_type_name(l));
    size_t n = json_array_size(l);
    return n ? json_incref(json_array_get(l, n - 1)) : NULL;
}

static json_t *fn_type_of(struct tt_call *c)
{
    return json_string(tt_type_name(c->argv[0]));
}

/* ---- sprig: numbers ---------------------------------------------------------------------- */

/* cast.ToInt64 as sprig uses it: floats truncate, strings parse (base prefixes allowed). */
static json_int_t to_int64(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return json_integer_value(v);
    case JSON_REAL: {
        double f = json_real_value(v);
        if (!(f > -9.2e18 && f < 9.2e18))
            return 0;
        return (json_int_t)f;
    }
    case JSON_TRUE:
        return 1;
    case JSON_STRING: {
        char *end;
        const char *s = sval(v);
        if (!*s)
            return 0;
        long long r = strtoll(s, &end, 0);
        return *end ? 0 : r;
    }
    default:
        return 0;
    }
}

static double to_float64(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return (double)json_integer_value(v);
    case JSON_REAL:
        return json_real_value(v);
    case JSON_TRUE:
        return 1;
    case JSON_STRING: {
        char *end;
        double d = strtod(sval(v), &end);
        return *end || !isfinite(d) ? 0 : d;
    }
    default:
        return 0;
    }
}

static json_t *fn_add(struct tt_call *c)
{
    uint64_t a = 0;
    for (size_t i = 0; i < c->argc; i++)
        a += (uint64_t)to_int64(c->argv[i]);
    return json_integer((json_int_t)a);
}

static json_t *fn_add1(struct tt_call *c)
{
    return json_integer((json_int_t)((uint64_t)to_int64(c->argv[0]) + 1));
}

static json_t *fn_sub(struct tt_call *c)
{
    return json_integer(
        (json_int_t)((uint64_t)to_int64(c->argv[0]) - (uint64_t)to_int64(c->argv[1])));
}

static json_t *fn_mul(struct tt_call *c)
{
    uint64_t a = (uint64_t)to_int64(c->argv[0]);
    for (size_t i = 1; i < c->argc; i++)
        a *= (uint64_t)to_int64(c->argv[i]);
    return json_integer((json_int_t)a);
}

static json_t *fn_div(struct tt_call *c)
{
    json_int_t b = to_int64(c->argv[1]), a = to_int64(c->argv[0]);
    if (b == 0)
        return tt_fail(c, "runtime error: integer divide by zero");
    if (a == INT64_MIN && b == -1)
        return json_integer(INT64_MIN);
    return json_integer(a / b);
}

static json_t *fn_mod(struct tt_call *c)
{
    json_int_t b = to_int64(c->argv[1]), a = to_int64(c->argv[0]);
    if (b == 0)
        return tt_fail(c, "runtime error: integer divide by zero");
    if (b == -1)
        return json_integer(0);
    return json_integer(a % b);
}

static json_t *fn_max(struct tt_call *c)
{
    json_int_t m = to_int64(c->argv[0]);
    for (size_t i = 1; i < c->argc; i++)
        m = TK_MAX(m, to_int64(c->argv[i]));
    return json_integer(m);
}

static json_t *fn_min(struct tt_call *c)
{
    json_int_t m = to_int64(c->argv[0]);
    for (size_t i = 1; i < c->argc; i++)
        m = TK_MIN(m, to_int64(c->argv[i]));
    return json_integer(m);
}

static json_t *fn_int(struct tt_call *c)
{
    return json_integer(to_int64(c->argv[0]));
}

static json_t *fn_float64(struct tt_call *c)
{
    return json_real(to_float64(c->argv[0]));
}

static json_t *fn_atoi(struct tt_call *c)
{
    char *end;
    const char *s = sval(c->argv[0]);
    long long r = strtoll(s, &end, 10);
    return json_integer(*s && !*end ? r : 0);
}

/* ---- table ------------------------------------------------------------------------------- */

#define A TP_ANY
#define S TP_STRING
#define I TP_INT
#define B TP_BOOL
#define M TP_MAP

static const struct tt_func funcs[] = {
    /* Go builtins */
    {"and", fn_unreachable, 1, true, {A, A}, TT_SPECIAL_AND},
    {"or", fn_unreachable, 1, true, {A, A}, TT_SPECIAL_OR},
    {"not", fn_not, 1, false, {A}, 0},
    {"len", fn_len, 1, false, {A}, 0},
    {"index", fn_index, 1, true, {A, A}, 0},
    {"slice", fn_slice, 1, true, {A, A}, 0},
    {"print", fn_print, 0, true, {A}, 0},
    {"printf", fn_printf, 1, true, {S, A}, 0},
    {"println", fn_println, 0, true, {A}, 0},
    {"eq", fn_eq, 1, true, {A, A}, 0},
    {"ne", fn_ne, 2, false, {A, A}, 0},
    {"lt", fn_lt, 2, false, {A, A}, 0},
    {"le", fn_le, 2, false, {A, A}, 0},
    {"gt", fn_gt, 2, false, {A, A}, 0},
    {"ge", fn_ge, 2, false, {A, A}, 0},
    {"html", fn_html, 0, true, {A}, 0},
    {"js", fn_js, 0, true, {A}, 0},
    {"urlquery", fn_urlquery, 0, true, {A}, 0},
    /* Tyk (apidef.Template) */
    {"jsonMarshal", fn_json_marshal, 1, false, {A}, 0},
    {"xmlMarshal", fn_xml_marshal, 1, false, {A}, 0},
    /* sprig */
    {"upper", fn_upper, 1, false, {S}, 0},
    {"lower", fn_lower, 1, false, {S}, 0},
    {"title", fn_title, 1, false, {S}, 0},
    {"trim", fn_trim, 1, false, {S}, 0},
    {"trimPrefix", fn_trim_prefix, 2, false, {S, S}, 0},
    {"trimSuffix", fn_trim_suffix, 2, false, {S, S}, 0},
    {"hasPrefix", fn_has_prefix, 2, false, {S, S}, 0},
    {"hasSuffix", fn_has_suffix, 2, false, {S, S}, 0},
    {"contains", fn_contains, 2, false, {S, S}, 0},
    {"replace", fn_replace, 3, false, {S, S, S}, 0},
    {"repeat", fn_repeat, 2, false, {I, S}, 0},
    {"nospace", fn_nospace, 1, false, {S}, 0},
    {"substr", fn_substr, 3, false, {I, I, S}, 0},
    {"trunc", fn_trunc, 2, false, {I, S}, 0},
    {"quote", fn_quote, 0, true, {A}, 0},
    {"squote", fn_squote, 0, true, {A}, 0},
    {"cat", fn_cat, 0, true, {A}, 0},
    {"indent", fn_indent, 2, false, {I, S}, 0},
    {"nindent", fn_nindent, 2, false, {I, S}, 0},
    {"join", fn_join, 2, false, {S, A}, 0},
    {"split", fn_split, 2, false, {S, S}, 0},
    {"splitList", fn_split_list, 2, false, {S, S}, 0},
    {"b64enc", fn_b64enc, 1, false, {S}, 0},
    {"b64dec", fn_b64dec, 1, false, {S}, 0},
    {"toString", fn_to_string, 1, false, {A}, 0},
    {"toJson", fn_to_json, 1, false, {A}, 0},
    {"toPrettyJson", fn_to_pretty_json, 1, false, {A}, 0},
    {"toRawJson", fn_to_raw_json, 1, false, {A}, 0},
    {"empty", fn_empty, 1, false, {A}, 0},
    {"default", fn_default, 1, true, {A, A}, 0},
    {"coalesce", fn_coalesce, 0, true, {A}, 0},
    {"ternary", fn_ternary, 3, false, {A, A, B}, 0},
    {"list", fn_list, 0, true, {A}, 0},
    {"dict", fn_dict, 0, true, {A}, 0},
    {"hasKey", fn_has_key, 2, false, {M, S}, 0},
    {"get", fn_get, 2, false, {M, S}, 0},
    {"keys", fn_keys, 0, true, {M}, 0},
    {"first", fn_first, 1, false, {A}, 0},
    {"last", fn_last, 1, false, {A}, 0},
    {"typeOf", fn_type_of, 1, false, {A}, 0},
    {"add", fn_add, 0, true, {A}, 0},
    {"add1", fn_add1, 1, false, {A}, 0},
    {"sub", fn_sub, 2, false, {A, A}, 0},
    {"mul", fn_mul, 1, true, {A, A}, 0},
    {"div", fn_div, 2, false, {A, A}, 0},
    {"mod", fn_mod, 2, false, {A, A}, 0},
    {"max", fn_max, 1, true, {A, A}, 0},
    {"min", fn_min, 1, true, {A, A}, 0},
    {"int", fn_int, 1, false, {A}, 0},
    {"int64", fn_int, 1, false, {A}, 0},
    {"float64", fn_float64, 1, false, {A}, 0},
    {"atoi", fn_atoi, 1, false, {S}, 0},
};

const struct tt_func *tt_func_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(funcs); i++) {
        if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    }
    return NULL;
}
