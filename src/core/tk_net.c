/* SPDX-License-Identifier: Apache-2.0 */
#include "tk_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <string.h>

bool tk_host_is_ip(const char *host)
{
    struct in6_addr tmp;
    return inet_pton(AF_INET, host, &tmp) == 1 || inet_pton(AF_INET6, host, &tmp) == 1;
}

int tk_sockaddr_from_ip(const char *host, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        return (int)sizeof(*s4);
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        return (int)sizeof(*s6);
    }
    return 0;
}

int tk_sockaddr_listen(const char *addr, int port, struct sockaddr_storage *ss)
{
    if (addr && *addr)
        return tk_sockaddr_from_ip(addr, port, ss);
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = in6addr_any;
    s6->sin6_port = htons((uint16_t)port);
    return (int)sizeof(*s6);
}

void tk_sockaddr_set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

int tk_sockaddr_from_ai(const struct addrinfo *res, int port, struct sockaddr_storage *ss)
{
    const struct addrinfo *pick = res;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    tk_sockaddr_set_port(ss, port);
    return (int)pick->ai_addrlen;
}

void tk_ssl_set_peer(SSL *ssl, const char *host, bool verify)
{
    bool is_ip = tk_host_is_ip(host);
    if (!is_ip)
        SSL_set_tlsext_host_name(ssl, host);
    if (!verify)
        return;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(vp, host);
    else
        X509_VERIFY_PARAM_set1_host(vp, host, 0);
}
