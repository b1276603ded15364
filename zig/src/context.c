/*
 * A context: its I/O thread and libwebsockets context, the two-phase stop, logs routed into the
 * batch, and the commands the JS thread queues (every public function but fwn_swap / fwn_inbuf,
 * which are in batch.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "internal.h"

int fwn_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* Immutable: libwebsockets keeps a pointer to it for the context's life. */
static const struct lws_protocols fwn_protocols[] = {
    {"fwn", fwn_lws_callback, 0, 64 * 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/*
 * lws's log hook has no user pointer: each I/O thread records its own context here, so a line
 * logged on that thread lands in that context's batch. Thread-local, so contexts never share it.
 */
static __thread struct fwn_ctx *logging_ctx;

static void emit_log(int level, const char *line) {
  struct fwn_ctx *ctx = logging_ctx;
  if (ctx == NULL) return; /* a line from another thread (none is expected): dropped, never printed */
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
  if (n > 1024) n = 1024;
  pthread_mutex_lock(&ctx->lock);
  int notify = fwn_append(ctx, FWN_EV_LOG, (uint32_t)level, line, (uint32_t)n, NULL, 0);
  pthread_mutex_unlock(&ctx->lock);
  fwn_call_notify(ctx, notify);
}

static int stopping_now(struct fwn_ctx *ctx) { return __atomic_load_n(&ctx->stopping, __ATOMIC_ACQUIRE); }

static void *io_main(void *arg) {
  struct fwn_ctx *ctx = arg;
  logging_ctx = ctx;
  lws_set_log_level(LLL_ERR | LLL_WARN, emit_log);
  struct rlimit nofile;
  unsigned fd_limit = 1024;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur > fd_limit) fd_limit = (unsigned)nofile.rlim_cur;
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  info.user = ctx;
  info.fd_limit_per_thread = fd_limit;
  info.pt_serv_buf_size = 64 * 1024;
  struct lws_context *lws = lws_create_context(&info);
  struct lws_vhost *vhost = NULL;
  if (lws != NULL) {
    struct lws_context_creation_info vinfo;
    memset(&vinfo, 0, sizeof vinfo);
    vinfo.port = CONTEXT_PORT_NO_LISTEN;
    vinfo.protocols = fwn_protocols;
    vinfo.vhost_name = "fwn";
    vhost = lws_create_vhost(lws, &vinfo);
  }
  pthread_mutex_lock(&ctx->lock);
  ctx->lws = lws;
  ctx->vhost = vhost;
  if (lws == NULL || vhost == NULL) ctx->start_failed = 1;
  else ctx->thread_ready = 1;
  pthread_cond_broadcast(&ctx->started_cond);
  pthread_mutex_unlock(&ctx->lock);
  if (vhost == NULL) {
    if (lws != NULL) lws_context_destroy(lws);
    logging_ctx = NULL;
    return NULL;
  }
  /* lws 4.1 ignores the timeout: it sleeps until a socket is ready or lws_cancel_service. */
  while (!stopping_now(ctx)) lws_service(lws, 0);
  lws_context_destroy(lws); /* closes every socket (their CLOSED records go nowhere now) */
  pthread_mutex_lock(&ctx->lock);
  ctx->lws = NULL;
  ctx->vhost = NULL;
  pthread_mutex_unlock(&ctx->lock);
  logging_ctx = NULL;
  return NULL;
}

uint32_t fwn_abi_version(void) { return FWN_ABI_VERSION; }

void *fwn_create(uint32_t batch_bytes, uint32_t high_water, void (*notify)(void)) {
  if (batch_bytes < 64 * 1024 || batch_bytes > (1u << 30) || high_water == 0) return NULL;
  struct fwn_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) return NULL;
  ctx->batch[0] = malloc(batch_bytes);
  ctx->batch[1] = malloc(batch_bytes);
  if (ctx->batch[0] == NULL || ctx->batch[1] == NULL) {
    free(ctx->batch[0]);
    free(ctx->batch[1]);
    free(ctx);
    return NULL;
  }
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  /* Recursive: should libwebsockets ever call back synchronously from a call made under the lock. */
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&ctx->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_condattr_t cattr;
  pthread_condattr_init(&cattr);
  pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
  pthread_cond_init(&ctx->events_cond, &cattr);
  pthread_condattr_destroy(&cattr);
  pthread_cond_init(&ctx->started_cond, NULL);
  ctx->batch_bytes = batch_bytes;
  ctx->high_water = high_water;
  ctx->notify = notify;
  ctx->armed = 1; /* JS has taken nothing yet: the first record notifies */
  return ctx;
}

int32_t fwn_start(void *handle) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  if (ctx->thread_started) return ctx->start_failed ? FWN_ERR_THREAD : 0;
  if (pthread_create(&ctx->thread, NULL, io_main, ctx) != 0) return FWN_ERR_THREAD;
  ctx->thread_started = 1;
  pthread_mutex_lock(&ctx->lock);
  while (!ctx->thread_ready && !ctx->start_failed) pthread_cond_wait(&ctx->started_cond, &ctx->lock);
  int failed = ctx->start_failed;
  pthread_mutex_unlock(&ctx->lock);
  return failed ? FWN_ERR_THREAD : 0;
}

int32_t fwn_wait(void *handle, int32_t timeout_ms) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&ctx->lock);
  ctx->waiters++;
  int32_t result = 0;
  for (;;) {
    if (ctx->stopping) {
      result = FWN_ERR_STOPPED;
      break;
    }
    if (ctx->used[ctx->filling] > 0 || ctx->pending_head != NULL) {
      result = 1;
      break;
    }
    if (pthread_cond_timedwait(&ctx->events_cond, &ctx->lock, &deadline) == ETIMEDOUT) {
      result = ctx->used[ctx->filling] > 0 || ctx->pending_head != NULL ? 1 : 0;
      break;
    }
  }
  ctx->waiters--;
  pthread_mutex_unlock(&ctx->lock);
  return result;
}

int32_t fwn_stats(void *handle, uint64_t *out, int32_t count) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL || out == NULL || count < 0) return FWN_ERR_INVALID;
  if (count > FWN_STAT_COUNT) count = FWN_STAT_COUNT;
  pthread_mutex_lock(&ctx->lock);
  memcpy(out, ctx->stats, (size_t)count * sizeof(uint64_t));
  pthread_mutex_unlock(&ctx->lock);
  return count;
}

int32_t fwn_stop(void *handle) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  pthread_mutex_lock(&ctx->lock);
  if (ctx->stopped) {
    pthread_mutex_unlock(&ctx->lock);
    return 0;
  }
  __atomic_store_n(&ctx->stopping, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&ctx->events_cond);
  struct lws_context *lws = ctx->lws;
  pthread_mutex_unlock(&ctx->lock);
  if (ctx->thread_started) {
    if (lws != NULL) lws_cancel_service(lws);
    pthread_join(ctx->thread, NULL);
  }
  pthread_mutex_lock(&ctx->lock);
  ctx->stopped = 1;
  pthread_cond_broadcast(&ctx->events_cond);
  pthread_mutex_unlock(&ctx->lock);
  return 0;
}

int32_t fwn_free(void *handle) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  pthread_mutex_lock(&ctx->lock);
  int busy = !ctx->stopped || ctx->waiters > 0;
  pthread_mutex_unlock(&ctx->lock);
  if (busy) return FWN_ERR_INVALID;
  while (ctx->cmd_head) {
    struct fwn_command *next = ctx->cmd_head->next;
    free(ctx->cmd_head->host);
    free(ctx->cmd_head->path);
    free(ctx->cmd_head->local_address);
    free(ctx->cmd_head->interface_name);
    free(ctx->cmd_head);
    ctx->cmd_head = next;
  }
  fwn_free_pending(ctx);
  pthread_mutex_destroy(&ctx->lock);
  pthread_cond_destroy(&ctx->events_cond);
  pthread_cond_destroy(&ctx->started_cond);
  free(ctx->batch[0]);
  free(ctx->batch[1]);
  free(ctx);
  return 0;
}
