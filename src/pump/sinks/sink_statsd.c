/* SPDX-License-Identifier: Apache-2.0 */
/* pump.conf types "statsd" and "dogstatsd": one UDP datagram (or Unix datagram) per metric.
 *
 * statsd (tyk-pump pumps/statsd.go, quipo/statsd client): for every entry "request_time" of
 * meta.fields, `request_time.<tags>:<RequestTime>|ms`, where <tags> is the values of meta.tags
 * (path, response_code, api_key, time_stamp, api_version, api_name, api_id, org_id, oauth_id,
 * raw_request, request_time, raw_response, ip_address; method with separated_method) JSON-encoded,
 * lower-cased, joined with ".", with quotes and spaces removed. "path" is METHOD+path with trailing
 * slashes trimmed (just the path with separated_method). No fields, no metrics - as in Tyk.
 *
 * dogstatsd (pumps/dogstatsd.go, datadog-go client): `<namespace>.request_time:<RequestTime>|h`
 * [`|@<sample_rate>`] `|#tyk-pump,<tag>:<value>,...`. Default tags path, method, response_code,
 * api_version, api_name, api_id, org_id, tracked (+ oauth_id when set). buffered packs up to
 * buffered_max_messages metrics per datagram, newline separated. Address "unix:///path" sends
 * to a Unix datagram socket (async_uds_write_timeout_seconds bounds each send).
 *
 * UDP is lossy by nature: write() returns 0 once the datagrams are handed to the kernel, and a
 * missing listener (ECONNREFUSED) is not an error. It returns -1 only when no datagram of the
 * batch could be sent, so a retry never counts a request twice. */
#include "pump_sink.h"
#include "sink_gofmt.h"
#include "tk_log.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define UDP_PAYLOAD_MAX 1432 /* datadog-go's optimal UDP payload */
#define UDS_PAYLOAD_MAX 8192

typedef struct udp_out {
    char *address;
    int fd;
    bool uds;
    int uds_timeout_s;
} udp_out_t;

typedef struct statsd_sink {
    bool dog;
    udp_out_t out;
    char **fields, **tags;
    size_t nfields, ntags;
    bool separated_method;
    /* dogstatsd */
    char *namespace_; /* with the trailing "." */
    double sample_rate;
    bool buffered;
    size_t max_messages;
    unsigned int seed;
} statsd_sink_t;

static const char *const dog_tags[] = {"method",   "response_code", "api_version",
                                       "api_name", "api_id",        "org_id",
                                       "tracked",  "path",          "oauth_id"};

/* ---- socket ---- */

static void udp_close(udp_out_t *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
}

/* Connects the datagram socket (local work only, except a DNS lookup for a host name). */
static int udp_open(udp_out_t *o, char *err, size_t errlen)
{
    if (o->fd >= 0)
        return 0;
    if (strncmp(o->address, "unix://", 7) == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        const char *path = o->address + 7;
        if (strlen(path) >= sizeof(sun.sun_path)) {
            snprintf(err, errlen, "address %s: path too long", o->address);
            return -1;
        }
        memcpy(sun.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            snprintf(err, errlen, "address %s: %s", o->address, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        if (o->uds_timeout_s > 0) {
            struct timeval tv = {.tv_sec = o->uds_timeout_s};
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        }
        o->fd = fd;
        o->uds = true;
        return 0;
    }
    const char *colon = strrchr(o->address, ':');
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "address %s: expected host:port", o->address);
        return -1;
    }
    char host[256];
    size_t hl = (size_t)(colon - o->address);
    const char *h = o->address;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl >= sizeof(host))
        hl = sizeof(host) - 1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    int gai = getaddrinfo(hl ? host : "127.0.0.1", colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "address %s: %s", o->address, gai_strerror(gai));
        return -1;
    }
    int last = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            o->fd = fd;
            freeaddrinfo(res);
            return 0;
        }
        last = errno;
        close(fd);
    }
    freeaddrinfo(res);
    snprintf(err, errlen, "address %s: %s", o->address, strerror(last));
    return -1;
}

/* Sends one datagram. Returns 1 sent (or no listener: UDP drops it anyway), 0 failed. */
static int udp_send(udp_out_t *o, const char *p, size_t n, int *err_no)
{
    if (send(o->fd, p, n, MSG_NOSIGNAL) >= 0 || errno == ECONNREFUSED)
        return 1;
    *err_no = errno;
    return 0;
}

/* ---- config ---- */

static char **str_list(const json_t *arr, size_t *n, const char *field, char *err, size_t errlen)
{
    *n = 0;
    if (!arr || json_is_null(arr))
        return NULL;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "%s: not a list", field);
        *n = (size_t)-1;
        return NULL;
    }
    char **out = tk_xcalloc(json_array_size(arr) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s) {
            snprintf(err, errlen, "%s[%zu]: not a string", field, i);
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            *n = (size_t)-1;
            return NULL;
        }
        out[i] = tk_xstrdup(s);
    }
    *n = json_array_size(arr);
    return out;
}

static void statsd_destroy(void *state)
{
    statsd_sink_t *s = state;
    if (!s)
        return;
    udp_close(&s->out);
    free(s->out.address);
    for (size_t i = 0; i < s->nfields && s->fields; i++)
        free(s->fields[i]);
    for (size_t i = 0; i < s->ntags && s->tags; i++)
        free(s->tags[i]);
    free(s->fields);
    free(s->tags);
    free(s->namespace_);
    free(s);
}

static double num_or(const json_t *v, double dflt)
{
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static int common_create(const pump_sink_conf_t *conf, bool dog, void **state, char *err,
                         size_t errlen)
{
    const json_t *meta = conf->meta;
    const char *addr = json_string_value(json_object_get(meta, "address"));
    if (!addr || !*addr) {
        snprintf(err, errlen, "address: not set");
        return -1;
    }
    statsd_sink_t *s = tk_xcalloc(1, sizeof(*s));
    s->dog = dog;
    s->out.fd = -1;
    s->out.address = tk_xstrdup(addr);
    s->tags = str_list(json_object_get(meta, "tags"), &s->ntags, "tags", err, errlen);
    if (s->ntags == (size_t)-1)
        goto fail;
    if (!dog) {
        s->fields = str_list(json_object_get(meta, "fields"), &s->nfields, "fields", err, errlen);
        if (s->nfields == (size_t)-1)
            goto fail;
        s->separated_method = json_is_true(json_object_get(meta, "separated_method"));
        if (s->nfields == 0)
            tk_log(TK_LOG_WARN, "statsd sink %s: no \"fields\" configured, nothing will be sent",
                   conf->name ? conf->name : "");
    } else {
        for (size_t i = 0; i < s->ntags; i++) {
            bool ok = false;
            for (size_t k = 0; k < TK_ARRAY_LEN(dog_tags); k++)
                ok = ok || strcmp(s->tags[i], dog_tags[k]) == 0;
            if (!ok) {
                snprintf(err, errlen, "tags[%zu]: undefined tag '%s'", i, s->tags[i]);
                goto fail;
            }
        }
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        size_t nl = strlen(ns && *ns ? ns : "default");
        s->namespace_ = tk_xmalloc(nl + 2);
        memcpy(s->namespace_, ns && *ns ? ns : "default", nl);
        memcpy(s->namespace_ + nl, ".", 2);
        s->sample_rate = num_or(json_object_get(meta, "sample_rate"), 0);
        if (s->sample_rate == 0)
            s->sample_rate = 1;
        if (s->sample_rate < 0 || s->sample_rate > 1) {
            snprintf(err, errlen, "sample_rate: must be between 0 and 1");
            goto fail;
        }
        s->buffered = json_is_true(json_object_get(meta, "buffered"));
        double maxm = num_or(json_object_get(meta, "buffered_max_messages"), 0);
        s->max_messages = s->buffered ? (maxm >= 1 ? (size_t)maxm : 16) : 1;
        double to = num_or(json_object_get(meta, "async_uds_write_timeout_seconds"), 0);
        s->out.uds_timeout_s = to > 0 ? (int)to : 1;
        s->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
    }
    /* The socket is opened on the first write: a host name may need DNS, which create() must
     * not wait on. The address's form is checked now. */
    if (strncmp(addr, "unix://", 7) != 0) {
        const char *colon = strrchr(addr, ':');
        if (!colon || !colon[1]) {
            snprintf(err, errlen, "address %s: expected host:port", addr);
            goto fail;
        }
    }
    *state = s;
    return 0;
fail:
    statsd_destroy(s);
    return -1;
}

static int statsd_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    return common_create(conf, false, state, err, errlen);
}

static int dogstatsd_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    return common_create(conf, true, state, err, errlen);
}

/* ---- statsd lines ---- */

static void add_json_str(struct evbuffer *b, tk_str_t s)
{
    gofmt_json_quote(b, s.p ? s.p : "", s.len);
}

static tk_str_t trim_slashes(tk_str_t p)
{
    while (p.len && p.p[p.len - 1] == '/')
        p.len--;
    return p;
}

/* Appends the JSON form of the value Tyk's statsd mapping has for @tag. */
static void statsd_tag_json(const statsd_sink_t *s, const tk_analytics_record_t *r, const char *tag,
                            struct evbuffer *b)
{
    tk_str_t path = trim_slashes(r->path);
    if (strcmp(tag, "path") == 0) {
        if (s->separated_method) {
            add_json_str(b, path);
        } else {
            char *mp = tk_xmalloc(r->method.len + path.len + 1);
            memcpy(mp, r->method.p ? r->method.p : "", r->method.len);
            memcpy(mp + r->method.len, path.p ? path.p : "", path.len);
            gofmt_json_quote(b, mp, r->method.len + path.len);
            free(mp);
        }
    } else if (strcmp(tag, "method") == 0 && s->separated_method) {
        add_json_str(b, r->method);
    } else if (strcmp(tag, "response_code") == 0) {
        evbuffer_add_printf(b, "%d", r->response_code);
    } else if (strcmp(tag, "request_time") == 0) {
        evbuffer_add_printf(b, "%lld", (long long)r->request_time);
    } else if (strcmp(tag, "time_stamp") == 0) {
        char ts[96];
        gofmt_time_string(r->timestamp.sec, 0, ts, sizeof(ts));
        for (char *c = ts; *c; c++)
            if (*c == ':')
                *c = '-';
        gofmt_json_quote(b, ts, strlen(ts));
    } else {
        static const struct {
            const char *name;
            size_t off;
        } strs[] = {
            {"api_key", offsetof(tk_analytics_record_t, api_key)},
            {"api_version", offsetof(tk_analytics_record_t, api_version)},
            {"api_name", offsetof(tk_analytics_record_t, api_name)},
            {"api_id", offsetof(tk_analytics_record_t, api_id)},
            {"org_id", offsetof(tk_analytics_record_t, org_id)},
            {"oauth_id", offsetof(tk_analytics_record_t, oauth_id)},
            {"raw_request", offsetof(tk_analytics_record_t, raw_request)},
            {"raw_response", offsetof(tk_analytics_record_t, raw_response)},
            {"ip_address", offsetof(tk_analytics_record_t, ip_address)},
        };
        for (size_t i = 0; i < TK_ARRAY_LEN(strs); i++) {
            if (strcmp(tag, strs[i].name) == 0) {
                add_json_str(b, *(const tk_str_t *)((const char *)r + strs[i].off));
                return;
            }
        }
        evbuffer_add(b, "null", 4); /* json.Marshal(nil) */
    }
}

static void statsd_lines(const statsd_sink_t *s, const tk_analytics_record_t *r,
                         struct evbuffer *lines, size_t *nlines)
{
    struct evbuffer *tags = evbuffer_new();
    for (size_t i = 0; i < s->ntags; i++) {
        struct evbuffer *one = evbuffer_new();
        statsd_tag_json(s, r, s->tags[i], one);
        size_t n = evbuffer_get_length(one);
        char *v = (char *)evbuffer_pullup(one, -1);
        for (size_t k = 0; k < n; k++) /* lower-case; quotes and spaces go */
            if (v[k] != '"' && v[k] != ' ') {
                char c = (v[k] >= 'A' && v[k] <= 'Z') ? (char)(v[k] - 'A' + 'a') : v[k];
                evbuffer_add(tags, &c, 1);
            }
        if (i + 1 < s->ntags)
            evbuffer_add(tags, ".", 1);
        evbuffer_free(one);
    }
    size_t tl = evbuffer_get_length(tags);
    const char *t = (const char *)evbuffer_pullup(tags, -1);
    for (size_t f = 0; f < s->nfields; f++) {
        if (strcmp(s->fields[f], "request_time") != 0)
            continue;
        evbuffer_add_printf(lines, "request_time.%.*s:%lld|ms", (int)tl, t ? t : "",
                            (long long)r->request_time);
        evbuffer_add(lines, "", 1); /* NUL separates lines in @lines */
        (*nlines)++;
    }
    evbuffer_free(tags);
}

/* ---- dogstatsd lines ---- */

static void dog_tag(struct evbuffer *b, bool *first, const char *name, tk_str_t v)
{
    evbuffer_add_printf(b, "%s%s:", *first ? "" : ",", name);
    for (size_t i = 0; i < v.len; i++) /* datadog-go drops newlines from tags */
        if (v.p[i] != '\n')
            evbuffer_add(b, &v.p[i], 1);
    *first = false;
}

static void dog_line(statsd_sink_t *s, const tk_analytics_record_t *r, struct evbuffer *lines,
                     size_t *nlines)
{
    if (s->sample_rate < 1 && (double)rand_r(&s->seed) / RAND_MAX > s->sample_rate)
        return; /* sampled out, as the Datadog client does */
    struct evbuffer *b = lines;
    evbuffer_add_printf(b, "%srequest_time:%lld|h", s->namespace_, (long long)r->request_time);
    if (s->sample_rate < 1) {
        char rate[64];
        snprintf(rate, sizeof(rate), "%.15g", s->sample_rate);
        evbuffer_add_printf(b, "|@%s", rate);
    }
    evbuffer_add_printf(b, "|#tyk-pump");
    bool first = false;
    char code[16], tracked[8];
    snprintf(code, sizeof(code), "%d", r->response_code);
    snprintf(tracked, sizeof(tracked), "%s", r->track_path ? "true" : "false");
    tk_str_t code_s = {code, strlen(code)}, tracked_s = {tracked, strlen(tracked)};
    if (s->ntags == 0) {
        dog_tag(b, &first, "path", r->path);
        dog_tag(b, &first, "method", r->method);
        dog_tag(b, &first, "response_code", code_s);
        dog_tag(b, &first, "api_version", r->api_version);
        dog_tag(b, &first, "api_name", r->api_name);
        dog_tag(b, &first, "api_id", r->api_id);
        dog_tag(b, &first, "org_id", r->org_id);
        dog_tag(b, &first, "tracked", tracked_s);
        if (r->oauth_id.len)
            dog_tag(b, &first, "oauth_id", r->oauth_id);
    }
    for (size_t i = 0; i < s->ntags; i++) {
        const char *t = s->tags[i];
        if (strcmp(t, "method") == 0)
            dog_tag(b, &first, t, r->method);
        else if (strcmp(t, "response_code") == 0)
            dog_tag(b, &first, t, code_s);
        else if (strcmp(t, "api_version") == 0)
            dog_tag(b, &first, t, r->api_version);
        else if (strcmp(t, "api_name") == 0)
            dog_tag(b, &first, t, r->api_name);
        else if (strcmp(t, "api_id") == 0)
            dog_tag(b, &first, t, r->api_id);
        else if (strcmp(t, "org_id") == 0)
            dog_tag(b, &first, t, r->org_id);
        else if (strcmp(t, "tracked") == 0)
            dog_tag(b, &first, t, tracked_s);
        else if (strcmp(t, "path") == 0)
            dog_tag(b, &first, t, trim_slashes(r->path));
        else if (strcmp(t, "oauth_id") == 0 && r->oauth_id.len)
            dog_tag(b, &first, t, r->oauth_id);
    }
    evbuffer_add(b, "", 1);
    (*nlines)++;
}

/* ---- write ---- */

static int statsd_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    statsd_sink_t *s = state;
    if (batch->n == 0)
        return 0;
    if (udp_open(&s->out, err, errlen) < 0)
        return -1;
    struct evbuffer *lines = evbuffer_new();
    size_t nlines = 0;
    for (size_t i = 0; i < batch->n; i++) {
        if (s->dog)
            dog_line(s, batch->items[i].rec, lines, &nlines);
        else
            statsd_lines(s, batch->items[i].rec, lines, &nlines);
    }
    size_t total = evbuffer_get_length(lines);
    const char *p = total ? (const char *)evbuffer_pullup(lines, -1) : "";
    size_t max_payload = s->out.uds ? UDS_PAYLOAD_MAX : UDP_PAYLOAD_MAX;
    size_t max_msgs = s->dog ? s->max_messages : 1;
    char *dgram = tk_xmalloc(max_payload);
    size_t sent = 0, failed = 0, off = 0;
    int err_no = 0;
    while (off < total) {
        /* Packs lines into one datagram, newline separated, as the buffered client does. */
        size_t dl = 0, count = 0;
        const char *big = NULL;
        size_t big_len = 0;
        while (off < total && count < max_msgs) {
            size_t ll = strlen(p + off);
            size_t need = ll + (count ? 1 : 0);
            if (count == 0 && ll > max_payload) { /* too long to pack: sent on its own */
                big = p + off, big_len = ll;
                off += ll + 1;
                count = 1;
                break;
            }
            if (dl + need > max_payload)
                break;
            if (count)
                dgram[dl++] = '\n';
            memcpy(dgram + dl, p + off, ll);
            dl += ll;
            off += ll + 1;
            count++;
        }
        if (udp_send(&s->out, big ? big : dgram, big ? big_len : dl, &err_no))
            sent++;
        else
            failed++;
    }
    free(dgram);
    evbuffer_free(lines);
    if (failed && !sent) {
        snprintf(err, errlen, "%s %s: %s", s->dog ? "dogstatsd" : "statsd", s->out.address,
                 strerror(err_no));
        udp_close(&s->out); /* reconnect (and re-resolve) on the retry */
        return -1;
    }
    if (failed)
        tk_log(TK_LOG_WARN, "%s %s: %zu of %zu datagrams dropped: %s",
               s->dog ? "dogstatsd" : "statsd", s->out.address, failed, sent + failed,
               strerror(err_no));
    return 0;
}

const pump_sink_ops_t pump_sink_statsd = {
    .type = "statsd",
    .create = statsd_create,
    .write = statsd_write,
    .destroy = statsd_destroy,
};

const pump_sink_ops_t pump_sink_dogstatsd = {
    .type = "dogstatsd",
    .create = dogstatsd_create,
    .write = statsd_write,
    .destroy = statsd_destroy,
};
