/* Dial failures: a closed port on 127.0.0.1, bad arguments, a bad device, an abort; a local bind. */
#include <string.h>

#include "harness.h"

int main(void) {
    test_begin("connect failures", 20);
    tc *t = tc_new(64 * 1024, 0);
    uint32_t port = listen_tcp(t, 1, "127.0.0.1");
    CHECK(fwn_unlisten(t->ctx, 1) == 0);
    expect(t, FWN_EV_UNLISTENED, 1, 2000);

    CHECK(fwn_connect(t->ctx, 2, "127.0.0.1", (int32_t)port, NULL, NULL, 0, NULL) == 0);
    ev *e = expect(t, FWN_EV_CONNECT_FAILED, 2, 3000);
    CHECK(strstr((char *)e->p, "refused") != NULL);
    CHECK(stat_of(t, FWN_STAT_CONNECTIONS) == 0);

    CHECK(fwn_connect(t->ctx, 3, "127.0.0.1", 0, NULL, NULL, 0, NULL) == FWN_ERR_INVALID);
    CHECK(fwn_connect(t->ctx, 3, "127.0.0.1", 70000, NULL, NULL, 0, NULL) == FWN_ERR_INVALID);
    CHECK(fwn_connect(t->ctx, 3, "127.0.0.1", 1, NULL, NULL, -1, NULL) == FWN_ERR_INVALID);
    CHECK(fwn_listen(t->ctx, 3, "127.0.0.1", 65536, NULL, 0) == FWN_ERR_INVALID);
    CHECK(fwn_connect(t->ctx, 4, "not-an-address", (int32_t)port, NULL, "999.1.1.1", 0, NULL) == 0);
    expect(t, FWN_EV_CONNECT_FAILED, 4, 10000);

    /* the same port twice: the second listen fails with a reason */
    uint32_t p2 = listen_tcp(t, 5, "127.0.0.1");
    CHECK(fwn_listen(t->ctx, 6, "127.0.0.1", (int32_t)p2, NULL, 0) == 0);
    e = expect(t, FWN_EV_LISTEN_FAILED, 6, 2000);
    CHECK(strstr((char *)e->p, "in use") != NULL);

    /* SO_BINDTODEVICE to a device that does not exist */
    CHECK(fwn_connect(t->ctx, 7, "127.0.0.1", (int32_t)p2, NULL, NULL, 0, "nosuchdev0") == 0);
    expect(t, FWN_EV_CONNECT_FAILED, 7, 2000);

    /* SO_BINDTODEVICE to loopback: connects with CAP_NET_RAW (root), else fails with EPERM */
    CHECK(fwn_connect(t->ctx, 11, "127.0.0.1", (int32_t)p2, NULL, NULL, 0, "lo") == 0);
    int lo = 0;
    for (int i = 0; i < 400 && !lo; i++) {
        pump_all(5);
        for (ev *x = t->head; x; x = x->next) {
            if (x->used) continue;
            if (x->kind == FWN_EV_CONNECT_FAILED && x->id == 11) {
                CHECK(strstr((char *)x->p, "not permitted") != NULL);
                x->used = 1;
                lo = 1;
            } else if (x->kind == FWN_EV_CONNECTED && u32_at(x->p) == 11) {
                x->used = 1;
                CHECK(fwn_close(t->ctx, x->id) == 0);
                expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000);
                lo = 2;
            }
        }
    }
    CHECK(lo);
    fprintf(stderr, "bind to lo: %s\n", lo == 2 ? "connected" : "not permitted");

    /* a local address and port: the server sees them */
    uint32_t lport = listen_tcp(t, 8, "127.0.0.1"); /* a free port: take it, then free it */
    CHECK(fwn_unlisten(t->ctx, 8) == 0);
    expect(t, FWN_EV_UNLISTENED, 8, 2000);
    CHECK(fwn_connect(t->ctx, 9, "127.0.0.1", (int32_t)p2, NULL, "127.0.0.1", (int32_t)lport, NULL) == 0);
    e = expect(t, FWN_EV_CONNECTED, ANY_ID, 3000);
    CHECK(u32_at(e->p) == 9);
    CHECK(u16_at(e->p + 6) == lport);
    ev *s = expect(t, FWN_EV_ACCEPTED, ANY_ID, 3000);
    CHECK(u32_at(s->p) == 5);
    CHECK(u16_at(s->p + 4) == lport);
    uint8_t rl = s->p[8];
    CHECK(rl == 9 && memcmp(s->p + 10, "127.0.0.1", 9) == 0);

    /* abort right after dialing: either it lost the race (CONNECTED) or CONNECT_FAILED "aborted" */
    CHECK(fwn_connect(t->ctx, 10, "127.0.0.1", (int32_t)p2, NULL, NULL, 0, NULL) == 0);
    CHECK(fwn_connect_abort(t->ctx, 10) == 0);
    int seen = 0;
    for (int i = 0; i < 400 && !seen; i++) {
        pump_all(5);
        for (ev *x = t->head; x; x = x->next) {
            if (x->used) continue;
            if (x->kind == FWN_EV_CONNECT_FAILED && x->id == 10) {
                CHECK(strcmp((char *)x->p, "aborted") == 0);
                seen = 1;
            }
            if (x->kind == FWN_EV_CONNECTED && u32_at(x->p) == 10) seen = 2;
        }
    }
    CHECK(seen);
    fprintf(stderr, "abort: %s\n", seen == 1 ? "aborted" : "connected first");
    tc_stop_free(t);
    fprintf(stderr, "ok\n");
    return 0;
}
