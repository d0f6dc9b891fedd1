/* SPDX-License-Identifier: Apache-2.0 */
/* pump.conf type "kafka": one JSON message per record to meta.topic, through librdkafka.
 *
 * The message is what tyk-pump's kafka pump writes (pumps/kafka.go): a JSON object with keys
 * timestamp (RFC 3339, nanoseconds), method, path, raw_path, response_code, alias, api_key,
 * api_version, api_name, api_id, org_id, oauth_id, raw_request, request_time_ms, raw_response,
 * ip_address, host, content_length, user_agent, tags, plus every meta.meta_data entry (which
 * overrides a record key of the same name). Keys come sorted and strings escaped the way Go's
 * encoding/json does it. Messages have no key, so librdkafka spreads them over partitions.
 *
 * Durability: the producer uses acks=all and enable.idempotence=true (librdkafka's own retries
 * cannot duplicate or reorder). write() produces the batch and waits until every message is
 * acknowledged; any delivery error (or the timeout) makes it return -1 and the pump offers the
 * batch again. A retried batch may duplicate messages the broker had already stored before the
 * failure: idempotence covers librdkafka's retries, not a second produce of the same record.
 * A message the broker or librdkafka refuses for its content (too large, invalid) makes write()
 * return -2 when that is the only kind of failure, so the pump dead-letters it (pump_sink.h). */
#include "pump_sink.h"
#include "sink_gofmt.h"
#include "tk_log.h"

#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define KAFKA_DEFAULT_TIMEOUT_MS 30000

typedef struct kv {
    char *key;
    char *value; /* already JSON */
} kv_t;

typedef struct kafka_sink {
    char *name;
    char *topic;
    rd_kafka_conf_t *conf; /* template; duplicated for every producer */
    rd_kafka_t *rk;
    kv_t *meta;
    size_t nmeta;
    int timeout_ms;
    /* delivery accounting for the batch being written */
    uint64_t generation;
    size_t pending, failed, failed_permanent;
    char first_err[256];
} kafka_sink_t;

/* ---- config ---- */

/* Go's time.ParseDuration for the forms people write ("10s", "1.5s", "1m30s", "500ms"). */
static int parse_go_duration(const char *s, double *seconds)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3},
                 {"s", 1},     {"m", 60},    {"h", 3600}};
    double total = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
        size_t best = 0;
        double scale = 0;
        for (size_t i = 0; i < TK_ARRAY_LEN(units); i++) {
            size_t ul = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, ul) == 0 && ul > best)
                best = ul, scale = units[i].scale;
        }
        if (!best)
            return -1;
        total += v * scale;
        s += best;
    }
    *seconds = total;
    return 0;
}

/* meta.timeout: a number of seconds, or a string "10s" / "10" (as Tyk accepts). */
static int parse_timeout(const json_t *v, double *seconds, char *err, size_t errlen)
{
    *seconds = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        *seconds = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (parse_go_duration(s, seconds) == 0)
            return 0;
        *seconds = strtod(s, &end);
        if (end != s && *end == '\0')
            return 0;
    }
    snprintf(err, errlen, "timeout: not a number of seconds or a duration like \"10s\"");
    return -1;
}

static int set_prop(rd_kafka_conf_t *c, const char *field, const char *k, const char *v, char *err,
                    size_t errlen)
{
    char why[256];
    if (rd_kafka_conf_set(c, k, v, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "%s: %s", field, why);
        return -1;
    }
    return 0;
}

/* Errors about the message itself, which no retry can cure. */
static bool permanent_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || e == RD_KAFKA_RESP_ERR_INVALID_MSG ||
           e == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE || e == RD_KAFKA_RESP_ERR_INVALID_RECORD ||
           e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    TK_UNUSED(rk);
    kafka_sink_t *s = opaque;
    if ((uint64_t)(uintptr_t)m->_private != s->generation)
        return; /* a late report for a batch already given up on */
    if (s->pending)
        s->pending--;
    if (m->err) {
        if (!s->failed)
            snprintf(s->first_err, sizeof(s->first_err), "%s", rd_kafka_err2str(m->err));
        s->failed++;
        if (permanent_error(m->err))
            s->failed_permanent++;
    }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    TK_UNUSED(rk);
    tk_log(level <= 3   ? TK_LOG_ERROR
           : level <= 5 ? TK_LOG_WARN
                        : TK_LOG_DEBUG,
           "kafka %s: %s", fac, buf);
}

static int build_conf(kafka_sink_t *s, const pump_sink_conf_t *conf, char *err, size_t errlen)
{
    const json_t *meta = conf->meta;
    rd_kafka_conf_t *c = s->conf;
    /* broker: a list (or a comma-separated string, as an env variable gives it). */
    const json_t *brokers = json_object_get(meta, "broker");
    struct evbuffer *bl = evbuffer_new();
    if (json_is_string(brokers)) {
        evbuffer_add_printf(bl, "%s", json_string_value(brokers));
    } else if (json_is_array(brokers)) {
        for (size_t i = 0; i < json_array_size(brokers); i++) {
            const char *b = json_string_value(json_array_get(brokers, i));
            if (!b) {
                evbuffer_free(bl);
                snprintf(err, errlen, "broker[%zu]: not a string", i);
                return -1;
            }
            evbuffer_add_printf(bl, "%s%s", i ? "," : "", b);
        }
    }
    evbuffer_add(bl, "", 1);
    char *bootstrap = tk_xstrdup((const char *)evbuffer_pullup(bl, -1));
    evbuffer_free(bl);
    if (!*bootstrap) {
        free(bootstrap);
        snprintf(err, errlen, "broker: no broker configured");
        return -1;
    }
    int rc = set_prop(c, "broker", "bootstrap.servers", bootstrap, err, errlen);
    free(bootstrap);
    if (rc < 0)
        return -1;

    double timeout_s;
    if (parse_timeout(json_object_get(meta, "timeout"), &timeout_s, err, errlen) < 0)
        return -1;
    if (timeout_s <= 0)
        timeout_s = conf->timeout_s;
    s->timeout_ms = timeout_s > 0 ? (int)ceil(timeout_s * 1000) : KAFKA_DEFAULT_TIMEOUT_MS;
    char num[32];
    snprintf(num, sizeof(num), "%d", s->timeout_ms);
    if (set_prop(c, "timeout", "message.timeout.ms", num, err, errlen) < 0 ||
        set_prop(c, "timeout", "socket.timeout.ms", num, err, errlen) < 0)
        return -1;

    const char *client_id = json_string_value(json_object_get(meta, "client_id"));
    if (client_id && *client_id &&
        set_prop(c, "client_id", "client.id", client_id, err, errlen) < 0)
        return -1;
    if (json_is_true(json_object_get(meta, "compressed")) &&
        set_prop(c, "compressed", "compression.codec", "snappy", err, errlen) < 0)
        return -1;
    const json_t *bb = json_object_get(meta, "batch_bytes");
    if (json_is_integer(bb) && json_integer_value(bb) > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(bb));
        if (set_prop(c, "batch_bytes", "batch.size", num, err, errlen) < 0)
            return -1;
    }

    /* TLS and SASL */
    bool ssl = json_is_true(json_object_get(meta, "use_ssl"));
    const char *mech = json_string_value(json_object_get(meta, "sasl_mechanism"));
    const char *sasl = NULL;
    if (mech && (strcmp(mech, "PLAIN") == 0 || strcmp(mech, "plain") == 0)) {
        sasl = "PLAIN";
    } else if (mech && (strcmp(mech, "SCRAM") == 0 || strcmp(mech, "scram") == 0)) {
        const char *alg = json_string_value(json_object_get(meta, "sasl_algorithm"));
        sasl = alg && (strcmp(alg, "sha-512") == 0 || strcmp(alg, "SHA-512") == 0)
                   ? "SCRAM-SHA-512"
                   : "SCRAM-SHA-256";
    } else if (mech && *mech) {
        tk_log(TK_LOG_WARN, "kafka sink %s: SASL mechanism %s is not supported; not using SASL",
               s->name, mech);
    }
    const char *proto = ssl ? (sasl ? "sasl_ssl" : "ssl") : (sasl ? "sasl_plaintext" : "plaintext");
    if (set_prop(c, "use_ssl", "security.protocol", proto, err, errlen) < 0)
        return -1;
    if (sasl) {
        const char *user = json_string_value(json_object_get(meta, "sasl_username"));
        const char *pass = json_string_value(json_object_get(meta, "sasl_password"));
        if (set_prop(c, "sasl_mechanism", "sasl.mechanisms", sasl, err, errlen) < 0 ||
            set_prop(c, "sasl_username", "sasl.username", user ? user : "", err, errlen) < 0 ||
            set_prop(c, "sasl_password", "sasl.password", pass ? pass : "", err, errlen) < 0)
            return -1;
    }
    if (ssl) {
        const char *cert = json_string_value(json_object_get(meta, "ssl_cert_file"));
        const char *key = json_string_value(json_object_get(meta, "ssl_key_file"));
        bool has_cert = cert && *cert, has_key = key && *key;
        if (has_cert != has_key) {
            snprintf(err, errlen, "ssl_cert_file and ssl_key_file must be set together");
            return -1;
        }
        if (has_cert &&
            (set_prop(c, "ssl_cert_file", "ssl.certificate.location", cert, err, errlen) < 0 ||
             set_prop(c, "ssl_key_file", "ssl.key.location", key, err, errlen) < 0))
            return -1;
        if (json_is_true(json_object_get(meta, "ssl_insecure_skip_verify")) &&
            (set_prop(c, "ssl_insecure_skip_verify", "enable.ssl.certificate.verification", "false",
                      err, errlen) < 0 ||
             set_prop(c, "ssl_insecure_skip_verify", "ssl.endpoint.identification.algorithm",
                      "none", err, errlen) < 0))
            return -1;
    }
    /* A broker that comes back is found within a second, not librdkafka's default 10 s. */
    if (set_prop(c, "reconnect", "reconnect.backoff.max.ms", "1000", err, errlen) < 0 ||
        set_prop(c, "acks", "acks", "all", err, errlen) < 0 ||
        set_prop(c, "enable.idempotence", "enable.idempotence", "true", err, errlen) < 0)
        return -1;
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_log_cb(c, on_log);
    rd_kafka_conf_set_opaque(c, s);
    return 0;
}

static int parse_meta_data(kafka_sink_t *s, const json_t *md, char *err, size_t errlen)
{
    if (!md || json_is_null(md))
        return 0;
    if (!json_is_object(md)) {
        snprintf(err, errlen, "meta_data: not an object of strings");
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)md, k, v)
    {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "meta_data.%s: not a string", k);
            return -1;
        }
        struct evbuffer *b = evbuffer_new();
        gofmt_json_quote(b, json_string_value(v), json_string_length(v));
        evbuffer_add(b, "", 1);
        s->meta = tk_xrealloc(s->meta, (s->nmeta + 1) * sizeof(*s->meta));
        s->meta[s->nmeta].key = tk_xstrdup(k);
        s->meta[s->nmeta].value = tk_xstrdup((const char *)evbuffer_pullup(b, -1));
        s->nmeta++;
        evbuffer_free(b);
    }
    return 0;
}

static void kafka_destroy(void *state)
{
    kafka_sink_t *s = state;
    if (!s)
        return;
    if (s->rk) {
        rd_kafka_flush(s->rk, 1000);
        rd_kafka_destroy(s->rk);
    }
    if (s->conf)
        rd_kafka_conf_destroy(s->conf);
    for (size_t i = 0; i < s->nmeta; i++) {
        free(s->meta[i].key);
        free(s->meta[i].value);
    }
    free(s->meta);
    free(s->topic);
    free(s->name);
    free(s);
}

/* The producer starts its threads but does not wait for a broker: connecting is asynchronous. */
static int producer_start(kafka_sink_t *s, char *err, size_t errlen)
{
    if (s->rk)
        return 0;
    char why[512];
    rd_kafka_conf_t *c = rd_kafka_conf_dup(s->conf);
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, why, sizeof(why));
    if (!s->rk) {
        rd_kafka_conf_destroy(c);
        snprintf(err, errlen, "kafka producer: %s", why);
        return -1;
    }
    return 0;
}

static int kafka_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    const char *topic = json_string_value(json_object_get(conf->meta, "topic"));
    if (!topic || !*topic) {
        snprintf(err, errlen, "topic: not set");
        return -1;
    }
    kafka_sink_t *s = tk_xcalloc(1, sizeof(*s));
    s->name = tk_xstrdup(conf->name ? conf->name : "kafka");
    s->topic = tk_xstrdup(topic);
    s->conf = rd_kafka_conf_new();
    if (build_conf(s, conf, err, errlen) < 0 ||
        parse_meta_data(s, json_object_get(conf->meta, "meta_data"), err, errlen) < 0 ||
        producer_start(s, err, errlen) < 0) {
        kafka_destroy(s);
        return -1;
    }
    *state = s;
    return 0;
}

/* ---- message ---- */

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const kv_t *)a)->key, ((const kv_t *)b)->key);
}

static char *json_of(tk_str_t v)
{
    struct evbuffer *b = evbuffer_new();
    gofmt_json_quote(b, v.p ? v.p : "", v.len);
    evbuffer_add(b, "", 1);
    char *out = tk_xstrdup((const char *)evbuffer_pullup(b, -1));
    evbuffer_free(b);
    return out;
}

static char *json_int(int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return tk_xstrdup(buf);
}

/* Builds the message into @out (a Go map marshalled: keys in byte order). */
static void build_message(const kafka_sink_t *s, const tk_analytics_record_t *r,
                          struct evbuffer *out)
{
    char ts[64];
    gofmt_time_rfc3339nano(r->timestamp.sec, r->timestamp.nsec, ts, sizeof(ts));
    char *tags;
    if (!r->tags) {
        tags = tk_xstrdup("null");
    } else {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, "[", 1);
        for (size_t i = 0; i < r->n_tags; i++) {
            if (i)
                evbuffer_add(b, ",", 1);
            gofmt_json_quote(b, r->tags[i].p ? r->tags[i].p : "", r->tags[i].len);
        }
        evbuffer_add(b, "]", 2); /* with the NUL */
        tags = tk_xstrdup((const char *)evbuffer_pullup(b, -1));
        evbuffer_free(b);
    }
    kv_t fixed[] = {
        {"timestamp", json_of((tk_str_t){ts, strlen(ts)})},
        {"method", json_of(r->method)},
        {"path", json_of(r->path)},
        {"raw_path", json_of(r->raw_path)},
        {"response_code", json_int(r->response_code)},
        {"alias", json_of(r->alias)},
        {"api_key", json_of(r->api_key)},
        {"api_version", json_of(r->api_version)},
        {"api_name", json_of(r->api_name)},
        {"api_id", json_of(r->api_id)},
        {"org_id", json_of(r->org_id)},
        {"oauth_id", json_of(r->oauth_id)},
        {"raw_request", json_of(r->raw_request)},
        {"request_time_ms", json_int(r->request_time)},
        {"raw_response", json_of(r->raw_response)},
        {"ip_address", json_of(r->ip_address)},
        {"host", json_of(r->host)},
        {"content_length", json_int(r->content_length)},
        {"user_agent", json_of(r->user_agent)},
        {"tags", tags},
    };
    /* Every value in @all is owned; keys are borrowed (literals or s->meta). */
    size_t n = TK_ARRAY_LEN(fixed);
    kv_t *all = tk_xcalloc(n + s->nmeta, sizeof(kv_t));
    memcpy(all, fixed, sizeof(fixed));
    for (size_t m = 0; m < s->nmeta; m++) {
        size_t i = 0;
        while (i < n && strcmp(all[i].key, s->meta[m].key) != 0)
            i++;
        if (i < n) /* meta_data overrides a key */
            free(all[i].value);
        else
            n++;
        all[i].key = s->meta[m].key;
        all[i].value = tk_xstrdup(s->meta[m].value);
    }
    qsort(all, n, sizeof(kv_t), cmp_kv);
    evbuffer_add(out, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            evbuffer_add(out, ",", 1);
        gofmt_json_quote(out, all[i].key, strlen(all[i].key));
        evbuffer_add_printf(out, ":%s", all[i].value);
        free(all[i].value);
    }
    evbuffer_add(out, "}", 1);
    free(all);
}

/* ---- write ---- */

static int kafka_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    kafka_sink_t *s = state;
    if (batch->n == 0)
        return 0;
    if (producer_start(s, err, errlen) < 0)
        return -1;
    s->generation++;
    s->pending = 0;
    s->failed = 0;
    s->failed_permanent = 0;
    s->first_err[0] = '\0';
    uint64_t deadline = tk_now_ms() + (uint64_t)s->timeout_ms + 2000;
    rd_kafka_resp_err_t perr = RD_KAFKA_RESP_ERR_NO_ERROR;
    struct evbuffer *msg = evbuffer_new();
    for (size_t i = 0; i < batch->n && !perr; i++) {
        evbuffer_drain(msg, evbuffer_get_length(msg));
        build_message(s, batch->items[i].rec, msg);
        size_t len = evbuffer_get_length(msg);
        void *p = evbuffer_pullup(msg, -1);
        for (;;) {
            perr = rd_kafka_producev(
                s->rk, RD_KAFKA_V_TOPIC(s->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_VALUE(p, len), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)s->generation),
                RD_KAFKA_V_END);
            if (perr != RD_KAFKA_RESP_ERR__QUEUE_FULL || tk_now_ms() >= deadline)
                break;
            rd_kafka_poll(s->rk, 50); /* local queue full: let deliveries drain it */
        }
        if (!perr)
            s->pending++;
    }
    evbuffer_free(msg);
    int64_t left = (int64_t)deadline - (int64_t)tk_now_ms();
    rd_kafka_flush(s->rk, left > 0 ? (int)left : 0);
    if (s->pending) {
        /* Still unacknowledged at the deadline: drop them so they are not delivered behind the
         * retry's back (an in-flight one may still land: then the retry duplicates it). */
        rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(s->rk, 1000);
    }
    char fatal[256];
    if (rd_kafka_fatal_error(s->rk, fatal, sizeof(fatal))) {
        tk_log(TK_LOG_ERROR, "kafka sink %s: fatal producer error, restarting it: %s", s->name,
               fatal);
        rd_kafka_destroy(s->rk);
        s->rk = NULL;
    }
    /* Rejected for good only when nothing else went wrong: no timeout, no transient error. */
    bool permanent = !s->pending && s->failed == s->failed_permanent && s->rk &&
                     (perr ? permanent_error(perr) : s->failed > 0);
    if (perr) {
        snprintf(err, errlen, "kafka %s: produce: %s", s->topic, rd_kafka_err2str(perr));
        return permanent ? -2 : -1;
    }
    if (s->failed || s->pending) {
        snprintf(err, errlen, "kafka %s: %zu of %zu messages not delivered: %s", s->topic,
                 s->failed + s->pending, batch->n, s->first_err[0] ? s->first_err : "timed out");
        return permanent ? -2 : -1;
    }
    return 0;
}

const pump_sink_ops_t pump_sink_kafka = {
    .type = "kafka",
    .create = kafka_create,
    .write = kafka_write,
    .destroy = kafka_destroy,
};
