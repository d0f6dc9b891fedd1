/* SPDX-License-Identifier: Apache-2.0 */
/* Ids, times and list replies shared by the REST resources. */
#include "dash_util.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <time.h>

void dash_new_id(char out[25])
{
    unsigned char b[12];
    uint32_t secs = (uint32_t)time(NULL);
    b[0] = (unsigned char)(secs >> 24);
    b[1] = (unsigned char)(secs >> 16);
    b[2] = (unsigned char)(secs >> 8);
    b[3] = (unsigned char)secs;
    TK_ASSERT(RAND_bytes(b + 4, 8) == 1);
    for (int i = 0; i < 12; i++)
        snprintf(out + i * 2, 3, "%02x", b[i]);
}

void dash_now_rfc3339(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%09ldZ", base, ts.tv_nsec);
}

void dash_reply_list(dash_req_t *req, enum dash_kind k, dash_list_query_t *q, const char *items_key,
                     const char *pages_key)
{
    dash_list_query_t local = {.org = req->org_id, .col = -1};
    if (!q)
        q = &local;
    q->page = dash_page(req);
    q->page_size = req->conf->page_size;
    json_t *items = NULL;
    int64_t pages = 1;
    if (dash_store_list(req->store, k, q, &items, &pages) != DASH_STORE_OK) {
        dash_reply_store_error(req, "list");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, items_key, items);
    json_object_set_new(o, pages_key, json_integer(pages));
    dash_reply_json(req, 200, o);
}
