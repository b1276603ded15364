/* A peer that does not read: fwn_send answers short, the queue stays within high_water, DRAIN
 * follows once the peer reads again, and every accepted byte arrives in order. */
#include <string.h>

#include "harness.h"

#define HW (256u * 1024u)

int main(void) {
    test_begin("backpressure", 30);
    tc *t = tc_new(1024 * 1024, HW);
    uint32_t port = listen_tcp(t, 1, "127.0.0.1");
    uint32_t cid, sid;
    dial_pair(t, t, 5, "127.0.0.1", port, &cid, &sid);
    CHECK(fwn_pause(t->ctx, sid, 1) == 0);
    CHECK(fwn_pause(t->ctx, 999, 1) == FWN_ERR_CLOSED);

    enum { CHUNK = 100000, MAX = 64 * 1024 * 1024 };
    uint8_t *src = malloc(MAX);
    CHECK(src);
    fill_pattern(src, MAX, 3);
    uint32_t sent = 0;
    int shorts = 0, zeros = 0;
    uint64_t max_queued = 0;
    /* keep offering until the queue is full and stays full: the kernel buffers and lws's own
     * partial-write buffer are full too */
    for (int i = 0; i < 4000 && zeros < 200; i++) {
        int32_t n = fwn_send(t->ctx, cid, src + sent, CHUNK);
        CHECK(n >= 0 && n <= CHUNK);
        if (n < CHUNK) shorts++;
        if (n == 0) zeros++;
        sent += (uint32_t)n;
        CHECK(sent < MAX - CHUNK);
        uint64_t q = stat_of(t, FWN_STAT_QUEUED_OUT);
        if (q > max_queued) max_queued = q;
        CHECK(q <= HW);
        pump_all(1);
    }
    CHECK(shorts > 0 && zeros >= 200);
    CHECK(max_queued > HW / 2);
    uint64_t out_stalled = stat_of(t, FWN_STAT_BYTES_OUT);
    fprintf(stderr, "accepted %u bytes, %llu handed to lws, %u received, queue max %llu\n", sent,
            (unsigned long long)out_stalled, t->data_len[sid], (unsigned long long)max_queued);
    CHECK(t->data_len[sid] == 0); /* paused: nothing delivered */
    /* DRAINs may have come while lws and the kernel took bytes; the queue is full and stalled now */
    while (find_unused_drain(t, cid)) expect(t, FWN_EV_DRAIN, cid, 0);
    pump_all(50);
    CHECK(!find_unused_drain(t, cid));

    CHECK(fwn_pause(t->ctx, sid, 0) == 0);
    expect(t, FWN_EV_DRAIN, cid, 5000);
    expect_bytes(t, sid, sent, 10000);
    CHECK(memcmp(t->data[sid], src, sent) == 0);
    CHECK(stat_of(t, FWN_STAT_QUEUED_OUT) == 0);
    /* after the drain, sends are accepted whole again */
    CHECK(fwn_send(t->ctx, cid, src + sent, 1000) == 1000);
    expect_bytes(t, sid, sent + 1000, 5000);
    CHECK(memcmp(t->data[sid], src, sent + 1000) == 0);
    tc_stop_free(t);

    /* a short answer whose accepted bytes all went out at once still owes its DRAIN */
    tc *u = tc_new(64 * 1024, 1000);
    port = listen_tcp(u, 1, "127.0.0.1");
    dial_pair(u, u, 6, "127.0.0.1", port, &cid, &sid);
    CHECK(fwn_send(u->ctx, cid, src, 5000) == 1000);
    expect(u, FWN_EV_DRAIN, cid, 3000);
    expect_bytes(u, sid, 1000, 3000);
    CHECK(fwn_send(u->ctx, cid, src + 1000, 500) == 500);
    expect_bytes(u, sid, 1500, 3000);
    CHECK(memcmp(u->data[sid], src, 1500) == 0);
    CHECK(!find_unused_drain(u, cid)); /* a whole answer owes none */
    tc_stop_free(u);
    free(src);
    fprintf(stderr, "ok\n");
    return 0;
}
