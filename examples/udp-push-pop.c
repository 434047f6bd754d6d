/* examples/udp-push-pop.c — one-way UDP transfer over PDPIX.
 *
 * The client pushes MAX_MSGS datagrams of DATA_SIZE bytes to the server, which pops
 * them and checks each (they carry the pattern of their sequence number). So that a
 * fast client cannot overrun the server's receive buffer, the client sends a window of
 * datagrams (up to 128 KiB, at most 64) and then waits for the server's 4-byte
 * acknowledgement of the running count. Both exit 0 only if every datagram arrived, in
 * order and intact.
 *
 *   margay-example-udp-push-pop --server 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S]
 *   margay-example-udp-push-pop --client 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S] */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define USAGE "--server|--client IPV4-ADDRESS PORT [DATA_SIZE] [MAX_MSGS] [--timeout SECONDS]"
#define UDP_MAX 65507u

/* Datagrams sent between acknowledgements (both sides compute it the same way). */
static uint32_t window(uint32_t data_size) {
    uint32_t w = (128u * 1024u) / data_size;
    return w < 1 ? 1 : w > 64 ? 64 : w;
}

static bool ack_due(uint32_t count, const struct ex_args *a) {
    return count % window(a->data_size) == 0 || count == a->max_msgs;
}

static void send_ack(int qd, uint32_t count, const struct sockaddr_in *to, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    demi_sgarray_t sga = demi_sgaalloc(sizeof(uint32_t));
    if (sga.sga_numsegs != 1) {
        ex_error("demi_sgaalloc", ENOMEM);
        exit(1);
    }
    uint32_t be = htonl(count);
    memcpy(sga.sga_segs[0].sgaseg_buf, &be, sizeof(be));
    sga.sga_segs[0].sgaseg_len = sizeof(be);
    if (demi_pushto(&qt, qd, &sga, (const struct sockaddr *)to, sizeof(*to)) != 0)
        exit(1);
    ex_wait_or_die(&qr, qt, deadline, "pushto (ack)");
    demi_sgafree(&sga);
}

static int run_server(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    int qd = ex_server_socket(&a->addr, SOCK_DGRAM);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < a->max_msgs; i++) {
        if (demi_pop(&qt, qd) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pop");
        demi_sgarray_t *sga = &qr.qr_value.sga;
        uint32_t len = sga->sga_segs[0].sgaseg_len;
        bool ok = ex_message_ok(sga, a->data_size, i);
        struct sockaddr_in from = sga->sga_addr;
        demi_sgafree(sga);
        if (!ok) {
            fprintf(stderr, "%s: datagram %u is wrong or out of order (%u bytes)\n", ex_progname, i, len);
            return 1;
        }
        bytes += len;
        if (ack_due(i + 1, a))
            send_ack(qd, i + 1, &from, deadline);
    }
    demi_close(qd);
    printf("%s: server received %u datagrams, %llu bytes, all checked\n", ex_progname, a->max_msgs,
           (unsigned long long)bytes);
    return 0;
}

static int run_client(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    int qd = ex_udp_client_socket();
    for (uint32_t i = 0; i < a->max_msgs; i++) {
        demi_sgarray_t sga = ex_alloc_message(a->data_size, i);
        if (demi_pushto(&qt, qd, &sga, (const struct sockaddr *)&a->addr, sizeof(a->addr)) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pushto");
        demi_sgafree(&sga);
        if (!ack_due(i + 1, a))
            continue;
        if (demi_pop(&qt, qd) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pop (ack)");
        uint32_t be = 0;
        bool ok = qr.qr_value.sga.sga_segs[0].sgaseg_len == sizeof(be);
        if (ok)
            memcpy(&be, qr.qr_value.sga.sga_segs[0].sgaseg_buf, sizeof(be));
        demi_sgafree(&qr.qr_value.sga);
        if (!ok || ntohl(be) != i + 1) {
            fprintf(stderr, "%s: server acknowledged %u datagrams, expected %u\n", ex_progname, ntohl(be), i + 1);
            return 1;
        }
    }
    demi_close(qd);
    printf("%s: client pushed %u datagrams of %u bytes, all acknowledged\n", ex_progname, a->max_msgs, a->data_size);
    return 0;
}

int main(int argc, char *argv[]) {
    struct ex_args a = {.data_size = 1024, .max_msgs = 1024, .timeout_s = 30};
    ex_parse_args(argc, argv, USAGE, &a);
    if (a.data_size > UDP_MAX) {
        fprintf(stderr, "%s: DATA_SIZE must be at most %u for UDP\n", ex_progname, UDP_MAX);
        return 2;
    }
    ex_init(argc, argv);
    uint64_t deadline = ex_deadline(a.timeout_s);
    return a.server ? run_server(&a, deadline) : run_client(&a, deadline);
}
