/* SPDX-License-Identifier: Apache-2.0 */
/* Request header edits for middlewares (see gw_req_hdrs.h). */
#include "gw_req_hdrs.h"

#include <ctype.h>
#include <strings.h>

void gw_req_hdr_del(gw_req_t *req, const char *name)
{
    tk_http_head_t *h = req->head;
    uint32_t out = 0;
    for (uint32_t i = 0; i < h->nhdrs; i++) {
        if (tk_str_ieq(h->hdrs[i].name, h->hdrs[i].name_len, name))
            continue;
        h->hdrs[out++] = h->hdrs[i];
    }
    h->nhdrs = out;
}

void gw_req_hdr_set(gw_req_t *req, const char *name, const char *value)
{
    gw_req_hdr_del(req, name);
    tk_http_head_t *h = req->head;
    /* A fresh arena array: the parser's array is sized for the headers it parsed. */
    tk_http_hdr_t *arr = tk_arena_alloc(req->arena, (h->nhdrs + 1) * sizeof(*arr));
    if (!arr)
        return;
    if (h->nhdrs)
        memcpy(arr, h->hdrs, h->nhdrs * sizeof(*arr));
    arr[h->nhdrs].name = tk_arena_strdup(req->arena, name);
    arr[h->nhdrs].name_len = (uint32_t)strlen(name);
    arr[h->nhdrs].value = tk_arena_strdup(req->arena, value);
    arr[h->nhdrs].value_len = (uint32_t)strlen(value);
    if (!arr[h->nhdrs].name || !arr[h->nhdrs].value)
        return;
    h->hdrs = arr;
    h->nhdrs++;
}

/* RFC 7230 token characters, the set Go accepts before canonicalising. */
static bool is_token_char(unsigned char c)
{
    if (isalnum(c))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

char *gw_canonical_header(tk_arena_t *a, const char *name, size_t len)
{
    char *out = tk_arena_strndup(a, name, len);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!is_token_char((unsigned char)name[i]))
            return out;
    bool upper = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        out[i] = (char)(upper ? toupper(c) : tolower(c));
        upper = c == '-';
    }
    return out;
}
