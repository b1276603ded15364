/*
 * The two batch buffers: the I/O thread appends records to the one it is filling; JS takes it
 * with fwn_swap and reads it in place while the I/O thread fills the other. A control record
 * that does not fit waits in a pending list that goes first into the next buffer, so no record
 * is ever lost and order is kept; DATA never waits there (the connection pauses instead).
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t padded(uint32_t n) { return (n + 3u) & ~3u; }

static void put_header(uint8_t *at, uint8_t kind, uint32_t id, uint32_t len) {
  at[0] = kind;
  at[1] = 0;
  at[2] = 0;
  at[3] = 0;
  memcpy(at + 4, &id, 4); /* x86_64 and aarch64 are little-endian, as the record format is */
  memcpy(at + 8, &len, 4);
}

/* After an append: wake fwn_wait, and say whether notify is due (armed: exactly once). */
static int woken(struct fwn_ctx *ctx) {
  if (ctx->waiters > 0) pthread_cond_broadcast(&ctx->events_cond);
  if (!ctx->armed) return 0;
  ctx->armed = 0;
  return ctx->notify != NULL && !ctx->stopping;
}

int fwn_append(struct fwn_ctx *ctx, uint8_t kind, uint32_t id, const void *a, uint32_t a_len, const void *b, uint32_t b_len) {
  uint32_t len = a_len + b_len;
  uint32_t size = padded(FWN_RECORD_HEADER + len);
  int f = ctx->filling;
  if (ctx->pending_head == NULL && ctx->used[f] + size <= ctx->batch_bytes) {
    uint8_t *at = ctx->batch[f] + ctx->used[f];
    put_header(at, kind, id, len);
    if (a_len) memcpy(at + FWN_RECORD_HEADER, a, a_len);
    if (b_len) memcpy(at + FWN_RECORD_HEADER + a_len, b, b_len);
    memset(at + FWN_RECORD_HEADER + len, 0, size - FWN_RECORD_HEADER - len);
    ctx->used[f] += size;
    return woken(ctx);
  }
  struct fwn_pending *p = calloc(1, sizeof *p + size);
  if (p == NULL) return 0; /* out of memory: nothing better to do than drop a log line or similar */
  p->size = size;
  put_header(p->bytes, kind, id, len);
  if (a_len) memcpy(p->bytes + FWN_RECORD_HEADER, a, a_len);
  if (b_len) memcpy(p->bytes + FWN_RECORD_HEADER + a_len, b, b_len);
  if (ctx->pending_tail) ctx->pending_tail->next = p;
  else ctx->pending_head = p;
  ctx->pending_tail = p;
  return woken(ctx);
}

uint32_t fwn_data_room(struct fwn_ctx *ctx) {
  if (ctx->pending_head != NULL) return 0;
  uint32_t used = ctx->used[ctx->filling];
  if (used + FWN_RECORD_HEADER + FWN_MIN_READ > ctx->batch_bytes) return 0;
  uint32_t room = (ctx->batch_bytes - used - FWN_RECORD_HEADER) & ~3u;
  return room > FWN_MAX_IO ? FWN_MAX_IO : room;
}

uint8_t *fwn_data_target(struct fwn_ctx *ctx) { return ctx->batch[ctx->filling] + ctx->used[ctx->filling] + FWN_RECORD_HEADER; }

int fwn_commit_data(struct fwn_ctx *ctx, uint32_t conn, uint32_t len) {
  int f = ctx->filling;
  uint8_t *at = ctx->batch[f] + ctx->used[f];
  uint32_t size = padded(FWN_RECORD_HEADER + len);
  put_header(at, FWN_EV_DATA, conn, len);
  memset(at + FWN_RECORD_HEADER + len, 0, size - FWN_RECORD_HEADER - len);
  ctx->used[f] += size;
  ctx->stats[FWN_STAT_BYTES_IN] += len;
  return woken(ctx);
}

void fwn_free_pending(struct fwn_ctx *ctx) {
  while (ctx->pending_head) {
    struct fwn_pending *p = ctx->pending_head;
    ctx->pending_head = p->next;
    free(p);
  }
  ctx->pending_tail = NULL;
}

void fwn_call_notify(struct fwn_ctx *ctx, int needed) {
  if (needed) ctx->notify();
}

int64_t fwn_swap(void *handle) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  pthread_mutex_lock(&ctx->lock);
  int taken = ctx->filling;
  uint32_t used = ctx->used[taken];
  int next = taken ^ 1;
  ctx->filling = next;
  ctx->used[next] = 0;
  /* What waited for room goes first, in order, as far as it fits. */
  while (ctx->pending_head && ctx->used[next] + ctx->pending_head->size <= ctx->batch_bytes) {
    struct fwn_pending *p = ctx->pending_head;
    memcpy(ctx->batch[next] + ctx->used[next], p->bytes, p->size);
    ctx->used[next] += p->size;
    ctx->pending_head = p->next;
    free(p);
  }
  if (ctx->pending_head == NULL) ctx->pending_tail = NULL;
  if (used > 0) ctx->stats[FWN_STAT_BATCHES]++;
  int wake_io = 0;
  if (ctx->full_list != NULL && !ctx->resume_full) {
    ctx->resume_full = 1;
    wake_io = 1;
  }
  if (used == 0 && ctx->used[next] == 0) ctx->armed = 1;
  struct lws_context *lws = ctx->lws;
  int stopping = ctx->stopping;
  pthread_mutex_unlock(&ctx->lock);
  if (wake_io && lws != NULL && !stopping) lws_cancel_service(lws);
  return ((int64_t)taken << 32) | used;
}

uint8_t *fwn_inbuf(void *handle, int32_t which) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL || (which != 0 && which != 1)) return NULL;
  return ctx->batch[which];
}
