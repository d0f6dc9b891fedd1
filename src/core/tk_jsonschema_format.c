/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "format" checkers, accepting what gojsonschema's checkers accept (they lean on Go's
 * time.Parse, net.ParseIP, net/mail and net/url): RFC 3339 date-times, dotted IPv4, IPv6,
 * addr-spec e-mails with an optional display name, absolute URIs, RFC 1123 host names.
 */
#include "tk_jsonschema_int.h"

#include <arpa/inet.h>
#include <ctype.h>

static const struct {
    const char *name;
    enum js_format fmt;
} formats[] = {
    {"date-time", JS_F_DATE_TIME},
    {"date", JS_F_DATE},
    {"time", JS_F_TIME},
    {"email", JS_F_EMAIL},
    {"idn-email", JS_F_EMAIL},
    {"hostname", JS_F_HOSTNAME},
    {"ipv4", JS_F_IPV4},
    {"ipv6", JS_F_IPV6},
    {"uri", JS_F_URI},
    {"iri", JS_F_URI},
    {"uri-reference", JS_F_URI_REFERENCE},
    {"iri-reference", JS_F_URI_REFERENCE},
    {"uuid", JS_F_UUID},
    {"regex", JS_F_REGEX},
    {"json-pointer", JS_F_JSON_POINTER},
    {"relative-json-pointer", JS_F_REL_JSON_POINTER},
};

enum js_format tk__js_format_lookup(const char *name)
{
    for (size_t i = 0; i < TK_ARRAY_LEN(formats); i++)
        if (strcmp(formats[i].name, name) == 0)
            return formats[i].fmt;
    return JS_F_NONE;
}

/* Reads exactly @n digits at *p into @out. */
static bool digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return false;
        v = v * 10 + (*(*p)++ - '0');
    }
    *out = v;
    return true;
}

static bool full_date(const char **p, const char *end)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (!digits(p, end, 4, &y) || *p >= end || *(*p)++ != '-' || !digits(p, end, 2, &m) ||
        *p >= end || *(*p)++ != '-' || !digits(p, end, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* HH:MM:SS[.frac] */
static bool partial_time(const char **p, const char *end)
{
    int h, m, s;
    if (!digits(p, end, 2, &h) || *p >= end || *(*p)++ != ':' || !digits(p, end, 2, &m) ||
        *p >= end || *(*p)++ != ':' || !digits(p, end, 2, &s))
        return false;
    if (h > 23 || m > 59 || s > 59) /* Go's time.Parse has no leap second */
        return false;
    if (*p < end && **p == '.') {
        (*p)++;
        if (*p >= end || !isdigit((unsigned char)**p))
            return false;
        while (*p < end && isdigit((unsigned char)**p))
            (*p)++;
    }
    return true;
}

/* Z or +HH:MM / -HH:MM */
static bool time_offset(const char **p, const char *end)
{
    if (*p >= end)
        return false;
    if (**p == 'Z') {
        (*p)++;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    (*p)++;
    int h, m;
    return digits(p, end, 2, &h) && *p < end && *(*p)++ == ':' && digits(p, end, 2, &m) &&
           h <= 24 && m <= 60;
}

static bool date_time_ok(const char *s, const char *end)
{
    const char *p = s;
    if (full_date(&p, end)) {
        if (p == end)
            return true; /* "2006-01-02" is accepted as well */
        return *p++ == 'T' && partial_time(&p, end) && time_offset(&p, end) && p == end;
    }
    p = s;
    if (!partial_time(&p, end))
        return false;
    return p == end || (time_offset(&p, end) && p == end);
}

static bool date_ok(const char *s, const char *end)
{
    const char *p = s;
    return full_date(&p, end) && p == end;
}

static bool time_ok(const char *s, const char *end)
{
    const char *p = s;
    if (!partial_time(&p, end))
        return false;
    return p == end || (time_offset(&p, end) && p == end);
}

static bool is_atext(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c)) || c >= 0x80;
}

/* dot-atom: atext runs separated by single dots */
static bool dot_atom(const char *s, const char *end)
{
    if (s == end || *s == '.' || end[-1] == '.')
        return false;
    for (const char *p = s; p < end; p++) {
        if (*p == '.') {
            if (p[1] == '.')
                return false;
        } else if (!is_atext((unsigned char)*p)) {
            return false;
        }
    }
    return true;
}

static bool addr_spec(const char *s, const char *end)
{
    const char *at = NULL;
    if (s < end && *s == '"') {
        /* quoted local part */
        const char *p = s + 1;
        while (p < end && *p != '"') {
            if (*p == '\\')
                p++;
            p++;
        }
        if (p >= end)
            return false;
        at = p + 1;
        if (at >= end || *at != '@')
            return false;
    } else {
        for (const char *p = end; p > s; p--)
            if (p[-1] == '@') {
                at = p - 1;
                break;
            }
        if (!at || !dot_atom(s, at))
            return false;
    }
    const char *dom = at + 1;
    if (dom < end && *dom == '[')
        return end[-1] == ']' && end - dom > 2;
    return dot_atom(dom, end);
}

static bool email_ok(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (s < end && end[-1] == '>') {
        /* "Display Name <local@domain>" */
        const char *lt = memchr(s, '<', (size_t)(end - s));
        return lt && addr_spec(lt + 1, end - 1);
    }
    return addr_spec(s, end);
}

static bool label_char(int c)
{
    return isalnum(c) || c == '-';
}

static bool hostname_ok(const char *s, const char *end)
{
    if (s == end || end - s >= 256)
        return false;
    const char *p = s;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '.') {
            if (!label_char((unsigned char)*q))
                return false;
            q++;
        }
        size_t len = (size_t)(q - p);
        if (len == 0 || len > 63 || *p == '-' || q[-1] == '-')
            return false;
        if (q == end)
            break;
        p = q + 1;
        if (p == end)
            return false; /* trailing dot */
    }
    return true;
}

static bool ip_ok(const char *s, size_t len, bool v6)
{
    char buf[64];
    unsigned char out[16];
    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* gojsonschema: net.ParseIP succeeds and the text has a '.' (ipv4) or a ':' (ipv6) */
    bool parses = inet_pton(AF_INET, buf, out) == 1 || inet_pton(AF_INET6, buf, out) == 1;
    return parses && strchr(buf, v6 ? ':' : '.') != NULL;
}

static bool scheme_char(int c)
{
    return isalnum(c) || c == '+' || c == '-' || c == '.';
}

/* Roughly what Go's url.Parse refuses, plus gojsonschema's "no backslash" rule. */
static bool uri_ok(const char *s, const char *end, bool need_scheme)
{
    for (const char *p = s; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
        if (c == '%' && (end - p < 3 || tk_hexval(p[1]) < 0 || tk_hexval(p[2]) < 0))
            return false;
    }
    const char *p = s;
    bool has_scheme = false;
    if (p < end && isalpha((unsigned char)*p)) {
        const char *q = p;
        while (q < end && scheme_char((unsigned char)*q))
            q++;
        if (q < end && *q == ':') {
            has_scheme = true;
            p = q + 1;
        }
    } else if (p < end && *p == ':') {
        return false; /* "missing protocol scheme" */
    }
    if (need_scheme && !has_scheme)
        return false;
    if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
        const char *a = p + 2, *ae = a;
        while (ae < end && *ae != '/' && *ae != '?' && *ae != '#')
            ae++;
        const char *at = NULL;
        for (const char *q = a; q < ae; q++)
            if (*q == '@')
                at = q;
        const char *host = at ? at + 1 : a;
        if (host < ae && *host == '[') {
            const char *rb = memchr(host, ']', (size_t)(ae - host));
            if (!rb)
                return false;
            host = rb + 1;
            if (host < ae && *host != ':')
                return false;
        }
        const char *colon = memchr(host, ':', (size_t)(ae - host));
        for (const char *q = host; q < (colon ? colon : ae); q++)
            if (!(isalnum((unsigned char)*q) || strchr("-._~!$&'()*+,;=%", *q)))
                return false;
        if (colon)
            for (const char *q = colon + 1; q < ae; q++)
                if (!isdigit((unsigned char)*q))
                    return false;
    }
    return true;
}

static bool uuid_ok(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

static bool regex_ok(const char *s, size_t len)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, len, PCRE2_UTF, &code, &off, NULL);
    pcre2_code_free(re);
    return re != NULL;
}

static bool json_pointer_ok(const char *s, const char *end)
{
    if (s < end && *s != '/')
        return false;
    for (const char *p = s; p < end; p++)
        if (*p == '~' && (p + 1 >= end || (p[1] != '0' && p[1] != '1')))
            return false;
    return true;
}

static bool rel_json_pointer_ok(const char *s, const char *end)
{
    const char *p = s;
    if (p >= end || !isdigit((unsigned char)*p))
        return false;
    if (*p == '0' && p + 1 < end && isdigit((unsigned char)p[1]))
        return false;
    while (p < end && isdigit((unsigned char)*p))
        p++;
    if (p < end && *p == '#')
        return p + 1 == end;
    return json_pointer_ok(p, end);
}

bool tk__js_format_ok(enum js_format fmt, const char *s, size_t len)
{
    const char *end = s + len;
    switch (fmt) {
    case JS_F_NONE:
        return true;
    case JS_F_DATE_TIME:
        return date_time_ok(s, end);
    case JS_F_DATE:
        return date_ok(s, end);
    case JS_F_TIME:
        return time_ok(s, end);
    case JS_F_EMAIL:
        return email_ok(s, end);
    case JS_F_HOSTNAME:
        return hostname_ok(s, end);
    case JS_F_IPV4:
        return ip_ok(s, len, false);
    case JS_F_IPV6:
        return ip_ok(s, len, true);
    case JS_F_URI:
        return uri_ok(s, end, true);
    case JS_F_URI_REFERENCE:
        return uri_ok(s, end, false);
    case JS_F_UUID:
        return uuid_ok(s, len);
    case JS_F_REGEX:
        return regex_ok(s, len);
    case JS_F_JSON_POINTER:
        return json_pointer_ok(s, end);
    case JS_F_REL_JSON_POINTER:
        return rel_json_pointer_ok(s, end);
    }
    return true;
}
