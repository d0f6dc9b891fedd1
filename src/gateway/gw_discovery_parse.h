/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a service discovery answer the way Tyk does (proxy.service_discovery): dotted paths
 * with gabs' rules ("a.b", "list.0.x", "list.*.x", "~1" for '.', "~0" for '~'), a nested JSON
 * string at parent_data_path (use_nested_query), a port at port_data_path appended as ":port",
 * endpoint_returns_list for a top-level array, use_target_list for every entry and target_path
 * appended to each host. Pure: no I/O, no globals.
 */
#ifndef GW_DISCOVERY_PARSE_H
#define GW_DISCOVERY_PARSE_H

#include "tk_common.h"

#include <jansson.h>

typedef struct gw_sd_spec {
    bool use_nested_query;
    bool use_target_list;
    bool endpoint_returns_list;
    const char *data_path;   /* NULL is "" */
    const char *parent_path; /* parent_data_path */
    const char *port_path;   /* port_data_path; "" or NULL: no port */
    const char *target_path; /* appended to every host */
} gw_sd_spec_t;

/**
 * The value at the gabs dot @path under @root as a new reference (a "*" segment over an array
 * collects the rest of the path from every element into a new array), or NULL when the path
 * does not resolve.
 */
json_t *gw_sd_path(json_t *root, const char *path);

/**
 * Extracts the host list from a discovery answer of @len bytes. On TK_OK, @hosts gets a
 * malloc'd vector of @n malloc'd strings exactly as Tyk builds them (entries may be "" or lack
 * a port when the answer lacks the fields). TK_ERROR with @err set when the body is not JSON
 * (Tyk only rejects that with endpoint_returns_list; otherwise it silently reads nothing).
 */
int gw_sd_extract(const gw_sd_spec_t *s, const char *body, size_t len, char ***hosts, size_t *n,
                  char *err, size_t errlen);

void gw_sd_hosts_free(char **hosts, size_t n);

/**
 * Tyk's EnsureTransport: trims spaces from @host and prefixes "<protocol>://" ("http" when
 * @protocol is empty) unless it already names a scheme. malloc'd.
 */
char *gw_sd_host_url(const char *host, const char *protocol);

#endif
