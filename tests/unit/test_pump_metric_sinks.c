/* SPDX-License-Identifier: Apache-2.0 */
/* The prometheus, statsd and dogstatsd sinks, driven through their pump_sink_ops_t.
 * Prometheus: the exposition is read over HTTP and compared line by line, and a real Prometheus
 * server (/usr/bin/prometheus) started here scrapes the sink. statsd/dogstatsd: the exact
 * datagrams are read from a UDP (and a Unix datagram) socket bound by the test. */
#include "pump_prom_registry.h"
#include "pump_sink.h"
#include "redis_server.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const pump_sink_ops_t pump_sink_prometheus, pump_sink_statsd, pump_sink_dogstatsd;

#define S(lit) ((tk_str_t){(lit), sizeof(lit) - 1})

static tk_analytics_record_t rec(const char *api, int code, const char *path, bool track,
                                 int64_t total, int64_t upstream, int64_t gateway)
{
    tk_analytics_record_t r = {0};
    r.method = S("GET");
    r.host = S("example.com");
    r.path = (tk_str_t){path, strlen(path)};
    r.response_code = code;
    r.api_key = S("key12345");
    r.api_id = (tk_str_t){api, strlen(api)};
    r.api_name = S("My API");
    r.api_version = S("v1");
    r.org_id = S("org1");
    r.request_time = total;
    r.latency.total = total;
    r.latency.upstream = upstream;
    r.latency.gateway = gateway;
    r.track_path = track;
    r.timestamp.sec = 1704164645; /* 2024-01-02 03:04:05 UTC */
    r.timestamp.nsec = 0;
    return r;
}

static int write_recs(const pump_sink_ops_t *ops, void *st, tk_analytics_record_t *recs, size_t n)
{
    pump_item_t items[16];
    for (size_t i = 0; i < n; i++)
        items[i] = (pump_item_t){.seq = i + 1, .rec = &recs[i]};
    pump_batch_t b = {.items = items, .n = n, .last_seq = n};
    char err[256] = "";
    int rc = ops->write(st, &b, err, sizeof(err));
    if (rc != 0)
        print_error("write: %s\n", err);
    return rc;
}

static int create(const pump_sink_ops_t *ops, const char *meta_json, void **st, char *err,
                  size_t errlen)
{
    json_t *meta = json_loads(meta_json, 0, NULL);
    assert_non_null(meta);
    pump_sink_conf_t c = {.name = "TEST", .type = ops->type, .meta = meta, .pump = meta};
    int rc = ops->create(&c, st, err, errlen);
    json_decref(meta);
    return rc;
}

/* A plain HTTP/1.0 GET; returns the status and fills @body (caller frees). */
static int http_get(int port, const char *path, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (cap - len < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fd);
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *sep = strstr(buf, "\r\n\r\n");
    *body = strdup(sep ? sep + 4 : "");
    free(buf);
    return status;
}

static void assert_has_line(const char *body, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = body; (p = strstr(p, line)); p++) {
        if ((p == body || p[-1] == '\n') && p[n] == '\n')
            return;
    }
    print_error("missing line: %s\n--- body ---\n%s\n", line, body);
    fail();
}

/* ---- prometheus ---- */

static void test_prom_float_format(void **state)
{
    (void)state;
    char b[64];
    const struct {
        double v;
        const char *s;
    } cases[] = {{1, "1"},           {60000, "60000"},
                 {1e6, "1e+06"},     {0.5, "0.5"},
                 {174, "174"},       {0.0001, "0.0001"},
                 {0.00001, "1e-05"}, {1234567, "1.234567e+06"},
                 {2.5e-3, "0.0025"}, {0, "0"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        prom_format_float(cases[i].v, b, sizeof(b));
        assert_string_equal(b, cases[i].s);
    }
}

static void test_prom_exposition(void **state)
{
    (void)state;
    int port = test_free_port();
    char meta[256], err[256] = "";
    snprintf(meta, sizeof(meta), "{\"listen_address\":\"127.0.0.1:%d\"}", port);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_prometheus, meta, &st, err, sizeof(err)), 0);

    char *body = NULL;
    assert_int_equal(http_get(port, "/metrics", &body), 200);
    assert_string_equal(body, ""); /* no series yet: nothing, as client_golang */
    free(body);

    tk_analytics_record_t r[3] = {rec("api1", 200, "/a", false, 12, 10, 2),
                                  rec("api1", 500, "/a", false, 12, 10, 2),
                                  rec("api1", 200, "/tracked", true, 150, 140, 10)};
    r[2].oauth_id = S("client1");
    assert_int_equal(write_recs(&pump_sink_prometheus, st, r, 3), 0);

    assert_int_equal(http_get(port, "/metrics", &body), 200);
    /* The whole first family, byte for byte. */
    const char *status_block = "# HELP tyk_http_status HTTP status codes per API\n"
                               "# TYPE tyk_http_status counter\n"
                               "tyk_http_status{api=\"api1\",code=\"200\"} 2\n"
                               "tyk_http_status{api=\"api1\",code=\"500\"} 1\n"
                               "# HELP tyk_http_status_per_key HTTP status codes per API key\n";
    assert_non_null(strstr(body, status_block));
    assert_has_line(body, "# TYPE tyk_http_status_per_path counter");
    assert_has_line(body, "tyk_http_status_per_path{api=\"api1\",code=\"200\",method=\"GET\","
                          "path=\"/tracked\"} 1");
    assert_has_line(body, "tyk_http_status_per_path{api=\"api1\",code=\"200\",method=\"GET\","
                          "path=\"unknown\"} 1");
    assert_has_line(body, "tyk_http_status_per_path{api=\"api1\",code=\"500\",method=\"GET\","
                          "path=\"unknown\"} 1");
    assert_has_line(body, "tyk_http_status_per_key{code=\"200\",key=\"key12345\"} 2");
    assert_has_line(body, "# HELP tyk_http_status_per_oauth_client HTTP status codes per oAuth "
                          "client id");
    assert_has_line(body, "tyk_http_status_per_oauth_client{client_id=\"\",code=\"200\"} 1");
    assert_has_line(body, "tyk_http_status_per_oauth_client{client_id=\"client1\",code=\"200\"} 1");
    assert_has_line(body, "# HELP tyk_latency Latency added by Tyk, Total Latency, upstream "
                          "latency, and gateway latency per API");
    assert_has_line(body, "# TYPE tyk_latency histogram");
    /* total = RequestTime: 12, 12, 150 */
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"total\",le=\"10\"} 0");
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"total\",le=\"15\"} 2");
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"total\",le=\"100\"} 2");
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"total\",le=\"200\"} 3");
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"total\",le=\"60000\"} 3");
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"total\",le=\"+Inf\"} 3");
    assert_has_line(body, "tyk_latency_sum{api=\"api1\",type=\"total\"} 174");
    assert_has_line(body, "tyk_latency_count{api=\"api1\",type=\"total\"} 3");
    /* gateway: 2, 2, 10; upstream: 10, 10, 140 */
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"gateway\",le=\"1\"} 0");
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"gateway\",le=\"2\"} 2");
    assert_has_line(body, "tyk_latency_bucket{api=\"api1\",type=\"gateway\",le=\"10\"} 3");
    assert_has_line(body, "tyk_latency_sum{api=\"api1\",type=\"gateway\"} 14");
    assert_has_line(body, "tyk_latency_sum{api=\"api1\",type=\"upstream\"} 160");
    /* 26 finite buckets + +Inf for each of the three types */
    size_t buckets = 0;
    for (const char *p = body; (p = strstr(p, "tyk_latency_bucket{")); p++)
        buckets++;
    assert_int_equal(buckets, 3 * 27);
    /* the gateway series sorts before total and upstream */
    assert_true(strstr(body, "type=\"gateway\"") < strstr(body, "type=\"total\""));
    free(body);

    assert_int_equal(http_get(port, "/other", &body), 404);
    free(body);

    /* The port is taken now: a second sink on it must say so. */
    void *st2 = NULL;
    assert_int_equal(create(&pump_sink_prometheus, meta, &st2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Address already in use"));
    assert_non_null(strstr(err, "listen_address"));

    pump_sink_prometheus.destroy(st);
    assert_int_equal(http_get(port, "/metrics", &body), -1); /* closed with the sink */
}

static void test_prom_custom_and_options(void **state)
{
    (void)state;
    int port = test_free_port();
    char meta[1024], err[256] = "";
    snprintf(meta, sizeof(meta),
             "{\"listen_address\":\"127.0.0.1:%d\",\"path\":\"/prom\","
             "\"aggregate_observations\":true,\"track_all_paths\":true,"
             "\"disabled_metrics\":[\"tyk_http_status_per_key\",\"tyk_latency\"],"
             "\"custom_metrics\":[{\"name\":\"tyk_team_hits\",\"help\":\"Hits per team\","
             "\"metric_type\":\"counter\",\"labels\":[\"api_name\",\"tag_team\",\"key\"],"
             "\"obfuscate_api_keys\":true},"
             "{\"name\":\"tyk_rt\",\"help\":\"Request time\",\"metric_type\":\"histogram\","
             "\"buckets\":[10,100],\"labels\":[\"code\",\"type\"]}]}",
             port);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_prometheus, meta, &st, err, sizeof(err)), 0);
    tk_analytics_record_t r[2] = {rec("api1", 200, "/x", false, 10, 5, 5),
                                  rec("api1", 200, "/x", false, 21, 5, 5)};
    tk_str_t tags[] = {S("key-abc"), S("team-blue"), S("team-red")};
    r[0].tags = tags, r[0].n_tags = 3;
    assert_int_equal(write_recs(&pump_sink_prometheus, st, r, 2), 0);
    char *body = NULL;
    assert_int_equal(http_get(port, "/metrics", &body), 404);
    free(body);
    assert_int_equal(http_get(port, "/prom", &body), 200);
    assert_null(strstr(body, "tyk_http_status_per_key"));
    assert_null(strstr(body, "tyk_latency"));
    assert_has_line(body, "tyk_http_status_per_path{api=\"api1\",code=\"200\",method=\"GET\","
                          "path=\"/x\"} 2");
    assert_has_line(body, "# HELP tyk_team_hits Hits per team");
    assert_has_line(body,
                    "tyk_team_hits{api_name=\"My API\",key=\"****2345\",tag_team=\"blue\"} 1");
    assert_has_line(body, "tyk_team_hits{api_name=\"My API\",key=\"****2345\",tag_team=\"\"} 1");
    /* aggregated: one observation of the integer mean (10+21)/2 = 15 */
    assert_has_line(body, "tyk_rt_bucket{code=\"200\",type=\"total\",le=\"10\"} 0");
    assert_has_line(body, "tyk_rt_bucket{code=\"200\",type=\"total\",le=\"100\"} 1");
    assert_has_line(body, "tyk_rt_bucket{code=\"200\",type=\"total\",le=\"+Inf\"} 1");
    assert_has_line(body, "tyk_rt_sum{code=\"200\",type=\"total\"} 15");
    assert_has_line(body, "tyk_rt_count{code=\"200\",type=\"total\"} 1");
    free(body);
    pump_sink_prometheus.destroy(st);

    /* Bad configurations name the field. */
    const char *bad[][2] = {
        {"{}", "listen_address"},
        {"{\"listen_address\":\"127.0.0.1:1\",\"custom_metrics\":[{\"name\":\"x\","
         "\"metric_type\":\"gauge\"}]}",
         "metric_type"},
        {"{\"listen_address\":\"127.0.0.1:1\",\"custom_metrics\":[{\"name\":\"x\","
         "\"metric_type\":\"counter\",\"labels\":[\"nope\"]}]}",
         "unknown label"},
        {"{\"listen_address\":\"127.0.0.1:1\",\"custom_metrics\":[{\"name\":\"x\","
         "\"metric_type\":\"counter\",\"labels\":[\"tag_key\"]}]}",
         "reserved tag"},
        {"{\"listen_address\":\"127.0.0.1:1\",\"custom_metrics\":[{\"name\":\"tyk_http_status\","
         "\"metric_type\":\"counter\"}]}",
         "defined twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(create(&pump_sink_prometheus, bad[i][0], &st, err, sizeof(err)), -1);
        if (!strstr(err, bad[i][1])) {
            print_error("case %zu: %s\n", i, err);
            fail();
        }
    }
}

static int scrape_port;

static void *scrape_loop(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        char *b = NULL;
        if (http_get(scrape_port, "/metrics", &b) != 200)
            return (void *)1;
        free(b);
    }
    return NULL;
}

/* Many writers and scrapers at once: the exposition stays consistent (ASan/TSan-friendly). */
static void test_prom_concurrent_scrapes(void **state)
{
    (void)state;
    int port = test_free_port();
    char meta[128], err[256];
    snprintf(meta, sizeof(meta), "{\"listen_address\":\"127.0.0.1:%d\"}", port);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_prometheus, meta, &st, err, sizeof(err)), 0);
    tk_analytics_record_t r[10];
    for (int i = 0; i < 10; i++)
        r[i] = rec("api2", 200, "/a", false, i, 0, 0);
    pthread_t scraper;
    scrape_port = port;
    pthread_create(&scraper, NULL, scrape_loop, NULL);
    for (int i = 0; i < 200; i++)
        assert_int_equal(write_recs(&pump_sink_prometheus, st, r, 10), 0);
    void *res = NULL;
    pthread_join(scraper, &res);
    assert_null(res);
    char *body = NULL;
    assert_int_equal(http_get(port, "/metrics", &body), 200);
    assert_has_line(body, "tyk_http_status{api=\"api2\",code=\"200\"} 2000");
    assert_has_line(body, "tyk_latency_count{api=\"api2\",type=\"total\"} 2000");
    assert_has_line(body, "tyk_latency_sum{api=\"api2\",type=\"total\"} 9000");
    free(body);
    pump_sink_prometheus.destroy(st);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* A real Prometheus server scrapes the sink and answers a query with our counter. */
static void test_prom_real_prometheus_scrapes(void **state)
{
    (void)state;
    if (access("/usr/bin/prometheus", X_OK) != 0) {
        print_message("prometheus binary missing\n");
        fail();
    }
    int port = test_free_port(), prom_port = test_free_port();
    char meta[128], err[256];
    snprintf(meta, sizeof(meta), "{\"listen_address\":\"127.0.0.1:%d\"}", port);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_prometheus, meta, &st, err, sizeof(err)), 0);
    tk_analytics_record_t r[3] = {rec("realapi", 200, "/a", false, 5, 3, 2),
                                  rec("realapi", 200, "/a", false, 5, 3, 2),
                                  rec("realapi", 200, "/a", false, 5, 3, 2)};
    assert_int_equal(write_recs(&pump_sink_prometheus, st, r, 3), 0);

    char dir[] = "/tmp/tp-prom-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char yml[256], data[256], conf_arg[300], data_arg[300], listen_arg[64];
    snprintf(yml, sizeof(yml), "%s/prom.yml", dir);
    snprintf(data, sizeof(data), "%s/data", dir);
    FILE *f = fopen(yml, "w");
    assert_non_null(f);
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: tyk-pump\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            port);
    fclose(f);
    snprintf(conf_arg, sizeof(conf_arg), "--config.file=%s", yml);
    snprintf(data_arg, sizeof(data_arg), "--storage.tsdb.path=%s", data);
    snprintf(listen_arg, sizeof(listen_arg), "--web.listen-address=127.0.0.1:%d", prom_port);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl("/usr/bin/prometheus", "prometheus", conf_arg, data_arg, listen_arg, (char *)NULL);
        _exit(127);
    }
    bool seen = false;
    char query[128];
    snprintf(query, sizeof(query),
             "/api/v1/query?query=tyk_http_status%%7Bapi%%3D%%22realapi%%22%%7D");
    for (int i = 0; i < 600 && !seen; i++) { /* up to 60 s */
        char *body = NULL;
        if (http_get(prom_port, query, &body) == 200 && strstr(body, "\"realapi\"") &&
            strstr(body, "\"3\"]"))
            seen = true;
        else
            usleep(100 * 1000);
        if (seen)
            print_message("prometheus answered: %s\n", body);
        free(body);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    pump_sink_prometheus.destroy(st);
    assert_true(seen);
}

/* ---- statsd / dogstatsd ---- */

static int udp_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 300 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* The next datagram as a string, or NULL when none arrives within 300 ms. */
static char *recv_dgram(int fd)
{
    static char buf[9000];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

static void expect_dgram(int fd, const char *want)
{
    char *got = recv_dgram(fd);
    if (!got || strcmp(got, want) != 0) {
        print_error("want: %s\n got: %s\n", want, got ? got : "(nothing)");
        fail();
    }
}

static void test_statsd_datagrams(void **state)
{
    (void)state;
    int port, fd = udp_listen(&port);
    char meta[512], err[256];
    snprintf(meta, sizeof(meta),
             "{\"address\":\"127.0.0.1:%d\",\"fields\":[\"request_time\",\"other\"],"
             "\"tags\":[\"path\",\"response_code\",\"api_name\",\"time_stamp\",\"method\"]}",
             port);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_statsd, meta, &st, err, sizeof(err)), 0);
    tk_analytics_record_t r[2] = {rec("api1", 200, "/Foo/Bar/", false, 42, 0, 0),
                                  rec("api1", 404, "/", false, 7, 0, 0)};
    assert_int_equal(write_recs(&pump_sink_statsd, st, r, 2), 0);
    /* METHOD+path lower-cased, "/" trimmed, spaces and quotes gone, unknown tag = null */
    expect_dgram(fd, "request_time.get/foo/bar.200.myapi.2024-01-0203-04-05+0000utc.null:42|ms");
    expect_dgram(fd, "request_time.get.404.myapi.2024-01-0203-04-05+0000utc.null:7|ms");
    assert_null(recv_dgram(fd));
    pump_sink_statsd.destroy(st);

    snprintf(meta, sizeof(meta),
             "{\"address\":\"127.0.0.1:%d\",\"fields\":[\"request_time\"],"
             "\"tags\":[\"method\",\"path\",\"api_key\"],\"separated_method\":true}",
             port);
    assert_int_equal(create(&pump_sink_statsd, meta, &st, err, sizeof(err)), 0);
    r[0].api_key = S("K<1>\"&");
    assert_int_equal(write_recs(&pump_sink_statsd, st, r, 1), 0);
    /* Go's JSON escapes < > & and the quote (whose backslash stays) */
    expect_dgram(fd, "request_time.get./foo/bar.k\\u003c1\\u003e\\\\u0026:42|ms");
    pump_sink_statsd.destroy(st);

    /* No fields: nothing is sent (Tyk has no default). */
    snprintf(meta, sizeof(meta), "{\"address\":\"127.0.0.1:%d\"}", port);
    assert_int_equal(create(&pump_sink_statsd, meta, &st, err, sizeof(err)), 0);
    assert_int_equal(write_recs(&pump_sink_statsd, st, r, 1), 0);
    assert_null(recv_dgram(fd));
    pump_sink_statsd.destroy(st);

    assert_int_equal(create(&pump_sink_statsd, "{}", &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "address"));
    close(fd);
}

static void test_statsd_no_listener_is_not_an_error(void **state)
{
    (void)state;
    int port, fd = udp_listen(&port);
    close(fd); /* nobody listens: UDP drops the datagrams, as with Tyk */
    char meta[256], err[256];
    snprintf(meta, sizeof(meta), "{\"address\":\"127.0.0.1:%d\",\"fields\":[\"request_time\"]}",
             port);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_statsd, meta, &st, err, sizeof(err)), 0);
    tk_analytics_record_t r[1] = {rec("api1", 200, "/a", false, 1, 0, 0)};
    for (int i = 0; i < 3; i++)
        assert_int_equal(write_recs(&pump_sink_statsd, st, r, 1), 0);
    pump_sink_statsd.destroy(st);
}

static void test_dogstatsd_datagrams(void **state)
{
    (void)state;
    int port, fd = udp_listen(&port);
    char meta[512], err[256];
    snprintf(meta, sizeof(meta), "{\"address\":\"127.0.0.1:%d\",\"namespace\":\"pump\"}", port);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_dogstatsd, meta, &st, err, sizeof(err)), 0);
    tk_analytics_record_t r[3] = {rec("api1", 200, "/Foo/Bar/", false, 42, 0, 0),
                                  rec("api1", 500, "/x", true, 7, 0, 0),
                                  rec("api2", 201, "/y", false, 9, 0, 0)};
    r[1].oauth_id = S("cid");
    assert_int_equal(write_recs(&pump_sink_dogstatsd, st, r, 2), 0);
    expect_dgram(fd, "pump.request_time:42|h|#tyk-pump,path:/Foo/Bar/,method:GET,"
                     "response_code:200,api_version:v1,api_name:My API,api_id:api1,org_id:org1,"
                     "tracked:false");
    expect_dgram(fd, "pump.request_time:7|h|#tyk-pump,path:/x,method:GET,response_code:500,"
                     "api_version:v1,api_name:My API,api_id:api1,org_id:org1,tracked:true,"
                     "oauth_id:cid");
    assert_null(recv_dgram(fd));
    pump_sink_dogstatsd.destroy(st);

    /* Chosen tags, buffered two per datagram, default namespace. */
    snprintf(meta, sizeof(meta),
             "{\"address\":\"127.0.0.1:%d\",\"tags\":[\"path\",\"tracked\",\"oauth_id\"],"
             "\"buffered\":true,\"buffered_max_messages\":2}",
             port);
    assert_int_equal(create(&pump_sink_dogstatsd, meta, &st, err, sizeof(err)), 0);
    assert_int_equal(write_recs(&pump_sink_dogstatsd, st, r, 3), 0);
    expect_dgram(fd, "default.request_time:42|h|#tyk-pump,path:/Foo/Bar,tracked:false\n"
                     "default.request_time:7|h|#tyk-pump,path:/x,tracked:true,oauth_id:cid");
    expect_dgram(fd, "default.request_time:9|h|#tyk-pump,path:/y,tracked:false");
    assert_null(recv_dgram(fd));
    pump_sink_dogstatsd.destroy(st);

    snprintf(meta, sizeof(meta), "{\"address\":\"127.0.0.1:%d\",\"tags\":[\"api_key\"]}", port);
    assert_int_equal(create(&pump_sink_dogstatsd, meta, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "undefined tag 'api_key'"));
    close(fd);
}

static void test_dogstatsd_unix_socket(void **state)
{
    (void)state;
    char path[] = "/tmp/tp-dsd-XXXXXX";
    int tmp = mkstemp(path);
    close(tmp);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 300 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char meta[256], err[256];
    snprintf(meta, sizeof(meta),
             "{\"address\":\"unix://%s\",\"async_uds\":true,\"tags\":[\"api_id\"],"
             "\"namespace\":\"uds\"}",
             path);
    void *st = NULL;
    assert_int_equal(create(&pump_sink_dogstatsd, meta, &st, err, sizeof(err)), 0);
    tk_analytics_record_t r[1] = {rec("api9", 200, "/a", false, 3, 0, 0)};
    assert_int_equal(write_recs(&pump_sink_dogstatsd, st, r, 1), 0);
    expect_dgram(fd, "uds.request_time:3|h|#tyk-pump,api_id:api9");
    pump_sink_dogstatsd.destroy(st);
    close(fd);
    unlink(path);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_float_format),
        cmocka_unit_test(test_prom_exposition),
        cmocka_unit_test(test_prom_custom_and_options),
        cmocka_unit_test(test_prom_concurrent_scrapes),
        cmocka_unit_test(test_prom_real_prometheus_scrapes),
        cmocka_unit_test(test_statsd_datagrams),
        cmocka_unit_test(test_statsd_no_listener_is_not_an_error),
        cmocka_unit_test(test_dogstatsd_datagrams),
        cmocka_unit_test(test_dogstatsd_unix_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
