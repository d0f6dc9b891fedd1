/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for pump.conf: Tyk Pump's keys and defaults, TYK_PMP_* overrides (globals, pumps,
 * meta, env-only pumps), and one clear error per bad field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pump_conf.h"
#include "tk_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const env_vars[] = {
    "TYK_PMP_PURGEDELAY",
    "TYK_PMP_OMITCONFIGFILE",
    "TYK_PMP_PUMPS_CSV_META_CSVDIR",
    "TYK_PMP_PUMPS_MYOUT_TYPE",
    "TYK_PMP_PUMPS_MYOUT_META_LOGFIELDNAME",
    "TYK_PMP_PUMPS_CSV_FILTERS_SKIPRESPONSECODES",
    "TYK_PMP_ANALYTICSSTORAGECONFIG_HOST",
    "TYK_PMP_REDIS_PORT",
    "TYK_PMP_JOURNALDIR",
    "TYK_PMP_PUMPS_SQL_AGGREGATE_TYPE",
};

static char path[64];

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < TK_ARRAY_LEN(env_vars); i++)
        unsetenv(env_vars[i]);
    snprintf(path, sizeof(path), "/tmp/tp-pumpconf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    return setup(state) * 0;
}

static void write_conf(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const pump_sink_cfg_t *find(const pump_conf_t *c, const char *name)
{
    for (size_t i = 0; i < c->nsinks; i++)
        if (strcmp(c->sinks[i].name, name) == 0)
            return &c->sinks[i];
    return NULL;
}

static void test_defaults_and_keys(void **state)
{
    (void)state;
    write_conf("{\"analytics_storage_type\": \"redis\","
               " \"analytics_storage_config\": {\"type\": \"redis\", \"host\": \"r1\", \"port\": "
               "6380, \"password\": \"pw\", \"redis_key_prefix\": \"x-\"},"
               " \"purge_delay\": 0, \"purge_chunk\": 50, \"dont_purge_uptime_data\": true,"
               " \"pumps\": {\"csv\": {\"meta\": {\"csv_dir\": \"/tmp/c\"},"
               "   \"filters\": {\"org_ids\": [\"o1\"], \"skip_response_codes\": [500, 502]},"
               "   \"timeout\": 5, \"ignore_fields\": [\"api_key\"], \"omit_detailed_recording\": "
               "true},"
               "  \"Out\": {\"type\": \"STDOUT\", \"max_record_size\": 10}}}");
    pump_conf_t c;
    tk_conf_errors_t errs = {0};
    assert_int_equal(pump_conf_load(&c, path, &errs), TK_OK);
    assert_string_equal(c.redis_host, "r1");
    assert_int_equal(c.redis_port, 6380);
    assert_string_equal(c.redis_password, "pw");
    assert_string_equal(c.key_prefix, "x-");
    assert_int_equal(c.purge_delay, 10); /* 0 would stall: Tyk's sample value */
    assert_int_equal(c.purge_chunk, 50);
    assert_int_equal(c.storage_expiration_time, 60);
    assert_int_equal(c.health_check_endpoint_port, 8083);
    assert_string_equal(c.health_check_endpoint_name, "health");
    assert_string_equal(c.journal_dir, "/var/lib/turnpike-pump/journal");
    assert_true(*c.pump_id); /* the host name */
    assert_null(c.uptime_sink);
    assert_int_equal(c.nsinks, 2);
    const pump_sink_cfg_t *csv = find(&c, "CSV");
    assert_non_null(csv);
    assert_string_equal(csv->type, "csv");
    assert_string_equal(tk_json_str(csv->meta, "csv_dir", ""), "/tmp/c");
    assert_int_equal(csv->filters.org_ids.n, 1);
    assert_string_equal(csv->filters.org_ids.v[0], "o1");
    assert_int_equal(csv->filters.n_skip_response_codes, 2);
    assert_int_equal(csv->filters.skip_response_codes[1], 502);
    assert_true(csv->timeout_s == 5);
    assert_true(csv->omit_detailed_recording);
    assert_string_equal(csv->ignore_fields.v[0], "api_key");
    const pump_sink_cfg_t *out = find(&c, "OUT");
    assert_non_null(out);
    assert_string_equal(out->type, "stdout");
    assert_int_equal(out->max_record_size, 10);
    assert_non_null(out->meta);
    pump_conf_free(&c);
    tk_conf_errors_free(&errs);
}

static void test_env_overrides(void **state)
{
    (void)state;
    write_conf("{\"analytics_storage_config\": {\"host\": \"r1\"}, \"dont_purge_uptime_data\": "
               "true, \"pumps\": {\"csv\": {\"type\": \"csv\", \"meta\": {\"csv_dir\": "
               "\"/tmp/a\"}}}}");
    setenv("TYK_PMP_PURGEDELAY", "3", 1);
    setenv("TYK_PMP_PUMPS_CSV_META_CSVDIR", "/tmp/b", 1);
    setenv("TYK_PMP_PUMPS_CSV_FILTERS_SKIPRESPONSECODES", "404,500", 1);
    setenv("TYK_PMP_PUMPS_MYOUT_TYPE", "stdout", 1);
    setenv("TYK_PMP_PUMPS_MYOUT_META_LOGFIELDNAME", "rec", 1);
    setenv("TYK_PMP_PUMPS_SQL_AGGREGATE_TYPE", "sql_aggregate", 1);
    setenv("TYK_PMP_ANALYTICSSTORAGECONFIG_HOST", "r2", 1);
    setenv("TYK_PMP_REDIS_PORT", "7000", 1);
    setenv("TYK_PMP_JOURNALDIR", "/tmp/j", 1);
    pump_conf_t c;
    tk_conf_errors_t errs = {0};
    assert_int_equal(pump_conf_load(&c, path, &errs), TK_OK);
    assert_int_equal(c.purge_delay, 3);
    assert_string_equal(c.redis_host, "r2");
    assert_int_equal(c.redis_port, 7000);
    assert_string_equal(c.journal_dir, "/tmp/j");
    const pump_sink_cfg_t *csv = find(&c, "CSV");
    assert_non_null(csv);
    assert_string_equal(tk_json_str(csv->meta, "csv_dir", ""), "/tmp/b");
    assert_int_equal(csv->filters.n_skip_response_codes, 2);
    assert_int_equal(csv->filters.skip_response_codes[0], 404);
    const pump_sink_cfg_t *my = find(&c, "MYOUT");
    assert_non_null(my);
    assert_string_equal(my->type, "stdout");
    assert_string_equal(tk_json_str(my->meta, "logfieldname", ""), "rec");
    const pump_sink_cfg_t *agg = find(&c, "SQL_AGGREGATE");
    assert_non_null(agg);
    assert_string_equal(agg->type, "sql_aggregate");
    pump_conf_free(&c);
    tk_conf_errors_free(&errs);

    /* Environment only. */
    setenv("TYK_PMP_OMITCONFIGFILE", "true", 1);
    assert_int_equal(pump_conf_load(&c, "/nonexistent/pump.conf", &errs), TK_OK);
    assert_int_equal(c.purge_delay, 3);
    assert_non_null(find(&c, "MYOUT"));
    /* CSV now exists only through its environment variables: its type is its name. */
    assert_non_null(find(&c, "CSV"));
    assert_string_equal(find(&c, "CSV")->type, "csv");
    assert_string_equal(tk_json_str(find(&c, "CSV")->meta, "csvdir", ""), "/tmp/b");
    pump_conf_free(&c);
    tk_conf_errors_free(&errs);
}

static bool has_error(const tk_conf_errors_t *e, const char *needle)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], needle))
            return true;
    return false;
}

static void test_errors(void **state)
{
    (void)state;
    write_conf("{\"purge_delay\": \"soon\", \"analytics_storage_type\": \"mongo\","
               " \"analytics_storage_config\": {\"port\": 99999},"
               " \"uptime_pump_config\": {\"uptime_type\": \"mongo\", \"mongo_url\": \"m\"},"
               " \"pumps\": {\"a\": 5, \"b\": {\"type\": \"csv\", \"meta\": [], \"timeout\": -1,"
               "   \"filters\": {\"response_codes\": [\"x\"], \"org_ids\": \"o\"}}}}");
    pump_conf_t c;
    tk_conf_errors_t errs = {0};
    assert_int_equal(pump_conf_load(&c, path, &errs), TK_ERROR);
    assert_true(has_error(&errs, "purge_delay"));
    assert_true(has_error(&errs, "analytics_storage_type"));
    assert_true(has_error(&errs, "analytics_storage_config.port"));
    assert_true(has_error(&errs, "uptime_pump_config.uptime_type"));
    assert_true(has_error(&errs, "pumps.A: must be an object"));
    assert_true(has_error(&errs, "pumps.B.meta"));
    assert_true(has_error(&errs, "pumps.B.timeout"));
    assert_true(has_error(&errs, "pumps.B.filters.response_codes[0]"));
    assert_true(has_error(&errs, "pumps.B.filters.org_ids"));
    pump_conf_free(&c);
    tk_conf_errors_free(&errs);

    write_conf("{\"pumps\": {");
    assert_int_equal(pump_conf_load(&c, path, &errs), TK_ERROR);
    assert_true(has_error(&errs, path));
    pump_conf_free(&c);
    tk_conf_errors_free(&errs);
}

static void test_uptime_sql(void **state)
{
    (void)state;
    write_conf("{\"uptime_pump_config\": {\"uptime_type\": \"sql\", \"type\": \"sqlite\", "
               "\"connection_string\": \"/tmp/u.db\"}}");
    pump_conf_t c;
    tk_conf_errors_t errs = {0};
    assert_int_equal(pump_conf_load(&c, path, &errs), TK_OK);
    assert_non_null(c.uptime_sink);
    assert_true(c.uptime_sink->uptime);
    assert_string_equal(c.uptime_sink->type, "sql");
    assert_string_equal(tk_json_str(c.uptime_sink->meta, "connection_string", ""), "/tmp/u.db");
    pump_conf_free(&c);
    tk_conf_errors_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uptime_sql, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
