/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP allow / block lists (allowed_ips, blacklisted_ips): entries are IPv4 or IPv6 addresses or
 * CIDR blocks, parsed once at load; every address is kept in the 16-byte IPv6 form (IPv4 as
 * ::ffff:a.b.c.d) so "10.0.0.1" and "::ffff:10.0.0.1" are the same address, as in Go.
 * The client address is Tyk's request.RealIP: X-Real-IP, else the text before the first comma
 * of X-Forwarded-For, else the connection's peer address; an unparseable one matches nothing.
 */
#ifndef GW_IPLIST_H
#define GW_IPLIST_H

#include "gw_api.h"
#include "gw_http.h"

typedef struct gw_ipnet {
    uint8_t addr[16];
    uint8_t bits; /* prefix length over the 16-byte form (128 for a single address) */
} gw_ipnet_t;

typedef struct gw_iplist {
    gw_ipnet_t *nets;
    size_t n;
} gw_iplist_t;

/** Builds a list from the API definition's string array @field. Entries that are neither an
 *  address nor a CIDR block never match (Tyk loads them the same way); each is logged as a
 *  warning naming the API and the entry. Returns NULL when the list has no usable entry. */
gw_iplist_t *gw_iplist_build(const gw_api_t *api, const char *field);
void gw_iplist_free(gw_iplist_t *l);

/** True when the request's client address (RealIP) is in @l. */
bool gw_iplist_match_req(const gw_iplist_t *l, gw_req_t *req);

/** Parses an address ("1.2.3.4", "::1") into the 16-byte form. */
bool gw_ip_parse(const char *s, size_t len, uint8_t out[16]);
/** Parses an address or CIDR block. */
bool gw_ipnet_parse(const char *s, gw_ipnet_t *out);

/** True when @api's definition turns the list on: (enable flag || !ip_access_control_disabled)
 *  and a non-empty list, as Tyk's EnabledForSpec. */
bool gw_iplist_enabled(const gw_api_t *api, const char *enable_field, const char *list_field);

#endif
