/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HMAC request signing (Tyk's HTTPSignatureValidationMiddleware, spec §11.6): checks the
 * Signature header, the date and the algorithm, looks the keyId up like an auth token, then a
 * second step verifies the signature with the session's hmac_string, or, for an "rsa*"
 * algorithm, with the public key its rsa_certificate_id names (gw_hmac_rsa.c). Every failure
 * is a 400, except an RSA key that cannot be found or is not RSA (500, as Tyk).
 */
#include "gw_hmac_rsa.h"
#include "tk_gostr.h"
#include "gw_mw_common.h"

#include "tk_log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define HMAC_ERR "Authorization field missing, malformed or invalid"

struct state {
    gw_auth_source_t src;
    gw_strv_t allowed; /* hmac_allowed_algorithms */
    double skew_ms;    /* hmac_allowed_clock_skew; <= 0 disables the bound */
};

/* The fields of the Signature header (arena strings; NULL when absent). */
struct sig {
    const char *key_id;
    const char *algorithm;
    const char *headers; /* NULL: "date" */
    const char *signature;
};

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return json_is_true(json_object_get(api->def, "enable_signature_checking"));
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    TK_UNUSED(conf);
    TK_UNUSED(errs);
    struct state *st = tk_xcalloc(1, sizeof(*st));
    gw_auth_source_load(&st->src, api->def, "hmac");
    json_t *skew = json_object_get(api->def, "hmac_allowed_clock_skew");
    st->skew_ms = json_is_number(skew) ? json_number_value(skew) : 0;
    json_t *algs = json_object_get(api->def, "hmac_allowed_algorithms");
    size_t i;
    json_t *v;
    json_array_foreach(algs, i, v)
    {
        if (json_is_string(v))
            gw_strv_push(&st->allowed, json_string_value(v));
    }
    mw->state = st;
    return TK_OK;
}

static void dispose(gw_mw_t *mw)
{
    struct state *st = mw->state;
    gw_auth_source_free(&st->src);
    gw_strv_free(&st->allowed);
    free(st);
}

static int fail(gw_req_t *req)
{
    /* Tyk's authorizationError reports the raw credential (the whole Signature header). */
    gw_event_req(req, GW_EV_AUTH_FAILURE, req->auth_event_key ? req->auth_event_key : "");
    req->err_status = 400;
    req->err_msg = HMAC_ERR;
    return TK_ERROR;
}

/* ---- header parsing: Tyk tokenises with Go's text/scanner, then key=value pairs ---- */

static bool is_ident(unsigned char c, bool first)
{
    return c == '_' || isalpha(c) || c >= 0x80 || (!first && isdigit(c));
}

/* Next token of @s at *@pos (whitespace and Go comments skipped); false at the end. */
static bool next_token(const char *s, size_t *pos, size_t *start, size_t *len)
{
    size_t i = *pos;
    for (;;) {
        while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            i++;
        if (s[i] == '/' && s[i + 1] == '/') {
            while (s[i] && s[i] != '\n')
                i++;
            continue;
        }
        if (s[i] == '/' && s[i + 1] == '*') {
            const char *e = strstr(s + i + 2, "*/");
            i = e ? (size_t)(e - s) + 2 : strlen(s);
            continue;
        }
        break;
    }
    if (!s[i])
        return false;
    size_t b = i;
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\'' || c == '`') {
        i++;
        while (s[i] && s[i] != (char)c && !(c != '`' && s[i] == '\n')) {
            if (c != '`' && s[i] == '\\' && s[i + 1])
                i++;
            i++;
        }
        if (s[i] == (char)c)
            i++;
    } else if (is_ident(c, true)) {
        while (is_ident((unsigned char)s[i], false))
            i++;
    } else if (isdigit(c)) {
        while (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_')
            i++;
    } else {
        i++;
    }
    *start = b;
    *len = i - b;
    *pos = i;
    return true;
}

/* strconv.Unquote of a double-quoted literal; NULL when malformed. */
static char *unquote(tk_arena_t *a, const char *s, size_t n)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return NULL;
    for (size_t i = 1; i < n - 1; i++) {
        if (s[i] == '\\')
            i++; /* an escaped character, quotes included */
        else if (s[i] == '"' || s[i] == '\n')
            return NULL;
    }
    char *out = tk_arena_alloc(a, n);
    size_t o = 0;
    if (!out || !tk_go_unquote(s + 1, n - 2, '"', out, &o))
        return NULL;
    out[o] = '\0';
    return out;
}

/* Tyk's getFieldValues: unknown field (with a value) or a bad quoted value → TK_ERROR. */
static int parse_fields(tk_arena_t *a, const char *s, struct sig *sig)
{
    memset(sig, 0, sizeof(*sig));
    size_t pos = 0, b, n;
    int mode = 0; /* 0: key, 1: value */
    const char *key = NULL;
    size_t key_len = 0;
    while (next_token(s, &pos, &b, &n)) {
        if (n == 1 && s[b] == '=') {
            mode = 1;
            continue;
        }
        if (n == 1 && s[b] == ',') {
            mode = 0;
            continue;
        }
        if (mode == 0) {
            key = s + b;
            key_len = n;
            mode = 1;
            continue;
        }
        mode = 0;
        if (!key)
            return TK_ERROR; /* value with no key: Go stores it under "" → invalid field */
        const char *val = s[b] == '"' ? unquote(a, s + b, n) : tk_arena_strndup(a, s + b, n);
        if (!val)
            return TK_ERROR;
        if (key_len == 5 && strncasecmp(key, "keyid", 5) == 0)
            sig->key_id = val;
        else if (key_len == 9 && strncasecmp(key, "algorithm", 9) == 0)
            sig->algorithm = val;
        else if (key_len == 7 && strncasecmp(key, "headers", 7) == 0)
            sig->headers = val;
        else if (key_len == 9 && strncasecmp(key, "signature", 9) == 0)
            sig->signature = val;
        else
            return TK_ERROR;
    }
    return TK_OK;
}

/* Reads and parses the credential; TK_OK or TK_ERROR. */
static int read_sig(gw_req_t *req, const struct state *st, struct sig *sig)
{
    char *tok = gw_auth_token_get(req, &st->src, false);
    if (!tok)
        return TK_ERROR;
    req->auth_event_key = tk_arena_strdup(req->arena, tok);
    /* stripSignature: TrimPrefix "Signature", then "signature", then TrimSpace. */
    if (strncmp(tok, "Signature", 9) == 0)
        tok += 9;
    if (strncmp(tok, "signature", 9) == 0)
        tok += 9;
    return parse_fields(req->arena, tok, sig);
}

/* ---- the signing string ---- */

static void trim(const char **p, size_t *n)
{
    while (*n && isspace((unsigned char)**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

/* First value of header @name ("" when absent), like Go's Header.Get. */
static void header_value(const gw_req_t *req, const char *name, const char **v, size_t *n)
{
    const tk_http_hdr_t *h = *name ? gw_req_header(req, name) : NULL;
    *v = h ? h->value : "";
    *n = h ? h->value_len : 0;
}

/* getDateHeader: x-aux-date preferred over Date; name "" when neither is set. */
static void date_header(const gw_req_t *req, const char **name, const char **v, size_t *n)
{
    header_value(req, "x-aux-date", v, n);
    if (*n) {
        *name = "x-aux-date";
        return;
    }
    header_value(req, "date", v, n);
    *name = *n ? "date" : "";
}

/* r.URL.Path: the request path with %xx escapes decoded. */
static void append_path(struct evbuffer *b, const gw_req_t *req)
{
    const char *p = req->path;
    for (size_t i = 0; i < req->path_len; i++) {
        int h1, h2;
        if (p[i] == '%' && i + 2 < req->path_len && (h1 = tk_hexval(p[i + 1])) >= 0 &&
            (h2 = tk_hexval(p[i + 2])) >= 0) {
            char c = (char)(h1 * 16 + h2);
            evbuffer_add(b, &c, 1);
            i += 2;
        } else {
            evbuffer_add(b, p + i, 1);
        }
    }
}

/* generateHMACSignatureStringFromRequest: one "name: value" line per listed header. */
static void signing_string(const gw_req_t *req, const char *headers, struct evbuffer *b)
{
    const char *list = headers ? headers : "date";
    const char *h = list;
    bool first = true;
    for (;;) {
        const char *sp = strchr(h, ' ');
        size_t hn = sp ? (size_t)(sp - h) : strlen(h);
        if (!first)
            evbuffer_add(b, "\n", 1);
        first = false;
        trim(&h, &hn);
        char name[256];
        size_t k = 0;
        for (; k < hn && k < sizeof(name) - 1; k++)
            name[k] = (char)tolower((unsigned char)h[k]);
        name[k] = '\0';
        if (strcmp(name, "(request-target)") == 0) {
            evbuffer_add(b, "(request-target): ", 18);
            for (uint32_t i = 0; i < req->head->method_len; i++) {
                char c = (char)tolower((unsigned char)req->head->method[i]);
                evbuffer_add(b, &c, 1);
            }
            evbuffer_add(b, " ", 1);
            append_path(b, req);
        } else {
            const char *nm = name, *v;
            size_t vn;
            if (strcmp(name, "date") == 0)
                date_header(req, &nm, &v, &vn);
            else if (hn < sizeof(name))
                header_value(req, name, &v, &vn);
            else
                v = "", vn = 0;
            trim(&v, &vn);
            evbuffer_add_printf(b, "%s: ", nm);
            evbuffer_add(b, v, vn);
        }
        if (!sp)
            break;
        h = sp + 1;
    }
}

/* ---- the Date header (Go's time.Parse with Tyk's two layouts) ---- */

static const char *const wdays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

static int name3(const char **s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strncasecmp(*s, names[i], 3) == 0) {
            *s += 3;
            return i;
        }
    return -1;
}

/* Go's skip() of a layout space: value must be empty or start with spaces, which are eaten. */
static bool skip_space(const char **s)
{
    if (**s && **s != ' ')
        return false;
    while (**s == ' ')
        (*s)++;
    return true;
}

static int digits(const char **s, int min, int max)
{
    int v = 0, n = 0;
    while (n < max && isdigit((unsigned char)**s)) {
        v = v * 10 + (**s - '0');
        (*s)++;
        n++;
    }
    return n < min ? -1 : v;
}

/* Go's parseSignedOffset: sign and a leading integer ≤ 23; returns the length or 0. */
static size_t signed_offset(const char *s, long *hours)
{
    if (*s != '+' && *s != '-')
        return 0;
    size_t i = 1;
    long x = 0;
    while (isdigit((unsigned char)s[i]) && x < 1000000) {
        x = x * 10 + (s[i] - '0');
        i++;
    }
    if (i == 1 || x > 23)
        return 0;
    if (hours)
        *hours = *s == '-' ? -x : x;
    return i;
}

/* Go's stdTZ parse (parseTimeZone). Offsets are 0 except GMT±h (the gateway runs in UTC). */
static bool zone_name(const char **s, long *off_s)
{
    const char *v = *s;
    size_t n = strlen(v);
    *off_s = 0;
    if (n < 3)
        return false;
    if (strncmp(v, "UTC", 3) == 0) {
        *s += 3;
        return true;
    }
    if (n >= 4 && (strncmp(v, "ChST", 4) == 0 || strncmp(v, "MeST", 4) == 0)) {
        *s += 4;
        return true;
    }
    if (strncmp(v, "GMT", 3) == 0) {
        long h = 0;
        size_t k = n > 3 ? signed_offset(v + 3, &h) : 0;
        *off_s = h * 3600;
        *s += 3 + k;
        return true;
    }
    if (*v == '+' || *v == '-') {
        size_t k = signed_offset(v, NULL);
        *s += k;
        return k > 0;
    }
    size_t up = 0;
    while (up < 6 && up < n && v[up] >= 'A' && v[up] <= 'Z')
        up++;
    if (up == 3 || (up == 4 && (v[3] == 'T' || strncmp(v, "WITA", 4) == 0)) ||
        (up == 5 && v[4] == 'T')) {
        *s += up;
        return true;
    }
    return false;
}

static bool leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "Mon, 02 Jan 2006 15:04:05 MST" (@numeric: "... -07"); unix nanoseconds in *@ns. */
static bool parse_date_layout(const char *s, bool numeric, int64_t *ns)
{
    if (name3(&s, wdays, 7) < 0 || *s++ != ',' || !skip_space(&s))
        return false;
    int day = digits(&s, 2, 2);
    if (day < 0 || !skip_space(&s))
        return false;
    int mon = name3(&s, months, 12);
    if (mon < 0 || !skip_space(&s))
        return false;
    int year = digits(&s, 4, 4);
    if (year < 0 || !skip_space(&s))
        return false;
    int hour = digits(&s, 1, 2);
    if (hour < 0 || hour >= 24 || *s++ != ':')
        return false;
    int min = digits(&s, 2, 2);
    if (min < 0 || min >= 60 || *s++ != ':')
        return false;
    int sec = digits(&s, 2, 2);
    if (sec < 0 || sec >= 60)
        return false;
    int64_t frac = 0;
    if ((*s == '.' || *s == ',') && isdigit((unsigned char)s[1])) {
        s++;
        int64_t scale = 100000000;
        while (isdigit((unsigned char)*s)) {
            frac += (*s - '0') * scale;
            scale /= 10;
            s++;
        }
    }
    if (!skip_space(&s))
        return false;
    long off = 0;
    if (numeric) {
        if ((*s != '+' && *s != '-') || !isdigit((unsigned char)s[1]) ||
            !isdigit((unsigned char)s[2]))
            return false;
        long h = (s[1] - '0') * 10 + (s[2] - '0');
        if (h > 24)
            return false;
        off = (*s == '-' ? -h : h) * 3600;
        s += 3;
    } else if (!zone_name(&s, &off)) {
        return false;
    }
    if (*s)
        return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int dim = mdays[mon] + (mon == 1 && leap(year));
    if (day < 1 || day > dim)
        return false;
    int64_t secs =
        (int64_t)days_from_civil(year, mon + 1, day) * 86400 + hour * 3600 + min * 60 + sec - off;
    *ns = secs * 1000000000LL + frac;
    return true;
}

/* checkClockSkew: an unparsable or missing date fails even when the skew is unbounded. */
static bool date_ok(const gw_req_t *req, double skew_ms)
{
    const char *name, *v;
    size_t n;
    date_header(req, &name, &v, &n);
    char buf[128];
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, v, n);
    buf[n] = '\0';
    int64_t t;
    if (!parse_date_layout(buf, false, &t) && !parse_date_layout(buf, true, &t))
        return false;
    if (skew_ms <= 0)
        return true;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t diff_ms = ((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec - t) / 1000000;
    return fabs((double)diff_ms) <= skew_ms;
}

/* ---- middleware steps ---- */

/* Step 1: syntax, algorithm, date, then the keyId's session (async). */
static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    struct sig sig;
    if (read_sig(req, st, &sig) != TK_OK)
        return fail(req);
    const char *alg = sig.algorithm ? sig.algorithm : "";
    if (st->allowed.n && !gw_strv_contains(&st->allowed, alg))
        return fail(req);
    /* RSA: Tyk reports a missing or non-RSA public key (500) before a bad date. */
    if (strncmp(alg, "rsa", 3) != 0 && !date_ok(req, st->skew_ms))
        return fail(req);
    if (!sig.key_id || !*sig.key_id)
        return fail(req);
    return gw_session_lookup_as(req, sig.key_id, 400, HMAC_ERR);
}

static const EVP_MD *hmac_md(const char *alg)
{
    if (strcmp(alg, "hmac-sha256") == 0)
        return EVP_sha256();
    if (strcmp(alg, "hmac-sha384") == 0)
        return EVP_sha384();
    if (strcmp(alg, "hmac-sha512") == 0)
        return EVP_sha512();
    return EVP_sha1();
}

/* url.QueryEscape of standard base64 (only + / = need escaping). */
static size_t query_escape_b64(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = in[i];
        if (c == '+' || c == '/' || c == '=') {
            static const char hex[] = "0123456789ABCDEF";
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return o;
}

/* Tyk checks the date after an RSA signature verified. */
static int rsa_date_check(gw_req_t *req, const void *arg)
{
    const struct state *st = arg;
    return date_ok(req, st->skew_ms) ? TK_OK : fail(req);
}

/* Step 2 for "rsa*": the key must enable HTTP signatures and name its public key. */
static int verify_rsa(const struct state *st, gw_req_t *req, const struct sig *sig)
{
    const gw_session_t *s = req->session->s;
    if (!s->rsa_certificate_id || !*s->rsa_certificate_id || !s->enable_http_signature_validation)
        return fail(req);
    struct evbuffer *b = evbuffer_new();
    signing_string(req, sig->headers, b);
    size_t len = evbuffer_get_length(b);
    const char *data = len ? (const char *)evbuffer_pullup(b, -1) : "";
    int rc = gw_hmac_rsa_verify(req, s->rsa_certificate_id, data, len, sig->signature,
                                rsa_date_check, st);
    evbuffer_free(b);
    return rc;
}

/* Step 2: the session's secret signs the request as Tyk does; compared in constant time. */
static int on_verify(gw_mw_t *mw, gw_req_t *req)
{
    struct state *st = mw->state;
    struct sig sig;
    if (!req->session || read_sig(req, st, &sig) != TK_OK)
        return fail(req);
    const gw_session_t *s = req->session->s;
    const char *alg = sig.algorithm ? sig.algorithm : "";
    if (strncmp(alg, "rsa", 3) == 0)
        return verify_rsa(st, req, &sig);
    if (!s->hmac_string || !*s->hmac_string ||
        (!s->hmac_enabled && !s->enable_http_signature_validation))
        return fail(req);
    struct evbuffer *b = evbuffer_new();
    signing_string(req, sig.headers, b);
    size_t len = evbuffer_get_length(b);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const unsigned char *data = len ? evbuffer_pullup(b, -1) : (const unsigned char *)"";
    const char *key = s->hmac_string;
    bool ok = HMAC(hmac_md(alg), key, (int)strlen(key), data, len, mac, &mac_len) != NULL;
    evbuffer_free(b);
    if (!ok)
        return fail(req);
    unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int b64_len = EVP_EncodeBlock(b64, mac, (int)mac_len);
    char want[3 * sizeof(b64)];
    size_t want_len = query_escape_b64(b64, (size_t)b64_len, want);
    /* Tyk retries with lower-case %xx escapes upper-cased (".Net issues"); the second try
     * subsumes the first, since `want` only holds upper-case escapes. */
    const char *got = sig.signature ? sig.signature : "";
    size_t got_len = strlen(got);
    char *norm = tk_arena_strndup(req->arena, got, got_len);
    for (size_t i = 0; i + 2 < got_len; i++) {
        if (norm[i] != '%')
            continue;
        char c1 = norm[i + 1], c2 = norm[i + 2];
        bool l1 = isdigit((unsigned char)c1) || (c1 >= 'a' && c1 <= 'f');
        bool l2 = isdigit((unsigned char)c2) || (c2 >= 'a' && c2 <= 'f');
        if (l1 && l2) {
            norm[i + 1] = (char)toupper((unsigned char)c1);
            norm[i + 2] = (char)toupper((unsigned char)c2);
            i += 2;
        }
    }
    if (got_len != want_len || CRYPTO_memcmp(norm, want, want_len) != 0)
        return fail(req);
    return TK_OK;
}

const gw_mw_def_t gw_mw_auth_hmac = {
    .name = "HTTPSignatureValidation",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};

/* Registered right after gw_mw_auth_hmac: it runs once the keyId's session is loaded. */
const gw_mw_def_t gw_mw_auth_hmac_verify = {
    .name = "HTTPSignatureValidation(verify)",
    .phase = GW_PHASE_AUTH,
    .enabled = enabled,
    .init = init,
    .on_req = on_verify,
    .dispose = dispose,
};
