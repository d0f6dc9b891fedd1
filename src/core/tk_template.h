/* SPDX-License-Identifier: Apache-2.0 */
/* Go text/template (with the sprig and Tyk functions Tyk users call) over jansson values. */
#ifndef TK_TEMPLATE_H
#define TK_TEMPLATE_H

#include "tk_common.h"

#include <jansson.h>

typedef struct tk_tmpl tk_tmpl_t;

/*
 * Value model, so that output matches what Go prints for data decoded by encoding/json:
 * JSON reals are Go float64 (decode bodies with JSON_DECODE_INT_AS_REAL, as Go turns every JSON
 * number into float64), JSON integers are Go int (template literals, len, range indexes, sprig
 * arithmetic), objects are map[string]interface{}, arrays []interface{}, null is nil.
 */

/** Execution bounds; zero fields take the defaults below. */
typedef struct tk_tmpl_limits {
    size_t max_output;  /* bytes of output (default 16 MiB) */
    uint64_t max_steps; /* evaluated nodes and loop iterations (default 10 million) */
    unsigned max_depth; /* nested {{template}} calls and value nesting (default 100) */
} tk_tmpl_limits_t;

/**
 * Compiles @len bytes of template source. On failure returns NULL and writes
 * "line:col: message" into @err (size @errlen), e.g. `1:9: function "foo" not defined`.
 * Undefined functions and variables, unbalanced {{end}}, bad literals are compile errors.
 */
tk_tmpl_t *tk_tmpl_compile(const char *src, size_t len, char *err, size_t errlen);

void tk_tmpl_free(tk_tmpl_t *t);

/**
 * Executes @t with @data as dot (borrowed; not modified). The output goes to *@out (malloc'd,
 * NUL-terminated, length in *@outlen) even on failure, where it holds what was written before
 * the error, as Go's Execute leaves in its writer. Returns TK_OK, or TK_ERROR with
 * "line:col: executing at <node>: message" in @err. @lim may be NULL. Thread-safe for concurrent
 * executions of one compiled template.
 */
int tk_tmpl_exec(const tk_tmpl_t *t, json_t *data, const tk_tmpl_limits_t *lim, char **out,
                 size_t *outlen, char *err, size_t errlen);

#endif
