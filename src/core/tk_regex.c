/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread PCRE2 match data with a thread-exit destructor (tk_regex.h). */
#include "tk_regex.h"

#include <pthread.h>

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void free_md(void *md)
{
    pcre2_match_data_free(md);
}

static void make_key(void)
{
    pthread_key_create(&key, free_md);
}

pcre2_match_data *tk_re_match_data(void)
{
    pthread_once(&once, make_key);
    pcre2_match_data *md = pthread_getspecific(key);
    if (!md) {
        md = pcre2_match_data_create(TK_RE_PAIRS, NULL);
        TK_ASSERT(md);
        pthread_setspecific(key, md);
    }
    return md;
}
