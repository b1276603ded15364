/*
 * A connection's outgoing bytes: one contiguous buffer with a read offset. Its size is bounded
 * by high_water (fwn_send never accepts more), and it is released when it empties so that
 * idle connections hold no memory.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KEEP_WHEN_EMPTY 65536u

int fwn_outq_append(fwn_outq *q, const uint8_t *bytes, uint32_t len) {
    if (!len) return 0;
    if (q->cap - q->head - q->len < len) {
        if (q->head && q->len) { /* compact first */
            memmove(q->data, q->data + q->head, q->len);
            q->head = 0;
        }
        if (q->cap - q->len < len) {
            uint64_t want = q->cap ? (uint64_t)q->cap * 2 : 4096;
            if (want < (uint64_t)q->len + len) want = (uint64_t)q->len + len;
            if (want > UINT32_MAX) return -1;
            uint8_t *d = realloc(q->data, (size_t)want);
            if (!d) return -1;
            q->data = d;
            q->cap = (uint32_t)want;
        }
    }
    memcpy(q->data + q->head + q->len, bytes, len);
    q->len += len;
    return 0;
}

uint32_t fwn_outq_peek(const fwn_outq *q, uint8_t *dst, uint32_t max) {
    uint32_t n = q->len < max ? q->len : max;
    if (n) memcpy(dst, q->data + q->head, n);
    return n;
}

void fwn_outq_drop(fwn_outq *q, uint32_t n) {
    if (n > q->len) n = q->len;
    q->head += n;
    q->len -= n;
    if (!q->len) {
        q->head = 0;
        if (q->cap > KEEP_WHEN_EMPTY) fwn_outq_free(q);
    }
}

void fwn_outq_free(fwn_outq *q) {
    free(q->data);
    q->data = NULL;
    q->head = q->len = q->cap = 0;
}
