/*
 * What the JS thread asks of a context: listen, connect, send, end, close, pause, options. Sends
 * go straight into the connection's out queue; the rest are queued as commands. Either way the
 * I/O thread is woken with lws_cancel_service (the one libwebsockets call safe from another thread).
 */
#define _GNU_SOURCE
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Queues a command and wakes the I/O thread. Takes ownership of `cmd`. */
static int32_t submit(struct fwn_ctx *ctx, struct fwn_command *cmd) {
  pthread_mutex_lock(&ctx->lock);
  if (ctx->stopping || !ctx->thread_ready) {
    pthread_mutex_unlock(&ctx->lock);
    free(cmd->host);
    free(cmd->path);
    free(cmd->local_address);
    free(cmd->interface_name);
    free(cmd);
    return FWN_ERR_STOPPED;
  }
  if (ctx->cmd_tail) ctx->cmd_tail->next = cmd;
  else ctx->cmd_head = cmd;
  ctx->cmd_tail = cmd;
  struct lws_context *lws = ctx->lws;
  pthread_mutex_unlock(&ctx->lock);
  lws_cancel_service(lws);
  return 0;
}

static struct fwn_command *command(enum fwn_command_type type, uint32_t id, int32_t a, int32_t b) {
  struct fwn_command *cmd = calloc(1, sizeof *cmd);
  if (cmd != NULL) {
    cmd->type = type;
    cmd->id = id;
    cmd->a = a;
    cmd->b = b;
  }
  return cmd;
}

/* A copy of an optional string argument; 0 on success. */
static int copy_arg(char **to, const char *from, size_t max) {
  *to = NULL;
  if (from == NULL) return 0;
  if (strnlen(from, max + 1) > max) return -1;
  *to = strdup(from);
  return *to == NULL ? -1 : 0;
}

int32_t fwn_listen(void *handle, uint32_t id, const char *host, int32_t port, const char *path, int32_t backlog) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL || port < 0 || port > 65535) return FWN_ERR_INVALID;
  struct fwn_command *cmd = command(FWN_CMD_LISTEN, id, port, backlog);
  if (cmd == NULL) return FWN_ERR_NOMEM;
  if (copy_arg(&cmd->host, host, 255) < 0 || copy_arg(&cmd->path, path, 4095) < 0) {
    free(cmd->host);
    free(cmd);
    return FWN_ERR_INVALID;
  }
  return submit(ctx, cmd);
}

int32_t fwn_unlisten(void *handle, uint32_t id) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  struct fwn_command *cmd = command(FWN_CMD_UNLISTEN, id, 0, 0);
  return cmd == NULL ? FWN_ERR_NOMEM : submit(ctx, cmd);
}

int32_t fwn_connect(void *handle, uint32_t id, const char *host, int32_t port, const char *path, const char *local_address, int32_t local_port,
                    const char *interface_name) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL || id == 0 || port < 0 || port > 65535 || local_port < 0 || local_port > 65535) return FWN_ERR_INVALID;
  struct fwn_command *cmd = command(FWN_CMD_CONNECT, id, port, local_port);
  if (cmd == NULL) return FWN_ERR_NOMEM;
  if (copy_arg(&cmd->host, host, 255) < 0 || copy_arg(&cmd->path, path, 4095) < 0 || copy_arg(&cmd->local_address, local_address, 255) < 0 ||
      copy_arg(&cmd->interface_name, interface_name, 15) < 0) {
    free(cmd->host);
    free(cmd->path);
    free(cmd->local_address);
    free(cmd);
    return FWN_ERR_INVALID;
  }
  return submit(ctx, cmd);
}

int32_t fwn_connect_abort(void *handle, uint32_t id) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  struct fwn_command *cmd = command(FWN_CMD_CONNECT_ABORT, id, 0, 0);
  return cmd == NULL ? FWN_ERR_NOMEM : submit(ctx, cmd);
}

int32_t fwn_pause(void *handle, uint32_t conn, int32_t paused) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  struct fwn_command *cmd = command(FWN_CMD_PAUSE, conn, paused != 0, 0);
  return cmd == NULL ? FWN_ERR_NOMEM : submit(ctx, cmd);
}

int32_t fwn_set_option(void *handle, uint32_t conn, int32_t option, int32_t value) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL || (option != FWN_OPT_NODELAY && option != FWN_OPT_KEEPALIVE) || value < 0) return FWN_ERR_INVALID;
  struct fwn_command *cmd = command(FWN_CMD_OPTION, conn, option, value);
  return cmd == NULL ? FWN_ERR_NOMEM : submit(ctx, cmd);
}

/* The connection `conn` if JS may still queue bytes on it (lock held). */
static struct fwn_conn *sendable(struct fwn_ctx *ctx, uint32_t conn) {
  struct fwn_conn *c = fwn_table_get(ctx, conn);
  return c == NULL || c->closing || c->end_requested || c->connecting ? NULL : c;
}

/* Puts `c` on the list the I/O thread walks on its next wake-up; 1 when it must be woken. */
static int list_for_write(struct fwn_ctx *ctx, struct fwn_conn *c) {
  if (c->write_listed) return 0;
  c->write_listed = 1;
  c->next_write = ctx->write_list;
  ctx->write_list = c;
  return 1;
}

int32_t fwn_send(void *handle, uint32_t conn, const uint8_t *bytes, uint32_t len) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL || (bytes == NULL && len > 0)) return FWN_ERR_INVALID;
  pthread_mutex_lock(&ctx->lock);
  struct fwn_conn *c = ctx->stopping ? NULL : sendable(ctx, conn);
  if (c == NULL) {
    pthread_mutex_unlock(&ctx->lock);
    return FWN_ERR_CLOSED;
  }
  size_t queued = c->out_len - c->out_head;
  uint32_t accepted = queued >= ctx->high_water ? 0 : (uint32_t)(ctx->high_water - queued < len ? ctx->high_water - queued : len);
  if (accepted < len) c->short_answered = 1;
  int wake = 0;
  if (accepted > 0) {
    if (c->out_head > 0 && c->out_len + accepted > c->out_cap) { /* move the unsent bytes down before growing */
      memmove(c->out, c->out + c->out_head, queued);
      c->out_len = queued;
      c->out_head = 0;
    }
    if (c->out_len + accepted > c->out_cap) {
      size_t cap = c->out_cap ? c->out_cap : 64 * 1024;
      while (cap < c->out_len + accepted) cap *= 2;
      uint8_t *grown = realloc(c->out, cap);
      if (grown == NULL) {
        pthread_mutex_unlock(&ctx->lock);
        return FWN_ERR_NOMEM;
      }
      c->out = grown;
      c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, bytes, accepted);
    c->out_len += accepted;
    ctx->stats[FWN_STAT_QUEUED_OUT] += accepted;
    wake = list_for_write(ctx, c);
  }
  struct lws_context *lws = ctx->lws;
  pthread_mutex_unlock(&ctx->lock);
  if (wake) lws_cancel_service(lws);
  return (int32_t)accepted;
}

int32_t fwn_end(void *handle, uint32_t conn) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  pthread_mutex_lock(&ctx->lock);
  struct fwn_conn *c = ctx->stopping ? NULL : fwn_table_get(ctx, conn);
  if (c == NULL || c->closing || c->connecting) {
    pthread_mutex_unlock(&ctx->lock);
    return FWN_ERR_CLOSED;
  }
  c->end_requested = 1;
  int wake = list_for_write(ctx, c);
  struct lws_context *lws = ctx->lws;
  pthread_mutex_unlock(&ctx->lock);
  if (wake) lws_cancel_service(lws);
  return 0;
}

int32_t fwn_close(void *handle, uint32_t conn) {
  struct fwn_ctx *ctx = handle;
  if (ctx == NULL) return FWN_ERR_INVALID;
  pthread_mutex_lock(&ctx->lock);
  struct fwn_conn *c = ctx->stopping ? NULL : fwn_table_get(ctx, conn);
  if (c == NULL || c->closing) {
    pthread_mutex_unlock(&ctx->lock);
    return FWN_ERR_CLOSED;
  }
  c->closing = 1;
  ctx->stats[FWN_STAT_QUEUED_OUT] -= c->out_len - c->out_head;
  c->out_head = c->out_len = 0; /* discarded: a close is not a graceful end */
  c->close_listed = 1;
  c->next_close = ctx->close_list;
  ctx->close_list = c;
  struct lws_context *lws = ctx->lws;
  pthread_mutex_unlock(&ctx->lock);
  lws_cancel_service(lws);
  return 0;
}

