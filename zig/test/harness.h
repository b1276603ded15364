/* Test harness: contexts, pumping their batches, collecting records, bounded waits. */
#ifndef FWN_HARNESS_H
#define FWN_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "framewire_native.h"

#define ANY_ID 0xffffffffu
#define MAX_IDS 8192

typedef struct ev {
    struct ev *next;
    uint8_t kind;
    uint32_t id, len;
    uint8_t *p;
    int used;
} ev;

typedef struct tc {
    void *ctx;
    ev *head, *tail;
    /* per connection id: received DATA bytes, END/CLOSED seen */
    uint8_t *data[MAX_IDS];
    uint32_t data_len[MAX_IDS], data_cap[MAX_IDS];
    uint8_t ended[MAX_IDS], closed[MAX_IDS];
    uint64_t records, batches;
} tc;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

void test_begin(const char *name, unsigned seconds);
tc *tc_new(uint32_t batch_bytes, uint32_t high_water);
void tc_stop_free(tc *t);
/* One wait (up to ms) and swap on every registered context; 1 if any record came. */
int pump_all(int ms);
/* Pumps until an unused record of `kind` (and `id`, or ANY_ID) came on `t`; marks it used. */
ev *expect(tc *t, uint8_t kind, uint32_t id, int ms);
/* Pumps until `t` received `n` DATA bytes on `id`. */
void expect_bytes(tc *t, uint32_t id, uint32_t n, int ms);
uint32_t u32_at(const uint8_t *p);
uint16_t u16_at(const uint8_t *p);
uint32_t listen_tcp(tc *t, uint32_t lid, const char *host); /* returns the port */
/* Dials and accepts: returns the client's and the server's connection ids. */
void dial_pair(tc *client, tc *server, uint32_t dial_id, const char *host, uint32_t port, uint32_t *cid, uint32_t *sid);
uint64_t stat_of(tc *t, int slot);
/* 1 if an unused DRAIN for `id` is already there (no pumping). */
int find_unused_drain(tc *t, uint32_t id);
int count_fds(void);
void fill_pattern(uint8_t *p, uint32_t n, uint32_t seed);

#endif
