/* SPDX-License-Identifier: Apache-2.0 */
/* Every middleware, in the order Tyk runs them (spec §9.1); each lives in its own mw/ file. */
#include "gw_mw.h"

const gw_mw_def_t *const gw_mw_registry[] = {
    NULL, /* keeps the array non-empty while no middleware is registered */
};

const size_t gw_mw_registry_len = 0;
