/*
 * The command queue from the JS thread to the I/O thread. JS-side calls validate, copy their
 * strings, queue a command under ctx->lock and wake the I/O thread with lws_cancel_service (one
 * wake per batch of commands); the I/O thread runs them on LWS_CALLBACK_EVENT_WAIT_CANCELLED.
 * fwn_send itself only appends to the connection's out queue and asks for a write.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <libwebsockets.h>

#include "internal.h"

void fwn_free_cmd(fwn_cmd *cmd) {
    free(cmd->host);
    free(cmd->path);
    free(cmd->local_address);
    free(cmd->iface);
    free(cmd);
}

int fwn_enqueue_locked(fwn_ctx *ctx, fwn_cmd *cmd) {
    cmd->next = NULL;
    if (ctx->cmd_tail)
        ctx->cmd_tail->next = cmd;
    else
        ctx->cmd_head = cmd;
    ctx->cmd_tail = cmd;
    if (ctx->wake_sent) return 0;
    ctx->wake_sent = 1;
    return 1;
}

/* Under ctx->lock, so the lws context cannot be destroyed meanwhile (the I/O thread clears
 * ctx->lws under the lock first). Before the context exists, the I/O thread runs the queue itself. */
void fwn_wake_locked(fwn_ctx *ctx) {
    if (ctx->lws) lws_cancel_service(ctx->lws);
}

static int queue(fwn_ctx *ctx, fwn_cmd *cmd) {
    pthread_mutex_lock(&ctx->lock);
    if (ctx->stopping) {
        pthread_mutex_unlock(&ctx->lock);
        fwn_free_cmd(cmd);
        return FWN_ERR_STOPPED;
    }
    if (fwn_enqueue_locked(ctx, cmd)) fwn_wake_locked(ctx);
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

static int dup_opt(const char *s, char **out) {
    *out = NULL;
    if (!s) return 0;
    *out = strdup(s);
    return *out ? 0 : FWN_ERR_NOMEM;
}

static fwn_cmd *new_cmd(int kind, uint32_t id) {
    fwn_cmd *cmd = calloc(1, sizeof *cmd);
    if (cmd) {
        cmd->kind = kind;
        cmd->id = id;
    }
    return cmd;
}

static int is_stopping(fwn_ctx *ctx) { return __atomic_load_n(&ctx->stopping, __ATOMIC_ACQUIRE); }

static int path_ok(const char *path) {
    struct sockaddr_un sun;
    return path == NULL || (path[0] && strlen(path) < sizeof sun.sun_path);
}

FWN_EXPORT int32_t fwn_listen(void *vctx, uint32_t id, const char *host, int32_t port, const char *path, int32_t backlog) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    if (is_stopping(ctx)) return FWN_ERR_STOPPED;
    if (!path && (port < 0 || port > 65535)) return FWN_ERR_INVALID;
    if (!path_ok(path)) return FWN_ERR_INVALID;
    fwn_cmd *cmd = new_cmd(CMD_LISTEN, id);
    if (!cmd) return FWN_ERR_NOMEM;
    cmd->port = port;
    cmd->backlog = backlog;
    if (dup_opt(host && host[0] ? host : NULL, &cmd->host) || dup_opt(path, &cmd->path)) {
        fwn_free_cmd(cmd);
        return FWN_ERR_NOMEM;
    }
    return queue(ctx, cmd);
}

FWN_EXPORT int32_t fwn_unlisten(void *vctx, uint32_t id) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    fwn_cmd *cmd = new_cmd(CMD_UNLISTEN, id);
    return cmd ? queue(ctx, cmd) : FWN_ERR_NOMEM;
}

FWN_EXPORT int32_t fwn_connect(void *vctx, uint32_t id, const char *host, int32_t port, const char *path,
                               const char *local_address, int32_t local_port, const char *interface_name) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    if (is_stopping(ctx)) return FWN_ERR_STOPPED;
    if (!path && (port <= 0 || port > 65535)) return FWN_ERR_INVALID;
    if (local_port < 0 || local_port > 65535 || !path_ok(path)) return FWN_ERR_INVALID;
    if (interface_name && strlen(interface_name) >= 16 /* IFNAMSIZ */) return FWN_ERR_INVALID;
    fwn_cmd *cmd = new_cmd(CMD_CONNECT, id);
    if (!cmd) return FWN_ERR_NOMEM;
    cmd->port = port;
    cmd->local_port = local_port;
    if (dup_opt(host && host[0] ? host : NULL, &cmd->host) || dup_opt(path, &cmd->path) ||
        dup_opt(local_address && local_address[0] ? local_address : NULL, &cmd->local_address) ||
        dup_opt(interface_name && interface_name[0] ? interface_name : NULL, &cmd->iface)) {
        fwn_free_cmd(cmd);
        return FWN_ERR_NOMEM;
    }
    return queue(ctx, cmd);
}

FWN_EXPORT int32_t fwn_connect_abort(void *vctx, uint32_t id) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    fwn_cmd *cmd = new_cmd(CMD_ABORT, id);
    return cmd ? queue(ctx, cmd) : FWN_ERR_NOMEM;
}

FWN_EXPORT int32_t fwn_send(void *vctx, uint32_t conn_id, const uint8_t *bytes, uint32_t len) {
    fwn_ctx *ctx = vctx;
    if (!ctx || (!bytes && len)) return FWN_ERR_INVALID;
    fwn_cmd *cmd = NULL;
    int32_t rc;
    pthread_mutex_lock(&ctx->lock);
    fwn_conn *c = ctx->stopping ? NULL : fwn_table_get(&ctx->table, conn_id);
    if (ctx->stopping) {
        rc = FWN_ERR_STOPPED;
    } else if (!c || c->send_closed) {
        rc = FWN_ERR_CLOSED;
    } else {
        uint32_t room = c->out.len < ctx->high_water ? ctx->high_water - c->out.len : 0;
        uint32_t take = len < room ? len : room;
        uint32_t direct = 0;
        /* Fast path: nothing queued means no send of the I/O thread is in flight either (it
         * drops bytes from the queue only after sending them), so this thread may send first
         * without reordering: one syscall instead of a wake and a loop turn. */
        if (take && c->out.len == 0) {
            ssize_t w = send(c->fd, bytes, take, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                direct = (uint32_t)w;
                fwn_stat_add(ctx, FWN_STAT_BYTES_OUT, direct);
            }
        }
        uint32_t rest = take - direct;
        rc = (int32_t)take;
        if (rest && fwn_outq_append(&c->out, bytes + direct, rest)) {
            rc = direct ? (int32_t)direct : FWN_ERR_NOMEM;
        } else {
            fwn_stat_add(ctx, FWN_STAT_QUEUED_OUT, rest);
            if (take < len) c->want_drain = 1;
            /* the I/O thread sends the rest, or (all sent here) reports the DRAIN a short answer owes */
            if ((rest || take < len) && !c->write_cmd_queued && (cmd = new_cmd(CMD_WRITABLE, conn_id))) {
                c->write_cmd_queued = 1;
                if (fwn_enqueue_locked(ctx, cmd)) fwn_wake_locked(ctx);
            }
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* Marks the connection closed for sending and queues `kind` for the I/O thread. */
static int32_t close_side(fwn_ctx *ctx, uint32_t conn_id, int kind) {
    int32_t rc = 0;
    pthread_mutex_lock(&ctx->lock);
    fwn_conn *c = fwn_table_get(&ctx->table, conn_id);
    if (ctx->stopping) {
        rc = FWN_ERR_STOPPED;
    } else if (!c || (kind == CMD_END && c->send_closed)) {
        rc = FWN_ERR_CLOSED;
    } else {
        fwn_cmd *cmd = new_cmd(kind, conn_id);
        if (!cmd) {
            rc = FWN_ERR_NOMEM;
        } else {
            c->send_closed = 1;
            if (fwn_enqueue_locked(ctx, cmd)) fwn_wake_locked(ctx);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

FWN_EXPORT int32_t fwn_end(void *vctx, uint32_t conn_id) {
    return vctx ? close_side(vctx, conn_id, CMD_END) : FWN_ERR_INVALID;
}

FWN_EXPORT int32_t fwn_close(void *vctx, uint32_t conn_id) {
    return vctx ? close_side(vctx, conn_id, CMD_CLOSE) : FWN_ERR_INVALID;
}

FWN_EXPORT int32_t fwn_pause(void *vctx, uint32_t conn_id, int32_t paused) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    int32_t rc = 0;
    pthread_mutex_lock(&ctx->lock);
    fwn_conn *c = fwn_table_get(&ctx->table, conn_id);
    if (ctx->stopping) {
        rc = FWN_ERR_STOPPED;
    } else if (!c) {
        rc = FWN_ERR_CLOSED;
    } else {
        fwn_cmd *cmd = new_cmd(CMD_PAUSE, conn_id);
        if (!cmd) {
            rc = FWN_ERR_NOMEM;
        } else {
            cmd->flag = paused != 0;
            if (fwn_enqueue_locked(ctx, cmd)) fwn_wake_locked(ctx);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* Directly on the JS thread: a connection in the table still owns its fd (the I/O thread
 * removes it from the table before lws closes the socket). */
FWN_EXPORT int32_t fwn_set_option(void *vctx, uint32_t conn_id, int32_t option, int32_t value) {
    fwn_ctx *ctx = vctx;
    if (!ctx) return FWN_ERR_INVALID;
    if (option != FWN_OPT_NODELAY && option != FWN_OPT_KEEPALIVE) return FWN_ERR_INVALID;
    if (option == FWN_OPT_KEEPALIVE && value < 0) return FWN_ERR_INVALID;
    int32_t rc = 0;
    pthread_mutex_lock(&ctx->lock);
    fwn_conn *c = fwn_table_get(&ctx->table, conn_id);
    if (ctx->stopping) {
        rc = FWN_ERR_STOPPED;
    } else if (!c) {
        rc = FWN_ERR_CLOSED;
    } else if (!c->is_unix) { /* TCP options mean nothing on a Unix socket: accepted as no-ops */
        int on = value != 0;
        if (option == FWN_OPT_NODELAY) {
            if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on)) rc = FWN_ERR_INVALID;
        } else {
            if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on)) rc = FWN_ERR_INVALID;
            if (on && !rc && setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &value, sizeof value)) rc = FWN_ERR_INVALID;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* I/O thread: runs every queued command. */
void fwn_io_run_commands(fwn_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    fwn_cmd *cmd = ctx->cmd_head;
    ctx->cmd_head = ctx->cmd_tail = NULL;
    ctx->wake_sent = 0;
    pthread_mutex_unlock(&ctx->lock);
    while (cmd) {
        fwn_cmd *next = cmd->next;
        fwn_conn *c = NULL;
        if (cmd->kind >= CMD_WRITABLE && cmd->kind <= CMD_PAUSE) {
            pthread_mutex_lock(&ctx->lock);
            c = fwn_table_get(&ctx->table, cmd->id);
            if (c && cmd->kind == CMD_WRITABLE) c->write_cmd_queued = 0;
            pthread_mutex_unlock(&ctx->lock);
        }
        switch (cmd->kind) {
        case CMD_LISTEN: fwn_io_listen(ctx, cmd); break;
        case CMD_UNLISTEN: fwn_io_unlisten(ctx, cmd->id); break;
        case CMD_CONNECT: fwn_io_connect(ctx, cmd); break;
        case CMD_ABORT: fwn_io_abort(ctx, cmd->id); break;
        case CMD_WRITABLE: if (c) fwn_io_writable(ctx, c); break;
        case CMD_END: if (c) fwn_io_end(ctx, c); break;
        case CMD_CLOSE: if (c) fwn_io_close(ctx, c); break;
        case CMD_PAUSE: if (c) fwn_io_pause(ctx, c, cmd->flag); break;
        case CMD_RESUME_RX: fwn_io_resume_rx(ctx); break;
        default: break;
        }
        fwn_free_cmd(cmd);
        cmd = next;
    }
}
