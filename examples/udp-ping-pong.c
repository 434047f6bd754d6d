/* examples/udp-ping-pong.c — UDP echo over PDPIX.
 *
 * The server pops datagrams and pushes each back to the address it came from
 * (sga_addr), checking the bytes, until it has echoed MAX_MSGS. The client sends one
 * datagram of DATA_SIZE bytes at a time, waits for it to come back, checks it, and
 * prints the round-trip median and 99th percentile. On loopback nothing is lost; on a
 * real network a lost datagram ends the run at --timeout with exit status 1.
 *
 *   margay-example-udp-ping-pong --server 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S]
 *   margay-example-udp-ping-pong --client 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S] */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define USAGE "--server|--client IPV4-ADDRESS PORT [DATA_SIZE] [MAX_MSGS] [--timeout SECONDS]"
/* Largest UDP payload over IPv4. */
#define UDP_MAX 65507u

static int run_server(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    int qd = ex_server_socket(&a->addr, SOCK_DGRAM);
    for (uint32_t i = 0; i < a->max_msgs; i++) {
        if (demi_pop(&qt, qd) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pop");
        demi_sgarray_t sga = qr.qr_value.sga;
        if (!ex_message_ok(&sga, a->data_size, i)) {
            fprintf(stderr, "%s: datagram %u is wrong (%u bytes)\n", ex_progname, i, sga.sga_segs[0].sgaseg_len);
            return 1;
        }
        struct sockaddr_in from = sga.sga_addr;
        if (demi_pushto(&qt, qd, &sga, (const struct sockaddr *)&from, sizeof(from)) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pushto");
        demi_sgafree(&sga);
    }
    demi_close(qd);
    printf("%s: server echoed %u datagrams of %u bytes, all checked\n", ex_progname, a->max_msgs, a->data_size);
    return 0;
}

static int run_client(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    uint64_t *rtt = calloc(a->max_msgs, sizeof(*rtt));
    if (!rtt)
        return 1;
    int qd = ex_udp_client_socket();
    for (uint32_t i = 0; i < a->max_msgs; i++) {
        demi_sgarray_t sga = ex_alloc_message(a->data_size, i);
        uint64_t start = ex_now_ns();
        if (demi_pushto(&qt, qd, &sga, (const struct sockaddr *)&a->addr, sizeof(a->addr)) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pushto");
        demi_sgafree(&sga);
        if (demi_pop(&qt, qd) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pop");
        bool ok = ex_message_ok(&qr.qr_value.sga, a->data_size, i);
        demi_sgafree(&qr.qr_value.sga);
        if (!ok) {
            fprintf(stderr, "%s: reply %u is wrong\n", ex_progname, i);
            return 1;
        }
        rtt[i] = ex_now_ns() - start;
    }
    demi_close(qd);
    ex_print_round_trips(rtt, a->max_msgs, a->data_size);
    free(rtt);
    return 0;
}

int main(int argc, char *argv[]) {
    struct ex_args a = {.data_size = 64, .max_msgs = 1000, .timeout_s = 30};
    ex_parse_args(argc, argv, USAGE, &a);
    if (a.data_size > UDP_MAX) {
        fprintf(stderr, "%s: DATA_SIZE must be at most %u for UDP\n", ex_progname, UDP_MAX);
        return 2;
    }
    ex_init(argc, argv);
    uint64_t deadline = ex_deadline(a.timeout_s);
    return a.server ? run_server(&a, deadline) : run_client(&a, deadline);
}
