/* SPDX-License-Identifier: Apache-2.0 */
/* Basic-auth credentials from the request body by regular expression (first capture group). */
#include "gw_basic_body.h"

#include <stdlib.h>
#include <string.h>

static pcre2_code *compile(const char *re)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (code)
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

int gw_basic_body_compile(gw_basic_body_t *bb, const char *user_re, const char *pass_re,
                          const char **why)
{
    memset(bb, 0, sizeof(*bb));
    if (!user_re || !*user_re || !pass_re || !*pass_re) {
        *why = "Basic Auth configured to extract credentials from body, but regexps are empty";
        return TK_ERROR;
    }
    bb->user_re = compile(user_re);
    if (!bb->user_re) {
        *why = "Invalid user body regexp";
        return TK_ERROR;
    }
    bb->pass_re = compile(pass_re);
    if (!bb->pass_re) {
        *why = "Invalid user password regexp";
        gw_basic_body_free(bb);
        return TK_ERROR;
    }
    return TK_OK;
}

void gw_basic_body_free(gw_basic_body_t *bb)
{
    pcre2_code_free(bb->user_re);
    pcre2_code_free(bb->pass_re);
    memset(bb, 0, sizeof(*bb));
}

/* The first match's group 1: TK_OK with an arena copy, TK_DONE when the expression has no
 * group, TK_ERROR when it does not match (or the match fails). */
static int first_group(const pcre2_code *re, const char *body, size_t n, tk_arena_t *a, char **out)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return TK_ERROR;
    int rc = pcre2_match(re, (PCRE2_SPTR)body, n, 0, 0, md, NULL);
    int result = TK_ERROR;
    if (rc > 0) {
        uint32_t groups = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
        if (groups < 1) {
            result = TK_DONE;
        } else {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            bool set = rc > 1 && ov[2] != PCRE2_UNSET;
            *out = set ? tk_arena_strndup(a, body + ov[2], ov[3] - ov[2]) : tk_arena_strdup(a, "");
            result = *out ? TK_OK : TK_ERROR;
        }
    }
    pcre2_match_data_free(md);
    return result;
}

const char *gw_basic_body_extract(const gw_basic_body_t *bb, const char *body, size_t n,
                                  tk_arena_t *a, char **user, char **pass)
{
    int rc = first_group(bb->user_re, body ? body : "", n, a, user);
    if (rc == TK_ERROR)
        return "Body do not contain username";
    if (rc == TK_DONE)
        return "username should be inside regexp match group";
    rc = first_group(bb->pass_re, body ? body : "", n, a, pass);
    if (rc == TK_ERROR)
        return "Body do not contain password";
    if (rc == TK_DONE)
        return "password should be inside regexp match group";
    return NULL;
}
