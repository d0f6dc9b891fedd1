/* SPDX-License-Identifier: Apache-2.0 */
/* Small socket and TLS-peer helpers shared by every client and listener. */
#ifndef TK_NET_H
#define TK_NET_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <netdb.h>
#include <sys/socket.h>

/** True when @host is an IPv4 or IPv6 literal (no brackets). */
bool tk_host_is_ip(const char *host);

/** Fills @ss with the IP literal @host and @port. Returns the address length, or 0 when
 *  @host is not an IP literal (a name to resolve). */
int tk_sockaddr_from_ip(const char *host, int port, struct sockaddr_storage *ss);

/** A listening address: @addr an IP literal, or NULL/"" for every address (IPv6 any, which
 *  takes IPv4 too). Returns the address length, or 0 when @addr is not an IP literal. */
int tk_sockaddr_listen(const char *addr, int port, struct sockaddr_storage *ss);

/** Sets the port of an IPv4 or IPv6 address (a resolver's answer). */
void tk_sockaddr_set_port(struct sockaddr_storage *ss, int port);

/** The address to dial from a resolver's answer @res, IPv4 first ("localhost" gives both and
 *  most local services listen on 127.0.0.1), with @port. Returns its length. */
int tk_sockaddr_from_ai(const struct addrinfo *res, int port, struct sockaddr_storage *ss);

/** Sets up a client @ssl for @host: SNI unless @host is an IP literal and, with @verify, the
 *  certificate must name @host (as a DNS name or an IP address). */
void tk_ssl_set_peer(SSL *ssl, const char *host, bool verify);

#endif
