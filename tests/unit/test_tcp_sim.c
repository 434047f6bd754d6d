/* tests/unit/test_tcp_sim.c — TCP between two margay hosts on the simulated link,
 * through PDPIX (inet libOS), in simulated time: an echo server and clients with
 * the logic of the examples (the client pushes, the server pops and pushes back, the
 * client checks every byte), for 1..1000 concurrent connections and 1 B..16 MiB
 * transfers, with and without loss; connect errors (ECONNREFUSED, EHOSTUNREACH);
 * determinism of the frame sequence for a seed. After every run: the invariants of
 * both TCP layers hold, every connection finished and every pool buffer came back. */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "cunit_main.h"
#include "inet/tcp.h"
#include "inet/tcp_int.h"
#include "tests/harness/simhosts.h"

#define SERVER 0
#define CLIENT 1
#define ECHO_PORT 7

enum tok_kind { K_ACCEPT, K_SPOP, K_SPUSH, K_CONNECT, K_CPUSH, K_CPOP };

struct tok {
    enum tok_kind kind;
    int conn;
    int qd;
    demi_sgarray_t sga;
};

struct toks {
    demi_qtoken_t *qts;
    struct tok *meta;
    int n, cap;
};

struct cconn {
    int qd;
    size_t received;
    bool done, failed;
};

struct echo {
    struct simhosts *sh;
    unsigned nconn;
    size_t size;
    struct toks t[2];
    struct cconn *c;
    int lqd;
    unsigned done, failed;
    int fail_errno;
    bool corrupt;
};

static void fill_pattern(uint8_t *p, size_t len, size_t from, unsigned salt) {
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((from + i) * 7 + salt + ((from + i) >> 12));
}

static void tok_add(struct toks *t, demi_qtoken_t qt, struct tok meta) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->qts = realloc(t->qts, (size_t)t->cap * sizeof(*t->qts));
        t->meta = realloc(t->meta, (size_t)t->cap * sizeof(*t->meta));
    }
    t->qts[t->n] = qt;
    t->meta[t->n] = meta;
    t->n++;
}

static void tok_remove(struct toks *t, int i) {
    t->n--;
    t->qts[i] = t->qts[t->n];
    t->meta[i] = t->meta[t->n];
}

static void issue_pop(struct echo *e, unsigned host, enum tok_kind kind, int qd, int conn) {
    simhosts_use(e->sh, host);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, qd), 0);
    tok_add(&e->t[host], qt, (struct tok){.kind = kind, .conn = conn, .qd = qd});
}

static void issue_push(struct echo *e, unsigned host, enum tok_kind kind, int qd, int conn, demi_sgarray_t sga) {
    simhosts_use(e->sh, host);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_push(&qt, qd, &sga), 0);
    tok_add(&e->t[host], qt, (struct tok){.kind = kind, .conn = conn, .qd = qd, .sga = sga});
}

static void client_failed(struct echo *e, struct cconn *c, int err) {
    if (c->done || c->failed)
        return;
    c->failed = true;
    e->failed++;
    e->fail_errno = err;
}

static void handle(struct echo *e, unsigned host, struct tok m, const demi_qresult_t *qr) {
    simhosts_use(e->sh, host);
    bool failed = qr->qr_opcode == DEMI_OPC_FAILED;
    switch (m.kind) {
    case K_ACCEPT:
        if (failed)
            return;
        issue_pop(e, host, K_SPOP, qr->qr_value.ares.qd, -1);
        simhosts_use(e->sh, host);
        demi_qtoken_t qt;
        CU_ASSERT_EQUAL_FATAL(demi_accept(&qt, e->lqd), 0);
        tok_add(&e->t[host], qt, (struct tok){.kind = K_ACCEPT, .qd = e->lqd});
        return;
    case K_SPOP: {
        if (failed) {
            demi_close(m.qd);
            return;
        }
        demi_sgarray_t sga = qr->qr_value.sga;
        if (sga.sga_segs[0].sgaseg_len == 0) {
            demi_sgafree(&sga);
            demi_close(m.qd); /* the client finished: so do we */
            return;
        }
        issue_push(e, host, K_SPUSH, m.qd, -1, sga); /* echo the very buffer back */
        issue_pop(e, host, K_SPOP, m.qd, -1);
        return;
    }
    case K_SPUSH:
    case K_CPUSH:
        demi_sgafree(&m.sga);
        if (failed && m.kind == K_CPUSH)
            client_failed(e, &e->c[m.conn], (int)qr->qr_ret);
        return;
    case K_CONNECT: {
        struct cconn *c = &e->c[m.conn];
        if (failed) {
            client_failed(e, c, (int)qr->qr_ret);
            demi_close(c->qd);
            return;
        }
        demi_sgarray_t sga = demi_sgaalloc(e->size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sga.sga_buf);
        fill_pattern(sga.sga_segs[0].sgaseg_buf, e->size, 0, (unsigned)m.conn);
        issue_push(e, host, K_CPUSH, c->qd, m.conn, sga);
        issue_pop(e, host, K_CPOP, c->qd, m.conn);
        return;
    }
    case K_CPOP: {
        struct cconn *c = &e->c[m.conn];
        if (failed) {
            client_failed(e, c, (int)qr->qr_ret);
            demi_close(c->qd);
            return;
        }
        demi_sgarray_t sga = qr->qr_value.sga;
        size_t len = sga.sga_segs[0].sgaseg_len;
        if (len == 0 || c->received + len > e->size) {
            e->corrupt = true;
            demi_sgafree(&sga);
            client_failed(e, c, EPROTO);
            demi_close(c->qd);
            return;
        }
        uint8_t *want = malloc(len);
        fill_pattern(want, len, c->received, (unsigned)m.conn);
        if (memcmp(want, sga.sga_segs[0].sgaseg_buf, len) != 0)
            e->corrupt = true;
        free(want);
        c->received += len;
        demi_sgafree(&sga);
        if (c->received == e->size) {
            c->done = true;
            e->done++;
            demi_close(c->qd);
        } else {
            issue_pop(e, host, K_CPOP, c->qd, m.conn);
        }
        return;
    }
    }
}

/* Runs every completed operation of both hosts; true when every client finished. */
static bool echo_step(void *ctx) {
    struct echo *e = ctx;
    const struct timespec zero = {0, 0};
    for (unsigned h = 0; h < 2; h++) {
        for (;;) {
            struct toks *t = &e->t[h];
            if (t->n == 0)
                break;
            simhosts_use(e->sh, h);
            demi_qresult_t qr;
            int off = -1;
            int rc = demi_wait_any(&qr, &off, t->qts, t->n, &zero);
            if (rc != 0)
                break;
            struct tok m = t->meta[off];
            tok_remove(t, off);
            handle(e, h, m, &qr);
        }
    }
    return e->done + e->failed == e->nconn;
}

static bool all_closed(void *ctx) {
    struct echo *e = ctx;
    echo_step(e); /* the server still has end-of-stream pops to answer */
    return mg_tcp_connection_count(simhosts_inet(e->sh, SERVER)->tcp) == 0 &&
           mg_tcp_connection_count(simhosts_inet(e->sh, CLIENT)->tcp) == 0;
}

struct sim_cfg {
    uint32_t bufsize;
    bool sack; /* tcp.sack on both hosts */
};

static void configure_host(unsigned i, struct mg_config *cfg, void *ctx) {
    (void)i;
    struct sim_cfg *sc = ctx;
    /* Received payload stays in device buffers until the application frees it, and
     * the echo server sends those very buffers back: bound what one connection's
     * queues may hold so the 1024-buffer pools are not exhausted by one of them. (The
     * server's pushes that wait for send-buffer room hold buffers too, beyond this
     * bound; TCP's pool reserve keeps them from wedging a host: test_echo_pool_full.) */
    cfg->tcp_recv_buffer = sc->bufsize;
    cfg->tcp_send_buffer = sc->bufsize;
    cfg->tcp_syn_backlog = 1024;
    cfg->tcp_sack = sc->sack;
}

static void check_layers(struct simhosts *sh) {
    for (unsigned h = 0; h < 2; h++) {
        char why[256] = "";
        int rc = mg_tcp_check_invariants(simhosts_inet(sh, h)->tcp, why, sizeof(why));
        if (rc)
            fprintf(stderr, "host %u: %s\n", h, why);
        CU_ASSERT_EQUAL(rc, 0);
    }
}

/* What is left in a layer when a run does not end cleanly. */
static void dump_layer(struct simhosts *sh, unsigned h) {
    struct mg_tcp_layer *tcp = simhosts_inet(sh, h)->tcp;
    const struct mg_tcp_stats *st = mg_tcp_stats(tcp);
    fprintf(stderr, "host %u: segs in %lu out %lu rexmit %lu fast %lu timeouts %lu drops:", h,
            (unsigned long)st->segs_in, (unsigned long)st->segs_out, (unsigned long)st->retransmits,
            (unsigned long)st->fast_retransmits, (unsigned long)st->timeouts);
    for (int i = 0; i < MG_TCP_DROP__COUNT; i++)
        if (st->drops[i])
            fprintf(stderr, " %s=%lu", mg_tcp_drop_name(i), (unsigned long)st->drops[i]);
    fprintf(stderr, "\n");
    for (struct mg_tcp_sock *c = tcp->all_head; c; c = c->all_next)
        fprintf(stderr,
                "host %u: %u->%u %s handle %d err %d una %u nxt %u max %u bufseq %u sq %u rq %u ooo %u fin q%d s%d r%d "
                "wnd %u cwnd %u nretx %u srtt %lu us rto %lu ms\n",
                h, c->lport, c->rport, mg_tcp_state_name(c->state), c->has_handle, c->error, c->snd_una, c->snd_nxt,
                c->snd_max, c->snd_buf_seq, c->sq_bytes, c->rq_bytes, c->ooo_count, c->fin_queued, c->fin_sent,
                c->fin_rcvd, c->snd_wnd, c->cwnd, c->nretx, (unsigned long)(c->srtt / 1000),
                (unsigned long)(c->rto / 1000000));
}

struct run_result {
    unsigned done, failed;
    int fail_errno;
    bool corrupt;
    uint64_t sim_ns;
    /* Both hosts' counters added up. */
    uint64_t retransmits, retransmit_bytes, timeouts, fast_retransmits, sack_recoveries, sack_hole_retransmits;
    uint64_t pool_low_drops;
};

static void add_counters(struct run_result *r, const struct mg_tcp_stats *st) {
    r->retransmits += st->retransmits;
    r->retransmit_bytes += st->retransmit_bytes;
    r->timeouts += st->timeouts;
    r->fast_retransmits += st->fast_retransmits;
    r->sack_recoveries += st->sack_recoveries;
    r->sack_hole_retransmits += st->sack_hole_retransmits;
    r->pool_low_drops += st->drops[MG_TCP_DROP_POOL_LOW];
}

/* One echo run: nconn clients on host 1, each pushes `size` bytes to host 0's echo
 * server and reads them back; sack says whether both hosts offer SACK. */
static struct run_result echo_run_sack(unsigned nconn, size_t size, double loss, uint64_t seed, mg_sim_tap_fn tap,
                                       void *tap_ctx, bool sack) {
    struct sim_cfg sc = {.bufsize = 256 * 1024, .sack = sack};
    struct simhosts_params p = {.n = 2,
                                .seed = seed,
                                .loss = loss,
                                .static_arp = true,
                                .tap = tap,
                                .tap_ctx = tap_ctx,
                                .configure = configure_host,
                                .configure_ctx = &sc};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    struct echo e;
    memset(&e, 0, sizeof(e));
    e.sh = sh;
    e.nconn = nconn;
    e.size = size;
    e.c = calloc(nconn, sizeof(*e.c));
    uint64_t start = simhosts_now(sh);

    simhosts_use(sh, SERVER);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&e.lqd, AF_INET, SOCK_STREAM, 0), 0);
    struct sockaddr_in sin = simhosts_sockaddr(sh, SERVER, ECHO_PORT);
    CU_ASSERT_EQUAL_FATAL(demi_bind(e.lqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(demi_listen(e.lqd, 1024), 0);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_accept(&qt, e.lqd), 0);
    tok_add(&e.t[SERVER], qt, (struct tok){.kind = K_ACCEPT, .qd = e.lqd});

    simhosts_use(sh, CLIENT);
    for (unsigned i = 0; i < nconn; i++) {
        CU_ASSERT_EQUAL_FATAL(demi_socket(&e.c[i].qd, AF_INET, SOCK_STREAM, 0), 0);
        CU_ASSERT_EQUAL_FATAL(demi_connect(&qt, e.c[i].qd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        tok_add(&e.t[CLIENT], qt, (struct tok){.kind = K_CONNECT, .conn = (int)i, .qd = e.c[i].qd});
    }
    int rc = simhosts_run_until(sh, echo_step, &e, 24ull * 3600 * MG_NS_PER_S);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0 || e.failed || getenv("TCP_SIM_DUMP")) {
        dump_layer(sh, SERVER);
        dump_layer(sh, CLIENT);
    }
    struct run_result r = {.done = e.done,
                           .failed = e.failed,
                           .fail_errno = e.fail_errno,
                           .corrupt = e.corrupt,
                           .sim_ns = simhosts_now(sh) - start};
    check_layers(sh);
    /* Let every connection finish closing (TIME-WAIT included). */
    if (simhosts_run_until(sh, all_closed, &e, 600ull * MG_NS_PER_S) != 0) {
        CU_FAIL("connections left after 600 s");
        dump_layer(sh, SERVER);
        dump_layer(sh, CLIENT);
    }
    check_layers(sh);
    for (unsigned h = 0; h < 2; h++)
        add_counters(&r, mg_tcp_stats(simhosts_inet(sh, h)->tcp));
    simhosts_use(sh, SERVER);
    demi_close(e.lqd);
    /* Pending tokens (the server's accept) were cancelled by close; drain them. */
    echo_step(&e);
    for (unsigned h = 0; h < 2; h++) {
        struct mg_pool *pool = simhosts_inet(sh, h)->dev->pool;
        if (pool->in_use != 0)
            fprintf(stderr, "host %u: %u pool buffers still in use\n", h, pool->in_use);
        CU_ASSERT_EQUAL(pool->in_use, 0);
    }
    free(e.t[0].qts);
    free(e.t[0].meta);
    free(e.t[1].qts);
    free(e.t[1].meta);
    free(e.c);
    simhosts_destroy(sh);
    return r;
}

static struct run_result echo_run(unsigned nconn, size_t size, double loss, uint64_t seed, mg_sim_tap_fn tap,
                                  void *tap_ctx) {
    return echo_run_sack(nconn, size, loss, seed, tap, tap_ctx, true);
}

static void echo_ok(unsigned nconn, size_t size, double loss, uint64_t seed) {
    struct run_result r = echo_run(nconn, size, loss, seed, NULL, NULL);
    if (getenv("TCP_SIM_VERBOSE"))
        fprintf(stderr, "[echo %u x %zu loss %.2f: %.1f s simulated] ", nconn, size, loss, r.sim_ns / 1e9);
    if (r.done != nconn || r.corrupt)
        fprintf(stderr, "echo %u x %zu loss %.2f: done %u failed %u (errno %d) corrupt %d\n", nconn, size, loss, r.done,
                r.failed, r.fail_errno, r.corrupt);
    CU_ASSERT_EQUAL(r.done, nconn);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT(!r.corrupt);
}

/* The full sizes run in a few seconds even under ASan; the switch stays for slower
 * sanitizer setups. */
#if defined(MARGAY_SANITIZERS) && defined(MARGAY_TCP_SIM_SMALL)
#define BIG_SIZE (4u << 20)
#define MANY_CONNS 300u
#else
#define BIG_SIZE (16u << 20)
#define MANY_CONNS 1000u
#endif

static void test_echo_sizes(void) {
    echo_ok(1, 1, 0, 1);
    echo_ok(1, 1024, 0, 2);
    echo_ok(1, 64 * 1024, 0, 3);
    echo_ok(1, 1024 * 1024, 0, 4);
}

static void test_echo_16mib(void) {
    echo_ok(1, BIG_SIZE, 0, 5);
}

static void test_echo_concurrent(void) {
    echo_ok(10, 1024, 0, 6);
    echo_ok(100, 1024, 0, 7);
    echo_ok(MANY_CONNS, 1024, 0, 8);
}

static void test_echo_loss_1(void) {
    echo_ok(1, 1024 * 1024, 0.01, 9);
    echo_ok(10, 64 * 1024, 0.01, 10);
}

static void test_echo_loss_5(void) {
    echo_ok(1, 1024 * 1024, 0.05, 11);
    echo_ok(10, 64 * 1024, 0.05, 12);
}

static void test_echo_loss_20(void) {
    if (getenv("TCP_SIM_ONLY20")) {
        echo_ok(1, 256 * 1024, 0.20, 13);
        return;
    }
    echo_ok(1, 1024 * 1024, 0.20, 13);
    echo_ok(5, 16 * 1024, 0.20, 14);
}

/* The same transfers under the same loss (fixed seeds), SACK on and off. Both deliver
 * every byte. Under this link's uniform random loss neither sender resends data the
 * receiver already holds (measured: no duplicate segment arrives in these runs), so
 * what is resent is what was lost, and per seed the byte counts differ by the luck of
 * which frames the loss hits; what SACK changes is how losses are found. With SACK,
 * several holes per window are resent in one round trip instead of one per round trip
 * and a lost retransmission no longer leaves NewReno waiting out a timeout, so every
 * seed needs fewer timeouts and less time, and over the ten seeds fewer bytes are
 * resent. Counters, not wall time: for a seed the runs are deterministic. */
struct sack_cmp {
    uint64_t on_bytes, off_bytes;
};

static void sack_vs_newreno(unsigned nconn, size_t size, double loss, uint64_t seed, struct sack_cmp *sum) {
    struct run_result on = echo_run_sack(nconn, size, loss, seed, NULL, NULL, true);
    struct run_result off = echo_run_sack(nconn, size, loss, seed, NULL, NULL, false);
    if (getenv("TCP_SIM_VERBOSE"))
        fprintf(
            stderr,
            "\n  seed %lu: SACK on: %lu retransmitted bytes (%lu segments, %lu from holes, %lu SACK recoveries, %lu "
            "timeouts, %.1f s); SACK off: %lu retransmitted bytes (%lu segments, %lu fast recoveries, %lu timeouts, "
            "%.1f s)",
            (unsigned long)seed, (unsigned long)on.retransmit_bytes, (unsigned long)on.retransmits,
            (unsigned long)on.sack_hole_retransmits, (unsigned long)on.sack_recoveries, (unsigned long)on.timeouts,
            on.sim_ns / 1e9, (unsigned long)off.retransmit_bytes, (unsigned long)off.retransmits,
            (unsigned long)off.fast_retransmits, (unsigned long)off.timeouts, off.sim_ns / 1e9);
    CU_ASSERT(on.done == nconn && !on.failed && !on.corrupt);
    CU_ASSERT(off.done == nconn && !off.failed && !off.corrupt);
    CU_ASSERT(on.sack_recoveries > 0 && on.sack_hole_retransmits > 0);
    CU_ASSERT(off.sack_recoveries == 0 && off.sack_hole_retransmits == 0);
    CU_ASSERT(on.timeouts < off.timeouts);
    CU_ASSERT(on.sim_ns < off.sim_ns);
    sum->on_bytes += on.retransmit_bytes;
    sum->off_bytes += off.retransmit_bytes;
}

static void test_sack_fewer_retransmissions(void) {
    struct sack_cmp sum = {0, 0};
    for (uint64_t seed = 11; seed <= 20; seed++)
        sack_vs_newreno(1, 1024 * 1024, 0.05, seed, &sum);
    fprintf(stderr, "[1 MiB each way at 5%% loss, seeds 11-20: retransmitted bytes SACK on %lu, off %lu] ",
            (unsigned long)sum.on_bytes, (unsigned long)sum.off_bytes);
    CU_ASSERT(sum.on_bytes < sum.off_bytes);
}

/* 4 MiB each way at 5% loss, seeds that used to wedge the server's host. While the
 * server's replies wait out a retransmission timeout, the client keeps sending: the
 * echo server pops every segment at once and pushes the very buffer back, and those
 * pushes wait, holding their buffers, for send-buffer room (the 256 KiB send buffer is
 * full of unacknowledged replies). With the send queue (182 buffers) and the
 * out-of-order queue (up to 174) they took all 1024 buffers of the server's pool; from
 * then on every frame that reached the server, the client's ACKs and its
 * retransmission of the hole alike, was dropped for want of a buffer (sim tap
 * NO_BUFFER), so nothing could ever be acknowledged or delivered again, and the client
 * gave up with ETIMEDOUT after ~520 s (seeds 1 and 9 with SACK, 1 and 10 without).
 * More connections wedge a host sooner: without the reserve, none of seeds 1-30 of
 * 10 x 1 MiB at 5% loss finished. Now TCP keeps no received payload once the pool is
 * down to its reserve (drops.pool_low), so ACKs still come in, the replies drain and
 * the pushes with them. */
static void test_echo_pool_full(void) {
    static const struct {
        unsigned nconn;
        size_t size;
        uint64_t seed;
        bool sack;
    } runs[] = {
        {1, 4u << 20, 1, true},   {1, 4u << 20, 9, true},  {1, 4u << 20, 1, false},
        {1, 4u << 20, 10, false}, {10, 1u << 20, 1, true},
    };
    uint64_t pool_low = 0;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        struct run_result r = echo_run_sack(runs[i].nconn, runs[i].size, 0.05, runs[i].seed, NULL, NULL, runs[i].sack);
        if (r.done != runs[i].nconn || r.failed || r.corrupt)
            fprintf(stderr, "%u x %zu at 5%% loss, seed %lu, SACK %s: done %u failed %u (errno %d) corrupt %d\n",
                    runs[i].nconn, runs[i].size, (unsigned long)runs[i].seed, runs[i].sack ? "on" : "off", r.done,
                    r.failed, r.fail_errno, r.corrupt);
        CU_ASSERT_EQUAL(r.done, runs[i].nconn);
        CU_ASSERT_EQUAL(r.failed, 0);
        CU_ASSERT(!r.corrupt);
        pool_low += r.pool_low_drops;
    }
    /* The runs did reach the state that used to wedge them. */
    CU_ASSERT(pool_low > 0);
}

static int connect_error(bool static_arp, unsigned target_host_index, uint16_t port, uint32_t raw_addr) {
    struct simhosts_params p = {.n = 2, .seed = 99, .static_arp = static_arp};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    simhosts_use(sh, CLIENT);
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), 0);
    struct sockaddr_in sin = simhosts_sockaddr(sh, target_host_index, port);
    if (raw_addr)
        sin.sin_addr.s_addr = htonl(raw_addr);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_connect(&qt, qd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, CLIENT, qt, &qr, 600ull * MG_NS_PER_S), 0);
    int err = qr.qr_opcode == DEMI_OPC_FAILED ? (int)qr.qr_ret : 0;
    simhosts_use(sh, CLIENT);
    demi_close(qd);
    check_layers(sh);
    simhosts_destroy(sh);
    return err;
}

static void test_connect_refused(void) {
    CU_ASSERT_EQUAL(connect_error(true, SERVER, 9, 0), ECONNREFUSED);
}

static void test_connect_unreachable(void) {
    CU_ASSERT_EQUAL(connect_error(false, SERVER, 9, 0x0a000063u /* 10.0.0.99: nobody */), EHOSTUNREACH);
}

/* Connects host 1 to a listener on host 0; returns both ends' qds. */
static void connected_pair(struct simhosts *sh, int *lqd, int *sqd, int *cqd) {
    simhosts_use(sh, SERVER);
    CU_ASSERT_EQUAL_FATAL(demi_socket(lqd, AF_INET, SOCK_STREAM, 0), 0);
    struct sockaddr_in sin = simhosts_sockaddr(sh, SERVER, 80);
    CU_ASSERT_EQUAL_FATAL(demi_bind(*lqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(demi_listen(*lqd, 8), 0);
    demi_qtoken_t aqt, cqt;
    CU_ASSERT_EQUAL_FATAL(demi_accept(&aqt, *lqd), 0);
    simhosts_use(sh, CLIENT);
    CU_ASSERT_EQUAL_FATAL(demi_socket(cqd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_connect(&cqt, *cqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, CLIENT, cqt, &qr, MG_NS_PER_S), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_CONNECT);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, SERVER, aqt, &qr, MG_NS_PER_S), 0);
    CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_ACCEPT);
    *sqd = qr.qr_value.ares.qd;
}

static void test_close_cancels_and_reset_fails_pops(void) {
    struct simhosts_params p = {.n = 2, .seed = 5, .static_arp = true};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    int lqd, sqd, cqd;
    connected_pair(sh, &lqd, &sqd, &cqd);
    /* A pending pop is cancelled by close. */
    simhosts_use(sh, SERVER);
    demi_qtoken_t sp;
    CU_ASSERT_EQUAL_FATAL(demi_pop(&sp, sqd), 0);
    /* The client's pending pop fails with ECONNRESET when the server aborts. */
    simhosts_use(sh, CLIENT);
    demi_qtoken_t cp;
    CU_ASSERT_EQUAL_FATAL(demi_pop(&cp, cqd), 0);
    simhosts_use(sh, SERVER);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CU_ASSERT_EQUAL(demi_setsockopt(sqd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    CU_ASSERT_EQUAL(demi_close(sqd), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, SERVER, sp, &qr, MG_NS_PER_S), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECANCELED);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, CLIENT, cp, &qr, MG_NS_PER_S), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECONNRESET);
    simhosts_use(sh, CLIENT);
    demi_close(cqd);
    simhosts_use(sh, SERVER);
    demi_close(lqd);
    check_layers(sh);
    CU_ASSERT_EQUAL(mg_tcp_connection_count(simhosts_inet(sh, SERVER)->tcp), 0);
    CU_ASSERT_EQUAL(mg_tcp_connection_count(simhosts_inet(sh, CLIENT)->tcp), 0);
    simhosts_destroy(sh);
}

struct trace {
    uint64_t hash;
    uint64_t frames;
};

static void trace_tap(void *ctx, enum mg_sim_tap_event event, uint64_t time_ns, unsigned from, unsigned to,
                      const uint8_t *frame, size_t len) {
    struct trace *t = ctx;
    uint64_t h = t->hash ^ 0xcbf29ce484222325ull;
    uint64_t words[4] = {event, time_ns, from, to};
    for (int i = 0; i < 4; i++) {
        h ^= words[i];
        h *= 0x100000001b3ull;
    }
    for (size_t i = 0; i < len; i++) {
        h ^= frame[i];
        h *= 0x100000001b3ull;
    }
    t->hash = h;
    t->frames++;
}

static void test_deterministic(void) {
    struct trace a = {0}, b = {0}, c = {0};
    echo_run(3, 100 * 1024, 0.05, 77, trace_tap, &a);
    echo_run(3, 100 * 1024, 0.05, 77, trace_tap, &b);
    echo_run(3, 100 * 1024, 0.05, 78, trace_tap, &c);
    CU_ASSERT(a.frames > 100);
    CU_ASSERT_EQUAL(a.frames, b.frames);
    CU_ASSERT_EQUAL(a.hash, b.hash);
    CU_ASSERT(a.hash != c.hash);
}

static const struct mg_test_case cases[] = {
    {"echo 1 B, 1 KiB, 64 KiB, 1 MiB", test_echo_sizes},
    {"echo 16 MiB", test_echo_16mib},
    {"echo 10, 100, 1000 connections", test_echo_concurrent},
    {"echo with 1% loss", test_echo_loss_1},
    {"echo with 5% loss", test_echo_loss_5},
    {"echo with 20% loss", test_echo_loss_20},
    {"echo 4 MiB, 10 x 1 MiB at 5% loss: a pool full of pending pushes does not wedge the host", test_echo_pool_full},
    {"SACK vs NewReno at 5% loss: fewer timeouts, fewer bytes resent", test_sack_fewer_retransmissions},
    {"connect to a closed port: ECONNREFUSED", test_connect_refused},
    {"connect to an absent host: EHOSTUNREACH", test_connect_unreachable},
    {"same seed, same frames", test_deterministic},
    {"close cancels pops; a reset fails them", test_close_cancels_and_reset_fails_pops},
    {NULL, NULL},
};

int main(void) {
    return mg_run_tests("tcp_sim", cases);
}
