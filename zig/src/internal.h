/*
 * Internal types of libframewire_native. Everything hangs off one fwn_ctx; the fields are grouped
 * by who may touch them: "shared" ones only under ctx->lock, "io" ones only on the I/O thread.
 * Rule: the I/O thread never holds ctx->lock while it calls into libwebsockets (lws may log, and
 * the log emitter takes the lock).
 */
#ifndef FWN_INTERNAL_H
#define FWN_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "framewire_native.h"

#define FWN_EXPORT __attribute__((visibility("default")))

#define FWN_MIN_BATCH 65536u
#define FWN_MAX_BATCH (1u << 30)
#define FWN_REC_HEADER 12u
#define FWN_WRITE_CHUNK (256u * 1024u) /* bytes per send() */
#define FWN_RX_BUFFER 65536u           /* pt_serv_buf_size and rx_buffer_size */
#define FWN_DEFAULT_HIGH_WATER (1u << 20)
#define FWN_MAX_HIGH_WATER (1u << 30)
#define FWN_ADDR_BLOCK_MAX (6 + 2 * 64)

struct lws;
struct lws_context;
struct lws_vhost;
struct fwn_ctx;

/* Bytes fwn_send accepted and the I/O thread has not handed to lws yet. */
typedef struct fwn_outq {
    uint8_t *data;
    uint32_t head, len, cap;
} fwn_outq;

/* The first member of fwn_conn and fwn_listener: tells a wsi's opaque pointer apart. */
enum { FWN_OBJ_CONN = 1, FWN_OBJ_LISTENER = 2 };

typedef struct fwn_conn {
    int obj; /* FWN_OBJ_CONN */
    struct fwn_ctx *ctx;
    uint32_t id;         /* 0 while a dial is still connecting (JS does not know it yet) */
    uint32_t dial_id;    /* JS's dial id, for dialed connections */
    uint32_t listener_id;
    int fd;
    uint8_t is_unix;

    /* shared (ctx->lock) */
    fwn_outq out;
    uint8_t send_closed;       /* fwn_end / fwn_close was called, or the connection closed */
    uint8_t write_cmd_queued;  /* a CMD_WRITABLE for it is in the command queue */
    uint8_t want_drain;        /* fwn_send answered short: DRAIN when the queue goes low */
    struct fwn_conn *table_next;

    /* io */
    struct lws *wsi;
    uint8_t connecting, aborted, ending, fin_sent, peer_fin, close_requested, user_paused, room_paused;
    uint8_t in_table; /* announced to JS: CLOSED will follow */
    int close_errno;  /* why a recv/send/connect failed */
    struct fwn_conn *room_prev, *room_next; /* connections paused for batch room */
    struct fwn_conn *dial_next;             /* dials still connecting */
    struct fwn_conn *rearm_prev, *rearm_next; /* want POLLOUT again (see fwn_io_rearm) */
    uint8_t rearm_queued;
} fwn_conn;

typedef struct fwn_listener {
    int obj; /* FWN_OBJ_LISTENER */
    struct fwn_listener *next;
    uint32_t id;
    int fd;
    uint8_t unlisten_requested;
    struct lws *wsi;
} fwn_listener;

/* A control record that did not fit in the filling buffer; flushed first into the next one. */
typedef struct fwn_rec {
    struct fwn_rec *next;
    uint32_t size; /* header + payload + pad */
    uint8_t bytes[];
} fwn_rec;

enum fwn_cmd_kind {
    CMD_LISTEN = 1,
    CMD_UNLISTEN,
    CMD_CONNECT,
    CMD_ABORT,
    CMD_WRITABLE,
    CMD_END,
    CMD_CLOSE,
    CMD_PAUSE,
    CMD_RESUME_RX,
};

typedef struct fwn_cmd {
    struct fwn_cmd *next;
    int kind;
    uint32_t id;
    int32_t port, backlog, local_port, flag;
    char *host, *path, *local_address, *iface;
} fwn_cmd;

typedef struct fwn_table {
    fwn_conn **buckets;
    uint32_t mask; /* buckets - 1; 0 when not allocated */
    uint32_t count;
} fwn_table;

typedef struct fwn_ctx {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t batch_bytes, high_water;
    void (*notify)(void);

    /* shared (ctx->lock) */
    uint8_t *buf[2];
    uint32_t used[2];
    int fill; /* the buffer the I/O thread is filling */
    int armed;
    fwn_rec *pend_head, *pend_tail;
    fwn_cmd *cmd_head, *cmd_tail;
    int wake_sent;         /* a lws_cancel_service is in flight for the queued commands */
    int room_paused_count; /* connections waiting for batch room */
    int resume_queued;
    fwn_table table;
    int started, start_state; /* start_state: 0 pending, 1 running, -1 failed */
    int stopping;             /* also read atomically by the I/O loop */
    int stopped;
    int waiters;
    struct lws_context *lws; /* non-null while the I/O thread's lws context lives */
    pthread_t thread;

    uint64_t stats[FWN_STAT_COUNT]; /* atomics */

    /* io */
    struct lws_vhost *vhost;
    uint32_t next_conn_id;
    fwn_listener *listeners;
    fwn_conn *dials;
    fwn_conn *room_head;
    fwn_conn *rearm_head;
    fwn_conn *adopting; /* the conn inside lws_adopt_descriptor_vhost_via_info */
    uint8_t *scratch; /* FWN_WRITE_CHUNK bytes for recv and send */
} fwn_ctx;

static inline void fwn_stat_add(fwn_ctx *ctx, int slot, uint64_t n) {
    __atomic_fetch_add(&ctx->stats[slot], n, __ATOMIC_RELAXED);
}
static inline void fwn_stat_sub(fwn_ctx *ctx, int slot, uint64_t n) {
    __atomic_fetch_sub(&ctx->stats[slot], n, __ATOMIC_RELAXED);
}

/* batch.c — records into the filling buffer (I/O thread) */
void fwn_emit(fwn_ctx *ctx, uint8_t kind, uint32_t id, const void *a, uint32_t alen, const void *b, uint32_t blen);
void fwn_emit_text(fwn_ctx *ctx, uint8_t kind, uint32_t id, const char *text);
uint32_t fwn_emit_data(fwn_ctx *ctx, uint32_t id, const uint8_t *data, uint32_t len);
uint32_t fwn_data_room(fwn_ctx *ctx); /* DATA payload bytes that fit now (0 while control records wait) */
void fwn_emit_droppable(fwn_ctx *ctx, uint8_t kind, uint32_t id, const char *text);
void fwn_batch_free(fwn_ctx *ctx);

/* commands.c */
int fwn_enqueue_locked(fwn_ctx *ctx, fwn_cmd *cmd); /* returns 1 when the caller must wake the I/O thread */
void fwn_wake_locked(fwn_ctx *ctx);
void fwn_io_run_commands(fwn_ctx *ctx);
void fwn_free_cmd(fwn_cmd *cmd);

/* conntable.c (ctx->lock) */
int fwn_table_put(fwn_table *t, fwn_conn *c);
fwn_conn *fwn_table_get(fwn_table *t, uint32_t id);
void fwn_table_remove(fwn_table *t, uint32_t id);
void fwn_table_free(fwn_table *t);

/* outqueue.c */
int fwn_outq_append(fwn_outq *q, const uint8_t *bytes, uint32_t len);
uint32_t fwn_outq_peek(const fwn_outq *q, uint8_t *dst, uint32_t max);
void fwn_outq_drop(fwn_outq *q, uint32_t n);
void fwn_outq_free(fwn_outq *q);

/* sockets.c — lws callbacks and connection life (I/O thread) */
int fwn_lws_init(fwn_ctx *ctx);
int fwn_lws_service(fwn_ctx *ctx);
void fwn_lws_destroy(fwn_ctx *ctx);
fwn_conn *fwn_conn_new(fwn_ctx *ctx, int fd);
int fwn_adopt(fwn_ctx *ctx, fwn_conn *conn); /* 0; -1 freed, nothing emitted; -2 closed with its events */
int fwn_dial_done(fwn_ctx *ctx, fwn_conn *conn);

/* conn_io.c — a connection's bytes (I/O thread) */
int fwn_conn_readable(fwn_ctx *ctx, fwn_conn *conn);
int fwn_conn_writable(fwn_ctx *ctx, fwn_conn *conn);
void fwn_room_forget(fwn_ctx *ctx, fwn_conn *conn);
void fwn_rearm_forget(fwn_ctx *ctx, fwn_conn *conn);
void fwn_io_rearm(fwn_ctx *ctx);
void fwn_io_writable(fwn_ctx *ctx, fwn_conn *conn);
void fwn_io_end(fwn_ctx *ctx, fwn_conn *conn);
void fwn_io_close(fwn_ctx *ctx, fwn_conn *conn);
void fwn_io_pause(fwn_ctx *ctx, fwn_conn *conn, int paused);
void fwn_io_resume_rx(fwn_ctx *ctx);
void fwn_kill_wsi(struct lws *wsi);

/* listen.c / connect.c (I/O thread) */
void fwn_io_listen(fwn_ctx *ctx, const fwn_cmd *cmd);
void fwn_io_unlisten(fwn_ctx *ctx, uint32_t id);
int fwn_listener_readable(fwn_ctx *ctx, fwn_listener *l);
void fwn_listener_closed(fwn_ctx *ctx, fwn_listener *l);
void fwn_listener_retry(fwn_ctx *ctx, fwn_listener *l);
void fwn_io_connect(fwn_ctx *ctx, const fwn_cmd *cmd);
void fwn_io_abort(fwn_ctx *ctx, uint32_t dial_id);
void fwn_dial_remove(fwn_ctx *ctx, fwn_conn *conn);

/* address.c */
uint32_t fwn_address_block(int fd, uint8_t *out);
int fwn_resolve(const char *host, int port, int passive, void *sa_out, uint32_t *salen_out, int *family_out);

/* log.c */
void fwn_log_attach(fwn_ctx *ctx);

#endif
