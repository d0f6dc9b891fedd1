/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the HTTP/1 request and response parsing layer, fed in random splits. */
#include "tk_http1.h"

#include <stdint.h>
#include <stdlib.h>

static size_t body_bytes;

static int on_head(void *ud, tk_http_head_t *h)
{
    (void)ud;
    /* Touch every header so ASan sees any bad pointer. */
    size_t sum = h->url_len + h->method_len;
    for (uint32_t i = 0; i < h->nhdrs; i++)
        sum += h->hdrs[i].name_len ? (unsigned char)h->hdrs[i].name[0] : 0u + h->hdrs[i].value_len;
    (void)tk_http_head_find(h, "content-type");
    return sum == 0xffffffff ? TK_H1_ABORT : TK_H1_CONTINUE;
}

static int on_body(void *ud, const char *p, size_t n)
{
    (void)ud;
    if (n)
        body_bytes += (unsigned char)p[n - 1];
    return TK_H1_CONTINUE;
}

static int on_done(void *ud)
{
    (void)ud;
    return TK_H1_CONTINUE;
}

static const tk_h1_callbacks_t cbs = {on_head, on_body, on_done};

static void run(bool request, const uint8_t *data, size_t size)
{
    tk_h1_parser_t *p = tk_h1_parser_new(request, 4096, &cbs, NULL);
    size_t off = 0;
    /* The first byte picks a split size so chunk boundaries land everywhere. */
    size_t step = size ? (size_t)(data[0] % 31) + 1 : 1;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        size_t used = 0;
        int rc = tk_h1_parser_feed(p, (const char *)data + off, n, &used);
        off += used;
        if (rc == TK_H1_PAUSED_HEAD || rc == TK_H1_PAUSED_DONE) {
            tk_h1_parser_resume(p);
            continue;
        }
        if (rc < 0)
            break;
    }
    tk_h1_parser_finish(p);
    tk_h1_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(true, data, size);
    run(false, data, size);
    return 0;
}
