/* notify: called on the I/O thread exactly once per arming (a swap that found nothing). */
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int notified; /* test-only: notify has no user pointer */

static void on_notify(void) { __atomic_fetch_add(&notified, 1, __ATOMIC_SEQ_CST); }

static int count(void) { return __atomic_load_n(&notified, __ATOMIC_SEQ_CST); }

static int wait_count(int n) {
    for (int i = 0; i < 400 && count() < n; i++) usleep(5000);
    return count();
}

int main(void) {
    test_begin("notify", 20);
    void *ctx = fwn_create(65536, 0, on_notify);
    CHECK(ctx && fwn_start(ctx) == 0);
    CHECK(fwn_swap(ctx) == 0); /* nothing yet: armed */
    CHECK(fwn_listen(ctx, 1, "127.0.0.1", 0, NULL, 0) == 0);
    CHECK(fwn_listen(ctx, 2, "127.0.0.1", 0, NULL, 0) == 0);
    CHECK(wait_count(1) == 1);
    usleep(50000);
    CHECK(count() == 1); /* the second record did not notify again */
    int64_t r = fwn_swap(ctx);
    uint32_t used = (uint32_t)(r & 0xffffffff);
    CHECK(used == 2 * (12 + 4));
    const uint8_t *b = fwn_inbuf(ctx, (int)(r >> 32));
    CHECK(b[0] == FWN_EV_LISTENING && u32_at(b + 4) == 1 && b[16] == FWN_EV_LISTENING && u32_at(b + 20) == 2);
    uint32_t port = u32_at(b + 12);
    /* a swap that returned records does not arm */
    CHECK(fwn_connect(ctx, 3, "127.0.0.1", (int32_t)port, NULL, NULL, 0, NULL) == 0);
    usleep(100000);
    CHECK(count() == 1);
    r = fwn_swap(ctx);
    CHECK((r & 0xffffffff) > 0); /* CONNECTED, ACCEPTED */
    CHECK(fwn_swap(ctx) == ((int64_t)((r >> 32) ^ 1) << 32)); /* empty: armed again */
    CHECK(fwn_unlisten(ctx, 2) == 0);
    CHECK(wait_count(2) == 2);
    CHECK(fwn_stop(ctx) == 0);
    CHECK(fwn_free(ctx) == 0);
    fprintf(stderr, "ok\n");
    return 0;
}
