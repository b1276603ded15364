/*
 * Dials: a non-blocking socket made here (local bind, SO_BINDTODEVICE, Unix paths, IPv6) and
 * adopted into lws as a raw socket; the first writable (or readable) callback tells whether it
 * connected, a close before that is FWN_EV_CONNECT_FAILED.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "internal.h"

static int dial_socket(const fwn_cmd *cmd, char *why, size_t wl) {
    struct sockaddr_storage ss;
    uint32_t sl;
    int family;
    memset(&ss, 0, sizeof ss);
    if (cmd->path) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        sun->sun_family = AF_UNIX;
        snprintf(sun->sun_path, sizeof sun->sun_path, "%s", cmd->path);
        sl = sizeof *sun;
        family = AF_UNIX;
    } else {
        int rc = fwn_resolve(cmd->host, cmd->port, 0, &ss, &sl, &family);
        if (rc) {
            snprintf(why, wl, "%s: %s", cmd->host ? cmd->host : "", gai_strerror(rc));
            return -1;
        }
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, wl, "socket: %s", strerror(errno));
        return -1;
    }
    if (cmd->iface && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cmd->iface, (socklen_t)strlen(cmd->iface) + 1)) {
        snprintf(why, wl, "bind to device %s: %s", cmd->iface, strerror(errno));
        close(fd);
        return -1;
    }
    if (!cmd->path && (cmd->local_address || cmd->local_port)) {
        struct sockaddr_storage ls;
        uint32_t ll;
        int lf, rc;
        memset(&ls, 0, sizeof ls);
        if (cmd->local_address) {
            rc = fwn_resolve(cmd->local_address, cmd->local_port, 1, &ls, &ll, &lf);
        } else { /* a port only: the wildcard address of the dial's family */
            rc = fwn_resolve(family == AF_INET6 ? "::" : "0.0.0.0", cmd->local_port, 1, &ls, &ll, &lf);
        }
        if (rc) {
            snprintf(why, wl, "local address %s: %s", cmd->local_address ? cmd->local_address : "", gai_strerror(rc));
            close(fd);
            return -1;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&ls, ll)) {
            snprintf(why, wl, "bind %s:%d: %s", cmd->local_address ? cmd->local_address : "", cmd->local_port,
                     strerror(errno));
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
        snprintf(why, wl, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void fwn_io_connect(fwn_ctx *ctx, const fwn_cmd *cmd) {
    char why[256] = "";
    int fd = dial_socket(cmd, why, sizeof why);
    if (fd < 0) {
        fwn_emit_text(ctx, FWN_EV_CONNECT_FAILED, cmd->id, why);
        return;
    }
    fwn_conn *c = fwn_conn_new(ctx, fd);
    if (!c) {
        close(fd);
        fwn_emit_text(ctx, FWN_EV_CONNECT_FAILED, cmd->id, "out of memory");
        return;
    }
    c->connecting = 1;
    c->dial_id = cmd->id;
    int rc = fwn_adopt(ctx, c);
    if (rc) {
        if (rc == -1) fwn_emit_text(ctx, FWN_EV_CONNECT_FAILED, cmd->id, "libwebsockets could not adopt the socket");
        return;
    }
    c->dial_next = ctx->dials;
    ctx->dials = c;
    lws_callback_on_writable(c->wsi); /* POLLOUT: the connect finished */
}

void fwn_dial_remove(fwn_ctx *ctx, fwn_conn *conn) {
    for (fwn_conn **p = &ctx->dials; *p; p = &(*p)->dial_next) {
        if (*p == conn) {
            *p = conn->dial_next;
            conn->dial_next = NULL;
            return;
        }
    }
}

void fwn_io_abort(fwn_ctx *ctx, uint32_t dial_id) {
    for (fwn_conn *c = ctx->dials; c; c = c->dial_next) {
        if (c->dial_id == dial_id && c->connecting && !c->aborted) {
            c->aborted = 1;
            fwn_kill_wsi(c->wsi);
            return;
        }
    }
}
