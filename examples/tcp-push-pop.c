/* examples/tcp-push-pop.c — one-way TCP transfer over PDPIX.
 *
 * The client connects and pushes MAX_MSGS messages of DATA_SIZE bytes; the server pops
 * until every byte has arrived, checks each against the pattern (message number and
 * offset), then expects end of stream. Both exit 0 only if everything checked out.
 *
 *   margay-example-tcp-push-pop --server 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S]
 *   margay-example-tcp-push-pop --client 127.0.0.1 12345 [DATA_SIZE] [MAX_MSGS] [--timeout S] */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define USAGE "--server|--client IPV4-ADDRESS PORT [DATA_SIZE] [MAX_MSGS] [--timeout SECONDS]"

/* Checks `len` stream bytes starting at stream offset `off` (messages of `size`). */
static bool check_stream(const uint8_t *p, uint32_t len, uint64_t off, uint32_t size) {
    while (len > 0) {
        uint64_t msg = off / size;
        uint32_t in_msg = (uint32_t)(off % size);
        uint32_t n = size - in_msg < len ? size - in_msg : len;
        size_t bad = ex_check(p, n, msg, in_msg);
        if (bad != n) {
            fprintf(stderr, "%s: wrong byte at stream offset %llu (message %llu)\n", ex_progname,
                    (unsigned long long)(off + bad), (unsigned long long)msg);
            return false;
        }
        p += n;
        len -= n;
        off += n;
    }
    return true;
}

static int run_server(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    int lqd = ex_server_socket(&a->addr, SOCK_STREAM);
    int qd = ex_accept(lqd, deadline);

    uint64_t total = (uint64_t)a->data_size * a->max_msgs, got = 0;
    bool ok = true;
    for (;;) {
        if (demi_pop(&qt, qd) != 0)
            return 1;
        ex_wait_or_die(&qr, qt, deadline, "pop");
        demi_sgarray_t *sga = &qr.qr_value.sga;
        uint32_t len = sga->sga_segs[0].sgaseg_len;
        if (len == 0) {
            demi_sgafree(sga);
            break; /* end of stream */
        }
        if (got + len > total) {
            fprintf(stderr, "%s: client sent more than %llu bytes\n", ex_progname, (unsigned long long)total);
            ok = false;
        } else if (!check_stream(sga->sga_segs[0].sgaseg_buf, len, got, a->data_size)) {
            ok = false;
        }
        got += len;
        demi_sgafree(sga);
        if (!ok)
            break;
    }
    if (ok && got != total) {
        fprintf(stderr, "%s: stream ended after %llu of %llu bytes\n", ex_progname, (unsigned long long)got,
                (unsigned long long)total);
        ok = false;
    }
    demi_close(qd);
    demi_close(lqd);
    if (ok)
        printf("%s: server received %u messages, %llu bytes, all checked\n", ex_progname, a->max_msgs,
               (unsigned long long)got);
    return ok ? 0 : 1;
}

static int run_client(const struct ex_args *a, uint64_t deadline) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    int qd = ex_connect(&a->addr, deadline);
    for (uint32_t i = 0; i < a->max_msgs; i++) {
        demi_sgarray_t sga = ex_alloc_message(a->data_size, i);
        int ret = demi_push(&qt, qd, &sga);
        if (ret != 0) {
            ex_error("demi_push", ret);
            return 1;
        }
        ex_wait_or_die(&qr, qt, deadline, "push");
        demi_sgafree(&sga);
    }
    demi_close(qd);
    printf("%s: client pushed %u messages of %u bytes\n", ex_progname, a->max_msgs, a->data_size);
    return 0;
}

int main(int argc, char *argv[]) {
    struct ex_args a = {.data_size = 1024, .max_msgs = 1024, .timeout_s = 30};
    ex_parse_args(argc, argv, USAGE, &a);
    ex_init(argc, argv);
    uint64_t deadline = ex_deadline(a.timeout_s);
    return a.server ? run_server(&a, deadline) : run_client(&a, deadline);
}
