/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the API-definition loader (JSON text → compiled API), route matching, and
 * version_data / extended_paths compilation with endpoint matching. */
#include "gw_api.h"
#include "gw_endpoints.h"

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
    static gw_conf_t conf; /* zero: unanchored matching, as Tyk's default */
    conf.hso_enable_path_prefix_matching = size % 2;
    conf.hso_enable_path_suffix_matching = size % 3 == 0;
    gw_versions_t *vs = gw_versions_build(def, "fuzz.json", "fuzz", &conf, &errs);
    if (vs) {
        static const char *const paths[] = {"/", "/a", "/users/42/x", "/v1/items?q"};
        size_t lens[4];
        for (size_t i = 0; i < 4; i++)
            lens[i] = strlen(paths[i]);
        for (size_t i = 0; i < vs->n; i++)
            for (int k = 0; k < GW_EP__COUNT; k++)
                (void)gw_ep_match_in(&vs->v[i], (enum gw_ep_kind)k, "GET", 3, paths, lens, 4);
        gw_versions_free(vs);
    }
    tk_conf_errors_free(&errs);
    json_decref(def);
    return 0;
}
