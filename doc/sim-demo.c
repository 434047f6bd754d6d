/* doc/sim-demo.c — the program of the simulator walk-through (doc/sim.md): a TCP
 * request/response client and server in plain PDPIX, with a classic bug. The client
 * sends 20 requests of 100 bytes and gives each answer 200 ms, which is plenty on a
 * quiet network (the round trip is a fraction of a millisecond), and treats a late
 * answer as fatal. When a segment is lost, TCP's retransmission timeout (at least
 * 200 ms here) makes the answer late, and the client fails: only some seeds, and
 * always the same ones.
 *
 *   sim-demo --server ADDR PORT      sim-demo --client ADDR PORT */
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIZE 100
#define REQUESTS 20

static demi_qresult_t wait_for(demi_qtoken_t qt, const struct timespec *timeout, const char *what) {
    demi_qresult_t qr;
    int rc = demi_wait(&qr, qt, timeout);
    if (rc == 0 && qr.qr_opcode == DEMI_OPC_FAILED)
        rc = (int)qr.qr_ret;
    if (rc != 0) {
        fprintf(stderr, "sim-demo: %s: %s\n", what, strerror(rc));
        exit(1);
    }
    return qr;
}

/* Pops exactly SIZE bytes (TCP may split them). */
static void pop_message(int qd, const struct timespec *timeout, const char *what) {
    uint32_t got = 0;
    while (got < SIZE) {
        demi_qtoken_t qt;
        demi_pop(&qt, qd);
        demi_qresult_t qr = wait_for(qt, timeout, what);
        if (qr.qr_value.sga.sga_numsegs == 0 || qr.qr_value.sga.sga_segs[0].sgaseg_len == 0) {
            fprintf(stderr, "sim-demo: %s: connection closed\n", what);
            exit(1);
        }
        got += qr.qr_value.sga.sga_segs[0].sgaseg_len;
        demi_sgafree(&qr.qr_value.sga);
    }
}

static void push_message(int qd) {
    demi_sgarray_t sga = demi_sgaalloc(SIZE);
    memset(sga.sga_segs[0].sgaseg_buf, 'x', SIZE);
    demi_qtoken_t qt;
    demi_push(&qt, qd, &sga);
    demi_sgafree(&sga);
    wait_for(qt, NULL, "push");
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: sim-demo --server|--client ADDR PORT\n");
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
    inet_pton(AF_INET, argv[2], &addr.sin_addr);
    struct demi_args da = {.argc = argc, .argv = argv};
    if (demi_init(&da) != 0)
        return 1;
    int qd;
    demi_qtoken_t qt;
    demi_socket(&qd, AF_INET, SOCK_STREAM, 0);
    if (strcmp(argv[1], "--server") == 0) {
        demi_bind(qd, (struct sockaddr *)&addr, sizeof(addr));
        demi_listen(qd, 16);
        demi_accept(&qt, qd);
        int conn = wait_for(qt, NULL, "accept").qr_value.ares.qd;
        for (int i = 0; i < REQUESTS; i++) {
            pop_message(conn, NULL, "request");
            push_message(conn);
        }
        printf("sim-demo: server answered %d requests\n", REQUESTS);
        return 0;
    }
    demi_connect(&qt, qd, (struct sockaddr *)&addr, sizeof(addr));
    wait_for(qt, NULL, "connect");
    const struct timespec answer_time = {0, 200 * 1000 * 1000}; /* BUG: shorter than a retransmission */
    for (int i = 0; i < REQUESTS; i++) {
        push_message(qd);
        pop_message(qd, &answer_time, "answer");
    }
    printf("sim-demo: client got %d answers\n", REQUESTS);
    return 0;
}
