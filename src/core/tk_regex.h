/* SPDX-License-Identifier: Apache-2.0 */
/* PCRE2 helpers shared by every module that matches on the request path. */
#ifndef TK_REGEX_H
#define TK_REGEX_H

#include "tk_common.h"

#include <pcre2.h>

/* Capture pairs the per-thread match data holds (enough for any endpoint pattern we build). */
#define TK_RE_PAIRS 64

/** This thread's match data (TK_RE_PAIRS pairs), created on first use and freed when the
 *  thread exits: no allocation per match, nothing left behind. */
pcre2_match_data *tk_re_match_data(void);

#endif
