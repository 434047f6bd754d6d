/* bench/inet_bench.c — how fast margay's own stack is, without a device in the way:
 * two stacks in one thread, joined by the in-memory simulated link (no latency, no
 * loss), driven through the transport APIs (src/inet/tcp.h, udp.h) on real CPU time.
 * Prints a table: TCP echo round trip of a 64-byte message through both stacks
 * (median and p99), bulk one-way TCP throughput with MSS-sized segments, and UDP
 * datagrams per second. Numbers only, no assertions (CPU speed varies).
 *
 * Usage: inet_bench [round_trips] [bulk_MiB] [udp_messages] */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "inet/inet.h"
#include "inet/tcp.h"
#include "inet/udp.h"
#include "sim/link.h"

#define ADDR(i) (0x0a000001u + (i))

struct bench {
    struct mg_clock clock; /* manual, kept at the monotonic time */
    struct mg_sim_link *link;
    struct mg_netdev *dev[2];
    struct mg_inet *inet[2];
    struct mg_tcp_layer *tcp[2];
    struct mg_udp_layer *udp[2];
};

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void mac_of(unsigned i, uint8_t mac[6]) {
    const uint8_t m[6] = {0x02, 0, 0, 0, 0, (uint8_t)(i + 1)};
    memcpy(mac, m, 6);
}

static int bench_init(struct bench *b) {
    memset(b, 0, sizeof(*b));
    mg_clock_init_manual(&b->clock, mono_ns());
    struct mg_sim_link_params lp = {.clock = &b->clock, .seed = 1, .latency_ns = 0, .loss = 0};
    if (mg_sim_link_create(&lp, &b->link) < 0)
        return -1;
    for (unsigned i = 0; i < 2; i++) {
        struct mg_sim_endpoint_params ep = {.pool_bufs = 8192};
        mac_of(i, ep.mac);
        if (mg_sim_link_add_endpoint(b->link, &ep, &b->dev[i]) < 0)
            return -1;
        struct mg_config cfg;
        mg_config_defaults(&cfg);
        cfg.local_ipv4_addr = ADDR(i);
        cfg.arp_table_len = 1;
        cfg.arp_table[0].ipv4 = ADDR(1 - i);
        mac_of(1 - i, cfg.arp_table[0].mac);
        if (mg_inet_create(&cfg, b->dev[i], &b->clock, 7 + i, &b->inet[i]) < 0 ||
            mg_tcp_layer_create(b->inet[i], &b->tcp[i]) < 0 || mg_udp_layer_create(b->inet[i], &b->udp[i]) < 0)
            return -1;
    }
    return 0;
}

static void bench_fini(struct bench *b) {
    for (unsigned i = 0; i < 2; i++) {
        mg_tcp_layer_destroy(b->tcp[i]);
        mg_udp_layer_destroy(b->udp[i]);
        mg_inet_destroy(b->inet[i], true);
    }
    mg_sim_link_destroy(b->link);
}

/* One pass over both stacks. */
static void pump(struct bench *b) {
    mg_clock_set(&b->clock, mono_ns());
    mg_inet_poll(b->inet[0]);
    mg_inet_poll(b->inet[1]);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A connected pair: *cli on stack 0, *srv on stack 1. */
static int tcp_pair(struct bench *b, uint16_t port, struct mg_tcp_sock **cli, struct mg_tcp_sock **srv) {
    struct mg_tcp_sock *l = mg_tcp_open(b->tcp[1], NULL, NULL);
    if (!l || mg_tcp_bind(l, 0, port) < 0 || mg_tcp_listen(l, 16) < 0)
        return -1;
    *cli = mg_tcp_open(b->tcp[0], NULL, NULL);
    if (!*cli || mg_tcp_connect(*cli, ADDR(1), port) < 0)
        return -1;
    int one = 1;
    mg_tcp_setsockopt(*cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (int i = 0; i < 1000; i++) {
        pump(b);
        if (mg_tcp_accept(l, srv, NULL, NULL) == 0) {
            mg_tcp_setsockopt(*srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            mg_tcp_close(l);
            return 0;
        }
    }
    return -1;
}

static void tcp_echo(struct bench *b, unsigned n) {
    struct mg_tcp_sock *cli, *srv;
    if (tcp_pair(b, 7, &cli, &srv) < 0) {
        fprintf(stderr, "tcp echo: could not connect\n");
        return;
    }
    uint64_t *lat = malloc(n * sizeof(*lat));
    struct mg_buf *msg = mg_buf_alloc_heap(64, 128);
    memset(mg_buf_append(msg, 64), 'x', 64);
    unsigned warm = n / 10;
    for (unsigned i = 0; i < n + warm; i++) {
        uint64_t t0 = mono_ns();
        if (mg_tcp_send(cli, msg, 0) != 64) {
            fprintf(stderr, "tcp echo: send failed\n");
            break;
        }
        uint32_t got = 0;
        while (got < 64) {
            pump(b);
            struct mg_buf *in;
            while (mg_tcp_recv(srv, &in) > 0) {
                mg_tcp_send(srv, in, 0); /* echo the received buffer itself */
                mg_buf_free(in);
            }
            pump(b);
            while (mg_tcp_recv(cli, &in) > 0) {
                got += in->len;
                mg_buf_free(in);
            }
        }
        if (i >= warm)
            lat[i - warm] = mono_ns() - t0;
    }
    qsort(lat, n, sizeof(*lat), cmp_u64);
    printf("| TCP echo 64 B round trip, median    | %10.0f ns     |\n", (double)lat[n / 2]);
    printf("| TCP echo 64 B round trip, p99       | %10.0f ns     |\n", (double)lat[(size_t)n * 99 / 100]);
    free(lat);
    mg_buf_free(msg);
    mg_tcp_abort(cli);
    mg_tcp_abort(srv);
    pump(b);
}

static void tcp_bulk(struct bench *b, unsigned mib) {
    struct mg_tcp_sock *cli, *srv;
    if (tcp_pair(b, 9, &cli, &srv) < 0) {
        fprintf(stderr, "tcp bulk: could not connect\n");
        return;
    }
    const uint32_t chunk = 256 * 1024;
    struct mg_buf *src = mg_buf_alloc_heap(chunk, 128);
    memset(mg_buf_append(src, chunk), 'y', chunk);
    uint64_t total = (uint64_t)mib << 20, sent = 0, received = 0;
    uint32_t off = 0;
    uint64_t t0 = mono_ns();
    while (received < total) {
        while (sent < total) {
            int r = mg_tcp_send(cli, src, off);
            if (r <= 0)
                break;
            off += (uint32_t)r;
            sent += (uint64_t)r;
            if (off == chunk)
                off = 0;
        }
        pump(b);
        struct mg_buf *in;
        while (mg_tcp_recv(srv, &in) > 0) {
            received += in->len;
            mg_buf_free(in);
        }
    }
    uint64_t dt = mono_ns() - t0;
    const struct mg_tcp_stats *st = mg_tcp_stats(b->tcp[0]);
    printf("| TCP bulk one-way throughput         | %10.2f Gbit/s |\n", (double)total * 8 / (double)dt);
    int mss = 0;
    socklen_t ml = sizeof(mss);
    mg_tcp_getsockopt(cli, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml);
    printf("| TCP bulk segments sent (%4d B each) | %10lu        |\n", mss, (unsigned long)st->segs_out);
    mg_buf_free(src);
    mg_tcp_abort(cli);
    mg_tcp_abort(srv);
    pump(b);
}

static void udp_rate(struct bench *b, unsigned n) {
    struct mg_udp_sock *tx = mg_udp_open(b->udp[0], NULL, NULL);
    struct mg_udp_sock *rx = mg_udp_open(b->udp[1], NULL, NULL);
    if (!tx || !rx || mg_udp_bind(rx, 0, 9000) < 0) {
        fprintf(stderr, "udp: setup failed\n");
        return;
    }
    uint8_t payload[64];
    memset(payload, 'z', sizeof(payload));
    unsigned received = 0, sent = 0;
    uint64_t t0 = mono_ns();
    while (received < n) {
        for (int k = 0; k < 32 && sent < n; k++, sent++)
            if (mg_udp_sendto(tx, NULL, payload, sizeof(payload), ADDR(1), 9000) < 0)
                break;
        pump(b);
        struct mg_buf *in;
        while (mg_udp_recvfrom(rx, &in, NULL, NULL) >= 0) {
            received++;
            mg_buf_free(in);
        }
        if (sent == n && received < n) {
            pump(b);
            while (mg_udp_recvfrom(rx, &in, NULL, NULL) >= 0) {
                received++;
                mg_buf_free(in);
            }
            if (sent == n)
                break;
        }
    }
    uint64_t dt = mono_ns() - t0;
    printf("| UDP 64 B datagrams per second       | %10.2f M/s    |\n", (double)received * 1e3 / (double)dt);
    if (received < n)
        printf("| UDP datagrams lost in the stacks    | %10u        |\n", n - received);
    mg_udp_close(tx);
    mg_udp_close(rx);
}

int main(int argc, char **argv) {
    unsigned trips = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
    unsigned mib = argc > 2 ? (unsigned)atoi(argv[2]) : 1024;
    unsigned udp = argc > 3 ? (unsigned)atoi(argv[3]) : 1000000;
    if (trips < 10)
        trips = 10;
    struct bench b;
    if (bench_init(&b) < 0) {
        fprintf(stderr, "inet_bench: cannot set up two stacks on the simulated link\n");
        return 1;
    }
    printf("margay inet_bench: two stacks, one thread, in-memory sim link (no latency, no loss)\n");
    printf("| measurement                         | value             |\n");
    printf("|-------------------------------------|-------------------|\n");
    tcp_echo(&b, trips);
    tcp_bulk(&b, mib);
    udp_rate(&b, udp);
    bench_fini(&b);
    return 0;
}
