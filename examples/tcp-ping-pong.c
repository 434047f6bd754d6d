/* examples/tcp-ping-pong.c — TCP round trips over PDPIX.
 *
 * The client pushes a message of DATA_SIZE bytes, pops until the whole message has
 * come back, checks it, and repeats MAX_MSGS times; it prints the round-trip median
 * and 99th percentile. The server echoes what it pops (pushing the popped array back
 * as it is) and checks the bytes it sees. Both exit 0 only if every byte was right.
 *
 *   margay-example-tcp-ping-pong --server 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S]
 *   margay-example-tcp-ping-pong --client 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S] */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define USAGE "--server|--client IPV4-ADDRESS PORT [DATA_SIZE] [MAX_MSGS] [--timeout SECONDS]"

static int run_server(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    int lqd = ex_server_socket(&a->addr, SOCK_STREAM);
    int qd = ex_accept(lqd, deadline);

    uint64_t total = (uint64_t)a->data_size * a->max_msgs, echoed = 0;
    bool ok = true;
    while (ok) {
        if (demi_pop(&qt, qd) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pop");
        demi_sgarray_t sga = qr.qr_value.sga;
        uint32_t len = sga.sga_segs[0].sgaseg_len;
        if (len == 0) {
            demi_sgafree(&sga);
            break;
        }
        /* A message may arrive in pieces, never mixed with the next (the client waits). */
        uint64_t msg = echoed / a->data_size, off = echoed % a->data_size;
        if (off + len > a->data_size || ex_check(sga.sga_segs[0].sgaseg_buf, len, msg, off) != len) {
            fprintf(stderr, "%s: wrong bytes in message %llu\n", ex_progname, (unsigned long long)msg);
            ok = false;
        } else {
            if (demi_push(&qt, qd, &sga) != 0)
                return 1;
            ex_wait_or_die(&qr, qt, deadline, "push");
            echoed += len;
        }
        demi_sgafree(&sga);
    }
    demi_close(qd);
    demi_close(lqd);
    if (ok && echoed != total) {
        fprintf(stderr, "%s: echoed %llu of %llu bytes\n", ex_progname, (unsigned long long)echoed,
                (unsigned long long)total);
        ok = false;
    }
    if (ok)
        printf("%s: server echoed %u messages, %llu bytes, all checked\n", ex_progname, a->max_msgs,
               (unsigned long long)echoed);
    return ok ? 0 : 1;
}

/* Pops until the whole of message `msg` is back; false on a wrong byte. */
static bool pop_message(int qd, const struct ex_args *a, uint64_t msg, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    uint32_t got = 0;
    while (got < a->data_size) {
        if (demi_pop(&qt, qd) != 0)
            exit(1);
        ex_wait_or_die(&qr, qt, deadline, "pop");
        demi_sgarray_t *sga = &qr.qr_value.sga;
        uint32_t len = sga->sga_segs[0].sgaseg_len;
        bool ok = len > 0 && got + len <= a->data_size && ex_check(sga->sga_segs[0].sgaseg_buf, len, msg, got) == len;
        demi_sgafree(sga);
        if (!ok) {
            fprintf(stderr, "%s: %s in reply %llu\n", ex_progname, len ? "wrong bytes" : "end of stream",
                    (unsigned long long)msg);
            return false;
        }
        got += len;
    }
    return true;
}

static int run_client(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    uint64_t *rtt = calloc(a->max_msgs, sizeof(*rtt));
    if (!rtt)
        return 1;
    int qd = ex_connect(&a->addr, deadline);
    for (uint32_t i = 0; i < a->max_msgs; i++) {
        demi_sgarray_t sga = ex_alloc_message(a->data_size, i);
        uint64_t start = ex_now_ns();
        if (demi_push(&qt, qd, &sga) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "push");
        demi_sgafree(&sga);
        if (!pop_message(qd, a, i, deadline))
            return 1;
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
    ex_init(argc, argv);
    uint64_t deadline = ex_deadline(a.timeout_s);
    return a.server ? run_server(&a, deadline) : run_client(&a, deadline);
}
