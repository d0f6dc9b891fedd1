/* SPDX-License-Identifier: Apache-2.0 */
/* TLS contexts: the listener (certificates per domain via SNI) and upstream clients. */
#ifndef GW_TLS_H
#define GW_TLS_H

#include "gw_server.h"

struct gw_keypair;

/**
 * Creates srv->listen_ssl (when http_server_options.use_ssl) and the upstream contexts. The
 * listener serves http_server_options.certificates (files, named by domain_name and by their
 * own names) and ssl_certificates (store IDs or files, named by their SANs, else CN).
 */
int gw_tls_setup(gw_server_t *srv, tk_conf_errors_t *errs);
void gw_tls_free(gw_server_t *srv);

/** An upstream client context (proxy_ssl_* versions) presenting @kp (NULL: none). */
SSL_CTX *gw_tls_client_ctx(const gw_conf_t *conf, bool verify, const struct gw_keypair *kp);

/**
 * Replaces the API-level listener certificates (API "certificates") the SNI callback offers,
 * by their names; they take precedence over the tyk.conf ones for the same name, as in Tyk.
 * Safe while handshakes run on the workers.
 */
void gw_tls_set_api_certs(const gw_conf_t *conf, struct gw_keypair *const *kps, size_t n);

#endif
