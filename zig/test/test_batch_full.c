/* A small batch buffer that JS does not swap for a while: reading pauses (FWN_STAT_RX_PAUSES),
 * every byte still arrives in order, and control records (ACCEPTED, END, CLOSED) are not lost. */
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TOTAL (4u * 1024u * 1024u)
#define CONNS 40

int main(void) {
    test_begin("batch buffer full", 30);
    tc *t = tc_new(64 * 1024, 8 * 1024 * 1024);
    uint32_t port = listen_tcp(t, 1, "127.0.0.1");
    uint32_t cid, sid;
    dial_pair(t, t, 1, "127.0.0.1", port, &cid, &sid);
    uint8_t *src = malloc(TOTAL);
    CHECK(src);
    fill_pattern(src, TOTAL, 11);
    CHECK(fwn_send(t->ctx, cid, src, TOTAL) == (int32_t)TOTAL);
    CHECK(fwn_end(t->ctx, cid) == 0);
    /* dials while the buffer is full: their ACCEPTED/CONNECTED must wait, not vanish */
    for (uint32_t i = 0; i < CONNS; i++)
        CHECK(fwn_connect(t->ctx, 100 + i, "127.0.0.1", (int32_t)port, NULL, NULL, 0, NULL) == 0);
    usleep(300 * 1000); /* no swapping meanwhile */
    CHECK(stat_of(t, FWN_STAT_RX_PAUSES) > 0);
    expect_bytes(t, sid, TOTAL, 15000);
    CHECK(memcmp(t->data[sid], src, TOTAL) == 0);
    expect(t, FWN_EV_END, sid, 3000);
    CHECK(fwn_end(t->ctx, sid) == 0);
    expect(t, FWN_EV_CLOSED, sid, 3000);
    expect(t, FWN_EV_END, cid, 3000);
    expect(t, FWN_EV_CLOSED, cid, 3000);
    for (uint32_t i = 0; i < CONNS; i++) {
        expect(t, FWN_EV_CONNECTED, ANY_ID, 3000);
        expect(t, FWN_EV_ACCEPTED, ANY_ID, 3000);
    }
    fprintf(stderr, "rx pauses %llu, batches %llu\n", (unsigned long long)stat_of(t, FWN_STAT_RX_PAUSES),
            (unsigned long long)t->batches);
    CHECK(t->batches >= TOTAL / (64 * 1024));
    tc_stop_free(t);
    free(src);
    fprintf(stderr, "ok\n");
    return 0;
}
