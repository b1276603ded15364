/*
 * The lws side of the I/O thread: the lws context and its one vhost, the protocol callback, and
 * a connection's life (adopt -> rx/writable -> close). Sockets are created by listen.c and
 * connect.c and adopted into lws as raw sockets; the listening sockets as raw files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
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
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
        fds = rl.rlim_cur > FD_LIMIT_CAP ? FD_LIMIT_CAP : (unsigned int)rl.rlim_cur;
    else if (!getrlimit(RLIMIT_NOFILE, &rl))
        fds = FD_LIMIT_CAP;
    ctx->scratch = malloc(LWS_PRE + FWN_WRITE_CHUNK);
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

int fwn_lws_service(fwn_ctx *ctx) { return lws_service(ctx->lws, 0); }

void fwn_lws_destroy(fwn_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    struct lws_context *lws = ctx->lws;
    ctx->lws = NULL; /* no more lws_cancel_service from the JS thread */
    pthread_mutex_unlock(&ctx->lock);
    lws_context_destroy(lws); /* closes every wsi: RAW_CLOSE for each connection */
    while (ctx->listeners) { /* normally freed by their RAW_CLOSE_FILE */
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
    c->ctx = ctx;
    c->fd = fd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    c->is_unix = !getsockname(fd, (struct sockaddr *)&ss, &sl) && ss.ss_family == AF_UNIX;
    return c;
}

static void conn_free(fwn_conn *c) {
    fwn_outq_free(&c->out);
    free(c->stash);
    free(c);
}

/* Hands the socket to lws (RAW_ADOPT runs inside). On failure lws closed the fd; the conn is freed. */
int fwn_adopt(fwn_ctx *ctx, fwn_conn *conn) {
    lws_adopt_desc_t info;
    memset(&info, 0, sizeof info);
    info.vh = ctx->vhost;
    info.type = LWS_ADOPT_SOCKET;
    info.fd.sockfd = conn->fd;
    info.vh_prot_name = protocols[0].name;
    info.opaque = conn;
    /* if lws fails after RAW_ADOPT it may already have run RAW_CLOSE (which frees the conn) */
    ctx->adopting = conn;
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&info);
    int freed = ctx->adopting == NULL;
    ctx->adopting = NULL;
    if (!wsi) {
        if (freed) return -2; /* RAW_CLOSE ran and said so */
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
    fwn_stat_add(ctx, FWN_STAT_CONNECTIONS, 1);
    uint8_t block[FWN_ADDR_BLOCK_MAX];
    uint32_t n = fwn_address_block(c->fd, block);
    fwn_emit(ctx, kind, c->id, &tag, 4, block, n);
    return 0;
}

/* A dial completed: the socket error tells whether it connected. */
static int dial_done(fwn_ctx *ctx, fwn_conn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el)) err = errno;
    if (err) {
        c->connect_errno = err;
        return -1;
    }
    c->connecting = 0;
    fwn_dial_remove(ctx, c);
    return conn_open(ctx, c, FWN_EV_CONNECTED, c->dial_id);
}

static void update_rx(fwn_conn *c) { lws_rx_flow_control(c->wsi, !(c->user_paused || c->room_paused)); }

static void room_list_remove(fwn_ctx *ctx, fwn_conn *c) {
    if (!c->room_paused) return;
    if (c->room_prev)
        c->room_prev->room_next = c->room_next;
    else
        ctx->room_head = c->room_next;
    if (c->room_next) c->room_next->room_prev = c->room_prev;
    c->room_prev = c->room_next = NULL;
    c->room_paused = 0;
    pthread_mutex_lock(&ctx->lock);
    ctx->room_paused_count--;
    pthread_mutex_unlock(&ctx->lock);
}

static int on_rx(fwn_ctx *ctx, fwn_conn *c, const uint8_t *in, uint32_t len) {
    if (c->connecting && dial_done(ctx, c)) return -1;
    if (c->close_requested) return 0; /* fwn_close discards */
    fwn_stat_add(ctx, FWN_STAT_BYTES_IN, len);
    uint32_t took = c->stash_len ? 0 : fwn_emit_data(ctx, c->id, in, len);
    if (took == len) return 0;
    /* no room: keep the rest and stop reading until JS swaps */
    uint8_t *s = realloc(c->stash, c->stash_len + (len - took));
    if (!s) return -1;
    memcpy(s + c->stash_len, in + took, len - took);
    c->stash = s;
    c->stash_len += len - took;
    if (!c->room_paused) {
        c->room_paused = 1;
        c->room_prev = NULL;
        c->room_next = ctx->room_head;
        if (ctx->room_head) ctx->room_head->room_prev = c;
        ctx->room_head = c;
        pthread_mutex_lock(&ctx->lock);
        ctx->room_paused_count++;
        pthread_mutex_unlock(&ctx->lock);
        fwn_stat_add(ctx, FWN_STAT_RX_PAUSES, 1);
        update_rx(c);
    }
    return 0;
}

void fwn_io_resume_rx(fwn_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    ctx->resume_queued = 0;
    pthread_mutex_unlock(&ctx->lock);
    while (ctx->room_head) {
        fwn_conn *c = ctx->room_head;
        uint32_t took = fwn_emit_data(ctx, c->id, c->stash, c->stash_len);
        if (took < c->stash_len) {
            memmove(c->stash, c->stash + took, c->stash_len - took);
            c->stash_len -= took;
            return; /* still full: the next swap resumes the rest */
        }
        free(c->stash);
        c->stash = NULL;
        c->stash_len = 0;
        room_list_remove(ctx, c);
        update_rx(c);
    }
}

static int on_writable(fwn_ctx *ctx, fwn_conn *c) {
    if (c->close_requested) return -1;
    if (c->connecting) {
        if (dial_done(ctx, c)) return -1;
    }
    /* lws holds the unsent rest of an earlier write; it calls us again once that is out */
    if (lws_partial_buffered(c->wsi)) return 0;
    uint8_t *p = ctx->scratch + LWS_PRE;
    int drain = 0;
    pthread_mutex_lock(&ctx->lock);
    uint32_t n = fwn_outq_take(&c->out, p, FWN_WRITE_CHUNK);
    uint32_t left = c->out.len;
    if (c->want_drain && (left == 0 || left < ctx->high_water / 2)) {
        c->want_drain = 0;
        drain = 1;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (n) {
        fwn_stat_sub(ctx, FWN_STAT_QUEUED_OUT, n);
        /* lws takes it all: what the kernel refuses it buffers itself (lws_partial_buffered) */
        if (lws_write(c->wsi, p, n, LWS_WRITE_RAW) < (int)n) return -1;
        fwn_stat_add(ctx, FWN_STAT_BYTES_OUT, n);
    }
    if (drain) fwn_emit(ctx, FWN_EV_DRAIN, c->id, NULL, 0, NULL, 0);
    if (left || lws_partial_buffered(c->wsi)) {
        lws_callback_on_writable(c->wsi);
    } else if (c->ending && !c->fin_sent) {
        c->fin_sent = 1;
        shutdown(c->fd, SHUT_WR);
    }
    return 0;
}

void fwn_io_writable(fwn_ctx *ctx, fwn_conn *c) {
    if (c->wsi && !c->connecting) lws_callback_on_writable(c->wsi);
}

void fwn_io_end(fwn_ctx *ctx, fwn_conn *c) {
    c->ending = 1;
    fwn_io_writable(ctx, c);
}

void fwn_io_close(fwn_ctx *ctx, fwn_conn *c) {
    if (c->close_requested) return;
    c->close_requested = 1;
    pthread_mutex_lock(&ctx->lock);
    fwn_stat_sub(ctx, FWN_STAT_QUEUED_OUT, c->out.len);
    fwn_outq_free(&c->out);
    pthread_mutex_unlock(&ctx->lock);
    fwn_kill_wsi(c->wsi);
}

void fwn_io_pause(fwn_ctx *ctx, fwn_conn *c, int paused) {
    c->user_paused = (uint8_t)paused;
    update_rx(c);
}

/*
 * Why lws closed the socket: 0 the peer's FIN, an errno for a failure, -1 neither (the socket is
 * still fine: lws gave up on it for a reason of its own). lws's recv already consumed the error,
 * and after a reset a recv reads 0 just as after a FIN, so the TCP state tells them apart.
 */
static int peer_end_or_error(fwn_conn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (!getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) && err) return err;
    if (c->is_unix) {
        char b;
        return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ? 0 : -1;
    }
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
    case TCP_CLOSE: /* both FINs done, or a reset before ours */
        return c->fin_sent ? 0 : ECONNRESET;
    default:
        return -1;
    }
}

/* lws closes a raw socket on error, on POLLHUP and on a read of 0 (the peer's FIN: lws 4.1.6
 * cannot keep a half-closed raw socket). The fd is still open here, so tell FIN from error. */
static void on_close(fwn_ctx *ctx, fwn_conn *c) {
    if (ctx->adopting == c) ctx->adopting = NULL;
    if (c->connecting) {
        int err = c->connect_errno;
        socklen_t el = sizeof err;
        if (!err && (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) || !err)) err = ECONNREFUSED;
        const char *why = c->aborted ? "aborted" : __atomic_load_n(&ctx->stopping, __ATOMIC_ACQUIRE) ? "stopped" : strerror(err);
        fwn_dial_remove(ctx, c);
        fwn_emit_text(ctx, FWN_EV_CONNECT_FAILED, c->dial_id, why);
        conn_free(c);
        return;
    }
    room_list_remove(ctx, c);
    pthread_mutex_lock(&ctx->lock);
    fwn_table_remove(&ctx->table, c->id);
    c->send_closed = 1;
    fwn_stat_sub(ctx, FWN_STAT_QUEUED_OUT, c->out.len);
    pthread_mutex_unlock(&ctx->lock);
    char why[128] = "";
    if (!c->close_requested && !__atomic_load_n(&ctx->stopping, __ATOMIC_ACQUIRE)) {
        if (c->stash_len) fwn_emit_data_pending(ctx, c->id, c->stash, c->stash_len);
        int err = peer_end_or_error(c);
        if (err == 0)
            fwn_emit(ctx, FWN_EV_END, c->id, NULL, 0, NULL, 0);
        else if (err > 0)
            snprintf(why, sizeof why, "%s", strerror(err));
    }
    fwn_emit_text(ctx, FWN_EV_CLOSED, c->id, why);
    fwn_stat_sub(ctx, FWN_STAT_CONNECTIONS, 1);
    conn_free(c);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    fwn_ctx *ctx = lws_context_user(lws_get_context(wsi));
    if (!ctx) return 0;
    void *opaque = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        fwn_io_run_commands(ctx);
        return 0;
    case LWS_CALLBACK_RAW_ADOPT: {
        fwn_conn *c = opaque;
        if (!c) return -1;
        c->wsi = wsi;
        if (c->connecting) return 0; /* announced once the dial completes */
        return conn_open(ctx, c, FWN_EV_ACCEPTED, c->listener_id);
    }
    case LWS_CALLBACK_RAW_RX:
        return opaque ? on_rx(ctx, opaque, in, (uint32_t)len) : -1;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return opaque ? on_writable(ctx, opaque) : -1;
    case LWS_CALLBACK_RAW_CLOSE:
        if (opaque) {
            lws_set_opaque_user_data(wsi, NULL);
            on_close(ctx, opaque);
        }
        return 0;
    case LWS_CALLBACK_RAW_RX_FILE:
        return opaque ? fwn_listener_readable(ctx, opaque) : -1;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (opaque) {
            lws_set_opaque_user_data(wsi, NULL);
            fwn_listener_closed(ctx, opaque);
        }
        return 0;
    default:
        return 0;
    }
}
