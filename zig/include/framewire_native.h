/*
 * framewire native: libwebsockets raw TCP sockets on an I/O thread of their own, behind an ABI
 * of scalars and pointers (no structs by value, no libwebsockets types), so bun:ffi, koffi and
 * Deno.dlopen can all call it.
 *
 * Threading: every function is called on the JS thread, except the notify callback, which the
 * I/O thread calls. Commands (listen, connect, send, end, close, pause) are queued under the
 * context's lock and carried out on the I/O thread (the only thread that touches libwebsockets);
 * their outcomes come back as records in the event batch.
 *
 * No global mutable state: everything hangs off a context; several contexts may coexist.
 */
#ifndef FRAMEWIRE_NATIVE_H
#define FRAMEWIRE_NATIVE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change; loaders refuse a library whose fwn_abi_version differs. */
#define FWN_ABI_VERSION 1

/* Negative results. */
#define FWN_ERR_CLOSED (-1)   /* the connection or listener id is unknown or already closed */
#define FWN_ERR_STOPPED (-2)  /* the context is stopping or stopped */
#define FWN_ERR_INVALID (-3)  /* a bad argument (null, too long, out of range) */
#define FWN_ERR_NOMEM (-4)
#define FWN_ERR_THREAD (-5)   /* the I/O thread could not be started */

/*
 * Event records, appended to the batch buffer the I/O thread is filling. Each record is a
 * 12-byte header, little-endian, then `len` payload bytes, then zero padding to a multiple of 4:
 *   u8 kind | u8 flags | u16 reserved | u32 id | u32 len | payload[len] | pad
 */
#define FWN_EV_LISTENING 1      /* id = listener; payload: u32 bound port (0 for Unix sockets) */
#define FWN_EV_LISTEN_FAILED 2  /* id = listener; payload: UTF-8 reason */
#define FWN_EV_ACCEPTED 3       /* id = new connection; payload: u32 listener, then FWN address block */
#define FWN_EV_CONNECTED 4      /* id = new connection; payload: u32 dial id, then FWN address block */
#define FWN_EV_CONNECT_FAILED 5 /* id = dial; payload: UTF-8 reason */
#define FWN_EV_DATA 6           /* id = connection; payload: bytes received, in order */
#define FWN_EV_END 7            /* id = connection; the peer sent FIN */
#define FWN_EV_CLOSED 8         /* id = connection; payload: empty, or the UTF-8 reason it failed. Last event of the id. */
#define FWN_EV_DRAIN 9          /* id = connection; after a short fwn_send, its queue went below the low-water mark */
#define FWN_EV_LOG 10           /* id = lws log level bit; payload: UTF-8 line */
#define FWN_EV_UNLISTENED 11    /* id = listener; the listener is closed (after fwn_unlisten) */
/*
 * The FWN address block: u16 remote port | u16 local port | u8 remote length | u8 local length |
 * remote address bytes | local address bytes (UTF-8 text, e.g. "127.0.0.1", "::1"; empty for Unix sockets).
 */

/* fwn_set_option options. */
#define FWN_OPT_NODELAY 1    /* value 0/1: TCP_NODELAY */
#define FWN_OPT_KEEPALIVE 2  /* value: 0 off, else the initial delay in seconds */

/* fwn_stats slots (u64 each). */
#define FWN_STAT_CONNECTIONS 0   /* open connections */
#define FWN_STAT_BYTES_IN 1
#define FWN_STAT_BYTES_OUT 2
#define FWN_STAT_BATCHES 3       /* batches handed to JS */
#define FWN_STAT_RX_PAUSES 4     /* times reading paused because the batch buffer was full */
#define FWN_STAT_QUEUED_OUT 5    /* bytes accepted by fwn_send and not yet written to the kernel */
#define FWN_STAT_COUNT 6

/* The library's ABI version (FWN_ABI_VERSION it was built with). */
uint32_t fwn_abi_version(void);

/*
 * A new context. `batch_bytes` is the size of each of the two batch buffers (at least 64 KiB);
 * `high_water` the bytes fwn_send accepts per connection before it answers short (and later
 * FWN_EV_DRAIN). `notify`, when not null, is called on the I/O thread once after the context was
 * armed (see fwn_swap) and an event was appended: Bun's threadsafe JSCallback. Loaders without a
 * safe foreign-thread callback (koffi, Deno) pass null and use fwn_wait.
 * Returns null when out of memory.
 */
void *fwn_create(uint32_t batch_bytes, uint32_t high_water, void (*notify)(void));

/* Starts the I/O thread (creates the libwebsockets context on it). 0, or FWN_ERR_THREAD. */
int32_t fwn_start(void *ctx);

/*
 * Listens on host:port (host "" for any), or on the Unix socket `path` when not null.
 * `id` is chosen by JS and names the listener in its events (FWN_EV_LISTENING or _FAILED).
 * Strings are NUL-terminated UTF-8, copied before return.
 */
int32_t fwn_listen(void *ctx, uint32_t id, const char *host, int32_t port, const char *path, int32_t backlog);

/* Stops accepting on listener `id`; accepted connections stay open. FWN_EV_UNLISTENED follows. */
int32_t fwn_unlisten(void *ctx, uint32_t id);

/*
 * Dials host:port, or the Unix socket `path` when not null. `id` is chosen by JS and names the
 * dial in FWN_EV_CONNECTED / FWN_EV_CONNECT_FAILED. `local_address` (may be null) and
 * `local_port` (0 for any) bind the socket before it dials; `interface_name` (may be null) binds
 * it to a device with SO_BINDTODEVICE (needs CAP_NET_RAW; failure is FWN_EV_CONNECT_FAILED).
 */
int32_t fwn_connect(void *ctx, uint32_t id, const char *host, int32_t port, const char *path,
                    const char *local_address, int32_t local_port, const char *interface_name);

/* Cancels dial `id` if it is still pending: FWN_EV_CONNECT_FAILED ("aborted") follows unless it already ended. */
int32_t fwn_connect_abort(void *ctx, uint32_t id);

/*
 * Queues `len` bytes for connection `conn`; the library copies them, so the caller may reuse
 * `bytes` at once. Accepts at most what keeps the connection's queue within `high_water`.
 * Returns the bytes accepted (0..len; fewer than len means FWN_EV_DRAIN will follow), or
 * FWN_ERR_CLOSED once the connection is closed or ending.
 */
int32_t fwn_send(void *ctx, uint32_t conn, const uint8_t *bytes, uint32_t len);

/* Half-close: FIN after every queued byte is written. Reading goes on until the peer's FIN. */
int32_t fwn_end(void *ctx, uint32_t conn);

/* Closes at once, discarding queued bytes. FWN_EV_CLOSED follows (if it has not already). */
int32_t fwn_close(void *ctx, uint32_t conn);

/* paused != 0: stop reading from `conn` (TCP backpressure) until called with 0. */
int32_t fwn_pause(void *ctx, uint32_t conn, int32_t paused);

/* Sets a socket option (FWN_OPT_*) on `conn`. */
int32_t fwn_set_option(void *ctx, uint32_t conn, int32_t option, int32_t value);

/* Base address of batch buffer 0 or 1 (stable for the context's life, `batch_bytes` long): make views once. */
uint8_t *fwn_inbuf(void *ctx, int32_t which);

/*
 * Takes the batch the I/O thread has filled and lets it fill the other one. Returns
 * `which * 2^32 + used` (used = bytes of records in buffer `which`), as a double-safe integer.
 * The caller reads the records before its next fwn_swap. When `used` is 0 the context is armed:
 * the next appended event calls `notify` (or wakes fwn_wait) exactly once.
 */
int64_t fwn_swap(void *ctx);

/*
 * Blocks until an event is pending (1), `timeout_ms` passed (0) or the context stops
 * (FWN_ERR_STOPPED). For koffi `.async` and Deno `nonblocking` calls: never on the JS thread.
 */
int32_t fwn_wait(void *ctx, int32_t timeout_ms);

/* Copies up to `count` FWN_STAT_* counters into `out`; returns how many. */
int32_t fwn_stats(void *ctx, uint64_t *out, int32_t count);

/*
 * Phase one of shutdown: closes every socket, stops and joins the I/O thread, wakes every
 * fwn_wait (they return FWN_ERR_STOPPED). Idempotent. No callback runs after it returns.
 */
int32_t fwn_stop(void *ctx);

/*
 * Phase two: frees the context. Only after fwn_stop, and only once every fwn_wait call has
 * returned; returns FWN_ERR_INVALID (and frees nothing) while a wait is still inside.
 */
int32_t fwn_free(void *ctx);

#ifdef __cplusplus
}
#endif

#endif
