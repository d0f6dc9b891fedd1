/* SPDX-License-Identifier: Apache-2.0 */
/* Picks the endpoint-level rate limit for a request and names its counter as Tyk does. */
#include "gw_endpoint_rl.h"

#include "tk_hash.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

char *gw_prepare_path_regexp(const char *pattern, bool prefix, bool suffix)
{
    size_t len = strlen(pattern);
    /* Worst case: every "{x}" (3 bytes) grows to "([^/]+)" (7 bytes), plus '^', '$', NUL. */
    char *out = tk_xmalloc(len * 3 + 4);
    size_t o = 0;
    if (prefix && pattern[0] == '/')
        out[o++] = '^';
    for (size_t i = 0; i < len;) {
        /* Go's `{([^}]+)}`: from a '{', the next '}' closes it if at least one byte is between. */
        const char *close = pattern[i] == '{' ? strchr(pattern + i + 1, '}') : NULL;
        if (close && close > pattern + i + 1) {
            memcpy(out + o, "([^/]+)", 7);
            o += 7;
            i = (size_t)(close - pattern) + 1;
            continue;
        }
        out[o++] = pattern[i++];
    }
    if (suffix && (o == 0 || out[o - 1] != '$'))
        out[o++] = '$';
    out[o] = '\0';
    return out;
}

/* Go's regexp.MatchString: an unanchored search; a pattern that does not compile never matches. */
static bool search(const char *re, const char *subject)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (!code)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = pcre2_match(code, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    return rc >= 0;
}

static const gw_endpoint_method_t *method_of(const gw_endpoint_t *ep, const char *method,
                                             size_t method_len)
{
    for (size_t i = 0; i < ep->n_methods; i++) {
        const char *name = ep->methods[i].name ? ep->methods[i].name : "";
        if (tk_str_ieq(method, method_len, name))
            return &ep->methods[i];
    }
    return NULL;
}

bool gw_endpoint_rl_find(const gw_endpoint_t *eps, size_t n, const char *method, size_t method_len,
                         const char *stripped_path, bool prefix, bool suffix, gw_endpoint_rl_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const gw_endpoint_method_t *m = method_of(&eps[i], method, method_len);
        if (!m)
            continue;
        const char *path = eps[i].path ? eps[i].path : "";
        char *re = gw_prepare_path_regexp(path, prefix, suffix);
        bool hit = search(re, stripped_path);
        free(re);
        if (!hit)
            continue;
        out->rate = m->limit.rate;
        out->per = m->limit.per;
        const char *name = m->name ? m->name : "";
        size_t nl = strlen(name), pl = strlen(path);
        char *id = tk_xmalloc(nl + pl + 2);
        memcpy(id, name, nl);
        id[nl] = ':';
        memcpy(id + nl + 1, path, pl + 1);
        tk_hash_str(id, nl + 1 + pl, out->key_suffix);
        free(id);
        return true;
    }
    return false;
}
