/* SPDX-License-Identifier: Apache-2.0 */
/* Loads Tyk's error templates and renders {{.Message}} / {{.StatusCode}} placeholders. */
#include "gw_errors.h"

#include "tk_log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define MAX_CODES 64

struct tpl {
    int code; /* 0 = the generic error.<ext> */
    bool xml;
    char *text;
};

struct gw_templates {
    struct tpl t[MAX_CODES];
    size_t n;
};

static const char builtin_json[] = "{\n    \"error\": \"{{.Message}}\"\n}";
static const char builtin_xml[] = "<?xml version = \"1.0\" encoding = \"UTF-8\"?>\n"
                                  "<error>{{.Message}}</error>";

static char *slurp(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = tk_xmalloc(max + 1);
    size_t n = fread(buf, 1, max, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

gw_templates_t *gw_templates_load(const char *dir, tk_conf_errors_t *errs)
{
    gw_templates_t *t = tk_xcalloc(1, sizeof(*t));
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    TK_UNUSED(errs);
    if (!d && dir && *dir)
        tk_log_warn("template_path %s: cannot open directory; using built-in error templates", dir);
    struct dirent *de;
    while (d && (de = readdir(d)) && t->n < MAX_CODES) {
        const char *name = de->d_name;
        if (strncmp(name, "error", 5) != 0)
            continue;
        const char *dot = strrchr(name, '.');
        if (!dot)
            continue;
        bool xml = strcmp(dot, ".xml") == 0;
        if (!xml && strcmp(dot, ".json") != 0)
            continue;
        int code = 0;
        if (name[5] == '_') {
            char *end;
            long v = strtol(name + 6, &end, 10);
            if (end != dot || v < 100 || v > 599)
                continue;
            code = (int)v;
        } else if (name + 5 != dot) {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        char *text = slurp(path, 65536);
        if (!text)
            continue;
        t->t[t->n++] = (struct tpl){code, xml, text};
    }
    if (d)
        closedir(d);
    return t;
}

void gw_templates_free(gw_templates_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->t[i].text);
    free(t);
}

static const char *find(const gw_templates_t *t, int code, bool xml)
{
    const char *generic = NULL, *generic_json = NULL;
    for (size_t i = 0; t && i < t->n; i++) {
        if (t->t[i].xml == xml && t->t[i].code == code)
            return t->t[i].text;
        if (t->t[i].xml == xml && t->t[i].code == 0)
            generic = t->t[i].text;
        if (!t->t[i].xml && t->t[i].code == 0)
            generic_json = t->t[i].text;
    }
    if (generic)
        return generic;
    if (xml)
        return NULL; /* caller falls back to JSON */
    return generic_json ? generic_json : builtin_json;
}

static void add_escaped(struct evbuffer *out, const char *s, bool xml, bool quote)
{
    if (quote)
        evbuffer_add(out, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (xml) {
            switch (c) {
            case '<':
                evbuffer_add(out, "&lt;", 4);
                continue;
            case '>':
                evbuffer_add(out, "&gt;", 4);
                continue;
            case '&':
                evbuffer_add(out, "&amp;", 5);
                continue;
            case '"':
                evbuffer_add(out, "&#34;", 5);
                continue;
            case '\'':
                evbuffer_add(out, "&#39;", 5);
                continue;
            default:
                break;
            }
        } else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            evbuffer_add(out, e, 2);
            continue;
        } else if (c < 0x20) {
            evbuffer_add_printf(out, "\\u%04x", c);
            continue;
        }
        evbuffer_add(out, s, 1);
    }
    if (quote)
        evbuffer_add(out, "\"", 1);
}

const char *gw_error_render(const gw_templates_t *t, int status, const char *msg, bool xml,
                            struct evbuffer *out)
{
    const char *text = find(t, status, xml);
    if (!text && xml)
        text = builtin_xml;
    for (const char *p = text; *p;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            evbuffer_add(out, p, strlen(p));
            break;
        }
        evbuffer_add(out, p, (size_t)(open - p));
        const char *close = strstr(open, "}}");
        if (!close) {
            evbuffer_add(out, open, strlen(open));
            break;
        }
        size_t n = (size_t)(close - open - 2);
        const char *key = open + 2;
        while (n && *key == ' ') {
            key++;
            n--;
        }
        while (n && key[n - 1] == ' ')
            n--;
        if (n == 8 && !memcmp(key, ".Message", 8))
            add_escaped(out, msg, xml, false);
        else if (n == 13 && !memcmp(key, "error_message", 13))
            add_escaped(out, msg, xml, !xml);
        else if (n == 11 && !memcmp(key, ".StatusCode", 11))
            evbuffer_add_printf(out, "%d", status);
        p = close + 2;
    }
    return xml ? "application/xml" : "application/json";
}

bool gw_error_wants_xml(const char *ctype, size_t len)
{
    static const char *const xml_types[] = {"application/xml", "text/xml", "application/soap+xml"};
    for (size_t i = 0; i < TK_ARRAY_LEN(xml_types); i++) {
        size_t n = strlen(xml_types[i]);
        if (len >= n && strncasecmp(ctype, xml_types[i], n) == 0 &&
            (len == n || ctype[n] == ';' || ctype[n] == ' '))
            return true;
    }
    return false;
}
