/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven configuration loader: defaults, JSON file, TYK_* environment, secret references. */
#include "tk_conf.h"
#include "tk_json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- error list ---- */

void tk_conf_errors_add(tk_conf_errors_t *e, const char *fmt, ...)
{
    char small[256];
    /* GCC (with the sanitizers) cannot prove @fmt non-NULL and warns in vsnprintf. */
    if (!fmt)
        fmt = "(null)";
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (len < 0)
        len = 0;
    char *msg = tk_xmalloc((size_t)len + 1);
    if ((size_t)len < sizeof(small)) {
        memcpy(msg, small, (size_t)len + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)len + 1, fmt, ap);
        va_end(ap);
    }
    e->msgs = tk_xrealloc(e->msgs, (e->n + 1) * sizeof(*e->msgs));
    e->msgs[e->n++] = msg;
}

void tk_conf_errors_free(tk_conf_errors_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    e->msgs = NULL;
    e->n = 0;
}

/* ---- scalar parsing shared by defaults and the environment ---- */

bool tk_conf_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < TK_ARRAY_LEN(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_int(const char *s, int64_t *out)
{
    if (!*s || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    /* Base 0 like Go's strconv.ParseInt(s, 0, 64): 0x.. hex, 0.. octal. */
    long long v = strtoll(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_float(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool tk_conf_parse_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    const char *p = s;
    double sign = 1, total = 0;
    if (*p == '-' || *p == '+')
        sign = *p++ == '-' ? -1 : 1;
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return true;
    }
    if (!*p)
        return false;
    while (*p) {
        const char *start = p;
        double v = 0;
        while (isdigit((unsigned char)*p))
            v = v * 10 + (*p++ - '0');
        if (*p == '.') {
            double scale = 0.1;
            for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
                v += (*p - '0') * scale;
        }
        if (p == start || (p == start + 1 && *start == '.'))
            return false;
        size_t best = 0;
        double mult = 0;
        /* Longest unit match so "ms" is not read as "m" followed by garbage. */
        for (size_t i = 0; i < TK_ARRAY_LEN(units); i++) {
            size_t ul = strlen(units[i].unit);
            if (ul > best && strncmp(p, units[i].unit, ul) == 0) {
                best = ul;
                mult = units[i].mult;
            }
        }
        if (!best)
            return false;
        p += best;
        total += v * mult;
    }
    if (total > 9.2e18)
        return false;
    *ns = (int64_t)(sign * total);
    return true;
}

static void strlist_free(tk_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void strlist_push(tk_strlist_t *l, const char *s, size_t len)
{
    l->v = tk_xrealloc(l->v, (l->n + 2) * sizeof(*l->v));
    l->v[l->n++] = tk_xstrndup(s, len);
    l->v[l->n] = NULL;
}

/* Comma-separated list; surrounding blanks of each item are trimmed and empty items dropped. */
static void strlist_split(tk_strlist_t *l, const char *s)
{
    strlist_free(l);
    while (s && *s) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *a = s, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a)
            strlist_push(l, a, (size_t)(b - a));
        s = comma ? comma + 1 : end;
    }
}

/* ---- slots ---- */

#define SLOT(t, e, type) ((type *)((char *)(t) + (e)->offset))

static void set_string(void *target, const tk_conf_entry_t *e, const char *v)
{
    char **slot = SLOT(target, e, char *);
    char *copy = tk_xstrdup(v);
    free(*slot);
    *slot = copy;
}

static void set_json(void *target, const tk_conf_entry_t *e, json_t *v)
{
    json_t **slot = SLOT(target, e, json_t *);
    json_decref(*slot);
    *slot = v;
}

static const char *type_word(enum tk_conf_type t)
{
    switch (t) {
    case TK_CONF_BOOL:
        return "a boolean";
    case TK_CONF_INT:
        return "an integer";
    case TK_CONF_FLOAT:
        return "a number";
    case TK_CONF_STRING:
        return "a string";
    case TK_CONF_STRLIST:
        return "an array of strings";
    case TK_CONF_JSON:
        return "JSON";
    }
    return "?";
}

/* Integral bounds print as integers (65535, not 65535.0 or 6.5535e+04). */
static const char *fmt_num(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e17)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%g", v);
    return buf;
}

static bool in_bounds(const tk_conf_entry_t *e, double v, const char *where, tk_conf_errors_t *errs)
{
    if (e->min < e->max && (v < e->min || v > e->max)) {
        char a[32], b[32], c[32];
        tk_conf_errors_add(errs, "%s: %s is out of range (allowed %s..%s)", where,
                           fmt_num(v, a, sizeof(a)), fmt_num(e->min, b, sizeof(b)),
                           fmt_num(e->max, c, sizeof(c)));
        return false;
    }
    return true;
}

/* Parses text form (defaults and environment) into the slot. Returns false on a type error. */
static bool set_from_text(void *target, const tk_conf_entry_t *e, const char *s, const char *where,
                          tk_conf_errors_t *errs)
{
    switch (e->type) {
    case TK_CONF_BOOL: {
        bool b;
        if (!tk_conf_parse_bool(s, &b))
            goto bad;
        *SLOT(target, e, bool) = b;
        return true;
    }
    case TK_CONF_INT: {
        int64_t v;
        if (!parse_int(s, &v) && !((e->flags & TK_CONF_DURATION) && tk_conf_parse_duration(s, &v)))
            goto bad;
        if (!in_bounds(e, (double)v, where, errs))
            return false;
        *SLOT(target, e, int64_t) = v;
        return true;
    }
    case TK_CONF_FLOAT: {
        double v;
        if (!parse_float(s, &v))
            goto bad;
        if (!in_bounds(e, v, where, errs))
            return false;
        *SLOT(target, e, double) = v;
        return true;
    }
    case TK_CONF_STRING:
        set_string(target, e, s);
        return true;
    case TK_CONF_STRLIST:
        strlist_split(SLOT(target, e, tk_strlist_t), s);
        return true;
    case TK_CONF_JSON: {
        /* Either JSON text, or the envconfig map form "k1:v1,k2:v2" (string values). */
        json_t *v = tk_json_load_buf(s, strlen(s), where, NULL, 0);
        if (!v) {
            v = json_object();
            const char *p = s;
            while (*p) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                const char *colon = memchr(p, ':', len);
                if (!colon || colon == p) {
                    json_decref(v);
                    tk_conf_errors_add(errs,
                                       "%s: expected JSON or a comma-separated list of key:value "
                                       "pairs, got \"%.64s\"",
                                       where, s);
                    return false;
                }
                json_object_setn_new(v, p, (size_t)(colon - p),
                                     json_stringn(colon + 1, len - (size_t)(colon - p) - 1));
                p = comma ? comma + 1 : p + len;
            }
        }
        set_json(target, e, v);
        return true;
    }
    }
bad:
    tk_conf_errors_add(errs, "%s: expected %s, got \"%.64s\"", where, type_word(e->type), s);
    return false;
}

static void describe(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "string \"%.64s\"", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "integer %lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "number %g", json_real_value(v));
    else
        snprintf(buf, len, "%s", tk_json_type_name(v));
}

static bool set_from_json(void *target, const tk_conf_entry_t *e, json_t *v, tk_conf_errors_t *errs)
{
    char got[96];
    switch (e->type) {
    case TK_CONF_BOOL:
        if (!json_is_boolean(v))
            goto bad;
        *SLOT(target, e, bool) = json_is_true(v);
        return true;
    case TK_CONF_INT: {
        int64_t i;
        if (json_is_integer(v)) {
            i = (int64_t)json_integer_value(v);
        } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
                   fabs(json_real_value(v)) < 9.2e18) {
            i = (int64_t)json_real_value(v);
        } else {
            goto bad;
        }
        if (!in_bounds(e, (double)i, e->path, errs))
            return false;
        *SLOT(target, e, int64_t) = i;
        return true;
    }
    case TK_CONF_FLOAT:
        if (!json_is_number(v))
            goto bad;
        if (!in_bounds(e, json_number_value(v), e->path, errs))
            return false;
        *SLOT(target, e, double) = json_number_value(v);
        return true;
    case TK_CONF_STRING:
        if (!json_is_string(v))
            goto bad;
        set_string(target, e, json_string_value(v));
        return true;
    case TK_CONF_STRLIST: {
        if (!json_is_array(v))
            goto bad;
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            if (!json_is_string(it)) {
                describe(it, got, sizeof(got));
                tk_conf_errors_add(errs, "%s[%zu]: expected a string, got %s", e->path, i, got);
                return false;
            }
        }
        tk_strlist_t *l = SLOT(target, e, tk_strlist_t);
        strlist_free(l);
        json_array_foreach(v, i, it)
        {
            strlist_push(l, json_string_value(it), json_string_length(it));
        }
        return true;
    }
    case TK_CONF_JSON:
        /* A private copy: tk_conf_sync_json() edits it and @root stays the caller's. */
        set_json(target, e, json_deep_copy(v));
        return true;
    }
bad:
    describe(v, got, sizeof(got));
    tk_conf_errors_add(errs, "%s: expected %s, got %s", e->path, type_word(e->type), got);
    return false;
}

static void clear_slot(void *target, const tk_conf_entry_t *e)
{
    switch (e->type) {
    case TK_CONF_BOOL:
        *SLOT(target, e, bool) = false;
        break;
    case TK_CONF_INT:
        *SLOT(target, e, int64_t) = 0;
        break;
    case TK_CONF_FLOAT:
        *SLOT(target, e, double) = 0;
        break;
    case TK_CONF_STRING:
        set_string(target, e, "");
        break;
    case TK_CONF_STRLIST:
        strlist_free(SLOT(target, e, tk_strlist_t));
        break;
    case TK_CONF_JSON:
        set_json(target, e, NULL);
        break;
    }
}

/* ---- secrets ---- */

static char *read_secret_file(const char *path, const char *where, tk_conf_errors_t *errs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tk_conf_errors_add(errs, "%s: cannot read secret file %s: %s", where, path,
                           strerror(errno));
        return NULL;
    }
    size_t cap = 256, len = 0;
    char *buf = tk_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0)
            buf = tk_xrealloc(buf, cap *= 2);
    }
    fclose(f);
    /* One trailing line ending, the one editors and `echo` add, is not part of the secret. */
    if (len && buf[len - 1] == '\n')
        len--;
    if (len && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    return buf;
}

char *tk_conf_resolve_secret(const char *value, json_t *secrets, tk_conf_errors_t *errs,
                             const char *path)
{
    const char *where = path ? path : "secret";
    if (strncmp(value, "env://", 6) == 0) {
        const char *name = value + 6;
        /* Tyk reads TYK_SECRET_<NAME upper-cased>; the bare name is our fallback. */
        size_t nl = strlen(name);
        char *var = tk_xmalloc(nl + sizeof("TYK_SECRET_"));
        memcpy(var, "TYK_SECRET_", 11);
        for (size_t i = 0; i <= nl; i++)
            var[11 + i] = (char)toupper((unsigned char)name[i]);
        const char *v = getenv(var);
        free(var);
        if (!v && *name)
            v = getenv(name);
        /* Tyk resolves an unset variable to "" without an error. */
        return tk_xstrdup(v ? v : "");
    }
    if (strncmp(value, "file://", 7) == 0)
        return read_secret_file(value + 7, where, errs);
    if (strncmp(value, "secrets://", 10) == 0) {
        const char *key = value + 10;
        json_t *v = json_is_object(secrets) ? json_object_get(secrets, key) : NULL;
        if (!json_is_string(v)) {
            tk_conf_errors_add(errs, "%s: %s: key \"%s\" not found in the \"secrets\" object",
                               where, value, key);
            return NULL;
        }
        return tk_xstrdup(json_string_value(v));
    }
    return tk_xstrdup(value);
}

/* ---- load ---- */

const tk_conf_entry_t *tk_conf_find(const tk_conf_entry_t *table, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].path, path) == 0)
            return &table[i];
    return NULL;
}

static char *env_name(const char *prefix, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *s = tk_xmalloc(a + b + 1);
    memcpy(s, prefix, a);
    memcpy(s + a, suffix, b + 1);
    return s;
}

int tk_conf_load(const tk_conf_entry_t *table, size_t n, void *target, const char *env_prefix,
                 json_t *root, tk_conf_errors_t *errs)
{
    size_t before = errs->n;

    for (size_t i = 0; i < n; i++) {
        const tk_conf_entry_t *e = &table[i];
        clear_slot(target, e);
        if (e->def && !set_from_text(target, e, e->def, e->path, errs))
            tk_conf_errors_add(errs, "%s: invalid built-in default \"%s\"", e->path, e->def);
    }

    /* Tyk compares the lower-cased value with "true" here, not strconv.ParseBool. */
    char *omit_name = env_name(env_prefix, "OMITCONFIGFILE");
    const char *omit_val = getenv(omit_name);
    free(omit_name);
    bool omit = omit_val && strcasecmp(omit_val, "true") == 0;

    if (root && !omit) {
        for (size_t i = 0; i < n; i++) {
            json_t *v = tk_json_get_path(root, table[i].path);
            /* null leaves the default in place, as encoding/json does. */
            if (v && !json_is_null(v))
                set_from_json(target, &table[i], v, errs);
        }
    }

    for (size_t i = 0; i < n; i++) {
        const tk_conf_entry_t *e = &table[i];
        if (!e->env || !*e->env)
            continue;
        char *name = env_name(env_prefix, e->env);
        const char *v = getenv(name);
        if (v)
            set_from_text(target, e, v, name, errs);
        free(name);
    }

    json_t *secrets = NULL;
    const tk_conf_entry_t *se = tk_conf_find(table, n, "secrets");
    if (se && se->type == TK_CONF_JSON)
        secrets = *SLOT(target, se, json_t *);
    else if (root && !omit)
        secrets = json_object_get(root, "secrets");
    for (size_t i = 0; i < n; i++) {
        const tk_conf_entry_t *e = &table[i];
        if (e->type != TK_CONF_STRING || !(e->flags & TK_CONF_SECRET))
            continue;
        char **slot = SLOT(target, e, char *);
        char *r = tk_conf_resolve_secret(*slot, secrets, errs, e->path);
        if (r) {
            free(*slot);
            *slot = r;
        }
    }

    tk_conf_sync_json(table, n, target);
    return errs->n == before ? TK_OK : TK_ERROR;
}

static json_t *slot_to_json(void *target, const tk_conf_entry_t *e)
{
    switch (e->type) {
    case TK_CONF_BOOL:
        return json_boolean(*SLOT(target, e, bool));
    case TK_CONF_INT:
        return json_integer((json_int_t)*SLOT(target, e, int64_t));
    case TK_CONF_FLOAT:
        return json_real(*SLOT(target, e, double));
    case TK_CONF_STRING:
        return json_string(*SLOT(target, e, char *)); /* NULL for invalid UTF-8 */
    case TK_CONF_STRLIST: {
        tk_strlist_t *l = SLOT(target, e, tk_strlist_t);
        json_t *a = json_array();
        for (size_t i = 0; i < l->n; i++)
            json_array_append_new(a, json_string(l->v[i]));
        return a;
    }
    case TK_CONF_JSON: {
        json_t *v = *SLOT(target, e, json_t *);
        return v ? json_deep_copy(v) : NULL;
    }
    }
    return NULL;
}

static size_t depth(const char *path)
{
    size_t d = 0;
    for (; *path; path++)
        d += *path == '.';
    return d;
}

void tk_conf_sync_json(const tk_conf_entry_t *table, size_t n, void *target)
{
    size_t maxd = 0;
    for (size_t i = 0; i < n; i++)
        if (table[i].type == TK_CONF_JSON)
            maxd = TK_MAX(maxd, depth(table[i].path));
    /* Deepest objects first, so a nested JSON entry is complete before its parent copies it. */
    for (size_t d = maxd + 1; d-- > 0;) {
        for (size_t i = 0; i < n; i++) {
            const tk_conf_entry_t *j = &table[i];
            if (j->type != TK_CONF_JSON || depth(j->path) != d)
                continue;
            size_t pl = strlen(j->path);
            json_t **slot = SLOT(target, j, json_t *);
            for (size_t k = 0; k < n; k++) {
                const tk_conf_entry_t *c = &table[k];
                if (strncmp(c->path, j->path, pl) != 0 || c->path[pl] != '.')
                    continue;
                json_t *v = slot_to_json(target, c);
                if (!v)
                    continue;
                if (!*slot)
                    *slot = json_object();
                if (!json_is_object(*slot)) {
                    json_decref(v);
                    continue;
                }
                tk_json_set_path(*slot, c->path + pl + 1, v);
            }
        }
    }
}

void tk_conf_free(const tk_conf_entry_t *table, size_t n, void *target)
{
    for (size_t i = 0; i < n; i++) {
        const tk_conf_entry_t *e = &table[i];
        switch (e->type) {
        case TK_CONF_STRING: {
            char **slot = SLOT(target, e, char *);
            free(*slot);
            *slot = NULL;
            break;
        }
        case TK_CONF_STRLIST:
            strlist_free(SLOT(target, e, tk_strlist_t));
            break;
        case TK_CONF_JSON:
            set_json(target, e, NULL);
            break;
        default:
            break;
        }
    }
}

/* ---- docs ---- */

static void md_cell(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

void tk_conf_write_docs(const tk_conf_entry_t *table, size_t n, const char *env_prefix, FILE *out)
{
    static const char *const tnames[] = {"boolean", "integer", "number", "string", "list", "JSON"};
    fputs("| JSON key | Environment variable | Type | Default | Description |\n", out);
    fputs("|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < n; i++) {
        const tk_conf_entry_t *e = &table[i];
        fprintf(out, "| `%s` | ", e->path);
        if (e->env && *e->env)
            fprintf(out, "`%s%s`", env_prefix, e->env);
        else
            fputs("—", out);
        fprintf(out, " | %s", tnames[e->type]);
        if (e->min < e->max) {
            char a[32], b[32];
            fprintf(out, " (%s..%s)", fmt_num(e->min, a, sizeof(a)), fmt_num(e->max, b, sizeof(b)));
        }
        if (e->flags & TK_CONF_DURATION)
            fputs(", ns", out);
        if (e->flags & TK_CONF_SECRET)
            fputs(", secret ref", out);
        fputs(" | ", out);
        if (e->def && *e->def) {
            fputc('`', out);
            md_cell(out, e->def);
            fputc('`', out);
        }
        fputs(" | ", out);
        md_cell(out, e->doc);
        fputs(" |\n", out);
    }
}

json_t *tk_conf_read_file(const char *path, const char *omit_env, tk_conf_errors_t *errs)
{
    const char *omit = omit_env ? getenv(omit_env) : NULL;
    if (omit && strcasecmp(omit, "true") == 0)
        return NULL;
    char err[512];
    json_t *root = NULL;
    if (!path || !*path) {
        tk_conf_errors_add(errs, "no configuration file given");
    } else if (!(root = tk_json_load_file(path, err, sizeof(err)))) {
        tk_conf_errors_add(errs, "%s", err);
    } else if (!json_is_object(root)) {
        tk_conf_errors_add(errs, "%s: the top level must be a JSON object, not %s", path,
                           tk_json_type_name(root));
        json_decref(root);
        root = NULL;
    }
    return root;
}
