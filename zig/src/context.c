/*
 * A context's life: create, start (the I/O thread and its lws context), stop (two-phase
 * shutdown: stop joins the thread, free releases memory once no fwn_wait is inside), stats.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

FWN_EXPORT uint32_t fwn_abi_version(void) { return FWN_ABI_VERSION; }

FWN_EXPORT void *fwn_create(uint32_t batch_bytes, uint32_t high_water, void (*notify)(void)) {
    /* a record must always fit in a buffer: the minimum is part of the contract */
    if (batch_bytes < FWN_MIN_BATCH || batch_bytes > FWN_MAX_BATCH) return NULL;
    if (high_water == 0) high_water = FWN_DEFAULT_HIGH_WATER;
    if (high_water > FWN_MAX_HIGH_WATER) high_water = FWN_MAX_HIGH_WATER;
    fwn_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->batch_bytes = batch_bytes & ~3u;
    ctx->high_water = high_water;
    ctx->notify = notify;
    ctx->buf[0] = calloc(1, ctx->batch_bytes);
    ctx->buf[1] = calloc(1, ctx->batch_bytes);
    pthread_condattr_t ca;
    int cond_ok = !pthread_condattr_init(&ca) && !pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) &&
                  !pthread_cond_init(&ctx->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!ctx->buf[0] || !ctx->buf[1] || !cond_ok || pthread_mutex_init(&ctx->lock, NULL)) {
        if (cond_ok) pthread_cond_destroy(&ctx->cond);
        free(ctx->buf[0]);
        free(ctx->buf[1]);
        free(ctx);
        return NULL;
    }
    return ctx;
}

static void *io_thread(void *arg) {
    fwn_ctx *ctx = arg;
    fwn_log_attach(ctx);
    int ok = fwn_lws_init(ctx) == 0;
    pthread_mutex_lock(&ctx->lock);
    ctx->start_state = ok ? 1 : -1;
    pthread_cond_broadcast(&ctx->cond);
    pthread_mutex_unlock(&ctx->lock);
    if (!ok) return NULL;
    fwn_io_run_commands(ctx); /* any queued before the lws context existed */
    while (!__atomic_load_n(&ctx->stopping, __ATOMIC_ACQUIRE))
        if (fwn_lws_service(ctx) < 0) break;
    fwn_lws_destroy(ctx);
    return NULL;
}

FWN_EXPORT int32_t fwn_start(void *vctx) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    pthread_mutex_lock(&ctx->lock);
    if (ctx->stopping) {
        pthread_mutex_unlock(&ctx->lock);
        return FWN_ERR_STOPPED;
    }
    if (ctx->started) {
        pthread_mutex_unlock(&ctx->lock);
        return 0;
    }
    if (pthread_create(&ctx->thread, NULL, io_thread, ctx)) {
        pthread_mutex_unlock(&ctx->lock);
        return FWN_ERR_THREAD;
    }
    ctx->started = 1;
    while (ctx->start_state == 0) pthread_cond_wait(&ctx->cond, &ctx->lock);
    int failed = ctx->start_state < 0;
    pthread_mutex_unlock(&ctx->lock);
    if (failed) {
        pthread_join(ctx->thread, NULL);
        pthread_mutex_lock(&ctx->lock);
        ctx->started = 0;
        ctx->start_state = 0;
        pthread_mutex_unlock(&ctx->lock);
        return FWN_ERR_THREAD;
    }
    return 0;
}

FWN_EXPORT int32_t fwn_stop(void *vctx) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    pthread_mutex_lock(&ctx->lock);
    if (ctx->stopping) {
        pthread_mutex_unlock(&ctx->lock);
        return 0;
    }
    __atomic_store_n(&ctx->stopping, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&ctx->cond);
    fwn_wake_locked(ctx);
    int join = ctx->started;
    pthread_mutex_unlock(&ctx->lock);
    if (join) pthread_join(ctx->thread, NULL);
    pthread_mutex_lock(&ctx->lock);
    ctx->stopped = 1;
    /* commands queued meanwhile never ran */
    fwn_cmd *cmd = ctx->cmd_head;
    ctx->cmd_head = ctx->cmd_tail = NULL;
    pthread_cond_broadcast(&ctx->cond);
    pthread_mutex_unlock(&ctx->lock);
    while (cmd) {
        fwn_cmd *next = cmd->next;
        fwn_free_cmd(cmd);
        cmd = next;
    }
    return 0;
}

FWN_EXPORT int32_t fwn_free(void *vctx) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    pthread_mutex_lock(&ctx->lock);
    int busy = !ctx->stopped || ctx->waiters > 0;
    pthread_mutex_unlock(&ctx->lock);
    if (busy) return FWN_ERR_INVALID;
    fwn_batch_free(ctx);
    fwn_table_free(&ctx->table);
    pthread_cond_destroy(&ctx->cond);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
    return 0;
}

FWN_EXPORT int32_t fwn_stats(void *vctx, uint64_t *out, int32_t count) {
    fwn_ctx *ctx = vctx;
    if (!ctx || !out || count < 0) return FWN_ERR_INVALID;
    if (count > FWN_STAT_COUNT) count = FWN_STAT_COUNT;
    for (int32_t i = 0; i < count; i++) out[i] = __atomic_load_n(&ctx->stats[i], __ATOMIC_RELAXED);
    return count;
}
