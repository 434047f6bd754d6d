/* tests/unit/test_sim_arp.c — neighbour entries on long-lived connections, in the
 * simulator: two margay hosts talk over one TCP connection for many ARP cache
 * lifetimes (request/response every second, with and without loss, across a
 * partition that heals), and the neighbour cache must not make the connection pay
 * for its expiry: traffic from the neighbour confirms its entry, so while frames
 * flow there are no ARP requests beyond the first resolution (or a bounded few when
 * frames are lost), and an entry that did expire keeps being used while it is
 * checked again, instead of holding every retransmission back for a new resolution. */
#include <CUnit/Basic.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <string.h>
#include <sys/socket.h>

#include "cunit_main.h"
#include "tests/harness/simhosts.h"

#define SERVER 0
#define CLIENT 1
#define PORT 7000
#define MAX_WAIT_NS (600 * MG_NS_PER_S)
#define MSG 512

struct conn {
    struct simhosts *sh;
    int lqd, sqd, cqd;
};

static void set_ttl(unsigned i, struct mg_config *cfg, void *ctx) {
    (void)i;
    cfg->arp_cache_ttl_ns = *(const uint64_t *)ctx;
}

static void open_conn(struct conn *c) {
    struct sockaddr_in sin = simhosts_sockaddr(c->sh, SERVER, PORT);
    demi_qtoken_t qt_a, qt_c;
    demi_qresult_t qr;
    simhosts_use(c->sh, SERVER);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&c->lqd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_bind(c->lqd, (const struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(demi_listen(c->lqd, 4), 0);
    CU_ASSERT_EQUAL_FATAL(demi_accept(&qt_a, c->lqd), 0);
    simhosts_use(c->sh, CLIENT);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&c->cqd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_connect(&qt_c, c->cqd, (const struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(c->sh, CLIENT, qt_c, &qr, MAX_WAIT_NS), 0);
    CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_CONNECT);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(c->sh, SERVER, qt_a, &qr, MAX_WAIT_NS), 0);
    CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_ACCEPT);
    c->sqd = qr.qr_value.ares.qd;
}

/* Host `from` pushes MSG bytes of `tag` on qd_from; host `to` pops until it has
 * all of them, checking each byte. Returns when the first bytes arrived. */
static uint64_t send_msg(struct conn *c, unsigned from, int qd_from, unsigned to, int qd_to, uint8_t tag) {
    demi_qtoken_t push_qt, pop_qt;
    demi_qresult_t qr;
    simhosts_use(c->sh, from);
    demi_sgarray_t sga = demi_sgaalloc(MSG);
    CU_ASSERT_EQUAL_FATAL(sga.sga_numsegs, 1);
    memset(sga.sga_segs[0].sgaseg_buf, tag, MSG);
    CU_ASSERT_EQUAL_FATAL(demi_push(&push_qt, qd_from, &sga), 0);
    size_t got = 0;
    uint64_t first = 0;
    while (got < MSG) {
        simhosts_use(c->sh, to);
        CU_ASSERT_EQUAL_FATAL(demi_pop(&pop_qt, qd_to), 0);
        CU_ASSERT_EQUAL_FATAL(simhosts_wait(c->sh, to, pop_qt, &qr, MAX_WAIT_NS), 0);
        CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_POP);
        const uint8_t *p = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
        uint32_t len = qr.qr_value.sga.sga_segs[0].sgaseg_len;
        CU_ASSERT_FATAL(len > 0 && got + len <= MSG);
        if (got == 0)
            first = simhosts_now(c->sh);
        for (uint32_t i = 0; i < len; i++)
            CU_ASSERT_EQUAL_FATAL(p[i], tag);
        got += len;
        demi_sgafree(&qr.qr_value.sga);
    }
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(c->sh, from, push_qt, &qr, MAX_WAIT_NS), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    simhosts_use(c->sh, from);
    demi_sgafree(&sga);
    return first;
}

static uint64_t arp_requests(struct simhosts *sh) {
    return simhosts_inet(sh, SERVER)->stats.arp_requests_sent + simhosts_inet(sh, CLIENT)->stats.arp_requests_sent;
}

static void close_conn(struct conn *c) {
    simhosts_use(c->sh, CLIENT);
    CU_ASSERT_EQUAL(demi_close(c->cqd), 0);
    simhosts_use(c->sh, SERVER);
    CU_ASSERT_EQUAL(demi_close(c->sqd), 0);
    CU_ASSERT_EQUAL(demi_close(c->lqd), 0);
    simhosts_run_until(c->sh, NULL, NULL, 5 * MG_NS_PER_S);
}

/* One request and one answer every `gap`, `rounds` times; returns the ARP requests
 * both hosts sent after the connection was set up. */
static uint64_t converse(struct conn *c, unsigned rounds, uint64_t gap) {
    uint64_t before = arp_requests(c->sh);
    for (unsigned r = 0; r < rounds; r++) {
        send_msg(c, CLIENT, c->cqd, SERVER, c->sqd, (uint8_t)(2 * r));
        send_msg(c, SERVER, c->sqd, CLIENT, c->cqd, (uint8_t)(2 * r + 1));
        simhosts_run_until(c->sh, NULL, NULL, gap);
    }
    return arp_requests(c->sh) - before;
}

static struct simhosts *make_hosts(double loss, uint64_t *ttl) {
    struct simhosts_params p = {.n = 2, .seed = 11, .loss = loss, .configure = set_ttl, .configure_ctx = ttl};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    return sh;
}

/* 90 s of conversation, six lifetimes of the default 15 s entry: the entries are
 * confirmed by the conversation itself and never asked for again. */
static void test_conversation_needs_no_new_requests(void) {
    uint64_t ttl = 15 * MG_NS_PER_S;
    struct conn c = {.sh = make_hosts(0, &ttl)};
    open_conn(&c);
    uint64_t setup = arp_requests(c.sh);
    CU_ASSERT(setup >= 1 && setup <= 2);
    uint64_t later = converse(&c, 90, MG_NS_PER_S);
    CU_ASSERT_EQUAL(later, 0);
    if (later)
        fprintf(stderr, "\n    %llu ARP requests during 90 s of conversation\n", (unsigned long long)later);
    close_conn(&c);
    simhosts_destroy(c.sh);
}

/* The same with 10% loss each way and a short (2 s) lifetime, so retransmissions
 * and lost frames are many and lifetimes pass often: still only a bounded few
 * requests (an entry expires only when nothing came from the neighbour for 2 s). */
static void test_lossy_conversation_bounded_requests(void) {
    uint64_t ttl = 2 * MG_NS_PER_S;
    struct conn c = {.sh = make_hosts(0.1, &ttl)};
    open_conn(&c);
    uint64_t later = converse(&c, 60, MG_NS_PER_S);
    CU_ASSERT(later <= 4);
    if (later > 4)
        fprintf(stderr, "\n    %llu ARP requests during 60 s of lossy conversation\n", (unsigned long long)later);
    close_conn(&c);
    simhosts_destroy(c.sh);
}

/* Silence longer than a lifetime (30 s, TTL 5 s), then the conversation goes on: the
 * expired entry is used at once and checked with one request (and its answer) on
 * each side, not resolved again before every frame. */
static void test_expired_entry_used_while_checked(void) {
    uint64_t ttl = 5 * MG_NS_PER_S;
    struct conn c = {.sh = make_hosts(0, &ttl)};
    open_conn(&c);
    converse(&c, 3, MG_NS_PER_S);
    simhosts_run_until(c.sh, NULL, NULL, 30 * MG_NS_PER_S);
    uint64_t before = arp_requests(c.sh);
    uint64_t t0 = simhosts_now(c.sh);
    uint64_t arrived = send_msg(&c, CLIENT, c.cqd, SERVER, c.sqd, 0x55);
    /* The message crossed in one latency (10 us), not after a resolution's round
     * trip (request and answer first: 30 us in all). */
    CU_ASSERT(arrived - t0 <= 15 * MG_NS_PER_US);
    converse(&c, 10, MG_NS_PER_S);
    CU_ASSERT(arp_requests(c.sh) - before <= 2);
    close_conn(&c);
    simhosts_destroy(c.sh);
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"conversation_needs_no_new_requests", test_conversation_needs_no_new_requests},
        {"lossy_conversation_bounded_requests", test_lossy_conversation_bounded_requests},
        {"expired_entry_used_while_checked", test_expired_entry_used_while_checked},
        {NULL, NULL},
    };
    return mg_run_tests("sim_arp", cases);
}
