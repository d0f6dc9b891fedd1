/* SPDX-License-Identifier: Apache-2.0 */
/* Event names, the message templates see, timestamps, the webhook checksum, log lines. */
#include "gw_events.h"

#include "gw_api.h"
#include "tk_json.h"

#include <event2/buffer.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const names[GW_EV_COUNT] = {
    [GW_EV_QUOTA_EXCEEDED] = "QuotaExceeded",
    [GW_EV_RATELIMIT_EXCEEDED] = "RatelimitExceeded",
    [GW_EV_AUTH_FAILURE] = "AuthFailure",
    [GW_EV_KEY_EXPIRED] = "KeyExpired",
    [GW_EV_VERSION_FAILURE] = "VersionFailure",
    [GW_EV_ORG_QUOTA_EXCEEDED] = "OrgQuotaExceeded",
    [GW_EV_ORG_RATELIMIT_EXCEEDED] = "OrgRateLimitExceeded",
    [GW_EV_TRIGGER_EXCEEDED] = "TriggerExceeded",
    [GW_EV_BREAKER_TRIGGERED] = "BreakerTriggered",
    [GW_EV_BREAKER_TRIPPED] = "BreakerTripped",
    [GW_EV_BREAKER_RESET] = "BreakerReset",
    [GW_EV_HOST_DOWN] = "HostDown",
    [GW_EV_HOST_UP] = "HostUp",
    [GW_EV_TOKEN_CREATED] = "TokenCreated",
    [GW_EV_TOKEN_UPDATED] = "TokenUpdated",
    [GW_EV_TOKEN_DELETED] = "TokenDeleted",
    [GW_EV_CERT_EXPIRING_SOON] = "CertificateExpiringSoon",
    [GW_EV_CERT_EXPIRED] = "CertificateExpired",
};

const char *gw_event_name(gw_event_t ev)
{
    return (unsigned)ev < GW_EV_COUNT ? names[ev] : "";
}

int gw_event_parse(const char *name)
{
    for (int i = 0; i < GW_EV_COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

/* html/template's text-context escaper: NUL " & ' + < > (Go's htmlReplacementTable). */
static json_t *html_escaped(const char *s, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    for (size_t i = 0; i < len; i++) {
        const char *r = NULL;
        switch (s[i]) {
        case '\0':
            r = "\xEF\xBF\xBD";
            break;
        case '"':
            r = "&#34;";
            break;
        case '&':
            r = "&amp;";
            break;
        case '\'':
            r = "&#39;";
            break;
        case '+':
            r = "&#43;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = "&gt;";
            break;
        default:
            break;
        }
        if (r)
            evbuffer_add(b, r, strlen(r));
        else
            evbuffer_add(b, &s[i], 1);
    }
    size_t n = evbuffer_get_length(b);
    json_t *v = json_stringn(n ? (const char *)evbuffer_pullup(b, -1) : "", n);
    evbuffer_free(b);
    return v ? v : json_string("");
}

static json_t *escape_string(json_t *v)
{
    return json_is_string(v) ? html_escaped(json_string_value(v), json_string_length(v))
                             : json_incref(v);
}

json_t *gw_event_message(gw_event_t ev, json_t *meta, const char *timestamp)
{
    json_t *m = json_object();
    json_object_set_new(m, "Type", json_string(gw_event_name(ev)));
    json_object_set_new(m, "Meta", meta ? tk_json_map_leaves(meta, escape_string) : json_object());
    json_object_set_new(m, "TimeStamp", html_escaped(timestamp, strlen(timestamp)));
    return m;
}

void gw_event_timestamp(uint64_t ns, char *out, size_t cap)
{
    time_t sec = (time_t)(ns / 1000000000ull);
    unsigned long frac = (unsigned long)(ns % 1000000000ull);
    struct tm tm;
    localtime_r(&sec, &tm);
    char date[32], zone[16], fr[16] = "";
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z %Z", &tm);
    if (frac) { /* Go's ".999999999": trailing zeros dropped */
        snprintf(fr, sizeof(fr), ".%09lu", frac);
        size_t n = strlen(fr);
        while (n > 1 && fr[n - 1] == '0')
            fr[--n] = '\0';
    }
    snprintf(out, cap, "%s%s %s", date, fr, zone);
}

int gw_webhook_checksum(const char *method, const char *url, const char *body, size_t len,
                        char hex[33])
{
    gw_target_t t;
    const char *why;
    if (gw_target_parse(&t, url, &why) != TK_OK)
        return TK_ERROR;
    /* What Go's Request.Write emits for http.NewRequest(method, url, strings.NewReader(body)). */
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Go-http-client/1.1\r\n",
                        method, *t.path ? t.path : "/", t.query ? "?" : "", t.query ? t.query : "",
                        t.hostport);
    bool no_len = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (len > 0 || !no_len)
        evbuffer_add_printf(b, "Content-Length: %zu\r\n", len);
    evbuffer_add(b, "\r\n", 2);
    evbuffer_add(b, body, len);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n = evbuffer_get_length(b);
    EVP_Digest(evbuffer_pullup(b, -1), n, md, &mdlen, EVP_md5(), NULL);
    for (unsigned i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    evbuffer_free(b);
    gw_target_clear(&t);
    return TK_OK;
}

static const char *mstr(json_t *meta, const char *k)
{
    const char *s = json_string_value(json_object_get(meta, k));
    return s ? s : "";
}

char *gw_event_log_line(const char *prefix, gw_event_t ev, json_t *meta)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "%s:%s", prefix ? prefix : "", gw_event_name(ev));
    if (ev == GW_EV_QUOTA_EXCEEDED)
        evbuffer_add_printf(b, ":%s:%s:%s", mstr(meta, "Key"), mstr(meta, "Origin"),
                            mstr(meta, "Path"));
    else if (ev == GW_EV_BREAKER_TRIGGERED)
        evbuffer_add_printf(b, ":%s:%s: [STATUS] %lld", mstr(meta, "APIID"), mstr(meta, "Path"),
                            (long long)json_integer_value(json_object_get(meta, "CircuitEvent")));
    evbuffer_add(b, "", 1);
    size_t n = evbuffer_get_length(b);
    char *out = tk_xmalloc(n);
    evbuffer_remove(b, out, n);
    evbuffer_free(b);
    return out;
}
