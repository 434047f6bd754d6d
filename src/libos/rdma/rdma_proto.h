/* libos/rdma/rdma_proto.h — the rdma libOS's wire protocol and flow control, with no
 * verbs calls, so it is unit-tested without a device.
 *
 * Every message is one RC SEND WITH IMMEDIATE. The 32-bit immediate is the whole
 * header, so the payload lands at the first byte of the peer's receive buffer and a
 * pop hands that buffer to the application without a copy:
 *
 *     bits 31..28  type (DATA or CREDIT)
 *     bits 27..16  credits returned: receives the sender reposted since its last message
 *     bits 15..0   sequence number, modulo 2^16 (RC delivers in order; a gap is a bug or
 *                  corruption and ends the connection with EPROTO)
 *
 * Credits: a sender holds one credit per receive its peer has posted and it has not yet
 * consumed, so it never posts a send with no receive waiting (no RNR retries). The last
 * credit is kept for a message that returns credits, so two peers that both hold
 * credits to return can never block each other. A CREDIT message (no payload) is sent
 * when the credits to return reach a threshold; credits arrive piggybacked on data too.
 *
 * The connection handshake carries each side's receive depth and receive buffer size
 * in the rdma_cm private data (struct mg_rdma_hello), which give the initial credits
 * and the largest message the sender may post; a push larger than that is split. */
#ifndef MARGAY_LIBOS_RDMA_PROTO_H
#define MARGAY_LIBOS_RDMA_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mg_rdma_msg_type {
    MG_RDMA_MSG_DATA = 1,   /* payload bytes of the stream */
    MG_RDMA_MSG_CREDIT = 2, /* no payload: returns credits only */
};

/* Largest credit count one header carries (12 bits); receive depths are capped by it. */
#define MG_RDMA_MAX_CREDITS 4095u

struct mg_rdma_hdr {
    uint8_t type;
    uint16_t credits;
    uint16_t seq;
};

uint32_t mg_rdma_imm_encode(const struct mg_rdma_hdr *h);
/* Decodes an immediate; -EPROTO for an unknown type. */
int mg_rdma_imm_decode(uint32_t imm, struct mg_rdma_hdr *h);

/* Handshake private data (both directions). Fields are big-endian on the wire. */
#define MG_RDMA_HELLO_MAGIC 0x6d675244u /* "mgRD" */
#define MG_RDMA_HELLO_VERSION 1u
#define MG_RDMA_HELLO_LEN 12u
struct mg_rdma_hello {
    uint16_t recv_depth;    /* receives posted before the connection is established */
    uint32_t recv_buf_size; /* bytes per receive buffer */
};
void mg_rdma_hello_encode(const struct mg_rdma_hello *h, uint8_t out[MG_RDMA_HELLO_LEN]);
/* -EPROTO when too short, the magic or version is wrong, or a field is out of range. */
int mg_rdma_hello_decode(const void *data, size_t len, struct mg_rdma_hello *h);

/* Per-connection credit and sequence accounting. */
struct mg_rdma_flow {
    uint32_t send_credits;     /* peer receives we may still consume */
    uint32_t peer_depth;       /* the most send_credits can ever be */
    uint32_t to_return;        /* receives we reposted and have not advertised yet */
    uint32_t local_depth;      /* receives we keep posted; bounds to_return */
    uint32_t credit_threshold; /* send a CREDIT message at this many to return */
    uint16_t tx_seq, rx_seq;
    uint64_t credit_msgs_sent, credits_piggybacked;
};

/* Starts a connection: the peer posted peer_depth receives, we post local_depth. */
void mg_rdma_flow_init(struct mg_rdma_flow *f, uint32_t local_depth, uint32_t peer_depth);
/* Learns the peer's receive depth from its handshake: that many credits. Before this
 * (active side, between QP creation and ESTABLISHED) received headers may return no
 * credits, which holds because the peer cannot have consumed anything of ours yet. */
void mg_rdma_flow_set_peer(struct mg_rdma_flow *f, uint32_t peer_depth);
/* May a DATA message be posted now? Needs 2 credits, or 1 when it returns credits. */
bool mg_rdma_flow_can_send_data(const struct mg_rdma_flow *f);
/* Should a CREDIT message be posted now? (enough to return, and a credit to send it) */
bool mg_rdma_flow_want_credit_msg(const struct mg_rdma_flow *f);
/* Consumes one credit for a message of `type` and fills its header, piggybacking the
 * credits to return. The caller checked can_send_data / want_credit_msg. */
void mg_rdma_flow_take(struct mg_rdma_flow *f, enum mg_rdma_msg_type type, struct mg_rdma_hdr *h);
/* Accounts a received header: checks the sequence and adds the returned credits.
 * -EPROTO on a sequence gap or credits beyond the peer's depth. */
int mg_rdma_flow_on_receive(struct mg_rdma_flow *f, const struct mg_rdma_hdr *h);
/* We reposted n receives: they are credits to return. */
void mg_rdma_flow_on_repost(struct mg_rdma_flow *f, uint32_t n);

/* Splitting a push into messages of at most max_msg bytes. */
static inline uint32_t mg_rdma_chunk_len(uint64_t remaining, uint32_t max_msg) {
    return remaining < max_msg ? (uint32_t)remaining : max_msg;
}
/* How many messages a push of len bytes takes (0 bytes take none). */
static inline uint64_t mg_rdma_chunk_count(uint64_t len, uint32_t max_msg) {
    return (len + max_msg - 1) / max_msg;
}

/* The receive side of the byte stream: received buffers wait here, in order, until
 * pops take them. A pop takes at most one message's payload, so a large push arrives
 * as several pops whose bytes, concatenated, are the pushed bytes (as TCP's). */
struct mg_buf;
struct mg_rdma_rxq {
    struct mg_buf *head, *tail; /* linked through mg_buf.next */
    uint32_t count;
    uint64_t bytes;
};
void mg_rdma_rxq_push(struct mg_rdma_rxq *q, struct mg_buf *b);
struct mg_buf *mg_rdma_rxq_pop(struct mg_rdma_rxq *q);
/* Frees every queued buffer. */
void mg_rdma_rxq_clear(struct mg_rdma_rxq *q);

/* wr_id layout: which connection (slot and generation, so a completion for a closed
 * connection is recognised and dropped), which queue and which ring index. */
#define MG_RDMA_WRID_RECV (1ull << 19)
static inline uint64_t mg_rdma_wrid(uint32_t conn_slot, uint32_t conn_gen, bool recv, uint32_t index) {
    return ((uint64_t)(conn_gen & 0xffffffu) << 40) | ((uint64_t)(conn_slot & 0xfffffu) << 20) |
           (recv ? MG_RDMA_WRID_RECV : 0) | (index & 0x7ffffu);
}
static inline uint32_t mg_rdma_wrid_slot(uint64_t w) { return (uint32_t)(w >> 20) & 0xfffffu; }
static inline uint32_t mg_rdma_wrid_gen(uint64_t w) { return (uint32_t)(w >> 40) & 0xffffffu; }
static inline bool mg_rdma_wrid_is_recv(uint64_t w) { return (w & MG_RDMA_WRID_RECV) != 0; }
static inline uint32_t mg_rdma_wrid_index(uint64_t w) { return (uint32_t)w & 0x7ffffu; }

#endif /* MARGAY_LIBOS_RDMA_PROTO_H */
