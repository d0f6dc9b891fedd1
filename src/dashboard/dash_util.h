/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers the REST resources share: ids, times, list replies. */
#ifndef DASH_UTIL_H
#define DASH_UTIL_H

#include "dash_server.h"

/** A new object id shaped like a MongoDB ObjectId (24 hex digits: 4 bytes of seconds, then 8
 *  random bytes), which is what Tyk Dashboard's ids look like and what clients expect. */
void dash_new_id(char out[25]);

/** Now as RFC 3339 with nanoseconds (Go's time.Time JSON form). */
void dash_now_rfc3339(char *out, size_t cap);

/**
 * Lists @k for @q (its page and page_size are filled from ?p= and page_size) and replies
 * {<items_key>: [...], <pages_key>: N} — or stages the store error. @q may be NULL (whole org
 * of the caller).
 */
void dash_reply_list(dash_req_t *req, enum dash_kind k, dash_list_query_t *q, const char *items_key,
                     const char *pages_key);

#endif
