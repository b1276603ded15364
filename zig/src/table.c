/* The connection table: ids to connections, so a command naming an id finds its connection. */
#include "internal.h"

static uint32_t bucket(uint32_t id) { return id & (FWN_TABLE_BUCKETS - 1u); }

void fwn_table_put(struct fwn_ctx *ctx, struct fwn_conn *conn) {
  uint32_t b = bucket(conn->base.id);
  conn->next_in_bucket = ctx->table[b];
  ctx->table[b] = conn;
}

struct fwn_conn *fwn_table_get(struct fwn_ctx *ctx, uint32_t id) {
  for (struct fwn_conn *c = ctx->table[bucket(id)]; c != NULL; c = c->next_in_bucket)
    if (c->base.id == id) return c;
  return NULL;
}

void fwn_table_remove(struct fwn_ctx *ctx, struct fwn_conn *conn) {
  struct fwn_conn **at = &ctx->table[bucket(conn->base.id)];
  while (*at != NULL && *at != conn) at = &(*at)->next_in_bucket;
  if (*at == conn) *at = conn->next_in_bucket;
}
