/* SPDX-License-Identifier: Apache-2.0 */
/* IP allow / block lists: parsing at load and matching the client address (gw_iplist.h). */
#include "gw_iplist.h"

#include "tk_log.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

bool gw_ip_parse(const char *s, size_t len, uint8_t out[16])
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, buf, out) == 1;
}

bool gw_ipnet_parse(const char *s, gw_ipnet_t *out)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (!gw_ip_parse(s, alen, out->addr))
        return false;
    bool v4 = memchr(s, ':', alen) == NULL;
    if (!slash) {
        out->bits = 128;
        return true;
    }
    const char *p = slash + 1;
    unsigned bits = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
        bits = bits * 10 + (unsigned)(*p - '0');
    /* Go's ParseCIDR: decimal, no sign, no leading zero, within the family's width */
    if (*p || digits == 0 || (digits > 1 && slash[1] == '0') || bits > (v4 ? 32u : 128u))
        return false;
    out->bits = (uint8_t)(v4 ? 96 + bits : bits);
    /* keep the network address: the host bits do not matter for matching */
    for (unsigned i = out->bits; i < 128; i++)
        out->addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
    return true;
}

static bool net_contains(const gw_ipnet_t *n, const uint8_t ip[16])
{
    unsigned full = n->bits / 8, rest = n->bits % 8;
    if (memcmp(n->addr, ip, full) != 0)
        return false;
    if (rest) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        return (ip[full] & mask) == n->addr[full];
    }
    return true;
}

gw_iplist_t *gw_iplist_build(const gw_api_t *api, const char *field)
{
    json_t *arr = json_object_get(api->def, field);
    size_t n = json_array_size(arr);
    gw_iplist_t *l = tk_xcalloc(1, sizeof(*l));
    l->nets = tk_xcalloc(n ? n : 1, sizeof(gw_ipnet_t));
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s && gw_ipnet_parse(s, &l->nets[l->n])) {
            l->n++;
            continue;
        }
        tk_log_warn("%s: API %s: %s[%zu]: \"%s\" is not an IP address or CIDR block; it never "
                    "matches",
                    api->file, api->api_id, field, i, s ? s : "(not a string)");
    }
    return l;
}

void gw_iplist_free(gw_iplist_t *l)
{
    if (!l)
        return;
    free(l->nets);
    free(l);
}

bool gw_iplist_match_req(const gw_iplist_t *l, gw_req_t *req)
{
    tk_str_t ip = gw_req_real_ip(req);
    uint8_t addr[16];
    if (!gw_ip_parse(ip.p, ip.len, addr))
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (net_contains(&l->nets[i], addr))
            return true;
    return false;
}

bool gw_iplist_enabled(const gw_api_t *api, const char *enable_field, const char *list_field)
{
    bool on = json_is_true(json_object_get(api->def, enable_field)) ||
              !json_is_true(json_object_get(api->def, "ip_access_control_disabled"));
    return on && json_array_size(json_object_get(api->def, list_field)) > 0;
}
