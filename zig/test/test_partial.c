/*
 * Partial writes, seen from a plain Unix-socket peer that does not read (a Unix socket's buffer
 * is smaller than one 256 KiB send): the kernel takes part of a send, the rest stays in the
 * connection's queue (nothing is buffered anywhere else), and once the peer reads every byte
 * arrives in order.
 */
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define TOTAL (4u << 20)
#define WRITE_CHUNK (256u * 1024u)

int main(void) {
    test_begin("partial writes", 20);
    char path[64];
    snprintf(path, sizeof path, "/tmp/fwn-partial-%d.sock", (int)getpid());
    unlink(path);
    tc *t = tc_new(1024 * 1024, TOTAL);
    CHECK(fwn_listen(t->ctx, 1, NULL, 0, path, 0) == 0);
    expect(t, FWN_EV_LISTENING, 1, 2000);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    uint32_t sid = expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000)->id;
    uint8_t *src = malloc(TOTAL), *got = malloc(TOTAL);
    CHECK(src && got);
    fill_pattern(src, TOTAL, 21);
    CHECK(fwn_send(t->ctx, sid, src, TOTAL) == (int32_t)TOTAL);
    usleep(200000);
    pump_all(1);
    uint64_t handed = stat_of(t, FWN_STAT_BYTES_OUT);
    int inq = 0;
    CHECK(ioctl(fd, SIOCINQ, &inq) == 0);
    fprintf(stderr, "sent %llu, in the socket %d, elsewhere %lld, still queued %llu\n",
            (unsigned long long)handed, inq, (long long)handed - inq,
            (unsigned long long)stat_of(t, FWN_STAT_QUEUED_OUT));
    CHECK(handed == (uint64_t)inq);  /* every byte sent is in the socket */
    CHECK(handed < WRITE_CHUNK);     /* the first send was partial */
    CHECK(stat_of(t, FWN_STAT_QUEUED_OUT) == TOTAL - handed);
    size_t have = 0;
    for (int i = 0; have < TOTAL; i++) {
        CHECK(i < 100000);
        pump_all(0);
        ssize_t r = recv(fd, got + have, TOTAL - have, MSG_DONTWAIT);
        if (r > 0)
            have += (size_t)r;
        else
            usleep(500);
    }
    CHECK(memcmp(got, src, TOTAL) == 0);
    /* the counter follows the send: the peer may have read the last bytes a moment before */
    for (int i = 0; i < 200 && stat_of(t, FWN_STAT_BYTES_OUT) != TOTAL; i++) usleep(5000);
    CHECK(stat_of(t, FWN_STAT_BYTES_OUT) == TOTAL);
    close(fd);
    tc_stop_free(t);
    unlink(path);
    free(src);
    free(got);
    fprintf(stderr, "ok\n");
    return 0;
}
