/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the API-definition loader (JSON text → compiled API) and route matching. */
#include "gw_api.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *def = json_loadb((const char *)data, size, 0, &err);
    if (!def)
        return 0;
    tk_conf_errors_t errs = {0};
    gw_api_t *api = gw_api_from_json(def, "fuzz.json", NULL, &errs);
    if (api) {
        static const char *const paths[] = {"/", "/a", "/a/b/c", "/users/42/x", ""};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            (void)gw_api_match_listen(api, paths[i], strlen(paths[i]), false);
            (void)gw_api_match_listen(api, paths[i], strlen(paths[i]), true);
        }
        gw_api_free(api);
    }
    tk_conf_errors_free(&errs);
    json_decref(def);
    return 0;
}
