/*
 * Half-close both ways, against a plain POSIX peer:
 * - our fwn_end: FIN after the queued bytes; the peer reads them then EOF, and may still send:
 *   we deliver its bytes, then END (its FIN) and CLOSED.
 * - the peer's FIN: END; we can still send until fwn_end, then CLOSED. (lws's raw *socket* role
 *   would close on that FIN; the library reads and writes adopted raw-file descriptors itself.)
 * - a reset: CLOSED with the reason, no END.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

static int plain_connect(uint32_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

/* Reads until EOF; returns the byte count (-1 on error/timeout). */
static long read_all(int fd, uint8_t *buf, size_t cap) {
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r < 0) return -1;
        if (r == 0) return (long)n;
        n += (size_t)r;
        CHECK(n < cap);
    }
}

int main(void) {
    test_begin("half-close", 20);
    tc *t = tc_new(256 * 1024, 1024 * 1024);
    uint32_t port = listen_tcp(t, 1, "127.0.0.1");
    static uint8_t big[600000], got[700000];
    fill_pattern(big, sizeof big, 5);

    /* 1. we end first: the peer gets every byte then EOF, and can still answer */
    int fd = plain_connect(port);
    uint32_t sid = expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000)->id;
    CHECK(fwn_send(t->ctx, sid, big, sizeof big) == (int32_t)sizeof big);
    CHECK(fwn_end(t->ctx, sid) == 0);
    CHECK(read_all(fd, got, sizeof got) == (long)sizeof big);
    CHECK(memcmp(got, big, sizeof big) == 0);
    CHECK(send(fd, "after your FIN", 14, 0) == 14);
    expect_bytes(t, sid, 14, 2000);
    CHECK(memcmp(t->data[sid], "after your FIN", 14) == 0);
    CHECK(!t->closed[sid]);
    shutdown(fd, SHUT_WR);
    expect(t, FWN_EV_END, sid, 2000);
    expect(t, FWN_EV_CLOSED, sid, 2000);
    close(fd);

    /* 2. the peer ends first: END, and our side can still answer until it ends too */
    fd = plain_connect(port);
    sid = expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000)->id;
    CHECK(send(fd, "bye", 3, 0) == 3);
    shutdown(fd, SHUT_WR);
    expect_bytes(t, sid, 3, 2000);
    expect(t, FWN_EV_END, sid, 2000);
    CHECK(!t->closed[sid]);
    CHECK(fwn_send(t->ctx, sid, big, sizeof big) == (int32_t)sizeof big);
    CHECK(fwn_end(t->ctx, sid) == 0);
    CHECK(read_all(fd, got, sizeof got) == (long)sizeof big);
    CHECK(memcmp(got, big, sizeof big) == 0);
    ev *c = expect(t, FWN_EV_CLOSED, sid, 2000);
    CHECK(c->len == 0);
    CHECK(fwn_send(t->ctx, sid, (const uint8_t *)"late", 4) == FWN_ERR_CLOSED);
    close(fd);

    /* 3. a reset: CLOSED with a reason, no END */
    fd = plain_connect(port);
    sid = expect(t, FWN_EV_ACCEPTED, ANY_ID, 2000)->id;
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    c = expect(t, FWN_EV_CLOSED, sid, 2000);
    fprintf(stderr, "reset reads as: '%s', END %s\n", (char *)c->p, t->ended[sid] ? "yes" : "no");
    CHECK(c->len > 0 && !t->ended[sid]);
    tc_stop_free(t);
    fprintf(stderr, "ok\n");
    return 0;
}
