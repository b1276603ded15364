/* Out of descriptors: accept fails with EMFILE; the listener backs off instead of spinning, and
 * accepts the waiting connections once descriptors are free again. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

#define CLIENTS 8

static double cpu_seconds(void) {
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(void) {
    test_begin("EMFILE backoff", 20);
    tc *t = tc_new(64 * 1024, 0);
    uint32_t port = listen_tcp(t, 1, "127.0.0.1");
    struct rlimit rl, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    int fds[CLIENTS];
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fds[i] >= 0);
    }
    /* no descriptor left for accept: the limit just above the highest one in use */
    int top = 0;
    for (int i = 0; i < CLIENTS; i++) top = fds[i] > top ? fds[i] : top;
    low = rl;
    low.rlim_cur = (rlim_t)top + 1;
    int probe = dup(0);
    CHECK(probe < 0 || probe > top); /* no hole below it that accept could use */
    if (probe >= 0) close(probe);
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (int i = 0; i < CLIENTS; i++)
        CHECK(connect(fds[i], (struct sockaddr *)&a, sizeof a) == 0); /* completes in the backlog */
    double cpu0 = cpu_seconds();
    usleep(500 * 1000);
    double used = cpu_seconds() - cpu0;
    pump_all(1);
    fprintf(stderr, "cpu while out of descriptors: %.3f s in 0.5 s\n", used);
    CHECK(used < 0.2); /* a spinning loop would use ~0.5 s */
    for (ev *x = t->head; x; x = x->next) CHECK(x->used || x->kind != FWN_EV_ACCEPTED);
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    for (int i = 0; i < CLIENTS; i++) expect(t, FWN_EV_ACCEPTED, ANY_ID, 3000);
    for (int i = 0; i < CLIENTS; i++) close(fds[i]);
    tc_stop_free(t);
    fprintf(stderr, "ok\n");
    return 0;
}
