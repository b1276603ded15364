/*
 * The I/O thread's side of every socket. libwebsockets runs the poll loop, the cross-thread
 * wake-up (lws_cancel_service) and the descriptor bookkeeping; sockets are adopted as raw
 * descriptors, so reads, writes and shutdown are ours: lws's raw-skt role closes a socket on the
 * peer's FIN, and a framed transport needs half-close (the peer's last frames after its FIN).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

int fwn_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static char *copy_text(const char *text) { return text == NULL ? NULL : strdup(text); }

/* Reading is on exactly when nothing holds it: JS's pause, a full batch, the peer's FIN, a pending connect. */
static void apply_rx(struct fwn_conn *c) {
  unsigned want = !c->paused_js && !c->paused_full && !c->peer_fin && !c->connecting && !c->closing;
  if (want == c->rx_enabled) return;
  c->rx_enabled = want;
  lws_rx_flow_control(c->base.wsi, (int)want);
}

/* Closes from outside the socket's own callback: lws closes it on its next service pass. */
static void kill_later(struct fwn_conn *c, const char *reason) {
  if (reason != NULL && c->close_reason == NULL) c->close_reason = copy_text(reason);
  c->closing = 1;
  lws_set_timeout(c->base.wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}

static void unlink_from(struct fwn_conn **list, struct fwn_conn *c, size_t next_offset) {
  for (struct fwn_conn **at = list; *at != NULL; at = (struct fwn_conn **)((uint8_t *)*at + next_offset)) {
    if (*at == c) {
      *at = *(struct fwn_conn **)((uint8_t *)c + next_offset);
      return;
    }
  }
}

struct fwn_conn *fwn_adopt_conn(struct fwn_ctx *ctx, int fd, uint32_t dial) {
  struct fwn_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->base.kind = FWN_KIND_CONN;
  c->base.ctx = ctx;
  c->base.fd = fd;
  c->base.id = ++ctx->next_conn_id;
  c->dial = dial;
  c->connecting = dial != 0;
  c->rx_enabled = 1;
  lws_sock_file_fd_type desc;
  desc.filefd = fd;
  c->base.wsi = lws_adopt_descriptor_vhost(ctx->vhost, LWS_ADOPT_RAW_FILE_DESC, desc, "fwn", NULL);
  if (c->base.wsi == NULL) {
    free(c);
    return NULL;
  }
  lws_set_opaque_user_data(c->base.wsi, c);
  fwn_table_put(ctx, c);
  ctx->stats[FWN_STAT_CONNECTIONS]++;
  apply_rx(c);
  return c;
}

/* Writes what the out queue holds; 1 when the socket should close now (both FINs, or an error). */
static int write_out(struct fwn_ctx *ctx, struct fwn_conn *c, int *notify) {
  while (c->out_head < c->out_len) {
    size_t want = c->out_len - c->out_head;
    ssize_t n = send(c->base.fd, c->out + c->out_head, want > FWN_MAX_IO ? FWN_MAX_IO : want, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->out_head += (size_t)n;
      ctx->stats[FWN_STAT_BYTES_OUT] += (uint64_t)n;
      ctx->stats[FWN_STAT_QUEUED_OUT] -= (uint64_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    if (c->close_reason == NULL) c->close_reason = copy_text(strerror(n < 0 ? errno : EPIPE));
    return 1;
  }
  size_t unsent = c->out_len - c->out_head;
  if (unsent == 0) {
    c->out_head = c->out_len = 0;
    if (c->out_cap > 4 * FWN_MAX_IO) { /* an idle connection gives back a large queue */
      free(c->out);
      c->out = NULL;
      c->out_cap = 0;
    }
    if (c->end_requested && !c->fin_sent) {
      shutdown(c->base.fd, SHUT_WR);
      c->fin_sent = 1;
    }
  } else if (!c->write_listed) {
    /*
     * More when the socket takes it. Not lws_callback_on_writable here: lws 4.1's raw-file role
     * clears POLLOUT after this callback returns, undoing a request made inside it. The I/O
     * thread wakes itself instead and asks from the wake-up callback.
     */
    c->write_listed = 1;
    c->next_write = ctx->write_list;
    ctx->write_list = c;
    ctx->self_wake = 1;
  }
  if (c->short_answered && unsent <= ctx->high_water / 2) {
    c->short_answered = 0;
    *notify |= fwn_append(ctx, FWN_EV_DRAIN, c->base.id, NULL, 0, NULL, 0);
  }
  return c->fin_sent && c->peer_fin;
}

static int on_readable(struct fwn_ctx *ctx, struct fwn_conn *c, int *notify) {
  if (c->closing || !c->rx_enabled) return 0;
  uint32_t room = fwn_data_room(ctx);
  if (room == 0) {
    /* No room in the batch: stop reading (TCP pushes back on the peer) until JS swaps. */
    c->paused_full = 1;
    c->next_full = ctx->full_list;
    ctx->full_list = c;
    ctx->stats[FWN_STAT_RX_PAUSES]++;
    apply_rx(c);
    return 0;
  }
  ssize_t n = recv(c->base.fd, fwn_data_target(ctx), room, MSG_DONTWAIT);
  if (n > 0) {
    *notify |= fwn_commit_data(ctx, c->base.id, (uint32_t)n);
    return 0;
  }
  if (n == 0) {
    c->peer_fin = 1;
    apply_rx(c);
    *notify |= fwn_append(ctx, FWN_EV_END, c->base.id, NULL, 0, NULL, 0);
    return c->fin_sent && c->out_head == c->out_len;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  if (c->close_reason == NULL) c->close_reason = copy_text(strerror(errno));
  return 1;
}

/* A dialled socket became writable: connected, or failed (SO_ERROR says which). */
static int on_connect_done(struct fwn_ctx *ctx, struct fwn_conn *c, int *notify) {
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(c->base.fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) error = errno;
  if (error != 0) {
    if (c->close_reason == NULL) c->close_reason = copy_text(strerror(error));
    return 1;
  }
  c->connecting = 0;
  uint8_t block[4 + 6 + 2 * 46];
  uint32_t dial = c->dial;
  memcpy(block, &dial, 4);
  uint32_t block_len = 4 + fwn_address_block(c->base.fd, block + 4);
  c->dial = 0;
  *notify |= fwn_append(ctx, FWN_EV_CONNECTED, c->base.id, block, block_len, NULL, 0);
  apply_rx(c);
  return 0;
}

static void on_acceptable(struct fwn_ctx *ctx, struct fwn_listener *l, int *notify) {
  for (int i = 0; i < 64; i++) {
    int fd = accept4(l->base.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or EMFILE and the like: the next poll tries again */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on Unix sockets */
    struct fwn_conn *c = fwn_adopt_conn(ctx, fd, 0);
    if (c == NULL) {
      close(fd);
      continue;
    }
    uint8_t block[4 + 6 + 2 * 46];
    memcpy(block, &l->base.id, 4);
    uint32_t block_len = 4 + fwn_address_block(fd, block + 4);
    *notify |= fwn_append(ctx, FWN_EV_ACCEPTED, c->base.id, block, block_len, NULL, 0);
  }
}

static void on_conn_closed(struct fwn_ctx *ctx, struct fwn_conn *c, int *notify) {
  if (c->connecting) {
    if (c->close_reason == NULL) {
      int error = 0;
      socklen_t len = sizeof error;
      getsockopt(c->base.fd, SOL_SOCKET, SO_ERROR, &error, &len);
      c->close_reason = copy_text(error != 0 ? strerror(error) : "connection failed");
    }
    *notify |= fwn_append(ctx, FWN_EV_CONNECT_FAILED, c->dial, c->close_reason, (uint32_t)strlen(c->close_reason), NULL, 0);
  } else {
    const char *reason = c->close_reason;
    *notify |= fwn_append(ctx, FWN_EV_CLOSED, c->base.id, reason, reason == NULL ? 0 : (uint32_t)strlen(reason), NULL, 0);
  }
  fwn_table_remove(ctx, c);
  if (c->write_listed) unlink_from(&ctx->write_list, c, offsetof(struct fwn_conn, next_write));
  if (c->paused_full) unlink_from(&ctx->full_list, c, offsetof(struct fwn_conn, next_full));
  if (c->close_listed) unlink_from(&ctx->close_list, c, offsetof(struct fwn_conn, next_close));
  ctx->stats[FWN_STAT_CONNECTIONS]--;
  ctx->stats[FWN_STAT_QUEUED_OUT] -= c->out_len - c->out_head;
  /* No close(): lws closes an adopted descriptor itself after this callback. */
  free(c->out);
  free(c->close_reason);
  free(c);
}

static void on_listener_closed(struct fwn_ctx *ctx, struct fwn_listener *l, int *notify) {
  for (struct fwn_listener **at = &ctx->listeners; *at != NULL; at = &(*at)->next) {
    if (*at == l) {
      *at = l->next;
      break;
    }
  }
  if (l->unix_path != NULL) unlink(l->unix_path);
  *notify |= fwn_append(ctx, FWN_EV_UNLISTENED, l->base.id, NULL, 0, NULL, 0);
  free(l->unix_path);
  free(l);
}

int fwn_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  (void)user;
  (void)in;
  (void)len;
  if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
    struct fwn_ctx *ctx = lws_context_user(lws_get_context(wsi));
    if (ctx != NULL) fwn_run_commands(ctx);
    return 0;
  }
  if (reason != LWS_CALLBACK_RAW_RX_FILE && reason != LWS_CALLBACK_RAW_WRITEABLE_FILE && reason != LWS_CALLBACK_RAW_CLOSE_FILE) return 0;
  struct fwn_socket *s = lws_get_opaque_user_data(wsi);
  if (s == NULL) return 0;
  struct fwn_ctx *ctx = s->ctx;
  int notify = 0, close_now = 0;
  pthread_mutex_lock(&ctx->lock);
  if (s->kind == FWN_KIND_LISTENER) {
    struct fwn_listener *l = (struct fwn_listener *)s;
    if (reason == LWS_CALLBACK_RAW_RX_FILE) on_acceptable(ctx, l, &notify);
    else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) on_listener_closed(ctx, l, &notify);
  } else {
    struct fwn_conn *c = (struct fwn_conn *)s;
    if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) on_conn_closed(ctx, c, &notify);
    else if (c->closing) close_now = 1;
    else if (reason == LWS_CALLBACK_RAW_RX_FILE) close_now = on_readable(ctx, c, &notify);
    else if (c->connecting) close_now = on_connect_done(ctx, c, &notify);
    else close_now = write_out(ctx, c, &notify);
  }
  int self_wake = ctx->self_wake;
  ctx->self_wake = 0;
  pthread_mutex_unlock(&ctx->lock);
  if (self_wake) lws_cancel_service(ctx->lws);
  fwn_call_notify(ctx, notify);
  return close_now ? -1 : 0;
}

/* Carries out what the JS thread asked for since the last wake-up (lws_cancel_service). */
void fwn_run_commands(struct fwn_ctx *ctx) {
  int notify = 0;
  pthread_mutex_lock(&ctx->lock);
  struct fwn_command *cmd = ctx->cmd_head;
  ctx->cmd_head = ctx->cmd_tail = NULL;
  if (ctx->resume_full) {
    ctx->resume_full = 0;
    for (struct fwn_conn *c = ctx->full_list; c != NULL; c = c->next_full) {
      c->paused_full = 0;
      apply_rx(c);
    }
    ctx->full_list = NULL;
  }
  for (struct fwn_conn *c = ctx->close_list; c != NULL; c = c->next_close) {
    c->close_listed = 0;
    kill_later(c, NULL);
  }
  ctx->close_list = NULL;
  for (struct fwn_conn *c = ctx->write_list; c != NULL; c = c->next_write) {
    c->write_listed = 0;
    if (!c->connecting) lws_callback_on_writable(c->base.wsi);
  }
  ctx->write_list = NULL;
  while (cmd != NULL) {
    struct fwn_command *next = cmd->next;
    char err[256] = "";
    if (cmd->type == FWN_CMD_LISTEN) {
      int fd = fwn_listen_socket(cmd->host, cmd->a, cmd->path, cmd->b, err, sizeof err);
      struct fwn_listener *l = fd < 0 ? NULL : calloc(1, sizeof *l);
      if (l != NULL) {
        lws_sock_file_fd_type desc;
        desc.filefd = fd;
        l->base.kind = FWN_KIND_LISTENER;
        l->base.ctx = ctx;
        l->base.fd = fd;
        l->base.id = cmd->id;
        l->base.wsi = lws_adopt_descriptor_vhost(ctx->vhost, LWS_ADOPT_RAW_FILE_DESC, desc, "fwn", NULL);
        if (l->base.wsi == NULL) {
          snprintf(err, sizeof err, "libwebsockets could not adopt the listening socket");
          close(fd);
          if (cmd->path != NULL) unlink(cmd->path);
          free(l);
          l = NULL;
        }
      } else if (fd >= 0) {
        close(fd);
        snprintf(err, sizeof err, "out of memory");
      }
      if (l != NULL) {
        lws_set_opaque_user_data(l->base.wsi, l);
        l->unix_path = cmd->path;
        cmd->path = NULL;
        l->next = ctx->listeners;
        ctx->listeners = l;
        uint32_t port = (uint32_t)fwn_bound_port(fd);
        notify |= fwn_append(ctx, FWN_EV_LISTENING, cmd->id, &port, 4, NULL, 0);
      } else {
        notify |= fwn_append(ctx, FWN_EV_LISTEN_FAILED, cmd->id, err, (uint32_t)strlen(err), NULL, 0);
      }
    } else if (cmd->type == FWN_CMD_UNLISTEN) {
      struct fwn_listener *l = ctx->listeners;
      while (l != NULL && l->base.id != cmd->id) l = l->next;
      if (l != NULL) lws_set_timeout(l->base.wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
      else notify |= fwn_append(ctx, FWN_EV_UNLISTENED, cmd->id, NULL, 0, NULL, 0);
    } else if (cmd->type == FWN_CMD_CONNECT) {
      int fd = fwn_dial_socket(cmd->host, cmd->a, cmd->path, cmd->local_address, cmd->b, cmd->interface_name, err, sizeof err);
      struct fwn_conn *c = fd < 0 ? NULL : fwn_adopt_conn(ctx, fd, cmd->id);
      if (c != NULL) {
        lws_callback_on_writable(c->base.wsi);
      } else {
        if (fd >= 0) {
          close(fd);
          snprintf(err, sizeof err, "libwebsockets could not adopt the socket (too many open?)");
        }
        notify |= fwn_append(ctx, FWN_EV_CONNECT_FAILED, cmd->id, err, (uint32_t)strlen(err), NULL, 0);
      }
    } else if (cmd->type == FWN_CMD_CONNECT_ABORT) {
      for (uint32_t b = 0; b < FWN_TABLE_BUCKETS; b++)
        for (struct fwn_conn *c = ctx->table[b]; c != NULL; c = c->next_in_bucket)
          if (c->connecting && c->dial == cmd->id && !c->closing) kill_later(c, "aborted");
    } else {
      struct fwn_conn *c = fwn_table_get(ctx, cmd->id);
      if (c != NULL && !c->closing) {
        if (cmd->type == FWN_CMD_PAUSE) {
          c->paused_js = cmd->a != 0;
          apply_rx(c);
        } else if (cmd->a == FWN_OPT_NODELAY) {
          int on = cmd->b != 0;
          setsockopt(c->base.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        } else if (cmd->a == FWN_OPT_KEEPALIVE) {
          int on = cmd->b != 0, idle = cmd->b;
          setsockopt(c->base.fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
          if (on) setsockopt(c->base.fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        }
      }
    }
    free(cmd->host);
    free(cmd->path);
    free(cmd->local_address);
    free(cmd->interface_name);
    free(cmd);
    cmd = next;
  }
  pthread_mutex_unlock(&ctx->lock);
  fwn_call_notify(ctx, notify);
}
