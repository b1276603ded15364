/* Two contexts in one process, traffic between them both ways, each with its own I/O thread. */
#include <string.h>

#include "harness.h"

int main(void) {
    test_begin("two contexts", 20);
    tc *a = tc_new(64 * 1024, 256 * 1024), *b = tc_new(128 * 1024, 256 * 1024);
    uint32_t pa = listen_tcp(a, 1, "127.0.0.1"), pb = listen_tcp(b, 1, "127.0.0.1");
    CHECK(pa != pb);
    uint32_t ab_c, ab_s, ba_c, ba_s;
    dial_pair(a, b, 10, "127.0.0.1", pb, &ab_c, &ab_s); /* a dials b */
    dial_pair(b, a, 20, "127.0.0.1", pa, &ba_c, &ba_s); /* b dials a */
    /* ids are per context, allocated from 1 */
    CHECK(ab_c == 1 && ab_s == 1 && ba_c == 2 && ba_s == 2);

    enum { N = 600000 };
    uint8_t *x = malloc(N), *y = malloc(N);
    CHECK(x && y);
    fill_pattern(x, N, 7);
    fill_pattern(y, N, 8);
    uint32_t sx = 0, sy = 0;
    for (int i = 0; a->data_len[ba_s] < N || b->data_len[ab_s] < N; i++) {
        CHECK(i < 100000);
        if (sx < N) {
            int32_t n = fwn_send(a->ctx, ab_c, x + sx, N - sx);
            CHECK(n >= 0);
            sx += (uint32_t)n;
        }
        if (sy < N) {
            int32_t n = fwn_send(b->ctx, ba_c, y + sy, N - sy);
            CHECK(n >= 0);
            sy += (uint32_t)n;
        }
        pump_all(2);
    }
    CHECK(memcmp(b->data[ab_s], x, N) == 0);
    CHECK(memcmp(a->data[ba_s], y, N) == 0);
    CHECK(a->data_len[ab_c] == 0 && b->data_len[ba_c] == 0);
    /* stopping one context closes its sockets; the other sees them end, and closes as it ends */
    tc_stop_free(a);
    expect(b, FWN_EV_END, ab_s, 3000);
    expect(b, FWN_EV_END, ba_c, 3000);
    CHECK(fwn_end(b->ctx, ab_s) == 0 && fwn_end(b->ctx, ba_c) == 0);
    expect(b, FWN_EV_CLOSED, ab_s, 3000);
    expect(b, FWN_EV_CLOSED, ba_c, 3000);
    tc_stop_free(b);
    free(x);
    free(y);
    fprintf(stderr, "ok\n");
    return 0;
}
