/*
 * Connection id -> connection, for the JS thread's calls (fwn_send & co.) and the I/O thread's
 * commands. Chained hash, grown at load 1; always used under ctx->lock.
 */
#include <stdlib.h>

#include "internal.h"

static uint32_t slot(const fwn_table *t, uint32_t id) { return (id * 2654435761u) & t->mask; }

static int grow(fwn_table *t) {
    uint32_t n = t->mask ? (t->mask + 1) * 2 : 64;
    fwn_conn **b = calloc(n, sizeof *b);
    if (!b) return -1;
    fwn_table old = *t;
    t->buckets = b;
    t->mask = n - 1;
    for (uint32_t i = 0; old.mask && i <= old.mask; i++) {
        fwn_conn *c = old.buckets[i];
        while (c) {
            fwn_conn *next = c->table_next;
            uint32_t s = slot(t, c->id);
            c->table_next = b[s];
            b[s] = c;
            c = next;
        }
    }
    free(old.buckets);
    return 0;
}

int fwn_table_put(fwn_table *t, fwn_conn *c) {
    if ((!t->mask || t->count > t->mask) && grow(t)) return -1;
    uint32_t s = slot(t, c->id);
    c->table_next = t->buckets[s];
    t->buckets[s] = c;
    t->count++;
    return 0;
}

fwn_conn *fwn_table_get(fwn_table *t, uint32_t id) {
    if (!t->mask) return NULL;
    for (fwn_conn *c = t->buckets[slot(t, id)]; c; c = c->table_next)
        if (c->id == id) return c;
    return NULL;
}

void fwn_table_remove(fwn_table *t, uint32_t id) {
    if (!t->mask) return;
    for (fwn_conn **p = &t->buckets[slot(t, id)]; *p; p = &(*p)->table_next) {
        if ((*p)->id == id) {
            *p = (*p)->table_next;
            t->count--;
            return;
        }
    }
}

void fwn_table_free(fwn_table *t) {
    free(t->buckets);
    t->buckets = NULL;
    t->mask = t->count = 0;
}
