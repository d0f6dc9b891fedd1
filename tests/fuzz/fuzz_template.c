/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: compile random text/template sources and run them over a fixed document. */
#include "tk_template.h"
#include "tk_xml2json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char doc_json[] =
    "{\"name\":\"Ada\",\"n\":3,\"pi\":3.14,\"t\":true,\"nul\":null,\"list\":[1,\"two\",[3]],"
    "\"obj\":{\"a\":{\"b\":\"c\"},\"-attr\":\"x\",\"#text\":\"t\"},\"users\":[{\"name\":\"x\"}],"
    "\"array\":[{\"abc\":123}]}";

static json_t *doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!doc)
        doc = json_loads(doc_json, JSON_DECODE_INT_AS_REAL, NULL);
    char err[256];
    tk_tmpl_t *t = tk_tmpl_compile((const char *)data, size, err, sizeof(err));
    if (t) {
        /* small bounds keep each run fast; they are part of what is exercised */
        tk_tmpl_limits_t lim = {.max_output = 1 << 16, .max_steps = 20000, .max_depth = 20};
        char *out = NULL;
        size_t n = 0;
        tk_tmpl_exec(t, doc, &lim, &out, &n, err, sizeof(err));
        if (!out || out[n] != 0)
            abort();
        free(out);
        tk_tmpl_free(t);
    }
    /* the same bytes as an XML body */
    json_t *x = tk_xml2json((const char *)data, size, err, sizeof(err));
    json_decref(x);
    return 0;
}
