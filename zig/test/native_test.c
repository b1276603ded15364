/*
 * The library's own tests, on real sockets (127.0.0.1, ::1, a Unix socket): the event records,
 * echo of 1 MiB both ways, half-close, connect failure, two contexts, a peer that never reads,
 * descriptors given back, and stop while traffic flows. Each waits at most a few seconds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "framewire_native.h"

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

struct record {
  int kind;
  uint32_t id, len;
  const uint8_t *payload;
};

/* One context and the batch being read. */
struct reader {
  void *ctx;
  const uint8_t *batch;
  uint32_t used, at;
};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The next record, waiting up to `timeout_ms`; 0 on timeout. */
static int next_record(struct reader *r, struct record *out, int timeout_ms) {
  double deadline = now_ms() + timeout_ms;
  while (r->at >= r->used) {
    int64_t s = fwn_swap(r->ctx);
    CHECK(s >= 0);
    r->batch = fwn_inbuf(r->ctx, (int32_t)(s >> 32));
    r->used = (uint32_t)(s & 0xffffffff);
    r->at = 0;
    if (r->used > 0) break;
    double left = deadline - now_ms();
    if (left <= 0) return 0;
    fwn_wait(r->ctx, (int32_t)(left < 50 ? left + 1 : 50));
  }
  const uint8_t *h = r->batch + r->at;
  out->kind = h[0];
  memcpy(&out->id, h + 4, 4);
  memcpy(&out->len, h + 8, 4);
  out->payload = h + 12;
  r->at += (12 + out->len + 3) & ~3u;
  return 1;
}

/* Skips records until one of `kind` (any id when id is 0); fails the test after timeout. */
static struct record expect_kind(struct reader *r, int kind, uint32_t id, int timeout_ms) {
  struct record rec;
  double deadline = now_ms() + timeout_ms;
  for (;;) {
    int left = (int)(deadline - now_ms());
    CHECK(left > 0 && next_record(r, &rec, left));
    if (rec.kind == kind && (id == 0 || rec.id == id)) return rec;
  }
}

static void *started(uint32_t batch, uint32_t high_water) {
  void *ctx = fwn_create(batch, high_water, NULL);
  CHECK(ctx != NULL);
  CHECK(fwn_start(ctx) == 0);
  return ctx;
}

static void finish(void *ctx) {
  CHECK(fwn_stop(ctx) == 0);
  CHECK(fwn_stop(ctx) == 0);
  CHECK(fwn_free(ctx) == 0);
}

static int open_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  while (readdir(d) != NULL) n++;
  closedir(d);
  return n;
}

/* Listens on `host` (or `path`), dials it, returns both connection ids. */
static void pair(struct reader *r, const char *host, const char *path, uint32_t listener, uint32_t *server, uint32_t *client) {
  CHECK(fwn_listen(r->ctx, listener, host, 0, path, 64) == 0);
  struct record rec = expect_kind(r, FWN_EV_LISTENING, listener, 2000);
  uint32_t port;
  memcpy(&port, rec.payload, 4);
  CHECK(path != NULL ? port == 0 : port > 0);
  CHECK(fwn_connect(r->ctx, listener + 1000, host, (int32_t)port, path, NULL, 0, NULL) == 0);
  *server = *client = 0;
  while (*server == 0 || *client == 0) {
    CHECK(next_record(r, &rec, 2000));
    if (rec.kind == FWN_EV_ACCEPTED) *server = rec.id;
    if (rec.kind == FWN_EV_CONNECTED) {
      uint32_t dial;
      memcpy(&dial, rec.payload, 4);
      CHECK(dial == listener + 1000);
      *client = rec.id;
    }
    CHECK(rec.kind != FWN_EV_CONNECT_FAILED);
  }
}

/* Sends `len` bytes of a pattern from `from`, echoes them at `to`, checks every byte came back. */
static void echo(struct reader *r, uint32_t from, uint32_t to, size_t len) {
  uint8_t *data = malloc(len), *back = malloc(len);
  for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 7 + 3);
  size_t sent = 0, echoed_in = 0, pending_echo = 0, got = 0;
  uint8_t *relay = malloc(len);
  double deadline = now_ms() + 5000;
  while (got < len) {
    if (now_ms() >= deadline) {
      uint64_t st[FWN_STAT_COUNT];
      fwn_stats(r->ctx, st, FWN_STAT_COUNT);
      fprintf(stderr, "echo stuck: sent %zu echoed_in %zu pending_echo %zu got %zu; in %lu out %lu queued %lu pauses %lu\n", sent, echoed_in, pending_echo, got,
              (unsigned long)st[1], (unsigned long)st[2], (unsigned long)st[5], (unsigned long)st[4]);
    }
    CHECK(now_ms() < deadline);
    if (sent < len) {
      int32_t n = fwn_send(r->ctx, from, data + sent, (uint32_t)(len - sent));
      CHECK(n >= 0);
      sent += (size_t)n;
    }
    if (pending_echo < echoed_in) {
      int32_t n = fwn_send(r->ctx, to, relay + pending_echo, (uint32_t)(echoed_in - pending_echo));
      CHECK(n >= 0);
      pending_echo += (size_t)n;
    }
    struct record rec;
    if (!next_record(r, &rec, 20)) continue;
    if (rec.kind == FWN_EV_DATA && rec.id == to) {
      memcpy(relay + echoed_in, rec.payload, rec.len);
      echoed_in += rec.len;
    } else if (rec.kind == FWN_EV_DATA && rec.id == from) {
      CHECK(got + rec.len <= len);
      memcpy(back + got, rec.payload, rec.len);
      got += rec.len;
    }
  }
  CHECK(memcmp(data, back, len) == 0);
  free(data);
  free(back);
  free(relay);
}

static void test_echo_and_half_close(const char *host, const char *path) {
  fprintf(stderr, "native_test: echo_and_half_close\n");
  struct reader r = {started(256 * 1024, 1 << 20), NULL, 0, 0};
  uint32_t server, client;
  pair(&r, host, path, 1, &server, &client);
  echo(&r, client, server, 1 << 20);
  /* Half-close: the client ends; the server sees END, may still send, then ends too. */
  CHECK(fwn_end(r.ctx, client) == 0);
  CHECK(fwn_send(r.ctx, client, (const uint8_t *)"x", 1) == FWN_ERR_CLOSED);
  expect_kind(&r, FWN_EV_END, server, 2000);
  CHECK(fwn_send(r.ctx, server, (const uint8_t *)"last", 4) == 4);
  struct record rec = expect_kind(&r, FWN_EV_DATA, client, 2000);
  CHECK(rec.len == 4 && memcmp(rec.payload, "last", 4) == 0);
  CHECK(fwn_end(r.ctx, server) == 0);
  int closed = 0;
  while (closed < 2) {
    CHECK(next_record(&r, &rec, 2000));
    if (rec.kind == FWN_EV_CLOSED) {
      CHECK(rec.len == 0); /* a clean close has no reason */
      closed++;
    }
  }
  CHECK(fwn_unlisten(r.ctx, 1) == 0);
  expect_kind(&r, FWN_EV_UNLISTENED, 1, 2000);
  if (path != NULL) CHECK(access(path, F_OK) != 0); /* the socket file is removed */
  finish(r.ctx);
}

static void test_connect_failure(void) {
  fprintf(stderr, "native_test: connect_failure\n");
  struct reader r = {started(64 * 1024, 65536), NULL, 0, 0};
  /* A port that was just free: listen, learn it, close it, dial it. */
  CHECK(fwn_listen(r.ctx, 5, "127.0.0.1", 0, NULL, 8) == 0);
  struct record rec = expect_kind(&r, FWN_EV_LISTENING, 5, 2000);
  uint32_t port;
  memcpy(&port, rec.payload, 4);
  CHECK(fwn_unlisten(r.ctx, 5) == 0);
  expect_kind(&r, FWN_EV_UNLISTENED, 5, 2000);
  CHECK(fwn_connect(r.ctx, 9, "127.0.0.1", (int32_t)port, NULL, NULL, 0, NULL) == 0);
  rec = expect_kind(&r, FWN_EV_CONNECT_FAILED, 9, 2000);
  CHECK(rec.len > 0 && memmem(rec.payload, rec.len, "refused", 7) != NULL);
  CHECK(fwn_connect(r.ctx, 10, "not-an-address", 80, NULL, NULL, 0, NULL) == 0);
  expect_kind(&r, FWN_EV_CONNECT_FAILED, 10, 2000);
  CHECK(fwn_listen(r.ctx, 6, "127.0.0.1", (int32_t)port, NULL, 8) == 0);
  expect_kind(&r, FWN_EV_LISTENING, 6, 2000);
  CHECK(fwn_listen(r.ctx, 7, "127.0.0.1", (int32_t)port, NULL, 8) == 0);
  rec = expect_kind(&r, FWN_EV_LISTEN_FAILED, 7, 2000);
  CHECK(memmem(rec.payload, rec.len, "in use", 6) != NULL);
  finish(r.ctx);
}

static void test_descriptors_given_back(void) {
  fprintf(stderr, "native_test: descriptors_given_back\n");
  int before = open_fds();
  struct reader r = {started(64 * 1024, 65536), NULL, 0, 0};
  for (uint32_t i = 0; i < 50; i++) {
    uint32_t server, client;
    pair(&r, "127.0.0.1", NULL, 100 + i * 2, &server, &client);
    CHECK(fwn_close(r.ctx, client) == 0);
    CHECK(fwn_close(r.ctx, server) == 0);
    CHECK(fwn_unlisten(r.ctx, 100 + i * 2) == 0);
    expect_kind(&r, FWN_EV_UNLISTENED, 100 + i * 2, 2000);
  }
  uint64_t stats[FWN_STAT_COUNT];
  for (int tries = 0; tries < 100; tries++) {
    CHECK(fwn_stats(r.ctx, stats, FWN_STAT_COUNT) == FWN_STAT_COUNT);
    if (stats[FWN_STAT_CONNECTIONS] == 0) break;
    usleep(10000);
  }
  CHECK(stats[FWN_STAT_CONNECTIONS] == 0);
  finish(r.ctx);
  CHECK(open_fds() == before);
}

static void test_never_reading_peer(void) {
  fprintf(stderr, "native_test: never_reading_peer\n");
  uint32_t high_water = 256 * 1024;
  struct reader r = {started(128 * 1024, high_water), NULL, 0, 0};
  uint32_t server, client;
  pair(&r, "127.0.0.1", NULL, 1, &server, &client);
  CHECK(fwn_pause(r.ctx, server, 1) == 0);
  static uint8_t chunk[64 * 1024];
  size_t accepted = 0;
  double deadline = now_ms() + 5000;
  for (;;) { /* fill until the library answers short: kernel buffers, then the queue's bound */
    CHECK(now_ms() < deadline);
    int32_t n = fwn_send(r.ctx, client, chunk, sizeof chunk);
    CHECK(n >= 0);
    accepted += (size_t)n;
    if (n < (int32_t)sizeof chunk) {
      usleep(20000); /* let the I/O thread write what it can; if nothing more fits, the bound holds */
      n = fwn_send(r.ctx, client, chunk, sizeof chunk);
      CHECK(n >= 0);
      accepted += (size_t)n;
      if (n == 0) break;
    }
    struct record rec;
    while (next_record(&r, &rec, 0)) CHECK(rec.id != server || rec.kind != FWN_EV_DATA);
  }
  uint64_t stats[FWN_STAT_COUNT];
  fwn_stats(r.ctx, stats, FWN_STAT_COUNT);
  CHECK(stats[FWN_STAT_QUEUED_OUT] <= high_water);
  CHECK(fwn_pause(r.ctx, server, 0) == 0);
  size_t got = 0;
  int drained = 0;
  while (got < accepted || !drained) {
    struct record rec;
    CHECK(next_record(&r, &rec, 3000));
    if (rec.kind == FWN_EV_DATA && rec.id == server) got += rec.len;
    if (rec.kind == FWN_EV_DRAIN && rec.id == client) drained = 1;
  }
  CHECK(got == accepted);
  finish(r.ctx);
}

static void test_two_contexts(void) {
  fprintf(stderr, "native_test: two_contexts\n");
  struct reader a = {started(64 * 1024, 65536), NULL, 0, 0};
  struct reader b = {started(64 * 1024, 65536), NULL, 0, 0};
  CHECK(fwn_listen(a.ctx, 1, "127.0.0.1", 0, NULL, 8) == 0);
  struct record rec = expect_kind(&a, FWN_EV_LISTENING, 1, 2000);
  uint32_t port;
  memcpy(&port, rec.payload, 4);
  CHECK(fwn_connect(b.ctx, 2, "127.0.0.1", (int32_t)port, NULL, "127.0.0.2", 0, NULL) == 0);
  uint32_t client = expect_kind(&b, FWN_EV_CONNECTED, 0, 2000).id;
  rec = expect_kind(&a, FWN_EV_ACCEPTED, 0, 2000);
  uint32_t server = rec.id;
  /* The address block: the server sees the client's bound local address. */
  uint8_t remote_len = rec.payload[4 + 4];
  CHECK(remote_len == 9 && memcmp(rec.payload + 4 + 6, "127.0.0.2", 9) == 0);
  CHECK(fwn_send(b.ctx, client, (const uint8_t *)"ping", 4) == 4);
  rec = expect_kind(&a, FWN_EV_DATA, server, 2000);
  CHECK(rec.len == 4 && memcmp(rec.payload, "ping", 4) == 0);
  finish(b.ctx); /* stopping one leaves the other running: its side sees the peer's FIN, then closes */
  expect_kind(&a, FWN_EV_END, server, 2000);
  CHECK(fwn_end(a.ctx, server) == 0);
  expect_kind(&a, FWN_EV_CLOSED, server, 2000);
  finish(a.ctx);
}

static void test_stop_under_load(void) {
  fprintf(stderr, "native_test: stop_under_load\n");
  struct reader r = {started(64 * 1024, 1 << 20), NULL, 0, 0};
  uint32_t server, client;
  pair(&r, "127.0.0.1", NULL, 1, &server, &client);
  static uint8_t chunk[256 * 1024];
  for (int i = 0; i < 20; i++) {
    fwn_send(r.ctx, client, chunk, sizeof chunk);
    fwn_send(r.ctx, server, chunk, sizeof chunk);
    struct record rec;
    next_record(&r, &rec, 1);
  }
  finish(r.ctx);
}

int main(void) {
  CHECK(fwn_abi_version() == FWN_ABI_VERSION);
  CHECK(fwn_create(1024, 65536, NULL) == NULL); /* batch buffers below 64 KiB are refused */
  test_echo_and_half_close("127.0.0.1", NULL);
  test_echo_and_half_close("::1", NULL);
  char path[64];
  snprintf(path, sizeof path, "/tmp/fwn-test-%d.sock", (int)getpid());
  test_echo_and_half_close(NULL, path);
  test_connect_failure();
  test_descriptors_given_back();
  test_never_reading_peer();
  test_two_contexts();
  test_stop_under_load();
  puts("native_test: all passed");
  return 0;
}
