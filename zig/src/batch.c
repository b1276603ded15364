/*
 * The two batch buffers: the I/O thread appends records to buffer `fill`, JS takes it with
 * fwn_swap and reads it in place while the I/O thread fills the other one. Control records
 * that find no room go to a pending list flushed first into the next buffer, so they are never
 * lost; DATA that finds no room is refused (the caller pauses reading instead).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static uint32_t pad4(uint32_t n) { return (n + 3u) & ~3u; }

static void write_header(uint8_t *p, uint8_t kind, uint32_t id, uint32_t len) {
    p[0] = kind;
    p[1] = 0;
    p[2] = 0;
    p[3] = 0;
    /* little-endian on the only target we build for (x86_64) */
    memcpy(p + 4, &id, 4);
    memcpy(p + 8, &len, 4);
}

/* Writes one record at `p`; returns its size including the padding. */
static uint32_t write_record(uint8_t *p, uint8_t kind, uint32_t id, const void *a, uint32_t alen,
                             const void *b, uint32_t blen) {
    uint32_t len = alen + blen, size = FWN_REC_HEADER + pad4(len);
    write_header(p, kind, id, len);
    if (alen) memcpy(p + FWN_REC_HEADER, a, alen);
    if (blen) memcpy(p + FWN_REC_HEADER + alen, b, blen);
    memset(p + FWN_REC_HEADER + len, 0, size - FWN_REC_HEADER - len);
    return size;
}

static void flush_pending_locked(fwn_ctx *ctx) {
    while (ctx->pend_head) {
        fwn_rec *r = ctx->pend_head;
        if (ctx->batch_bytes - ctx->used[ctx->fill] < r->size) return;
        memcpy(ctx->buf[ctx->fill] + ctx->used[ctx->fill], r->bytes, r->size);
        ctx->used[ctx->fill] += r->size;
        ctx->pend_head = r->next;
        if (!ctx->pend_head) ctx->pend_tail = NULL;
        free(r);
    }
}

/* After an append: the one notify of an armed context, and any fwn_wait. Returns the notify to call unlocked. */
static void (*appended_locked(fwn_ctx *ctx))(void) {
    void (*notify)(void) = NULL;
    if (ctx->armed) {
        ctx->armed = 0;
        notify = ctx->notify;
    }
    if (ctx->waiters) pthread_cond_broadcast(&ctx->cond);
    return notify;
}

static void push_pending_locked(fwn_ctx *ctx, uint8_t kind, uint32_t id, const void *a, uint32_t alen,
                                const void *b, uint32_t blen) {
    uint32_t size = FWN_REC_HEADER + pad4(alen + blen);
    fwn_rec *r = malloc(sizeof(fwn_rec) + size);
    if (!r) return; /* out of memory: nothing better to do than drop */
    r->next = NULL;
    r->size = write_record(r->bytes, kind, id, a, alen, b, blen);
    if (ctx->pend_tail)
        ctx->pend_tail->next = r;
    else
        ctx->pend_head = r;
    ctx->pend_tail = r;
}

void fwn_emit(fwn_ctx *ctx, uint8_t kind, uint32_t id, const void *a, uint32_t alen, const void *b, uint32_t blen) {
    uint32_t size = FWN_REC_HEADER + pad4(alen + blen);
    pthread_mutex_lock(&ctx->lock);
    flush_pending_locked(ctx);
    if (!ctx->pend_head && ctx->batch_bytes - ctx->used[ctx->fill] >= size)
        ctx->used[ctx->fill] += write_record(ctx->buf[ctx->fill] + ctx->used[ctx->fill], kind, id, a, alen, b, blen);
    else
        push_pending_locked(ctx, kind, id, a, alen, b, blen);
    void (*notify)(void) = appended_locked(ctx);
    pthread_mutex_unlock(&ctx->lock);
    if (notify) notify();
}

void fwn_emit_text(fwn_ctx *ctx, uint8_t kind, uint32_t id, const char *text) {
    size_t n = text ? strlen(text) : 0;
    if (n > 1024) n = 1024;
    fwn_emit(ctx, kind, id, text, (uint32_t)n, NULL, 0);
}

uint32_t fwn_emit_data(fwn_ctx *ctx, uint32_t id, const uint8_t *data, uint32_t len) {
    uint32_t take = 0;
    void (*notify)(void) = NULL;
    pthread_mutex_lock(&ctx->lock);
    flush_pending_locked(ctx);
    uint32_t room = ctx->batch_bytes - ctx->used[ctx->fill];
    /* while control records wait, nothing may overtake them */
    if (!ctx->pend_head && room > FWN_REC_HEADER) {
        take = (room - FWN_REC_HEADER) & ~3u;
        if (take > len) take = len;
        if (take) {
            ctx->used[ctx->fill] += write_record(ctx->buf[ctx->fill] + ctx->used[ctx->fill], FWN_EV_DATA, id, data, take, NULL, 0);
            notify = appended_locked(ctx);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (notify) notify();
    return take;
}

uint32_t fwn_data_room(fwn_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    flush_pending_locked(ctx);
    uint32_t room = ctx->batch_bytes - ctx->used[ctx->fill];
    room = ctx->pend_head || room <= FWN_REC_HEADER ? 0 : (room - FWN_REC_HEADER) & ~3u;
    pthread_mutex_unlock(&ctx->lock);
    return room;
}

/* Log lines: dropped rather than queued when there is no room. */
void fwn_emit_droppable(fwn_ctx *ctx, uint8_t kind, uint32_t id, const char *text) {
    uint32_t n = (uint32_t)strnlen(text, 1024);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
    void (*notify)(void) = NULL;
    pthread_mutex_lock(&ctx->lock);
    flush_pending_locked(ctx);
    if (!ctx->pend_head && ctx->batch_bytes - ctx->used[ctx->fill] >= FWN_REC_HEADER + pad4(n)) {
        ctx->used[ctx->fill] += write_record(ctx->buf[ctx->fill] + ctx->used[ctx->fill], kind, id, text, n, NULL, 0);
        notify = appended_locked(ctx);
    }
    pthread_mutex_unlock(&ctx->lock);
    if (notify) notify();
}

void fwn_batch_free(fwn_ctx *ctx) {
    while (ctx->pend_head) {
        fwn_rec *r = ctx->pend_head;
        ctx->pend_head = r->next;
        free(r);
    }
    ctx->pend_tail = NULL;
    free(ctx->buf[0]);
    free(ctx->buf[1]);
    ctx->buf[0] = ctx->buf[1] = NULL;
}

FWN_EXPORT uint8_t *fwn_inbuf(void *vctx, int32_t which) {
    fwn_ctx *ctx = vctx;
    if (!ctx || (which != 0 && which != 1)) return NULL;
    return ctx->buf[which];
}

FWN_EXPORT int64_t fwn_swap(void *vctx) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    int wake = 0;
    pthread_mutex_lock(&ctx->lock);
    flush_pending_locked(ctx);
    int which = ctx->fill;
    uint32_t used = ctx->used[which];
    ctx->fill = which ^ 1;
    ctx->used[ctx->fill] = 0;
    flush_pending_locked(ctx);
    if (used == 0 && ctx->used[ctx->fill] == 0) ctx->armed = 1;
    if (used) fwn_stat_add(ctx, FWN_STAT_BATCHES, 1);
    /* room again: connections paused for it may read on */
    if (ctx->room_paused_count > 0 && !ctx->resume_queued && !ctx->stopping) {
        fwn_cmd *cmd = calloc(1, sizeof *cmd);
        if (cmd) {
            cmd->kind = CMD_RESUME_RX;
            ctx->resume_queued = 1;
            wake = fwn_enqueue_locked(ctx, cmd);
        }
    }
    if (wake) fwn_wake_locked(ctx);
    pthread_mutex_unlock(&ctx->lock);
    return (int64_t)which * 4294967296LL + (int64_t)used;
}

FWN_EXPORT int32_t fwn_wait(void *vctx, int32_t timeout_ms) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    int32_t rc;
    pthread_mutex_lock(&ctx->lock);
    ctx->waiters++;
    for (;;) {
        if (ctx->stopping) { /* the records left can still be taken with fwn_swap */
            rc = FWN_ERR_STOPPED;
            break;
        }
        if (ctx->used[ctx->fill] > 0 || ctx->pend_head) {
            rc = 1;
            break;
        }
        if (timeout_ms == 0) {
            rc = 0;
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&ctx->cond, &ctx->lock);
        } else if (pthread_cond_timedwait(&ctx->cond, &ctx->lock, &deadline) == ETIMEDOUT) {
            rc = (ctx->used[ctx->fill] > 0 || ctx->pend_head) ? 1 : 0;
            break;
        }
    }
    ctx->waiters--;
    if (ctx->waiters == 0) pthread_cond_broadcast(&ctx->cond); /* fwn_free may wait for this */
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}
