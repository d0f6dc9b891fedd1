/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ResponseTransformMiddleware: an upstream response to a request matching an
 * extended_paths.transform_response entry is held whole and its body replaced by the entry's
 * Go template output (input_type xml, anything else read as JSON; enable_session), with the new
 * Content-Length. A gzip or deflate body is inflated first and the output compressed again with
 * the same encoding. As in Tyk: a body that does not parse gives the template an empty map, and
 * a template failing at execution logs "Failed to apply template to request" and the client gets
 * what it wrote before the error. Only matching requests hold their response; all others stream.
 */
#include "gw_body_tmpl.h"
#include "gw_mw_common.h"
#include "gw_resp_filter.h"

#include "tk_log.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <strings.h>
#include <zlib.h>

enum coding { CODING_NONE = 0, CODING_GZIP, CODING_ZLIB, CODING_RAW_DEFLATE, CODING_OTHER };

static bool enabled(const gw_api_t *api, const gw_conf_t *conf)
{
    TK_UNUSED(conf);
    return gw_api_has_eps(api, GW_EP_TRANSFORM_RESPONSE);
}

static int init(gw_mw_t *mw, const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    /* A template that does not load rejects the API, unless turnpike_skip_bad_templates asks
     * for Tyk's way: log it and skip only that entry. */
    if (conf->turnpike_skip_bad_templates) {
        mw->state = gw_body_tmpls_load(api, GW_EP_TRANSFORM_RESPONSE);
        return TK_OK;
    }
    mw->state = gw_body_tmpls_load_strict(api, GW_EP_TRANSFORM_RESPONSE, errs);
    return mw->state ? TK_OK : TK_ERROR;
}

static void dispose(gw_mw_t *mw)
{
    gw_body_tmpls_free(mw->state);
    mw->state = NULL;
}

/* "deflate" bodies come zlib-wrapped (RFC 9110) or raw (what Go's flate writes). */
static enum coding body_coding(const char *ce, const unsigned char *p, size_t n)
{
    if (!ce || !*ce || strcasecmp(ce, "identity") == 0)
        return CODING_NONE;
    if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
        return CODING_GZIP;
    if (strcasecmp(ce, "deflate") != 0)
        return CODING_OTHER;
    if (n >= 2 && (p[0] & 0x0f) == 8 && ((p[0] << 8) | p[1]) % 31 == 0)
        return CODING_ZLIB;
    return CODING_RAW_DEFLATE;
}

static int window_bits(enum coding c)
{
    return c == CODING_GZIP ? 15 + 16 : c == CODING_ZLIB ? 15 : -15;
}

/* Inflates @in into @out (at most GW_RESP_FILTER_MAX_BODY bytes). */
static bool inflate_body(enum coding c, const unsigned char *in, size_t n, struct evbuffer *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, window_bits(c)) != Z_OK)
        return false;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    unsigned char buf[16384];
    int rc;
    do {
        z.next_out = buf;
        z.avail_out = sizeof(buf);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        evbuffer_add(out, buf, sizeof(buf) - z.avail_out);
        if (evbuffer_get_length(out) > GW_RESP_FILTER_MAX_BODY) {
            rc = Z_MEM_ERROR;
            break;
        }
    } while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
    inflateEnd(&z);
    return rc == Z_STREAM_END;
}

static bool deflate_body(enum coding c, const char *in, size_t n, struct evbuffer *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* Go's gzip.NewWriter uses the default level, Tyk's deflate writer level 1 */
    int level = c == CODING_GZIP ? Z_DEFAULT_COMPRESSION : 1;
    if (deflateInit2(&z, level, Z_DEFLATED, window_bits(c), 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    unsigned char buf[16384];
    int rc;
    do {
        z.next_out = buf;
        z.avail_out = sizeof(buf);
        rc = deflate(&z, Z_FINISH);
        if (rc == Z_STREAM_ERROR)
            break;
        evbuffer_add(out, buf, sizeof(buf) - z.avail_out);
    } while (rc != Z_STREAM_END);
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

static void log_ep(const gw_req_t *req, const gw_ep_t *ep, const char *what, const char *detail)
{
    tk_log_error("api=%s: transform_response %s %s: %s%s", req->api->api_id,
                 ep->method[0] ? ep->method : "any method", ep->path, what, detail);
}

static int on_body(gw_req_t *req, void *arg, int *status, struct evbuffer *hdrs,
                   struct evbuffer *body)
{
    TK_UNUSED(status);
    const gw_ep_t *ep = arg;
    const gw_body_tmpl_t *t = ep->state;
    size_t n = evbuffer_get_length(body);
    const unsigned char *raw = n ? evbuffer_pullup(body, -1) : (const unsigned char *)"";
    enum coding c = body_coding(gw_hdrs_get(req, hdrs, "Content-Encoding"), raw, n);
    if (c == CODING_OTHER) {
        /* Neither Tyk nor we can read it; rewriting it would send garbage under that coding. */
        log_ep(req, ep, "response left as it is: cannot decode Content-Encoding ",
               gw_hdrs_get(req, hdrs, "Content-Encoding"));
        return TK_OK;
    }
    struct evbuffer *plain = NULL;
    const char *text = (const char *)raw;
    size_t tlen = n;
    if (c != CODING_NONE) {
        plain = evbuffer_new();
        if (!plain || !inflate_body(c, raw, n, plain)) {
            log_ep(req, ep, "Body decompression error", "");
            if (plain)
                evbuffer_drain(plain, evbuffer_get_length(plain));
        }
        tlen = plain ? evbuffer_get_length(plain) : 0;
        text = tlen ? (const char *)evbuffer_pullup(plain, -1) : "";
    }
    char err[600];
    enum gw_body_input in = t->input == GW_BODY_IN_XML ? GW_BODY_IN_XML : GW_BODY_IN_JSON;
    json_t *data = gw_body_tmpl_data(in, text, tlen, err, sizeof(err));
    if (!data) {
        log_ep(
            req, ep,
            in == GW_BODY_IN_XML ? "Error unmarshalling XML: " : "Error unmarshalling JSON: ", err);
        data = json_object();
    }
    if (plain)
        evbuffer_free(plain);
    if (!gw_body_tmpl_add_vars(req, t, data))
        log_ep(req, ep, "Session context was enabled but not found.", "");
    char *out = NULL;
    size_t outlen = 0;
    if (tk_tmpl_exec(t->tmpl, data, NULL, &out, &outlen, err, sizeof(err)) != TK_OK)
        log_ep(req, ep, "Failed to apply template to request: ", err);
    json_decref(data);
    evbuffer_drain(body, n);
    if (c == CODING_NONE || !deflate_body(c, out, outlen, body)) {
        evbuffer_drain(body, evbuffer_get_length(body));
        if (c != CODING_NONE) {
            log_ep(req, ep, "compression failed; sending the body uncompressed", "");
            gw_hdrs_remove(hdrs, "Content-Encoding");
        }
        evbuffer_add(body, out, outlen);
    }
    free(out);
    return TK_OK; /* the proxy writes the new Content-Length */
}

static const gw_resp_filter_def_t filter = {.name = "ResponseTransformMiddleware",
                                            .on_body = on_body};

static int on_req(gw_mw_t *mw, gw_req_t *req)
{
    TK_UNUSED(mw);
    const gw_ep_t *ep = gw_body_tmpl_match(req, GW_EP_TRANSFORM_RESPONSE);
    if (!ep)
        return TK_OK;
    if (gw_resp_filter_add(req, &filter, (void *)ep) != TK_OK) {
        req->err_status = 500;
        req->err_msg = "There was a problem proxying the request";
        return TK_ERROR;
    }
    return TK_OK;
}

const gw_mw_def_t gw_mw_transform_response = {
    .name = "ResponseTransformMiddleware",
    .phase = GW_PHASE_CONTENT,
    .enabled = enabled,
    .init = init,
    .on_req = on_req,
    .dispose = dispose,
};
