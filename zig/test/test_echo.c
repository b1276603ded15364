/* Echo on one context over 127.0.0.1: bytes and order both ways, END/CLOSED, stats, no fd leak. */
#include <string.h>

#include "harness.h"

#define TOTAL (3u * 1024u * 1024u + 17u)

int main(void) {
    test_begin("echo", 20);
    CHECK(fwn_abi_version() == FWN_ABI_VERSION);
    CHECK(fwn_create(1024, 0, NULL) == NULL); /* below the 64 KiB minimum */
    int fds0 = count_fds();
    tc *t = tc_new(256 * 1024, 512 * 1024);
    uint32_t port = listen_tcp(t, 7, "127.0.0.1");
    uint32_t cid, sid;
    dial_pair(t, t, 42, "127.0.0.1", port, &cid, &sid);
    CHECK(cid != sid);
    CHECK(stat_of(t, FWN_STAT_CONNECTIONS) == 2);
    CHECK(fwn_set_option(t->ctx, cid, FWN_OPT_NODELAY, 1) == 0);
    CHECK(fwn_set_option(t->ctx, cid, FWN_OPT_KEEPALIVE, 30) == 0);
    CHECK(fwn_set_option(t->ctx, cid, 77, 1) == FWN_ERR_INVALID);

    uint8_t *src = malloc(TOTAL);
    CHECK(src);
    fill_pattern(src, TOTAL, 1);
    uint32_t sent = 0, echoed = 0;
    for (int rounds = 0; t->data_len[cid] < TOTAL; rounds++) {
        CHECK(rounds < 200000);
        if (sent < TOTAL) {
            uint32_t n = TOTAL - sent < 70000 ? TOTAL - sent : 70000;
            int32_t a = fwn_send(t->ctx, cid, src + sent, n);
            CHECK(a >= 0 && (uint32_t)a <= n);
            sent += (uint32_t)a;
        }
        if (echoed < t->data_len[sid]) {
            int32_t a = fwn_send(t->ctx, sid, t->data[sid] + echoed, t->data_len[sid] - echoed);
            CHECK(a >= 0);
            echoed += (uint32_t)a;
        }
        pump_all(2);
    }
    CHECK(t->data_len[sid] == TOTAL && memcmp(t->data[sid], src, TOTAL) == 0);
    CHECK(memcmp(t->data[cid], src, TOTAL) == 0);
    CHECK(stat_of(t, FWN_STAT_BYTES_IN) == 2ull * TOTAL);
    CHECK(stat_of(t, FWN_STAT_BYTES_OUT) == 2ull * TOTAL);
    CHECK(stat_of(t, FWN_STAT_QUEUED_OUT) == 0);

    /* half-close from the client: the server sees END and can still answer, then ends too */
    CHECK(fwn_end(t->ctx, cid) == 0);
    CHECK(fwn_send(t->ctx, cid, src, 10) == FWN_ERR_CLOSED);
    CHECK(fwn_end(t->ctx, cid) == FWN_ERR_CLOSED);
    expect(t, FWN_EV_END, sid, 3000);
    CHECK(!t->closed[sid]);
    CHECK(fwn_send(t->ctx, sid, (const uint8_t *)"late reply", 10) == 10);
    expect_bytes(t, cid, TOTAL + 10, 3000);
    CHECK(memcmp(t->data[cid] + TOTAL, "late reply", 10) == 0);
    CHECK(fwn_end(t->ctx, sid) == 0);
    expect(t, FWN_EV_END, cid, 3000);
    ev *c = expect(t, FWN_EV_CLOSED, cid, 3000);
    CHECK(c->len == 0);
    c = expect(t, FWN_EV_CLOSED, sid, 3000);
    CHECK(c->len == 0);
    CHECK(fwn_send(t->ctx, sid, src, 10) == FWN_ERR_CLOSED);
    CHECK(stat_of(t, FWN_STAT_CONNECTIONS) == 0);

    /* fwn_close: CLOSED with no reason; the peer sees END, and closes once it ends too */
    dial_pair(t, t, 43, "127.0.0.1", port, &cid, &sid);
    CHECK(fwn_close(t->ctx, sid) == 0);
    ev *s = expect(t, FWN_EV_CLOSED, sid, 3000);
    CHECK(s->len == 0);
    expect(t, FWN_EV_END, cid, 3000);
    CHECK(fwn_end(t->ctx, cid) == 0);
    expect(t, FWN_EV_CLOSED, cid, 3000);
    CHECK(fwn_close(t->ctx, sid) == FWN_ERR_CLOSED);

    CHECK(fwn_unlisten(t->ctx, 7) == 0);
    expect(t, FWN_EV_UNLISTENED, 7, 3000);
    CHECK(fwn_connect(t->ctx, 44, "127.0.0.1", (int32_t)port, NULL, NULL, 0, NULL) == 0);
    expect(t, FWN_EV_CONNECT_FAILED, 44, 3000);

    tc_stop_free(t);
    free(src);
    CHECK(count_fds() == fds0);
    fprintf(stderr, "ok\n");
    return 0;
}
