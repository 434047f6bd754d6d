/* tests/integration/installed_headers.c — a Demikernel-style PDPIX program built by
 * installed_headers.sh against the *installed* headers and library, with
 * -std=c99 -Wall -Wextra -Werror, to prove an outside program compiles and runs.
 *
 * In one process: a listening socket, a client that connects to it, a message pushed
 * each way and popped, arrays allocated and freed, every wait bounded.
 * Usage: installed_headers FIRST-PORT (tries 50 ports from there). */
#define _POSIX_C_SOURCE 200809L

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/types.h>
#include <demi/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static int failed(const char *what, int err) {
    fprintf(stderr, "installed_headers: %s: %s\n", what, strerror(err));
    exit(1);
}

static void wait_op(demi_qresult_t *qr, demi_qtoken_t qt, demi_opcode_t expect, const char *what) {
    struct timespec timeout;
    timeout.tv_sec = 10;
    timeout.tv_nsec = 0;
    int ret = demi_wait(qr, qt, &timeout);
    if (ret != 0)
        failed(what, ret);
    if (qr->qr_opcode == DEMI_OPC_FAILED)
        failed(what, (int)qr->qr_ret);
    if (qr->qr_opcode != expect)
        failed(what, EPROTO);
}

/* Pushes `text` on qd and pops it on peer, checking it arrived intact. */
static void send_and_check(int qd, int peer, const char *text) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    size_t len = strlen(text);
    demi_sgarray_t sga = demi_sgaalloc(len);
    if (sga.sga_numsegs != 1)
        failed("demi_sgaalloc", errno);
    memcpy(sga.sga_segs[0].sgaseg_buf, text, len);
    if (demi_push(&qt, qd, &sga) != 0)
        failed("demi_push", EINVAL);
    wait_op(&qr, qt, DEMI_OPC_PUSH, "push");
    if (demi_sgafree(&sga) != 0)
        failed("demi_sgafree", EINVAL);
    size_t got = 0;
    while (got < len) {
        if (demi_pop(&qt, peer) != 0)
            failed("demi_pop", EINVAL);
        wait_op(&qr, qt, DEMI_OPC_POP, "pop");
        demi_sgarray_t *in = &qr.qr_value.sga;
        uint32_t n = in->sga_segs[0].sgaseg_len;
        if (n == 0 || got + n > len || memcmp(in->sga_segs[0].sgaseg_buf, text + got, n) != 0)
            failed("popped bytes", EBADMSG);
        got += n;
        demi_sgafree(in);
    }
}

int main(int argc, char *argv[]) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIRST-PORT\n", argv[0]);
        return 2;
    }
    struct demi_args args;
    memset(&args, 0, sizeof(args));
    args.argc = argc;
    args.argv = argv;
    int ret = demi_init(&args);
    if (ret != 0)
        failed("demi_init", ret);

    int lqd, cqd;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((ret = demi_socket(&lqd, AF_INET, SOCK_STREAM, 0)) != 0)
        failed("demi_socket", ret);
    int port = atoi(argv[1]);
    for (int i = 0; i < 50; i++, port++) {
        addr.sin_port = htons((uint16_t)port);
        ret = demi_bind(lqd, (const struct sockaddr *)&addr, sizeof(addr));
        if (ret != EADDRINUSE)
            break;
    }
    if (ret != 0)
        failed("demi_bind", ret);
    if ((ret = demi_listen(lqd, 16)) != 0)
        failed("demi_listen", ret);

    demi_qtoken_t accept_qt, connect_qt;
    demi_qresult_t qr;
    if ((ret = demi_accept(&accept_qt, lqd)) != 0)
        failed("demi_accept", ret);
    if ((ret = demi_socket(&cqd, AF_INET, SOCK_STREAM, 0)) != 0)
        failed("demi_socket", ret);
    if ((ret = demi_connect(&connect_qt, cqd, (const struct sockaddr *)&addr, sizeof(addr))) != 0)
        failed("demi_connect", ret);
    wait_op(&qr, connect_qt, DEMI_OPC_CONNECT, "connect");
    wait_op(&qr, accept_qt, DEMI_OPC_ACCEPT, "accept");
    int sqd = qr.qr_value.ares.qd;
    if (qr.qr_value.ares.addr.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
        failed("accept peer address", EPROTO);

    send_and_check(cqd, sqd, "hello from a PDPIX client");
    send_and_check(sqd, cqd, "and hello back from the server");

    demi_close(cqd);
    demi_close(sqd);
    demi_close(lqd);
    printf("installed_headers: ok (port %d)\n", port);
    return 0;
}
