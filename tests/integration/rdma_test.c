/* tests/integration/rdma_test.c — the rdma libOS on a real RDMA device (soft-RoCE in
 * the VM of ci/rxe-vm): both ends in one process through PDPIX, plus a second process
 * that disconnects mid-transfer.
 *
 *   rdma_test IPV4-ADDRESS        runs every case and prints PASS/FAIL lines
 *   (rdma_test --child ...        is the disconnecting peer, started by the parent)
 *
 * Cases: connect to a port nobody listens on; 1 B to 4 MiB pushes both ways, checked
 * byte for byte; 100 connections at once; close with pops and pushes outstanding; a
 * peer process that dies mid-transfer (pops end, an outstanding push fails, and the
 * libOS keeps serving new connections). Exit status 0 only if every case passed. */
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "margay/margay.h"

extern char **environ;

static struct sockaddr_in base_addr;
static int failures;

#define CHECK(cond)                                                                                                 \
    do {                                                                                                            \
        if (!(cond)) {                                                                                              \
            fprintf(stderr, "rdma_test: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                    \
            return 1;                                                                                               \
        }                                                                                                           \
    } while (0)

static struct sockaddr_in addr_port(uint16_t port) {
    struct sockaddr_in a = base_addr;
    a.sin_port = htons(port);
    return a;
}

static uint8_t pattern(uint64_t seed, uint64_t i) { return (uint8_t)((i * 131u + seed * 7u + (i >> 9)) & 0xff); }

static int wait_for(demi_qtoken_t qt, demi_qresult_t *qr, int seconds) {
    struct timespec t = {.tv_sec = seconds};
    return demi_wait(qr, qt, &t);
}

static int listen_on(uint16_t port, int *lqd) {
    struct sockaddr_in a = addr_port(port);
    CHECK(demi_socket(lqd, AF_INET, SOCK_STREAM, 0) == 0);
    CHECK(demi_bind(*lqd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(demi_listen(*lqd, 128) == 0);
    return 0;
}

/* Opens n connections to a listener on port; client and server qds in cq[i], sq[i]. */
static int connect_pairs(uint16_t port, int lqd, int n, int *cq, int *sq) {
    struct sockaddr_in a = addr_port(port);
    demi_qtoken_t *qts = calloc((size_t)n, sizeof(*qts));
    CHECK(qts);
    for (int i = 0; i < n; i++) {
        CHECK(demi_socket(&cq[i], AF_INET, SOCK_STREAM, 0) == 0);
        CHECK(demi_connect(&qts[i], cq[i], (struct sockaddr *)&a, sizeof(a)) == 0);
    }
    for (int i = 0; i < n; i++) {
        demi_qtoken_t at;
        demi_qresult_t qr;
        CHECK(demi_accept(&at, lqd) == 0);
        CHECK(wait_for(at, &qr, 60) == 0);
        CHECK(qr.qr_opcode == DEMI_OPC_ACCEPT);
        sq[i] = qr.qr_value.ares.qd;
    }
    for (int i = 0; i < n; i++) {
        demi_qresult_t qr;
        CHECK(wait_for(qts[i], &qr, 60) == 0);
        CHECK(qr.qr_opcode == DEMI_OPC_CONNECT);
    }
    free(qts);
    return 0;
}

/* Pushes size bytes on `from` and pops them on `to` at the same time, checking every
 * byte; the push must complete too. */
static int transfer(int from, int to, size_t size, uint64_t seed) {
    demi_sgarray_t sga = demi_sgaalloc(size);
    CHECK(sga.sga_numsegs == 1);
    uint8_t *p = sga.sga_segs[0].sgaseg_buf;
    for (size_t i = 0; i < size; i++)
        p[i] = pattern(seed, i);
    demi_qtoken_t push_qt, pop_qt;
    CHECK(demi_push(&push_qt, from, &sga) == 0);
    CHECK(demi_pop(&pop_qt, to) == 0);
    bool pushing = true, popping = true;
    size_t got = 0;
    while (pushing || popping) {
        demi_qtoken_t set[2];
        int n = 0;
        if (pushing)
            set[n++] = push_qt;
        if (popping)
            set[n++] = pop_qt;
        demi_qresult_t qr;
        int off = -1;
        struct timespec t = {.tv_sec = 60};
        CHECK(demi_wait_any(&qr, &off, set, n, &t) == 0);
        if (qr.qr_opcode == DEMI_OPC_PUSH) {
            pushing = false;
            continue;
        }
        CHECK(qr.qr_opcode == DEMI_OPC_POP);
        uint32_t len = qr.qr_value.sga.sga_segs[0].sgaseg_len;
        const uint8_t *d = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
        CHECK(len > 0 && got + len <= size);
        for (uint32_t i = 0; i < len; i++)
            if (d[i] != pattern(seed, got + i)) {
                fprintf(stderr, "rdma_test: byte %zu of %zu differs\n", got + i, size);
                return 1;
            }
        got += len;
        CHECK(demi_sgafree(&qr.qr_value.sga) == 0);
        popping = got < size;
        if (popping)
            CHECK(demi_pop(&pop_qt, to) == 0);
    }
    CHECK(demi_sgafree(&sga) == 0);
    return 0;
}

static int case_refused(void) {
    int qd;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct sockaddr_in a = addr_port(13999);
    CHECK(demi_socket(&qd, AF_INET, SOCK_STREAM, 0) == 0);
    CHECK(demi_connect(&qt, qd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(wait_for(qt, &qr, 60) == 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED);
    CHECK(qr.qr_ret == ECONNREFUSED);
    /* Data calls on a socket that never connected are refused. */
    demi_qtoken_t pt;
    CHECK(demi_pop(&pt, qd) != 0 || (wait_for(pt, &qr, 10) == 0 && qr.qr_opcode == DEMI_OPC_FAILED));
    CHECK(demi_close(qd) == 0);
    return 0;
}

static int case_sizes(void) {
    static const size_t sizes[] = {1, 7, 4095, 4096, 16383, 16384, 16385, 65536, 300001, 1u << 20, 4u << 20};
    int lqd, c, s;
    if (listen_on(13001, &lqd) || connect_pairs(13001, lqd, 1, &c, &s))
        return 1;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if (transfer(c, s, sizes[i], i) || transfer(s, c, sizes[i], i + 100)) {
            fprintf(stderr, "rdma_test: transfer of %zu bytes failed\n", sizes[i]);
            return 1;
        }
    }
    /* Many small pushes queued back to back, then read as one stream. */
    enum { N = 200 };
    demi_qtoken_t qts[N];
    demi_sgarray_t sgas[N];
    for (int i = 0; i < N; i++) {
        sgas[i] = demi_sgaalloc(100);
        CHECK(sgas[i].sga_numsegs == 1);
        for (int j = 0; j < 100; j++)
            ((uint8_t *)sgas[i].sga_segs[0].sgaseg_buf)[j] = pattern(7, (uint64_t)i * 100 + j);
        CHECK(demi_push(&qts[i], c, &sgas[i]) == 0);
    }
    size_t got = 0;
    while (got < N * 100) {
        demi_qtoken_t pt;
        demi_qresult_t qr;
        CHECK(demi_pop(&pt, s) == 0);
        CHECK(wait_for(pt, &qr, 60) == 0 && qr.qr_opcode == DEMI_OPC_POP);
        const uint8_t *d = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
        for (uint32_t i = 0; i < qr.qr_value.sga.sga_segs[0].sgaseg_len; i++)
            CHECK(d[i] == pattern(7, got + i));
        got += qr.qr_value.sga.sga_segs[0].sgaseg_len;
        demi_sgafree(&qr.qr_value.sga);
    }
    CHECK(got == N * 100);
    for (int i = 0; i < N; i++) {
        demi_qresult_t qr;
        CHECK(wait_for(qts[i], &qr, 60) == 0 && qr.qr_opcode == DEMI_OPC_PUSH);
        demi_sgafree(&sgas[i]);
    }
    CHECK(demi_close(c) == 0 && demi_close(s) == 0 && demi_close(lqd) == 0);
    return 0;
}

static int case_many(void) {
    enum { N = 100 };
    int lqd, c[N], s[N];
    if (listen_on(13002, &lqd) || connect_pairs(13002, lqd, N, c, s))
        return 1;
    for (int i = 0; i < N; i++)
        if (transfer(c[i], s[i], 64 + (size_t)i, (uint64_t)i) || transfer(s[i], c[i], 32, (uint64_t)i + 1000))
            return 1;
    for (int i = 0; i < N; i++)
        CHECK(demi_close(c[i]) == 0 && demi_close(s[i]) == 0);
    CHECK(demi_close(lqd) == 0);
    return 0;
}

static int case_close_outstanding(void) {
    int lqd, c, s;
    if (listen_on(13003, &lqd) || connect_pairs(13003, lqd, 1, &c, &s))
        return 1;
    demi_qtoken_t spop, cpop, cpush;
    demi_qresult_t qr;
    CHECK(demi_pop(&spop, s) == 0);
    CHECK(demi_pop(&cpop, c) == 0);
    demi_sgarray_t sga = demi_sgaalloc(1u << 20);
    CHECK(sga.sga_numsegs == 1);
    CHECK(demi_push(&cpush, c, &sga) == 0);
    /* The client closes with a pop and a push outstanding: both end with ECANCELED. */
    CHECK(demi_close(c) == 0);
    CHECK(wait_for(cpop, &qr, 10) == 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECANCELED);
    CHECK(wait_for(cpush, &qr, 10) == 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECANCELED);
    CHECK(demi_sgafree(&sga) == 0);
    /* The server's pop sees the end of the stream (or a reset), never hangs. */
    CHECK(wait_for(spop, &qr, 60) == 0);
    CHECK((qr.qr_opcode == DEMI_OPC_POP && qr.qr_value.sga.sga_segs[0].sgaseg_len == 0) ||
          (qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECONNRESET));
    if (qr.qr_opcode == DEMI_OPC_POP)
        demi_sgafree(&qr.qr_value.sga);
    /* A push on the dead connection fails. */
    sga = demi_sgaalloc(10);
    demi_qtoken_t pt;
    int rc = demi_push(&pt, s, &sga);
    CHECK(rc != 0 || (wait_for(pt, &qr, 10) == 0 && qr.qr_opcode == DEMI_OPC_FAILED));
    demi_sgafree(&sga);
    /* The listener closes with an accept outstanding. */
    demi_qtoken_t at;
    CHECK(demi_accept(&at, lqd) == 0);
    CHECK(demi_close(lqd) == 0);
    CHECK(wait_for(at, &qr, 10) == 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECANCELED);
    CHECK(demi_close(s) == 0);
    return 0;
}

/* The child: connects, pushes 2 MiB and waits for it, pushes 2 MiB more and dies
 * without closing. Its small receive window lets the parent's push stall. */
static int child_main(uint16_t port) {
    struct demi_args args = {0};
    if (demi_init(&args) != 0)
        return 2;
    int qd;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct sockaddr_in a = addr_port(port);
    if (demi_socket(&qd, AF_INET, SOCK_STREAM, 0) || demi_connect(&qt, qd, (struct sockaddr *)&a, sizeof(a)) ||
        wait_for(qt, &qr, 60) || qr.qr_opcode != DEMI_OPC_CONNECT)
        return 3;
    demi_sgarray_t sga = demi_sgaalloc(2u << 20);
    uint8_t *p = sga.sga_segs[0].sgaseg_buf;
    for (size_t i = 0; i < (2u << 20); i++)
        p[i] = pattern(42, i);
    if (demi_push(&qt, qd, &sga) || wait_for(qt, &qr, 60) || qr.qr_opcode != DEMI_OPC_PUSH)
        return 4;
    for (size_t i = 0; i < (2u << 20); i++)
        p[i] = pattern(42, i + (2u << 20));
    if (demi_push(&qt, qd, &sga))
        return 5;
    struct timespec t = {0, 0};
    (void)demi_wait(&qr, qt, &t); /* let some of it go out */
    _exit(0);
}

static int case_peer_dies(const char *self) {
    int lqd;
    if (listen_on(13004, &lqd))
        return 1;
    char port[8] = "13004";
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &base_addr.sin_addr, addr, sizeof(addr));
    char *argv[] = {(char *)self, "--child", addr, port, NULL};
    setenv("DEMI_RDMA_RECV_WINDOW", "32768", 1);
    pid_t pid;
    int rc = posix_spawn(&pid, self, NULL, NULL, argv, environ);
    unsetenv("DEMI_RDMA_RECV_WINDOW");
    CHECK(rc == 0);
    demi_qtoken_t at;
    demi_qresult_t qr;
    CHECK(demi_accept(&at, lqd) == 0);
    CHECK(wait_for(at, &qr, 60) == 0 && qr.qr_opcode == DEMI_OPC_ACCEPT);
    int s = qr.qr_value.ares.qd;
    /* Once the child's first 2 MiB are in, a push the child will never read (its
     * receive window is small): it must fail when the child is gone. */
    demi_sgarray_t big = demi_sgaalloc(4u << 20);
    demi_qtoken_t push_qt = 0;
    size_t got = 0;
    bool ended = false;
    while (!ended) {
        if (!push_qt && got >= (2u << 20))
            CHECK(demi_push(&push_qt, s, &big) == 0);
        demi_qtoken_t pt;
        CHECK(demi_pop(&pt, s) == 0);
        CHECK(wait_for(pt, &qr, 120) == 0);
        if (qr.qr_opcode == DEMI_OPC_FAILED) {
            CHECK(qr.qr_ret == ECONNRESET || qr.qr_ret == ETIMEDOUT);
            ended = true;
            continue;
        }
        uint32_t len = qr.qr_value.sga.sga_segs[0].sgaseg_len;
        const uint8_t *d = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
        for (uint32_t i = 0; i < len; i++)
            CHECK(d[i] == pattern(42, got + i));
        got += len;
        ended = len == 0;
        demi_sgafree(&qr.qr_value.sga);
    }
    CHECK(push_qt != 0);
    CHECK(got >= (2u << 20) && got <= (4u << 20));
    CHECK(wait_for(push_qt, &qr, 120) == 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED);
    CHECK(qr.qr_ret == EPIPE || qr.qr_ret == ECONNRESET || qr.qr_ret == ETIMEDOUT);
    demi_sgafree(&big);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(demi_close(s) == 0);
    /* The libOS still serves: a fresh pair on the same listener works. */
    int c2, s2;
    if (connect_pairs(13004, lqd, 1, &c2, &s2) || transfer(c2, s2, 100000, 9))
        return 1;
    CHECK(demi_close(c2) == 0 && demi_close(s2) == 0 && demi_close(lqd) == 0);
    printf("rdma_test: peer died after %zu of 4194304 bytes\n", got);
    return 0;
}

static void run(const char *name, int (*fn)(void)) {
    time_t t0 = time(NULL);
    int rc = fn();
    printf("%s: %s (%lds)\n", rc ? "FAIL" : "PASS", name, (long)(time(NULL) - t0));
    fflush(stdout);
    failures += rc != 0;
}

static const char *self_path;
static int case_peer_dies_self(void) { return case_peer_dies(self_path); }

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    base_addr.sin_family = AF_INET;
    if (argc == 4 && strcmp(argv[1], "--child") == 0) {
        if (inet_pton(AF_INET, argv[2], &base_addr.sin_addr) != 1)
            return 2;
        return child_main((uint16_t)atoi(argv[3]));
    }
    if (argc != 2 || inet_pton(AF_INET, argv[1], &base_addr.sin_addr) != 1) {
        fprintf(stderr, "usage: %s IPV4-ADDRESS-ON-AN-RDMA-DEVICE\n", argv[0]);
        return 2;
    }
    self_path = argv[0];
    /* Both ends live in this process: smaller receives keep 200 connections' buffers
     * inside the default arena. */
    setenv("DEMI_LIBOS", "rdma", 0);
    setenv("DEMI_RDMA_RECV_BUF", "16384", 0);
    struct demi_args args = {0};
    int rc = demi_init(&args);
    if (rc != 0) {
        fprintf(stderr, "rdma_test: demi_init: %s\n", strerror(rc));
        return 1;
    }
    run("connect to a port with no listener is refused", case_refused);
    run("1 B to 4 MiB both ways, byte for byte", case_sizes);
    run("100 connections", case_many);
    run("close with pops, pushes and accepts outstanding", case_close_outstanding);
    run("peer process dies mid-transfer", case_peer_dies_self);
    margay_shutdown();
    printf("rdma_test: %d failed\n", failures);
    return failures ? 1 : 0;
}
