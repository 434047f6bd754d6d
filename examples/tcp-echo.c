/* examples/tcp-echo.c — a TCP echo server for many concurrent clients, and a client
 * that drives many connections at once and checks every echoed byte.
 *
 * Both sides keep one pending operation per connection and wait on all of them with
 * demi_wait_any, the way a Demikernel server multiplexes its queues.
 *
 *   margay-example-tcp-echo --server 127.0.0.1 12345 [--nclients N] [--timeout S]
 *       echoes until N connections (default 1) have come and gone.
 *   margay-example-tcp-echo --client 127.0.0.1 12345 [--nclients N] [--nrequests R] [--bufsize B] [--timeout S]
 *       opens N connections at once; on each sends R messages of B bytes, one at a
 *       time, and checks that each comes back intact. Prints one line:
 *       tcp-echo: OK: 100 connections, 1000 messages, 1024000 bytes, 0.052 s, 19230 msgs/s
 * Exit status 0 only if every connection finished and every byte matched. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define USAGE                                                                                                  \
    "--server|--client IPV4-ADDRESS PORT [--nclients N] [--nrequests N] [--bufsize BYTES] [--timeout SECONDS]"

/* The pending tokens and, for each, which connection it belongs to (-1: the listener). */
struct token_set {
    demi_qtoken_t *qts;
    int *owner;
    int count;
};

static void tokens_init(struct token_set *t, int cap) {
    t->qts = calloc((size_t)cap, sizeof(*t->qts));
    t->owner = calloc((size_t)cap, sizeof(*t->owner));
    t->count = 0;
    if (!t->qts || !t->owner) {
        fprintf(stderr, "%s: out of memory\n", ex_progname);
        exit(1);
    }
}

static void tokens_add(struct token_set *t, demi_qtoken_t qt, int owner) {
    t->qts[t->count] = qt;
    t->owner[t->count] = owner;
    t->count++;
}

/* Removes entry i (its token was consumed by the wait) by moving the last one there. */
static void tokens_remove(struct token_set *t, int i) {
    t->count--;
    t->qts[i] = t->qts[t->count];
    t->owner[i] = t->owner[t->count];
}

/* Waits for the next completion; exits on timeout. Returns the owner and removes it. */
static int tokens_wait(struct token_set *t, demi_qresult_t *qr, uint64_t deadline) {
    int offset = -1;
    int ret = ex_wait_any(qr, &offset, t->qts, t->count, deadline);
    if (ret == ETIMEDOUT) {
        fprintf(stderr, "%s: FAILED: timed out with %d operations pending (raise --timeout?)\n", ex_progname,
                t->count);
        exit(1);
    }
    if (ret != 0 || offset < 0 || offset >= t->count) {
        ex_error("demi_wait_any", ret ? ret : EINVAL);
        exit(1);
    }
    int owner = t->owner[offset];
    tokens_remove(t, offset);
    return owner;
}

/* ---- server -------------------------------------------------------------------- */

struct server_conn {
    int qd;
    demi_sgarray_t echoing; /* the popped array being pushed back */
};

static int run_server(const struct ex_args *a, uint64_t deadline) {
    int n = (int)a->nclients;
    struct server_conn *conns = calloc((size_t)n, sizeof(*conns));
    struct token_set t;
    tokens_init(&t, n + 1);
    if (!conns)
        return 1;
    int lqd = ex_server_socket(&a->addr, SOCK_STREAM);
    demi_qtoken_t qt;
    demi_qresult_t qr;
    int accepted = 0, finished = 0, errors = 0;
    uint64_t bytes = 0;
    if (demi_accept(&qt, lqd) != 0)
        return 1;
    tokens_add(&t, qt, -1);
    while (finished < n) {
        int c = tokens_wait(&t, &qr, deadline);
        if (c < 0) {
            if (qr.qr_opcode == DEMI_OPC_FAILED) {
                ex_error("accept", (int)qr.qr_ret);
                return 1;
            }
            c = accepted++;
            conns[c].qd = qr.qr_value.ares.qd;
            if (demi_pop(&qt, conns[c].qd) != 0)
                return 1;
            tokens_add(&t, qt, c);
            if (accepted < n) {
                if (demi_accept(&qt, lqd) != 0)
                    return 1;
                tokens_add(&t, qt, -1);
            }
            continue;
        }
        struct server_conn *conn = &conns[c];
        if (qr.qr_opcode == DEMI_OPC_FAILED) {
            ex_error("connection", (int)qr.qr_ret);
            errors++;
            if (conn->echoing.sga_numsegs)
                demi_sgafree(&conn->echoing);
            memset(&conn->echoing, 0, sizeof(conn->echoing));
            demi_close(conn->qd);
            finished++;
        } else if (qr.qr_opcode == DEMI_OPC_POP && qr.qr_value.sga.sga_segs[0].sgaseg_len == 0) {
            demi_sgafree(&qr.qr_value.sga); /* end of stream: the client is done */
            demi_close(conn->qd);
            finished++;
        } else if (qr.qr_opcode == DEMI_OPC_POP) {
            conn->echoing = qr.qr_value.sga;
            bytes += conn->echoing.sga_segs[0].sgaseg_len;
            if (demi_push(&qt, conn->qd, &conn->echoing) != 0)
                return 1;
            tokens_add(&t, qt, c);
        } else { /* push done: pop the next piece */
            demi_sgafree(&conn->echoing);
            memset(&conn->echoing, 0, sizeof(conn->echoing));
            if (demi_pop(&qt, conn->qd) != 0)
                return 1;
            tokens_add(&t, qt, c);
        }
    }
    demi_close(lqd);
    printf("%s: server %s: %d connections, %llu bytes echoed, %d errors\n", ex_progname, errors ? "FAILED" : "OK",
           n, (unsigned long long)bytes, errors);
    free(conns);
    free(t.qts);
    free(t.owner);
    return errors ? 1 : 0;
}

/* ---- client -------------------------------------------------------------------- */

struct client_conn {
    int qd;
    uint32_t request; /* message being echoed */
    uint32_t got;     /* bytes of its reply received */
    demi_sgarray_t pushing; /* the message in flight, freed when its push completes */
};

static uint64_t message_id(const struct ex_args *a, int c, uint32_t request) {
    return (uint64_t)c * a->nrequests + request;
}

static void client_push(const struct ex_args *a, struct token_set *t, struct client_conn *conns, int c) {
    demi_qtoken_t qt;
    conns[c].pushing = ex_alloc_message(a->bufsize, message_id(a, c, conns[c].request));
    int ret = demi_push(&qt, conns[c].qd, &conns[c].pushing);
    if (ret != 0) {
        ex_error("demi_push", ret);
        exit(1);
    }
    tokens_add(t, qt, c);
}

static void client_pop(struct token_set *t, struct client_conn *conns, int c) {
    demi_qtoken_t qt;
    int ret = demi_pop(&qt, conns[c].qd);
    if (ret != 0) {
        ex_error("demi_pop", ret);
        exit(1);
    }
    tokens_add(t, qt, c);
}

static int run_client(const struct ex_args *a, uint64_t deadline) {
    int n = (int)a->nclients;
    struct client_conn *conns = calloc((size_t)n, sizeof(*conns));
    struct token_set t;
    tokens_init(&t, n);
    if (!conns)
        return 1;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    uint64_t start = ex_now_ns();
    for (int c = 0; c < n; c++) {
        int ret = demi_socket(&conns[c].qd, AF_INET, SOCK_STREAM, 0);
        if (ret == 0)
            ret = demi_connect(&qt, conns[c].qd, (const struct sockaddr *)&a->addr, sizeof(a->addr));
        if (ret != 0) {
            ex_error("opening connections", ret);
            return 1;
        }
        tokens_add(&t, qt, c);
    }
    int finished = 0, errors = 0, mismatches = 0;
    uint64_t messages = 0;
    while (finished < n) {
        int c = tokens_wait(&t, &qr, deadline);
        struct client_conn *conn = &conns[c];
        bool done = false;
        if (qr.qr_opcode == DEMI_OPC_FAILED) {
            ex_error("connection", (int)qr.qr_ret);
            errors++;
            done = true;
        } else if (qr.qr_opcode == DEMI_OPC_CONNECT) {
            client_push(a, &t, conns, c);
        } else if (qr.qr_opcode == DEMI_OPC_PUSH) {
            demi_sgafree(&conn->pushing);
            memset(&conn->pushing, 0, sizeof(conn->pushing));
            client_pop(&t, conns, c);
        } else {
            demi_sgarray_t *sga = &qr.qr_value.sga;
            uint32_t len = sga->sga_segs[0].sgaseg_len;
            uint64_t id = message_id(a, c, conn->request);
            if (len == 0 || conn->got + len > a->bufsize ||
                ex_check(sga->sga_segs[0].sgaseg_buf, len, id, conn->got) != len) {
                fprintf(stderr, "%s: connection %d: %s in reply %u\n", ex_progname, c,
                        len ? "wrong bytes" : "early end of stream", conn->request);
                mismatches++;
                done = true;
            } else {
                conn->got += len;
            }
            demi_sgafree(sga);
            if (!done && conn->got < a->bufsize) {
                client_pop(&t, conns, c);
            } else if (!done) {
                messages++;
                conn->got = 0;
                if (++conn->request == a->nrequests)
                    done = true;
                else
                    client_push(a, &t, conns, c);
            }
        }
        if (done) {
            if (conn->pushing.sga_numsegs)
                demi_sgafree(&conn->pushing);
            demi_close(conn->qd);
            finished++;
        }
    }
    double secs = (double)(ex_now_ns() - start) / 1e9;
    bool ok = errors == 0 && mismatches == 0 && messages == (uint64_t)n * a->nrequests;
    printf("%s: %s: %d connections, %llu messages, %llu bytes, %.3f s, %.0f msgs/s", ex_progname,
           ok ? "OK" : "FAILED", n, (unsigned long long)messages, (unsigned long long)messages * a->bufsize, secs,
           secs > 0 ? (double)messages / secs : 0.0);
    if (!ok)
        printf(" (%d errors, %d mismatches)", errors, mismatches);
    printf("\n");
    free(conns);
    free(t.qts);
    free(t.owner);
    return ok ? 0 : 1;
}

int main(int argc, char *argv[]) {
    struct ex_args a = {.nclients = 1, .nrequests = 10, .bufsize = 1024, .timeout_s = 30};
    ex_parse_args(argc, argv, USAGE, &a);
    ex_init(argc, argv);
    uint64_t deadline = ex_deadline(a.timeout_s);
    return a.server ? run_server(&a, deadline) : run_client(&a, deadline);
}
