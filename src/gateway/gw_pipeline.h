/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Waiting safely: an asynchronous step (a Redis reply) holds a ticket instead of the request,
 * because the client may go away first. The ticket outlives the request and tells the callback.
 */
#ifndef GW_PIPELINE_H
#define GW_PIPELINE_H

#include "gw_http.h"

typedef struct gw_wait gw_wait_t;

/** Starts waiting; pass the ticket as the callback argument. */
gw_wait_t *gw_wait_begin(gw_req_t *req);
/** In the callback: frees the ticket; returns the request, or NULL if it is gone. */
gw_req_t *gw_wait_end(gw_wait_t *w);
/** The request ends while waiting: the pending callback will find NULL. */
void gw_wait_cancel(gw_req_t *req);

#endif
