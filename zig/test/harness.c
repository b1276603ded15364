#include "harness.h"

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define MAX_TC 8
static tc *all[MAX_TC];
static int n_all;

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "test timed out\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(2);
}

void test_begin(const char *name, unsigned seconds) {
    signal(SIGALRM, on_alarm);
    alarm(seconds); /* every test stops by itself */
    fprintf(stderr, "# %s\n", name);
}

uint32_t u32_at(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint16_t u16_at(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

tc *tc_new(uint32_t batch_bytes, uint32_t high_water) {
    tc *t = calloc(1, sizeof *t);
    CHECK(t);
    t->ctx = fwn_create(batch_bytes, high_water, NULL);
    CHECK(t->ctx);
    CHECK(fwn_start(t->ctx) == 0);
    CHECK(n_all < MAX_TC);
    all[n_all++] = t;
    return t;
}

static void add_data(tc *t, uint32_t id, const uint8_t *p, uint32_t n) {
    CHECK(id < MAX_IDS);
    CHECK(!t->closed[id] && !t->ended[id]); /* nothing after END or CLOSED */
    if (t->data_len[id] + n > t->data_cap[id]) {
        uint32_t cap = t->data_cap[id] ? t->data_cap[id] : 4096;
        while (cap < t->data_len[id] + n) cap *= 2;
        t->data[id] = realloc(t->data[id], cap);
        CHECK(t->data[id]);
        t->data_cap[id] = cap;
    }
    memcpy(t->data[id] + t->data_len[id], p, n);
    t->data_len[id] += n;
}

/* Reads one batch; checks the record format as it goes. */
static int take_batch(tc *t) {
    int64_t r = fwn_swap(t->ctx);
    CHECK(r >= 0);
    int which = (int)(r >> 32);
    uint32_t used = (uint32_t)(r & 0xffffffffu);
    if (!used) return 0;
    const uint8_t *b = fwn_inbuf(t->ctx, which);
    CHECK(b);
    t->batches++;
    uint32_t off = 0;
    while (off < used) {
        CHECK(used - off >= 12);
        uint8_t kind = b[off];
        CHECK(kind >= FWN_EV_LISTENING && kind <= FWN_EV_UNLISTENED);
        CHECK(b[off + 1] == 0 && b[off + 2] == 0 && b[off + 3] == 0);
        uint32_t id = u32_at(b + off + 4), len = u32_at(b + off + 8);
        uint32_t size = 12 + ((len + 3) & ~3u);
        CHECK(size <= used - off);
        for (uint32_t i = 12 + len; i < size; i++) CHECK(b[off + i] == 0);
        const uint8_t *p = b + off + 12;
        t->records++;
        if (kind == FWN_EV_DATA) {
            CHECK(len > 0);
            add_data(t, id, p, len);
        } else if (kind == FWN_EV_LOG) {
            fprintf(stderr, "lws log (%u): %.*s\n", id, (int)len, (const char *)p);
        } else {
            if (kind == FWN_EV_END || kind == FWN_EV_CLOSED || kind == FWN_EV_DRAIN) {
                CHECK(id < MAX_IDS && !t->closed[id]);
                if (kind == FWN_EV_END) t->ended[id] = 1;
                if (kind == FWN_EV_CLOSED) t->closed[id] = 1;
            }
            ev *e = calloc(1, sizeof *e);
            CHECK(e);
            e->kind = kind;
            e->id = id;
            e->len = len;
            e->p = malloc(len + 1);
            CHECK(e->p);
            memcpy(e->p, p, len);
            e->p[len] = 0;
            if (t->tail)
                t->tail->next = e;
            else
                t->head = e;
            t->tail = e;
        }
        off += size;
    }
    CHECK(off == used);
    return 1;
}

int pump_all(int ms) {
    int got = 0;
    for (int i = 0; i < n_all; i++) got |= take_batch(all[i]);
    if (got) return 1;
    for (int i = 0; i < n_all; i++) {
        int w = fwn_wait(all[i]->ctx, n_all == 1 ? ms : 1);
        CHECK(w == 0 || w == 1);
        if (w == 1) got |= take_batch(all[i]);
    }
    return got;
}

static ev *find(tc *t, uint8_t kind, uint32_t id) {
    for (ev *e = t->head; e; e = e->next)
        if (!e->used && e->kind == kind && (id == ANY_ID || e->id == id)) return e;
    return NULL;
}

int find_unused_drain(tc *t, uint32_t id) { return find(t, FWN_EV_DRAIN, id) != NULL; }

ev *expect(tc *t, uint8_t kind, uint32_t id, int ms) {
    for (int waited = 0;; waited += 5) {
        ev *e = find(t, kind, id);
        if (e) {
            e->used = 1;
            return e;
        }
        if (waited > ms) {
            fprintf(stderr, "expected record kind %u id %u; have:", kind, id);
            for (ev *x = t->head; x; x = x->next)
                if (!x->used) fprintf(stderr, " [%u %u '%s']", x->kind, x->id, x->kind == FWN_EV_DATA ? "" : (char *)x->p);
            fprintf(stderr, "\n");
            CHECK(!"record came in time");
        }
        pump_all(5);
    }
}

void expect_bytes(tc *t, uint32_t id, uint32_t n, int ms) {
    for (int waited = 0; t->data_len[id] < n; waited += 5) {
        if (waited > ms) {
            fprintf(stderr, "conn %u: %u of %u bytes\n", id, t->data_len[id], n);
            CHECK(!"bytes came in time");
        }
        pump_all(5);
    }
    CHECK(t->data_len[id] == n);
}

uint32_t listen_tcp(tc *t, uint32_t lid, const char *host) {
    CHECK(fwn_listen(t->ctx, lid, host, 0, NULL, 128) == 0);
    ev *e = expect(t, FWN_EV_LISTENING, lid, 2000);
    CHECK(e->len == 4);
    uint32_t port = u32_at(e->p);
    CHECK(port > 0 && port < 65536);
    return port;
}

void dial_pair(tc *client, tc *server, uint32_t dial_id, const char *host, uint32_t port, uint32_t *cid, uint32_t *sid) {
    CHECK(fwn_connect(client->ctx, dial_id, host, (int32_t)port, NULL, NULL, 0, NULL) == 0);
    ev *c = expect(client, FWN_EV_CONNECTED, ANY_ID, 3000);
    CHECK(u32_at(c->p) == dial_id);
    ev *s = expect(server, FWN_EV_ACCEPTED, ANY_ID, 3000);
    *cid = c->id;
    *sid = s->id;
    /* the client's local port is the server's remote port */
    CHECK(u16_at(c->p + 4 + 2) == u16_at(s->p + 4));
    CHECK(u16_at(c->p + 4) == port);
}

uint64_t stat_of(tc *t, int slot) {
    uint64_t s[FWN_STAT_COUNT];
    CHECK(fwn_stats(t->ctx, s, FWN_STAT_COUNT) == FWN_STAT_COUNT);
    return s[slot];
}

void tc_stop_free(tc *t) {
    CHECK(fwn_stop(t->ctx) == 0);
    CHECK(fwn_stop(t->ctx) == 0); /* idempotent */
    CHECK(fwn_send(t->ctx, 1, (const uint8_t *)"x", 1) == FWN_ERR_STOPPED);
    CHECK(fwn_listen(t->ctx, 99, "127.0.0.1", 0, NULL, 0) == FWN_ERR_STOPPED);
    CHECK(fwn_wait(t->ctx, 10) == FWN_ERR_STOPPED);
    CHECK(fwn_free(t->ctx) == 0);
    for (int i = 0; i < n_all; i++)
        if (all[i] == t) all[i] = all[--n_all];
    while (t->head) {
        ev *e = t->head;
        t->head = e->next;
        free(e->p);
        free(e);
    }
    for (int i = 0; i < MAX_IDS; i++) free(t->data[i]);
    free(t);
}

int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    CHECK(d);
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

void fill_pattern(uint8_t *p, uint32_t n, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}
