/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OAuth key-change notifications (Tyk's NotificationsManager, spec §11.4): after the token
 * endpoint issues a token, an API whose `notifications.oauth_on_keychange_url` is set gets a
 * POST of {"auth_code","new_oauth_token","refresh_token","old_refresh_token",
 * "notification_type"} ("refresh" when a refresh token was presented, else "new"), with
 * User-Agent "Tyk-Gatewy-Notifications" (sic), Content-Type application/json and
 * X-Tyk-Shared-Secret: notifications.shared_secret. Sent in the background on the worker's loop
 * (10 s timeout); a failure or a status other than 200 is tried again 10 s later, three attempts
 * in all, as Tyk does.
 */
#ifndef GW_OAUTH_NOTIFY_H
#define GW_OAUTH_NOTIFY_H

#include "gw_http.h"

/** Sends the notification for a token issued on @req's API, if the API asks for them. */
void gw_oauth_notify(gw_req_t *req, const char *auth_code, const char *new_token,
                     const char *refresh_token, const char *old_refresh_token);

#endif
