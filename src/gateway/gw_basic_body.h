/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Basic-auth credentials taken from the request body (Tyk's basic_auth.extract_from_body):
 * body_user_regexp and body_password_regexp, each read from its first match's first group.
 */
#ifndef GW_BASIC_BODY_H
#define GW_BASIC_BODY_H

#include "tk_arena.h"
#include "tk_common.h"

#include <pcre2.h>

typedef struct gw_basic_body {
    pcre2_code *user_re;
    pcre2_code *pass_re;
} gw_basic_body_t;

/**
 * Compiles both expressions. Tyk leaves basic auth out of the chain when either is empty or
 * invalid; this returns TK_ERROR with a static reason in *@why then (and @bb stays empty).
 */
int gw_basic_body_compile(gw_basic_body_t *bb, const char *user_re, const char *pass_re,
                          const char **why);
void gw_basic_body_free(gw_basic_body_t *bb);

/**
 * Tyk's basicAuthBodyCredentials over @n bytes of @body. Returns NULL and arena strings in
 * *@user / *@pass (an unset group is ""), or the message Tyk answers with a 400:
 * "Body do not contain username", "username should be inside regexp match group",
 * "Body do not contain password", "password should be inside regexp match group".
 */
const char *gw_basic_body_extract(const gw_basic_body_t *bb, const char *body, size_t n,
                                  tk_arena_t *a, char **user, char **pass);

#endif
