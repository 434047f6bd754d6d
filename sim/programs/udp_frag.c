/* sim/programs/udp_frag.c — a plain PDPIX program that sends UDP datagrams larger than
 * the MTU, so they travel as IPv4 fragments, and checks every one that arrives: the
 * simulator's check of fragmentation and reassembly under loss, reordering and
 * duplication.
 *
 *   udp-frag --server ADDR PORT [--count N] [--quiet-ms Q] [--expect-all | --expect-min K]
 *   udp-frag --client ADDR PORT [--count N] [--gap-ms G]
 *
 * The client sends datagram i (i < N) of a size taken in turn from a fixed list
 * (1 byte to 65507, most of them past a 1500-byte MTU), every byte following a
 * pattern of (i, offset), with its number and length in its first 8 bytes; it waits
 * G ms between datagrams (at least 3 s after the first, which resolves the
 * neighbour; a push the stack refuses with ENOBUFS or EHOSTUNREACH, as
 * when the neighbour is not resolved yet, is a datagram lost and counted). A lost
 * fragment loses its datagram, and that is all it may
 * do: the server checks that every datagram that arrives has exactly the size and
 * bytes datagram i was sent with (a duplicated datagram may arrive twice: UDP does
 * not promise otherwise). It stops when nothing has come for Q ms, prints what it
 * received and exits 0 when everything that came was intact (and, with
 * --expect-all, when all N came; with --expect-min, at least K distinct ones: a
 * floor under loss, so a stack that drops good datagrams cannot pass by silence),
 * 1 otherwise. Nothing here knows about the
 * simulator. */
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UDP_FRAG_MAX_COUNT 100000u

static const uint32_t sizes[] = {1473, 65507, 2953, 8192, 1472, 4000, 30000, 9, 2961, 16384, 12, 44400};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct args {
    bool server, expect_all;
    struct sockaddr_in addr;
    uint32_t count, quiet_ms, gap_ms, expect_min;
};

static _Noreturn void usage(void) {
    fprintf(stderr, "usage: udp-frag --server|--client ADDR PORT [--count N] [--quiet-ms Q] [--gap-ms G] "
                    "[--expect-all|--expect-min K]\n");
    exit(2);
}

static _Noreturn void die(const char *what, int err) {
    fprintf(stderr, "udp-frag: %s: %s\n", what, strerror(err));
    exit(1);
}

static uint32_t number(const char *s, uint32_t max) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end || v > max)
        usage();
    return (uint32_t)v;
}

static void parse(struct args *a, int argc, char **argv) {
    if (argc < 4)
        usage();
    if (strcmp(argv[1], "--server") == 0)
        a->server = true;
    else if (strcmp(argv[1], "--client") != 0)
        usage();
    a->addr.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[2], &a->addr.sin_addr) != 1)
        usage();
    a->addr.sin_port = htons((uint16_t)number(argv[3], 65535));
    a->count = 100;
    a->quiet_ms = 5000; /* longer than the client's pause after its first datagram */
    a->gap_ms = 5;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--expect-all") == 0)
            a->expect_all = true;
        else if (i + 1 < argc && strcmp(argv[i], "--expect-min") == 0)
            a->expect_min = number(argv[++i], UDP_FRAG_MAX_COUNT);
        else if (i + 1 < argc && strcmp(argv[i], "--count") == 0)
            a->count = number(argv[++i], UDP_FRAG_MAX_COUNT);
        else if (i + 1 < argc && strcmp(argv[i], "--quiet-ms") == 0)
            a->quiet_ms = number(argv[++i], 3600000);
        else if (i + 1 < argc && strcmp(argv[i], "--gap-ms") == 0)
            a->gap_ms = number(argv[++i], 3600000);
        else
            usage();
    }
}

static uint32_t size_of(uint32_t seq) {
    return sizes[seq % NSIZES];
}

static uint8_t pattern(uint32_t seq, uint32_t off) {
    return (uint8_t)(seq * 131u + off * 7u + (off >> 8));
}

static void put32(uint8_t *p, uint32_t v) {
    v = htonl(v);
    memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return ntohl(v);
}

/* Datagram seq (every size is at least 8): its number and length, then the pattern. */
static void fill(uint8_t *p, uint32_t len, uint32_t seq) {
    put32(p, seq);
    put32(p + 4, len);
    for (uint32_t i = 8; i < len; i++)
        p[i] = pattern(seq, i);
}

/* Whether a received datagram is exactly one that was sent; *seq_out names it. */
static bool intact(const uint8_t *p, uint32_t len, uint32_t count, uint32_t *seq_out) {
    if (len < 8)
        return false; /* every size sent carries its number */
    uint32_t seq = get32(p);
    if (seq >= count || get32(p + 4) != len || size_of(seq) != len)
        return false;
    for (uint32_t i = 8; i < len; i++)
        if (p[i] != pattern(seq, i))
            return false;
    *seq_out = seq;
    return true;
}

static void sleep_ms(uint32_t ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int run_client(const struct args *a) {
    int qd;
    int rc = demi_socket(&qd, AF_INET, SOCK_DGRAM, 0);
    if (rc)
        die("demi_socket", rc);
    uint32_t refused = 0;
    for (uint32_t seq = 0; seq < a->count; seq++) {
        uint32_t len = size_of(seq);
        demi_sgarray_t sga = demi_sgaalloc(len);
        if (!sga.sga_buf)
            die("demi_sgaalloc", ENOMEM);
        fill(sga.sga_segs[0].sgaseg_buf, len, seq);
        demi_qtoken_t qt;
        rc = demi_pushto(&qt, qd, &sga, (const struct sockaddr *)&a->addr, sizeof(a->addr));
        if (rc)
            die("demi_pushto", rc);
        demi_qresult_t qr;
        rc = demi_wait(&qr, qt, NULL);
        if (rc)
            die("demi_wait (push)", rc);
        /* A neighbour still being resolved holds a bounded queue of frames (ENOBUFS
         * past it) and may not answer (EHOSTUNREACH): for UDP that is a datagram
         * lost, like any other. */
        if (qr.qr_opcode != DEMI_OPC_PUSH && qr.qr_ret != ENOBUFS && qr.qr_ret != EHOSTUNREACH)
            die("push", (int)qr.qr_ret);
        refused += qr.qr_opcode != DEMI_OPC_PUSH;
        demi_sgafree(&sga);
        /* The first datagram has the neighbour resolved: give that time (ARP asks
         * again after a second, so three tries), so the rest, even back to back, do
         * not all wait in the neighbour cache's bounded queue. */
        uint32_t gap = seq == 0 && a->gap_ms < 3000 ? 3000 : a->gap_ms;
        if (gap)
            sleep_ms(gap);
    }
    demi_close(qd);
    printf("udp-frag: client sent %u datagrams (%u refused by the stack)\n", a->count, refused);
    return 0;
}

static int run_server(const struct args *a) {
    int qd;
    int rc = demi_socket(&qd, AF_INET, SOCK_DGRAM, 0);
    if (rc)
        die("demi_socket", rc);
    rc = demi_bind(qd, (const struct sockaddr *)&a->addr, sizeof(a->addr));
    if (rc)
        die("demi_bind", rc);
    uint8_t *seen = calloc(a->count ? a->count : 1, 1);
    if (!seen)
        die("calloc", ENOMEM);
    uint32_t received = 0, distinct = 0, duplicates = 0, bad = 0;
    uint64_t bytes = 0;
    struct timespec quiet = {a->quiet_ms / 1000, (long)(a->quiet_ms % 1000) * 1000000L};
    for (;;) {
        demi_qtoken_t qt;
        rc = demi_pop(&qt, qd);
        if (rc)
            die("demi_pop", rc);
        demi_qresult_t qr;
        rc = demi_wait(&qr, qt, &quiet);
        if (rc == ETIMEDOUT)
            break; /* the pending pop is cancelled by the close below */
        if (rc)
            die("demi_wait (pop)", rc);
        if (qr.qr_opcode != DEMI_OPC_POP)
            die("pop", (int)qr.qr_ret);
        const uint8_t *p = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
        uint32_t len = qr.qr_value.sga.sga_segs[0].sgaseg_len, seq;
        received++;
        bytes += len;
        if (!intact(p, len, a->count, &seq)) {
            fprintf(stderr, "udp-frag: a datagram of %u bytes is not one that was sent\n", len);
            bad++;
        } else if (seen[seq]) {
            duplicates++;
        } else {
            seen[seq] = 1;
            distinct++;
        }
        demi_sgafree(&qr.qr_value.sga);
    }
    demi_close(qd);
    free(seen);
    printf("udp-frag: server received %u datagrams (%u distinct of %u sent, %u duplicates), %llu bytes, %s\n", received,
           distinct, a->count, duplicates, (unsigned long long)bytes, bad ? "SOME BAD" : "all intact");
    if (bad)
        return 1;
    if (a->expect_all && distinct != a->count) {
        fprintf(stderr, "udp-frag: expected all %u datagrams\n", a->count);
        return 1;
    }
    if (distinct < a->expect_min) {
        fprintf(stderr, "udp-frag: expected at least %u datagrams\n", a->expect_min);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    struct args a;
    memset(&a, 0, sizeof(a));
    parse(&a, argc, argv);
    struct demi_args da = {.argc = argc, .argv = argv};
    int rc = demi_init(&da);
    if (rc)
        die("demi_init", rc);
    return a.server ? run_server(&a) : run_client(&a);
}
