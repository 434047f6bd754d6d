/* libos/rdma/rdma_proto.c — message headers, handshake data, credit accounting and the
 * receive queue of the rdma libOS (see rdma_proto.h). Pure: no verbs, no I/O. */
#include "libos/rdma/rdma_proto.h"

#include <errno.h>
#include <string.h>

#include "core/buf.h"

uint32_t mg_rdma_imm_encode(const struct mg_rdma_hdr *h) {
    return ((uint32_t)(h->type & 0xfu) << 28) | ((uint32_t)(h->credits & 0xfffu) << 16) | h->seq;
}

int mg_rdma_imm_decode(uint32_t imm, struct mg_rdma_hdr *h) {
    h->type = (uint8_t)(imm >> 28);
    h->credits = (uint16_t)((imm >> 16) & 0xfffu);
    h->seq = (uint16_t)imm;
    if (h->type != MG_RDMA_MSG_DATA && h->type != MG_RDMA_MSG_CREDIT)
        return -EPROTO;
    return 0;
}

static void put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put_be32(uint8_t *p, uint32_t v) {
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}
static uint16_t get_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get_be32(const uint8_t *p) { return ((uint32_t)get_be16(p) << 16) | get_be16(p + 2); }

/* Layout: magic(4) version(1) reserved(1) recv_depth(2) recv_buf_size(4). */
void mg_rdma_hello_encode(const struct mg_rdma_hello *h, uint8_t out[MG_RDMA_HELLO_LEN]) {
    put_be32(out, MG_RDMA_HELLO_MAGIC);
    out[4] = MG_RDMA_HELLO_VERSION;
    out[5] = 0;
    put_be16(out + 6, h->recv_depth);
    put_be32(out + 8, h->recv_buf_size);
}

int mg_rdma_hello_decode(const void *data, size_t len, struct mg_rdma_hello *h) {
    const uint8_t *p = data;
    if (!p || len < MG_RDMA_HELLO_LEN)
        return -EPROTO;
    if (get_be32(p) != MG_RDMA_HELLO_MAGIC || p[4] != MG_RDMA_HELLO_VERSION)
        return -EPROTO;
    h->recv_depth = get_be16(p + 6);
    h->recv_buf_size = get_be32(p + 8);
    /* Fewer than two receives would leave no credit for data next to the reserved one. */
    if (h->recv_depth < 2 || h->recv_depth > MG_RDMA_MAX_CREDITS || h->recv_buf_size == 0)
        return -EPROTO;
    return 0;
}

void mg_rdma_flow_init(struct mg_rdma_flow *f, uint32_t local_depth, uint32_t peer_depth) {
    memset(f, 0, sizeof(*f));
    f->send_credits = peer_depth;
    f->peer_depth = peer_depth;
    f->local_depth = local_depth;
    /* At most half the depth: then a peer whose application has consumed everything
     * still holds more than half its credits, so it never waits on a threshold. */
    f->credit_threshold = local_depth / 2 ? local_depth / 2 : 1;
}

void mg_rdma_flow_set_peer(struct mg_rdma_flow *f, uint32_t peer_depth) {
    f->send_credits += peer_depth;
    f->peer_depth += peer_depth;
}

bool mg_rdma_flow_can_send_data(const struct mg_rdma_flow *f) {
    return f->send_credits >= 2 || (f->send_credits == 1 && f->to_return > 0);
}

bool mg_rdma_flow_want_credit_msg(const struct mg_rdma_flow *f) {
    return f->send_credits >= 1 && f->to_return >= f->credit_threshold;
}

void mg_rdma_flow_take(struct mg_rdma_flow *f, enum mg_rdma_msg_type type, struct mg_rdma_hdr *h) {
    uint32_t give = f->to_return > MG_RDMA_MAX_CREDITS ? MG_RDMA_MAX_CREDITS : f->to_return;
    f->send_credits--;
    f->to_return -= give;
    h->type = (uint8_t)type;
    h->credits = (uint16_t)give;
    h->seq = f->tx_seq++;
    if (type == MG_RDMA_MSG_CREDIT)
        f->credit_msgs_sent++;
    else
        f->credits_piggybacked += give;
}

int mg_rdma_flow_on_receive(struct mg_rdma_flow *f, const struct mg_rdma_hdr *h) {
    if (h->seq != f->rx_seq)
        return -EPROTO;
    if ((uint64_t)f->send_credits + h->credits > f->peer_depth)
        return -EPROTO;
    f->rx_seq++;
    f->send_credits += h->credits;
    return 0;
}

void mg_rdma_flow_on_repost(struct mg_rdma_flow *f, uint32_t n) { f->to_return += n; }

void mg_rdma_rxq_push(struct mg_rdma_rxq *q, struct mg_buf *b) {
    b->next = NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    q->count++;
    q->bytes += b->len;
}

struct mg_buf *mg_rdma_rxq_pop(struct mg_rdma_rxq *q) {
    struct mg_buf *b = q->head;
    if (!b)
        return NULL;
    q->head = b->next;
    if (!q->head)
        q->tail = NULL;
    b->next = NULL;
    q->count--;
    q->bytes -= b->len;
    return b;
}

void mg_rdma_rxq_clear(struct mg_rdma_rxq *q) {
    struct mg_buf *b;
    while ((b = mg_rdma_rxq_pop(q)))
        mg_buf_free(b);
}
