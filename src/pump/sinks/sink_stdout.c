/* SPDX-License-Identifier: Apache-2.0 */
/* "stdout" sink: one line per record, the record in Tyk's JSON names (as Tyk's stdout pump). */
#include "pump_sink.h"
#include "sink_text.h"

#include "tk_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

struct stdout_sink {
    bool json;
    char *field;
};

static int stdout_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    const char *format = tk_json_str(conf->meta, "format", "json");
    if (strcasecmp(format, "json") != 0 && strcasecmp(format, "text") != 0) {
        snprintf(err, errlen, "meta.format: \"%s\" is not json or text", format);
        return -1;
    }
    struct stdout_sink *s = tk_xcalloc(1, sizeof(*s));
    s->json = strcasecmp(format, "json") == 0;
    const char *field = tk_json_str(conf->meta, "log_field_name", "");
    s->field = tk_xstrdup(*field ? field : "tyk-analytics-record");
    *state = s;
    return 0;
}

/* {"level","msg","time",<field>} with keys in sorted order, as logrus' JSON formatter
 * marshals its map; the record keeps its own field order. */
static void json_line(struct stdout_sink *s, tk_buf_t *b, const char *rec, const char *now)
{
    json_t *fj = json_string(s->field);
    char *fkey = json_dumps(fj, JSON_ENCODE_ANY);
    json_decref(fj);
    json_t *tj = json_string(now);
    char *tval = json_dumps(tj, JSON_ENCODE_ANY);
    json_decref(tj);
    const char *keys[4] = {"level", "msg", "time", s->field};
    const char *kjson[4] = {"\"level\"", "\"msg\"", "\"time\"", fkey};
    const char *vals[4] = {"\"info\"", "\"\"", tval, rec};
    int order[4] = {0, 1, 2, 3};
    for (int i = 1; i < 4; i++)
        for (int k = i; k > 0 && strcmp(keys[order[k - 1]], keys[order[k]]) > 0; k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    sink_buf_str(b, "{");
    for (int i = 0; i < 4; i++) {
        if (i)
            sink_buf_str(b, ",");
        sink_buf_str(b, kjson[order[i]]);
        sink_buf_str(b, ":");
        sink_buf_str(b, vals[order[i]]);
    }
    sink_buf_str(b, "}\n");
    free(fkey);
    free(tval);
}

static int stdout_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    struct stdout_sink *s = state;
    tk_buf_t b = {0};
    char now[48];
    sink_rfc3339_now(now, sizeof(now), true);
    for (size_t i = 0; i < batch->n; i++) {
        json_t *j = tk_analytics_to_json(batch->items[i].rec);
        char *rec = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!rec)
            continue;
        if (s->json) {
            json_line(s, &b, rec, now);
        } else {
            json_t *q = json_string(rec);
            char *quoted = json_dumps(q, JSON_ENCODE_ANY);
            json_decref(q);
            sink_buf_str(&b, "time=\"");
            sink_buf_str(&b, now);
            sink_buf_str(&b, "\" level=info prefix=stdout-pump ");
            sink_buf_str(&b, s->field);
            sink_buf_str(&b, "=");
            sink_buf_str(&b, quoted ? quoted : "\"\"");
            sink_buf_str(&b, "\n");
            free(quoted);
        }
        free(rec);
    }
    int rc = 0;
    if (b.len && (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0)) {
        snprintf(err, errlen, "writing to standard output: %s", strerror(errno));
        clearerr(stdout);
        rc = -1;
    }
    tk_buf_free(&b);
    return rc;
}

static void stdout_destroy(void *state)
{
    struct stdout_sink *s = state;
    free(s->field);
    free(s);
}

const pump_sink_ops_t pump_sink_stdout = {
    .type = "stdout",
    .create = stdout_create,
    .write = stdout_write,
    .destroy = stdout_destroy,
};
