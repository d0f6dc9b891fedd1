/* SPDX-License-Identifier: Apache-2.0 */
/* Tyk's reading of service discovery answers (see gw_discovery_parse.h). */
#include "gw_discovery_parse.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tyk wraps list answers in an object under this key before reading them. */
#define ARRAY_KEY "tyk_array"

/* ---- gabs dot paths ---- */

/* One path segment with gabs' escapes undone: "~1" is '.', "~0" is '~'. */
static char *unescape_segment(const char *s, size_t n)
{
    char *out = tk_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '1' || s[i + 1] == '0')) {
            out[o++] = s[i + 1] == '1' ? '.' : '~';
            i++;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Go's strconv.Atoi: optional sign, at least one decimal digit, nothing else, no overflow. */
static bool go_atoi(const char *s, long long *v)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    char *end;
    long long r = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *v = r;
    return true;
}

static json_t *search(json_t *cur, char **segs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (json_is_object(cur)) {
            cur = json_object_get(cur, segs[i]);
            if (!cur)
                return NULL;
        } else if (json_is_array(cur)) {
            if (strcmp(segs[i], "*") == 0) {
                json_t *out = json_array();
                size_t k;
                json_t *v;
                json_array_foreach(cur, k, v)
                {
                    if (i + 1 >= n) {
                        json_array_append(out, v);
                    } else {
                        json_t *r = search(v, segs + i + 1, n - i - 1);
                        if (r)
                            json_array_append_new(out, r);
                    }
                }
                if (json_array_size(out) == 0) {
                    json_decref(out);
                    return NULL;
                }
                return out;
            }
            long long idx;
            if (!go_atoi(segs[i], &idx) || idx < 0 || (size_t)idx >= json_array_size(cur))
                return NULL;
            cur = json_array_get(cur, (size_t)idx);
        } else {
            return NULL;
        }
    }
    return json_incref(cur);
}

json_t *gw_sd_path(json_t *root, const char *path)
{
    if (!root)
        return NULL;
    if (!path)
        path = "";
    size_t nseg = 1;
    for (const char *p = path; *p; p++)
        nseg += *p == '.';
    char **segs = tk_xcalloc(nseg, sizeof(*segs));
    const char *start = path;
    for (size_t i = 0; i < nseg; i++) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        segs[i] = unescape_segment(start, len);
        start += len + (dot ? 1 : 0);
    }
    json_t *r = search(root, segs, nseg);
    for (size_t i = 0; i < nseg; i++)
        free(segs[i]);
    free(segs);
    return r;
}

/* ---- a growing host list ---- */

typedef struct hostlist {
    char **v;
    size_t n, cap;
} hostlist_t;

static void hl_push(hostlist_t *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = tk_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = s;
}

static char *concat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *out = tk_xmalloc(la + lb + lc + 1);
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc);
    out[la + lb + lc] = '\0';
    return out;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* JSON text to a value, like Go's json.Unmarshal into interface{} (any top-level value). */
static json_t *parse_text(const char *text, size_t len)
{
    json_error_t e;
    return json_loadb(text, len, JSON_DECODE_ANY, &e);
}

/* Tyk's rawListToObj: the text spliced into {"tyk_array": ...} and parsed as one document. */
static json_t *parse_wrapped(const char *text, size_t len)
{
    static const char pre[] = "{\"" ARRAY_KEY "\":";
    size_t pl = sizeof(pre) - 1;
    char *buf = tk_xmalloc(pl + len + 2);
    memcpy(buf, pre, pl);
    memcpy(buf + pl, text, len);
    buf[pl + len] = '}';
    buf[pl + len + 1] = '\0';
    json_t *v = parse_text(buf, pl + len + 1);
    free(buf);
    return v;
}

/* gabs Children(): an array's elements or an object's values; nothing for anything else. */
static json_t *children(json_t *root, const char *path)
{
    json_t *v = gw_sd_path(root, path);
    json_t *out = json_array();
    if (json_is_array(v)) {
        json_array_extend(out, v);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) json_array_append(out, m);
    }
    json_decref(v);
    return out;
}

/* ---- Tyk's ServiceDiscovery reading ---- */

/* addPortFromObject: ":" and the port (first element when it is a list) are always appended
 * when a port path is set, even when nothing usable is found there. */
static char *add_port(const gw_sd_spec_t *s, const char *host, json_t *obj)
{
    if (!s->port_path || !*s->port_path)
        return tk_xstrdup(host);
    json_t *port = gw_sd_path(obj, s->port_path);
    json_t *p = json_is_array(port) ? json_array_get(port, 0) : port;
    char num[32] = "";
    const char *use = "";
    if (json_is_string(p)) {
        use = json_string_value(p);
    } else if (json_is_integer(p)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(p));
        use = num;
    } else if (json_is_real(p)) {
        double d = trunc(json_real_value(p)); /* Go's int(float64) */
        if (d > (double)LLONG_MIN && d < (double)LLONG_MAX)
            snprintf(num, sizeof(num), "%lld", (long long)d);
        use = num;
    }
    char *out = concat3(host, ":", use);
    json_decref(port);
    return out;
}

/* Object(): the string at data_path (with the port); "" when it is not a string. */
static char *object_host(const gw_sd_spec_t *s, json_t *item)
{
    json_t *h = gw_sd_path(item, s->data_path);
    char *out = json_is_string(h) ? add_port(s, json_string_value(h), item) : tk_xstrdup("");
    json_decref(h);
    return out;
}

/* NestedObject(): the string at parent_data_path decoded as JSON, then Object() on that. */
static char *nested_host(const gw_sd_spec_t *s, json_t *item)
{
    json_t *parent = gw_sd_path(item, s->parent_path);
    if (!json_is_string(parent)) {
        json_decref(parent);
        return tk_xstrdup("");
    }
    json_t *sub = parse_text(json_string_value(parent), json_string_length(parent));
    json_decref(parent);
    char *out = object_host(s, sub); /* a failed decode reads as an empty document */
    json_decref(sub);
    return out;
}

static char *hostname(const gw_sd_spec_t *s, json_t *item)
{
    return s->use_nested_query ? nested_host(s, item) : object_host(s, item);
}

static void push_items(const gw_sd_spec_t *s, hostlist_t *l, json_t *set, bool plain)
{
    size_t i;
    json_t *item;
    json_array_foreach(set, i, item)
    {
        char *h = plain ? object_host(s, item) : hostname(s, item);
        hl_push(l, concat3(h, nz(s->target_path), ""));
        free(h);
    }
}

/* SubObjectFromList(): every host of a list answer. */
static void sub_object_from_list(const gw_sd_spec_t *s, json_t *root, hostlist_t *l)
{
    json_t *set = NULL;
    if (s->endpoint_returns_list) {
        set = children(root, ARRAY_KEY);
    } else if (s->use_nested_query) {
        json_t *parent = gw_sd_path(root, s->parent_path);
        if (!json_is_string(parent)) {
            json_decref(parent);
            return;
        }
        const char *str = json_string_value(parent);
        if (str[0] == '[') {
            /* A nested list: its elements are read without further nesting. */
            json_t *sub = parse_wrapped(str, json_string_length(parent));
            set = children(sub, ARRAY_KEY);
            json_decref(sub);
            json_decref(parent);
            push_items(s, l, set, true);
            json_decref(set);
            return;
        }
        json_decref(parent);
        /* A nested object: Tyk then takes data_path's children from the outer document. */
        set = children(root, s->data_path);
    } else if (s->parent_path && *s->parent_path) {
        set = children(root, s->parent_path);
    } else {
        return;
    }
    push_items(s, l, set, false);
    json_decref(set);
}

int gw_sd_extract(const gw_sd_spec_t *s, const char *body, size_t len, char ***hosts, size_t *n,
                  char *err, size_t errlen)
{
    hostlist_t l = {0};
    *hosts = NULL;
    *n = 0;
    json_t *root = s->endpoint_returns_list ? parse_wrapped(body, len) : parse_text(body, len);
    if (!root) {
        snprintf(err, errlen, "answer is not JSON");
        return TK_ERROR;
    }
    if (s->use_target_list) {
        sub_object_from_list(s, root, &l);
    } else if (s->endpoint_returns_list) {
        /* The first entry only; an empty list still gives one empty host, as in Tyk. */
        sub_object_from_list(s, root, &l);
        for (size_t i = 1; i < l.n; i++)
            free(l.v[i]);
        if (l.n == 0)
            hl_push(&l, tk_xstrdup(""));
        l.n = 1;
    } else {
        char *h = hostname(s, root);
        hl_push(&l, concat3(h, nz(s->target_path), ""));
        free(h);
    }
    json_decref(root);
    *hosts = l.v;
    *n = l.n;
    return TK_OK;
}

void gw_sd_hosts_free(char **hosts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(hosts[i]);
    free(hosts);
}

char *gw_sd_host_url(const char *host, const char *protocol)
{
    while (*host && isspace((unsigned char)*host))
        host++;
    size_t hl = strlen(host);
    while (hl && isspace((unsigned char)host[hl - 1]))
        hl--;
    char *h = tk_xstrndup(host, hl);
    if (strstr(h, "://"))
        return h;
    const char *p = protocol ? protocol : "";
    while (*p && isspace((unsigned char)*p))
        p++;
    size_t pl = strlen(p);
    while (pl && isspace((unsigned char)p[pl - 1]))
        pl--;
    char *proto = pl ? tk_xstrndup(p, pl) : tk_xstrdup("http");
    char *out = concat3(proto, "://", h);
    free(proto);
    free(h);
    return out;
}
