/* Stop while traffic flows: a blocked fwn_wait returns FWN_ERR_STOPPED, every connection ends
 * with CLOSED in the last batches, nothing crashes or leaks (run under valgrind: -Dvalgrind). */
#include <pthread.h>
#include <string.h>

#include "harness.h"

#define CONNS 16

static void *waiter(void *ctx) {
    intptr_t rc;
    do rc = fwn_wait(ctx, -1);
    while (rc == 1 && (fwn_swap(ctx), 1)); /* keep taking batches until the stop */
    return (void *)rc;
}

int main(void) {
    test_begin("stop under traffic", 60);
    int fds0 = count_fds();
    tc *a = tc_new(64 * 1024, 128 * 1024);
    tc *b = tc_new(64 * 1024, 128 * 1024);
    CHECK(fwn_free(a->ctx) == FWN_ERR_INVALID); /* not stopped */
    uint32_t port = listen_tcp(b, 1, "127.0.0.1");
    uint32_t cid[CONNS], sid[CONNS];
    for (int i = 0; i < CONNS; i++) dial_pair(a, b, (uint32_t)i + 1, "127.0.0.1", port, &cid[i], &sid[i]);
    static uint8_t chunk[65536];
    fill_pattern(chunk, sizeof chunk, 9);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < CONNS; i++) {
            CHECK(fwn_send(a->ctx, cid[i], chunk, sizeof chunk) >= 0);
            CHECK(fwn_send(b->ctx, sid[i], chunk, sizeof chunk) >= 0);
        }
        pump_all(0);
    }
    CHECK(stat_of(b, FWN_STAT_BYTES_IN) > 0 && stat_of(a, FWN_STAT_BYTES_IN) > 0);

    /* b: a thread blocked in fwn_wait; a: stopped with its batch buffers full of unread records */
    pthread_t w;
    CHECK(pthread_create(&w, NULL, waiter, b->ctx) == 0);
    CHECK(fwn_stop(a->ctx) == 0);
    CHECK(fwn_stop(b->ctx) == 0);
    void *rc;
    CHECK(pthread_join(w, &rc) == 0);
    CHECK((intptr_t)rc == FWN_ERR_STOPPED);
    /* records left after stop can still be swapped out: a's last ones include its CLOSED */
    int closed = 0;
    for (int i = 0; i < 100; i++) {
        int64_t r = fwn_swap(a->ctx);
        uint32_t used = (uint32_t)(r & 0xffffffff);
        const uint8_t *p = fwn_inbuf(a->ctx, (int)(r >> 32));
        for (uint32_t off = 0; off < used;) {
            uint32_t len = u32_at(p + off + 8);
            if (p[off] == FWN_EV_CLOSED) closed++;
            off += 12 + ((len + 3) & ~3u);
        }
        if (!used) break;
    }
    CHECK(closed == CONNS);
    CHECK(stat_of(a, FWN_STAT_CONNECTIONS) == 0 && stat_of(a, FWN_STAT_QUEUED_OUT) == 0);
    CHECK(fwn_free(a->ctx) == 0);
    CHECK(fwn_free(b->ctx) == 0);
    CHECK(count_fds() == fds0);

    /* a context stopped without ever starting, and one stopped right after start */
    void *c = fwn_create(65536, 0, NULL);
    CHECK(c && fwn_stop(c) == 0 && fwn_start(c) == FWN_ERR_STOPPED && fwn_free(c) == 0);
    c = fwn_create(65536, 0, NULL);
    CHECK(c && fwn_start(c) == 0 && fwn_listen(c, 1, "127.0.0.1", 0, NULL, 0) == 0);
    CHECK(fwn_stop(c) == 0 && fwn_free(c) == 0);
    CHECK(count_fds() == fds0);
    fprintf(stderr, "ok\n");
    return 0;
}
