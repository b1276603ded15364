/* IPv6: listen and dial on ::1; a dual-stack "any" listener reached over 127.0.0.1. */
#include <string.h>

#include "harness.h"

static void check_addr(const ev *e, const char *remote, const char *local) {
    const uint8_t *b = e->p + 4;
    uint8_t rl = b[4], ll = b[5];
    CHECK(rl == strlen(remote) && memcmp(b + 6, remote, rl) == 0);
    CHECK(ll == strlen(local) && memcmp(b + 6 + rl, local, ll) == 0);
}

int main(void) {
    test_begin("ipv6", 20);
    tc *t = tc_new(64 * 1024, 0);
    uint32_t port = listen_tcp(t, 1, "::1");
    CHECK(fwn_connect(t->ctx, 2, "::1", (int32_t)port, NULL, NULL, 0, NULL) == 0);
    ev *c = expect(t, FWN_EV_CONNECTED, ANY_ID, 2000);
    ev *s = expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000);
    check_addr(c, "::1", "::1");
    check_addr(s, "::1", "::1");
    CHECK(fwn_send(t->ctx, c->id, (const uint8_t *)"six", 3) == 3);
    expect_bytes(t, s->id, 3, 2000);
    CHECK(memcmp(t->data[s->id], "six", 3) == 0);

    uint32_t any = listen_tcp(t, 3, "");
    CHECK(fwn_connect(t->ctx, 4, "127.0.0.1", (int32_t)any, NULL, NULL, 0, NULL) == 0);
    c = expect(t, FWN_EV_CONNECTED, ANY_ID, 2000);
    s = expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000);
    check_addr(c, "127.0.0.1", "127.0.0.1");
    check_addr(s, "::ffff:127.0.0.1", "::ffff:127.0.0.1");
    tc_stop_free(t);
    fprintf(stderr, "ok\n");
    return 0;
}
