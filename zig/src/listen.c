/*
 * Listening sockets. They are made here (so port 0, the backlog, IPv6 and Unix paths are ours
 * to control, and unlisten does not touch accepted connections) and adopted into lws as raw
 * files: lws reports POLLIN, we accept and adopt each new socket as a raw socket.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "internal.h"

#define DEFAULT_BACKLOG 511
#define ACCEPTS_PER_WAKE 64 /* fairness: the loop serves other sockets in between */
#define ACCEPT_RETRY_US 100000

static int open_unix(const char *path, int backlog, char *why, size_t wl) {
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) || listen(fd, backlog)) {
        snprintf(why, wl, "%s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static int open_tcp(const char *host, int port, int backlog, char *why, size_t wl) {
    struct sockaddr_storage ss;
    uint32_t sl;
    int family, one = 1, zero = 0;
    memset(&ss, 0, sizeof ss);
    if (!host) { /* any: dual-stack [::] when IPv6 exists, else 0.0.0.0 */
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
        family = AF_INET6;
    } else {
        int rc = fwn_resolve(host, port, 1, &ss, &sl, &family);
        if (rc) {
            snprintf(why, wl, "%s: %s", host, gai_strerror(rc));
            return -1;
        }
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && !host && errno == EAFNOSUPPORT) {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        memset(&ss, 0, sizeof ss);
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) {
        snprintf(why, wl, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!host && ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, backlog)) {
        snprintf(why, wl, "%s:%d: %s", host ? host : "", port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static uint32_t bound_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl)) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

void fwn_io_listen(fwn_ctx *ctx, const fwn_cmd *cmd) {
    char why[256] = "";
    int backlog = cmd->backlog > 0 ? cmd->backlog : DEFAULT_BACKLOG;
    int fd = cmd->path ? open_unix(cmd->path, backlog, why, sizeof why)
                       : open_tcp(cmd->host, cmd->port, backlog, why, sizeof why);
    if (fd < 0) {
        fwn_emit_text(ctx, FWN_EV_LISTEN_FAILED, cmd->id, why);
        return;
    }
    fwn_listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        fwn_emit_text(ctx, FWN_EV_LISTEN_FAILED, cmd->id, "out of memory");
        return;
    }
    l->obj = FWN_OBJ_LISTENER;
    l->id = cmd->id;
    l->fd = fd;
    lws_adopt_desc_t info;
    memset(&info, 0, sizeof info);
    info.vh = ctx->vhost;
    info.type = LWS_ADOPT_RAW_FILE_DESC;
    info.fd.filefd = fd;
    info.vh_prot_name = "fwn-raw";
    info.opaque = l;
    l->wsi = lws_adopt_descriptor_vhost_via_info(&info);
    if (!l->wsi) { /* lws closed the fd */
        free(l);
        fwn_emit_text(ctx, FWN_EV_LISTEN_FAILED, cmd->id, "libwebsockets could not adopt the socket");
        return;
    }
    l->next = ctx->listeners;
    ctx->listeners = l;
    uint32_t port = cmd->path ? 0 : bound_port(fd);
    fwn_emit(ctx, FWN_EV_LISTENING, cmd->id, &port, 4, NULL, 0);
}

void fwn_io_unlisten(fwn_ctx *ctx, uint32_t id) {
    for (fwn_listener *l = ctx->listeners; l; l = l->next) {
        if (l->id == id && !l->unlisten_requested) {
            l->unlisten_requested = 1;
            fwn_kill_wsi(l->wsi);
            return;
        }
    }
}

int fwn_listener_readable(fwn_ctx *ctx, fwn_listener *l) {
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: the connection stays in the kernel's queue and POLLIN
                 * stays on, so stop polling for a while instead of spinning */
                lws_rx_flow_control(l->wsi, 0);
                lws_set_timer_usecs(l->wsi, ACCEPT_RETRY_US);
            }
            break;
        }
        fwn_conn *c = fwn_conn_new(ctx, fd);
        if (!c) {
            close(fd);
            continue;
        }
        c->listener_id = l->id;
        fwn_adopt(ctx, c);
    }
    return 0;
}

void fwn_listener_retry(fwn_ctx *ctx, fwn_listener *l) { lws_rx_flow_control(l->wsi, 1); }

void fwn_listener_closed(fwn_ctx *ctx, fwn_listener *l) {
    for (fwn_listener **p = &ctx->listeners; *p; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    if (l->unlisten_requested) fwn_emit(ctx, FWN_EV_UNLISTENED, l->id, NULL, 0, NULL, 0);
    free(l);
}
