/*
 * The lws side of the I/O thread: the lws context and its one vhost, the protocol callback, and
 * a connection's life from adoption to close. Every socket (listening, accepted, dialed) is
 * made by this library and adopted into lws as a raw file descriptor: lws polls it and calls
 * back on POLLIN / POLLOUT, and the library does the recv / send itself (conn_io.c). The raw
 * *socket* role would close the socket on the peer's FIN, losing half-close (see README.md).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "internal.h"

#define FD_LIMIT_CAP (1u << 20)

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static const struct lws_protocols protocols[] = {
    {"fwn-raw", callback, 0, FWN_RX_BUFFER, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int fwn_lws_init(fwn_ctx *ctx) {
    struct rlimit rl;
    unsigned int fds = 1024;
    if (!getrlimit(RLIMIT_NOFILE, &rl))
        fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FD_LIMIT_CAP ? FD_LIMIT_CAP : (unsigned int)rl.rlim_cur;
    ctx->scratch = malloc(FWN_WRITE_CHUNK);
    if (!ctx->scratch) return -1;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.pt_serv_buf_size = FWN_RX_BUFFER;
    info.count_threads = 1;
    info.fd_limit_per_thread = fds; /* lws sizes its fd tables from this: every fd number must fit */
    info.user = ctx;
    info.vhost_name = "framewire";
    struct lws_context *lws = lws_create_context(&info);
    if (!lws) return -1;
    ctx->vhost = lws_create_vhost(lws, &info);
    if (!ctx->vhost) {
        lws_context_destroy(lws);
        return -1;
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->lws = lws;
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

int fwn_lws_service(fwn_ctx *ctx) {
    int n = lws_service(ctx->lws, 0);
    fwn_io_rearm(ctx);
    return n;
}

void fwn_lws_destroy(fwn_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    struct lws_context *lws = ctx->lws;
    ctx->lws = NULL; /* no more lws_cancel_service from the JS thread */
    pthread_mutex_unlock(&ctx->lock);
    lws_context_destroy(lws); /* closes every wsi: RAW_CLOSE_FILE for each connection and listener */
    while (ctx->listeners) {  /* normally freed by their RAW_CLOSE_FILE */
        fwn_listener *l = ctx->listeners;
        ctx->listeners = l->next;
        free(l);
    }
    free(ctx->scratch);
    ctx->scratch = NULL;
}

void fwn_kill_wsi(struct lws *wsi) { lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC); }

fwn_conn *fwn_conn_new(fwn_ctx *ctx, int fd) {
    fwn_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->obj = FWN_OBJ_CONN;
    c->ctx = ctx;
    c->fd = fd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    c->is_unix = !getsockname(fd, (struct sockaddr *)&ss, &sl) && ss.ss_family == AF_UNIX;
    return c;
}

static void conn_free(fwn_conn *c) {
    fwn_outq_free(&c->out);
    free(c);
}

/* Hands the socket to lws (RAW_ADOPT_FILE runs inside). On failure lws closed the fd. */
int fwn_adopt(fwn_ctx *ctx, fwn_conn *conn) {
    lws_adopt_desc_t info;
    memset(&info, 0, sizeof info);
    info.vh = ctx->vhost;
    info.type = LWS_ADOPT_RAW_FILE_DESC;
    info.fd.filefd = conn->fd;
    info.vh_prot_name = protocols[0].name;
    info.opaque = conn;
    /* if lws fails after RAW_ADOPT_FILE it may already have run RAW_CLOSE_FILE (which frees the conn) */
    ctx->adopting = conn;
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&info);
    int freed = ctx->adopting == NULL;
    ctx->adopting = NULL;
    if (!wsi) {
        if (freed) return -2; /* RAW_CLOSE_FILE ran and said so */
        conn_free(conn);
        return -1;
    }
    conn->wsi = wsi;
    return 0;
}

/* Gives the connection its id and announces it (ACCEPTED or CONNECTED). */
static int conn_open(fwn_ctx *ctx, fwn_conn *c, uint8_t kind, uint32_t tag) {
    c->id = ++ctx->next_conn_id;
    pthread_mutex_lock(&ctx->lock);
    int rc = fwn_table_put(&ctx->table, c);
    pthread_mutex_unlock(&ctx->lock);
    if (rc) return -1;
    c->in_table = 1;
    fwn_stat_add(ctx, FWN_STAT_CONNECTIONS, 1);
    uint8_t block[FWN_ADDR_BLOCK_MAX];
    uint32_t n = fwn_address_block(c->fd, block);
    fwn_emit(ctx, kind, c->id, &tag, 4, block, n);
    return 0;
}

int fwn_dial_done(fwn_ctx *ctx, fwn_conn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el)) err = errno;
    if (err) {
        c->close_errno = err;
        return -1;
    }
    c->connecting = 0;
    fwn_dial_remove(ctx, c);
    return conn_open(ctx, c, FWN_EV_CONNECTED, c->dial_id);
}

/* A close lws did on its own (POLLHUP with reading off): the TCP state tells a FIN from a reset.
 * 0 the peer's FIN, an errno for a failure, -1 neither. */
static int peer_end_or_error(fwn_conn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (!getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) && err) return err;
    if (c->is_unix) return 0;
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl)) return -1;
    switch (ti.tcpi_state) {
    case TCP_CLOSE_WAIT:
    case TCP_LAST_ACK:
    case TCP_CLOSING:
    case TCP_TIME_WAIT:
        return 0;
    case TCP_CLOSE:
        return c->fin_sent ? 0 : ECONNRESET;
    default:
        return -1;
    }
}

/* RAW_CLOSE_FILE: the fd is still open here; lws closes it afterwards. */
static void on_close(fwn_ctx *ctx, fwn_conn *c) {
    if (ctx->adopting == c) ctx->adopting = NULL;
    int stopping = __atomic_load_n(&ctx->stopping, __ATOMIC_ACQUIRE);
    if (c->connecting) {
        int err = c->close_errno;
        socklen_t el = sizeof err;
        if (!err && (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) || !err)) err = ECONNREFUSED;
        const char *why = c->aborted ? "aborted" : stopping ? "stopped" : strerror(err);
        fwn_dial_remove(ctx, c);
        fwn_emit_text(ctx, FWN_EV_CONNECT_FAILED, c->dial_id, why);
        conn_free(c);
        return;
    }
    fwn_room_forget(ctx, c);
    fwn_rearm_forget(ctx, c);
    pthread_mutex_lock(&ctx->lock);
    if (c->in_table) fwn_table_remove(&ctx->table, c->id);
    c->send_closed = 1;
    fwn_stat_sub(ctx, FWN_STAT_QUEUED_OUT, c->out.len);
    pthread_mutex_unlock(&ctx->lock);
    char why[128] = "";
    if (c->close_errno) {
        snprintf(why, sizeof why, "%s", strerror(c->close_errno));
    } else if (!c->close_requested && !c->peer_fin && !stopping) {
        int err = peer_end_or_error(c);
        if (err == 0)
            fwn_emit(ctx, FWN_EV_END, c->id, NULL, 0, NULL, 0);
        else if (err > 0)
            snprintf(why, sizeof why, "%s", strerror(err));
    }
    if (c->in_table) { /* the count first: JS may read the stats as soon as it sees CLOSED */
        fwn_stat_sub(ctx, FWN_STAT_CONNECTIONS, 1);
        fwn_emit_text(ctx, FWN_EV_CLOSED, c->id, why);
    }
    conn_free(c);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    fwn_ctx *ctx = lws_context_user(lws_get_context(wsi));
    if (!ctx) return 0;
    void *opaque = lws_get_opaque_user_data(wsi);
    int obj = opaque ? *(const int *)opaque : 0;
    fwn_conn *c = obj == FWN_OBJ_CONN ? opaque : NULL;
    fwn_listener *l = obj == FWN_OBJ_LISTENER ? opaque : NULL;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        fwn_io_run_commands(ctx);
        return 0;
    case LWS_CALLBACK_RAW_ADOPT_FILE:
        if (!c) return 0; /* a listener: nothing to announce here */
        c->wsi = wsi;
        if (c->connecting) return 0; /* announced once the dial completes */
        return conn_open(ctx, c, FWN_EV_ACCEPTED, c->listener_id);
    case LWS_CALLBACK_RAW_RX_FILE:
        if (l) return fwn_listener_readable(ctx, l);
        return c ? fwn_conn_readable(ctx, c) : -1;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        return c ? fwn_conn_writable(ctx, c) : 0;
    case LWS_CALLBACK_TIMER:
        if (l) fwn_listener_retry(ctx, l);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        lws_set_opaque_user_data(wsi, NULL);
        if (c) on_close(ctx, c);
        if (l) fwn_listener_closed(ctx, l);
        return 0;
    default:
        return 0;
    }
}
