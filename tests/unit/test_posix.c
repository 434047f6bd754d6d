/* tests/unit/test_posix.c — the posix libOS through the PDPIX API, over loopback.
 *
 * Every test goes through demi_* with DEMI_LIBOS=posix, as an application would: TCP
 * and UDP echo with payloads checked byte for byte, one and a thousand connections,
 * IPv6, and the failure paths (refused connect, close with operations pending, end of
 * stream, peer reset, forged arrays). Ports come from a range seeded by the process id
 * and are retried on EADDRINUSE, so parallel runs do not collide. Every wait has a
 * timeout, so a bug fails a test instead of hanging the suite. */
#include <CUnit/Basic.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <margay/margay.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/runtime.h"
#include "libos/posix/posix.h"

#define WAIT_SECONDS 20
#define MANY_CONNECTIONS 1000
#define MANY_SOCKETS 10000

static uint16_t next_port;

/* ---- helpers ------------------------------------------------------------------- */

static uint8_t pattern(uint32_t conn, uint64_t off) {
    return (uint8_t)(conn * 29u + off * 13u + 5u);
}

static int wait_for(demi_qresult_t *qr, demi_qtoken_t qt) {
    struct timespec ts = {.tv_sec = WAIT_SECONDS, .tv_nsec = 0};
    memset(qr, 0, sizeof(*qr));
    return demi_wait(qr, qt, &ts);
}

static demi_sgarray_t alloc_pattern(uint32_t len, uint32_t conn) {
    demi_sgarray_t sga = demi_sgaalloc(len);
    CU_ASSERT_FATAL(sga.sga_numsegs == 1);
    uint8_t *p = sga.sga_segs[0].sgaseg_buf;
    for (uint32_t i = 0; i < len; i++)
        p[i] = pattern(conn, i);
    return sga;
}

static void make_addr(int domain, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof(*ss));
    if (domain == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        in6->sin6_addr = in6addr_loopback;
        *len = sizeof(*in6);
    }
}

/* Binds a new socket of `type` to a free loopback port (listening if TCP). Returns the
 * bind error if it is not EADDRINUSE (e.g. no IPv6). */
static int bound_socket(int domain, int type, bool listen, int *qd_out, struct sockaddr_storage *addr, socklen_t *len) {
    for (int attempt = 0; attempt < 200; attempt++) {
        uint16_t port = next_port++;
        if (next_port > 60000)
            next_port = 20000;
        int qd, ret = demi_socket(&qd, domain, type, 0);
        if (ret != 0)
            return ret;
        make_addr(domain, port, addr, len);
        ret = demi_bind(qd, (struct sockaddr *)addr, *len);
        if (ret == 0 && listen)
            ret = demi_listen(qd, 4096);
        if (ret == 0) {
            *qd_out = qd;
            return 0;
        }
        demi_close(qd);
        if (ret != EADDRINUSE)
            return ret;
    }
    return EADDRINUSE;
}

static int tcp_listener(int *qd, struct sockaddr_storage *addr, socklen_t *len) {
    return bound_socket(AF_INET, SOCK_STREAM, true, qd, addr, len);
}

/* Connects a client to the listener and accepts it. */
static void tcp_pair(int lqd, int domain, const struct sockaddr_storage *addr, socklen_t len, int *cqd, int *sqd) {
    demi_qtoken_t cqt, aqt;
    demi_qresult_t qr;
    CU_ASSERT_FATAL(demi_socket(cqd, domain, SOCK_STREAM, 0) == 0);
    CU_ASSERT_FATAL(demi_accept(&aqt, lqd) == 0);
    CU_ASSERT_FATAL(demi_connect(&cqt, *cqd, (const struct sockaddr *)addr, len) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, cqt) == 0);
    CU_ASSERT_FATAL(qr.qr_opcode == DEMI_OPC_CONNECT);
    CU_ASSERT_FATAL(wait_for(&qr, aqt) == 0);
    CU_ASSERT_FATAL(qr.qr_opcode == DEMI_OPC_ACCEPT);
    *sqd = qr.qr_value.ares.qd;
}

/* A listener and one connection accepted on it, over IPv4 loopback. A qd the test
 * closes itself (close_qd) is -1 from then on. */
struct tcp_fixture {
    int lqd, cqd, sqd;
    struct sockaddr_storage addr;
    socklen_t len;
};

static void tcp_fixture_open(struct tcp_fixture *f) {
    CU_ASSERT_FATAL(tcp_listener(&f->lqd, &f->addr, &f->len) == 0);
    tcp_pair(f->lqd, AF_INET, &f->addr, f->len, &f->cqd, &f->sqd);
}

static void close_qd(int *qd) {
    CU_ASSERT(demi_close(*qd) == 0);
    *qd = -1;
}

/* Closes what is still open: the client end, the server end, the listener. */
static void tcp_fixture_close(struct tcp_fixture *f) {
    int *qds[] = {&f->cqd, &f->sqd, &f->lqd};
    for (size_t i = 0; i < sizeof(qds) / sizeof(qds[0]); i++)
        if (*qds[i] >= 0)
            close_qd(qds[i]);
}

/* ---- echo engine: many connections, each echoing `size` bytes once ------------ */

enum role { CLIENT_PUSH, SERVER_POP, SERVER_PUSH, CLIENT_POP };

struct echo_conn {
    int cqd, sqd;
    demi_sgarray_t out;  /* the client's message */
    demi_sgarray_t echo; /* the piece the server is pushing back */
    uint64_t echoed, got;
    bool done;
};

struct pending {
    demi_qtoken_t *qts;
    uint32_t *conn;
    enum role *role;
    int n;
};

static void pending_add(struct pending *p, demi_qtoken_t qt, uint32_t conn, enum role role) {
    p->qts[p->n] = qt;
    p->conn[p->n] = conn;
    p->role[p->n] = role;
    p->n++;
}

/* Handles one completion; returns false on a failure (already asserted). */
static bool echo_step(struct echo_conn *c, uint32_t i, enum role role, demi_qresult_t *qr, uint32_t size,
                      struct pending *p, uint64_t *mismatches) {
    demi_qtoken_t qt;
    if (qr->qr_opcode == DEMI_OPC_FAILED) {
        fprintf(stderr, "conn %u role %d failed: %s\n", i, (int)role, strerror((int)qr->qr_ret));
        CU_FAIL("echo operation failed");
        return false;
    }
    switch (role) {
    case CLIENT_PUSH:
        CU_ASSERT(qr->qr_opcode == DEMI_OPC_PUSH);
        CU_ASSERT(demi_sgafree(&c->out) == 0);
        break;
    case SERVER_POP: {
        uint32_t len = qr->qr_value.sga.sga_segs[0].sgaseg_len;
        CU_ASSERT_FATAL(qr->qr_opcode == DEMI_OPC_POP && len > 0);
        c->echo = qr->qr_value.sga;
        c->echoed += len;
        CU_ASSERT_FATAL(demi_push(&qt, c->sqd, &c->echo) == 0);
        pending_add(p, qt, i, SERVER_PUSH);
        break;
    }
    case SERVER_PUSH:
        CU_ASSERT(qr->qr_opcode == DEMI_OPC_PUSH);
        CU_ASSERT(demi_sgafree(&c->echo) == 0);
        if (c->echoed < size) {
            CU_ASSERT_FATAL(demi_pop(&qt, c->sqd) == 0);
            pending_add(p, qt, i, SERVER_POP);
        }
        break;
    case CLIENT_POP: {
        CU_ASSERT_FATAL(qr->qr_opcode == DEMI_OPC_POP);
        const uint8_t *d = qr->qr_value.sga.sga_segs[0].sgaseg_buf;
        uint32_t len = qr->qr_value.sga.sga_segs[0].sgaseg_len;
        CU_ASSERT_FATAL(len > 0 && c->got + len <= size);
        for (uint32_t k = 0; k < len; k++)
            if (d[k] != pattern(i, c->got + k))
                (*mismatches)++;
        c->got += len;
        CU_ASSERT(demi_sgafree(&qr->qr_value.sga) == 0);
        if (c->got < size) {
            CU_ASSERT_FATAL(demi_pop(&qt, c->cqd) == 0);
            pending_add(p, qt, i, CLIENT_POP);
        }
        break;
    }
    }
    return true;
}

/* Echoes `size` bytes over each of n connected pairs at once; every byte is checked. */
static void echo_many(struct echo_conn *conns, uint32_t n, uint32_t size) {
    struct pending p = {calloc(3 * n, sizeof(demi_qtoken_t)), calloc(3 * n, sizeof(uint32_t)),
                        calloc(3 * n, sizeof(enum role)), 0};
    CU_ASSERT_FATAL(p.qts && p.conn && p.role);
    demi_qtoken_t qt;
    for (uint32_t i = 0; i < n; i++) {
        conns[i].echoed = conns[i].got = 0;
        conns[i].out = alloc_pattern(size, i);
        CU_ASSERT_FATAL(demi_push(&qt, conns[i].cqd, &conns[i].out) == 0);
        pending_add(&p, qt, i, CLIENT_PUSH);
        CU_ASSERT_FATAL(demi_pop(&qt, conns[i].sqd) == 0);
        pending_add(&p, qt, i, SERVER_POP);
        CU_ASSERT_FATAL(demi_pop(&qt, conns[i].cqd) == 0);
        pending_add(&p, qt, i, CLIENT_POP);
    }
    uint64_t mismatches = 0;
    while (p.n > 0) {
        demi_qresult_t qr;
        int off = -1;
        struct timespec ts = {.tv_sec = WAIT_SECONDS, .tv_nsec = 0};
        int ret = demi_wait_any(&qr, &off, p.qts, p.n, &ts);
        CU_ASSERT_FATAL(ret == 0 && off >= 0 && off < p.n);
        uint32_t i = p.conn[off];
        enum role role = p.role[off];
        p.n--;
        p.qts[off] = p.qts[p.n];
        p.conn[off] = p.conn[p.n];
        p.role[off] = p.role[p.n];
        if (!echo_step(&conns[i], i, role, &qr, size, &p, &mismatches))
            break;
    }
    CU_ASSERT(p.n == 0);
    CU_ASSERT(mismatches == 0);
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT(conns[i].got == size);
        CU_ASSERT(conns[i].echoed == size);
    }
    free(p.qts);
    free(p.conn);
    free(p.role);
}

static void open_pairs_batch(int lqd, int domain, const struct sockaddr_storage *addr, socklen_t len,
                             struct echo_conn *conns, uint32_t n) {
    demi_qtoken_t *cqts = calloc(n, sizeof(*cqts)), *aqts = calloc(n, sizeof(*aqts));
    CU_ASSERT_FATAL(cqts && aqts);
    demi_qresult_t qr;
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT_FATAL(demi_socket(&conns[i].cqd, domain, SOCK_STREAM, 0) == 0);
        CU_ASSERT_FATAL(demi_accept(&aqts[i], lqd) == 0);
        CU_ASSERT_FATAL(demi_connect(&cqts[i], conns[i].cqd, (const struct sockaddr *)addr, len) == 0);
    }
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT_FATAL(wait_for(&qr, cqts[i]) == 0);
        CU_ASSERT_FATAL(qr.qr_opcode == DEMI_OPC_CONNECT);
    }
    /* The kernel may finish the handshakes in any order, so conns[i].sqd need not be
     * the far end of conns[i].cqd. The echo does not care: the server side echoes
     * whatever arrives, every message has the same size, and each client checks its
     * own pattern. */
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT_FATAL(wait_for(&qr, aqts[i]) == 0);
        CU_ASSERT_FATAL(qr.qr_opcode == DEMI_OPC_ACCEPT);
        conns[i].sqd = qr.qr_value.ares.qd;
    }
    free(cqts);
    free(aqts);
}

/* Opens n connections, at most 1,000 handshakes at a time: more would overflow the
 * kernel's accept queue (somaxconn) and cost a one-second SYN retransmission. */
static void open_pairs(int lqd, int domain, const struct sockaddr_storage *addr, socklen_t len, struct echo_conn *conns,
                       uint32_t n) {
    for (uint32_t i = 0; i < n; i += 1000)
        open_pairs_batch(lqd, domain, addr, len, conns + i, n - i < 1000 ? n - i : 1000);
}

static void close_pairs(struct echo_conn *conns, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT(demi_close(conns[i].cqd) == 0);
        CU_ASSERT(demi_close(conns[i].sqd) == 0);
    }
}

/* Opens n connections to one listener, echoes each of the sizes over all of them at
 * once, and closes everything. */
static void echo_over_connections(uint32_t n, const uint32_t sizes[], size_t nsizes) {
    int lqd;
    struct sockaddr_storage addr;
    socklen_t len;
    CU_ASSERT_FATAL(tcp_listener(&lqd, &addr, &len) == 0);
    struct echo_conn *conns = calloc(n, sizeof(*conns));
    CU_ASSERT_FATAL(conns != NULL);
    open_pairs(lqd, AF_INET, &addr, len, conns, n);
    for (size_t i = 0; i < nsizes; i++)
        echo_many(conns, n, sizes[i]);
    close_pairs(conns, n);
    CU_ASSERT(demi_close(lqd) == 0);
    free(conns);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_timeout_conversion(void) {
    CU_ASSERT_EQUAL(mg_posix_timeout_ms(0), 0);
    CU_ASSERT_EQUAL(mg_posix_timeout_ms(1), 1); /* rounds up: a 1 ns wait must not spin */
    CU_ASSERT_EQUAL(mg_posix_timeout_ms(1000000), 1);
    CU_ASSERT_EQUAL(mg_posix_timeout_ms(1000001), 2);
    CU_ASSERT_EQUAL(mg_posix_timeout_ms(UINT64_MAX), -1);
    CU_ASSERT_EQUAL(mg_posix_timeout_ms(UINT64_MAX - 1), 2147483647);
}

static void test_registry_finds_posix(void) {
    CU_ASSERT_PTR_EQUAL(mg_libos_find("posix"), &mg_libos_posix_ops);
    CU_ASSERT_PTR_EQUAL(mg_libos_find("catnap"), &mg_libos_posix_ops);
    CU_ASSERT_STRING_EQUAL(mg_libos_posix_ops.name, "posix");
}

static void test_socket_arguments(void) {
    int qd;
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_STREAM, IPPROTO_TCP), 0);
    CU_ASSERT_EQUAL(demi_close(qd), 0);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET6, SOCK_DGRAM, IPPROTO_UDP), 0);
    CU_ASSERT_EQUAL(demi_close(qd), 0);
}

static void test_tcp_echo_one_connection(void) {
    static const uint32_t sizes[] = {1, 1024, 64 * 1024, 1024 * 1024};
    echo_over_connections(1, sizes, sizeof(sizes) / sizeof(sizes[0]));
}

static void test_tcp_echo_many_connections(void) {
    /* 1 MiB each over 1,000 connections would move 2 GB; the single connection test
     * covers 1 MiB, this one covers concurrency. */
    static const uint32_t sizes[] = {1, 1024, 64 * 1024};
    echo_over_connections(MANY_CONNECTIONS, sizes, sizeof(sizes) / sizeof(sizes[0]));
}

static void test_accepts_complete_in_order(void) {
    enum { N = 4 };
    int lqd, cqd[N];
    struct sockaddr_storage addr;
    socklen_t len;
    demi_qtoken_t acc[N], qt;
    demi_qresult_t qr;
    CU_ASSERT_FATAL(tcp_listener(&lqd, &addr, &len) == 0);
    for (int i = 0; i < N; i++)
        CU_ASSERT_FATAL(demi_accept(&acc[i], lqd) == 0);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_FATAL(demi_socket(&cqd[i], AF_INET, SOCK_STREAM, 0) == 0);
        CU_ASSERT_FATAL(demi_connect(&qt, cqd[i], (struct sockaddr *)&addr, len) == 0);
        CU_ASSERT_FATAL(wait_for(&qr, qt) == 0 && qr.qr_opcode == DEMI_OPC_CONNECT);
    }
    /* demi_wait_next_n hands results over in completion order. */
    demi_qresult_t qrs[N];
    int have = 0;
    for (int round = 0; round < 100 && have < N; round++) {
        int got = 0;
        struct timespec ts = {.tv_sec = WAIT_SECONDS, .tv_nsec = 0};
        CU_ASSERT_FATAL(demi_wait_next_n(qrs + have, N - have, &got, &ts) == 0);
        have += got;
    }
    CU_ASSERT_FATAL(have == N);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(qrs[i].qr_opcode, DEMI_OPC_ACCEPT);
        CU_ASSERT_EQUAL(qrs[i].qr_qt, acc[i]);
        CU_ASSERT(demi_close(qrs[i].qr_value.ares.qd) == 0);
        CU_ASSERT(demi_close(cqd[i]) == 0);
    }
    CU_ASSERT(demi_close(lqd) == 0);
}

static void test_tcp_ipv6(void) {
    int lqd;
    struct sockaddr_storage addr;
    socklen_t len;
    int ret = bound_socket(AF_INET6, SOCK_STREAM, true, &lqd, &addr, &len);
    if (ret == EADDRNOTAVAIL || ret == EAFNOSUPPORT) {
        printf("\n  skipped: no IPv6 loopback here (%s)\n", strerror(ret));
        return;
    }
    CU_ASSERT_FATAL(ret == 0);
    demi_qtoken_t cqt, aqt;
    demi_qresult_t qr;
    struct echo_conn conn;
    memset(&conn, 0, sizeof(conn));
    CU_ASSERT_FATAL(demi_socket(&conn.cqd, AF_INET6, SOCK_STREAM, 0) == 0);
    CU_ASSERT_FATAL(demi_accept(&aqt, lqd) == 0);
    CU_ASSERT_FATAL(demi_connect(&cqt, conn.cqd, (struct sockaddr *)&addr, len) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, cqt) == 0 && qr.qr_opcode == DEMI_OPC_CONNECT);
    CU_ASSERT_FATAL(wait_for(&qr, aqt) == 0 && qr.qr_opcode == DEMI_OPC_ACCEPT);
    conn.sqd = qr.qr_value.ares.qd;
    /* An IPv6 peer in the IPv4-shaped accept result: the family and the port. */
    CU_ASSERT_EQUAL(qr.qr_value.ares.addr.sin_family, AF_INET6);
    struct sockaddr_in6 peer;
    socklen_t plen = sizeof(peer);
    CU_ASSERT_FATAL(demi_getpeername(conn.sqd, (struct sockaddr *)&peer, &plen) == 0);
    CU_ASSERT_EQUAL(peer.sin6_family, AF_INET6);
    CU_ASSERT(IN6_IS_ADDR_LOOPBACK(&peer.sin6_addr));
    CU_ASSERT_EQUAL(peer.sin6_port, qr.qr_value.ares.addr.sin_port);
    echo_many(&conn, 1, 1024);
    echo_many(&conn, 1, 256 * 1024);
    close_pairs(&conn, 1);
    CU_ASSERT(demi_close(lqd) == 0);
}

/* Sends `size` bytes to the UDP server and checks what comes back, and from where. */
static void udp_round_trip(int cqd, int sqd, const struct sockaddr_in *server, uint32_t size) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    demi_sgarray_t out = alloc_pattern(size, 7);
    CU_ASSERT_FATAL(demi_pushto(&qt, cqd, &out, (const struct sockaddr *)server, sizeof(*server)) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0 && qr.qr_opcode == DEMI_OPC_PUSH);
    CU_ASSERT(demi_sgafree(&out) == 0);
    /* Server: pop and echo to sga_addr. */
    CU_ASSERT_FATAL(demi_pop(&qt, sqd) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0 && qr.qr_opcode == DEMI_OPC_POP);
    demi_sgarray_t in = qr.qr_value.sga;
    CU_ASSERT_EQUAL(in.sga_segs[0].sgaseg_len, size);
    CU_ASSERT_EQUAL(in.sga_addr.sin_family, AF_INET);
    CU_ASSERT_EQUAL(in.sga_addr.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    struct sockaddr_in client = in.sga_addr;
    CU_ASSERT_FATAL(demi_pushto(&qt, sqd, &in, (struct sockaddr *)&client, sizeof(client)) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0 && qr.qr_opcode == DEMI_OPC_PUSH);
    CU_ASSERT(demi_sgafree(&in) == 0);
    /* Client: the echo, byte for byte, from the server's address. */
    CU_ASSERT_FATAL(demi_pop(&qt, cqd) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0 && qr.qr_opcode == DEMI_OPC_POP);
    CU_ASSERT_EQUAL_FATAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, size);
    const uint8_t *d = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
    uint32_t bad = 0;
    for (uint32_t i = 0; i < size; i++)
        bad += d[i] != pattern(7, i);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_addr.sin_port, server->sin_port);
    CU_ASSERT(demi_sgafree(&qr.qr_value.sga) == 0);
}

static void test_udp_echo(void) {
    static const uint32_t sizes[] = {1, 1024, 32 * 1024, 65507 /* the IPv4 maximum */};
    int sqd, cqd;
    struct sockaddr_storage saddr, caddr;
    socklen_t slen, clen;
    CU_ASSERT_FATAL(bound_socket(AF_INET, SOCK_DGRAM, false, &sqd, &saddr, &slen) == 0);
    CU_ASSERT_FATAL(bound_socket(AF_INET, SOCK_DGRAM, false, &cqd, &caddr, &clen) == 0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        udp_round_trip(cqd, sqd, (struct sockaddr_in *)&saddr, sizes[i]);
    CU_ASSERT(demi_close(cqd) == 0);
    CU_ASSERT(demi_close(sqd) == 0);
}

static void test_udp_push_unconnected(void) {
    int qd;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    CU_ASSERT_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0) == 0);
    demi_sgarray_t sga = alloc_pattern(16, 0);
    CU_ASSERT_FATAL(demi_push(&qt, qd, &sga) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, EDESTADDRREQ);
    CU_ASSERT(demi_sgafree(&sga) == 0);
    CU_ASSERT(demi_close(qd) == 0);
}

static void test_connect_refused(void) {
    /* A bound socket that does not listen: the kernel answers SYNs with RST. */
    int bqd, qd;
    struct sockaddr_storage addr;
    socklen_t len;
    CU_ASSERT_FATAL(bound_socket(AF_INET, SOCK_STREAM, false, &bqd, &addr, &len) == 0);
    demi_qtoken_t qt;
    demi_qresult_t qr;
    CU_ASSERT_FATAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0) == 0);
    CU_ASSERT_FATAL(demi_connect(&qt, qd, (struct sockaddr *)&addr, len) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECONNREFUSED);
    /* The stream never existed: a pop on it fails too, it does not hang. */
    CU_ASSERT_FATAL(demi_pop(&qt, qd) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT(demi_close(qd) == 0);
    CU_ASSERT(demi_close(bqd) == 0);
}

static void test_close_cancels_pending(void) {
    demi_qtoken_t pop1, pop2, acc;
    demi_qresult_t qr;
    struct tcp_fixture f;
    tcp_fixture_open(&f);
    CU_ASSERT_FATAL(demi_pop(&pop1, f.cqd) == 0);
    CU_ASSERT_FATAL(demi_pop(&pop2, f.cqd) == 0);
    CU_ASSERT_FATAL(demi_accept(&acc, f.lqd) == 0);
    close_qd(&f.cqd);
    close_qd(&f.lqd);
    CU_ASSERT_FATAL(wait_for(&qr, pop1) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECANCELED);
    CU_ASSERT_FATAL(wait_for(&qr, pop2) == 0);
    CU_ASSERT_EQUAL(qr.qr_ret, ECANCELED);
    CU_ASSERT_FATAL(wait_for(&qr, acc) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECANCELED);
    /* The server end sees the client go away as end of stream. */
    demi_qtoken_t qt;
    CU_ASSERT_FATAL(demi_pop(&qt, f.sqd) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    CU_ASSERT(demi_sgafree(&qr.qr_value.sga) == 0);
    tcp_fixture_close(&f);
}

static void test_pop_at_end_of_stream(void) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct tcp_fixture f;
    tcp_fixture_open(&f);
    close_qd(&f.sqd);
    for (int round = 0; round < 2; round++) { /* and again: end of stream stays */
        CU_ASSERT_FATAL(demi_pop(&qt, f.cqd) == 0);
        CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
        CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
        CU_ASSERT_EQUAL(qr.qr_value.sga.sga_numsegs, 1);
        CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 0);
        CU_ASSERT_EQUAL(demi_sgafree(&qr.qr_value.sga), 0);
    }
    tcp_fixture_close(&f);
}

static void test_peer_reset(void) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct tcp_fixture f;
    tcp_fixture_open(&f);
    CU_ASSERT_FATAL(demi_pop(&qt, f.cqd) == 0);
    /* Linger on with a zero timeout: close sends RST instead of FIN. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CU_ASSERT_FATAL(demi_setsockopt(f.sqd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
    struct linger back;
    socklen_t blen = sizeof(back);
    CU_ASSERT(demi_getsockopt(f.sqd, SOL_SOCKET, SO_LINGER, &back, &blen) == 0 && back.l_onoff == 1);
    close_qd(&f.sqd);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECONNRESET);
    /* A push on the dead stream fails too, without SIGPIPE killing the test. */
    demi_sgarray_t sga = alloc_pattern(100, 0);
    CU_ASSERT_FATAL(demi_push(&qt, f.cqd, &sga) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT(qr.qr_ret == ECONNRESET || qr.qr_ret == EPIPE);
    CU_ASSERT(demi_sgafree(&sga) == 0);
    tcp_fixture_close(&f);
}

static void test_push_to_closed_peer_is_epipe_not_sigpipe(void) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct tcp_fixture f;
    tcp_fixture_open(&f);
    close_qd(&f.sqd);
    /* The first write may be accepted (and answered with RST); a later one must fail. */
    demi_sgarray_t sga = alloc_pattern(1000, 0);
    bool failed = false;
    for (int i = 0; i < 100 && !failed; i++) {
        CU_ASSERT_FATAL(demi_push(&qt, f.cqd, &sga) == 0);
        CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
        if (qr.qr_opcode == DEMI_OPC_FAILED) {
            failed = true;
            CU_ASSERT(qr.qr_ret == EPIPE || qr.qr_ret == ECONNRESET);
        }
    }
    CU_ASSERT(failed);
    CU_ASSERT(demi_sgafree(&sga) == 0);
    tcp_fixture_close(&f);
}

static void test_pending_pushes_and_pops_keep_order(void) {
    enum { N = 8, SIZE = 256 * 1024 };
    demi_qresult_t qr;
    struct tcp_fixture f;
    tcp_fixture_open(&f);
    /* N pushes queued at once, each bigger than the socket buffer takes in one write:
     * the receiver must see message 0 entirely, then message 1, ... */
    demi_sgarray_t out[N];
    demi_qtoken_t push_qt[N], pop_qt[4];
    for (uint32_t i = 0; i < N; i++) {
        out[i] = alloc_pattern(SIZE, i);
        CU_ASSERT_FATAL(demi_push(&push_qt[i], f.cqd, &out[i]) == 0);
    }
    uint64_t got = 0, bad = 0;
    while (got < (uint64_t)N * SIZE) {
        /* Several pops pending at once; they complete in order (offsets follow). */
        for (int k = 0; k < 4; k++)
            CU_ASSERT_FATAL(demi_pop(&pop_qt[k], f.sqd) == 0);
        for (int k = 0; k < 4; k++) {
            CU_ASSERT_FATAL(wait_for(&qr, pop_qt[k]) == 0);
            CU_ASSERT_FATAL(qr.qr_opcode == DEMI_OPC_POP);
            const uint8_t *d = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
            uint32_t n = qr.qr_value.sga.sga_segs[0].sgaseg_len;
            CU_ASSERT_FATAL(n > 0 || got == (uint64_t)N * SIZE);
            for (uint32_t j = 0; j < n; j++, got++)
                bad += d[j] != pattern((uint32_t)(got / SIZE), got % SIZE);
            CU_ASSERT(demi_sgafree(&qr.qr_value.sga) == 0);
            if (got == (uint64_t)N * SIZE && k < 3) {
                /* Pops beyond the data: close the sender so they end with EOF. */
                close_qd(&f.cqd);
                for (int m = k + 1; m < 4; m++) {
                    CU_ASSERT_FATAL(wait_for(&qr, pop_qt[m]) == 0);
                    CU_ASSERT(qr.qr_opcode == DEMI_OPC_POP && qr.qr_value.sga.sga_segs[0].sgaseg_len == 0);
                    CU_ASSERT(demi_sgafree(&qr.qr_value.sga) == 0);
                }
                break;
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(got, (uint64_t)N * SIZE);
    for (uint32_t i = 0; i < N; i++) {
        if (f.cqd >= 0) {
            CU_ASSERT_FATAL(wait_for(&qr, push_qt[i]) == 0);
            CU_ASSERT(qr.qr_opcode == DEMI_OPC_PUSH);
        } else {
            /* Closed before being waited for: completed earlier, or cancelled. */
            int ret = wait_for(&qr, push_qt[i]);
            CU_ASSERT(ret == 0 && (qr.qr_opcode == DEMI_OPC_PUSH || qr.qr_ret == ECANCELED));
        }
        CU_ASSERT(demi_sgafree(&out[i]) == 0);
    }
    tcp_fixture_close(&f);
}

static void test_pushto_on_tcp_ignores_address(void) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct tcp_fixture f;
    tcp_fixture_open(&f);
    struct sockaddr_in elsewhere = {.sin_family = AF_INET, .sin_port = htons(9)};
    elsewhere.sin_addr.s_addr = htonl(0x7f000002);
    demi_sgarray_t sga = alloc_pattern(10, 3);
    CU_ASSERT_FATAL(demi_pushto(&qt, f.cqd, &sga, (struct sockaddr *)&elsewhere, sizeof(elsewhere)) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    CU_ASSERT(demi_sgafree(&sga) == 0);
    CU_ASSERT_FATAL(demi_pop(&qt, f.sqd) == 0);
    CU_ASSERT_FATAL(wait_for(&qr, qt) == 0 && qr.qr_opcode == DEMI_OPC_POP);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 10);
    CU_ASSERT(demi_sgafree(&qr.qr_value.sga) == 0);
    tcp_fixture_close(&f);
}

static void test_push_forged_or_freed_array(void) {
    demi_qtoken_t qt;
    struct tcp_fixture f;
    tcp_fixture_open(&f);
    uint8_t bytes[64] = {0};
    demi_sgarray_t forged;
    memset(&forged, 0, sizeof(forged));
    forged.sga_buf = bytes;
    forged.sga_numsegs = 1;
    forged.sga_segs[0].sgaseg_buf = bytes;
    forged.sga_segs[0].sgaseg_len = sizeof(bytes);
    CU_ASSERT_EQUAL(demi_push(&qt, f.cqd, &forged), EINVAL);
    demi_sgarray_t sga = alloc_pattern(64, 0);
    demi_sgarray_t copy = sga;
    CU_ASSERT(demi_sgafree(&sga) == 0);
    CU_ASSERT_EQUAL(demi_push(&qt, f.cqd, &copy), EINVAL);
    /* A real array whose segment points outside its buffer. */
    sga = alloc_pattern(64, 0);
    copy = sga;
    copy.sga_segs[0].sgaseg_buf = bytes;
    CU_ASSERT_EQUAL(demi_push(&qt, f.cqd, &copy), EINVAL);
    CU_ASSERT(demi_sgafree(&sga) == 0);
    /* Data calls on a listener are refused up front. */
    CU_ASSERT_EQUAL(demi_pop(&qt, f.lqd), ENOTCONN);
    tcp_fixture_close(&f);
}

/* Raises the descriptor limit to `need`; false (with the reason printed) if it cannot. */
static bool raise_nofile(rlim_t need) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur >= need)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        printf("\n  skipped: RLIMIT_NOFILE hard limit %llu < %llu (raise it with ulimit -Hn)\n",
               (unsigned long long)rl.rlim_max, (unsigned long long)need);
        return false;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        printf("\n  skipped: setrlimit(RLIMIT_NOFILE, %llu): %s\n", (unsigned long long)need, strerror(errno));
        return false;
    }
    return true;
}

static void test_ten_thousand_sockets(void) {
    /* 5,000 connections: 10,000 connected sockets plus the listener, all open at once. */
    enum { PAIRS = MANY_SOCKETS / 2 };
    if (!raise_nofile(MANY_SOCKETS + 256))
        return;
    static const uint32_t sizes[] = {100}; /* every one of them is alive */
    echo_over_connections(PAIRS, sizes, 1);
}

/* ---- suite --------------------------------------------------------------------- */

static int suite_init(void) {
    setenv("DEMI_LIBOS", "posix", 1);
    next_port = (uint16_t)(20000 + (getpid() * 7919u) % 30000u);
    /* 1,000 connections need 2,000 descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
        rl.rlim_cur = 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    char *argv[] = {"test_posix", NULL};
    struct demi_args args = {.argc = 1, .argv = argv, .callback = NULL};
    return demi_init(&args) == 0 ? 0 : -1;
}

static int suite_cleanup(void) {
    return margay_shutdown() == 0 ? 0 : -1;
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("posix", suite_init, suite_cleanup);
    CU_add_test(s, "timeout conversion", test_timeout_conversion);
    CU_add_test(s, "registry finds posix and catnap", test_registry_finds_posix);
    CU_add_test(s, "socket arguments", test_socket_arguments);
    CU_add_test(s, "tcp echo, 1 connection, 1 B .. 1 MiB", test_tcp_echo_one_connection);
    CU_add_test(s, "tcp echo, 1000 connections, 1 B .. 64 KiB", test_tcp_echo_many_connections);
    CU_add_test(s, "pending accepts complete in order", test_accepts_complete_in_order);
    CU_add_test(s, "tcp over ::1", test_tcp_ipv6);
    CU_add_test(s, "udp echo, 1 B .. 65507 B", test_udp_echo);
    CU_add_test(s, "udp push without address", test_udp_push_unconnected);
    CU_add_test(s, "connect refused", test_connect_refused);
    CU_add_test(s, "close cancels pending ops", test_close_cancels_pending);
    CU_add_test(s, "pop at end of stream", test_pop_at_end_of_stream);
    CU_add_test(s, "peer reset", test_peer_reset);
    CU_add_test(s, "push to closed peer", test_push_to_closed_peer_is_epipe_not_sigpipe);
    CU_add_test(s, "pending pushes and pops keep order", test_pending_pushes_and_pops_keep_order);
    CU_add_test(s, "pushto on tcp ignores the address", test_pushto_on_tcp_ignores_address);
    CU_add_test(s, "push of forged or freed array", test_push_forged_or_freed_array);
    CU_add_test(s, "10,000 open sockets", test_ten_thousand_sockets);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
