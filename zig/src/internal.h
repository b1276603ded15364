/*
 * Internal shapes of the native library: the context, its connections and listeners, and the
 * functions the source files share. Nothing here crosses the ABI.
 *
 * Locking: one mutex per context (`lock`) guards the batch buffers, the command queue, the
 * connection table and every connection's out queue. The I/O thread holds it while it reads into
 * the batch or writes from an out queue (non-blocking syscalls, so never long).
 */
#ifndef FWN_INTERNAL_H
#define FWN_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/framewire_native.h"

struct lws;
struct lws_context;
struct lws_vhost;

#define FWN_RECORD_HEADER 12u
/* A read never asks for less than this; a batch with less room pauses the connection instead. */
#define FWN_MIN_READ 4096u
#define FWN_MAX_IO (256u * 1024u)
#define FWN_TABLE_BUCKETS 4096u

enum fwn_socket_kind { FWN_KIND_CONN = 1, FWN_KIND_LISTENER = 2 };

struct fwn_ctx;

/* What a wsi's opaque user data points at: a connection or a listener (`kind` says which). */
struct fwn_socket {
  enum fwn_socket_kind kind;
  struct fwn_ctx *ctx;
  struct lws *wsi;
  int fd;
  uint32_t id;
};

struct fwn_conn {
  struct fwn_socket base;
  uint32_t dial;             /* the dial id while connecting (JS's), else 0 */
  unsigned connecting : 1;   /* dialled, not yet connected */
  unsigned write_listed : 1; /* on the context's needs-write list */
  unsigned short_answered : 1;
  unsigned end_requested : 1; /* fwn_end: FIN once the out queue is empty */
  unsigned fin_sent : 1;
  unsigned peer_fin : 1;
  unsigned paused_js : 1;
  unsigned paused_full : 1; /* the batch had no room: resumes after the next swap */
  unsigned rx_enabled : 1;  /* what lws was last told */
  unsigned closing : 1;     /* close requested or underway: no more sends */
  unsigned close_listed : 1;
  char *close_reason;       /* set when it fails */
  uint8_t *out;             /* out queue: bytes [out_head, out_len) are unsent */
  size_t out_len, out_head, out_cap;
  struct fwn_conn *next_in_bucket;
  struct fwn_conn *next_write; /* needs-write list */
  struct fwn_conn *next_full;  /* paused-for-room list */
  struct fwn_conn *next_close; /* close-requested list */
};

struct fwn_listener {
  struct fwn_socket base;
  char *unix_path; /* unlinked when the listener closes */
  struct fwn_listener *next;
};

/* A command from the JS thread, carried out on the I/O thread. */
enum fwn_command_type { FWN_CMD_LISTEN = 1, FWN_CMD_UNLISTEN, FWN_CMD_CONNECT, FWN_CMD_CONNECT_ABORT, FWN_CMD_PAUSE, FWN_CMD_OPTION };
struct fwn_command {
  enum fwn_command_type type;
  uint32_t id;
  int32_t a, b;
  char *host, *path, *local_address, *interface_name;
  struct fwn_command *next;
};

/* A record that did not fit in the batch being filled; it goes first into the next one. */
struct fwn_pending {
  struct fwn_pending *next;
  uint32_t size; /* bytes of the encoded record (header, payload, padding) */
  uint8_t bytes[];
};

struct fwn_ctx {
  pthread_mutex_t lock;
  pthread_cond_t events_cond; /* fwn_wait sleeps here */
  pthread_cond_t started_cond;
  pthread_t thread;
  int thread_started, thread_ready, start_failed;
  int stopping, stopped;
  int waiters;
  void (*notify)(void);
  struct lws_context *lws;
  struct lws_vhost *vhost;

  uint8_t *batch[2];
  uint32_t batch_bytes;
  uint32_t used[2];
  int filling;
  int armed;
  struct fwn_pending *pending_head, *pending_tail;

  uint32_t high_water;
  uint32_t next_conn_id;
  struct fwn_conn *table[FWN_TABLE_BUCKETS];
  struct fwn_listener *listeners;
  struct fwn_command *cmd_head, *cmd_tail;
  struct fwn_conn *write_list, *full_list, *close_list;
  int resume_full; /* a swap made room: resume the connections paused for it */
  int self_wake;   /* the I/O thread must wake itself (see write_out in io.c) */
  uint64_t stats[FWN_STAT_COUNT];
};

/* batch.c — records; every function here expects `lock` held. Returns 1 when notify must be called (after unlocking). */
int fwn_append(struct fwn_ctx *ctx, uint8_t kind, uint32_t id, const void *a, uint32_t a_len, const void *b, uint32_t b_len);
/* Room for a DATA payload in the batch being filled now (0 when it must wait for a swap). */
uint32_t fwn_data_room(struct fwn_ctx *ctx);
/* Commits a DATA record whose payload was read straight into the batch at fwn_data_target(). */
uint8_t *fwn_data_target(struct fwn_ctx *ctx);
int fwn_commit_data(struct fwn_ctx *ctx, uint32_t conn, uint32_t len);
void fwn_free_pending(struct fwn_ctx *ctx);
void fwn_call_notify(struct fwn_ctx *ctx, int needed);

/* table.c — the connection table, keyed by id (lock held). */
void fwn_table_put(struct fwn_ctx *ctx, struct fwn_conn *conn);
struct fwn_conn *fwn_table_get(struct fwn_ctx *ctx, uint32_t id);
void fwn_table_remove(struct fwn_ctx *ctx, struct fwn_conn *conn);

/* net.c — plain socket work (no libwebsockets): make listening and dialling sockets, addresses. */
int fwn_listen_socket(const char *host, int port, const char *path, int backlog, char *err, size_t err_len);
int fwn_dial_socket(const char *host, int port, const char *path, const char *local_address, int local_port, const char *interface_name, char *err, size_t err_len);
int fwn_bound_port(int fd);
/* The FWN address block of a connected socket into `out` (at least 300 bytes); returns its length. */
uint32_t fwn_address_block(int fd, uint8_t *out);

/* io.c — the I/O thread's side of sockets (lock NOT held on entry unless said). */
/* The protocol callback (declared in io.c with libwebsockets' types). */
void fwn_run_commands(struct fwn_ctx *ctx);
struct fwn_conn *fwn_adopt_conn(struct fwn_ctx *ctx, int fd, uint32_t dial);

#endif
