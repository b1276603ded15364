/*
 * Plain socket work, no libwebsockets: the listening and dialling sockets (made here so the
 * library controls bind, backlog, SO_BINDTODEVICE and Unix paths), and the address block.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

static void failed(char *err, size_t err_len, const char *what, int code) { snprintf(err, err_len, "%s: %s", what, strerror(code)); }

static int unix_address(const char *path, struct sockaddr_un *sun, char *err, size_t err_len) {
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sun->sun_path) {
    snprintf(err, err_len, "Unix socket path longer than %zu bytes", sizeof sun->sun_path - 1);
    return -1;
  }
  strcpy(sun->sun_path, path);
  return 0;
}

/* Numeric hosts only: the JS side resolves names (so DNS never blocks the I/O thread). */
static int ip_address(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t err_len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (host == NULL || host[0] == 0) host = "::";
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return 0;
  }
  snprintf(err, err_len, "not a numeric IPv4 or IPv6 address: %s", host);
  return -1;
}

int fwn_listen_socket(const char *host, int port, const char *path, int backlog, char *err, size_t err_len) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family;
  if (path != NULL) {
    if (unix_address(path, (struct sockaddr_un *)&ss, err, err_len) < 0) return -1;
    len = sizeof(struct sockaddr_un);
    family = AF_UNIX;
  } else {
    if (ip_address(host, port, &ss, &len, err, err_len) < 0) return -1;
    family = ss.ss_family;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed(err, err_len, "socket", errno), -1;
  int one = 1;
  if (family != AF_UNIX) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6 && (host == NULL || host[0] == 0)) {
    int zero = 0; /* "" listens on both families, as the runtimes do */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
    failed(err, err_len, "bind", errno);
    close(fd);
    return -1;
  }
  if (listen(fd, backlog > 0 ? backlog : 511) < 0) {
    failed(err, err_len, "listen", errno);
    close(fd);
    return -1;
  }
  return fd;
}

int fwn_dial_socket(const char *host, int port, const char *path, const char *local_address, int local_port, const char *interface_name, char *err,
                    size_t err_len) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family;
  if (path != NULL) {
    if (unix_address(path, (struct sockaddr_un *)&ss, err, err_len) < 0) return -1;
    len = sizeof(struct sockaddr_un);
    family = AF_UNIX;
  } else {
    if (ip_address(host, port, &ss, &len, err, err_len) < 0) return -1;
    family = ss.ss_family;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed(err, err_len, "socket", errno), -1;
  if (interface_name != NULL && interface_name[0] != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface_name, (socklen_t)strlen(interface_name)) < 0) {
    failed(err, err_len, "SO_BINDTODEVICE", errno);
    close(fd);
    return -1;
  }
  if (path == NULL && ((local_address != NULL && local_address[0] != 0) || local_port > 0)) {
    struct sockaddr_storage local;
    socklen_t local_len;
    const char *any = family == AF_INET ? "0.0.0.0" : "::";
    if (ip_address(local_address != NULL && local_address[0] != 0 ? local_address : any, local_port, &local, &local_len, err, err_len) < 0) {
      close(fd);
      return -1;
    }
    if (local.ss_family != family) {
      snprintf(err, err_len, "localAddress %s is not of the remote address's family", local_address);
      close(fd);
      return -1;
    }
    if (bind(fd, (struct sockaddr *)&local, local_len) < 0) {
      failed(err, err_len, "bind", errno);
      close(fd);
      return -1;
    }
  }
  if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS && errno != EAGAIN) {
    failed(err, err_len, "connect", errno);
    close(fd);
    return -1;
  }
  if (family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

int fwn_bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

/* Text and port of an address; IPv4-mapped IPv6 addresses are given as IPv4, as the runtimes do. */
static uint8_t address_text(const struct sockaddr_storage *ss, char *text, uint16_t *port) {
  text[0] = 0;
  *port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &v4->sin_addr, text, INET6_ADDRSTRLEN);
    *port = ntohs(v4->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, INET6_ADDRSTRLEN);
    else inet_ntop(AF_INET6, &v6->sin6_addr, text, INET6_ADDRSTRLEN);
    *port = ntohs(v6->sin6_port);
  }
  return (uint8_t)strlen(text);
}

uint32_t fwn_address_block(int fd, uint8_t *out) {
  struct sockaddr_storage remote, local;
  socklen_t rlen = sizeof remote, llen = sizeof local;
  memset(&remote, 0, sizeof remote);
  memset(&local, 0, sizeof local);
  getpeername(fd, (struct sockaddr *)&remote, &rlen);
  getsockname(fd, (struct sockaddr *)&local, &llen);
  char rtext[INET6_ADDRSTRLEN], ltext[INET6_ADDRSTRLEN];
  uint16_t rport, lport;
  uint8_t rl = address_text(&remote, rtext, &rport), ll = address_text(&local, ltext, &lport);
  memcpy(out, &rport, 2);
  memcpy(out + 2, &lport, 2);
  out[4] = rl;
  out[5] = ll;
  memcpy(out + 6, rtext, rl);
  memcpy(out + 6 + rl, ltext, ll);
  return 6u + rl + ll;
}
