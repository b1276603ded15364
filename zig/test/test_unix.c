/* Unix sockets: listen on a path, dial it, echo, empty address blocks, options as no-ops. */
#include <string.h>
#include <unistd.h>

#include "harness.h"

int main(void) {
    test_begin("unix sockets", 20);
    char path[64];
    snprintf(path, sizeof path, "/tmp/fwn-test-%d.sock", (int)getpid());
    unlink(path);
    tc *t = tc_new(64 * 1024, 0);
    CHECK(fwn_listen(t->ctx, 1, NULL, 0, path, 0) == 0);
    ev *e = expect(t, FWN_EV_LISTENING, 1, 2000);
    CHECK(u32_at(e->p) == 0);
    CHECK(fwn_listen(t->ctx, 2, NULL, 0, path, 0) == 0); /* taken */
    expect(t, FWN_EV_LISTEN_FAILED, 2, 2000);
    CHECK(fwn_connect(t->ctx, 3, NULL, 0, path, NULL, 0, NULL) == 0);
    ev *c = expect(t, FWN_EV_CONNECTED, ANY_ID, 2000);
    ev *s = expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000);
    CHECK(c->len == 4 + 6 && s->len == 4 + 6); /* ports 0, no address text */
    CHECK(u16_at(c->p + 4) == 0 && c->p[8] == 0 && c->p[9] == 0);
    CHECK(fwn_set_option(t->ctx, c->id, FWN_OPT_NODELAY, 1) == 0);
    CHECK(fwn_send(t->ctx, c->id, (const uint8_t *)"over unix", 9) == 9);
    expect_bytes(t, s->id, 9, 2000);
    CHECK(memcmp(t->data[s->id], "over unix", 9) == 0);
    CHECK(fwn_send(t->ctx, s->id, (const uint8_t *)"back", 4) == 4);
    expect_bytes(t, c->id, 4, 2000);
    CHECK(fwn_close(t->ctx, c->id) == 0);
    expect(t, FWN_EV_CLOSED, c->id, 2000);
    expect(t, FWN_EV_CLOSED, s->id, 2000);
    CHECK(fwn_connect(t->ctx, 4, NULL, 0, "/tmp/fwn-no-such-socket", NULL, 0, NULL) == 0);
    expect(t, FWN_EV_CONNECT_FAILED, 4, 2000);
    tc_stop_free(t);
    unlink(path);
    fprintf(stderr, "ok\n");
    return 0;
}
