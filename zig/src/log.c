/*
 * lws logging, routed into the context's records (FWN_EV_LOG) instead of stderr.
 *
 * lws 4.1.6's emit function has no user pointer and the level/emitter are process-wide, so the
 * one way to find the context that is logging is a thread-local pointer: each I/O thread sets it
 * to its own context (every lws call of a context happens on its I/O thread). It is per thread,
 * not state shared between contexts. Lines logged on any other thread are dropped.
 */
#include <stddef.h>

#include <libwebsockets.h>

#include "internal.h"

static __thread fwn_ctx *log_ctx;

static void emit(int level, const char *line) {
    fwn_ctx *ctx = log_ctx;
    if (ctx && line) fwn_emit_droppable(ctx, FWN_EV_LOG, (uint32_t)level, line);
}

void fwn_log_attach(fwn_ctx *ctx) {
    log_ctx = ctx;
    lws_set_log_level(LLL_ERR | LLL_WARN, emit);
}
