/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GeoIP for analytics records (analytics_config.enable_geo_ip + geo_ip_db_path): a MaxMind
 * database opened once (memory-mapped, read-only, safe to share between workers), looked up
 * per record for Geo.Country.ISOCode, Geo.City.{GeoNameID,Names} and Geo.Location.*.
 */
#include "gw_analytics_int.h"

#include "tk_arena.h"
#include "tk_log.h"

#include <maxminddb.h>
#include <stdlib.h>

void *gw_geoip_open(const gw_conf_t *conf)
{
    if (!conf->analytics_config_enable_geo_ip)
        return NULL;
    const char *path = conf->analytics_config_geo_ip_db_path;
    if (!path || !*path) {
        tk_log_error("analytics: enable_geo_ip is on but geo_ip_db_path is empty");
        return NULL;
    }
    MMDB_s *db = tk_xcalloc(1, sizeof(*db));
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);
    if (rc != MMDB_SUCCESS) {
        tk_log_error("analytics: failed to open GeoIP database %s: %s", path, MMDB_strerror(rc));
        free(db);
        return NULL;
    }
    return db;
}

void gw_geoip_close(void *geoip)
{
    if (!geoip)
        return;
    MMDB_close(geoip);
    free(geoip);
}

static tk_str_t entry_str(MMDB_lookup_result_s *res, tk_arena_t *arena, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(&res->entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return (tk_str_t){"", 0};
    char *s = tk_arena_strndup(arena, d.utf8_string, d.data_size);
    return s ? (tk_str_t){s, d.data_size} : (tk_str_t){"", 0};
}

static double entry_double(MMDB_lookup_result_s *res, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(&res->entry, &d, path) != MMDB_SUCCESS || !d.has_data)
        return 0;
    return d.type == MMDB_DATA_TYPE_DOUBLE  ? d.double_value
           : d.type == MMDB_DATA_TYPE_FLOAT ? (double)d.float_value
                                            : 0;
}

void gw_geoip_fill(void *geoip, const char *ip, tk_arena_t *arena, tk_an_geo_t *geo)
{
    if (!geoip || !ip || !*ip)
        return;
    int gai = 0, mmdb = 0;
    MMDB_lookup_result_s res = MMDB_lookup_string(geoip, ip, &gai, &mmdb);
    if (gai != 0 || mmdb != MMDB_SUCCESS || !res.found_entry)
        return;
    static const char *const iso[] = {"country", "iso_code", NULL};
    static const char *const gid[] = {"city", "geoname_id", NULL};
    static const char *const lat[] = {"location", "latitude", NULL};
    static const char *const lon[] = {"location", "longitude", NULL};
    static const char *const tz[] = {"location", "time_zone", NULL};
    geo->country_iso_code = entry_str(&res, arena, iso);
    MMDB_entry_data_s d;
    if (MMDB_aget_value(&res.entry, &d, gid) == MMDB_SUCCESS && d.has_data)
        geo->city_geoname_id = d.type == MMDB_DATA_TYPE_UINT32   ? d.uint32
                               : d.type == MMDB_DATA_TYPE_UINT64 ? d.uint64
                                                                 : 0;
    geo->latitude = entry_double(&res, lat);
    geo->longitude = entry_double(&res, lon);
    geo->time_zone = entry_str(&res, arena, tz);

    /* city.names: a map of language → name. */
    static const char *const names[] = {"city", "names", NULL};
    MMDB_entry_data_s m;
    if (MMDB_aget_value(&res.entry, &m, names) != MMDB_SUCCESS || !m.has_data ||
        m.type != MMDB_DATA_TYPE_MAP || m.data_size == 0)
        return;
    MMDB_entry_data_list_s *list = NULL;
    MMDB_entry_s sub = {.mmdb = res.entry.mmdb, .offset = m.offset};
    if (MMDB_get_entry_data_list(&sub, &list) != MMDB_SUCCESS || !list) {
        MMDB_free_entry_data_list(list);
        return;
    }
    size_t n = list->entry_data.data_size;
    tk_an_name_t *v = tk_arena_zalloc(arena, n * sizeof(*v));
    size_t k = 0;
    MMDB_entry_data_list_s *it = list->next;
    for (size_t i = 0; v && i < n && it && it->next; i++) {
        MMDB_entry_data_s *key = &it->entry_data, *val = &it->next->entry_data;
        if (key->type == MMDB_DATA_TYPE_UTF8_STRING && val->type == MMDB_DATA_TYPE_UTF8_STRING) {
            char *ks = tk_arena_strndup(arena, key->utf8_string, key->data_size);
            char *vs = tk_arena_strndup(arena, val->utf8_string, val->data_size);
            if (ks && vs)
                v[k++] = (tk_an_name_t){{ks, key->data_size}, {vs, val->data_size}};
        }
        it = it->next->next;
    }
    MMDB_free_entry_data_list(list);
    geo->city_names = v;
    geo->n_city_names = k;
}
