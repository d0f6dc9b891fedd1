/* SPDX-License-Identifier: Apache-2.0 */
/* "syslog" sink: one syslog message per record in the form Tyk's syslog pump sends (Go's
 * log/syslog framing, the record as Go prints a map[string]interface{} with %s). */
#include "pump_sink.h"
#include "sink_text.h"

#include "tk_json.h"
#include "tk_log.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum transport { T_UDP = 0, T_TCP, T_UNIX };

struct syslog_sink {
    enum transport transport;
    char *addr;
    char *tag;
    int priority;
    int fd;
    int socktype; /* of the open socket */
    char hostname[256];
    const char *name;
};

static int syslog_create(const pump_sink_conf_t *conf, void **state, char *err, size_t errlen)
{
    const char *tr = tk_json_str(conf->meta, "transport", "udp");
    enum transport t;
    if (!*tr || strcasecmp(tr, "udp") == 0)
        t = T_UDP;
    else if (strcasecmp(tr, "tcp") == 0)
        t = T_TCP;
    else if (strcasecmp(tr, "unix") == 0 || strcasecmp(tr, "unixgram") == 0)
        t = T_UNIX;
    else {
        snprintf(err, errlen, "meta.transport: \"%s\" is not supported (udp, tcp or unix)", tr);
        return -1;
    }
    json_t *lv = json_object_get(conf->meta, "log_level");
    if (lv && !json_is_integer(lv)) {
        snprintf(err, errlen, "meta.log_level: must be an integer 0-7 (syslog severity)");
        return -1;
    }
    int level = (int)tk_json_int(conf->meta, "log_level", 0);
    if (level < 0 || level > 191) {
        snprintf(err, errlen, "meta.log_level: %d is out of range", level);
        return -1;
    }
    const char *addr = tk_json_str(conf->meta, "network_addr", "");
    if (!*addr)
        addr = t == T_UNIX ? "/dev/log" : "localhost:5140";
    if (t != T_UNIX && !strrchr(addr, ':')) {
        snprintf(err, errlen, "meta.network_addr: \"%s\" is not host:port", addr);
        return -1;
    }
    struct syslog_sink *s = tk_xcalloc(1, sizeof(*s));
    s->transport = t;
    s->addr = tk_xstrdup(addr);
    const char *tag = tk_json_str(conf->meta, "tag", "");
    s->tag = tk_xstrdup(*tag ? tag : "syslog-pump");
    s->priority = level;
    s->fd = -1;
    s->name = conf->name;
    if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0)
        snprintf(s->hostname, sizeof(s->hostname), "localhost");
    *state = s;
    return 0;
}

static int dial(struct syslog_sink *s, char *err, size_t errlen)
{
    if (s->transport == T_UNIX) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->addr);
        int types[2] = {SOCK_DGRAM, SOCK_STREAM};
        for (int i = 0; i < 2; i++) {
            int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
            if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                s->fd = fd;
                s->socktype = types[i];
                return 0;
            }
            if (fd >= 0)
                close(fd);
        }
        snprintf(err, errlen, "cannot connect to %s: %s", s->addr, strerror(errno));
        return -1;
    }
    const char *colon = strrchr(s->addr, ':');
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - s->addr), s->addr);
    struct addrinfo hints = {.ai_socktype = s->transport == T_TCP ? SOCK_STREAM : SOCK_DGRAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(*host ? host : "localhost", colon + 1, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", s->addr, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", s->addr, strerror(errno));
        return -1;
    }
    s->fd = fd;
    s->socktype = hints.ai_socktype;
    return 0;
}

/* A value as Go's %s prints it inside a map: strings as they are, ints as %!s(int=N). */
static void kv_str(tk_buf_t *b, const char *k, tk_str_t v, bool escape_nl, bool *first)
{
    if (!*first)
        tk_buf_append(b, " ", 1);
    *first = false;
    sink_buf_str(b, k);
    tk_buf_append(b, ":", 1);
    for (size_t i = 0; i < v.len; i++) {
        if (escape_nl && v.p[i] == '\n')
            tk_buf_append(b, "\\n", 2);
        else
            tk_buf_append(b, &v.p[i], 1);
    }
}

static void kv_int(tk_buf_t *b, const char *k, const char *gotype, int64_t v, bool *first)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%%!s(%s=%lld)", gotype, (long long)v);
    kv_str(b, k, (tk_str_t){tmp, strlen(tmp)}, false, first);
}

static void message(tk_buf_t *b, const tk_analytics_record_t *r)
{
    char ts[96];
    sink_go_time(r->timestamp, ts, sizeof(ts));
    bool first = true;
    sink_buf_str(b, "map[");
    /* Go prints map keys sorted. */
    kv_str(b, "alias", r->alias, false, &first);
    kv_str(b, "api_id", r->api_id, false, &first);
    kv_str(b, "api_key", r->api_key, false, &first);
    kv_str(b, "api_name", r->api_name, false, &first);
    kv_str(b, "api_version", r->api_version, false, &first);
    kv_int(b, "content_length", "int64", r->content_length, &first);
    kv_str(b, "host", r->host, false, &first);
    kv_str(b, "ip_address", r->ip_address, false, &first);
    kv_str(b, "method", r->method, false, &first);
    kv_str(b, "oauth_id", r->oauth_id, false, &first);
    kv_str(b, "org_id", r->org_id, false, &first);
    kv_str(b, "path", r->path, false, &first);
    kv_str(b, "raw_path", r->raw_path, false, &first);
    kv_str(b, "raw_request", r->raw_request, true, &first);
    kv_str(b, "raw_response", r->raw_response, true, &first);
    kv_int(b, "request_time_ms", "int64", r->request_time, &first);
    kv_int(b, "response_code", "int", r->response_code, &first);
    kv_str(b, "timestamp", (tk_str_t){ts, strlen(ts)}, false, &first);
    kv_str(b, "user_agent", r->user_agent, false, &first);
    sink_buf_str(b, "]");
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int syslog_write(void *state, const pump_batch_t *batch, char *err, size_t errlen)
{
    struct syslog_sink *s = state;
    if (s->fd < 0 && dial(s, err, errlen) != 0)
        return -1;
    char stamp[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    if (s->transport == T_UNIX)
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm); /* Go's time.Stamp */
    else
        sink_rfc3339_now(stamp, sizeof(stamp), false);
    for (size_t i = 0; i < batch->n; i++) {
        tk_buf_t b = {0};
        char head[512];
        if (s->transport == T_UNIX)
            snprintf(head, sizeof(head), "<%d>%s %s[%d]: ", s->priority, stamp, s->tag,
                     (int)getpid());
        else
            snprintf(head, sizeof(head), "<%d>%s %s %s[%d]: ", s->priority, stamp, s->hostname,
                     s->tag, (int)getpid());
        sink_buf_str(&b, head);
        message(&b, batch->items[i].rec);
        tk_buf_append(&b, "\n", 1);
        int rc = send_all(s->fd, b.data, b.len);
        tk_buf_free(&b);
        if (rc != 0) {
            /* The whole batch is offered again; a stream receiver may see some twice. */
            snprintf(err, errlen, "sending to %s: %s", s->addr, strerror(errno));
            close(s->fd);
            s->fd = -1;
            return -1;
        }
    }
    return 0;
}

static void syslog_destroy(void *state)
{
    struct syslog_sink *s = state;
    if (s->fd >= 0)
        close(s->fd);
    free(s->addr);
    free(s->tag);
    free(s);
}

const pump_sink_ops_t pump_sink_syslog = {
    .type = "syslog",
    .create = syslog_create,
    .write = syslog_write,
    .destroy = syslog_destroy,
};
