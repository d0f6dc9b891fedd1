/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tyk's event system: API and tyk.conf `event_handlers` (eh_log_handler, eh_web_hook_handler),
 * the quota trigger monitor (`monitor`), and the events the gateway fires.
 *
 * Cost. Which events an API handles is decided when it loads (a bit mask); a fire for an event
 * nobody handles is one test and builds nothing. Handlers never run on a worker: a fired event
 * is posted (bounded queue, drops counted and logged) to one events thread that renders
 * templates, de-duplicates through Redis (`webhook.cache.<md5>`, TTL event_timeout, so several
 * gateways send once) and sends webhooks asynchronously (30 s timeout, UA Tyk-Hookshot).
 */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#include "gw_limits.h"
#include "gw_server.h"
#include "gw_session.h"
#include "tk_conf.h"

#include <jansson.h>

typedef enum gw_event {
    GW_EV_QUOTA_EXCEEDED,
    GW_EV_RATELIMIT_EXCEEDED,
    GW_EV_AUTH_FAILURE,
    GW_EV_KEY_EXPIRED,
    GW_EV_VERSION_FAILURE,
    GW_EV_ORG_QUOTA_EXCEEDED,
    GW_EV_ORG_RATELIMIT_EXCEEDED,
    GW_EV_TRIGGER_EXCEEDED,
    GW_EV_BREAKER_TRIGGERED,
    GW_EV_BREAKER_TRIPPED,
    GW_EV_BREAKER_RESET,
    GW_EV_HOST_DOWN,
    GW_EV_HOST_UP,
    GW_EV_TOKEN_CREATED,
    GW_EV_TOKEN_UPDATED,
    GW_EV_TOKEN_DELETED,
    GW_EV_CERT_EXPIRING_SOON,
    GW_EV_CERT_EXPIRED,
    GW_EV_COUNT
} gw_event_t;

/** Tyk's name of @ev ("RatelimitExceeded", ...). */
const char *gw_event_name(gw_event_t ev);
/** The event called @name, or -1. */
int gw_event_parse(const char *name);

/** The handlers of one API (or of tyk.conf): refcounted, shared with queued events. */
typedef struct gw_events gw_events_t;

/**
 * Builds handlers from an `event_handlers` object ({"events": {"<Event>": [{handler_name,
 * handler_meta}]}}). @template_dir is tyk.conf template_path (default webhook template). Bad
 * handlers are logged and skipped, as Tyk does; @what names the owner in messages. NULL when
 * no handler remains.
 */
gw_events_t *gw_events_from_json(json_t *event_handlers, const char *template_dir,
                                 const char *what);
void gw_events_unref(gw_events_t *e);

/** Starts the events thread with tyk.conf's global handlers and monitor. */
int gw_events_start(gw_server_t *srv);
/** Stops it (queued events are dropped, sends in flight cancelled). */
void gw_events_stop(void);

/* ---- firing (any thread; cheap when nothing handles the event) ---------------------------- */

/** Fires @ev on @api's handlers with @meta (stolen; may be NULL only if nothing handles it). */
void gw_event_fire(const gw_api_t *api, gw_event_t ev, json_t *meta);
/** Fires a system event (token events) on tyk.conf's handlers. */
void gw_event_fire_system(gw_event_t ev, json_t *meta);
/** True when @api has a handler for @ev. */
bool gw_event_wanted(const gw_api_t *api, gw_event_t ev);

/** A key failure event (EventKeyFailureMeta) for @req with Tyk's message for @ev. */
void gw_event_req(gw_req_t *req, gw_event_t ev, const char *key);
/** Same with another message (KeyExpired of an inactive key). */
void gw_event_req_msg(gw_req_t *req, gw_event_t ev, const char *message, const char *key);
/** VersionFailure with its Reason. */
void gw_event_version_failure(gw_req_t *req, const char *reason);
/** BreakerTriggered plus BreakerTripped / BreakerReset for @path. */
void gw_event_breaker(const gw_api_t *api, bool tripped, const char *path);
/** HostDown / HostUp from an uptime check of @url (@host: host[:port]). */
void gw_event_host(const gw_api_t *api, bool down, const char *url, const char *host, int status,
                   bool tcp_error);
/** TokenCreated / TokenUpdated / TokenDeleted. */
void gw_event_token(gw_event_t ev, const char *org, const char *key);
/**
 * After RateLimitAndQuotaCheck decided (@rc): RatelimitExceeded / QuotaExceeded for a 429 /
 * quota 403, else the quota trigger monitor with the request's @quota result.
 */
void gw_event_limits(gw_req_t *req, int rc, const gw_limit_result_t *quota);

/**
 * OrganizationMonitor with monitor.monitor_org_keys: the quota trigger monitor for the org
 * session @org_session after its quota check (@quota), with an empty key, as Tyk does.
 */
void gw_event_monitor_org(const gw_session_t *org_session, const gw_limit_result_t *quota);

/* internal (gw_events_fire.c): the quota trigger monitor's settings (for user keys or, with
 * @org_keys, org sessions) and its webhook */
bool gw_events_monitor_on(bool org_keys, double *global_trigger);
void gw_events_monitor_post(json_t *meta);

/* ---- pure helpers (unit-tested) ------------------------------------------------------------ */

/**
 * The object templates see: {Type, Meta, TimeStamp}, with every string HTML-escaped as Go's
 * html/template escapes printed values in text context. Takes a reference to @meta.
 */
json_t *gw_event_message(gw_event_t ev, json_t *meta, const char *timestamp);
/** Go's time.Now().Local().String() for @ns since the epoch into @out. */
void gw_event_timestamp(uint64_t ns, char *out, size_t cap);
/**
 * The de-duplication checksum Tyk computes: hex md5 of the request Go would write for
 * @method @url with @body (no custom headers). Writes 33 bytes into @hex. TK_ERROR on a bad URL.
 */
int gw_webhook_checksum(const char *method, const char *url, const char *body, size_t len,
                        char hex[33]);
/** Tyk's log handler line: "<prefix>:<Type>" plus key/origin/path or breaker details. */
char *gw_event_log_line(const char *prefix, gw_event_t ev, json_t *meta);

#endif
