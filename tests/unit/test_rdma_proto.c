/* tests/unit/test_rdma_proto.c — the rdma libOS's pure parts, without a device:
 * immediate-data framing, the handshake, credit accounting (including the reserved
 * last credit and a two-peer simulation that must never post without a receive),
 * message splitting, the receive queue, work-request ids, the registered-memory
 * allocator and the parameter parsing's error paths. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "libos/rdma/rdma.h"
#include "libos/rdma/rdma_mem.h"
#include "libos/rdma/rdma_proto.h"

static void test_imm_roundtrip(void) {
    struct mg_rdma_hdr in = {.type = MG_RDMA_MSG_DATA, .credits = 4095, .seq = 0xbeef}, out;
    CU_ASSERT_EQUAL(mg_rdma_imm_decode(mg_rdma_imm_encode(&in), &out), 0);
    CU_ASSERT_EQUAL(out.type, MG_RDMA_MSG_DATA);
    CU_ASSERT_EQUAL(out.credits, 4095);
    CU_ASSERT_EQUAL(out.seq, 0xbeef);
    in = (struct mg_rdma_hdr){.type = MG_RDMA_MSG_CREDIT, .credits = 7, .seq = 0};
    CU_ASSERT_EQUAL(mg_rdma_imm_encode(&in), (2u << 28) | (7u << 16));
    CU_ASSERT_EQUAL(mg_rdma_imm_decode(mg_rdma_imm_encode(&in), &out), 0);
    CU_ASSERT_EQUAL(out.type, MG_RDMA_MSG_CREDIT);
    /* Unknown types are refused. */
    CU_ASSERT_EQUAL(mg_rdma_imm_decode(0, &out), -EPROTO);
    CU_ASSERT_EQUAL(mg_rdma_imm_decode(0xf0000000u, &out), -EPROTO);
}

static void test_hello(void) {
    uint8_t b[MG_RDMA_HELLO_LEN];
    struct mg_rdma_hello h = {.recv_depth = 16, .recv_buf_size = 65536}, o;
    mg_rdma_hello_encode(&h, b);
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(b, sizeof(b), &o), 0);
    CU_ASSERT_EQUAL(o.recv_depth, 16);
    CU_ASSERT_EQUAL(o.recv_buf_size, 65536);
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(b, sizeof(b) - 1, &o), -EPROTO);
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(NULL, 0, &o), -EPROTO);
    uint8_t bad[MG_RDMA_HELLO_LEN];
    memcpy(bad, b, sizeof(b));
    bad[0] ^= 1; /* magic */
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(bad, sizeof(bad), &o), -EPROTO);
    memcpy(bad, b, sizeof(b));
    bad[4] = 2; /* version */
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(bad, sizeof(bad), &o), -EPROTO);
    h.recv_depth = 1; /* no room for the reserved credit */
    mg_rdma_hello_encode(&h, bad);
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(bad, sizeof(bad), &o), -EPROTO);
    h.recv_depth = 4096;
    mg_rdma_hello_encode(&h, bad);
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(bad, sizeof(bad), &o), -EPROTO);
    h = (struct mg_rdma_hello){.recv_depth = 4, .recv_buf_size = 0};
    mg_rdma_hello_encode(&h, bad);
    CU_ASSERT_EQUAL(mg_rdma_hello_decode(bad, sizeof(bad), &o), -EPROTO);
}

static void test_credit_reserve(void) {
    struct mg_rdma_flow f;
    mg_rdma_flow_init(&f, 8, 4);
    mg_rdma_flow_set_peer(&f, 0); /* nothing more */
    CU_ASSERT_EQUAL(f.send_credits, 4);
    struct mg_rdma_hdr h;
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_TRUE(mg_rdma_flow_can_send_data(&f));
        mg_rdma_flow_take(&f, MG_RDMA_MSG_DATA, &h);
        CU_ASSERT_EQUAL(h.seq, i);
        CU_ASSERT_EQUAL(h.credits, 0);
    }
    /* One credit left: kept for a message that returns credits. */
    CU_ASSERT_EQUAL(f.send_credits, 1);
    CU_ASSERT_FALSE(mg_rdma_flow_can_send_data(&f));
    CU_ASSERT_FALSE(mg_rdma_flow_want_credit_msg(&f));
    mg_rdma_flow_on_repost(&f, 1);
    CU_ASSERT_TRUE(mg_rdma_flow_can_send_data(&f));
    mg_rdma_flow_take(&f, MG_RDMA_MSG_DATA, &h);
    CU_ASSERT_EQUAL(h.credits, 1); /* piggybacked */
    CU_ASSERT_EQUAL(f.to_return, 0);
    CU_ASSERT_EQUAL(f.send_credits, 0);
    CU_ASSERT_FALSE(mg_rdma_flow_can_send_data(&f));
    /* The peer returns three: sequence checked, credits added. */
    struct mg_rdma_hdr in = {.type = MG_RDMA_MSG_CREDIT, .credits = 3, .seq = 0};
    CU_ASSERT_EQUAL(mg_rdma_flow_on_receive(&f, &in), 0);
    CU_ASSERT_EQUAL(f.send_credits, 3);
}

static void test_credit_threshold(void) {
    struct mg_rdma_flow f;
    mg_rdma_flow_init(&f, 16, 0);
    mg_rdma_flow_set_peer(&f, 16);
    CU_ASSERT_EQUAL(f.credit_threshold, 8);
    mg_rdma_flow_on_repost(&f, 7);
    CU_ASSERT_FALSE(mg_rdma_flow_want_credit_msg(&f));
    mg_rdma_flow_on_repost(&f, 1);
    CU_ASSERT_TRUE(mg_rdma_flow_want_credit_msg(&f));
    struct mg_rdma_hdr h;
    mg_rdma_flow_take(&f, MG_RDMA_MSG_CREDIT, &h);
    CU_ASSERT_EQUAL(h.type, MG_RDMA_MSG_CREDIT);
    CU_ASSERT_EQUAL(h.credits, 8);
    CU_ASSERT_EQUAL(f.credit_msgs_sent, 1);
    CU_ASSERT_FALSE(mg_rdma_flow_want_credit_msg(&f));
    /* No credit, no credit message. */
    mg_rdma_flow_init(&f, 2, 0);
    mg_rdma_flow_on_repost(&f, 5);
    CU_ASSERT_FALSE(mg_rdma_flow_want_credit_msg(&f));
}

static void test_receive_errors(void) {
    struct mg_rdma_flow f;
    mg_rdma_flow_init(&f, 4, 0);
    mg_rdma_flow_set_peer(&f, 4);
    struct mg_rdma_hdr h = {.type = MG_RDMA_MSG_DATA, .credits = 0, .seq = 1};
    CU_ASSERT_EQUAL(mg_rdma_flow_on_receive(&f, &h), -EPROTO); /* gap */
    h.seq = 0;
    h.credits = 1; /* would exceed the peer's depth: credits nobody used */
    CU_ASSERT_EQUAL(mg_rdma_flow_on_receive(&f, &h), -EPROTO);
    CU_ASSERT_EQUAL(f.rx_seq, 0);
    h.credits = 0;
    CU_ASSERT_EQUAL(mg_rdma_flow_on_receive(&f, &h), 0);
    CU_ASSERT_EQUAL(f.rx_seq, 1);
    /* The sequence wraps at 2^16. */
    f.rx_seq = 0xffff;
    h.seq = 0xffff;
    CU_ASSERT_EQUAL(mg_rdma_flow_on_receive(&f, &h), 0);
    CU_ASSERT_EQUAL(f.rx_seq, 0);
}

/* Two peers exchanging data under the credit rules with random application pops:
 * every message must find a posted receive, and neither side may stall for good. */
struct sim_peer {
    struct mg_rdma_flow flow;
    uint32_t posted;  /* receives posted */
    uint32_t unread;  /* received, not yet popped */
    uint32_t to_send; /* data messages the application wants to send */
    uint32_t inbox_msgs;
    struct mg_rdma_hdr inbox[4096];
};

static void sim_deliver(struct sim_peer *to, const struct mg_rdma_hdr *h) {
    CU_ASSERT_FATAL(to->posted > 0); /* a send with no receive: RNR */
    to->posted--;
    to->inbox[to->inbox_msgs++] = *h;
}

static void test_credit_simulation(void) {
    enum { DEPTH = 6 };
    struct sim_peer *p = calloc(2, sizeof(*p));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < 2; i++) {
        mg_rdma_flow_init(&p[i].flow, DEPTH, 0);
        mg_rdma_flow_set_peer(&p[i].flow, DEPTH);
        p[i].posted = DEPTH;
        p[i].to_send = 5000;
    }
    uint64_t rng = 12345;
    uint32_t received[2] = {0, 0};
    for (int step = 0; step < 200000 && (received[0] < 5000 || received[1] < 5000); step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((rng >> 33) & 1), j = 1 - i;
        struct sim_peer *me = &p[i], *peer = &p[j];
        switch ((rng >> 40) % 4) {
        case 0: /* deliver one message from the wire */
            if (me->inbox_msgs) {
                struct mg_rdma_hdr h = me->inbox[0];
                memmove(me->inbox, me->inbox + 1, --me->inbox_msgs * sizeof(h));
                CU_ASSERT_EQUAL_FATAL(mg_rdma_flow_on_receive(&me->flow, &h), 0);
                if (h.type == MG_RDMA_MSG_DATA) {
                    me->unread++;
                    received[i]++;
                } else {
                    me->posted++; /* credit messages' receives go straight back */
                    mg_rdma_flow_on_repost(&me->flow, 1);
                }
            }
            break;
        case 1: /* the application pops: the receive is reposted */
            if (me->unread) {
                me->unread--;
                me->posted++;
                mg_rdma_flow_on_repost(&me->flow, 1);
            }
            break;
        default: { /* send what the rules allow */
            struct mg_rdma_hdr h;
            if (me->to_send && mg_rdma_flow_can_send_data(&me->flow)) {
                mg_rdma_flow_take(&me->flow, MG_RDMA_MSG_DATA, &h);
                me->to_send--;
                sim_deliver(peer, &h);
            } else if (mg_rdma_flow_want_credit_msg(&me->flow)) {
                mg_rdma_flow_take(&me->flow, MG_RDMA_MSG_CREDIT, &h);
                sim_deliver(peer, &h);
            }
            break;
        }
        }
    }
    CU_ASSERT_EQUAL(received[0], 5000);
    CU_ASSERT_EQUAL(received[1], 5000);
    free(p);
}

static void test_chunks(void) {
    CU_ASSERT_EQUAL(mg_rdma_chunk_count(0, 65536), 0);
    CU_ASSERT_EQUAL(mg_rdma_chunk_count(1, 65536), 1);
    CU_ASSERT_EQUAL(mg_rdma_chunk_count(65536, 65536), 1);
    CU_ASSERT_EQUAL(mg_rdma_chunk_count(65537, 65536), 2);
    CU_ASSERT_EQUAL(mg_rdma_chunk_count(4u << 20, 65536), 64);
    CU_ASSERT_EQUAL(mg_rdma_chunk_len(65537, 65536), 65536);
    CU_ASSERT_EQUAL(mg_rdma_chunk_len(1, 65536), 1);
}

static void test_rxq(void) {
    struct mg_rdma_rxq q = {0};
    struct mg_buf *a = mg_buf_alloc_heap(10, 0), *b = mg_buf_alloc_heap(20, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    a->len = 10;
    b->len = 20;
    mg_rdma_rxq_push(&q, a);
    mg_rdma_rxq_push(&q, b);
    CU_ASSERT_EQUAL(q.count, 2);
    CU_ASSERT_EQUAL(q.bytes, 30);
    CU_ASSERT_PTR_EQUAL(mg_rdma_rxq_pop(&q), a); /* in order */
    CU_ASSERT_EQUAL(q.bytes, 20);
    mg_buf_free(a);
    mg_rdma_rxq_clear(&q); /* frees b */
    CU_ASSERT_EQUAL(q.count, 0);
    CU_ASSERT_PTR_NULL(mg_rdma_rxq_pop(&q));
}

static void test_wrid(void) {
    uint64_t w = mg_rdma_wrid(0xfffff, 0xabcdef, true, 0x7ffff);
    CU_ASSERT_EQUAL(mg_rdma_wrid_slot(w), 0xfffff);
    CU_ASSERT_EQUAL(mg_rdma_wrid_gen(w), 0xabcdef);
    CU_ASSERT_TRUE(mg_rdma_wrid_is_recv(w));
    CU_ASSERT_EQUAL(mg_rdma_wrid_index(w), 0x7ffff);
    w = mg_rdma_wrid(3, 1, false, 5);
    CU_ASSERT_EQUAL(mg_rdma_wrid_slot(w), 3);
    CU_ASSERT_EQUAL(mg_rdma_wrid_gen(w), 1);
    CU_ASSERT_FALSE(mg_rdma_wrid_is_recv(w));
    CU_ASSERT_EQUAL(mg_rdma_wrid_index(w), 5);
}

static void test_mem(void) {
    struct mg_rdma_mem *m = mg_rdma_mem_create(1u << 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(mg_rdma_mem_size(m), 1u << 20);
    CU_ASSERT_PTR_NULL(mg_rdma_mem_alloc(m, 0));
    CU_ASSERT_PTR_NULL(mg_rdma_mem_alloc(m, (2u << 20))); /* beyond the arena */
    struct mg_buf *a = mg_rdma_mem_alloc(m, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->cap, 4096);
    CU_ASSERT_TRUE(mg_rdma_mem_owns(m, a));
    CU_ASSERT_TRUE(a->base >= mg_rdma_mem_base(m) && a->base + a->cap <= mg_rdma_mem_base(m) + mg_rdma_mem_size(m));
    struct mg_buf *b = mg_rdma_mem_alloc(m, 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->cap, 8192);
    CU_ASSERT_EQUAL(mg_rdma_mem_in_use(m), 2);
    memset(b->base, 0xab, b->cap); /* storage is real (ASan checks) */
    uint8_t *a_base = a->base;
    mg_buf_free(a);
    struct mg_buf *c = mg_rdma_mem_alloc(m, 4096);
    CU_ASSERT_PTR_EQUAL(c->base, a_base); /* reused from its class */
    /* Exhaustion: the rest of the arena, then NULL. */
    size_t left = mg_rdma_mem_uncarved(m);
    struct mg_buf *big = mg_rdma_mem_alloc(m, 512u * 1024u);
    CU_ASSERT_PTR_NOT_NULL(big);
    CU_ASSERT_EQUAL(mg_rdma_mem_uncarved(m), left - 512u * 1024u);
    CU_ASSERT_PTR_NULL(mg_rdma_mem_alloc(m, 512u * 1024u));
    struct mg_buf *heap = mg_buf_alloc_heap(16, 0);
    CU_ASSERT_FALSE(mg_rdma_mem_owns(m, heap));
    mg_buf_free(heap);
    mg_buf_free(b);
    mg_buf_free(c);
    mg_buf_free(big);
    CU_ASSERT_EQUAL(mg_rdma_mem_in_use(m), 0);
    mg_rdma_mem_destroy(m);
    CU_ASSERT_PTR_NULL(mg_rdma_mem_create(0));
}

static void test_params(void) {
    struct mg_rdma_params p;
    char err[256];
    unsetenv("DEMI_RDMA_RECV_DEPTH");
    unsetenv("DEMI_RDMA_RECV_BUF");
    unsetenv("DEMI_RDMA_DEVICE");
    CU_ASSERT_EQUAL(mg_rdma_params_load(&p, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(p.recv_depth, MG_RDMA_DEFAULT_RECV_DEPTH);
    CU_ASSERT_EQUAL(p.recv_buf_size, MG_RDMA_DEFAULT_RECV_BUF);
    setenv("DEMI_RDMA_RECV_BUF", "5000", 1);
    CU_ASSERT_EQUAL(mg_rdma_params_load(&p, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(p.recv_buf_size, 8192); /* rounded up to its arena class */
    setenv("DEMI_RDMA_RECV_DEPTH", "1", 1);
    CU_ASSERT_EQUAL(mg_rdma_params_load(&p, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "DEMI_RDMA_RECV_DEPTH"));
    setenv("DEMI_RDMA_RECV_DEPTH", "12x", 1);
    CU_ASSERT_EQUAL(mg_rdma_params_load(&p, err, sizeof(err)), -EINVAL);
    unsetenv("DEMI_RDMA_RECV_DEPTH");
    unsetenv("DEMI_RDMA_RECV_BUF");
    char longname[100];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    setenv("DEMI_RDMA_DEVICE", longname, 1);
    CU_ASSERT_EQUAL(mg_rdma_params_load(&p, err, sizeof(err)), -EINVAL);
    setenv("DEMI_RDMA_DEVICE", "rxe0", 1);
    CU_ASSERT_EQUAL(mg_rdma_params_load(&p, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(p.device, "rxe0");
    unsetenv("DEMI_RDMA_DEVICE");
}

static void test_socket_args(void) {
    CU_ASSERT_EQUAL(mg_rdma_check_socket_args(AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL(mg_rdma_check_socket_args(AF_INET, SOCK_STREAM, IPPROTO_TCP), 0);
    CU_ASSERT_EQUAL(mg_rdma_check_socket_args(AF_INET6, SOCK_STREAM, 0), -EAFNOSUPPORT);
    CU_ASSERT_EQUAL(mg_rdma_check_socket_args(AF_INET, SOCK_DGRAM, 0), -ESOCKTNOSUPPORT);
    CU_ASSERT_EQUAL(mg_rdma_check_socket_args(AF_INET, SOCK_STREAM, IPPROTO_UDP), -EPROTONOSUPPORT);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    CU_ASSERT_EQUAL(mg_rdma_check_addr((struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL(mg_rdma_check_addr((struct sockaddr *)&sin, sizeof(sin) - 1), -EINVAL);
    CU_ASSERT_EQUAL(mg_rdma_check_addr(NULL, sizeof(sin)), -EINVAL);
    sin.sin_family = AF_INET6;
    CU_ASSERT_EQUAL(mg_rdma_check_addr((struct sockaddr *)&sin, sizeof(sin)), -EAFNOSUPPORT);
}

static void test_wc_errno(void) {
    CU_ASSERT_EQUAL(mg_rdma_wc_errno(IBV_WC_SUCCESS), 0);
    CU_ASSERT_EQUAL(mg_rdma_wc_errno(IBV_WC_RETRY_EXC_ERR), ETIMEDOUT);
    CU_ASSERT_EQUAL(mg_rdma_wc_errno(IBV_WC_RNR_RETRY_EXC_ERR), ECONNRESET);
    CU_ASSERT_EQUAL(mg_rdma_wc_errno(IBV_WC_WR_FLUSH_ERR), ECONNRESET);
    CU_ASSERT_EQUAL(mg_rdma_wc_errno(IBV_WC_LOC_LEN_ERR), EPROTO);
    CU_ASSERT_EQUAL(mg_rdma_wc_errno(IBV_WC_LOC_PROT_ERR), EIO);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("rdma_proto", NULL, NULL);
    CU_add_test(s, "immediate framing", test_imm_roundtrip);
    CU_add_test(s, "handshake data", test_hello);
    CU_add_test(s, "last credit is reserved", test_credit_reserve);
    CU_add_test(s, "credit message threshold", test_credit_threshold);
    CU_add_test(s, "sequence and credit violations", test_receive_errors);
    CU_add_test(s, "two peers never send without a receive", test_credit_simulation);
    CU_add_test(s, "push splitting", test_chunks);
    CU_add_test(s, "receive queue", test_rxq);
    CU_add_test(s, "work request ids", test_wrid);
    CU_add_test(s, "registered arena allocator", test_mem);
    CU_add_test(s, "parameters from the environment", test_params);
    CU_add_test(s, "socket argument checks", test_socket_args);
    CU_add_test(s, "work completion errors", test_wc_errno);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
