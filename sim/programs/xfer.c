/* sim/programs/xfer.c — a plain PDPIX program that moves data both ways over several
 * TCP connections and checks every byte: the workload of the simulator's seed sweeps.
 *
 *   xfer --server ADDR PORT [--conns N]
 *   xfer --client ADDR PORT [--conns N] [--min BYTES] [--max BYTES] [--seed S]
 *
 * The client opens N connections at once. On each it sends a 24-byte header (its
 * connection number, the bytes it will send, the bytes it wants back), then that many
 * bytes; the server sends the bytes asked for at the same time, so data flows in both
 * directions at once. Every byte follows a pattern of (connection, direction, offset),
 * checked on arrival. When both directions are done the server closes; the client
 * sees end of stream and closes. Sizes are drawn from --seed between --min and --max,
 * uniformly in their logarithm (as many small transfers as large ones). A connect
 * that fails with an error a network fault explains (EHOSTUNREACH, ETIMEDOUT,
 * ECONNREFUSED before the server listens) is retried after a second, up to 20 times.
 * Exits 0 when every connection moved every byte correctly, 1 otherwise (with the
 * reason on stderr). Nothing here knows about the simulator. */
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
#include <unistd.h>

#define XFER_MAX_CONNS 16
#define XFER_CHUNK (32u * 1024u)
#define XFER_HDR 24u
#define XFER_WAIT_S (24 * 3600) /* the simulator's own hang check comes first */

struct conn {
    int qd;
    uint32_t id;
    bool header_done;
    uint8_t header[XFER_HDR];
    uint32_t header_got;
    uint64_t send_total, sent, recv_total, received;
    demi_qtoken_t push_qt, pop_qt;
    bool eof, closed, header_sent;
};

struct xfer {
    bool server;
    struct sockaddr_in addr;
    uint32_t nconns;
    uint64_t min, max, seed;
    struct conn conns[XFER_MAX_CONNS];
    uint32_t accepted, finished;
    int listen_qd;
    demi_qtoken_t accept_qt;
};

static uint8_t pattern(uint32_t conn, unsigned dir, uint64_t off) {
    return (uint8_t)(off * 31u + (off >> 9) + conn * 7u + dir * 101u + 1u);
}

/* The pattern 16 bytes at a time (checking is most of what the simulator's sweeps
 * spend outside the stack): within a 512-byte block (off >> 9 constant) each byte is
 * the one before plus 31, so a block is one start value plus a fixed ramp. */
typedef uint8_t xfer_v16 __attribute__((vector_size(16)));
static const xfer_v16 ramp31 = {0, 31, 62, 93, 124, 155, 186, 217, 248, 23, 54, 85, 116, 147, 178, 209};
#define RAMP_STEP ((uint8_t)(16u * 31u))

static uint32_t block_left(uint64_t off, uint32_t len) {
    uint32_t n = 512u - (uint32_t)(off & 511u);
    return n < len ? n : len;
}

static void pattern_fill(uint8_t *p, uint32_t len, uint32_t conn, unsigned dir, uint64_t off) {
    while (len) {
        uint32_t n = block_left(off, len), i = 0;
        xfer_v16 v = ramp31 + pattern(conn, dir, off);
        for (; i + 16 <= n; i += 16, v += RAMP_STEP)
            memcpy(p + i, &v, 16);
        for (; i < n; i++)
            p[i] = pattern(conn, dir, off + i);
        p += n, off += n, len -= n;
    }
}

/* True when every byte is the pattern's. */
static bool pattern_matches(const uint8_t *p, uint32_t len, uint32_t conn, unsigned dir, uint64_t off) {
    xfer_v16 diff = {0};
    uint8_t tail_diff = 0;
    while (len) {
        uint32_t n = block_left(off, len), i = 0;
        xfer_v16 v = ramp31 + pattern(conn, dir, off), got;
        for (; i + 16 <= n; i += 16, v += RAMP_STEP) {
            memcpy(&got, p + i, 16);
            diff |= got ^ v;
        }
        for (; i < n; i++)
            tail_diff |= (uint8_t)(p[i] ^ pattern(conn, dir, off + i));
        p += n, off += n, len -= n;
    }
    uint64_t words[2];
    memcpy(words, &diff, sizeof(words));
    return (words[0] | words[1] | tail_diff) == 0;
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static _Noreturn void die(const char *what, int err) {
    fprintf(stderr, "xfer: %s: %s\n", what, err ? strerror(err) : "failed");
    exit(1);
}

static uint64_t next_rand(uint64_t *s) {
    *s += 0x9e3779b97f4a7c15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void parse(struct xfer *x, int argc, char **argv) {
    int pos = 0;
    x->nconns = 1;
    x->min = x->max = 64 * 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(a, "--server") || !strcmp(a, "--client"))
            x->server = a[2] == 's';
        else if (!strcmp(a, "--conns") && more)
            x->nconns = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--min") && more)
            x->min = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--max") && more)
            x->max = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--seed") && more)
            x->seed = strtoull(argv[++i], NULL, 10);
        else if (pos == 0 && inet_pton(AF_INET, a, &x->addr.sin_addr) == 1)
            pos++;
        else if (pos == 1) {
            x->addr.sin_port = htons((uint16_t)atoi(a));
            pos++;
        } else {
            fprintf(stderr, "usage: xfer --server|--client ADDR PORT [--conns N] [--min B] [--max B] [--seed S]\n");
            exit(2);
        }
    }
    x->addr.sin_family = AF_INET;
    if (pos != 2 || x->nconns < 1 || x->nconns > XFER_MAX_CONNS || x->min > x->max) {
        fprintf(stderr, "xfer: need ADDR PORT, 1..%d connections, min <= max\n", XFER_MAX_CONNS);
        exit(2);
    }
}

static void start_pop(struct conn *c) {
    int rc = demi_pop(&c->pop_qt, c->qd);
    if (rc)
        die("demi_pop", rc);
}

/* Sends the next chunk (the header first on the client). */
static void start_push(struct conn *c, bool client) {
    uint32_t hdr = client && !c->header_sent ? XFER_HDR : 0;
    uint64_t left = c->send_total - c->sent;
    uint32_t len = hdr + (uint32_t)(left < XFER_CHUNK ? left : XFER_CHUNK);
    demi_sgarray_t sga = demi_sgaalloc(len);
    if (sga.sga_numsegs != 1)
        die("demi_sgaalloc", ENOMEM);
    uint8_t *p = sga.sga_segs[0].sgaseg_buf;
    if (hdr) {
        put_u64(p, c->id);
        put_u64(p + 8, c->send_total);
        put_u64(p + 16, c->recv_total);
        c->header_sent = true;
    }
    pattern_fill(p + hdr, len - hdr, c->id, client ? 0 : 1, c->sent);
    c->sent += len - hdr;
    int rc = demi_push(&c->push_qt, c->qd, &sga);
    demi_sgafree(&sga);
    if (rc)
        die("demi_push", rc);
}

static bool data_done(const struct conn *c) {
    return c->header_done && c->sent == c->send_total && c->received == c->recv_total;
}

/* The server closes only when its last push has completed as well. */
static bool conn_done(const struct conn *c) {
    return data_done(c) && !c->push_qt;
}

static void finish(struct xfer *x, struct conn *c) {
    if (c->closed)
        return;
    int rc = demi_close(c->qd);
    if (rc)
        die("demi_close", rc);
    c->closed = true;
    x->finished++;
}

/* Consumes received bytes: the header on the server, then checked data. */
static void on_data(struct xfer *x, struct conn *c, const uint8_t *p, uint32_t len) {
    unsigned dir = x->server ? 0 : 1;
    while (len && !c->header_done) {
        c->header[c->header_got++] = *p++;
        len--;
        if (c->header_got == XFER_HDR) {
            c->header_done = true;
            c->id = (uint32_t)get_u64(c->header);
            c->recv_total = get_u64(c->header + 8);
            c->send_total = get_u64(c->header + 16);
            if (c->send_total)
                start_push(c, false);
        }
    }
    if (len > c->recv_total - c->received) {
        fprintf(stderr, "xfer: connection %u: %" PRIu64 " bytes more than the %" PRIu64 " announced\n", c->id,
                (uint64_t)len - (c->recv_total - c->received), c->recv_total);
        exit(1);
    }
    if (!pattern_matches(p, len, c->id, dir, c->received))
        for (uint32_t i = 0; i < len; i++) /* find the first wrong byte to report */
            if (p[i] != pattern(c->id, dir, c->received + i)) {
                fprintf(stderr, "xfer: connection %u: byte %" PRIu64 " is %u, expected %u\n", c->id, c->received + i,
                        p[i], pattern(c->id, dir, c->received + i));
                exit(1);
            }
    c->received += len;
}

static void on_pop(struct xfer *x, struct conn *c, demi_qresult_t *qr) {
    c->pop_qt = 0;
    if (qr->qr_opcode == DEMI_OPC_FAILED)
        die("pop", (int)qr->qr_ret);
    demi_sgarray_t *sga = &qr->qr_value.sga;
    uint32_t total = 0;
    for (uint32_t s = 0; s < sga->sga_numsegs; s++) {
        on_data(x, c, sga->sga_segs[s].sgaseg_buf, sga->sga_segs[s].sgaseg_len);
        total += sga->sga_segs[s].sgaseg_len;
    }
    demi_sgafree(sga);
    if (total == 0) {
        c->eof = true;
        if (!data_done(c)) {
            fprintf(stderr, "xfer: connection %u: end of stream after %" PRIu64 " of %" PRIu64 " bytes\n", c->id,
                    c->received, c->recv_total);
            exit(1);
        }
        finish(x, c); /* the client closes once the server has */
        return;
    }
    start_pop(c);
}

static void on_push(struct xfer *x, struct conn *c, demi_qresult_t *qr) {
    c->push_qt = 0;
    if (qr->qr_opcode == DEMI_OPC_FAILED)
        die("push", (int)qr->qr_ret);
    if (c->sent < c->send_total)
        start_push(c, !x->server);
}

static struct conn *conn_of(struct xfer *x, int qd) {
    for (uint32_t i = 0; i < x->accepted; i++)
        if (x->conns[i].qd == qd && !x->conns[i].closed)
            return &x->conns[i];
    return NULL;
}

static void on_accept(struct xfer *x, demi_qresult_t *qr) {
    x->accept_qt = 0;
    if (qr->qr_opcode == DEMI_OPC_FAILED)
        die("accept", (int)qr->qr_ret);
    struct conn *c = &x->conns[x->accepted++];
    memset(c, 0, sizeof(*c));
    c->qd = qr->qr_value.ares.qd;
    start_pop(c);
    if (x->accepted < x->nconns) {
        int rc = demi_accept(&x->accept_qt, x->listen_qd);
        if (rc)
            die("demi_accept", rc);
    }
}

static void setup_server(struct xfer *x) {
    int rc = demi_socket(&x->listen_qd, AF_INET, SOCK_STREAM, 0);
    if (!rc)
        rc = demi_bind(x->listen_qd, (struct sockaddr *)&x->addr, sizeof(x->addr));
    if (!rc)
        rc = demi_listen(x->listen_qd, 64);
    if (!rc)
        rc = demi_accept(&x->accept_qt, x->listen_qd);
    if (rc)
        die("listen", rc);
}

static uint64_t log_uniform(uint64_t *rs, uint64_t min, uint64_t max) {
    double u = (double)(next_rand(rs) >> 11) / 9007199254740992.0;
    double lo = log((double)(min ? min : 1)), hi = log((double)(max ? max : 1));
    uint64_t v = (uint64_t)exp(lo + u * (hi - lo));
    return v < min ? min : v > max ? max : v;
}

static int try_connect(struct xfer *x, struct conn *c) {
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct timespec limit = {XFER_WAIT_S, 0};
    int rc = demi_socket(&c->qd, AF_INET, SOCK_STREAM, 0);
    if (rc)
        return rc;
    rc = demi_connect(&qt, c->qd, (struct sockaddr *)&x->addr, sizeof(x->addr));
    if (!rc)
        rc = demi_wait(&qr, qt, &limit);
    if (!rc && qr.qr_opcode == DEMI_OPC_FAILED)
        rc = (int)qr.qr_ret;
    if (rc)
        demi_close(c->qd);
    return rc;
}

static void connect_with_retries(struct xfer *x, struct conn *c) {
    for (int attempt = 1;; attempt++) {
        int rc = try_connect(x, c);
        if (rc == 0)
            return;
        bool transient = rc == EHOSTUNREACH || rc == ETIMEDOUT || rc == ECONNREFUSED;
        if (!transient || attempt == 20)
            die("connect", rc);
        fprintf(stderr, "xfer: connect: %s; retrying\n", strerror(rc));
        sleep(1);
    }
}

/* The client connects every connection before moving data. */
static void setup_client(struct xfer *x) {
    uint64_t rs = x->seed;
    for (uint32_t i = 0; i < x->nconns; i++) {
        struct conn *c = &x->conns[i];
        memset(c, 0, sizeof(*c));
        c->id = i;
        c->send_total = log_uniform(&rs, x->min, x->max);
        c->recv_total = log_uniform(&rs, x->min, x->max);
        connect_with_retries(x, c);
        c->header_done = true;
        start_push(c, true);
        start_pop(c);
    }
    x->accepted = x->nconns;
}

static void dispatch(struct xfer *x, demi_qresult_t *qr) {
    if (x->server && qr->qr_qt == x->accept_qt) {
        on_accept(x, qr);
        return;
    }
    struct conn *c = conn_of(x, qr->qr_qd);
    if (!c)
        die("completion for an unknown queue", 0);
    if (qr->qr_qt == c->pop_qt)
        on_pop(x, c, qr);
    else if (qr->qr_qt == c->push_qt)
        on_push(x, c, qr);
    if (x->server && !c->closed && conn_done(c))
        finish(x, c); /* everything sent and received: the server closes first */
}

int main(int argc, char **argv) {
    struct xfer x;
    memset(&x, 0, sizeof(x));
    parse(&x, argc, argv);
    struct demi_args da = {.argc = argc, .argv = argv};
    int rc = demi_init(&da);
    if (rc)
        die("demi_init", rc);
    if (x.server)
        setup_server(&x);
    else
        setup_client(&x);
    while (x.finished < x.nconns) {
        demi_qtoken_t qts[2 * XFER_MAX_CONNS + 1];
        int n = 0;
        if (x.accept_qt)
            qts[n++] = x.accept_qt;
        for (uint32_t i = 0; i < x.accepted; i++) {
            if (x.conns[i].closed)
                continue;
            if (x.conns[i].pop_qt)
                qts[n++] = x.conns[i].pop_qt;
            if (x.conns[i].push_qt)
                qts[n++] = x.conns[i].push_qt;
        }
        if (n == 0)
            die("nothing left to wait for", 0);
        demi_qresult_t qr;
        int offset;
        struct timespec limit = {XFER_WAIT_S, 0};
        rc = demi_wait_any(&qr, &offset, qts, n, &limit);
        if (rc)
            die("demi_wait_any", rc);
        dispatch(&x, &qr);
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < x.nconns; i++)
        total += x.conns[i].sent + x.conns[i].received;
    printf("xfer: %s: %u connections, %" PRIu64 " bytes checked\n", x.server ? "server" : "client", x.nconns, total);
    return 0;
}
