/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The events the gateway fires, with Tyk's meta structures (field names as Go's structs have
 * them, since templates address them so) and messages. Nothing is built unless a handler
 * wants the event.
 */
#include "gw_events.h"

#include "gw_api.h"
#include "gw_http.h"
#include "gw_session.h"
#include "tk_base64.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *default_message(gw_event_t ev)
{
    switch (ev) {
    case GW_EV_QUOTA_EXCEEDED:
        return "Key Quota Limit Exceeded";
    case GW_EV_RATELIMIT_EXCEEDED:
        return "Key Rate Limit Exceeded";
    case GW_EV_AUTH_FAILURE:
        return "Auth Failure";
    case GW_EV_KEY_EXPIRED:
        return "Attempted access from expired key.";
    case GW_EV_VERSION_FAILURE:
        return "Attempted access to disallowed version / path.";
    case GW_EV_ORG_QUOTA_EXCEEDED:
        return "Organisation quota has been exceeded";
    case GW_EV_ORG_RATELIMIT_EXCEEDED:
        return "Organisation rate limit has been exceeded";
    default:
        return "";
    }
}

typedef struct hdr_ref {
    char name[64];
    const tk_http_hdr_t *h;
} hdr_ref_t;

static int hdr_cmp(const void *a, const void *b)
{
    return strcmp(((const hdr_ref_t *)a)->name, ((const hdr_ref_t *)b)->name);
}

/* The request as Go's Request.Write puts it (head only), base64: OriginatingRequest. */
static json_t *originating_request(const gw_req_t *req)
{
    const tk_http_head_t *hd = req->head;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "%.*s %.*s HTTP/1.1\r\n", (int)hd->method_len, hd->method,
                        (int)hd->url_len, hd->url);
    const tk_http_hdr_t *host = gw_req_header(req, "Host");
    const tk_http_hdr_t *ua = gw_req_header(req, "User-Agent");
    evbuffer_add_printf(b, "Host: %.*s\r\n", host ? (int)host->value_len : 0,
                        host ? host->value : "");
    if (!ua)
        evbuffer_add_printf(b, "User-Agent: Go-http-client/1.1\r\n");
    else if (ua->value_len)
        evbuffer_add_printf(b, "User-Agent: %.*s\r\n", (int)ua->value_len, ua->value);
    hdr_ref_t *refs = tk_xcalloc(hd->nhdrs ? hd->nhdrs : 1, sizeof(*refs));
    size_t n = 0;
    for (uint32_t i = 0; i < hd->nhdrs; i++) {
        const tk_http_hdr_t *h = &hd->hdrs[i];
        if (h->name_len >= sizeof(refs[n].name))
            continue;
        bool up = true;
        for (uint32_t k = 0; k < h->name_len; k++) {
            char c = h->name[k];
            refs[n].name[k] = (char)(up ? toupper((unsigned char)c) : tolower((unsigned char)c));
            up = c == '-';
        }
        refs[n].name[h->name_len] = '\0';
        if (strcmp(refs[n].name, "Host") == 0 || strcmp(refs[n].name, "User-Agent") == 0 ||
            strcmp(refs[n].name, "Transfer-Encoding") == 0 || strcmp(refs[n].name, "Trailer") == 0)
            continue;
        refs[n++].h = h;
    }
    qsort(refs, n, sizeof(*refs), hdr_cmp); /* Go writes headers sorted by name */
    for (size_t i = 0; i < n; i++)
        evbuffer_add_printf(b, "%s: %.*s\r\n", refs[i].name, (int)refs[i].h->value_len,
                            refs[i].h->value);
    free(refs);
    evbuffer_add(b, "\r\n", 2);
    size_t len = evbuffer_get_length(b), outlen = 0;
    char *enc = tk_b64_encode(evbuffer_pullup(b, -1), len, false, true, &outlen);
    evbuffer_free(b);
    json_t *v = json_stringn(enc ? enc : "", enc ? outlen : 0);
    free(enc);
    return v;
}

static json_t *key_failure_meta(gw_req_t *req, const char *message, const char *key)
{
    tk_str_t ip = gw_req_real_ip(req);
    return json_pack("{s:s, s:o, s:s%, s:s%, s:s}", "Message", message, "OriginatingRequest",
                     originating_request(req), "Path", req->path ? req->path : "",
                     req->path ? req->path_len : 0, "Origin", ip.p ? ip.p : "", ip.len, "Key",
                     key ? key : "");
}

void gw_event_req_msg(gw_req_t *req, gw_event_t ev, const char *message, const char *key)
{
    if (!gw_event_wanted(req->api, ev))
        return;
    gw_event_fire(req->api, ev, key_failure_meta(req, message, key));
}

void gw_event_req(gw_req_t *req, gw_event_t ev, const char *key)
{
    gw_event_req_msg(req, ev, default_message(ev), key);
}

void gw_event_version_failure(gw_req_t *req, const char *reason)
{
    if (!gw_event_wanted(req->api, GW_EV_VERSION_FAILURE))
        return;
    json_t *m =
        key_failure_meta(req, default_message(GW_EV_VERSION_FAILURE), NULL); /* Tyk sets no Key */
    json_object_set_new(m, "Reason", json_string(reason ? reason : ""));
    gw_event_fire(req->api, GW_EV_VERSION_FAILURE, m);
}

void gw_event_breaker(const gw_api_t *api, bool tripped, const char *path)
{
    /* rubyist/circuitbreaker's BreakerEvent: BreakerTripped = 0, BreakerReset = 1 */
    gw_event_t second = tripped ? GW_EV_BREAKER_TRIPPED : GW_EV_BREAKER_RESET;
    for (int i = 0; i < 2; i++) {
        gw_event_t ev = i == 0 ? GW_EV_BREAKER_TRIGGERED : second;
        if (!gw_event_wanted(api, ev))
            continue;
        gw_event_fire(api, ev,
                      json_pack("{s:s, s:s, s:s, s:s, s:i}", "Message",
                                tripped ? "Breaker Tripped" : "Breaker Reset", "OriginatingRequest",
                                "", "Path", path ? path : "", "APIID", api->api_id, "CircuitEvent",
                                tripped ? 0 : 1));
    }
}

void gw_event_host(const gw_api_t *api, bool down, const char *url, const char *host, int status,
                   bool tcp_error)
{
    gw_event_t ev = down ? GW_EV_HOST_DOWN : GW_EV_HOST_UP;
    if (!gw_event_wanted(api, ev))
        return;
    json_t *info =
        json_pack("{s:s, s:i, s:b, s:{s:s, s:s, s:s}}", "CheckURL", url ? url : "", "ResponseCode",
                  status, "IsTCPError", tcp_error, "MetaData", "host_name", host ? host : "",
                  "api_id", api->api_id, "target_url", api->target.url ? api->target.url : "");
    gw_event_fire(api, ev,
                  json_pack("{s:s, s:s, s:o}", "Message",
                            down ? "Uptime test failed" : "Uptime test succeeded",
                            "OriginatingRequest", "", "HostInfo", info));
}

void gw_event_token(gw_event_t ev, const char *org, const char *key)
{
    const char *msg = ev == GW_EV_TOKEN_DELETED ? "Key deleted." : "Key modified.";
    gw_event_fire_system(ev, json_pack("{s:s, s:s, s:s, s:s}", "Message", msg, "OriginatingRequest",
                                       "", "Org", org ? org : "", "Key", key ? key : ""));
}

/* Tyk's Monitor.Check for the quota a request used: @s's triggers (or the global limit) against
 * the usage the limiter reported; @key is "" for an org session (monitor_org_keys). */
static void monitor_check(const gw_session_t *s, const char *key, bool org,
                          const gw_limit_result_t *q)
{
    double global;
    if (!gw_events_monitor_on(org, &global) || !q || q->unavailable || q->limit <= 0 ||
        q->remaining < 0 || !s)
        return;
    if (q->reset_unix > 0 && q->reset_unix < (int64_t)time(NULL))
        return; /* renewal in the past: the quota renews on its own */
    double usage = (double)(q->limit - q->remaining) / (double)q->limit * 100.0;
    double limit = -1;
    if (global > 0 && usage >= global) {
        limit = global;
    } else {
        for (size_t i = 0; i < s->n_monitor_trigger_limits; i++) {
            double t = s->monitor_trigger_limits[i];
            if (usage >= t && t != global) {
                limit = t;
                break;
            }
        }
    }
    if (limit < 0)
        return;
    const char *o = s->org_id ? s->org_id : "";
    /* "Org" as well as Go's OrgID: Tyk's own templates print .Meta.Org. */
    gw_events_monitor_post(json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "Message",
                                     "Quota trigger reached", "OriginatingRequest", "", "OrgID", o,
                                     "Org", o, "Key", key ? key : "", "TriggerLimit",
                                     (json_int_t)limit, "UsagePercentage", (json_int_t)usage));
}

void gw_event_monitor_org(const gw_session_t *org_session, const gw_limit_result_t *quota)
{
    monitor_check(org_session, "", true, quota);
}

void gw_event_limits(gw_req_t *req, int rc, const gw_limit_result_t *quota)
{
    if (rc == TK_OK) {
        if (req->session)
            monitor_check(req->session->s, req->token, false, quota);
    } else if (rc == TK_ERROR) {
        if (req->err_status == 429)
            gw_event_req(req, GW_EV_RATELIMIT_EXCEEDED, req->token);
        else if (req->err_status == 403 && quota && quota->blocked)
            gw_event_req(req, GW_EV_QUOTA_EXCEEDED, req->token);
    }
}
