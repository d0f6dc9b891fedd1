/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bidirectional byte splice between two streams (an upgraded WebSocket connection and its
 * upstream, or a TCP/TLS proxy API's client and upstream). Bytes move from one stream's input
 * to the other's output without copying; a side stops being read while the other side's output
 * is above the high mark (backpressure), so memory per tunnel stays bounded. End of input on one
 * side becomes a write shutdown on the other (half-close) once its output is flushed; the tunnel
 * is done when both directions ended, or at once on an error or the idle timeout.
 */
#ifndef GW_TUNNEL_H
#define GW_TUNNEL_H

#include "tk_stream.h"

typedef struct gw_tunnel gw_tunnel_t;

/** Called from the event loop (never from inside a stream callback) once the tunnel is done;
 *  the owner then frees it with gw_tunnel_free(). */
typedef void (*gw_tunnel_done_fn)(gw_tunnel_t *t, void *arg);

/**
 * Splices @a and @b, taking them over (callbacks, watermarks; gw_tunnel_free frees them).
 * Bytes already in either input and output are kept and moved on first. @idle_timeout_s > 0
 * ends the tunnel when neither side sent anything for that long.
 */
gw_tunnel_t *gw_tunnel_new(struct event_base *base, tk_stream_t *a, tk_stream_t *b,
                           int64_t idle_timeout_s, gw_tunnel_done_fn done, void *arg);
/** Closes both streams and frees the tunnel. Not from inside the streams' callbacks. */
void gw_tunnel_free(gw_tunnel_t *t);

/** Bytes moved from @a to @b (@a_to_b) or back, for accounting. */
uint64_t gw_tunnel_bytes(const gw_tunnel_t *t, bool a_to_b);

#endif
