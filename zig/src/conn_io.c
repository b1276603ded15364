/*
 * A connection's bytes on the I/O thread: recv into the batch (never more than it has room
 * for: a connection without room stops reading until the next fwn_swap), send from the out
 * queue (what the kernel does not take stays queued: nothing is buffered elsewhere), FIN,
 * half-close both ways, pause.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "internal.h"

#define SENDS_PER_WAKE 4 /* fairness: at most 1 MiB per connection per loop turn */

static void update_rx(fwn_conn *c) {
    lws_rx_flow_control(c->wsi, !(c->user_paused || c->room_paused || c->peer_fin));
}

static void room_pause(fwn_ctx *ctx, fwn_conn *c) {
    if (c->room_paused) return;
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

void fwn_room_forget(fwn_ctx *ctx, fwn_conn *c) {
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

/* After a swap: every connection paused for room reads again (and pauses again if it must). */
void fwn_io_resume_rx(fwn_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    ctx->resume_queued = 0;
    pthread_mutex_unlock(&ctx->lock);
    while (ctx->room_head) {
        fwn_conn *c = ctx->room_head;
        fwn_room_forget(ctx, c);
        update_rx(c);
    }
}

/*
 * lws's raw-file role clears POLLOUT *after* the writable callback returns, so a request made
 * inside it is lost: the connection goes on a list instead, re-armed after lws_service returns.
 */
static void rearm(fwn_ctx *ctx, fwn_conn *c) {
    if (c->rearm_queued) return;
    c->rearm_queued = 1;
    c->rearm_prev = NULL;
    c->rearm_next = ctx->rearm_head;
    if (ctx->rearm_head) ctx->rearm_head->rearm_prev = c;
    ctx->rearm_head = c;
}

void fwn_rearm_forget(fwn_ctx *ctx, fwn_conn *c) {
    if (!c->rearm_queued) return;
    if (c->rearm_prev)
        c->rearm_prev->rearm_next = c->rearm_next;
    else
        ctx->rearm_head = c->rearm_next;
    if (c->rearm_next) c->rearm_next->rearm_prev = c->rearm_prev;
    c->rearm_prev = c->rearm_next = NULL;
    c->rearm_queued = 0;
}

void fwn_io_rearm(fwn_ctx *ctx) {
    while (ctx->rearm_head) {
        fwn_conn *c = ctx->rearm_head;
        fwn_rearm_forget(ctx, c);
        lws_callback_on_writable(c->wsi);
    }
}

int fwn_conn_readable(fwn_ctx *ctx, fwn_conn *c) {
    if (c->connecting && fwn_dial_done(ctx, c)) return -1;
    if (c->close_requested || c->peer_fin) return 0;
    uint32_t room = fwn_data_room(ctx);
    if (!room) {
        room_pause(ctx, c);
        return 0;
    }
    uint32_t want = room < FWN_RX_BUFFER ? room : FWN_RX_BUFFER;
    ssize_t n = recv(c->fd, ctx->scratch, want, MSG_DONTWAIT);
    if (n > 0) {
        fwn_stat_add(ctx, FWN_STAT_BYTES_IN, (uint64_t)n);
        /* room only grows meanwhile (JS swaps; only this thread appends), so it all fits */
        fwn_emit_data(ctx, c->id, ctx->scratch, (uint32_t)n);
        return 0;
    }
    if (n == 0) { /* the peer's FIN: keep the socket for our side until fwn_end / fwn_close */
        c->peer_fin = 1;
        fwn_emit(ctx, FWN_EV_END, c->id, NULL, 0, NULL, 0);
        update_rx(c);
        return c->fin_sent ? -1 : 0; /* both sides done: close */
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    c->close_errno = errno;
    return -1;
}

int fwn_conn_writable(fwn_ctx *ctx, fwn_conn *c) {
    if (c->close_requested) return -1;
    if (c->connecting && fwn_dial_done(ctx, c)) return -1;
    uint32_t left = 0;
    for (int i = 0; i < SENDS_PER_WAKE; i++) {
        pthread_mutex_lock(&ctx->lock);
        uint32_t n = fwn_outq_peek(&c->out, ctx->scratch, FWN_WRITE_CHUNK);
        pthread_mutex_unlock(&ctx->lock);
        if (!n) break;
        ssize_t w = send(c->fd, ctx->scratch, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            c->close_errno = errno;
            return -1;
        }
        pthread_mutex_lock(&ctx->lock);
        fwn_outq_drop(&c->out, (uint32_t)w);
        pthread_mutex_unlock(&ctx->lock);
        fwn_stat_sub(ctx, FWN_STAT_QUEUED_OUT, (uint64_t)w);
        fwn_stat_add(ctx, FWN_STAT_BYTES_OUT, (uint64_t)w);
        if ((uint32_t)w < n) break; /* the kernel is full */
    }
    int drain = 0;
    pthread_mutex_lock(&ctx->lock);
    left = c->out.len;
    /* also after fwn_send's direct send took all it accepted (nothing was queued) */
    if (c->want_drain && (left == 0 || left < ctx->high_water / 2)) {
        c->want_drain = 0;
        drain = 1;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (drain) fwn_emit(ctx, FWN_EV_DRAIN, c->id, NULL, 0, NULL, 0);
    if (left) {
        rearm(ctx, c); /* POLLOUT when the kernel has room again */
    } else if (c->ending && !c->fin_sent) {
        c->fin_sent = 1;
        shutdown(c->fd, SHUT_WR);
        if (c->peer_fin) return -1; /* both sides done: close */
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
