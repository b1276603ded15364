/* 1,000 connections on one context (2,000 sockets): every one echoes its own bytes. */
#include <string.h>
#include <sys/resource.h>

#include "harness.h"

#define CONNS 1000

int main(void) {
    test_begin("1000 connections", 60);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < 4096) { /* before the context: lws sizes its fd table from it */
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    CHECK(rl.rlim_cur >= 2 * CONNS + 64);
    int fds0 = count_fds();
    tc *t = tc_new(1024 * 1024, 64 * 1024);
    /* a backlog for all of them: an overflowing accept queue makes the kernel drop the final
     * ACKs, and those clients (already "connected") are only accepted seconds later */
    CHECK(fwn_listen(t->ctx, 1, "127.0.0.1", 0, NULL, 2 * CONNS) == 0);
    uint32_t port = u32_at(expect(t, FWN_EV_LISTENING, 1, 2000)->p);
    for (uint32_t i = 0; i < CONNS; i++)
        CHECK(fwn_connect(t->ctx, 1000 + i, "127.0.0.1", (int32_t)port, NULL, NULL, 0, NULL) == 0);
    uint32_t cid[CONNS], sid_count = 0;
    for (uint32_t i = 0; i < CONNS; i++) {
        ev *e = expect(t, FWN_EV_CONNECTED, ANY_ID, 10000);
        uint32_t dial = u32_at(e->p);
        CHECK(dial >= 1000 && dial < 1000 + CONNS);
        cid[dial - 1000] = e->id;
    }
    for (; sid_count < CONNS; sid_count++) expect(t, FWN_EV_ACCEPTED, ANY_ID, 10000);
    CHECK(stat_of(t, FWN_STAT_CONNECTIONS) == 2 * CONNS);
    /* each client sends "conn <i>"; the server side echoes whatever it got */
    char msg[32];
    for (uint32_t i = 0; i < CONNS; i++) {
        int n = snprintf(msg, sizeof msg, "conn %u;", i);
        CHECK(fwn_send(t->ctx, cid[i], (const uint8_t *)msg, (uint32_t)n) == n);
    }
    uint32_t echoed[MAX_IDS] = {0}, done = 0;
    for (int round = 0; done < CONNS; round++) {
        CHECK(round < 20000);
        pump_all(5);
        done = 0;
        for (uint32_t id = 1; id < MAX_IDS; id++) {
            if (t->data_len[id] > echoed[id] && id != 0) {
                int is_client = 0;
                for (uint32_t i = 0; i < CONNS && !is_client; i++) is_client = cid[i] == id;
                if (!is_client) {
                    int32_t n = fwn_send(t->ctx, id, t->data[id] + echoed[id], t->data_len[id] - echoed[id]);
                    CHECK(n >= 0);
                    echoed[id] += (uint32_t)n;
                }
            }
        }
        for (uint32_t i = 0; i < CONNS; i++) {
            int n = snprintf(msg, sizeof msg, "conn %u;", i);
            if (t->data_len[cid[i]] == (uint32_t)n) {
                CHECK(memcmp(t->data[cid[i]], msg, (size_t)n) == 0);
                done++;
            }
        }
    }
    tc_stop_free(t);
    CHECK(count_fds() == fds0);
    fprintf(stderr, "ok\n");
    return 0;
}
