/* Socket addresses: the FWN address block of a connection, and name resolution for listen/connect. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

static uint16_t text_of(const struct sockaddr_storage *ss, char *out, size_t cap) {
    out[0] = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)cap);
        return ntohs(a->sin_port);
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)cap);
        return ntohs(a->sin6_port);
    }
    return 0; /* Unix sockets: no address text, port 0 */
}

/* u16 remote port | u16 local port | u8 remote len | u8 local len | remote | local */
uint32_t fwn_address_block(int fd, uint8_t *out) {
    struct sockaddr_storage rs, ls;
    socklen_t rl = sizeof rs, ll = sizeof ls;
    char rt[64], lt[64];
    memset(&rs, 0, sizeof rs);
    memset(&ls, 0, sizeof ls);
    if (getpeername(fd, (struct sockaddr *)&rs, &rl)) rs.ss_family = AF_UNSPEC;
    if (getsockname(fd, (struct sockaddr *)&ls, &ll)) ls.ss_family = AF_UNSPEC;
    uint16_t rp = text_of(&rs, rt, sizeof rt), lp = text_of(&ls, lt, sizeof lt);
    uint8_t rn = (uint8_t)strlen(rt), ln = (uint8_t)strlen(lt);
    memcpy(out, &rp, 2);
    memcpy(out + 2, &lp, 2);
    out[4] = rn;
    out[5] = ln;
    memcpy(out + 6, rt, rn);
    memcpy(out + 6 + rn, lt, ln);
    return 6u + rn + ln;
}

/* First address for host:port (host NULL: loopback, or any when passive). 0 or an EAI_* code. */
int fwn_resolve(const char *host, int port, int passive, void *sa_out, uint32_t *salen_out, int *family_out) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc) return rc;
    memcpy(sa_out, res->ai_addr, res->ai_addrlen);
    *salen_out = (uint32_t)res->ai_addrlen;
    *family_out = res->ai_family;
    freeaddrinfo(res);
    return 0;
}
